"""The configuration save of one device as a resource of its own, ordered after that device's objects.

F5 BIG-IP and Citrix ADC change only their running configuration through the API; a reboot loses what
was not saved (``save sys config``, ``save ns config``). Saving is a step the engine runs and a preview
shows, not something left to how the provider process ends (the engine interrupts the provider host
behind a shell script and kills it five seconds later: see docs/pulumi-engine.md).

Inputs: ``device`` and ``revisions``, the ``revision`` output of every object of the device that the
cluster manages (it changes only when the object was written, adopted, or found changed since the state
was written). The save runs on create, and on update when a revision, or the set of objects, changed;
so a second ``up`` with nothing to do saves nothing. Deletes of objects that left the program run after
every other step, so their save is the object provider's own (``after_delete``), coalesced across the
deletes that finish together (``CoalescedSaves``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from pulumi.dynamic import (
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from providers.common.device import Device, SecretConfig
from providers.common.resource import plain


class DeviceSaveProvider(ResourceProvider):
    """Base of the vendors' save providers: ``save(client, device)`` persists (and syncs) the device."""

    #: What the device calls its saved configuration, for ids and messages ("sys config").
    what: ClassVar[str] = "config"

    def __init__(self) -> None:
        super().__init__()
        self._secrets = SecretConfig()

    def configure(self, req: ConfigureRequest) -> None:
        self._secrets = SecretConfig(req.config)

    def client(self, device: Device) -> Any:
        raise NotImplementedError

    def save(self, client: Any, device: Device) -> None:
        raise NotImplementedError

    def _save(self, props: dict[str, Any]) -> dict[str, Any]:
        props = plain(props)
        device = Device.from_props(props)
        self.save(self.client(device), device)
        return props

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._save(props)
        return CreateResult(f"{Device.from_props(outs).host} {self.what}", outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = plain(olds), plain(news)
        changed = any(olds.get(k) != news.get(k) for k in ("device", "revisions"))
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._save(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # Nothing on the device to compare with: the save is an action, recorded by what it saved after.
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # The objects' own deletes saved the device (after_delete); there is nothing left to undo.
        return None


class CoalescedSaves:
    """One save for the deletes that finish together on one device (a destroy deletes level by level,
    each level's objects in parallel), with each delete still answered only after a save that began once
    its own change was made: the save cannot be lost to the process ending, and is not repeated per
    object. ``settle`` is how long a delete waits for its siblings before saving."""

    def __init__(self, settle: float = 0.05) -> None:
        self._settle = settle
        self._lock = threading.Lock()
        self._device_locks: dict[str, threading.Lock] = {}
        self._made: dict[str, int] = {}  # changes made, per device
        self._saved: dict[str, int] = {}  # changes covered by a finished save, per device

    def after_change(self, device: str, save: Callable[[], None]) -> None:
        with self._lock:
            ticket = self._made[device] = self._made.get(device, 0) + 1
            device_lock = self._device_locks.setdefault(device, threading.Lock())
        time.sleep(self._settle)
        with device_lock:
            with self._lock:
                if self._saved.get(device, 0) >= ticket:
                    return  # a save that began after this change has finished
                covers = self._made[device]
            save()
            with self._lock:
                self._saved[device] = max(self._saved.get(device, 0), covers)


#: The provider process's coalesced saves after deletes (F5 and Citrix ``after_delete``).
SAVES_AFTER_DELETE = CoalescedSaves()
