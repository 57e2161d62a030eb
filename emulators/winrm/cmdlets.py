"""The cmdlets an RRAS node answers over PSRP, with PowerShell's parameter binding and error records.

A pipeline arrives as psrpcore ``Command`` objects (name, ``(name, value)`` parameters, statement
boundaries). ``run_pipeline`` binds each command's parameters the way PowerShell does (case-insensitive
names, unique prefixes, aliases, positional arguments, switches sent as ``None`` or ``True``, parameter
sets, mandatory parameters, enum/integer conversion, ValidateRange) and runs it over the backend.

Errors follow PowerShell's split (reference/rras_psrp.md trap 5): binding failures, unknown commands and
``-ErrorAction Stop`` raise ``Terminating`` (the pipeline ends Failed, pypsrp sets ``had_errors``);
everything else is a non-terminating error record on the error stream (pipeline Completed).

Supported: Get-VpnServerConfiguration (alias Get-VpnServerIPsecConfiguration), Set-VpnServerConfiguration,
Get-ItemProperty, New-ItemProperty, Set-ItemProperty, Remove-ItemProperty, New-Item (registry keys),
Get-Service, Restart-Service, Stop-Service, Start-Service, and in a pipeline Select-Object and Out-Null.
Scripts (``add_script``) are refused with a twin-specific terminating error: the product sends cmdlets.

Fidelity notes marked [unverified] in the reference are choices, not facts: the error shape of CDXML
functions (``ParameterArgumentTransformationError,<function>``), ValidateRange on the lifetimes, the
wire type of the crypto read-back properties (strings), and the exact errors of registry value
conversion.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSBool,
    PSByteArray,
    PSCustomObject,
    PSEnumBase,
    PSInt,
    PSInt64,
    PSNoteProperty,
    PSObject,
    PSString,
    PSType,
    PSUInt,
)

from emulators.winrm.backend import (
    CRYPTO_ENUMS,
    ENCRYPTION_TYPES,
    GCM_IKE_MIN_BUILD,
    HKLM,
    LIFETIME_READBACK,
    PORT_PARAMETERS,
    RegistryError,
    RrasBackend,
    ServiceError,
    canonical_key,
)

WRITE_VERBS = ("Set-", "New-", "Remove-", "Restart-", "Stop-", "Start-")
CDXML_ENUM_PREFIX = "Microsoft.PowerShell.Cmdletization.GeneratedTypes.VpnServerIPsecConfiguration."
REGISTRY_KINDS = ("Unknown", "String", "ExpandString", "Binary", "DWord", "MultiString", "QWord", "None")
ACTION_PREFERENCES = ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend")
LIFETIME_RANGE = (300, 17279999)  # MS-RRASM (reference §1.3)

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
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(choices):
            return choices[value]  # the numeric form: ordinal order is [unverified] (reference §1.2)
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


# -- output objects --------------------------------------------------------------------------------
def _object(type_names: list[str], props: dict[str, Any], to_string: str) -> PSObject:
    obj = PSObject()
    obj.PSObject.type_names = type_names
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = to_string
    return obj


@PSType(["System.ServiceProcess.ServiceControllerStatus"])
class ServiceControllerStatus(PSEnumBase):
    Stopped = 1
    StartPending = 2
    StopPending = 3
    Running = 4
    ContinuePending = 5
    PausePending = 6
    Paused = 7


@PSType(["System.ServiceProcess.ServiceStartMode"])
class ServiceStartMode(PSEnumBase):
    Boot = 0
    System = 1
    Automatic = 2
    Manual = 3
    Disabled = 4


@PSType(["System.ServiceProcess.ServiceType"])
class ServiceType(PSEnumBase):
    Win32OwnProcess = 16
    Win32ShareProcess = 32


VPN_CONFIG_TYPES = [
    "Microsoft.Management.Infrastructure.CimInstance#ROOT/Microsoft/Windows/RemoteAccess/VpnServerIPsecConfiguration",
    "Microsoft.Management.Infrastructure.CimInstance#VpnServerIPsecConfiguration",
    "Microsoft.Management.Infrastructure.CimInstance",
    "System.Object",
]


def vpn_configuration_object(config: dict[str, Any]) -> PSObject:
    """Get-VpnServerConfiguration's output: read-back names (trap 9), uint32 numbers, enum names as text."""
    props: dict[str, Any] = {
        "TunnelType": PSString(config["TunnelType"]),
        "EncryptionType": PSString(config["EncryptionType"]),
        "CustomPolicy": PSBool(bool(config["CustomPolicy"])),
    }
    for name in CRYPTO_ENUMS:
        props[name] = PSString(config[name])
    for readback in LIFETIME_READBACK.values():
        props[readback] = PSUInt(int(config[readback]))
    for port in PORT_PARAMETERS:
        props[port] = PSUInt(int(config[port]))
    props["PSComputerName"] = None
    return _object(VPN_CONFIG_TYPES, props, "VpnServerIPsecConfiguration")


