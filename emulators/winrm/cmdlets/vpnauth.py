"""Get-VpnAuthProtocol and Set-VpnAuthProtocol (RemoteAccess, CDXML over the RAMgmtPSProvider class
PS_VpnAuthProtocol), and the one script the twin knows: the provider's setting of the accepted root.

Set-VpnAuthProtocol's ``-RootCertificateNameToAccept`` is an X509Certificate2 and does not take pipeline
input (Microsoft Learn), so a certificate from the node's own store reaches it only through a variable: the
provider sends ``ROOT_CERTIFICATE_SCRIPT`` with the thumbprint as a bound parameter. Every Set warns that the
change waits for a RemoteAccess restart (Microsoft's example 1 shows the warning). Get answers the accepted
root as the certificates of the Root store with the stored subject name (emulators/winrm/hardening.py).
What is unconfirmed (the wire form of the property, conversions of other values, the error shapes):
docs/rras.md#accepted-root-certificate.
"""

from __future__ import annotations

import re
from typing import Any

from psrpcore.types import ErrorCategory, ErrorRecord, PSNoteProperty, PSObject, PSString

from emulators.winrm.binder import CmdletSpec, Invocation, Param, Terminating, error_record
from emulators.winrm.cmdlets.certificates import certificate_object
from emulators.winrm.cmdlets.external import ScriptSpec, normalise
from emulators.winrm.hardening import TUNNEL_AUTH_PROTOCOLS, USER_AUTH_PROTOCOLS, der_of, describe_certificate

VPN_AUTH_TYPES = [
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/Microsoft/Windows/RemoteAccess/VpnAuthProtocol",
    "Microsoft.Management.Infrastructure.CimInstance#VpnAuthProtocol",
    "Microsoft.Management.Infrastructure.CimInstance",
    "System.Object",
]
RESTART_WARNING = "Configuration parameters will be modified after the Remote Access service is restarted."
X509_TYPE = "System.Security.Cryptography.X509Certificates.X509Certificate2"

#: The provider's script (providers/rras/hardening.py sends this text; the thumbprint is a bound parameter).
ROOT_CERTIFICATE_SCRIPT = normalise(
    r"""
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9A-F]{40}$')]
    [string] $Thumbprint
)
$certificate = Get-Item -LiteralPath ('Cert:\LocalMachine\Root\' + $Thumbprint) -ErrorAction Stop
Set-VpnAuthProtocol -RootCertificateNameToAccept $certificate -PassThru -ErrorAction Stop
"""
)
THUMBPRINT_PATTERN = "^[0-9A-F]{40}$"


def vpn_auth_object(inv: Invocation) -> PSObject:
    """Get-VpnAuthProtocol's CIM instance; the accepted root a certificate, several, or null."""
    state = inv.backend.vpn_auth()
    roots = [certificate_object(c, "Root") for c in state["accepted_roots"]]
    obj = PSObject()
    obj.PSObject.type_names = VPN_AUTH_TYPES
    for name, value in (
        ("UserAuthProtocolAccepted", [PSString(p) for p in state["UserAuthProtocolAccepted"]]),
        ("TunnelAuthProtocolsAdvertised", PSString(state["TunnelAuthProtocolsAdvertised"])),
        ("RootCertificateNameToAccept", (roots[0] if len(roots) == 1 else roots) or None),
        ("CertificateAdvertised", None),
        (
            "CertificateEKUsToAccept",
            [PSString(e) for e in state.get("CertificateEKUsToAccept") or []] or None,
        ),
        ("PSComputerName", None),
    ):
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = "VpnAuthProtocol"
    return obj


def get_vpn_auth_protocol(inv: Invocation, args: dict[str, Any]) -> None:
    inv.emit(vpn_auth_object(inv))


def _prop(obj: Any, name: str) -> Any:
    ps = getattr(obj, "PSObject", None)
    if ps is None:
        return None
    for prop in [*ps.adapted_properties, *ps.extended_properties]:
        if prop.name.lower() == name.lower():
            return prop.get_value(obj)
    return None


def _transformation_error(inv: Invocation, parameter: str, value: Any, inner: str) -> Terminating:
    return Terminating(
        error_record(
            f"Cannot process argument transformation on parameter '{parameter}'. Cannot convert value "
            f'"{value}" to type "{X509_TYPE}". Error: "{inner}"',
            f"ParameterArgumentTransformationError,{inv.spec.name}",
            ErrorCategory.InvalidData,
            "ParameterBindingArgumentTransformationException",
            activity=inv.spec.name,
        )
    )


def _certificate(inv: Invocation, parameter: str, value: Any) -> dict[str, Any]:
    """What PowerShell makes an X509Certificate2 of: a certificate object (its RawData, as a deserialized
    certificate is rehydrated) or a byte[] (the constructor taking the DER)."""
    raw = _prop(value, "RawData") if isinstance(value, PSObject) and not isinstance(value, bytes) else None
    data = raw if raw is not None else value
    if isinstance(data, bytes | bytearray):
        try:
            return describe_certificate(der_of(bytes(data)))
        except ValueError:
            raise _transformation_error(
                inv, parameter, "System.Byte[]", "Cannot find the requested object."
            ) from None
    raise _transformation_error(inv, parameter, value, "The system cannot find the file specified.")


