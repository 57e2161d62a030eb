"""Just Enough Administration on the WinRM twin: a node serving a restricted session configuration.

A node can serve, besides the default configuration (``Microsoft.PowerShell``, full language, every command),
session configurations built from a folder of JEA files (the project's jea/): ``<name>.pssc`` (the session
configuration file) and the role capability files its RoleDefinitions name, found as
``<folder>/<module>/RoleCapabilities/<role>.psrc`` (JEA's module layout). Both are read with the same reader
as the role test (emulators/winrm/psd1.py), so the twin serves exactly what ships. pypsrp connects to one
with ``RunspacePool(configuration_name=...)``: the shell's resource URI is
``http://schemas.microsoft.com/powershell/<name>`` (emulators/winrm/wsman.py). Facts and sources:
docs/rras.md#just-enough-administration.

In a ``RestrictedRemoteServer`` session (NoLanguage), as Windows does:
- a command neither among the session type's defaults nor made visible by the role is not found:
  CommandNotFoundException "The term 'X' is not recognized ..." (the twin's own record for unknown names);
- a parameter the role does not list (common parameters are always allowed) is not found:
  ``NamedParameterNotFound``; a value outside the role's ValidateSet or not matching its ValidatePattern
  (case-insensitive, as PowerShell matches) is a ParameterBindingValidationException
  ``ParameterArgumentValidationError``. A command with listed parameters is a proxy function of that name
  in JEA, so these records end in ``,<command name>`` [unconfirmed: the FQID suffix of JEA proxies];
- script text with language elements (variables, parentheses, braces, brackets, assignments) is refused
  with the parser's ``ScriptsNotAllowed`` ParseException "The syntax is not supported by this runspace. This
  might be because it is in no-language mode.";
- a FunctionDefinitions function runs its body in full language (Microsoft: not subject to JEA's language
  constraints): the twin runs a body it knows by text (the provider's SET_ROOT_SCRIPT, emulators/winrm/
  cmdlets/vpnauth.py, and ``CLEAR_ROOT_BODY``) and refuses to load a configuration whose function body it
  does not know;
- a VisibleCmdlets entry matches only a cmdlet and a VisibleFunctions entry only a function (the RemoteAccess
  commands are CDXML functions): a misplaced name stays hidden.
A user that no RoleDefinitions group holds gets WSMan's "Access is denied." fault at Create
[unconfirmed: the fault's code and text]; twin users are all members unless ``users`` says otherwise.

Admin route (``admin_route``, per node and for the first node): ``GET /_twin/jea`` the node's configurations;
``PUT /_twin/jea`` ``{"configuration": "AovpnRras", "hide": ["Restart-Service"]}`` narrows one (a
narrower role, as an administrator's edit would make it), ``{"configuration": ..., "reset": true}`` restores
it as loaded.
"""

from __future__ import annotations

import json
import re
import textwrap
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from psrpcore.types import ErrorCategory, PSNoteProperty, PSObject, PSString
from werkzeug.wrappers import Request, Response

from emulators.winrm.binder import COMMON, CmdletSpec, Invocation, Param, Terminating, bind, error_record
from emulators.winrm.cmdlets import COMMANDS, SCRIPTS, command_not_found
from emulators.winrm.cmdlets.external import ScriptSpec, normalise
from emulators.winrm.cmdlets.vpnauth import apply_settings
from emulators.winrm.psd1 import ScriptBlock, get, load

#: The text of the role's Clear-AovpnAcceptedRoot (jea/AovpnRras/RoleCapabilities/AovpnRras.psrc).
CLEAR_ROOT_BODY = normalise(
    "Set-VpnAuthProtocol -RootCertificateNameToAccept $null -PassThru -ErrorAction Stop"
)
#: The commands every RestrictedRemoteServer session has (Microsoft Learn, JEA Session Configurations) that
#: the twin answers; Clear-Host, Exit-PSSession, Get-FormatData, Get-Help, Measure-Object and Out-Default are
#: visible on Windows too, the twin does not emulate them.
RESTRICTED_DEFAULTS = ("Get-Command", "Select-Object")
RESOURCE_PREFIX = "http://schemas.microsoft.com/powershell/"
SCRIPTS_NOT_ALLOWED = (
    "The syntax is not supported by this runspace. This might be because it is in no-language mode."
)
#: What makes a script text more than a command line (NoLanguage allows commands, not the language).
_LANGUAGE = re.compile(r"[$(){}\[\]=;@]")


def _validation_error(command: str, message: str) -> Terminating:
    return Terminating(
        error_record(
            message,
            f"ParameterArgumentValidationError,{command}",
            ErrorCategory.InvalidData,
            "ParameterBindingValidationException",
            activity=command,
            target_name="",
            target_type="",
        )
    )


