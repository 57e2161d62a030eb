"""Get-RemoteAccess: the Remote Access configuration of a node, of which the product reads ``SslCertificate``
(the certificate SSTP presents; docs/rras.md#sstp-certificate-expiry).

A CDXML function of the RemoteAccess module (PS_RemoteAccess); it writes one CIM instance, for a VPN-only
node of the RemoteAccessVpn class (RemoteAccessCommon's properties plus VpnConfiguration) [unverified: the
class a VPN-only node returns and its exact type-name list; Microsoft documents the output as
``CimInstance#RemoteAccessCommon``]. ``SslCertificate`` is an X509Certificate2 in Windows PowerShell (the
documented example shows its ``[Subject] ... [Thumbprint]`` text); PowerShell serializes an
X509Certificate2 as its type names, that text as ToString and the ``RawData`` property alone (the
certificate's DER), which is what the twin sends. The dates in that text are the node's local time in the
session's culture (en-US: pypsrp's default locale). Without a bound certificate the property is null. The
DA-only properties, -ComputerName and -EntrypointName (multi-site) are accepted and change nothing.
"""

from __future__ import annotations

import re
from typing import Any

from psrpcore.types import PSBool, PSByteArray, PSNoteProperty, PSObject, PSString

from emulators.winrm.binder import CmdletSpec, Invocation, Param
from emulators.winrm.tls import NODE_UTC_OFFSET

NAMESPACE = "root/Microsoft/Windows/RemoteAccess"
REMOTE_ACCESS_TYPES = [
    f"Microsoft.Management.Infrastructure.CimInstance#{NAMESPACE}/RemoteAccessVpn",
    f"Microsoft.Management.Infrastructure.CimInstance#{NAMESPACE}/RemoteAccessCommon",
    f"Microsoft.Management.Infrastructure.CimInstance#{NAMESPACE}/RemoteAccessCore",
    "Microsoft.Management.Infrastructure.CimInstance#RemoteAccessVpn",
    "Microsoft.Management.Infrastructure.CimInstance#RemoteAccessCommon",
    "Microsoft.Management.Infrastructure.CimInstance#RemoteAccessCore",
    "Microsoft.Management.Infrastructure.CimInstance",
    "System.Object",
]
X509_TYPES = [
    "System.Security.Cryptography.X509Certificates.X509Certificate2",
    "System.Security.Cryptography.X509Certificates.X509Certificate",
    "System.Object",
]


_CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f]")


def clixml_text(text: str) -> str:
    """``text`` escaped as PowerShell writes a ToString element: ``_x`` as ``_x005F_x`` and control
    characters as ``_xHHHH_`` ([MS-PSRP] 2.2.5.1.1; the serializer of psrpcore leaves ToString unescaped,
    and an XML parser would turn the certificate text's CR LF into LF)."""
    text = re.sub("(?i)_(x)", "_x005F_\\1", text)
    return _CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _object(type_names: list[str], props: dict[str, Any], to_string: str) -> PSObject:
    obj = PSObject()
    obj.PSObject.type_names = type_names
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = to_string
    return obj


def _local(when: Any) -> str:
    """A DateTime as .NET's ToString() writes it in en-US, in the node's local time."""
    local = when + NODE_UTC_OFFSET
    hour = local.hour % 12 or 12
    return f"{local.month}/{local.day}/{local.year} {hour}:{local:%M:%S} {'AM' if local.hour < 12 else 'PM'}"


def certificate_text(info: dict[str, Any]) -> str:
    """X509Certificate2.ToString(): the text Get-RemoteAccess's documented example shows."""
    parts = [
        ("Subject", info["subject"]),
        ("Issuer", info["issuer"]),
        ("Serial Number", info["serial_number"]),
        ("Not Before", _local(info["not_before"])),
        ("Not After", _local(info["not_after"])),
        ("Thumbprint", info["thumbprint"]),
    ]
    return "".join(f"[{label}]\r\n  {value}\r\n\r\n" for label, value in parts).removesuffix("\r\n")


def certificate_object(info: dict[str, Any]) -> PSObject:
    """An X509Certificate2 as PowerShell serializes it: type names, ToString and RawData."""
    return _object(X509_TYPES, {"RawData": PSByteArray(info["der"])}, clixml_text(certificate_text(info)))


def remote_access_object(state: dict[str, Any]) -> PSObject:
    cert = state["certificate"]
    props: dict[str, Any] = {
        "DAStatus": PSString("Uninstalled"),
        "VpnStatus": PSString("Installed"),
        "VpnS2SStatus": PSString("Uninstalled"),
        "LoadBalancing": PSString("NotConfigured"),
        "SstpProxyStatus": PSString("Uninstalled"),
        "RoutingStatus": PSString("Uninstalled"),
        "InternetInterface": PSString(""),
        "InternalInterface": PSString(""),
        "SslCertificate": certificate_object(cert) if cert else None,
        "UseHttp": PSBool(bool(state["use_http"])),
        # an embedded instance, written as its class name [unverified]
        "VpnConfiguration": PSString("VirtualPrivateNetworkConfiguration"),
        "PSComputerName": None,
    }
    return _object(REMOTE_ACCESS_TYPES, props, "RemoteAccessVpn")


def get_remote_access(inv: Invocation, args: dict[str, Any]) -> None:
    inv.emit(remote_access_object(inv.backend.remote_access()))


CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Get-RemoteAccess",
        "Get-RemoteAccess",
        get_remote_access,
        (
            Param("ComputerName", "string", ("Cn",)),
            Param("EntrypointName", "string", (), position=1),
            Param("CimSession", "object", ("Session",)),
            Param("ThrottleLimit", "uint32"),
            Param("AsJob", "switch"),
        ),
        is_function=True,
    ),
)
