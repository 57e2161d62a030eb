"""The service cmdlets: Get-Service, Restart-Service, Stop-Service and Start-Service.

Names and display names take wildcards; an unknown name is PowerShell's non-terminating not-found error.
Services are written as a real node's ServiceController arrives over remoting, in the node's
``readback_form`` (emulators/winrm/psobjects.py).
Starting, stopping and restarting (with dependents, warnings while a slow service is pending, and the
errors of a failed start) are the backend's rules; these cmdlets bind, resolve and report.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from psrpcore.types import ErrorCategory, ErrorRecord

from emulators.winrm.backend import ServiceError
from emulators.winrm.binder import CmdletSpec, Invocation, Param, error_record
from emulators.winrm.psobjects import service_object

_SERVICE_PARAMS = (
    Param("Name", "strings", ("ServiceName",), sets=("Default",), mandatory_in=("Default",), position=0),
    Param("DisplayName", "strings", (), sets=("DisplayName",), mandatory_in=("DisplayName",)),
    Param("InputObject", "object", (), sets=("InputObject",), mandatory_in=("InputObject",)),
    Param("PassThru", "switch"),
    Param("Include", "strings"),
    Param("Exclude", "strings"),
)


def _services(inv: Invocation, args: dict[str, Any]) -> list[str]:
    """Resolve -Name/-DisplayName (wildcards allowed) to service names, writing PowerShell's not-found
    errors."""
    names = inv.backend.service_names()
    if "DisplayName" in args:
        by_display = {n: inv.backend.service_info(n)["display_name"] for n in names}
        return _matching(
            inv, by_display, args["DisplayName"], "display name", "NoServiceFoundForGivenDisplayName"
        )
    return _matching(
        inv, {n: n for n in names}, args.get("Name") or ["*"], "service name", "NoServiceFoundForGivenName"
    )


def _matching(
    inv: Invocation, keyed: dict[str, str], patterns: list[str], what: str, error_id: str
) -> list[str]:
    """The services whose key (name or display name) matches one of ``patterns``, in pattern order; a
    pattern without wildcards that matches nothing is a non-terminating error."""
    found: list[str] = []
    for pattern in patterns:
        hits = [n for n, key in keyed.items() if fnmatch.fnmatchcase(key.lower(), pattern.lower())]
        if not hits and not any(ch in pattern for ch in "*?["):
            inv.error(
                error_record(
                    f"Cannot find any service with {what} '{pattern}'.",
                    f"{error_id},{inv.spec.type_name}",
                    ErrorCategory.ObjectNotFound,
                    "ServiceCommandException",
                    activity=inv.spec.name,
                    target=pattern,
                )
            )
        found.extend(h for h in hits if h not in found)
    return found


def _service_error(inv: Invocation, exc: ServiceError) -> ErrorRecord:
    category = ErrorCategory.OpenError if exc.kind == "StartServiceFailed" else ErrorCategory.InvalidOperation
    if exc.kind == "ServiceHasDependentServices":
        category = ErrorCategory.InvalidOperation
    record = error_record(
        exc.message,
        f"{exc.kind},{inv.spec.type_name}",
        category,
        "ServiceCommandException",
        activity=inv.spec.name,
        target_name=exc.service,
        target_type="ServiceController",
    )
    return record


def get_service(inv: Invocation, args: dict[str, Any]) -> None:
    for name in _services(inv, args):
        inv.emit(service_object(inv.backend.service_info(name), inv.backend.readback_form))


def restart_service(inv: Invocation, args: dict[str, Any]) -> None:
    _service_action(inv, args, "restart")


def stop_service(inv: Invocation, args: dict[str, Any]) -> None:
    _service_action(inv, args, "stop")


def start_service(inv: Invocation, args: dict[str, Any]) -> None:
    _service_action(inv, args, "start")


def _service_action(inv: Invocation, args: dict[str, Any], action: str) -> None:
    for name in _services(inv, args):
        if inv.host.stopped:
            return
        if args.get("WhatIf"):
            continue
        try:
            if action == "restart":
                inv.backend.restart_service(name, bool(args.get("Force")), inv.warn)
            elif action == "stop":
                inv.backend.stop_service(name, bool(args.get("Force")))
            else:
                inv.backend.start_service(name, inv.warn)
        except ServiceError as exc:
            inv.error(_service_error(inv, exc))
            continue
        if args.get("PassThru"):
            inv.emit(service_object(inv.backend.service_info(name), inv.backend.readback_form))


CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Get-Service",
        "Microsoft.PowerShell.Commands.GetServiceCommand",
        get_service,
        (
            Param("Name", "strings", ("ServiceName",), sets=("Default",), position=0),
            Param("DisplayName", "strings", (), sets=("DisplayName",), mandatory_in=("DisplayName",)),
            Param("InputObject", "object", (), sets=("InputObject",)),
            Param("DependentServices", "switch", ("DS",)),
            Param("RequiredServices", "switch", ("SDO", "ServicesDependedOn")),
            Param("Include", "strings"),
            Param("Exclude", "strings"),
            Param("ComputerName", "strings", ("Cn",)),
        ),
        aliases=("gsv",),
    ),
    CmdletSpec(
        "Restart-Service",
        "Microsoft.PowerShell.Commands.RestartServiceCommand",
        restart_service,
        (*_SERVICE_PARAMS, Param("Force", "switch")),
        should_process=True,
    ),
    CmdletSpec(
        "Stop-Service",
        "Microsoft.PowerShell.Commands.StopServiceCommand",
        stop_service,
        (*_SERVICE_PARAMS, Param("Force", "switch"), Param("NoWait", "switch")),
        should_process=True,
        aliases=("spsv",),
    ),
    CmdletSpec(
        "Start-Service",
        "Microsoft.PowerShell.Commands.StartServiceCommand",
        start_service,
        _SERVICE_PARAMS,
        should_process=True,
        aliases=("sasv",),
    ),
)
