"""The registry provider's cmdlets: Get/New/Set/Remove-ItemProperty and New-Item (registry keys).

Paths are ``HKLM:\\...`` or provider paths, resolved by the backend to a canonical key; values are stored in
the backend's form (ints, hex for binary, a list for MultiString) and read back as PowerShell types
(docs/rras.md#registry-value-types). The exact errors of registry value conversion are marked unconfirmed in
docs/rras.md: choices, not facts."""

from __future__ import annotations

import fnmatch
from typing import Any

from psrpcore.types import ErrorCategory, ErrorRecord

from emulators.winrm.backend import HKLM, RegistryError, canonical_key
from emulators.winrm.binder import CmdletSpec, Invocation, Param, error_record
from emulators.winrm.psobjects import registry_key_object, registry_object

REGISTRY_KINDS = ("Unknown", "String", "ExpandString", "Binary", "DWord", "MultiString", "QWord", "None")

_PATH_PARAMS = (
    Param("Path", "strings", (), sets=("Path",), mandatory_in=("Path",), position=0),
    Param("LiteralPath", "strings", ("PSPath", "LP"), sets=("LiteralPath",), mandatory_in=("LiteralPath",)),
    Param("Filter", "string"),
    Param("Include", "strings"),
    Param("Exclude", "strings"),
    Param("Credential", "object"),
)
_KIND = Param("PropertyType", "enum", ("Type",), REGISTRY_KINDS, "Microsoft.Win32.RegistryValueKind")


