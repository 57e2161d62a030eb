"""The cmdlets an RRAS node answers over PSRP: the command table, and the runner of statements and pipelines.

A pipeline arrives as psrpcore ``Command`` objects (name, ``(name, value)`` parameters, statement
boundaries). ``run_pipeline`` looks each command up in ``COMMANDS`` (names and aliases, case-insensitive),
binds its parameters the way PowerShell does (``emulators.winrm.binder``) and runs it over the backend;
the output of one command is the input of the next.

Errors follow PowerShell's split (docs/rras.md#errors-and-had_errors): binding failures, unknown commands and
``-ErrorAction Stop`` raise ``Terminating`` (the pipeline ends Failed, pypsrp sets ``had_errors``); everything
else is a non-terminating error record on the error stream (pipeline Completed).

Supported, one module per area: ``vpn`` (Get-VpnServerConfiguration, alias Get-VpnServerIPsecConfiguration,
Set-VpnServerConfiguration), ``registry`` (Get-ItemProperty, New-ItemProperty, Set-ItemProperty,
Remove-ItemProperty, New-Item for registry keys), ``services`` (Get-Service, Restart-Service, Stop-Service,
Start-Service), ``pipeline`` (Select-Object and Out-Null), ``remoteaccess``
(Get-RemoteAccessConnectionStatistics) and ``computer`` (Restart-Computer, Get-CimInstance for
Win32_OperatingSystem) and ``remoteaccess_config`` (Get-RemoteAccess), ``certificates`` (Get-Item and
Get-ChildItem on Cert: and registry paths) and ``vpnauth`` (Get-/Set-VpnAuthProtocol). Scripts
(``add_script``) are refused with a twin-specific terminating error (the product sends cmdlets), except the
few fixed texts the twin knows (``SCRIPTS``); ``netsh`` runs as a native application (``APPLICATIONS``):
emulators/winrm/cmdlets/external.py. In a shell of a JEA session configuration (the host's ``jea``), that
configuration admits and binds each command instead (emulators/winrm/jea.py).
"""

from __future__ import annotations

from typing import Any

from psrpcore.types import ErrorCategory

from emulators.winrm.backend import RrasBackend
from emulators.winrm.binder import (
    CmdletSpec,
    Invocation,
    Param,
    PipelineHost,
    Terminating,
    bind,
    error_record,
)
from emulators.winrm.cmdlets import (
    certificates,
    computer,
    netsh,
    pipeline,
    registry,
    remoteaccess,
    remoteaccess_config,
    services,
    vpn,
    vpnauth,
)
from emulators.winrm.cmdlets.external import application_spec, bind_script, native_arguments, normalise
from emulators.winrm.cmdlets.vpn import _set_vpn

__all__ = [
    "COMMANDS",
    "CmdletSpec",
    "Invocation",
    "Param",
    "PipelineHost",
    "Terminating",
    "bind",
    "canonical_name",
    "error_record",
    "is_write_command",
    "run_pipeline",
    "run_statement",
]

WRITE_VERBS = ("Set-", "New-", "Remove-", "Restart-", "Stop-", "Start-")

COMMANDS: dict[str, CmdletSpec] = {}


def _register(spec: CmdletSpec) -> None:
    for name in (spec.name, *spec.aliases):
        COMMANDS[name.lower()] = spec


for _spec in (
    *vpn.CMDLETS,
    *registry.CMDLETS,
    *services.CMDLETS,
    *pipeline.CMDLETS,
    *remoteaccess.CMDLETS,
    *computer.CMDLETS,
    *remoteaccess_config.CMDLETS,
    *certificates.CMDLETS,
    *vpnauth.CMDLETS,
):
    _register(_spec)

# What is not a cmdlet (emulators/winrm/cmdlets/external.py): the script texts the twin knows, by text, and
# the native applications, by name; the names the request log counts as writes.
SCRIPTS = {script.text: script for script in vpnauth.SCRIPTS}
APPLICATIONS = {n.lower(): application_spec(a) for a in netsh.APPLICATIONS for n in (a.name, *a.aliases)}
_WRITING = {s.spec.name.lower() for s in SCRIPTS.values() if s.write} | {
    a.name.lower() for a in netsh.APPLICATIONS if a.write
}


def is_write_command(name: str) -> bool:
    spec = COMMANDS.get(name.lower())
    canonical = spec.name if spec else name
    if canonical_name(name).lower() in _WRITING:
        return True
    return canonical.lower().startswith(tuple(v.lower() for v in WRITE_VERBS))


def canonical_name(name: str) -> str:
    spec = COMMANDS.get(name.lower()) or APPLICATIONS.get(name.lower())
    script = SCRIPTS.get(normalise(name)) if spec is None else None
    return spec.name if spec else script.spec.name if script else name


def command_not_found(name: str) -> Terminating:
    """PowerShell's record for a name that is no command (what a JEA session answers for a hidden one too)."""
    return Terminating(
        error_record(
            f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or "
            "operable program. "
            "Check the spelling of the name, or if a path was included, verify that the path is correct and "
            "try again.",
            "CommandNotFoundException",
            ErrorCategory.ObjectNotFound,
            "CommandNotFoundException",
            target=name,
        )
    )


def run_statement(
    backend: RrasBackend, host: PipelineHost, commands: list[Any], pipe_input: list[Any]
) -> None:
    """One statement: ``cmd1 | cmd2 | ...``; output of each command is the input of the next."""
    data = list(pipe_input)
    # a session of a JEA configuration (emulators/winrm/jea.py): only what its role allows, as it binds it
    jea = getattr(host, "jea", None)
    for index, command in enumerate(commands):
        if host.stopped:
            return
        text = str(command.command_text)
        script = SCRIPTS.get(normalise(text)) if command.is_script and jea is None else None
        if command.is_script and script is None and jea is None:
            raise Terminating(
                error_record(
                    "The twin runs cmdlets only (add_cmdlet/add_parameter); scripts are not emulated.",
                    "TwinScriptNotSupported",
                    ErrorCategory.NotImplemented,
                    "RuntimeException",
                    target=text[:200],
                )
            )
        if jea is not None:
            spec, args, parameter_set = jea.admit(command)
        elif script is not None:  # a script text the twin knows, its param() block bound
            spec, args, parameter_set = script.spec, bind_script(script, list(command.parameters)), ""
        elif text.lower() in APPLICATIONS:  # a native application: its arguments as strings
            spec = APPLICATIONS[text.lower()]
            args, parameter_set = {"Arguments": native_arguments(list(command.parameters))}, ""
        else:
            found = COMMANDS.get(text.lower())
            if found is None:
                raise command_not_found(text)
            spec = found
            args, parameter_set = bind(spec, list(command.parameters))
        last = index == len(commands) - 1
        inv = Invocation(
            backend=backend,
            host=host,
            spec=spec,
            pipe_input=data,
            output=None if last else [],
            error_action=str(args.get("ErrorAction", "Continue")),
        )
        if spec.handler is _set_vpn:
            args["__set__"] = parameter_set
        spec.handler(inv, args)
        data = inv.output or []


def run_pipeline(
    backend: RrasBackend, host: PipelineHost, commands: list[Any], pipe_input: list[Any]
) -> None:
    """Every statement in turn (``add_statement`` boundaries); a terminating error ends the pipeline."""
    statement: list[Any] = []
    for command in commands:
        statement.append(command)
        if command.end_of_statement:
            run_statement(backend, host, statement, pipe_input)
            statement = []
    if statement:
        run_statement(backend, host, statement, pipe_input)
