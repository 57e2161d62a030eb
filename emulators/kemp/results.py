"""What a command answers and how its parameters are read.

Results (``Message``, ``VSResult``...) are rendered as XML or JSON by the HTTP layer (emulators/kemp/app.py,
docs/kemp.md#classic-api-commands-and-envelopes). ``Args`` holds the parameters of one call with lower-cased
names (docs/kemp.md#parameter-names); the ``parse_*`` helpers turn wire strings into values (booleans per
docs/kemp.md#booleans) and raise the LoadMaster's errors."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from emulators.kemp import exceptions as err
from emulators.kemp.types import FALSE_WORDS, OK, TRUE_WORDS, View


# -- results: what a command answers, rendered as XML or JSON by the HTTP layer ------------------------
@dataclass
class Message:
    text: str = OK


@dataclass
class VSResult:
    view: View


@dataclass
class VSListResult:
    views: list[View]


@dataclass
class RSResult:
    view: View


@dataclass
class ParamsResult:
    values: list[tuple[str, Any]]


@dataclass
class BinaryResult:
    payload: bytes
    filename: str = "backup.tar.gz"


Result = Message | VSResult | VSListResult | RSResult | ParamsResult | BinaryResult


@dataclass
class Args:
    """The parameters of one call: lower-cased names, the last value of a repeated name wins."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        return name in self.values

    def require(self, name: str, kind: str = "String") -> str:
        """The value of a mandatory parameter; absent or empty is ``<name>: <kind> Value missing`` (400)."""
        value = self.values.get(name)
        if not value:
            raise err.missing(name, kind)
        return value


def parse_bool(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise err.invalid_value(name)


def parse_int(name: str, value: str, bounds: tuple[int, int] | None) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise err.invalid_value(name) from None
    if bounds and not bounds[0] <= number <= bounds[1]:
        raise err.invalid_value(name)
    return number


def parse_port(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise err.invalid_value(name) from None
    if not 3 <= number <= 65530:
        raise err.invalid_value(name)
    return number


def parse_address(name: str, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise err.invalid_address(name) from None