@dataclass(frozen=True)
class ParameterRule:
    name: str
    validate_set: tuple[str, ...] | None = None
    validate_pattern: str | None = None

    def check(self, command: str, value: Any) -> None:
        """Raise PowerShell's validation error for a value the rule refuses (each element of a list)."""
        if self.validate_set is None and self.validate_pattern is None:
            return
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is None or item == "":
                raise _validation_error(
                    command,
                    f"Cannot validate argument on parameter '{self.name}'. The argument is null or empty. "
                    "Provide an argument that is not null or empty, and then try the command again.",
                )
            text = str(item)
            if self.validate_pattern is not None:  # ValidatePattern overrides ValidateSet (Microsoft Learn)
                if not re.search(self.validate_pattern, text, re.IGNORECASE):
                    raise _validation_error(
                        command,
                        f"Cannot validate argument on parameter '{self.name}'. The argument \"{text}\" does "
                        f'not match the "{self.validate_pattern}" pattern. Supply an argument that matches '
                        f'"{self.validate_pattern}" and try the command again.',
                    )
            elif self.validate_set is not None and text.lower() not in {v.lower() for v in self.validate_set}:
                raise _validation_error(
                    command,
                    f"Cannot validate argument on parameter '{self.name}'. The argument \"{text}\" does not "
                    f'belong to the set "{",".join(self.validate_set)}" specified by the ValidateSet '
                    "attribute. Supply an argument that is in the set and then try the command again.",
                )


@dataclass(frozen=True)
class CommandRule:
    """A visible command: ``parameters`` None when the role lists its name only (every parameter)."""

    name: str
    kind: str  # "cmdlet" | "function"
    parameters: tuple[ParameterRule, ...] | None = None

    def parameter(self, name: str) -> ParameterRule | None:
        return next((p for p in self.parameters or () if p.name.lower() == name.lower()), None)


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return tuple(str(v) for v in items)


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _rule(entry: Any, kind: str) -> CommandRule:
    if isinstance(entry, str):
        return CommandRule(entry, kind)
    if not isinstance(entry, dict) or not isinstance(get(entry, "Name"), str):
        raise ValueError(f"a Visible{kind.title()}s entry must be a name or @{{ Name = ... }}: {entry!r}")
    params = get(entry, "Parameters")
    if params is None:
        return CommandRule(get(entry, "Name"), kind)
    rules = []
    for p in _entries(params):
        if not isinstance(p, dict) or not isinstance(get(p, "Name"), str):
            raise ValueError(f"{get(entry, 'Name')}: a Parameters entry must be @{{ Name = ... }}: {p!r}")
        vs, vp = get(p, "ValidateSet"), get(p, "ValidatePattern")
        rules.append(ParameterRule(get(p, "Name"), _strings(vs) if vs is not None else None, vp))
    return CommandRule(get(entry, "Name"), kind, tuple(rules))


@dataclass(frozen=True)
class FunctionDefinition:
    name: str
    body: str  # normalised and dedented
    script: ScriptSpec  # what the twin runs for it


def _clear_root(inv: Invocation, args: dict[str, Any]) -> None:
    apply_settings(inv, {"RootCertificateNameToAccept": None, "PassThru": True})


def _known_bodies() -> dict[str, ScriptSpec]:
    known = {text: script for text, script in SCRIPTS.items()}
    known[CLEAR_ROOT_BODY] = ScriptSpec(
        CLEAR_ROOT_BODY, CmdletSpec("Clear-AovpnAcceptedRoot", "", _clear_root, ()), write=True
    )
    return known


def function_body(block: ScriptBlock) -> str:
    """A FunctionDefinitions script block's text as the twin compares it (dedented, normalised)."""
    return normalise(textwrap.dedent(block.text.strip("\r\n")))