def service_object(info: dict[str, Any]) -> PSObject:
    props = {
        "Name": PSString(info["name"]),
        "RequiredServices": [PSString(s) for s in info["depends_on"]],
        "CanPauseAndContinue": PSBool(False),
        "CanShutdown": PSBool(info["status"] == "Running"),
        "CanStop": PSBool(info["status"] == "Running"),
        "DisplayName": PSString(info["display_name"]),
        "DependentServices": [PSString(s) for s in info["dependents"]],
        "MachineName": PSString("."),
        "ServiceName": PSString(info["name"]),
        "ServicesDependedOn": [PSString(s) for s in info["depends_on"]],
        "ServiceType": ServiceType.Win32ShareProcess,
        "StartType": ServiceStartMode[info["start_type"]],
        "Status": ServiceControllerStatus[info["status"]],
    }
    return _object(
        [
            "System.ServiceProcess.ServiceController",
            "System.ComponentModel.Component",
            "System.MarshalByRefObject",
            "System.Object",
        ],
        props,
        "System.ServiceProcess.ServiceController",
    )


def registry_value_object(kind: str, value: Any) -> Any:
    """A registry value as PowerShell returns it (trap 11: DWORD -> Int32, binary -> byte[])."""
    if kind == "DWord":
        number = int(value)
        return PSInt(number - 0x1_0000_0000 if number >= 0x8000_0000 else number)
    if kind == "QWord":
        number = int(value)
        return PSInt64(number - 0x1_0000_0000_0000_0000 if number >= 0x8000_0000_0000_0000 else number)
    if kind == "Binary":
        return PSByteArray(bytes.fromhex(value))
    if kind == "MultiString":
        return [PSString(v) for v in value]
    return PSString(str(value))


def _drive_path(key: str) -> tuple[str, str]:
    """(PSPath, PSParentPath) of a registry key."""
    parent = key.rsplit("\\", 1)[0]
    prefix = "Microsoft.PowerShell.Core\\Registry::"
    return prefix + key, prefix + parent


def registry_object(key: str, values: dict[str, dict[str, Any]], only: list[str] | None = None) -> PSObject:
    obj = PSCustomObject()
    for name, entry in values.items():
        if only is not None and name.lower() not in (n.lower() for n in only):
            continue
        obj.PSObject.extended_properties.append(
            PSNoteProperty(name, registry_value_object(entry["kind"], entry["value"]))
        )
    ps_path, parent = _drive_path(key)
    for name, value in (
        ("PSPath", ps_path),
        ("PSParentPath", parent),
        ("PSChildName", key.rsplit("\\", 1)[-1]),
        (
            "PSDrive",
            _object(["System.Management.Automation.PSDriveInfo", "System.Object"], {"Name": "HKLM"}, "HKLM"),
        ),
        (
            "PSProvider",
            _object(
                ["System.Management.Automation.ProviderInfo", "System.Object"],
                {"Name": "Registry"},
                "Microsoft.PowerShell.Core\\Registry",
            ),
        ),
    ):
        obj.PSObject.extended_properties.append(
            PSNoteProperty(name, PSString(value) if isinstance(value, str) else value)
        )
    return obj


