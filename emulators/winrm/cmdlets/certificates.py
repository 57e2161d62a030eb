"""Get-Item and Get-ChildItem, on the Certificate provider (``Cert:\\LocalMachine\\<store>[\\<thumbprint>]``)
and on the registry (``HKLM:\\...`` keys).

A certificate is written as an X509Certificate2 (its adapted properties and the Certificate provider's note
properties: PSPath, PSChildName, PSIsContainer...), a store as an X509Store, a registry key as
emulators/winrm/psobjects.py's RegistryKey. A path that does not exist is PowerShell's non-terminating
ItemNotFoundException (``PathNotFound,<command>``) unless it has wildcards (then it just matches nothing);
``-LiteralPath`` takes wildcard characters literally. The twin models the ``LocalMachine`` location with
the ``Root`` and ``My`` stores (emulators/winrm/hardening.py); ``CurrentUser`` paths do not exist on it.
Sources and what is unconfirmed: docs/rras.md#accepted-root-certificate.
"""

from __future__ import annotations

import datetime
import fnmatch
from typing import Any

from psrpcore.types import (
    PSBool,
    PSByteArray,
    PSDateTime,
    PSInt,
    PSNoteProperty,
    PSObject,
    PSString,
)

from emulators.winrm.backend import canonical_key
from emulators.winrm.binder import CmdletSpec, Invocation, Param
from emulators.winrm.cmdlets.registry import path_not_found
from emulators.winrm.psobjects import registry_key_object

CERT_PROVIDER = "Microsoft.PowerShell.Security\\Certificate::"
CERTIFICATE_TYPES = [
    "System.Security.Cryptography.X509Certificates.X509Certificate2",
    "System.Security.Cryptography.X509Certificates.X509Certificate",
    "System.Object",
]
LOCATION = "LocalMachine"


def _object(type_names: list[str], adapted: dict[str, Any], to_string: str) -> PSObject:
    obj = PSObject()
    obj.PSObject.type_names = type_names
    for name, value in adapted.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = to_string
    return obj


def _date(value: datetime.datetime) -> PSDateTime:
    return PSDateTime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, tzinfo=value.tzinfo
    )


def _shown(value: datetime.datetime) -> str:
    """A date as .NET's en-US ToString writes it (the node's clock is UTC: the twin's choice)."""
    hour = value.hour % 12 or 12
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02}:{value.second:02} " + (
        "AM" if value.hour < 12 else "PM"
    )


def certificate_text(cert: dict[str, Any]) -> str:
    """X509Certificate2.ToString(): the sections .NET writes, [Thumbprint] last."""
    sections = (
        ("Subject", cert["subject"]),
        ("Issuer", cert["issuer"]),
        ("Serial Number", cert["serial_number"]),
        ("Not Before", _shown(cert["not_before"])),
        ("Not After", _shown(cert["not_after"])),
        ("Thumbprint", cert["thumbprint"]),
    )
    return "".join(f"[{title}]\r\n  {value}\r\n\r\n" for title, value in sections)


def certificate_object(cert: dict[str, Any], store: str) -> PSObject:
    """A certificate as Get-Item/Get-ChildItem on ``Cert:`` write it (``cert``: what
    emulators/winrm/hardening.py describe_certificate reports)."""
    obj = _object(
        CERTIFICATE_TYPES,
        {
            "Archived": PSBool(False),
            "FriendlyName": PSString(""),
            "NotAfter": _date(cert["not_after"]),
            "NotBefore": _date(cert["not_before"]),
            "HasPrivateKey": PSBool(False),
            "PrivateKey": None,
            "RawData": PSByteArray(cert["der"]),
            "SerialNumber": PSString(cert["serial_number"]),
            "Thumbprint": PSString(cert["thumbprint"]),
            "Version": PSInt(3),
            "Issuer": PSString(cert["issuer"]),
            "Subject": PSString(cert["subject"]),
        },
        certificate_text(cert),
    )
    parent = f"{CERT_PROVIDER}{LOCATION}\\{store}"
    for name, value in (
        ("PSPath", PSString(f"{parent}\\{cert['thumbprint']}")),
        ("PSParentPath", PSString(parent)),
        ("PSChildName", PSString(cert["thumbprint"])),
        ("PSDrive", _object(["System.Management.Automation.PSDriveInfo", "System.Object"], {}, "Cert")),
        (
            "PSProvider",
            _object(
                ["System.Management.Automation.ProviderInfo", "System.Object"],
                {"Name": PSString("Certificate")},
                "Microsoft.PowerShell.Security\\Certificate",
            ),
        ),
        ("PSIsContainer", PSBool(False)),
        ("DnsNameList", []),
        ("EnhancedKeyUsageList", []),
        ("SendAsTrustedIssuer", PSBool(False)),
    ):
        obj.PSObject.extended_properties.append(PSNoteProperty(name, value))
    return obj


def store_object(store: str) -> PSObject:
    """Get-Item of a store path: an X509Store."""
    return _object(
        ["System.Security.Cryptography.X509Certificates.X509Store", "System.Object"],
        {"Name": PSString(store), "Location": PSString(LOCATION)},
        "System.Security.Cryptography.X509Certificates.X509Store",
    )


