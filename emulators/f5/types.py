"""The vocabulary of the BIG-IP object types: the ``ObjectType`` base, names, paths and value checks.

Each ``ObjectType`` describes one iControl REST collection (``ltm/pool``...) the way
docs/f5.md#objects-and-endpoints and docs/f5.md#requests-and-responses describe it: the exact ``kind``, the
defaults a GET adds, the properties a write may carry (anything else is refused like icrd refuses it), how
values are normalised on echo (strings for timeouts, ``/Common/`` prefixes, monitor expressions with a
trailing space, ``any`` masks), and which other objects it references (for "in use" refusals and
missing-reference errors).

This module holds what every type shares (the base class, the collection groups, full-path and
address parsing, the value checks); ``ltm_types`` holds the behaviour of the ltm types (node, pool,
member, monitor, persistence, profile, virtual) and ``tables`` the table of every collection served,
with its defaults (``make_types``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulators.f5.exceptions import BadValue, Unsupported

if TYPE_CHECKING:
    from emulators.f5.store import ObjectStore

Obj = dict[str, Any]

#: Properties every object accepts and echoes (read-only ones are ignored on PUT/PATCH,
# docs/f5.md#list-properties-and-read-only-keys).
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
#: Which protocols a profile type can be used with (docs/f5.md#references-and-in-use-refusals: incompatible
# profiles are refused).
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

    def normalise(self, backend: ObjectStore, full_path: str, props: Obj, creating: bool) -> Obj:
        """Validate ``props`` (the merged object) and return it as BIG-IP would echo it."""
        return props

    def references(self, obj: Obj) -> list[tuple[tuple[str, ...], str, str]]:
        """(target collections, target full path, role) of every object this one points at."""
        return []

    def render(self, obj: Obj) -> Obj:
        """Extra per-type echo tweaks at GET time."""
        return obj


# -- names and addresses of pool members and virtual servers ---------------------------------------
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
