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
Start-Service) and ``pipeline`` (Select-Object and Out-Null). Scripts (``add_script``) are refused with a
twin-specific terminating error: the product sends cmdlets.
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
from emulators.winrm.cmdlets import pipeline, registry, services, vpn
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


for _spec in (*vpn.CMDLETS, *registry.CMDLETS, *services.CMDLETS, *pipeline.CMDLETS):
    _register(_spec)


def is_write_command(name: str) -> bool:
    spec = COMMANDS.get(name.lower())
    canonical = spec.name if spec else name
    return canonical.lower().startswith(tuple(v.lower() for v in WRITE_VERBS))


def canonical_name(name: str) -> str:
    spec = COMMANDS.get(name.lower())
    return spec.name if spec else name


def _not_found(name: str) -> Terminating:
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
    for index, command in enumerate(commands):
        if host.stopped:
            return
        text = str(command.command_text)
        if command.is_script:
            raise Terminating(
                error_record(
                    "The twin runs cmdlets only (add_cmdlet/add_parameter); scripts are not emulated.",
                    "TwinScriptNotSupported",
                    ErrorCategory.NotImplemented,
                    "RuntimeException",
                    target=text[:200],
                )
            )
        spec = COMMANDS.get(text.lower())
        if spec is None:
            raise _not_found(text)
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