@dataclass
class SessionConfiguration:
    """One registered session configuration built from a .pssc and its role capabilities."""

    name: str
    session_type: str
    groups: tuple[str, ...]
    commands: dict[str, CommandRule]
    functions: dict[str, FunctionDefinition]
    providers: tuple[str, ...]
    transcript_directory: str | None
    run_as_virtual_account: bool
    #: the twin users the RoleDefinitions groups hold (None: every user)
    users: tuple[str, ...] | None = None
    hidden: tuple[str, ...] = ()
    loaded: dict[str, CommandRule] = field(default_factory=dict)

    @property
    def no_language(self) -> bool:
        return self.session_type.lower() == "restrictedremoteserver"

    @classmethod
    def load(cls, folder: Path | str, name: str, users: Iterable[str] | None = None) -> SessionConfiguration:
        folder = Path(folder)
        pssc = load(folder / f"{name}.pssc")
        roles: dict[str, Any] = get(pssc, "RoleDefinitions") or {}
        capabilities: list[str] = []
        for role in roles.values():
            capabilities += [c for c in _strings(get(role, "RoleCapabilities")) if c not in capabilities]
        commands: dict[str, CommandRule] = {}
        functions: dict[str, FunctionDefinition] = {}
        providers: list[str] = []
        known = _known_bodies()
        for capability in capabilities:
            found = sorted(folder.glob(f"*/RoleCapabilities/{capability}.psrc"))
            if len(found) != 1:
                raise ValueError(f"{name}: role capability {capability} found {len(found)} times in {folder}")
            psrc = load(found[0])
            for key, kind in (("VisibleCmdlets", "cmdlet"), ("VisibleFunctions", "function")):
                for entry in _entries(get(psrc, key)):
                    rule = _rule(entry, kind)
                    commands[rule.name.lower()] = rule  # one role: no merging needed
            for definition in _entries(get(psrc, "FunctionDefinitions")):
                fname, block = get(definition, "Name"), get(definition, "ScriptBlock")
                if not isinstance(fname, str) or not isinstance(block, ScriptBlock):
                    raise ValueError(f"{found[0]}: a FunctionDefinitions entry needs Name and ScriptBlock")
                body = function_body(block)
                if body not in known:
                    raise ValueError(f"{found[0]}: the twin does not know the body of function {fname}")
                functions[fname.lower()] = FunctionDefinition(fname, body, known[body])
            providers += [p for p in _strings(get(psrc, "VisibleProviders")) if p not in providers]
        return cls(
            name=name,
            session_type=str(get(pssc, "SessionType") or "Default"),
            groups=tuple(roles),
            commands=commands,
            functions=functions,
            providers=tuple(providers),
            transcript_directory=get(pssc, "TranscriptDirectory"),
            run_as_virtual_account=bool(get(pssc, "RunAsVirtualAccount")),
            users=tuple(users) if users is not None else None,
            loaded=dict(commands),
        )

    # -- who and what ---------------------------------------------------------------------------------------
    def admits_user(self, user: str) -> bool:
        if self.users is None:
            return True
        bare = user.rsplit("\\", 1)[-1].lower()
        return bare in {u.lower() for u in self.users}

    def visible(self) -> list[tuple[str, str]]:
        """(name, CommandType) of every command a user of the session sees."""
        seen = [(n, "Function" if n == "Get-Command" else "Cmdlet") for n in RESTRICTED_DEFAULTS]
        for rule in self.commands.values():
            if self._resolves(rule) is not None:
                # a constrained command is a proxy function (unconfirmed for the type shown)
                kind = "Function" if rule.kind == "function" or rule.parameters is not None else "Cmdlet"
                seen.append((rule.name, kind))
        return seen

    def _resolves(self, rule: CommandRule) -> CmdletSpec | ScriptSpec | None:
        if rule.kind == "function" and rule.name.lower() in self.functions:
            return self.functions[rule.name.lower()].script
        spec = COMMANDS.get(rule.name.lower())
        if spec is None or spec.name.lower() != rule.name.lower():  # an alias is not the command
            return None
        if spec.is_function != (rule.kind == "function"):
            return None  # VisibleCmdlets matches cmdlets only, VisibleFunctions functions only
        return spec

    # -- one command of a pipeline --------------------------------------------------------------------------
    def admit(self, command: Any) -> tuple[CmdletSpec, dict[str, Any], str]:
        """The spec, bound arguments and parameter set to run ``command`` with, or a Terminating error as
        the restricted session gives it."""
        text = str(command.command_text)
        if command.is_script:
            if self.no_language and _LANGUAGE.search(text):
                target = text if len(text) <= 20 else text[:17] + "..."
                raise Terminating(
                    error_record(
                        SCRIPTS_NOT_ALLOWED,
                        "ScriptsNotAllowed",
                        ErrorCategory.ParserError,
                        "ParseException",
                        target=target,
                    )
                )
            raise Terminating(
                error_record(
                    "The twin runs cmdlets only (add_cmdlet/add_parameter); scripts are not emulated.",
                    "TwinScriptNotSupported",
                    ErrorCategory.NotImplemented,
                    "RuntimeException",
                    target=text[:200],
                )
            )
        parameters = list(command.parameters)
        if text.lower() == "get-command":
            return GET_COMMAND, {**bind(GET_COMMAND, parameters)[0], "__session__": self}, ""
        if text.lower() == "select-object" and "select-object" in COMMANDS:
            spec = COMMANDS["select-object"]
            return (spec, *bind(spec, parameters))
        rule = self.commands.get(text.lower())
        resolved = self._resolves(rule) if rule is not None else None
        if rule is None or resolved is None:
            raise command_not_found(text)
        if isinstance(resolved, ScriptSpec):  # a FunctionDefinitions function, its param() block
            spec = replace(resolved.spec, name=rule.name, type_name=rule.name)
            args, _ = bind(spec, parameters)
            return spec, args, ""
        spec = resolved
        if rule.parameters is None:
            return (spec, *bind(spec, parameters))
        # a proxy function of the cmdlet with the listed parameters and the common ones
        allowed = {p.name.lower() for p in rule.parameters} | {p.name.lower() for p in COMMON}
        proxy = replace(
            spec,
            type_name=rule.name,
            params=tuple(p for p in spec.params if p.name.lower() in allowed),
            should_process=False,
        )
        args, parameter_set = bind(proxy, parameters)
        for name, value in args.items():
            parameter = rule.parameter(name)
            if parameter is not None:
                parameter.check(rule.name, value)
        return spec, args, parameter_set

    # -- narrowing (admin) ----------------------------------------------------------------------------------
    def hide(self, names: Iterable[str]) -> None:
        for name in names:
            self.commands.pop(str(name).lower(), None)
        self.hidden = tuple(sorted({*self.hidden, *(str(n) for n in names)}))

    def reset(self) -> None:
        self.commands = dict(self.loaded)
        self.hidden = ()

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "session_type": self.session_type,
            "groups": list(self.groups),
            "visible": [n for n, _ in self.visible()],
            "functions": sorted(f.name for f in self.functions.values()),
            "providers": list(self.providers),
            "hidden": list(self.hidden),
            "transcript_directory": self.transcript_directory,
            "run_as_virtual_account": self.run_as_virtual_account,
        }


