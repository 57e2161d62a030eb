"""PowerShell objects the RRAS node's cmdlets write to the output stream, shaped like Windows' own.

The .NET enums a service carries (ServiceControllerStatus, ServiceStartMode, ServiceType), the CIM instance of
Get-VpnServerConfiguration, the ServiceController of Get-Service, and the registry values, property bags and
keys of the registry provider (Get-ItemProperty, New-Item). The wire type of the crypto read-back properties
(strings) is marked unconfirmed in docs/rras.md: a choice, not a fact."""

from __future__ import annotations

from typing import Any

from psrpcore.types import (
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

from emulators.winrm.backend import CRYPTO_ENUMS, LIFETIME_READBACK, PORT_PARAMETERS


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
    """Get-VpnServerConfiguration's output: read-back names (docs/rras.md#reading-the-policy-back), uint32
    numbers, enum names as text."""
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
    """A registry value as PowerShell returns it (docs/rras.md#registry-value-types: DWORD -> Int32, binary ->
    byte[])."""
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


def registry_key_object(key: str) -> PSObject:
    """What New-Item writes for a registry key it created."""
    return _object(
        ["Microsoft.Win32.RegistryKey", "System.MarshalByRefObject", "System.Object"],
        {"Name": PSString(key), "SubKeyCount": PSInt(0), "ValueCount": PSInt(0)},
        key,
    )
