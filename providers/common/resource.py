"""The read → diff → apply shape every appliance-object provider follows.

A subclass describes one object type of one vendor: which input keys identify it (a change replaces
the object, delete-before-replace, because appliance names are unique), which keys are its managed
properties, its name map (``fields``: providers.common.fields, device attributes ↔ input keys, used both
ways), and four hooks that talk to the appliance through a vendor client; the vendor bases implement
the hooks from the name map, and a type with special behaviour overrides them for that part only:

    fetch(client, props)          -> the object's properties in the shape of the inputs, or None
    create_object(client, props)
    update_object(client, props, changed, current)
    delete_object(client, props)

The base keeps Pulumi's contract: ``diff`` compares inputs with the last known outputs (which are what
the appliance had), so a second ``up`` writes nothing. ``create`` sends the write at once: no read before
(an object that already exists is read and adopted when it carries this stack's ownership marker) and no
read after (the outputs are the device's reply where it returns the object, ``state_after_create``, else
what was written). ``update`` writes what differs from the last known outputs, without reading. A write
that fails transiently (a busy answer, a reset, a timeout, an answer lost after the device acted) is never
sent again blindly: the object is read and the provider decides (landed and ours: done; absent: write
again; someone else's: refuse), within a bounded time (providers.common.retry). ``read`` returns the
appliance's view for ``refresh``; ``delete`` refuses objects owned by others and treats an already-missing
object as deleted.

Adoption (``adopt: True`` in the inputs: the declaration's ``loadBalancer.adopt`` named this object): the
create reads the object first and takes over one that carries no ownership marker, writing only what
differs and the marker; a preview reads it once and tells what will change on it (docs/pulumi-engine.md#
adoption). An object marked by another stack is refused either way.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)
from pulumi.output import Unknown

from providers.common.clients import DEVICE_SAVES
from providers.common.device import ConfiguredProvider, Device
from providers.common.diagnostics import tell
from providers.common.errors import ApplianceError, DeviceStateError, OwnershipError
from providers.common.fields import FieldMap
from providers.common.retry import Attempts, is_transient, with_retries

PROVIDER_KEY = "__provider"
CONNECTION_KEYS = ("device", "owner")
#: The input that says the declaration names this object as an existing one to take over.
ADOPT_KEY = "adopt"
#: How every ownership marker begins (components/naming.py, owner_marker); any other text in the field
#: that carries the marker (a description a person wrote) is not a claim by another stack.
MARKER_PREFIX = "aovpn-iac:"


def is_marker(value: Any) -> bool:
    """Whether ``value`` (an object's owner as read) is some stack's claim: its marker, or a text naming the
    marked object it hangs from (a binding or real server owned through its parent, "holding ...")."""
    return isinstance(value, str) and MARKER_PREFIX in value


def plain(value: Any) -> Any:
    """Undo the protobuf Struct's float-for-everything: integral floats become ints, recursively."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class ApplianceObjectProvider(ConfiguredProvider):
    """Base of every appliance-object provider (see the module docstring)."""

    #: Human name of the object type for messages, e.g. "ltm pool".
    object_type: ClassVar[str] = "object"
    #: Input keys whose change means a different object (replace). The device URL is always one.
    identity_keys: ClassVar[tuple[str, ...]] = ("name",)
    #: Input keys compared with the appliance and written on update.
    property_keys: ClassVar[tuple[str, ...]] = ()
    #: Appliance names are unique, so a replacement normally deletes first. A type whose device name
    #: changes with its content (a certificate named by its fingerprint) creates first instead, so that
    #: what references it is switched over before the old object goes.
    delete_before_replace: ClassVar[bool] = True
    #: Input keys that are not device properties but must survive into the outputs (which is all that
    #: read and delete receive), such as the names of secret config keys.
    carried_keys: ClassVar[tuple[str, ...]] = ()
    #: Input keys holding the ids of the objects this one lives in or on (a virtual service's real server,
    #: a binding's parents). They are carried into the outputs; when the whole value is unknown, or a
    #: single id changed, this object is replaced: when a parent is replaced delete-first, the engine asks
    #: the dependents' diff with that property unknown and replaces the ones that say so, in the same run
    #: (the device took them with the parent). A state written before a key existed does not count as
    #: a change, so an upgrade replaces nothing.
    parent_keys: ClassVar[tuple[str, ...]] = ()
    #: The outputs carry this key with a value that changes only when the provider really wrote to the
    #: device, or found it changed since the state was written ("adopted" when it found the object
    #: already right on create). Dependents that must act on real changes only take it as an input: a
    #: service restart after a setting changed, the device's configuration save after its objects.
    revision_key: ClassVar[str | None] = "revision"
    #: Whether a delete saves the device's configuration after itself (F5 and Citrix: their clients'
    #: ``persist``). Deletes of objects removed from the program run after every other step of the
    #: run, so no later resource can save after them; the saves are coalesced per device.
    saves_after_delete: ClassVar[bool] = False

    #: Whether a create reads first (a type whose create is not one write the device refuses with "already
    #: exists": a certificate's upload and install).
    reads_before_create: ClassVar[bool] = False

    #: The plain attributes of the object type, device ↔ inputs (providers.common.fields); vendor bases
    #: build their ``fetch`` and create/update bodies from it.
    fields: ClassVar[FieldMap] = FieldMap()

    # -- Pulumi plumbing ---------------------------------------------------------------------------
    def require_access(self, props: dict[str, Any]) -> None:
        """Refuse, before anything is written, an account the device says cannot write this object (the
        vendors' permissions modules); a ProviderError names the device, the account and what it lacks.

        Asked only when this run will write the object, preview included: for a new object (``check``
        of a resource with no old inputs) and for a changed one (``diff`` with changes), so a run that
        changes nothing sends nothing for it (docs/pulumi-engine.md#access-checks)."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = {k: (v if k == PROVIDER_KEY else plain(v)) for k, v in news.items()}
        OLD_INPUTS.remember(olds, checked)
        if not olds:
            self.require_access(checked)
            if checked.get(ADOPT_KEY) is True:
                self.preview_adoption(checked)
        return CheckResult(checked, [])

    def preview_adoption(self, props: dict[str, Any]) -> None:
        """What taking over the existing object will change on it, told to the engine (an info line of the
        preview), read once; an object marked by another stack is refused here, before anything is sent.
        Nothing is read while the object's name or device is still unknown (a preview of a new parent)."""
        if _unknown(props, ("device", *self.identity_keys)):
            return
        device = Device.from_props(props)
        client = self.client_for(props)
        current = self.fetch(client, props)
        label = self.label(props)
        if current is None:
            tell(f"{device.host}: {label} is not there to adopt; it will be created")
            return
        if current.get("owner") == props["owner"]:
            return
        if is_marker(current.get("owner")):
            self._require_owner(device, props, current, "adopt")
        changes = self.describe_changes(props, current)
        tell(f"{device.host}: adopting {label}: " + ("; ".join(changes) if changes else "no change"))

    def describe_changes(self, props: dict[str, Any], current: dict[str, Any]) -> list[str]:
        """Each property adoption changes, as the device spells it: ``attribute: found -> declared``."""
        lines = []
        for key, value in self._changed(props, current).items():
            declared = self.fields.body(props, [key]) if key in self.fields.keys else {key: value}
            found = self.fields.body(current, [key]) if key in self.fields.keys else {key: current.get(key)}
            for attribute in declared:
                lines.append(f"{attribute}: {_shown(found.get(attribute))} -> {_shown(declared[attribute])}")
        return lines

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """What changed between the last known outputs (the appliance's view) and the new inputs, once the
        account may write it (``require_access``) when something did."""
        result = self._diff(olds, news)
        if result.changes is not False:
            self.require_access(plain(news))
        return result

    def _diff(self, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """What changed between the last known outputs (the appliance's view) and the new inputs.

        A pure update whose changed keys the engine's own comparison of old and new inputs also sees is
        answered "unknown": the engine then diffs the inputs itself and shows the changed keys alone,
        down to the field of a dict (docs/pulumi-engine.md#detailed-diffs); otherwise (a replacement,
        drift found by a refresh, a state of an older version) the answer is "changes", and the preview
        shows the whole object."""
        old_inputs = OLD_INPUTS.recall(news)
        olds, news = plain(olds), plain(news)
        replaces = [k for k in self.identity_keys if olds.get(k) != news.get(k)]
        if _url(olds) != _url(news):
            replaces.append("device")
        replaces += [k for k in self.content_replaces(olds, news) if k not in replaces]
        replaces += [k for k in self.parent_keys if k not in replaces and _parent_replaced(k, olds, news)]
        changed = [
            k
            for k in (*self.property_keys, *CONNECTION_KEYS)
            if k not in replaces and olds.get(k) != news.get(k)
        ]
        if changed and not replaces and engine_sees(old_inputs, olds, changed):
            return DiffResult(changes=None, replaces=[], stables=[], delete_before_replace=None)
        return DiffResult(
            changes=bool(replaces or changed),
            replaces=replaces,
            stables=[],
            delete_before_replace=self.delete_before_replace,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.prepare(plain(props), None)
        outs = self.apply(props, None)
        return CreateResult(self.object_id(props), outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        props = plain(props)
        current = self.fetch(self.client_for(props), props)
        if current is None:
            return ReadResult("", {})
        outs = self._outs(props, current)
        if self.revision_key:
            outs[self.revision_key] = props.get(self.revision_key)
        return ReadResult(id_, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        olds = plain(olds)
        return UpdateResult(self.apply(self.prepare(plain(news), olds), olds))

    def apply(self, props: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """The one create-or-update path (``olds``: None for a create, else the last outputs).

        A create writes at once; an object already there is read and taken over (adopted by its marker, or
        unmarked when the declaration adopts it). An update writes what differs from the last outputs. The
        revision moves when something was written."""
        client = self.client_for(props)
        if olds is None:
            adopting = props.get(ADOPT_KEY) is True
            if adopting or self.reads_before_create:
                current = self.fetch(client, props)
                if current is not None:
                    return self._take_over(client, props, current, adopting=adopting)
            return self._create(client, props)
        current = self._known_state(olds)
        changed = self._changed(props, current)
        if changed:
            current = self._write_changes(client, props, changed, current)
        outs = self._outs(props, current)
        self._stamp(outs, bool(changed), olds.get(self.revision_key) if self.revision_key else None)
        return outs

    def _create(self, client: Any, props: dict[str, Any]) -> dict[str, Any]:
        attempts = Attempts()
        while True:
            try:
                reply = self.create_object(client, props)
            except ApplianceError as exc:
                if self.already_exists(exc):
                    existing = self._fetch_required(client, props, "is said to exist but cannot be read")
                    return self._take_over(client, props, existing, adopting=False)
                if not is_transient(exc):
                    raise
                # The write may have landed: read, then decide (never sent twice blindly).
                landed = self.fetch(client, props)
                if landed is not None:
                    return self._take_over(client, props, landed, adopting=False)
                if not attempts.another(exc):
                    raise attempts.exhausted(exc) from None
                continue
            outs = self._outs(props, self.state_after_create(client, props, reply))
            self._stamp(outs, True, None)
            return outs

    def _take_over(
        self, client: Any, props: dict[str, Any], current: dict[str, Any], *, adopting: bool
    ) -> dict[str, Any]:
        """An existing object becomes this resource: ours by its marker, or unmarked and adopted on
        purpose."""
        if not (adopting and not is_marker(current.get("owner"))):
            self._require_owner(Device.from_props(props), props, current, "adopt")
        changed = self._changed(props, current)
        if changed:
            current = self._write_changes(client, props, changed, current)
        outs = self._outs(props, current)
        self._stamp(outs, bool(changed), "adopted")
        return outs

    def _write_changes(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> dict[str, Any]:
        """Write ``changed`` and answer the object's state after it. A transient failure is followed by a
        read: what landed is not written again, what did not is."""
        attempts = Attempts()
        while True:
            try:
                self.update_object(client, props, changed, current)
            except ApplianceError as exc:
                if not is_transient(exc):
                    raise
                found = self.fetch(client, props)
                if found is None:
                    raise DeviceStateError(
                        device=Device.from_props(props).host,
                        obj=self.label(props),
                        problem="disappeared while it was being changed; run up again to recreate it",
                    ) from None
                self._require_owner_or_adopting(props, found)
                current, changed = found, self._changed(props, found)
                if not changed:
                    return found
                if not attempts.another(exc):
                    raise attempts.exhausted(exc) from None
                continue
            return {**current, **changed}

    def _require_owner_or_adopting(self, props: dict[str, Any], found: dict[str, Any]) -> None:
        if is_marker(found.get("owner")) and found.get("owner") != props["owner"]:
            self._require_owner(Device.from_props(props), props, found, "update")

    def _known_state(self, olds: dict[str, Any]) -> dict[str, Any]:
        """The device's state as the last outputs recorded it (what the diff compared with)."""
        skip = {PROVIDER_KEY, self.revision_key, "device", *self.identity_keys, *self.carried_keys}
        return {k: v for k, v in olds.items() if k not in skip}

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        props = plain(props)
        device = Device.from_props(props)
        client = self.client_for(props)

        def remove() -> bool:
            current = self.fetch(client, props)
            if current is None:
                return False
            self._require_owner(device, props, current, "delete")
            self.delete_object(client, props)
            return True

        if self.saves_after_delete:
            DEVICE_SAVES.change_then_save(
                device.url, remove, lambda: with_retries(lambda: client.persist(device))
            )
        else:
            remove()

    # -- helpers -----------------------------------------------------------------------------------
    def _changed(self, props: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        keys = (*self.property_keys, "owner")
        return {k: props.get(k) for k in keys if props.get(k) != current.get(k)}

    def _stamp(self, outs: dict[str, Any], wrote: bool, unchanged: Any) -> None:
        if self.revision_key:
            outs[self.revision_key] = uuid.uuid4().hex if wrote else (unchanged or "adopted")

    def _outs(self, props: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        keys = ("device", *self.identity_keys, *self.carried_keys, *self.parent_keys)
        outs = {k: props[k] for k in keys if k in props}
        outs.update(current)
        return outs

    def _fetch_required(
        self, client: Any, props: dict[str, Any], problem: str = "is missing right after it was written"
    ) -> dict[str, Any]:
        current = self.fetch(client, props)
        if current is None:
            raise DeviceStateError(
                device=Device.from_props(props).host, obj=self.label(props), problem=problem
            )
        return current

    def _require_owner(
        self, device: Device, props: dict[str, Any], current: dict[str, Any], action: str
    ) -> None:
        found = current.get("owner")
        expected = props["owner"]
        if found != expected:
            raise OwnershipError(
                device=device.host, obj=self.label(props), expected=expected, found=found, action=action
            )

    # -- vendor hooks ------------------------------------------------------------------------------
    def already_exists(self, exc: ApplianceError) -> bool:
        """Whether a create was refused because an object of that name exists (the vendor's own code)."""
        return False

    def state_after_create(self, client: Any, props: dict[str, Any], reply: Any) -> dict[str, Any]:
        """The object's properties (in the shape of the inputs) right after ``create_object`` succeeded:
        by default what was written, which the device took as it was sent (the contract test checks that a
        read answers exactly the inputs); a vendor whose reply carries the object reads them from it."""
        keys = (*self.property_keys, "owner")
        return {k: props.get(k) for k in keys if k in props}

    def prepare(self, props: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        """The inputs as create and update use them, with what the provider derives itself added (a
        certificate's fingerprint and device name); ``olds`` is None on create."""
        return props

    def client_for(self, props: dict[str, Any]) -> Any:
        """The vendor client for these inputs (by default: by the device they name)."""
        return self.client(Device.from_props(props))

    def content_replaces(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """Keys to report as replaced for reasons the inputs alone do not show (e.g. a secret's content)."""
        return []

    def client(self, device: Device) -> Any:
        raise NotImplementedError

    def object_id(self, props: dict[str, Any]) -> str:
        raise NotImplementedError

    def label(self, props: dict[str, Any]) -> str:
        return f"{self.object_type} {self.object_id(props)}"

    def fetch(self, client: Any, props: dict[str, Any]) -> dict[str, Any] | None:
        """The object as the device has it (in the shape of the inputs), or None. Through the run's read cache
        (providers/common/readcache.py), the decisions included (after a failed or refused write, before an
        adoption): each client marks the object a write touches (F5 and Citrix before the write is sent, Kemp
        once it failed or went unanswered), so an object this run tried to write is read from the device
        itself, and any other is as fresh as the run's first view of the device."""
        raise NotImplementedError

    def create_object(self, client: Any, props: dict[str, Any]) -> Any:
        """Send the create; answer the device's reply (for ``state_after_create``) or None."""
        raise NotImplementedError

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        raise NotImplementedError

    def delete_object(self, client: Any, props: dict[str, Any]) -> None:
        raise NotImplementedError


def _unknown(props: dict[str, Any], keys: tuple[str, ...]) -> bool:
    def has(value: Any) -> bool:
        if isinstance(value, Unknown):
            return True
        if isinstance(value, dict):
            return any(has(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(has(v) for v in value)
        return False

    return any(has(props.get(k)) for k in keys)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)


def _parent_replaced(key: str, olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """Whether the parent(s) named by ``key`` are being replaced.

    The engine's dependent-replacement check sends the whole property unknown (pkg/resource/deploy/
    step_generator.go, calculateDependentReplacements). An unknown element of a list is only a parent
    still to be made (a node added to a pool): that is an update of the list, not a replacement; so is
    a parent added or removed. A single parent id that changed means another parent object.
    """
    new = news.get(key)
    if isinstance(new, Unknown):
        return True
    if isinstance(new, list | tuple) or key not in olds:
        return False
    return bool(olds[key] != new)


class OldInputs:
    """The old inputs of each resource, as Check receives them, for its Diff to consult.

    The Python SDK hands a dynamic provider's ``diff`` the old outputs only (pulumi/dynamic/__main__.py,
    ``Diff``), while ``check`` gets the old inputs; both run in the one provider process, check first,
    and diff's ``news`` are exactly what check returned. Kept per process, keyed by those inputs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_news: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _key(news: dict[str, Any]) -> str:
        # diff's news come back through the wire (every number a float again, unknowns new objects)
        props = {k: v for k, v in plain(news).items() if k != PROVIDER_KEY}
        return json.dumps(
            props, sort_keys=True, default=lambda v: "<unknown>" if isinstance(v, Unknown) else repr(v)
        )

    def remember(self, olds: dict[str, Any], checked: dict[str, Any]) -> None:
        if olds:
            with self._lock:
                self._by_news[self._key(checked)] = plain(olds)

    def recall(self, news: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            return self._by_news.get(self._key(news))


OLD_INPUTS = OldInputs()


def engine_sees(old_inputs: dict[str, Any] | None, olds: dict[str, Any], keys: list[str]) -> bool:
    """Whether the engine's comparison of old and new inputs sees every change in ``keys``: it does when
    the old inputs held what the old outputs hold for each of them (no drift recorded by a refresh)."""
    return old_inputs is not None and all(old_inputs.get(k) == olds.get(k) for k in keys)


def _url(props: dict[str, Any]) -> str | None:
    device = props.get("device") or {}
    url = device.get("url") if isinstance(device, dict) else None
    return str(url).rstrip("/") if url else None
