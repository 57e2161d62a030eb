"""The configuration save of one device as a resource of its own, ordered after that device's objects.

F5 BIG-IP and Citrix ADC change only their running configuration through the API; a reboot loses what
was not saved (``save sys config``, ``save ns config``). Saving is a step the engine runs and a preview
shows, not something left to how the provider process ends (the engine interrupts the provider host
behind a shell script and kills it five seconds later: see docs/pulumi-engine.md).

Inputs: ``device`` and ``revisions``, the ``revision`` output of every object of the device that the
cluster manages (it changes only when the object was written, adopted, or found changed since the state
was written). The save runs on create, and on update when a revision, or the set of objects, changed;
so a second ``up`` with nothing to do saves nothing. Deletes of objects that left the program run after
every other step, so their save is the object provider's own (``saves_after_delete``), coalesced across the
deletes that finish together (``providers.common.clients.CoalescedSaves``). The save resources of several
clusters on one device are coalesced the same way, without waiting for siblings: a save that asks while
another runs waits for it and then needs only one more, which covers every one that asked meanwhile.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from providers.common.clients import DEVICE_SAVES
from providers.common.device import ConfiguredProvider, Device
from providers.common.resource import plain
from providers.common.retry import with_retries


class DeviceSaveProvider(ConfiguredProvider):
    """Base of the vendors' save providers: ``client(device)`` is the vendor's client, whose
    ``persist(device)`` saves (and syncs) the device."""

    #: What the device calls its saved configuration, for ids and messages ("sys config").
    what: ClassVar[str] = "config"

    def client(self, device: Device) -> Any:
        raise NotImplementedError

    def _save(self, props: dict[str, Any]) -> dict[str, Any]:
        props = plain(props)
        device = Device.from_props(props)
        client = self.client(device)
        # saving (and syncing) the same configuration twice is harmless: sent again after a busy answer or
        # a lost one (docs/pulumi-engine.md#retries-inside-the-run)
        # no settle: the save resource runs after every object it saves, so it has nothing to wait for
        DEVICE_SAVES.after_change(device.url, lambda: with_retries(lambda: client.persist(device)), settle=0)
        return props

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._save(props)
        return CreateResult(f"{Device.from_props(outs).host} {self.what}", outs)

    def require_access(self, props: dict[str, Any]) -> None:
        """Refuse an account that cannot save (as ApplianceObjectProvider.require_access: asked only when
        the save will run)."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        if not olds:
            self.require_access(plain(news))
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = plain(olds), plain(news)
        changed = any(olds.get(k) != news.get(k) for k in ("device", "revisions"))
        if changed:
            self.require_access(news)
        # The outputs are the inputs, so the engine's own diff of the inputs sees the same change: "unknown"
        # lets it show the revisions that moved alone (docs/pulumi-engine.md#detailed-diffs).
        return DiffResult(
            changes=None if changed else False, replaces=[], stables=[], delete_before_replace=False
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._save(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # Nothing on the device to compare with: the save is an action, recorded by what it saved after.
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # The objects' own deletes saved the device (saves_after_delete); there is nothing left to undo.
        return None
