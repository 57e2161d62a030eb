"""The BIG-IP object types the twin knows: their kinds, defaults, properties, normalisation and references.

Each ``ObjectType`` describes one iControl REST collection (``ltm/pool``...) the way reference/f5.md
§2 and its fidelity traps 5-12 describe it: the exact ``kind``, the defaults a GET adds, the properties
a write may carry (anything else is refused like icrd refuses it), how values are normalised on echo
(strings for timeouts, ``/Common/`` prefixes, monitor expressions with a trailing space, ``any`` masks),
and which other objects it references (for "in use" refusals and missing-reference errors).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulators.f5.exceptions import BadValue, F5Error, Unsupported

if TYPE_CHECKING:
    from emulators.f5.backend import F5Backend

Obj = dict[str, Any]

#: Properties every object accepts and echoes (read-only ones are ignored on PUT/PATCH, trap 9).
COMMON_KEYS = frozenset({"name", "partition", "description", "appService"})
READ_ONLY_KEYS = frozenset(
    {"kind", "selfLink", "generation", "fullPath", "subPath", "creationTime", "lastModifiedTime"}
)

ENABLED_DISABLED = ("enabled", "disabled")
LB_MODES = (
    "round-robin",
    "ratio-member",
    "least-connections-member",
    "observed-member",
    "predictive-member",
    "ratio-node",
    "least-connections-node",
    "fastest-node",
    "observed-node",
    "predictive-node",
    "dynamic-ratio-node",
    "fastest-app-response",
    "least-sessions",
    "dynamic-ratio-member",
    "weighted-least-connections-member",
    "weighted-least-connections-node",
    "ratio-session",
    "ratio-least-connections-member",
    "ratio-least-connections-node",
)
IP_PROTOCOLS = ("tcp", "udp", "sctp", "any")
MONITOR_TYPES = ("ltm/monitor/gateway-icmp", "ltm/monitor/http", "ltm/monitor/https")
PERSISTENCE_TYPES = ("ltm/persistence/source-addr", "ltm/persistence/ssl")
PROFILE_TYPES = (
    "ltm/profile/udp",
    "ltm/profile/tcp",
    "ltm/profile/fastl4",
    "ltm/profile/http",
    "ltm/profile/client-ssl",
    "ltm/profile/server-ssl",
)
#: Which protocols a profile type can be used with (trap 12: incompatible profiles are refused).
PROFILE_PROTOCOLS = {
    "ltm/profile/udp": {"udp"},
    "ltm/profile/tcp": {"tcp"},
    "ltm/profile/fastl4": {"tcp", "udp", "sctp", "any"},
    "ltm/profile/http": {"tcp"},
    "ltm/profile/client-ssl": {"tcp"},
    "ltm/profile/server-ssl": {"tcp"},
}


def qualify(name: Any, partition: str = "Common") -> str:
    """``x`` -> ``/Common/x``; ``/P/x`` stays; the form references take on echo."""
    text = str(name).strip()
    if not text:
        return ""
    return text if text.startswith("/") else f"/{partition}/{text}"


def split_path(full: str) -> tuple[str, str]:
    """``/Common/x`` -> (``Common``, ``x``)."""
    _, partition, name = full.split("/", 2)
    return partition, name


def _enum(item: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadValue(
            f'01070734:3: Configuration error: invalid value "{value}" for {key} in {item}; '
            f"expected one of: {', '.join(allowed)}"
        )
    return str(value)


def _int(item: str, key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise BadValue(f"Invalid value {value!r} for {key} in {item}: an integer is required")
    try:
        return int(str(value))
    except ValueError:
        raise BadValue(f"Invalid value {value!r} for {key} in {item}: an integer is required") from None


def _address(item: str, value: Any) -> str:
    text = str(value)
    bare = text.split("%", 1)[0]
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        raise BadValue(f'01070734:3: Configuration error: invalid IP address "{text}" in {item}') from None
    return text


@dataclass
class ObjectType:
    """One collection. Subclasses override ``normalise`` (validation + echo form) and ``references``."""

    collection: str
    display: str
    defaults: Obj = field(default_factory=dict)
    extra_keys: frozenset[str] = frozenset()
    builtins: tuple[str, ...] = ()
    #: sub-collection name -> item kind, shown as ``<name>Reference`` links
    subcollections: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        module, _, rest = self.collection.partition("/")
        parts = rest.split("/")
        return f"tm:{module}:{':'.join(parts)}:{parts[-1]}state"

    @property
    def kind_prefix(self) -> str:
        """``tm:ltm:pool`` (sub-collection items are ``<prefix>:<sub>:<sub>state``)."""
        module, _, rest = self.collection.partition("/")
        return f"tm:{module}:{':'.join(rest.split('/'))}"

    @property
    def collection_kind(self) -> str:
        module, _, rest = self.collection.partition("/")
        parts = rest.split("/")
        return f"tm:{module}:{':'.join(parts)}:{parts[-1]}collectionstate"

    def item(self, full_path: str) -> str:
        return f"/{self.collection}/{full_path}"

    def allowed(self) -> frozenset[str]:
        return (
            COMMON_KEYS
            | frozenset(self.defaults)
            | self.extra_keys
            | frozenset(f"{s}Reference" for s in self.subcollections)
        )

    def check_keys(self, body: Obj, full_path: str) -> Obj:
        """Drop read-only keys, refuse unknown ones."""
        out: Obj = {}
        allowed = self.allowed()
        for key, value in body.items():
            if key in READ_ONLY_KEYS or key.endswith("Reference"):
                continue
            if key not in allowed:
                raise Unsupported(f"/{self.collection.replace('ltm/', 'ltm/')}/{full_path}", key, value)
            out[key] = value
        return out

    def normalise(self, backend: F5Backend, full_path: str, props: Obj, creating: bool) -> Obj:
        """Validate ``props`` (the merged object) and return it as BIG-IP would echo it."""
        return props

    def references(self, obj: Obj) -> list[tuple[tuple[str, ...], str, str]]:
        """(target collections, target full path, role) of every object this one points at."""
        return []

    def render(self, obj: Obj) -> Obj:
        """Extra per-type echo tweaks at GET time."""
        return obj


# -- ltm node ------------------------------------------------------------------------------------------
class NodeType(ObjectType):
    def normalise(self, backend: F5Backend, full_path: str, props: Obj, creating: bool) -> Obj:
        item = self.item(full_path)
        if "address" not in props:
            raise BadValue(f"01070734:3: Configuration error: node {full_path} requires an address")
        props["address"] = _address(item, props["address"])
        if "session" in props:
            props["session"] = _enum(
                item, "session", props["session"], ("user-enabled", "user-disabled", "monitor-enabled")
            )
        if "state" in props:
            props["state"] = _enum(
                item, "state", props["state"], ("user-up", "user-down", "up", "down", "unchecked")
            )
        for key in ("connectionLimit", "ratio", "dynamicRatio"):
            if key in props:
                props[key] = _int(item, key, props[key])
        return props

    def render(self, obj: Obj) -> Obj:
        return _render_state(obj)


def _render_state(obj: Obj) -> Obj:
    """Admin state as the runtime shows it: ``user-up`` reads back as ``unchecked`` (no monitor verdict in
    the twin) and an enabled object under a monitor as ``monitor-enabled`` (reference/f5.md §2.3)."""
    out = dict(obj)
    if out.get("state") == "user-up":
        out["state"] = "unchecked"
    if out.get("session") == "user-enabled" and out.get("monitor", "default") not in ("", "none"):
        out["session"] = "monitor-enabled"
    return out


# -- ltm pool and its members --------------------------------------------------------------------------
_MONITOR_WORD = re.compile(r"[^\s{}]+")


def monitor_expression(backend: F5Backend, item: str, value: Any, partition: str) -> tuple[str, list[str]]:
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
    # BIG-IP re-renders the expression with a trailing space (trap 8).
    return echo + " ", names


def member_address(name: str) -> tuple[str, str]:
    """``10.0.0.1:500`` -> (``10.0.0.1``, ``500``); IPv6 ``2001:db8::1.443``; ``node:500`` -> (node, 500)."""
    if name.count(":") > 1:
        head, _, port = name.rpartition(".")
        return head, port
    head, _, port = name.rpartition(":")
    return head, port


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


class PoolType(ObjectType):
    def normalise(self, backend: F5Backend, full_path: str, props: Obj, creating: bool) -> Obj:
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
                del props["monitor"]  # "no monitor" is an absent key on echo (trap 7)
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

    def normalise(self, backend: F5Backend, full_path: str, props: Obj, creating: bool) -> Obj:
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
        if "session" in props:
            props["session"] = _enum(
                item, "session", props["session"], ("user-enabled", "user-disabled", "monitor-enabled")
            )
        if "state" in props:
            props["state"] = _enum(
                item, "state", props["state"], ("user-up", "user-down", "up", "down", "unchecked")
            )
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

    def normalise(self, backend: F5Backend, full_path: str, props: Obj, creating: bool) -> Obj:
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
                props[key] = value  # persistence timeouts are strings on echo (trap 8)
        return self.after_checks(backend, item, props)

    def after_checks(self, backend: F5Backend, item: str, props: Obj) -> Obj:
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

    def after_checks(self, backend: F5Backend, item: str, props: Obj) -> Obj:
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
                # The legacy top-level properties mirror the first entry (reference/f5.md §2.6).
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
def parse_destination(value: str, partition: str) -> tuple[str, str, int]:
    """``/Common/1.2.3.4:500``, ``1.2.3.4:500``, ``/Common/2001:db8::1.443`` -> (partition, address, port)."""
    text = str(value)
    part = partition
    if text.startswith("/"):
        part, text = split_path(text)
    sep = "." if text.count(":") > 1 else ":"
    address, _, port = text.rpartition(sep)
    if not address or not port.isdigit() or not _is_ip(address):
        raise BadValue(f'01070734:3: Configuration error: invalid destination "{value}"')
    return part, address, int(port)


class VirtualType(ObjectType):
    def normalise(self, backend: F5Backend, full_path: str, props: Obj, creating: bool) -> Obj:
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
        props["mask"] = {"0.0.0.0": "any", "::": "any6"}.get(mask, mask)  # trap 8 (terraform #919)
        props["ipProtocol"] = _enum(item, "ipProtocol", props.get("ipProtocol", "tcp"), IP_PROTOCOLS)
        for flag_on, flag_off in (("enabled", "disabled"), ("vlansEnabled", "vlansDisabled")):
            # presence booleans: exactly one of the pair is shown (trap 8)
            if props.get(flag_off) is True:
                props.pop(flag_on, None)
            else:
                props.pop(flag_off, None)
                if flag_on == "enabled":
                    props["enabled"] = True
            if props.get(flag_on) is False:
                props.pop(flag_on)
        # pool / persist / fallback: null or "" means none and the key disappears (trap 7)
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

    def normalise(self, backend: F5Backend, full_path: str, props: Obj, creating: bool) -> Obj:
        if backend.find(PROFILE_TYPES, full_path) is None:
            raise F5Error(400, f"01020036:3: The requested profile ({full_path}) was not found.")
        props["context"] = _enum(
            self.item(full_path), "context", props.get("context", "all"), ("all", "clientside", "serverside")
        )
        return props


def make_types() -> dict[str, ObjectType]:
    """Every collection the twin serves, keyed by collection path."""
    types: list[ObjectType] = [
        NodeType(
            "ltm/node",
            "Node",
            defaults={
                "connectionLimit": 0,
                "dynamicRatio": 1,
                "ephemeral": "false",
                "fqdn": {
                    "addressFamily": "ipv4",
                    "autopopulate": "disabled",
                    "downInterval": 5,
                    "interval": "3600",
                },
                "logging": "disabled",
                "monitor": "default",
                "rateLimit": "disabled",
                "ratio": 1,
                "session": "user-enabled",
                "state": "unchecked",
            },
            extra_keys=frozenset({"address"}),
        ),
        PoolType(
            "ltm/pool",
            "Pool",
            defaults={
                "allowNat": "yes",
                "allowSnat": "yes",
                "ignorePersistedWeight": "disabled",
                "ipTosToClient": "pass-through",
                "ipTosToServer": "pass-through",
                "linkQosToClient": "pass-through",
                "linkQosToServer": "pass-through",
                "loadBalancingMode": "round-robin",
                "minActiveMembers": 0,
                "minUpMembers": 0,
                "minUpMembersAction": "failover",
                "minUpMembersChecking": "disabled",
                "queueDepthLimit": 0,
                "queueOnConnectionLimit": "disabled",
                "queueTimeLimit": 0,
                "reselectTries": 0,
                "serviceDownAction": "none",
                "slowRampTime": 10,
            },
            extra_keys=frozenset({"monitor", "members"}),
            subcollections=("members",),
        ),
        MemberType(
            "ltm/pool/members",
            "Pool Member",
            defaults={
                "connectionLimit": 0,
                "dynamicRatio": 1,
                "ephemeral": "false",
                "fqdn": {"autopopulate": "disabled"},
                "inheritProfile": "enabled",
                "logging": "disabled",
                "monitor": "default",
                "priorityGroup": 0,
                "rateLimit": "disabled",
                "ratio": 1,
                "session": "user-enabled",
                "state": "unchecked",
            },
            extra_keys=frozenset({"address"}),
        ),
        MonitorType(
            "ltm/monitor/gateway-icmp",
            "Monitor",
            defaults={
                "adaptive": "disabled",
                "destination": "*",
                "interval": 5,
                "manualResume": "disabled",
                "timeUntilUp": 0,
                "timeout": 16,
                "transparent": "disabled",
                "upInterval": 0,
            },
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("gateway_icmp",),
        ),
        MonitorType(
            "ltm/monitor/http",
            "Monitor",
            defaults={
                "adaptive": "disabled",
                "destination": "*:*",
                "interval": 5,
                "ipDscp": 0,
                "manualResume": "disabled",
                "recv": "none",
                "recvDisable": "none",
                "reverse": "disabled",
                "send": "GET /\\r\\n",
                "timeUntilUp": 0,
                "timeout": 16,
                "transparent": "disabled",
                "upInterval": 0,
            },
            extra_keys=frozenset({"defaultsFrom", "username", "password"}),
            builtins=("http",),
        ),
        MonitorType(
            "ltm/monitor/https",
            "Monitor",
            defaults={
                "adaptive": "disabled",
                "cipherlist": "DEFAULT",
                "destination": "*:*",
                "interval": 5,
                "ipDscp": 0,
                "manualResume": "disabled",
                "recv": "none",
                "recvDisable": "none",
                "reverse": "disabled",
                "send": "GET /\\r\\n",
                "timeUntilUp": 0,
                "timeout": 16,
                "transparent": "disabled",
                "upInterval": 0,
            },
            extra_keys=frozenset({"defaultsFrom", "username", "password", "sslProfile"}),
            builtins=("https",),
        ),
        PersistenceType(
            "ltm/persistence/source-addr",
            "Persistence Profile",
            defaults={
                "hashAlgorithm": "default",
                "mapProxies": "enabled",
                "mask": "none",
                "matchAcrossPools": "disabled",
                "matchAcrossServices": "disabled",
                "matchAcrossVirtuals": "disabled",
                "mirror": "disabled",
                "overrideConnectionLimit": "disabled",
                "timeout": "180",
            },
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("source_addr",),
        ),
        PersistenceType(
            "ltm/persistence/ssl",
            "Persistence Profile",
            defaults={
                "matchAcrossPools": "disabled",
                "matchAcrossServices": "disabled",
                "matchAcrossVirtuals": "disabled",
                "mirror": "disabled",
                "overrideConnectionLimit": "disabled",
                "timeout": "300",
            },
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("ssl",),
        ),
        ParentedType(
            "ltm/profile/udp",
            "Profile",
            defaults={"idleTimeout": "60", "datagramLoadBalancing": "disabled"},
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("udp",),
        ),
        ParentedType(
            "ltm/profile/tcp",
            "Profile",
            defaults={"idleTimeout": 300},
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("tcp",),
        ),
        ParentedType(
            "ltm/profile/fastl4",
            "Profile",
            defaults={"idleTimeout": "300"},
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("fastL4",),
        ),
        ParentedType(
            "ltm/profile/http",
            "Profile",
            defaults={"insertXforwardedFor": "disabled"},
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("http",),
        ),
        ClientSslType(
            "ltm/profile/client-ssl",
            "Profile",
            defaults={
                "ciphers": "DEFAULT",
                "sniDefault": "false",
                "options": ["dont-insert-empty-fragments"],
            },
            extra_keys=frozenset(
                {"defaultsFrom", "certKeyChain", "cert", "key", "chain", "passphrase", "serverName"}
            ),
            builtins=("clientssl",),
        ),
        ParentedType(
            "ltm/profile/server-ssl",
            "Profile",
            defaults={"ciphers": "DEFAULT", "serverName": "none"},
            extra_keys=frozenset({"defaultsFrom"}),
            builtins=("serverssl",),
        ),
        VirtualType(
            "ltm/virtual",
            "Virtual Server",
            defaults={
                "addressStatus": "yes",
                "autoLasthop": "default",
                "cmpEnabled": "yes",
                "connectionLimit": 0,
                "evictionProtected": "disabled",
                "gtmScore": 0,
                "ipProtocol": "tcp",
                "mirror": "disabled",
                "mobileAppTunnel": "disabled",
                "nat64": "disabled",
                "rateLimit": "disabled",
                "rateLimitDstMask": 0,
                "rateLimitMode": "object",
                "rateLimitSrcMask": 0,
                "serversslUseSni": "disabled",
                "serviceDownImmediateAction": "none",
                "source": "0.0.0.0/0",
                "sourcePort": "preserve",
                "synCookieStatus": "not-activated",
                "translateAddress": "enabled",
                "translatePort": "enabled",
            },
            extra_keys=frozenset(
                {
                    "destination",
                    "mask",
                    "pool",
                    "persist",
                    "fallbackPersistence",
                    "profiles",
                    "policies",
                    "rules",
                    "sourceAddressTranslation",
                    "enabled",
                    "disabled",
                    "vlansEnabled",
                    "vlansDisabled",
                    "vlans",
                    "snatpool",
                    "vsIndex",
                }
            ),
            subcollections=("profiles", "policies"),
        ),
        ProfileItemType("ltm/virtual/profiles", "profile", defaults={"context": "all"}),
        ObjectType(
            "ltm/virtual-address",
            "Virtual Address",
            defaults={
                "arp": "enabled",
                "autoDelete": "true",
                "connectionLimit": 0,
                "enabled": "yes",
                "floating": "enabled",
                "icmpEcho": "enabled",
                "mask": "255.255.255.255",
                "routeAdvertisement": "disabled",
                "spanning": "disabled",
                "trafficGroup": "/Common/traffic-group-1",
            },
            extra_keys=frozenset({"address"}),
        ),
        ObjectType("sys/crypto/cert", "Certificate", extra_keys=frozenset({"command", "from-local-file"})),
        ObjectType("sys/crypto/key", "Key", extra_keys=frozenset({"command", "from-local-file"})),
        ObjectType("sys/file/ssl-cert", "Certificate File", extra_keys=frozenset({"sourcePath"})),
        ObjectType("sys/file/ssl-key", "Certificate Key File", extra_keys=frozenset({"sourcePath"})),
    ]
    return {t.collection: t for t in types}
