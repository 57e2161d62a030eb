"""Get-RemoteAccessConnectionStatistics: the VPN connections an RRAS node has now.

A CDXML function of the RemoteAccess module (PS_RemoteAccessConnectionStatistics). Without a start or end
date (the ActiveStatistics parameter set) it writes one RemoteAccessMonitoringConnection CIM instance per
active connection, and nothing when there is none (docs/rras.md#draining-before-a-restart). The connections
are the backend's simulated clients (emulators/winrm/sessions.py); with RemoteAccess not running there are
none. The AccountingStatistics set (historical connections from inbox accounting) is not emulated, nor is
the ResourceName or RoutingDomain filter (the twin answers with every connection).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psrpcore.types import ErrorCategory, PSDateTime, PSNoteProperty, PSObject, PSString, PSUInt, PSUInt64

from emulators.winrm.binder import CmdletSpec, Invocation, Param, Terminating, error_record
from emulators.winrm.sessions import VpnClient

CLASS = "RemoteAccessMonitoringConnection"
NAMESPACE = "root/Microsoft/Windows/RemoteAccess"
# The CIM instance's type names, as for the other RemoteAccess CIM classes (its parent class included)
# [unverified: the exact list].
CONNECTION_TYPES = [
    f"Microsoft.Management.Infrastructure.CimInstance#{NAMESPACE}/{CLASS}",
    f"Microsoft.Management.Infrastructure.CimInstance#{NAMESPACE}/RemoteAccessConnection",
    f"Microsoft.Management.Infrastructure.CimInstance#{CLASS}",
    "Microsoft.Management.Infrastructure.CimInstance#RemoteAccessConnection",
    "Microsoft.Management.Infrastructure.CimInstance",
    "System.Object",
]


def connection_object(client: VpnClient, hostname: str) -> PSObject:
    """One active connection: the properties of RemoteAccessMonitoringConnection (the values are the
    twin's: an Always On VPN user tunnel over IKEv2 with EAP-TLS)."""
    seconds = max(0, int((datetime.now(UTC) - client.started).total_seconds()))
    props: dict[str, Any] = {
        "ClientIPv4Address": PSString(client.address),
        "ClientIPv6Address": PSString(""),
        "HostName": PSString(hostname),
        "ClientExternalAddress": PSString(client.external),
        "TunnelType": PSString("IKEv2"),
        "TransitionTechnology": PSString(""),
        "ConnectionStartTime": PSDateTime(client.started),
        "ConnectionDuration": PSUInt(seconds),
        "TotalBytesIn": PSUInt64(4096 * (client.number + seconds)),
        "TotalBytesOut": PSUInt64(8192 * (client.number + seconds)),
        "ConnectionType": PSString("Vpn"),
        "HealthStatus": PSString("Healthy"),
        "AuthMethod": PSString("Eap Tls"),
        "UserActivityState": PSString("Active"),
        "Bandwidth": PSUInt(0),
        "UserName": [PSString(client.user)],
        "RoutingDomain": PSString(""),
        "PSComputerName": None,
    }
    obj = PSObject()
    obj.PSObject.type_names = CONNECTION_TYPES
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = CLASS
    return obj


def get_connection_statistics(inv: Invocation, args: dict[str, Any]) -> None:
    if "StartDateTime" in args or "EndDateTime" in args:
        raise Terminating(
            error_record(
                "The twin emulates active connections only; accounting statistics (-StartDateTime, "
                "-EndDateTime) are not emulated.",
                "TwinAccountingNotSupported",
                ErrorCategory.NotImplemented,
                "RuntimeException",
                activity=inv.spec.name,
            )
        )
    for client in inv.backend.vpn_clients():
        inv.emit(connection_object(client, inv.backend.hostname))


_CDXML_COMMON = (
    Param("CimSession", "object", ("Session",)),
    Param("ThrottleLimit", "uint32"),
    Param("AsJob", "switch"),
)

CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Get-RemoteAccessConnectionStatistics",
        "Get-RemoteAccessConnectionStatistics",
        get_connection_statistics,
        (
            Param("ComputerName", "string", ("Cn",)),
            Param("ResourceName", "string", sets=("ActiveStatistics",)),
            Param("RoutingDomain", "string", sets=("ActiveStatistics",)),
            Param("StartDateTime", "object", sets=("AccountingStatistics",), position=0),
            Param("EndDateTime", "object", sets=("AccountingStatistics",), position=1),
            *_CDXML_COMMON,
        ),
        default_set="ActiveStatistics",
        is_function=True,
    ),
)
