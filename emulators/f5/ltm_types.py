"""How the ltm object types behave: validation, echo normalisation and references per type.

The ``ObjectType`` subclasses for the ltm collections the twin serves (node, pool and its members, monitors,
persistence and other profiles, client-ssl, virtual server and its profiles), as
docs/f5.md#objects-and-endpoints and docs/f5.md#requests-and-responses describe them. Their defaults and
built-ins are in ``tables``; what all types share is in ``types``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from emulators.f5.exceptions import BadValue, F5Error
from emulators.f5.types import (
    ENABLED_DISABLED,
    IP_PROTOCOLS,
    LB_MODES,
    MONITOR_TYPES,
    PERSISTENCE_TYPES,
    PROFILE_TYPES,
    ObjectType,
    _address,
    _enum,
    _int,
    _is_ip,
    member_address,
    parse_destination,
    qualify,
    split_path,
)

if TYPE_CHECKING:
    from emulators.f5.store import ObjectStore

Obj = dict[str, Any]


# -- ltm node ------------------------------------------------------------------------------------------
class NodeType(ObjectType):
    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        item = self.item(full_path)
        if "address" not in props:
            raise BadValue(f"01070734:3: Configuration error: node {full_path} requires an address")
        props["address"] = _address(item, props["address"])
        _check_admin_state(item, props)
        for key in ("connectionLimit", "ratio", "dynamicRatio"):
            if key in props:
                props[key] = _int(item, key, props[key])
        return props

    def render(self, obj: Obj) -> Obj:
        return _render_state(obj)


def _check_admin_state(item: str, props: Obj) -> None:
    """``session`` and ``state`` of a node or pool member, when given, must be one of their values."""
    if "session" in props:
        props["session"] = _enum(
            item, "session", props["session"], ("user-enabled", "user-disabled", "monitor-enabled")
        )
    if "state" in props:
        props["state"] = _enum(
            item, "state", props["state"], ("user-up", "user-down", "up", "down", "unchecked")
        )


def _render_state(obj: Obj) -> Obj:
    """Admin state as the runtime shows it: ``user-up`` reads back as ``unchecked`` (no monitor verdict in
    the twin) and an enabled object under a monitor as ``monitor-enabled``
    (docs/f5.md#pool-members-and-admin-states)."""
    out = dict(obj)
    if out.get("state") == "user-up":
        out["state"] = "unchecked"
    if out.get("session") == "user-enabled" and out.get("monitor", "default") not in ("", "none"):
        out["session"] = "monitor-enabled"
    return out


# -- ltm pool and its members --------------------------------------------------------------------------
_MONITOR_WORD = re.compile(r"[^\s{}]+")


def monitor_expression(backend: ObjectStore, item: str, value: Any, partition: str) -> tuple[str, list[str]]:
    """Parse ``a and b`` / ``min N of { a b }`` / ``a``; return the echo form and the monitor paths."""
    text = str(value or "").strip()
    if not text or text in ("none", "default"):
        return text, []
    if text.startswith("min "):
        match = re.fullmatch(r"min\s+(\d+)\s+of\s+\{?\s*(.*?)\s*\}?", text)
        if not match:
            raise BadValue(f'01070734:3: Configuration error: invalid monitor rule "{text}" in {item}')
        names = [qualify(n, partition) for n in _MONITOR_WORD.findall(match.group(2))]
        echo = f"min {match.group(1)} of {{ {' '.join(names)} }}"
    else:
        names = [qualify(n.strip(), partition) for n in re.split(r"\s+and\s+", text)]
        echo = " and ".join(names)
    for name in names:
        if backend.find(MONITOR_TYPES, name) is None:
            raise F5Error(400, f"01020036:3: The requested monitor ({name}) was not found.")
    # BIG-IP re-renders the expression with a trailing space
    # (docs/f5.md#echoed-values-differ-from-what-was-sent).
    return echo + " ", names


class PoolType(ObjectType):
    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        item = self.item(full_path)
        partition = props.get("partition", "Common")
        if "loadBalancingMode" in props:
            props["loadBalancingMode"] = _enum(
                item, "loadBalancingMode", props["loadBalancingMode"], LB_MODES
            )
        if "monitor" in props:
            echo, _ = monitor_expression(backend, item, props["monitor"], partition)
            if echo:
                props["monitor"] = echo
            else:
                # "no monitor" is an absent key on echo (docs/f5.md#echoed-values-differ-from-what-was-sent)
                del props["monitor"]
        for key in ("slowRampTime", "reselectTries", "minActiveMembers", "queueDepthLimit", "queueTimeLimit"):
            if key in props:
                props[key] = _int(item, key, props[key])
        if "serviceDownAction" in props:
            props["serviceDownAction"] = _enum(
                item, "serviceDownAction", props["serviceDownAction"], ("none", "reset", "drop", "reselect")
            )
        for key in ("allowNat", "allowSnat"):
            if key in props:
                props[key] = _enum(item, key, props[key], ("yes", "no"))
        return props

    def references(self, obj: Obj) -> list[tuple[tuple[str, ...], str, str]]:
        monitor = str(obj.get("monitor", "")).strip()
        if not monitor:
            return []
        names = _MONITOR_WORD.findall(monitor.replace(" and ", " "))
        return [(MONITOR_TYPES, n, "monitor") for n in names if n.startswith("/")]


class MemberType(ObjectType):
    """Pool members (subcollection ``members``); the name says node (or address) and port."""

    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        item = self.item(full_path)
        partition, name = split_path(full_path)
        node_name, port = member_address(name)
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise BadValue(f"01070587:3: The requested pool member ({full_path}) has an invalid port.")
        if creating:
            if _is_ip(node_name):
                props["address"] = node_name
            else:
                node = backend.find(("ltm/node",), qualify(node_name, partition))
                if node is None:
                    raise F5Error(
                        400,
                        f"01020036:3: The requested Node ({qualify(node_name, partition)}) was not found.",
                    )
                props["address"] = node["address"]
        elif "address" in props and props.get("_address") not in (None, props["address"]):
            raise BadValue(f"01070734:3: Configuration error: the address of {item} cannot be modified")
        _check_admin_state(item, props)
        for key in ("ratio", "priorityGroup", "connectionLimit", "dynamicRatio"):
            if key in props:
                props[key] = _int(item, key, props[key])
        props.pop("_address", None)
        return props

    def render(self, obj: Obj) -> Obj:
        return _render_state(obj)


# -- monitors, persistence, profiles --------------------------------------------------------------------
class ParentedType(ObjectType):
    """Types that inherit from a parent of the same type (``defaultsFrom``)."""

    int_keys: tuple[str, ...] = ()
    enum_keys: dict[str, tuple[str, ...]] = {}
    string_numbers: tuple[str, ...] = ()

    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        item = self.item(full_path)
        if creating and not props.get("defaultsFrom") and self.builtins:
            props["defaultsFrom"] = f"/Common/{self.builtins[0]}"
        if props.get("defaultsFrom") and props["defaultsFrom"] != "none":
            parent = qualify(props["defaultsFrom"], props.get("partition", "Common"))
            if parent == full_path:
                raise BadValue(
                    f"01070734:3: Configuration error: {self.display} {full_path} may not default from itself"
                )
            if backend.find((self.collection,), parent) is None:
                raise F5Error(400, f"01020036:3: The requested {self.display} ({parent}) was not found.")
            props["defaultsFrom"] = parent
        for key in self.int_keys:
            if key in props:
                props[key] = _int(item, key, props[key])
        for key, allowed in self.enum_keys.items():
            if key in props:
                props[key] = _enum(item, key, props[key], allowed)
        for key in self.string_numbers:
            if key in props:
                value = str(props[key])
                if not (value.isdigit() or value == "indefinite"):
                    raise BadValue(f'01070734:3: Configuration error: invalid {key} "{value}" in {item}')
                # persistence timeouts are strings on echo
                # (docs/f5.md#echoed-values-differ-from-what-was-sent)
                props[key] = value
        return self.after_checks(backend, item, props)

    def after_checks(self, backend: ObjectStore, item: str, props: Obj) -> Obj:
        return props

    def references(self, obj: Obj) -> list[tuple[tuple[str, ...], str, str]]:
        parent = obj.get("defaultsFrom")
        return [((self.collection,), parent, "parent")] if parent and parent != "none" else []


class MonitorType(ParentedType):
    int_keys = ("interval", "timeout", "timeUntilUp", "upInterval")


class PersistenceType(ParentedType):
    enum_keys = {
        "matchAcrossServices": ENABLED_DISABLED,
        "matchAcrossVirtuals": ENABLED_DISABLED,
        "matchAcrossPools": ENABLED_DISABLED,
        "mirror": ENABLED_DISABLED,
        "overrideConnectionLimit": ENABLED_DISABLED,
        "mapProxies": ENABLED_DISABLED,
        "hashAlgorithm": ("default", "carp"),
    }
    string_numbers = ("timeout",)


class ClientSslType(ParentedType):
    """client-ssl: ``certKeyChain`` entries (and the legacy top-level cert/key) must name installed files."""

    def after_checks(self, backend: ObjectStore, item: str, props: Obj) -> Obj:
        chain = props.get("certKeyChain")
        if chain is not None:
            if not isinstance(chain, list):
                raise BadValue(f"Invalid value for certKeyChain in {item}: a list is required")
            fixed = []
            for entry in chain:
                if not isinstance(entry, dict) or not entry.get("cert") or not entry.get("key"):
                    raise BadValue(
                        f"01070734:3: Configuration error: {item}: a certKeyChain entry needs cert and key"
                    )
                entry = dict(entry)
                entry["cert"] = qualify(entry["cert"], props.get("partition", "Common"))
                entry["key"] = qualify(entry["key"], props.get("partition", "Common"))
                if entry.get("chain"):
                    entry["chain"] = qualify(entry["chain"])
                entry.setdefault("name", split_path(entry["cert"])[1].rsplit(".", 1)[0])
                fixed.append(entry)
            props["certKeyChain"] = fixed
            if fixed:
                # The legacy top-level properties mirror the first entry (docs/f5.md#client-ssl-profiles).
                props["cert"], props["key"] = fixed[0]["cert"], fixed[0]["key"]
        for entry in props.get("certKeyChain") or []:
            if backend.find(("sys/file/ssl-cert",), entry["cert"]) is None:
                raise F5Error(
                    400, f"01020036:3: The requested Certificate File ({entry['cert']}) was not found."
                )
            if backend.find(("sys/file/ssl-key",), entry["key"]) is None:
                raise F5Error(
                    400, f"01020036:3: The requested Certificate Key File ({entry['key']}) was not found."
                )
        return props

    def references(self, obj: Obj) -> list[tuple[tuple[str, ...], str, str]]:
        refs = super().references(obj)
        for entry in obj.get("certKeyChain") or []:
            refs.append((("sys/file/ssl-cert",), entry["cert"], "certificate"))
            refs.append((("sys/file/ssl-key",), entry["key"], "key"))
        return refs


# -- ltm virtual ---------------------------------------------------------------------------------------
class VirtualType(ObjectType):
    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        item = self.item(full_path)
        partition = props.get("partition", "Common")
        if "destination" not in props:
            raise BadValue(
                f"01070734:3: Configuration error: virtual server {full_path} requires a destination"
            )
        part, address, port = parse_destination(props["destination"], partition)
        sep = "." if ":" in address else ":"
        props["destination"] = f"/{part}/{address}{sep}{port}"
        mask = str(
            props.get(
                "mask", "255.255.255.255" if ":" not in address else "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            )
        )
        # docs/f5.md#echoed-values-differ-from-what-was-sent (terraform #919)
        props["mask"] = {"0.0.0.0": "any", "::": "any6"}.get(mask, mask)
        props["ipProtocol"] = _enum(item, "ipProtocol", props.get("ipProtocol", "tcp"), IP_PROTOCOLS)
        for flag_on, flag_off in (("enabled", "disabled"), ("vlansEnabled", "vlansDisabled")):
            # presence booleans: exactly one of the pair is shown
            # (docs/f5.md#echoed-values-differ-from-what-was-sent)
            if props.get(flag_off) is True:
                props.pop(flag_on, None)
            else:
                props.pop(flag_off, None)
                if flag_on == "enabled":
                    props["enabled"] = True
            if props.get(flag_on) is False:
                props.pop(flag_on)
        # pool / persist / fallback: null or "" means none and the key disappears
        # (docs/f5.md#echoed-values-differ-from-what-was-sent)
        pool = props.get("pool")
        if pool in (None, "", "none"):
            props.pop("pool", None)
        else:
            props["pool"] = qualify(pool, partition)
            if backend.find(("ltm/pool",), props["pool"]) is None:
                raise F5Error(400, f"01020036:3: The requested Pool ({props['pool']}) was not found.")
        persist = props.get("persist")
        if persist in (None, "", []):
            props.pop("persist", None)
        else:
            if not isinstance(persist, list):
                raise BadValue(f"Invalid value for persist in {item}: a list is required")
            if len(persist) > 1:
                raise BadValue(
                    f"01070734:3: Configuration error: virtual server {full_path} "
                    "may have only one persistence profile"
                )
            fixed = []
            for entry in persist:
                entry = {"name": entry} if isinstance(entry, str) else dict(entry)
                path = qualify(entry.get("name", ""), str(entry.get("partition") or partition))
                if backend.find(PERSISTENCE_TYPES, path) is None:
                    raise F5Error(
                        400, f"01020036:3: The requested Persistence Profile ({path}) was not found."
                    )
                p_part, p_name = split_path(path)
                fixed.append({"name": p_name, "partition": p_part, "tmDefault": "yes"})
            props["persist"] = fixed
        fallback = props.get("fallbackPersistence")
        if fallback in (None, "", "none"):
            props.pop("fallbackPersistence", None)
        else:
            props["fallbackPersistence"] = qualify(fallback, partition)
            if backend.find(PERSISTENCE_TYPES, props["fallbackPersistence"]) is None:
                raise F5Error(
                    400,
                    f"01020036:3: The requested Persistence Profile ({props['fallbackPersistence']}) "
                    "was not found.",
                )
        snat = props.get("sourceAddressTranslation") or {"type": "none"}
        if not isinstance(snat, dict):
            raise BadValue(f"Invalid value for sourceAddressTranslation in {item}: an object is required")
        snat_type = _enum(
            item,
            "sourceAddressTranslation.type",
            snat.get("type", "none"),
            ("none", "automap", "snat", "lsn"),
        )
        if snat_type == "snat" and not snat.get("pool"):
            raise F5Error(
                400, f"01071811:3: Virtual Server {full_path} references non-existent snatpool <no name>."
            )
        props["sourceAddressTranslation"] = {
            "type": snat_type,
            **({"pool": qualify(snat["pool"])} if snat.get("pool") else {}),
        }
        for key in ("translateAddress", "translatePort"):
            if key in props:
                props[key] = _enum(item, key, props[key], ENABLED_DISABLED)
        # Two virtuals may not listen on the same address, port and protocol (same VLANs).
        for other_path, other in backend.objects("ltm/virtual").items():
            if other_path == full_path:
                continue
            if (
                other.get("destination") == props["destination"]
                and other.get("ipProtocol") == props["ipProtocol"]
            ):
                raise F5Error(
                    409,
                    f"01070333:3: Virtual Server {full_path} illegally shares both address and vlan with "
                    f"Virtual Server {other_path}.",
                )
        return props

    def references(self, obj: Obj) -> list[tuple[tuple[str, ...], str, str]]:
        refs: list[tuple[tuple[str, ...], str, str]] = []
        if obj.get("pool"):
            refs.append((("ltm/pool",), obj["pool"], "pool"))
        for entry in obj.get("persist") or []:
            refs.append((PERSISTENCE_TYPES, f"/{entry['partition']}/{entry['name']}", "persistence"))
        if obj.get("fallbackPersistence"):
            refs.append((PERSISTENCE_TYPES, obj["fallbackPersistence"], "persistence"))
        for path in (obj.get("_sub") or {}).get("profiles", {}):
            refs.append((PROFILE_TYPES, path, "profile"))
        return refs


class ProfileItemType(ObjectType):
    """A virtual's profile (subcollection ``profiles``): name + context."""

    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        if backend.find(PROFILE_TYPES, full_path) is None:
            raise F5Error(400, f"01020036:3: The requested profile ({full_path}) was not found.")
        props["context"] = _enum(
            self.item(full_path), "context", props.get("context", "all"), ("all", "clientside", "serverside")
        )
        return props


class PolicyItemType(ObjectType):
    """A virtual's policy (subcollection ``policies``). The twin serves no ``ltm/policy`` objects, so any
    policy named is not found, as on a BIG-IP that has no such policy; ``"policies": null`` or ``[]`` (what
    terraform always sends, docs/f5.md#echoed-values-differ-from-what-was-sent) means none."""

    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        raise F5Error(400, f"01020036:3: The requested policy ({full_path}) was not found.")
