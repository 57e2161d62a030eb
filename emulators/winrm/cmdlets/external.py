"""Commands that are not cmdlets: the few fixed script texts the twin knows, and native applications.

Scripts. The twin does not parse PowerShell. A script (``add_script``) is run only when its text is one the
twin knows (``ScriptSpec.text``, compared after normalising line ends and trailing blanks): then its
``param()`` block is bound like a function's (the values arrive as bound parameters, never in the text) and
the twin does what the script says. Any other script is refused (emulators/winrm/cmdlets/__init__.py). A
script's binding errors carry no command name in their FullyQualifiedErrorId (a script block has none).

Native applications (``netsh``). PowerShell runs an application found on the path with its arguments as
strings: a positional value as its text (a list as several arguments, ``True`` as "True"), a named
parameter as ``-name:value`` and a switch as ``-name`` (unconfirmed: docs/rras.md#ikev2-connection-timeouts).
What the application prints comes back as one string per line on the output stream; a failure is only an
exit code (``$LASTEXITCODE``, the backend's ``last_exit_code``), never an error record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psrpcore.types import PSString

from emulators.winrm.binder import CmdletSpec, Invocation, Terminating, bind


@dataclass(frozen=True)
class ScriptSpec:
    #: The script's text (normalised with ``normalise``).
    text: str
    #: Its name in the request log, its param() block and what it does.
    spec: CmdletSpec
    #: Whether it changes the node (the request log's "write").
    write: bool


def normalise(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    return "\n".join(line.rstrip() for line in lines)


def bind_script(script: ScriptSpec, parameters: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """Bind a known script's parameters (its param() block); errors name no command."""
    try:
        args, _ = bind(script.spec, parameters)
    except Terminating as exc:
        fqid = str(exc.record.FullyQualifiedErrorId or "")
        exc.record.FullyQualifiedErrorId = fqid.split(",", 1)[0]
        raise
    return args


@dataclass(frozen=True)
class Application:
    """A native application: ``run(backend, argv)`` -> (lines printed, exit code)."""

    name: str
    aliases: tuple[str, ...]
    run: Callable[[Any, list[str]], tuple[list[str], int]]
    #: The twin cannot tell what an application does from its name: the request log counts every run of
    #: one that can change the node as a write.
    write: bool = True


def native_arguments(parameters: list[tuple[str | None, Any]]) -> list[str]:
    """The argument strings PowerShell hands a native application for these bound parameters."""
    argv: list[str] = []
    for name, value in parameters:
        if name is None:
            items = value if isinstance(value, list | tuple) else [value]
            argv += ["" if v is None else str(v) for v in items]
        elif value is None:
            argv.append(f"-{name.lstrip('-')}")
        else:
            argv.append(f"-{name.lstrip('-')}:{value}")
    return argv


def application_spec(app: Application) -> CmdletSpec:
    """The spec a run of ``app`` is logged and invoked under: its handler takes ``{"Arguments": argv}``."""

    def handler(inv: Invocation, args: dict[str, Any]) -> None:
        lines, code = app.run(inv.backend, list(args.get("Arguments") or []))
        for line in lines:
            inv.emit(PSString(line))
        inv.backend.last_exit_code = code

    return CmdletSpec(app.name, app.name, handler, (), aliases=app.aliases)