# -- VPN server configuration ----------------------------------------------------------------------
def _tunnel(value: str | None) -> str:
    if value is None:
        return "IKEv2"
    return "IKEv2" if value.upper() == "IKEV2" else "L2TP"


def get_vpn_configuration(inv: Invocation, args: dict[str, Any]) -> None:
    inv.emit(vpn_configuration_object(inv.backend.vpn_configuration(_tunnel(args.get("TunnelType")))))


def set_vpn_configuration(inv: Invocation, args: dict[str, Any], parameter_set: str) -> None:
    tunnel = _tunnel(args.get("TunnelType"))
    encryption = args.get("EncryptionMethod")
    if encryption in ("GCMAES128", "GCMAES256") and inv.backend.os_build < GCM_IKE_MIN_BUILD:
        inv.error(_cim_invalid_parameter(inv, tunnel))
        return
    if parameter_set == "CustomPolicy" and inv.backend.gcm_mismatch == "reject":
        current = inv.backend.vpn_configuration(tunnel)
        cipher = args.get("CipherTransformConstants", current["CipherTransformConstants"])
        auth = args.get("AuthenticationTransformConstants", current["AuthenticationTransformConstants"])
        if (cipher.startswith("GCM") or auth.startswith("GCM")) and cipher != auth:
            inv.error(_cim_invalid_parameter(inv, tunnel))
            return
    if args.get("WhatIf"):
        return
    values = {
        k: v
        for k, v in args.items()
        if k in CRYPTO_ENUMS or k in LIFETIME_READBACK or k in PORT_PARAMETERS or k == "EncryptionType"
    }
    inv.backend.set_vpn_configuration(tunnel, parameter_set, values)
    if args.get("PassThru"):
        inv.emit(vpn_configuration_object(inv.backend.vpn_configuration(tunnel)))


def _cim_invalid_parameter(inv: Invocation, tunnel: str) -> ErrorRecord:
    """What a CDXML cmdlet reports when the WMI provider refuses a value (WIN32 87) [unverified shape]."""
    return error_record(
        "The parameter is incorrect.",
        f"WIN32 87,{inv.spec.name}",
        ErrorCategory.InvalidArgument,
        "CimException",
        activity=inv.spec.name,
        target_name="PS_VpnServerIPsecConfiguration",
        target_type="root/Microsoft/Windows/RemoteAccess/PS_VpnServerIPsecConfiguration",
    )


