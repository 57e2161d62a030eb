"""PowerShell objects the RRAS node's cmdlets write to the output stream, shaped like Windows' own.

The .NET enums a service carries (ServiceControllerStatus, ServiceStartMode, ServiceType), the CIM instance of
Get-VpnServerConfiguration, the ServiceController of Get-Service, and the registry values, property bags and
keys of the registry provider (Get-ItemProperty, New-Item).

Get-VpnServerConfiguration (docs/rras.md#reading-the-policy-back) answers a CIM instance of
``VpnServerIPsecCustomConfiguration`` while a custom policy is set and of
``VpnServerIPsecDefaultConfiguration`` otherwise (which has ``EncryptionType`` and none of the crypto
properties), type names chained as PowerShell's CIM adapter chains them; the crypto properties and TunnelType
are uint32 (the MOF's type, the default form), or with ``readback_form="enum"`` enum objects whose ToString is
the name (the value maps: docs/rras.md#value-maps). Get-Service answers a ServiceController as a real node's
arrives over remoting (docs/rras.md#get-service-over-remoting): Status, StartType and ServiceType as strings,
or as .NET enum objects in the "enum" form."""

from __future__ import annotations

from typing import Any

from psrpcore.types import (
    PSBool,
    PSByteArray,
    PSCustomObject,
    PSEnumBase,
    PSInt,
    PSInt64,
    PSList,
    PSNoteProperty,
    PSObject,
    PSString,
    PSType,
    PSUInt,
)
from psrpcore.types._enum import PSEnumMeta

from emulators.winrm.backend import CRYPTO_ENUMS, LIFETIME_READBACK, PORT_PARAMETERS

#: The wire forms of Get-VpnServerConfiguration's enum-valued properties: the MOF's uint32 (the default), or
#: enum objects whose ToString is the name.
READBACK_FORMS = ("uint32", "enum")


def _object(
    type_names: list[str],
    props: dict[str, Any],
    to_string: str,
    extended: dict[str, Any] | None = None,
) -> PSObject:
    obj = PSObject()
    obj.PSObject.type_names = type_names
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    for name, value in (extended or {}).items():
        obj.PSObject.extended_properties.append(PSNoteProperty(name, value))
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


# -- Get-VpnServerConfiguration ------------------------------------------------------------------------------
RA_NAMESPACE = "ROOT/Microsoft/Windows/RemoteAccess"
CDXML_ENUM_PREFIX = "Microsoft.PowerShell.Cmdletization.GeneratedTypes.VpnServerIPsecConfiguration."

#: The uint32 each name is on the wire, per property (docs/rras.md#value-maps: MS-RRASM
#: ROUTER_CUSTOM_IKEv2_POLICY_0 and the WFP enums it names). The numbers of CipherTransformConstants None,
#: AuthenticationTransformConstants None and TunnelType are unconfirmed: choices, not facts.
CIM_VALUES: dict[str, dict[str, int]] = {
    "EncryptionMethod": {  # IKEEXT_CIPHER_TYPE
        "DES": 0,
        "DES3": 1,
        "AES128": 2,
        "AES192": 3,
        "AES256": 4,
        "GCMAES128": 5,
        "GCMAES256": 6,
    },
    "IntegrityCheckMethod": {"MD5": 0, "SHA1": 1, "SHA256": 2, "SHA384": 3},  # IKEEXT_INTEGRITY_TYPE
    "CipherTransformConstants": {  # IPSEC_CIPHER_CONFIG; None [unverified]
        "DES": 1,
        "DES3": 2,
        "AES128": 3,
        "AES192": 4,
        "AES256": 5,
        "GCMAES128": 6,
        "GCMAES192": 7,
        "GCMAES256": 8,
        "None": 9,
    },
    "AuthenticationTransformConstants": {  # IPSEC_AUTH_CONFIG; None [unverified]
        "MD596": 0,
        "SHA196": 1,
        "SHA256128": 2,
        "GCMAES128": 3,
        "GCMAES192": 4,
        "GCMAES256": 5,
        "None": 6,
    },
    "PfsGroup": {  # IPSEC_PFS_GROUP
        "None": 0,
        "PFS1": 1,
        "PFS2": 2,
        "PFS2048": 3,
        "ECP256": 4,
        "ECP384": 5,
        "PFSMM": 6,
        "PFS24": 7,
    },
    "DHGroup": {  # IKEEXT_DH_GROUP
        "None": 0,
        "Group1": 1,
        "Group2": 2,
        "Group14": 3,
        "ECP256": 4,
        "ECP384": 5,
        "Group24": 6,
    },
    "TunnelType": {"IKEV2": 0, "L2TP": 1},  # [unverified]
}
assert all(set(CIM_VALUES[p]) == set(names) for p, names in CRYPTO_ENUMS.items())

#: The backend's tunnel spelling -> the TunnelType enum name (the cmdlet's accepted values).
_TUNNEL_NAMES = {"IKEv2": "IKEV2", "L2TP": "L2TP"}