def parse_cert_path(path: str) -> list[str] | None:
    """``Cert:\\LocalMachine\\Root\\<thumbprint>`` (or ``cert:LocalMachine\\root``, or the provider path)
    -> ["LocalMachine", "Root", "<thumbprint>"] (as many parts as given); None if not a Cert: path."""
    p = path.strip().replace("/", "\\")
    lower = p.lower()
    for prefix in (CERT_PROVIDER.lower(), "certificate::", "cert:"):
        if lower.startswith(prefix):
            return [part for part in p[len(prefix) :].split("\\") if part]
    return None


def _cert_items(inv: Invocation, parts: list[str], literal: bool) -> list[PSObject] | None:
    """The items a Cert: path names (wildcards in the last part unless ``literal``); None: no such path."""
    if not parts:
        return [_object(["Microsoft.PowerShell.Commands.X509StoreLocation", "System.Object"], {}, LOCATION)]

    def matches(name: str, pattern: str) -> bool:
        if literal or not any(ch in pattern for ch in "*?["):
            return name.lower() == pattern.lower()
        return fnmatch.fnmatchcase(name.lower(), pattern.lower())

    if not matches(LOCATION, parts[0]):
        return None
    if len(parts) == 1:
        return [_object(["Microsoft.PowerShell.Commands.X509StoreLocation", "System.Object"], {}, LOCATION)]
    stores = [s for s in inv.backend.store_names() if matches(s, parts[1])]
    if len(parts) == 2:
        return [store_object(s) for s in stores] or None
    if len(parts) > 3 or not stores:
        return None
    found = [
        certificate_object(c, store)
        for store in stores
        for c in inv.backend.certificates(store) or []
        if matches(c["thumbprint"], parts[2])
    ]
    return found or None


def _targets(args: dict[str, Any]) -> list[tuple[str, bool]]:
    """(path as typed, literal) for -Path/-LiteralPath."""
    if args.get("LiteralPath"):
        return [(p, True) for p in args["LiteralPath"]]
    return [(p, False) for p in args.get("Path") or ["."]]


def get_item(inv: Invocation, args: dict[str, Any]) -> None:
    for typed, literal in _targets(args):
        wildcard = not literal and any(ch in typed for ch in "*?[")
        parts = parse_cert_path(typed)
        if parts is not None:
            items = _cert_items(inv, parts, literal)
            if items is None:
                if not wildcard:
                    inv.error(path_not_found(inv, typed))
                continue
            for item in items:
                inv.emit(item)
            continue
        key = canonical_key(typed)
        if key is not None and inv.backend.key_exists(key):
            stored, _ = inv.backend.read_key(key)
            inv.emit(registry_key_object(stored))
        elif not wildcard:
            inv.error(path_not_found(inv, typed))


def _cert_children(inv: Invocation, parts: list[str], literal: bool) -> list[PSObject] | None:
    """What Get-ChildItem writes for a Cert: path: the stores of the location, the certificates of a store,
    or the certificate itself (a leaf); None: no such path."""
    if len(parts) >= 3:
        return _cert_items(inv, parts, literal)
    if _cert_items(inv, parts, literal) is None:
        return None
    if len(parts) < 2:
        return [store_object(s) for s in inv.backend.store_names()]
    pattern = parts[1].lower()
    stores = [
        s
        for s in inv.backend.store_names()
        if (s.lower() == pattern if literal else fnmatch.fnmatchcase(s.lower(), pattern))
    ]
    return [certificate_object(c, s) for s in stores for c in inv.backend.certificates(s) or []]


def get_child_item(inv: Invocation, args: dict[str, Any]) -> None:
    for typed, literal in _targets(args):
        parts = parse_cert_path(typed)
        if parts is not None:
            items = _cert_children(inv, parts, literal)
            if items is None:
                inv.error(path_not_found(inv, typed))
                continue
            for item in items:
                inv.emit(item)
            continue
        key = canonical_key(typed)
        if key is None or not inv.backend.key_exists(key):
            inv.error(path_not_found(inv, typed))
            continue
        stored, _ = inv.backend.read_key(key)
        for child in inv.backend.subkeys(stored):
            inv.emit(registry_key_object(child))


_ITEM_PARAMS = (
    Param("Path", "strings", (), sets=("Path",), position=0),
    Param("LiteralPath", "strings", ("PSPath", "LP"), sets=("LiteralPath",), mandatory_in=("LiteralPath",)),
    Param("Filter", "string"),
    Param("Include", "strings"),
    Param("Exclude", "strings"),
    Param("Force", "switch"),
    Param("Credential", "object"),
)

CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Get-Item",
        "Microsoft.PowerShell.Commands.GetItemCommand",
        get_item,
        _ITEM_PARAMS,
        default_set="Path",
        aliases=("gi",),
    ),
    CmdletSpec(
        "Get-ChildItem",
        "Microsoft.PowerShell.Commands.GetChildItemCommand",
        get_child_item,
        (*_ITEM_PARAMS, Param("Recurse", "switch", ("s",)), Param("Name", "switch")),
        default_set="Path",
        aliases=("gci", "dir", "ls"),
    ),
)