def _get_command(inv: Invocation, args: dict[str, Any]) -> None:
    """Get-Command in a restricted session: the commands the session shows (Name, CommandType)."""
    session: SessionConfiguration = args["__session__"]
    wanted = {n.lower() for n in args.get("Name") or []}
    for name, kind in session.visible():
        if wanted and name.lower() not in wanted:
            continue
        obj = PSObject()
        obj.PSObject.type_names = [
            f"System.Management.Automation.{kind}Info",
            "System.Management.Automation.CommandInfo",
            "System.Object",
        ]
        obj.PSObject.adapted_properties.append(PSNoteProperty("Name", PSString(name)))
        obj.PSObject.adapted_properties.append(PSNoteProperty("CommandType", PSString(kind)))
        obj.PSObject.to_string = name
        inv.emit(obj)


GET_COMMAND = CmdletSpec(
    "Get-Command",
    "Microsoft.PowerShell.Commands.GetCommandCommand",
    _get_command,
    (Param("Name", "strings", position=0),),
)

# -- which node serves which configuration -------------------------------------------------------------------
_LOCK = threading.Lock()
_SERVED: weakref.WeakKeyDictionary[Any, dict[str, SessionConfiguration]] = weakref.WeakKeyDictionary()


def serve(backend: Any, configuration: SessionConfiguration) -> None:
    """Register ``configuration`` on the node ``backend`` (as Register-PSSessionConfiguration would)."""
    with _LOCK:
        _SERVED.setdefault(backend, {})[configuration.name.lower()] = configuration


def configurations(backend: Any) -> dict[str, SessionConfiguration]:
    with _LOCK:
        return dict(_SERVED.get(backend, {}))


def resolve(backend: Any, resource_uri: str) -> tuple[bool, SessionConfiguration | None]:
    """(known, configuration) for a shell's resource URI; the default configuration is (True, None)."""
    if not resource_uri.lower().startswith(RESOURCE_PREFIX):
        return False, None
    name = resource_uri[len(RESOURCE_PREFIX) :]
    if name.lower() == "microsoft.powershell":
        return True, None
    found = configurations(backend).get(name.lower())
    return found is not None, found


def admin_route(request: Request, backend: Any, sub: str) -> Response | None:
    if sub != "jea":
        return None
    method = request.method.upper()
    served = configurations(backend)
    if method == "GET":
        return _json({"configurations": [c.summary() for c in served.values()]})
    if method in ("PUT", "POST"):
        spec = request.get_json(force=True) or {}
        target = served.get(str(spec.get("configuration", "")).lower())
        if target is None:
            return _json({"error": f"no configuration {spec.get('configuration')!r}: {sorted(served)}"}, 404)
        with _LOCK:
            if spec.get("reset"):
                target.reset()
            target.hide([str(n) for n in spec.get("hide") or []])
        return _json(target.summary())
    return None


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj, default=str), status=status, mimetype="application/json")