def _cdxml_enum(prop: str, values: dict[str, int]) -> type[PSEnumBase]:
    """The enum type of ``prop`` (uint32-based, named like the cmdlet's parameter type)."""
    namespace: Any = PSEnumMeta.__prepare__(prop, (PSEnumBase,))
    for name, number in values.items():
        namespace[name] = number  # "None" is a member name too: an enum's own namespace accepts it
    meta: Any = PSEnumMeta
    made: type[PSEnumBase] = meta(prop, (PSEnumBase,), namespace, base_type=PSUInt)
    decorate: Any = PSType([CDXML_ENUM_PREFIX + prop])
    enum_type: type[PSEnumBase] = decorate(made)
    return enum_type


CDXML_ENUMS = {prop: _cdxml_enum(prop, values) for prop, values in CIM_VALUES.items()}


def _enum_value(prop: str, name: str, form: str) -> Any:
    number = CIM_VALUES[prop][name]
    return CDXML_ENUMS[prop](number) if form == "enum" else PSUInt(number)


def cim_type_names(cim_class: str, base: str = "VpnServerIPsecConfiguration") -> list[str]:
    """A CIM instance's type names as PowerShell's CIM adapter chains them: every class of the hierarchy
    namespace-qualified, the most derived first, then every class by name alone."""
    prefix = "Microsoft.Management.Infrastructure.CimInstance#"
    classes = [cim_class, base] if cim_class != base else [base]
    return [
        *(f"{prefix}{RA_NAMESPACE}/{c}" for c in classes),
        *(f"{prefix}{c}" for c in classes),
        "Microsoft.Management.Infrastructure.CimInstance",
        "System.Object",
    ]


def vpn_configuration_object(config: dict[str, Any], form: str = "uint32") -> PSObject:
    """Get-VpnServerConfiguration's output: read-back names (docs/rras.md#reading-the-policy-back) in the
    MOF's order, the Custom class while a custom policy is set, the Default class otherwise."""
    custom = bool(config["CustomPolicy"])
    cim_class = "VpnServerIPsecCustomConfiguration" if custom else "VpnServerIPsecDefaultConfiguration"
    props: dict[str, Any] = {
        readback: PSUInt(int(config[readback]))
        for readback in ("IdleDisconnect", "SALifeTime", "MMSALifeTime", "SADataSizeForRenegotiation")
    }
    assert set(props) == set(LIFETIME_READBACK.values())
    for port in ("Ikev2Ports", "L2tpPorts", "SstpPorts", "GrePorts"):
        props[port] = PSUInt(int(config[port]))
    assert set(PORT_PARAMETERS) <= set(props)
    props["TunnelType"] = _enum_value("TunnelType", _TUNNEL_NAMES[config["TunnelType"]], form)
    if custom:
        props["CustomPolicy"] = PSBool(True)
        for name in (
            "EncryptionMethod",
            "IntegrityCheckMethod",
            "CipherTransformConstants",
            "PfsGroup",
            "AuthenticationTransformConstants",
            "DHGroup",
        ):
            props[name] = _enum_value(name, config[name], form)
    else:
        props["EncryptionType"] = PSString(config["EncryptionType"])
    # CDXML adds PSComputerName as a note property [unverified value]
    return _object(cim_type_names(cim_class), props, cim_class, {"PSComputerName": None})


# -- Get-Service --------------------------------------------------------------------------------------------
_SERVICE_ARRAY_TYPES = ["System.ServiceProcess.ServiceController[]", "System.Array", "System.Object"]


def _service_names(names: list[str]) -> PSList:
    """A ServiceController[] as it arrives: each service by its ToString, the name."""
    listed = PSList([PSString(n) for n in names])
    listed.PSObject.type_names = list(_SERVICE_ARRAY_TYPES)
    return listed


def service_object(info: dict[str, Any], form: str = "uint32") -> PSObject:
    """Get-Service's ServiceController as a real node's arrives over remoting (pypsrp's recorded Windows
    transcript, docs/rras.md#get-service-over-remoting): adapted properties in that order, Status, StartType
    and ServiceType as strings (enum objects in the "enum" form), Name and RequiredServices extended, the
    service's name as ToString."""
    running = info["status"] == "Running"
    status: Any = PSString(info["status"])
    start_type: Any = PSString(info["start_type"])
    service_type: Any = PSString("Win32ShareProcess")
    if form == "enum":
        status = ServiceControllerStatus[info["status"]]
        start_type = ServiceStartMode[info["start_type"]]
        service_type = ServiceType.Win32ShareProcess
    depended_on = _service_names(info["depends_on"])
    props = {
        "CanPauseAndContinue": PSBool(False),
        "CanShutdown": PSBool(running),
        "CanStop": PSBool(running),
        "DisplayName": PSString(info["display_name"]),
        "DependentServices": _service_names(info["dependents"]),
        "MachineName": PSString("."),
        "ServiceName": PSString(info["name"]),
        "ServicesDependedOn": depended_on,
        "ServiceHandle": PSString("SafeServiceHandle"),
        "Status": status,
        "ServiceType": service_type,
        "StartType": start_type,
        "Site": None,
        "Container": None,
    }
    return _object(
        [
            "System.ServiceProcess.ServiceController",
            "System.ComponentModel.Component",
            "System.MarshalByRefObject",
            "System.Object",
        ],
        props,
        info["name"],
        {"Name": PSString(info["name"]), "RequiredServices": depended_on},
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
