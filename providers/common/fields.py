"""One declarative name map per object type, used both ways: device → inputs shape and inputs → device.

A provider describes the plain attributes of its object type as a :class:`FieldMap`; the map drives
``fetch`` (``read``: the device's answer in the shape of the inputs, normalised so a refresh shows only
real drift) and the create and update bodies (``body``: the device attributes of the input keys asked
for). Attributes that travel together, or that one input key splits into several device attributes,
are a :class:`Joint`: one entry written whenever any of its keys is, read back as a whole.

Conversions are small functions of one value, reusable across vendors (``enabled_flag``, ``int_text``,
``upper_or``...). Behaviour a map cannot say (a subcollection read, members added one by one, a marker
found on another object) stays in the provider's own hooks, which use the map for everything else.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

Props = Mapping[str, Any]
Convert = Callable[[Any], Any]


class _FromInputs:
    def __repr__(self) -> str:
        return "FROM_INPUTS"


#: A :class:`Field` default meaning "the input's own value when the device leaves the attribute out".
FROM_INPUTS: Final = _FromInputs()


def same(value: Any) -> Any:
    return value


class FieldSpec(Protocol):
    """What a :class:`FieldMap` entry offers: the input keys it covers and both directions."""

    @property
    def keys(self) -> tuple[str, ...]: ...

    def read(self, obj: Props, props: Props) -> dict[str, Any]:
        """The entry's input keys from the device object ``obj`` (``props``: the inputs, for defaults)."""
        ...

    def write(self, props: Props) -> dict[str, Any]:
        """The device attributes for the entry's input keys."""
        ...


@dataclass(frozen=True)
class Field:
    """One input key ↔ one device attribute (``also``: more attributes written with the same value,
    ``extra``: constant attributes sent along, such as a unit)."""

    key: str
    device: str
    to_device: Convert = same
    from_device: Convert = same
    #: the raw device value when the device leaves the attribute out (``FROM_INPUTS``: the input's value)
    default: Any = None
    also: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: False for an attribute that is only read (the device addresses the object by it some other way)
    written: bool = True

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key,)

    def raw(self, obj: Props, props: Props) -> Any:
        default = props.get(self.key) if self.default is FROM_INPUTS else self.default
        return obj.get(self.device, default)

    def read(self, obj: Props, props: Props) -> dict[str, Any]:
        return {self.key: self.from_device(self.raw(obj, props))}

    def write(self, props: Props) -> dict[str, Any]:
        if not self.written:
            return {}
        value = self.to_device(props.get(self.key))
        return {self.device: value, **{name: value for name in self.also}, **self.extra}


@dataclass(frozen=True)
class Joint:
    """Several input keys written and read as one (a destination from address and port, a nickname
    holding name and marker, a timeout that must travel with its persistence mode)."""

    keys: tuple[str, ...]
    to_device: Callable[[Props], dict[str, Any]]
    from_device: Callable[[Props, Props], dict[str, Any]]

    def read(self, obj: Props, props: Props) -> dict[str, Any]:
        return self.from_device(obj, props)

    def write(self, props: Props) -> dict[str, Any]:
        return self.to_device(props)


class FieldMap:
    """The name map of one object type (see the module docstring)."""

    def __init__(self, *entries: FieldSpec) -> None:
        self.entries: tuple[FieldSpec, ...] = entries

    def __add__(self, other: FieldMap) -> FieldMap:
        return FieldMap(*self.entries, *other.entries)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for entry in self.entries for key in entry.keys)

    def read(self, obj: Props, props: Props) -> dict[str, Any]:
        """The device object in the shape of the inputs (every key of the map)."""
        out: dict[str, Any] = {}
        for entry in self.entries:
            out.update(entry.read(obj, props))
        return out

    def body(self, props: Props, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """The device attributes for ``keys`` (every key of the map when None), in map order."""
        wanted = set(self.keys if keys is None else keys)
        body: dict[str, Any] = {}
        for entry in self.entries:
            if wanted.intersection(entry.keys):
                body.update(entry.write(props))
        return body


# -- reusable conversions -----------------------------------------------------------------------------
def enabled_flag(value: Any) -> str:
    """True → ``enabled`` (BIG-IP's booleans)."""
    return "enabled" if value else "disabled"


def is_enabled(value: Any) -> bool:
    return bool(value == "enabled")


def is_yes(value: Any) -> bool:
    """``Y`` → True (LoadMaster's booleans)."""
    return bool(value == "Y")


def as_bool(value: Any) -> bool:
    return bool(value)


def truthy_text(value: Any) -> bool:
    """``"true"``, ``"YES"``, ``"enabled"``, ``"on"``, ``"1"``, or a true value → True."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "enabled", "on", "1")
    return bool(value)


def digits_to_int(value: Any) -> Any:
    """``"180"`` → 180; anything else as it is."""
    return int(value) if isinstance(value, str) and value.isdigit() else value


def digits_or_zero(value: Any) -> int:
    """LoadMaster numbers: ``"60"`` → 60, an empty or odd value → 0."""
    text = str(value)
    return int(text) if text.isdigit() else 0


def number(value: Any) -> Any:
    """Numbers that arrive as JSON numbers or strings (``"5"``, ``5.0``) compared as ints."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else value
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return value
        return int(parsed) if parsed.is_integer() else parsed
    return value


def as_text(value: Any) -> str:
    return str(value)


def upper(value: Any) -> str | None:
    """Canonical-case enums: ``udp`` → ``UDP``; absent or empty → None."""
    return str(value).upper() if value is not None and value != "" else None


def upper_or(default: str) -> Convert:
    """Canonical-case enum with the device's default when absent."""

    def convert(value: Any) -> Any:
        return upper(value) or default

    return convert


def lower(value: Any) -> str:
    return str(value).lower()


def or_default(default: Any) -> Convert:
    """An empty or absent value reads as the device's default."""

    def convert(value: Any) -> Any:
        return value or default

    return convert


def text_or_none(value: Any) -> str | None:
    """A text attribute that reads as None when empty (markers in comments)."""
    return str(value) if value else None


_ROUTE_DOMAIN = re.compile(r"%\d+")


def strip_route_domain(value: Any) -> str:
    """``10.0.0.1%2`` → ``10.0.0.1``."""
    return _ROUTE_DOMAIN.sub("", str(value))


def canonical_address(value: Any) -> str | None:
    """An IP address in its canonical text; anything else as text; absent → None."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return str(value)


SECONDS_PER_UNIT: Final[Mapping[str, float]] = {"MIN": 60, "SEC": 1, "MSEC": 0.001}


def in_seconds(value: Any, unit: Any) -> Any:
    """A duration in the unit the device reports it in (``1`` ``MIN``) as seconds (60)."""
    parsed = number(value)
    if not isinstance(parsed, int | float) or isinstance(parsed, bool):
        return parsed
    return number(parsed * SECONDS_PER_UNIT.get(str(unit or "SEC").upper(), 1))


@dataclass(frozen=True)
class Seconds:
    """A duration always sent in seconds with its unit attribute, read back in whatever unit the device
    reports (NITRO: 60 SEC reads back as 1 MIN)."""

    key: str
    device: str
    unit: str

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key,)

    def read(self, obj: Props, props: Props) -> dict[str, Any]:
        return {self.key: in_seconds(obj.get(self.device), obj.get(self.unit))}

    def write(self, props: Props) -> dict[str, Any]:
        return {self.device: props[self.key], self.unit: "SEC"}
