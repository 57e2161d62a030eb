"""NITRO's errors: an HTTP status, an errorcode and a message with CLI-style bracketed details.

docs/citrix.md#status-and-error-codes and docs/citrix.md#response-formatting: 404/258 missing, 409/273
duplicate (bindings without a bracket), 409/1335 server IP taken, 400 for argument-shape errors (1074, 1092,
1093, 1095), 599 "Netscaler specific error" for 278 (invalid/immutable argument) and other appliance refusals,
401 for authentication (354, 444)."""

from __future__ import annotations


class NitroError(Exception):
    def __init__(self, status: int, errorcode: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.errorcode = errorcode
        self.message = message


def no_such_resource(arg: str, value: str) -> NitroError:
    return NitroError(404, 258, f"No such resource [{arg}, {value}]")


def already_exists(arg: str | None = None, value: str | None = None) -> NitroError:
    detail = f" [{arg}, {value}]" if arg else ""
    return NitroError(409, 273, f"Resource already exists{detail}")


def invalid_argument(attr: str) -> NitroError:
    return NitroError(599, 278, f"Invalid argument [{attr}]")


def invalid_value(attr: str, value: object) -> NitroError:
    return NitroError(400, 1074, f"Invalid value [{attr}, value {value}]")


def required_missing(attr: str) -> NitroError:
    return NitroError(400, 1095, f"Required argument missing [{attr}]")
