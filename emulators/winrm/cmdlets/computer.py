"""The computer itself: Restart-Computer, and Get-CimInstance for Win32_OperatingSystem (its boot time).

Restart-Computer on the local computer calls Win32_OperatingSystem's Win32Shutdown (reboot, forced with
``-Force``) and writes nothing: the pipeline completes, then Windows shuts down and every remoting shell
goes with it (docs/rras.md#rebooting-a-node). The twin answers the same way and reboots the node
``reboot_delay_s`` later (emulators/winrm/sessions.py): shells dropped, services started again with what
is stored, VPN clients dropped, a new boot time. ``-Wait`` is refused for the local computer as PowerShell
refuses it (a non-terminating CannotWaitLocalComputer error, and no restart); ``-Timeout``, ``-For`` or
``-Delay`` without ``-Wait`` is PowerShell's terminating RestartComputerInvalidParameter. Restarting
another computer (``-ComputerName`` naming one) and ``-AsJob`` are not emulated.

Get-CimInstance answers only ``-ClassName Win32_OperatingSystem`` in root/cimv2, whose ``LastBootUpTime``
is how Restart-Computer -Wait itself tells that a computer has rebooted; other classes, queries and
filters are refused with a twin-specific error (the twin cannot know what else a node holds).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psrpcore.types import ErrorCategory, PSDateTime, PSNoteProperty, PSObject, PSString

from emulators.winrm.binder import CmdletSpec, Invocation, Param, Terminating, error_record

LOCAL_NAMES = ("localhost", ".", "127.0.0.1", "::1")
#: Windows Server releases by build, for Win32_OperatingSystem.Caption.
RELEASES = {14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}
#: Win32_OperatingSystem and its CIM parents, by namespace path then by class name [unverified: the list].
OS_CLASSES = (
    "Win32_OperatingSystem",
    "CIM_OperatingSystem",
    "CIM_LogicalElement",
    "CIM_ManagedSystemElement",
)
CIM_OS_TYPES = [
    *(f"Microsoft.Management.Infrastructure.CimInstance#root/cimv2/{c}" for c in OS_CLASSES),
    *(f"Microsoft.Management.Infrastructure.CimInstance#{c}" for c in OS_CLASSES),
    "Microsoft.Management.Infrastructure.CimInstance",
    "System.Object",
]


def _not_emulated(inv: Invocation, what: str) -> Terminating:
    return Terminating(
        error_record(
            f"The twin does not emulate {what}.",
            "TwinNotEmulated",
            ErrorCategory.NotImplemented,
            "RuntimeException",
            activity=inv.spec.name,
        )
    )


def restart_computer(inv: Invocation, args: dict[str, Any]) -> None:
    if not args.get("Wait") and any(k in args for k in ("Timeout", "For", "Delay")):
        raise Terminating(
            error_record(
                "The Timeout, For and Delay parameters can only be used with the Wait parameter.",
                f"RestartComputerInvalidParameter,{inv.spec.type_name}",
                ErrorCategory.InvalidOperation,
                "InvalidOperationException",
                activity=inv.spec.name,
            )
        )
    if args.get("AsJob"):
        raise _not_emulated(inv, "Restart-Computer -AsJob")
    names = args.get("ComputerName") or ["localhost"]
    local = {*LOCAL_NAMES, inv.backend.hostname.lower()}
    others = [n for n in names if n.lower() not in local]
    if others:
        raise _not_emulated(inv, f"restarting another computer ({', '.join(others)})")
    if args.get("Wait"):
        inv.error(
            error_record(
                "Cannot wait for the local computer to restart. The local computer is ignored when the Wait "
                "parameter is specified.",
                f"CannotWaitLocalComputer,{inv.spec.type_name}",
                ErrorCategory.InvalidOperation,
                "InvalidOperationException",
                activity=inv.spec.name,
            )
        )
        return
    if args.get("WhatIf"):
        return
    inv.backend.schedule_reboot()


def os_object(hostname: str, build: int, booted_at: datetime) -> PSObject:
    release = RELEASES.get(build, "")
    props: dict[str, Any] = {
        "CSName": PSString(hostname.upper()),
        "Caption": PSString(f"Microsoft Windows Server {release} Standard".replace("  ", " ")),
        "Version": PSString(f"10.0.{build}"),
        "BuildNumber": PSString(str(build)),
        "OSArchitecture": PSString("64-bit"),
        "Status": PSString("OK"),
        "LastBootUpTime": PSDateTime(booted_at),
        "LocalDateTime": PSDateTime(datetime.now(UTC)),
        "PSComputerName": None,
    }
    obj = PSObject()
    obj.PSObject.type_names = CIM_OS_TYPES
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = "Win32_OperatingSystem"
    return obj


def get_cim_instance(inv: Invocation, args: dict[str, Any]) -> None:
    if "ClassName" not in args:
        raise _not_emulated(inv, "Get-CimInstance -Query, -ResourceUri or -InputObject")
    if args.get("Filter") or args.get("KeyOnly") or args.get("Shallow"):
        raise _not_emulated(inv, "Get-CimInstance -Filter, -KeyOnly or -Shallow")
    namespace = str(args.get("Namespace") or "root/cimv2").replace("\\", "/").lower()
    if namespace != "root/cimv2" or str(args["ClassName"]).lower() != "win32_operatingsystem":
        raise _not_emulated(inv, f"the CIM class {args['ClassName']} in {namespace}")
    backend = inv.backend
    inv.emit(os_object(backend.hostname, backend.os_build, backend.booted_at))


CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Restart-Computer",
        "Microsoft.PowerShell.Commands.RestartComputerCommand",
        restart_computer,
        (
            Param("ComputerName", "strings", ("CN", "__SERVER", "Server", "IPAddress"), position=0),
            Param("Credential", "object", position=1),
            Param("DcomAuthentication", "string", ("Authentication",)),
            Param("Impersonation", "string"),
            Param("WsmanAuthentication", "string", sets=("DefaultSet",)),
            Param("Protocol", "string", sets=("DefaultSet",)),
            Param("Force", "switch", ("f",)),
            Param("Wait", "switch", sets=("DefaultSet",)),
            Param("Timeout", "uint32", ("TimeoutSec",), sets=("DefaultSet",)),
            Param("For", "enum", (), ("Wmi", "WinRM", "PowerShell"), sets=("DefaultSet",)),
            Param("Delay", "uint32", sets=("DefaultSet",)),
            Param("AsJob", "switch", sets=("AsJobSet",)),
            Param("ThrottleLimit", "uint32", sets=("AsJobSet",)),
        ),
        default_set="DefaultSet",
        should_process=True,
    ),
    CmdletSpec(
        "Get-CimInstance",
        "Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand",
        get_cim_instance,
        (
            Param(
                "ClassName",
                "string",
                sets=("ClassNameComputerSet",),
                mandatory_in=("ClassNameComputerSet",),
                position=0,
            ),
            Param("Namespace", "string"),
            Param("Filter", "string"),
            Param("Property", "strings", ("SelectProperties",)),
            Param("KeyOnly", "switch"),
            Param("Shallow", "switch"),
            Param("OperationTimeoutSec", "uint32", ("OT",)),
            Param("ComputerName", "strings", ("CN", "ServerName")),
            Param("CimSession", "object"),
            Param("Query", "string", sets=("QueryComputerSet",), mandatory_in=("QueryComputerSet",)),
            Param("QueryDialect", "string"),
            Param("ResourceUri", "string", sets=("ResourceUriComputerSet",)),
            Param("InputObject", "object", ("CimInstance",), sets=("CimInstanceComputerSet",)),
        ),
        default_set="ClassNameComputerSet",
        aliases=("gcim",),
    ),
)
