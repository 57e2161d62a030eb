"""PowerShell's parameter binder and error records, as an RRAS node's cmdlets see them.

A command arrives as a name and ``(name, value)`` parameters. ``bind`` binds them to a ``CmdletSpec`` the
way PowerShell does (case-insensitive names, unique prefixes, aliases, positional arguments, switches sent
as ``None`` or ``True``, parameter sets, mandatory parameters, enum/integer conversion, ValidateRange);
a binding failure is a ``Terminating`` error carrying an ``error_record`` shaped like PowerShell's.

Errors follow PowerShell's split (docs/rras.md#errors-and-had_errors): binding failures, unknown commands and
``-ErrorAction Stop`` raise ``Terminating`` (the pipeline ends Failed, pypsrp sets ``had_errors``); everything
else is a non-terminating error record on the error stream (pipeline Completed), written through
``Invocation.error``.

The error shape of CDXML functions (``ParameterArgumentTransformationError,<function>``) is marked unconfirmed
in docs/rras.md: a choice, not a fact."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from psrpcore.types import ErrorCategory, ErrorCategoryInfo, ErrorRecord, NETException

from emulators.winrm.backend import RrasBackend

ACTION_PREFERENCES = ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend")

EXC_CHAINS = {
    "ParameterBindingException": [
        "System.Management.Automation.ParameterBindingException",
        "System.Management.Automation.RuntimeException",
    ],
    "ParameterBindingArgumentTransformationException": [
        "System.Management.Automation.ParameterBindingArgumentTransformationException",
        "System.Management.Automation.ParameterBindingException",
        "System.Management.Automation.RuntimeException",
    ],
    "ParameterBindingValidationException": [
        "System.Management.Automation.ParameterBindingValidationException",
        "System.Management.Automation.ParameterBindingException",
        "System.Management.Automation.RuntimeException",
    ],
    "CommandNotFoundException": [
        "System.Management.Automation.CommandNotFoundException",
        "System.Management.Automation.RuntimeException",
    ],
    "ItemNotFoundException": [
        "System.Management.Automation.ItemNotFoundException",
        "System.Management.Automation.SessionStateException",
        "System.Management.Automation.RuntimeException",
    ],
    "PSArgumentException": ["System.Management.Automation.PSArgumentException", "System.ArgumentException"],
    "PSInvalidCastException": [
        "System.Management.Automation.PSInvalidCastException",
        "System.InvalidCastException",
    ],
    "IOException": ["System.IO.IOException"],
    "ServiceCommandException": ["Microsoft.PowerShell.Commands.ServiceCommandException"],
    "CimException": ["Microsoft.Management.Infrastructure.CimException"],
    "RuntimeException": ["System.Management.Automation.RuntimeException"],
}


class _CategoryInfo(ErrorCategoryInfo):
    """ErrorCategoryInfo whose text is PowerShell's: ``Category: (target:type) [activity], reason``."""

    def __str__(self) -> str:
        return (
            f"{self.Category.name}: ({self.TargetName or ''}:{self.TargetType or ''}) "
            f"[{self.Activity or ''}], {self.Reason or ''}"
        )


def error_record(
    message: str,
    fqid: str,
    category: ErrorCategory,
    exception: str,
    *,
    activity: str = "",
    target: Any = None,
    target_name: str | None = None,
    target_type: str | None = None,
) -> ErrorRecord:
    """An ErrorRecord shaped like PowerShell's (exception type chain, category info, FQID)."""
    exc = NETException(Message=message, HResult=-2146233087)
    exc.PSObject.type_names = [
        *EXC_CHAINS.get(exception, [exception]),
        "System.SystemException",
        "System.Exception",
        "System.Object",
    ]
    exc.PSObject.to_string = f"{EXC_CHAINS.get(exception, [exception])[0]}: {message}"
    if target_name is None and target is not None:
        target_name = str(target)
    if target_type is None and target is not None:
        target_type = "String" if isinstance(target, str) else type(target).__name__
    info = _CategoryInfo(
        Category=category,
        Activity=activity,
        Reason=exception,
        TargetName=target_name or "",
        TargetType=target_type or "",
    )
    record = ErrorRecord(Exception=exc, CategoryInfo=info, TargetObject=target, FullyQualifiedErrorId=fqid)
    record.PSObject.to_string = message
    return record