def _paths(inv: Invocation, args: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(path as typed, canonical key or None) for -Path/-LiteralPath."""
    typed = args.get("Path") or args.get("LiteralPath") or []
    return [(p, canonical_key(p)) for p in typed]


def path_not_found(inv: Invocation, path: str) -> ErrorRecord:
    """The provider cmdlets' record for a path that does not exist (registry and Cert: drives alike)."""
    return error_record(
        f"Cannot find path '{path}' because it does not exist.",
        f"PathNotFound,{inv.spec.type_name}",
        ErrorCategory.ObjectNotFound,
        "ItemNotFoundException",
        activity=inv.spec.name,
        target=path,
    )


def _property_missing(inv: Invocation, name: str, key: str) -> ErrorRecord:
    return error_record(
        f"Property {name} does not exist at path {key}.",
        f"System.Management.Automation.PSArgumentException,{inv.spec.type_name}",
        ErrorCategory.InvalidArgument,
        "PSArgumentException",
        activity=inv.spec.name,
        target=name,
    )


def get_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    names = args.get("Name")
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(path_not_found(inv, typed))
            continue
        stored, values = inv.backend.read_key(key)
        if names:
            present = {n.lower() for n in values}
            for name in names:
                if not any(ch in name for ch in "*?[") and name.lower() not in present:
                    inv.error(_property_missing(inv, name, stored))
            wanted = [n for n in values if any(fnmatch.fnmatchcase(n.lower(), p.lower()) for p in names)]
            if not wanted:
                continue
            inv.emit(registry_object(stored, values, wanted))
        else:
            inv.emit(registry_object(stored, values))


def _registry_value(inv: Invocation, kind: str, value: Any) -> Any:
    """Convert ``value`` for ``kind`` (stored form: ints, hex for binary, list for MultiString)."""

    def cast_error(type_name: str, inner: str) -> ErrorRecord:
        return error_record(
            f'Cannot convert value "{value}" to type "{type_name}". Error: "{inner}"',
            f"System.Management.Automation.PSInvalidCastException,{inv.spec.type_name}",
            ErrorCategory.InvalidArgument,
            "PSInvalidCastException",
            activity=inv.spec.name,
            target=str(value),
        )

    if kind in ("DWord", "QWord"):
        bits = 32 if kind == "DWord" else 64
        try:
            if isinstance(value, bool):
                number = int(value)
            elif isinstance(value, int):
                number = value
            else:
                number = int(str(value).strip(), 0)
        except ValueError:
            raise _Refused(
                cast_error(
                    "System.Int32" if bits == 32 else "System.Int64",
                    "Input string was not in a correct format.",
                )
            ) from None
        if number < -(1 << (bits - 1)) or number >= (1 << bits):
            raise _Refused(
                cast_error(
                    "System.Int32" if bits == 32 else "System.Int64",
                    "Value was either too large or too small.",
                )
            )
        return number % (1 << bits)
    if kind == "Binary":
        if isinstance(value, bytes | bytearray):
            return bytes(value).hex()
        items = list(value) if isinstance(value, list | tuple) else [value]
        out = bytearray()
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 255:
                out.append(item)
            else:
                raise _Refused(
                    cast_error("System.Byte[]", f'Cannot convert value "{item}" to type "System.Byte".')
                )
        return bytes(out).hex()
    if kind == "MultiString":
        items = list(value) if isinstance(value, list | tuple) else [value]
        return [str(v) for v in items]
    return "" if value is None else str(value)


class _Refused(Exception):
    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(str(record.Exception.Message))
        self.record = record


def new_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    kind = args.get("PropertyType") or "String"
    if kind in ("Unknown", "None"):
        kind = "Binary" if kind == "None" else "String"
    name = args["Name"]
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(path_not_found(inv, typed))
            continue
        try:
            stored_value = _registry_value(inv, kind, args.get("Value"))
        except _Refused as refused:
            inv.error(refused.record)
            continue
        if args.get("WhatIf"):
            continue
        try:
            entry = inv.backend.write_value(key, name, kind, stored_value, force=bool(args.get("Force")))
        except RegistryError as exc:
            stored, _ = inv.backend.read_key(key)
            inv.error(
                error_record(
                    exc.message,
                    f"System.IO.IOException,{inv.spec.type_name}",
                    ErrorCategory.ResourceExists,
                    "IOException",
                    activity=inv.spec.name,
                    target=stored,
                )
            )
            continue
        stored, _ = inv.backend.read_key(key)
        inv.emit(registry_object(stored, {name: entry}))


def set_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    name = args["Name"]
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(path_not_found(inv, typed))
            continue
        stored, values = inv.backend.read_key(key)
        existing = next((e for n, e in values.items() if n.lower() == name.lower()), None)
        kind = args.get("Type") or (existing["kind"] if existing else "String")
        try:
            stored_value = _registry_value(inv, kind, args.get("Value"))
        except _Refused as refused:
            inv.error(refused.record)
            continue
        if args.get("WhatIf"):
            continue
        entry = inv.backend.write_value(key, name, kind, stored_value, force=True)
        if args.get("PassThru"):
            inv.emit(registry_object(stored, {name: entry}))


def remove_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(path_not_found(inv, typed))
            continue
        for name in args["Name"]:
            if args.get("WhatIf"):
                continue
            try:
                inv.backend.remove_value(key, name)
            except RegistryError:
                stored, _ = inv.backend.read_key(key)
                inv.error(_property_missing(inv, name, stored))


def new_item(inv: Invocation, args: dict[str, Any]) -> None:
    for typed, key in _paths(inv, args):
        if args.get("Name"):
            key = f"{key}\\{args['Name']}" if key else None
            typed = f"{typed}\\{args['Name']}"
        if key is None:
            inv.error(path_not_found(inv, typed))
            continue
        parent = key.rsplit("\\", 1)[0]
        if inv.backend.key_exists(key) and not args.get("Force"):
            inv.error(
                error_record(
                    "A key at this path already exists.",
                    f"System.IO.IOException,{inv.spec.type_name}",
                    ErrorCategory.ResourceExists,
                    "IOException",
                    activity=inv.spec.name,
                    target=key,
                )
            )
            continue
        if not inv.backend.key_exists(parent) and parent != HKLM and not args.get("Force"):
            inv.error(path_not_found(inv, typed.rsplit("\\", 1)[0]))
            continue
        if args.get("WhatIf"):
            continue
        chain = key.split("\\")
        for depth in range(2, len(chain) + 1):
            inv.backend.create_key("\\".join(chain[:depth]))
        inv.emit(registry_key_object(key))


CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Get-ItemProperty",
        "Microsoft.PowerShell.Commands.GetItemPropertyCommand",
        get_item_property,
        (*_PATH_PARAMS, Param("Name", "strings", ("PSProperty",), position=1)),
        default_set="Path",
        aliases=("gp",),
    ),
    CmdletSpec(
        "New-ItemProperty",
        "Microsoft.PowerShell.Commands.NewItemPropertyCommand",
        new_item_property,
        (
            *_PATH_PARAMS,
            Param("Name", "string", ("PSProperty",), mandatory_in=("Path", "LiteralPath"), position=1),
            _KIND,
            Param("Value", "object"),
            Param("Force", "switch"),
        ),
        default_set="Path",
        should_process=True,
    ),
    CmdletSpec(
        "Set-ItemProperty",
        "Microsoft.PowerShell.Commands.SetItemPropertyCommand",
        set_item_property,
        (
            *_PATH_PARAMS,
            Param("Name", "string", ("PSProperty",), mandatory_in=("Path", "LiteralPath"), position=1),
            Param("Value", "object", (), position=2),
            Param("Type", "enum", (), REGISTRY_KINDS, "Microsoft.Win32.RegistryValueKind"),
            Param("PassThru", "switch"),
            Param("Force", "switch"),
        ),
        default_set="Path",
        should_process=True,
        aliases=("sp",),
    ),
    CmdletSpec(
        "Remove-ItemProperty",
        "Microsoft.PowerShell.Commands.RemoveItemPropertyCommand",
        remove_item_property,
        (
            *_PATH_PARAMS,
            Param("Name", "strings", ("PSProperty",), mandatory_in=("Path", "LiteralPath"), position=1),
            Param("Force", "switch"),
        ),
        default_set="Path",
        should_process=True,
        aliases=("rp",),
    ),
    CmdletSpec(
        "New-Item",
        "Microsoft.PowerShell.Commands.NewItemCommand",
        new_item,
        (
            Param("Path", "strings", (), position=0),
            Param("Name", "string"),
            Param("ItemType", "string", ("Type",)),
            Param("Value", "object"),
            Param("Force", "switch"),
            Param("Credential", "object"),
        ),
        default_set="pathSet",
        should_process=True,
        aliases=("ni",),
    ),
)