# -- registry --------------------------------------------------------------------------------------
def _paths(inv: Invocation, args: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(path as typed, canonical key or None) for -Path/-LiteralPath."""
    typed = args.get("Path") or args.get("LiteralPath") or []
    return [(p, canonical_key(p)) for p in typed]


def _path_not_found(inv: Invocation, path: str) -> ErrorRecord:
    return error_record(
        f"Cannot find path '{path}' because it does not exist.",
        f"PathNotFound,{inv.spec.type_name}",
        ErrorCategory.ObjectNotFound,
        "ItemNotFoundException",
        activity=inv.spec.name,
        target=path,
    )


def _property_missing(inv: Invocation, name: str, key: str) -> ErrorRecord:
    return error_record(
        f"Property {name} does not exist at path {key}.",
        f"System.Management.Automation.PSArgumentException,{inv.spec.type_name}",
        ErrorCategory.InvalidArgument,
        "PSArgumentException",
        activity=inv.spec.name,
        target=name,
    )


def get_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    names = args.get("Name")
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(_path_not_found(inv, typed))
            continue
        stored, values = inv.backend.read_key(key)
        if names:
            present = {n.lower() for n in values}
            for name in names:
                if not any(ch in name for ch in "*?[") and name.lower() not in present:
                    inv.error(_property_missing(inv, name, stored))
            wanted = [n for n in values if any(fnmatch.fnmatchcase(n.lower(), p.lower()) for p in names)]
            if not wanted:
                continue
            inv.emit(registry_object(stored, values, wanted))
        else:
            inv.emit(registry_object(stored, values))


def _registry_value(inv: Invocation, kind: str, value: Any) -> Any:
    """Convert ``value`` for ``kind`` (stored form: ints, hex for binary, list for MultiString)."""

    def cast_error(type_name: str, inner: str) -> ErrorRecord:
        return error_record(
            f'Cannot convert value "{value}" to type "{type_name}". Error: "{inner}"',
            f"System.Management.Automation.PSInvalidCastException,{inv.spec.type_name}",
            ErrorCategory.InvalidArgument,
            "PSInvalidCastException",
            activity=inv.spec.name,
            target=str(value),
        )

    if kind in ("DWord", "QWord"):
        bits = 32 if kind == "DWord" else 64
        try:
            if isinstance(value, bool):
                number = int(value)
            elif isinstance(value, int):
                number = value
            else:
                number = int(str(value).strip(), 0)
        except ValueError:
            raise _Refused(
                cast_error(
                    "System.Int32" if bits == 32 else "System.Int64",
                    "Input string was not in a correct format.",
                )
            ) from None
        if number < -(1 << (bits - 1)) or number >= (1 << bits):
            raise _Refused(
                cast_error(
                    "System.Int32" if bits == 32 else "System.Int64",
                    "Value was either too large or too small.",
                )
            )
        return number % (1 << bits)
    if kind == "Binary":
        if isinstance(value, bytes | bytearray):
            return bytes(value).hex()
        items = list(value) if isinstance(value, list | tuple) else [value]
        out = bytearray()
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 255:
                out.append(item)
            else:
                raise _Refused(
                    cast_error("System.Byte[]", f'Cannot convert value "{item}" to type "System.Byte".')
                )
        return bytes(out).hex()
    if kind == "MultiString":
        items = list(value) if isinstance(value, list | tuple) else [value]
        return [str(v) for v in items]
    return "" if value is None else str(value)


class _Refused(Exception):
    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(str(record.Exception.Message))
        self.record = record


def new_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    kind = args.get("PropertyType") or "String"
    if kind in ("Unknown", "None"):
        kind = "Binary" if kind == "None" else "String"
    name = args["Name"]
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(_path_not_found(inv, typed))
            continue
        try:
            stored_value = _registry_value(inv, kind, args.get("Value"))
        except _Refused as refused:
            inv.error(refused.record)
            continue
        if args.get("WhatIf"):
            continue
        try:
            entry = inv.backend.write_value(key, name, kind, stored_value, force=bool(args.get("Force")))
        except RegistryError as exc:
            stored, _ = inv.backend.read_key(key)
            inv.error(
                error_record(
                    exc.message,
                    f"System.IO.IOException,{inv.spec.type_name}",
                    ErrorCategory.ResourceExists,
                    "IOException",
                    activity=inv.spec.name,
                    target=stored,
                )
            )
            continue
        stored, _ = inv.backend.read_key(key)
        inv.emit(registry_object(stored, {name: entry}))


def set_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    name = args["Name"]
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(_path_not_found(inv, typed))
            continue
        stored, values = inv.backend.read_key(key)
        existing = next((e for n, e in values.items() if n.lower() == name.lower()), None)
        kind = args.get("Type") or (existing["kind"] if existing else "String")
        try:
            stored_value = _registry_value(inv, kind, args.get("Value"))
        except _Refused as refused:
            inv.error(refused.record)
            continue
        if args.get("WhatIf"):
            continue
        entry = inv.backend.write_value(key, name, kind, stored_value, force=True)
        if args.get("PassThru"):
            inv.emit(registry_object(stored, {name: entry}))


def remove_item_property(inv: Invocation, args: dict[str, Any]) -> None:
    for typed, key in _paths(inv, args):
        if key is None or not inv.backend.key_exists(key):
            inv.error(_path_not_found(inv, typed))
            continue
        for name in args["Name"]:
            if args.get("WhatIf"):
                continue
            try:
                inv.backend.remove_value(key, name)
            except RegistryError:
                stored, _ = inv.backend.read_key(key)
                inv.error(_property_missing(inv, name, stored))


def new_item(inv: Invocation, args: dict[str, Any]) -> None:
    for typed, key in _paths(inv, args):
        if args.get("Name"):
            key = f"{key}\\{args['Name']}" if key else None
            typed = f"{typed}\\{args['Name']}"
        if key is None:
            inv.error(_path_not_found(inv, typed))
            continue
        parent = key.rsplit("\\", 1)[0]
        if inv.backend.key_exists(key) and not args.get("Force"):
            inv.error(
                error_record(
                    "A key at this path already exists.",
                    f"System.IO.IOException,{inv.spec.type_name}",
                    ErrorCategory.ResourceExists,
                    "IOException",
                    activity=inv.spec.name,
                    target=key,
                )
            )
            continue
        if not inv.backend.key_exists(parent) and parent != HKLM and not args.get("Force"):
            inv.error(_path_not_found(inv, typed.rsplit("\\", 1)[0]))
            continue
        if args.get("WhatIf"):
            continue
        chain = key.split("\\")
        for depth in range(2, len(chain) + 1):
            inv.backend.create_key("\\".join(chain[:depth]))
        inv.emit(
            _object(
                ["Microsoft.Win32.RegistryKey", "System.MarshalByRefObject", "System.Object"],
                {"Name": PSString(key), "SubKeyCount": PSInt(0), "ValueCount": PSInt(0)},
                key,
            )
        )


# -- services --------------------------------------------------------------------------------------
def _services(inv: Invocation, args: dict[str, Any]) -> list[str]:
    """Resolve -Name/-DisplayName (wildcards allowed) to service names, writing PowerShell's not-found "
    "errors."""
    names = inv.backend.service_names()
    found: list[str] = []
    if "DisplayName" in args:
        for pattern in args["DisplayName"]:
            hits = [
                n
                for n in names
                if fnmatch.fnmatchcase(inv.backend.service_info(n)["display_name"].lower(), pattern.lower())
            ]
            if not hits and not any(ch in pattern for ch in "*?["):
                inv.error(
                    error_record(
                        f"Cannot find any service with display name '{pattern}'.",
                        f"NoServiceFoundForGivenDisplayName,{inv.spec.type_name}",
                        ErrorCategory.ObjectNotFound,
                        "ServiceCommandException",
                        activity=inv.spec.name,
                        target=pattern,
                    )
                )
            found.extend(h for h in hits if h not in found)
        return found
    patterns = args.get("Name") or ["*"]
    for pattern in patterns:
        hits = [n for n in names if fnmatch.fnmatchcase(n.lower(), pattern.lower())]
        if not hits and not any(ch in pattern for ch in "*?["):
            inv.error(
                error_record(
                    f"Cannot find any service with service name '{pattern}'.",
                    f"NoServiceFoundForGivenName,{inv.spec.type_name}",
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
        inv.emit(service_object(inv.backend.service_info(name)))


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
            inv.emit(service_object(inv.backend.service_info(name)))


# -- pipeline helpers ------------------------------------------------------------------------------
def _prop_of(obj: Any, name: str) -> Any:
    ps = getattr(obj, "PSObject", None)
    if ps is None:
        return None
    for prop in [*ps.adapted_properties, *ps.extended_properties]:
        if prop.name.lower() == name.lower():
            return prop.get_value(obj)
    return None


def select_object(inv: Invocation, args: dict[str, Any]) -> None:
    items = list(inv.pipe_input)
    if "First" in args:
        items = items[: int(args["First"])]
    expand = args.get("ExpandProperty")
    props = args.get("Property")
    for item in items:
        if expand:
            value = _prop_of(item, expand)
            for v in value if isinstance(value, list) else [value]:
                inv.emit(v)
        elif props:
            out = PSCustomObject()
            for name in props:
                out.PSObject.extended_properties.append(PSNoteProperty(str(name), _prop_of(item, str(name))))
            inv.emit(out)
        else:
            inv.emit(item)


def out_null(inv: Invocation, args: dict[str, Any]) -> None:
    return None


# -- the command table -----------------------------------------------------------------------------
def _set_vpn(inv: Invocation, args: dict[str, Any]) -> None:  # parameter set injected by run_command
    set_vpn_configuration(inv, args, args.pop("__set__"))


def _crypto(name: str, *aliases: str) -> Param:
    return Param(name, "enum", aliases, CRYPTO_ENUMS[name], CDXML_ENUM_PREFIX + name, sets=("CustomPolicy",))


_TUNNEL = Param("TunnelType", "enum", (), ("IKEV2", "L2TP"), CDXML_ENUM_PREFIX + "TunnelType")
_CDXML_COMMON = (
    Param("CimSession", "object", ("Session",)),
    Param("ThrottleLimit", "uint32"),
    Param("AsJob", "switch"),
)
_LIFE_SETS = ("EncryptionType", "CustomPolicy")

_SERVICE_PARAMS = (
    Param("Name", "strings", ("ServiceName",), sets=("Default",), mandatory_in=("Default",), position=0),
    Param("DisplayName", "strings", (), sets=("DisplayName",), mandatory_in=("DisplayName",)),
    Param("InputObject", "object", (), sets=("InputObject",), mandatory_in=("InputObject",)),
    Param("PassThru", "switch"),
    Param("Include", "strings"),
    Param("Exclude", "strings"),
)
_PATH_PARAMS = (
    Param("Path", "strings", (), sets=("Path",), mandatory_in=("Path",), position=0),
    Param("LiteralPath", "strings", ("PSPath", "LP"), sets=("LiteralPath",), mandatory_in=("LiteralPath",)),
    Param("Filter", "string"),
    Param("Include", "strings"),
    Param("Exclude", "strings"),
    Param("Credential", "object"),
)
_KIND = Param("PropertyType", "enum", ("Type",), REGISTRY_KINDS, "Microsoft.Win32.RegistryValueKind")

COMMANDS: dict[str, CmdletSpec] = {}


def _register(spec: CmdletSpec, *aliases: str) -> None:
    for name in (spec.name, *aliases):
        COMMANDS[name.lower()] = spec


_register(
    CmdletSpec(
        "Get-VpnServerConfiguration",
        "Get-VpnServerConfiguration",
        get_vpn_configuration,
        (_TUNNEL, *_CDXML_COMMON),
        is_function=True,
    ),
    "Get-VpnServerIPsecConfiguration",
)
_register(
    CmdletSpec(
        "Set-VpnServerConfiguration",
        "Set-VpnServerConfiguration",
        _set_vpn,
        (
            _TUNNEL,
            Param(
                "EncryptionType",
                "enum",
                (),
                ENCRYPTION_TYPES,
                CDXML_ENUM_PREFIX + "EncryptionType",
                sets=("EncryptionType",),
            ),
            *(Param(p, "uint32", sets=_LIFE_SETS) for p in PORT_PARAMETERS),
            Param(
                "IdleDisconnectSeconds",
                "uint32",
                ("IdleDurationSeconds",),
                sets=_LIFE_SETS,
                value_range=LIFETIME_RANGE,
            ),
            Param(
                "SALifeTimeSeconds",
                "uint32",
                ("LifeTimeSeconds", "QMSALifeTimeSeconds"),
                sets=_LIFE_SETS,
                value_range=LIFETIME_RANGE,
            ),
            Param("MMSALifeTimeSeconds", "uint32", (), sets=_LIFE_SETS, value_range=LIFETIME_RANGE),
            Param(
                "SADataSizeForRenegotiationKilobytes",
                "uint32",
                ("LifeTimeKiloBytes",),
                sets=_LIFE_SETS,
                value_range=(1024, 0xFFFFFFFF),
            ),
            Param("CustomPolicy", "switch", (), sets=("CustomPolicy",), mandatory_in=("CustomPolicy",)),
            _crypto("EncryptionMethod", "Encryption"),
            _crypto("IntegrityCheckMethod", "FirstIntegrityAlgorithm", "OtherHashAlgorithm"),
            _crypto("CipherTransformConstants", "FirstCipherAlgorithm", "OtherCipherAlgorithm"),
            _crypto("PfsGroup", "PfsGroupId"),
            _crypto("AuthenticationTransformConstants", "FirstTransformType"),
            _crypto("DHGroup"),
            Param(
                "RevertToDefault", "switch", (), sets=("RevertToDefault",), mandatory_in=("RevertToDefault",)
            ),
            Param("PassThru", "switch"),
            *_CDXML_COMMON,
        ),
        default_set="EncryptionType",
        is_function=True,
        should_process=True,
    )
)
_register(
    CmdletSpec(
        "Get-ItemProperty",
        "Microsoft.PowerShell.Commands.GetItemPropertyCommand",
        get_item_property,
        (*_PATH_PARAMS, Param("Name", "strings", ("PSProperty",), position=1)),
        default_set="Path",
    ),
    "gp",
)
_register(
    CmdletSpec(
        "New-ItemProperty",
        "Microsoft.PowerShell.Commands.NewItemPropertyCommand",
        new_item_property,
        (
            *_PATH_PARAMS,
            Param("Name", "string", ("PSProperty",), mandatory_in=("Path", "LiteralPath"), position=1),
            _KIND,
            Param("Value", "object"),
            Param("Force", "switch"),
        ),
        default_set="Path",
        should_process=True,
    )
)
_register(
    CmdletSpec(
        "Set-ItemProperty",
        "Microsoft.PowerShell.Commands.SetItemPropertyCommand",
        set_item_property,
        (
            *_PATH_PARAMS,
            Param("Name", "string", ("PSProperty",), mandatory_in=("Path", "LiteralPath"), position=1),
            Param("Value", "object", (), position=2),
            Param("Type", "enum", (), REGISTRY_KINDS, "Microsoft.Win32.RegistryValueKind"),
            Param("PassThru", "switch"),
            Param("Force", "switch"),
        ),
        default_set="Path",
        should_process=True,
    ),
    "sp",
)
_register(
    CmdletSpec(
        "Remove-ItemProperty",
        "Microsoft.PowerShell.Commands.RemoveItemPropertyCommand",
        remove_item_property,
        (
            *_PATH_PARAMS,
            Param("Name", "strings", ("PSProperty",), mandatory_in=("Path", "LiteralPath"), position=1),
            Param("Force", "switch"),
        ),
        default_set="Path",
        should_process=True,
    ),
    "rp",
)
_register(
    CmdletSpec(
        "New-Item",
        "Microsoft.PowerShell.Commands.NewItemCommand",
        new_item,
        (
            Param("Path", "strings", (), position=0),
            Param("Name", "string"),
            Param("ItemType", "string", ("Type",)),
            Param("Value", "object"),
            Param("Force", "switch"),
            Param("Credential", "object"),
        ),
        default_set="pathSet",
        should_process=True,
    ),
    "ni",
)
_register(
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
    ),
    "gsv",
)
_register(
    CmdletSpec(
        "Restart-Service",
        "Microsoft.PowerShell.Commands.RestartServiceCommand",
        restart_service,
        (*_SERVICE_PARAMS, Param("Force", "switch")),
        should_process=True,
    )
)
_register(
    CmdletSpec(
        "Stop-Service",
        "Microsoft.PowerShell.Commands.StopServiceCommand",
        stop_service,
        (*_SERVICE_PARAMS, Param("Force", "switch"), Param("NoWait", "switch")),
        should_process=True,
    ),
    "spsv",
)
_register(
    CmdletSpec(
        "Start-Service",
        "Microsoft.PowerShell.Commands.StartServiceCommand",
        start_service,
        _SERVICE_PARAMS,
        should_process=True,
    ),
    "sasv",
)
_register(
    CmdletSpec(
        "Select-Object",
        "Microsoft.PowerShell.Commands.SelectObjectCommand",
        select_object,
        (
            Param("Property", "strings", (), position=0),
            Param("ExpandProperty", "string"),
            Param("First", "uint32"),
            Param("InputObject", "object"),
        ),
    ),
    "select",
)
_register(
    CmdletSpec(
        "Out-Null",
        "Microsoft.PowerShell.Commands.OutNullCommand",
        out_null,
        (Param("InputObject", "object"),),
    )
)


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
