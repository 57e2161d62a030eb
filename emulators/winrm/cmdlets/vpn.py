"""The VPN server IPsec configuration cmdlets: Get-VpnServerConfiguration and Set-VpnServerConfiguration.

Both are CDXML functions over the RemoteAccess WMI provider (so binding failures are argument transformation
errors of the function); Get-VpnServerConfiguration also answers to its older name
Get-VpnServerIPsecConfiguration. Get answers in the node's ``readback_form`` (uint32 or enum objects,
emulators/winrm/psobjects.py). ValidateRange on the lifetimes and the error shape of a refused value (WIN32
87) are marked unconfirmed in docs/rras.md: choices, not facts."""

from __future__ import annotations

from typing import Any

from psrpcore.types import ErrorCategory, ErrorRecord

from emulators.winrm.backend import (
    CRYPTO_ENUMS,
    ENCRYPTION_TYPES,
    GCM_IKE_MIN_BUILD,
    LIFETIME_READBACK,
    PORT_PARAMETERS,
)
from emulators.winrm.binder import CmdletSpec, Invocation, Param, error_record
from emulators.winrm.psobjects import CDXML_ENUM_PREFIX, CIM_VALUES, vpn_configuration_object

LIFETIME_RANGE = (300, 17279999)  # MS-RRASM (docs/rras.md#ranges-and-invalid-combinations)


def _tunnel(value: str | None) -> str:
    if value is None:
        return "IKEv2"
    return "IKEv2" if value.upper() == "IKEV2" else "L2TP"


def _answer(inv: Invocation, tunnel: str) -> Any:
    return vpn_configuration_object(inv.backend.vpn_configuration(tunnel), inv.backend.readback_form)


def get_vpn_configuration(inv: Invocation, args: dict[str, Any]) -> None:
    inv.emit(_answer(inv, _tunnel(args.get("TunnelType"))))


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
        inv.emit(_answer(inv, tunnel))


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


def _set_vpn(inv: Invocation, args: dict[str, Any]) -> None:  # parameter set injected by run_command
    set_vpn_configuration(inv, args, args.pop("__set__"))


def _crypto(name: str, *aliases: str) -> Param:
    return Param(
        name,
        "enum",
        aliases,
        CRYPTO_ENUMS[name],
        CDXML_ENUM_PREFIX + name,
        sets=("CustomPolicy",),
        numbers=tuple(CIM_VALUES[name].items()),
    )


_TUNNEL = Param("TunnelType", "enum", (), ("IKEV2", "L2TP"), CDXML_ENUM_PREFIX + "TunnelType")
_CDXML_COMMON = (
    Param("CimSession", "object", ("Session",)),
    Param("ThrottleLimit", "uint32"),
    Param("AsJob", "switch"),
)
_LIFE_SETS = ("EncryptionType", "CustomPolicy")

CMDLETS: tuple[CmdletSpec, ...] = (
    CmdletSpec(
        "Get-VpnServerConfiguration",
        "Get-VpnServerConfiguration",
        get_vpn_configuration,
        (_TUNNEL, *_CDXML_COMMON),
        is_function=True,
        aliases=("Get-VpnServerIPsecConfiguration",),
    ),
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
    ),
)