def _validate_set(inv: Invocation, parameter: str, values: list[str], allowed: tuple[str, ...]) -> list[str]:
    out = []
    for value in values:
        match = next((a for a in allowed if a.lower() == str(value).lower()), None)
        if match is None:
            raise Terminating(
                error_record(
                    f"Cannot validate argument on parameter '{parameter}'. The argument \"{value}\" does not "
                    f'belong to the set "{",".join(allowed)}" specified by the ValidateSet attribute. Supply '
                    "an argument that is in the set and then try the command again.",
                    f"ParameterArgumentValidationError,{inv.spec.name}",
                    ErrorCategory.InvalidData,
                    "ParameterBindingValidationException",
                    activity=inv.spec.name,
                )
            )
        out.append(match)
    return out


def apply_settings(inv: Invocation, args: dict[str, Any]) -> None:
    """Store what Set-VpnAuthProtocol was given, warn about the restart, write the object with -PassThru."""
    changes: dict[str, Any] = {}
    if "UserAuthProtocolAccepted" in args:
        changes["UserAuthProtocolAccepted"] = _validate_set(
            inv, "UserAuthProtocolAccepted", list(args["UserAuthProtocolAccepted"] or []), USER_AUTH_PROTOCOLS
        )
    if "TunnelAuthProtocolsAdvertised" in args:
        (changes["TunnelAuthProtocolsAdvertised"],) = _validate_set(
            inv,
            "TunnelAuthProtocolsAdvertised",
            [args["TunnelAuthProtocolsAdvertised"]],
            TUNNEL_AUTH_PROTOCOLS,
        )
    if "CertificateEKUsToAccept" in args:
        changes["CertificateEKUsToAccept"] = list(args["CertificateEKUsToAccept"] or [])
    if "RootCertificateNameToAccept" in args:
        value = args["RootCertificateNameToAccept"]
        changes["RootCertificateNameToAccept"] = (
            None if value is None else _certificate(inv, "RootCertificateNameToAccept", value)
        )
    if args.get("WhatIf"):
        return
    inv.backend.set_vpn_auth(changes)
    inv.warn(RESTART_WARNING)
    if args.get("PassThru"):
        inv.emit(vpn_auth_object(inv))


def set_vpn_auth_protocol(inv: Invocation, args: dict[str, Any]) -> None:
    apply_settings(inv, args)


def _get_item_not_found(path: str) -> ErrorRecord:
    return error_record(
        f"Cannot find path '{path}' because it does not exist.",
        "PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand",
        ErrorCategory.ObjectNotFound,
        "ItemNotFoundException",
        activity="Get-Item",
        target=path,
    )


def set_root_certificate_script(inv: Invocation, args: dict[str, Any]) -> None:
    """ROOT_CERTIFICATE_SCRIPT: Get-Item of the Root store's certificate (-ErrorAction Stop: a missing one
    ends the script, Failed), then Set-VpnAuthProtocol -RootCertificateNameToAccept it -PassThru."""
    thumbprint = str(args["Thumbprint"])
    if not re.fullmatch(THUMBPRINT_PATTERN, thumbprint, re.IGNORECASE):  # ValidatePattern ignores case
        raise Terminating(
            error_record(
                f"Cannot validate argument on parameter 'Thumbprint'. The argument \"{thumbprint}\" does not "
                f'match the "{THUMBPRINT_PATTERN}" pattern. Supply an argument that matches '
                f'"{THUMBPRINT_PATTERN}" and try the command again.',
                "ParameterArgumentValidationError",
                ErrorCategory.InvalidData,
                "ParameterBindingValidationException",
            )
        )
    path = "Cert:\\LocalMachine\\Root\\" + thumbprint
    cert = inv.backend.certificate("Root", thumbprint)
    if cert is None:
        raise Terminating(_get_item_not_found(path))
    inv.backend.set_vpn_auth({"RootCertificateNameToAccept": cert})
    inv.warn(RESTART_WARNING)
    inv.emit(vpn_auth_object(inv))


_CDXML_COMMON = (
    Param("CimSession", "object", ("Session",)),
    Param("ThrottleLimit", "uint32"),
    Param("AsJob", "switch"),
)

CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Get-VpnAuthProtocol", "Get-VpnAuthProtocol", get_vpn_auth_protocol, _CDXML_COMMON, is_function=True
    ),
    CmdletSpec(
        "Set-VpnAuthProtocol",
        "Set-VpnAuthProtocol",
        set_vpn_auth_protocol,
        (
            Param("UserAuthProtocolAccepted", "strings"),
            Param("TunnelAuthProtocolsAdvertised", "string"),
            Param("RootCertificateNameToAccept", "object"),
            Param("CertificateAdvertised", "object"),
            Param("SharedSecret", "string"),
            Param("PassThru", "switch"),
            Param("CertificateEKUsToAccept", "strings"),
            *_CDXML_COMMON,
        ),
        is_function=True,
        should_process=True,
    ),
)

SCRIPTS: tuple[ScriptSpec, ...] = (
    ScriptSpec(
        ROOT_CERTIFICATE_SCRIPT,
        CmdletSpec(
            "Set-VpnAuthProtocol (root certificate script)",
            "",
            set_root_certificate_script,
            (Param("Thumbprint", "string", mandatory_in=("Default",), position=0),),
        ),
        write=True,
    ),
)