class Terminating(Exception):
    """A terminating error: the pipeline ends in the Failed state carrying ``record``."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(str(record.Exception.Message))
        self.record = record


class PipelineHost(Protocol):
    """What the WSMan layer offers a running pipeline."""

    def write_output(self, value: Any) -> None: ...

    def write_error(self, record: ErrorRecord) -> None: ...

    def write_warning(self, message: str) -> None: ...

    @property
    def stopped(self) -> bool: ...


# -- parameter binding --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    name: str
    kind: str = "string"  # string | strings | switch | uint32 | enum | object | preference
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    type_name: str = ""  # .NET type named in conversion errors
    sets: tuple[str, ...] = ()  # () = every parameter set
    mandatory_in: tuple[str, ...] = ()
    position: int | None = None
    value_range: tuple[int, int] | None = None
    #: An enum's numeric values (name -> number); without them a number is read as the choice's position.
    numbers: tuple[tuple[str, int], ...] = ()


COMMON = (
    Param(
        "ErrorAction",
        "preference",
        ("ea",),
        ACTION_PREFERENCES,
        "System.Management.Automation.ActionPreference",
    ),
    Param(
        "WarningAction",
        "preference",
        ("wa",),
        ACTION_PREFERENCES,
        "System.Management.Automation.ActionPreference",
    ),
    Param(
        "InformationAction",
        "preference",
        ("infa",),
        ACTION_PREFERENCES,
        "System.Management.Automation.ActionPreference",
    ),
    Param("Verbose", "switch", ("vb",)),
    Param("Debug", "switch", ("db",)),
    Param("ErrorVariable", "string", ("ev",)),
    Param("WarningVariable", "string", ("wv",)),
    Param("InformationVariable", "string", ("iv",)),
    Param("OutVariable", "string", ("ov",)),
    Param("OutBuffer", "uint32", ("ob",)),
    Param("PipelineVariable", "string", ("pv",)),
)
SHOULD_PROCESS = (Param("WhatIf", "switch", ("wi",)), Param("Confirm", "switch", ("cf",)))


@dataclass
class CmdletSpec:
    name: str
    type_name: str  # the FQID suffix: the .NET cmdlet type, or the function name for CDXML
    handler: Callable[[Invocation, dict[str, Any]], None]
    params: tuple[Param, ...]
    default_set: str = "Default"
    is_function: bool = False  # CDXML cmdlets are functions: argument transformation errors
    should_process: bool = False
    aliases: tuple[str, ...] = ()  # further names the command table answers to

    def all_params(self) -> tuple[Param, ...]:
        return self.params + COMMON + (SHOULD_PROCESS if self.should_process else ())


@dataclass
class Invocation:
    backend: RrasBackend
    host: PipelineHost
    spec: CmdletSpec
    pipe_input: list[Any] = field(default_factory=list)
    output: list[Any] | None = None  # set when the output feeds a further command
    error_action: str = "Continue"

    def emit(self, value: Any) -> None:
        if self.output is not None:
            self.output.append(value)
        else:
            self.host.write_output(value)

    def error(self, record: ErrorRecord) -> None:
        """A non-terminating error, subject to -ErrorAction."""
        action = self.error_action.lower()
        if action == "stop":
            raise Terminating(record)
        if action in ("silentlycontinue", "ignore"):
            return
        self.host.write_error(record)

    def warn(self, message: str) -> None:
        self.host.write_warning(message)


def _binding_error(
    spec: CmdletSpec, message: str, fqid: str, exception: str = "ParameterBindingException"
) -> Terminating:
    # Transformation and validation failures are InvalidData; the other binding failures InvalidArgument.
    invalid_data = fqid in ("ParameterArgumentValidationError", "ParameterArgumentTransformationError")
    category = ErrorCategory.InvalidData if invalid_data else ErrorCategory.InvalidArgument
    return Terminating(
        error_record(
            message,
            f"{fqid},{spec.type_name}",
            category,
            exception,
            activity=spec.name,
            target_name="",
            target_type="",
        )
    )


def _enum_message(value: Any, choices: tuple[str, ...]) -> str:
    return (
        f"Unable to match the identifier name {value} to a valid enumerator name. Specify one of the "
        f"following enumerator names and try again:\r\n{', '.join(choices)}"
    )


def _convert(spec: CmdletSpec, param: Param, value: Any) -> Any:
    def fail(type_name: str, inner: str) -> Terminating:
        shown = value if not isinstance(value, list) else " ".join(str(v) for v in value)
        detail = f'Cannot convert value "{shown}" to type "{type_name}". Error: "{inner}"'
        if spec.is_function:
            return _binding_error(
                spec,
                f"Cannot process argument transformation on parameter '{param.name}'. {detail}",
                "ParameterArgumentTransformationError",
                "ParameterBindingArgumentTransformationException",
            )
        return _binding_error(
            spec, f"Cannot bind parameter '{param.name}'. {detail}", "CannotConvertArgumentNoMessage"
        )

    if param.kind == "switch":
        return True if value is None else bool(value)
    if param.kind == "object":
        return value
    if param.kind == "strings":
        items = list(value) if isinstance(value, list | tuple) else [value]
        return [str(v) for v in items]
    if param.kind == "string":
        if isinstance(value, list | tuple):
            return " ".join(str(v) for v in value)
        return str(value)
    if param.kind in ("enum", "preference"):
        choices = param.choices
        if isinstance(value, int) and not isinstance(value, bool):
            # PowerShell converts a number to the enum member of that value (docs/rras.md#value-maps);
            # without a value map, the member at that position.
            by_number = {n: name for name, n in param.numbers}
            if param.numbers and value in by_number:
                return by_number[value]
            if not param.numbers and 0 <= value < len(choices):
                return choices[value]
        text = str(value).strip()
        for choice in choices:
            if choice.lower() == text.lower():
                return choice
        raise fail(param.type_name, _enum_message(text, choices))
    if param.kind == "uint32":
        try:
            number = int(str(value).strip(), 0) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise fail("System.UInt32", "Input string was not in a correct format.") from None
        if number < 0 or number > 0xFFFFFFFF:
            raise fail("System.UInt32", "Value was either too large or too small for a UInt32.")
        if param.value_range is not None:
            low, high = param.value_range
            if number < low:
                raise _binding_error(
                    spec,
                    f"Cannot validate argument on parameter '{param.name}'. The {number} argument is less "
                    f"than the minimum allowed range of {low}. Supply an argument that is greater than or "
                    f"equal to {low} and then try the command again.",
                    "ParameterArgumentValidationError",
                    "ParameterBindingValidationException",
                )
            if number > high:
                raise _binding_error(
                    spec,
                    f"Cannot validate argument on parameter '{param.name}'. The {number} argument is "
                    f"greater than the maximum allowed range of {high}. Supply an argument that is less "
                    f"than or equal to {high} and then try the command again.",
                    "ParameterArgumentValidationError",
                    "ParameterBindingValidationException",
                )
        return number
    return value


def bind(spec: CmdletSpec, parameters: list[tuple[str | None, Any]]) -> tuple[dict[str, Any], str]:
    """Bind ``parameters`` to ``spec``: (bound values by canonical name, the parameter set)."""
    params = spec.all_params()
    bound: dict[str, Any] = {}
    positional: list[Any] = []
    for raw_name, value in parameters:
        if raw_name is None:
            positional.append(value)
            continue
        name = raw_name.lstrip("-")
        exact = [p for p in params if name.lower() in (p.name.lower(), *(a.lower() for a in p.aliases))]
        if exact:
            matches = exact[:1]
        else:
            matches = [
                p for p in params if any(n.lower().startswith(name.lower()) for n in (p.name, *p.aliases))
            ]
        if not matches:
            raise _binding_error(
                spec,
                f"A parameter cannot be found that matches parameter name '{name}'.",
                "NamedParameterNotFound",
            )
        if len(matches) > 1:
            names = ", ".join(f"-{p.name}" for p in matches)
            raise _binding_error(
                spec,
                f"Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
                f"Possible matches include: {names}.",
                "AmbiguousParameter",
            )
        param = matches[0]
        if param.name in bound:
            raise _binding_error(
                spec,
                f"Cannot bind parameter because parameter '{param.name}' is specified more than once. To "
                "provide "
                "multiple values to parameters that can accept multiple values, use the array syntax. For "
                "example, "
                '"-parameter value1,value2,value3".',
                "ParameterAlreadyBound",
            )
        bound[param.name] = _convert(spec, param, value)
    if positional:
        slots = sorted(
            (p for p in params if p.position is not None and p.name not in bound),
            key=lambda p: p.position or 0,
        )
        for value in positional:
            if not slots:
                raise _binding_error(
                    spec,
                    f"A positional parameter cannot be found that accepts argument '{value}'.",
                    "PositionalParameterNotFound",
                )
            param = slots.pop(0)
            bound[param.name] = _convert(spec, param, value)

    all_sets = {s for p in params for s in p.sets} | {spec.default_set}
    candidates = set(all_sets)
    for name in bound:
        param = next(p for p in params if p.name == name)
        if param.sets:
            candidates &= set(param.sets)
    if not candidates:
        raise _binding_error(
            spec,
            "Parameter set cannot be resolved using the specified named parameters.",
            "AmbiguousParameterSet",
        )
    if len(candidates) > 1:
        # PowerShell prefers the default set, then a set whose mandatory parameters are all bound.
        satisfied = {s for s in candidates if all(p.name in bound for p in params if s in p.mandatory_in)}
        if spec.default_set in candidates and spec.default_set in satisfied:
            chosen = spec.default_set
        elif len(satisfied) == 1:
            chosen = satisfied.pop()
        elif spec.default_set in candidates:
            chosen = spec.default_set
        else:
            raise _binding_error(
                spec,
                "Parameter set cannot be resolved using the specified named parameters.",
                "AmbiguousParameterSet",
            )
    else:
        chosen = candidates.pop()
    missing = [p.name for p in params if chosen in p.mandatory_in and p.name not in bound]
    if missing:
        raise _binding_error(
            spec,
            "Cannot process command because of one or more missing mandatory parameters: "
            f"{' '.join(missing)}.",
            "MissingMandatoryParameter",
        )
    return bound, chosen
