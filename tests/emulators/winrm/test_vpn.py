"""Get/Set-VpnServerConfiguration on the WinRM twin: read-back names, classes and wire types (uint32 by
default, enum objects on request), the custom IPsec policy and when it takes effect, binding errors (enums,
aliases, prefixes, parameter sets, ranges) and GCM rules.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulators.common import RunningTwin, TLSMaterial, start_twin
from providers.rras.values import declared_name
from tests.emulators.winrm.client import BASELINE, Node, ps_errors, ps_props

CIM = "Microsoft.Management.Infrastructure.CimInstance"
RA = "ROOT/Microsoft/Windows/RemoteAccess"
CRYPTO = (
    "EncryptionMethod",
    "IntegrityCheckMethod",
    "CipherTransformConstants",
    "PfsGroup",
    "AuthenticationTransformConstants",
    "DHGroup",
)
#: The base class's properties, in the MOF's order (docs/rras.md#reading-the-policy-back).
BASE_PROPERTIES = [
    "IdleDisconnect",
    "SALifeTime",
    "MMSALifeTime",
    "SADataSizeForRenegotiation",
    "Ikev2Ports",
    "L2tpPorts",
    "SstpPorts",
    "GrePorts",
    "TunnelType",
]
#: Hicks' baseline as the documented uint32 values (docs/rras.md#value-maps), written out, not looked up.
BASELINE_NUMBERS = {
    "EncryptionMethod": 2,  # AES128
    "IntegrityCheckMethod": 2,  # SHA256
    "CipherTransformConstants": 3,  # AES128
    "PfsGroup": 3,  # PFS2048
    "AuthenticationTransformConstants": 2,  # SHA256128
    "DHGroup": 3,  # Group14
}


def cim_types(cim_class: str) -> list[str]:
    base = "VpnServerIPsecConfiguration"
    return [
        f"{CIM}#{RA}/{cim_class}",
        f"{CIM}#{RA}/{base}",
        f"{CIM}#{cim_class}",
        f"{CIM}#{base}",
        CIM,
        "System.Object",
    ]


def set_form(twin: RunningTwin, form: str) -> None:
    assert twin.admin()._call("PUT", "readback-form", {"form": form}) == {"node": "rras1", "form": form}


def test_without_a_custom_policy_get_answers_the_default_class(node: Node) -> None:
    ps = node.run("Get-VpnServerConfiguration", TunnelType="IKEv2")
    assert not ps.had_errors and not ps.streams.error
    (obj,) = ps.output
    props = ps_props(obj)
    assert obj.types == cim_types("VpnServerIPsecDefaultConfiguration")
    assert list(obj.adapted_properties) == [*BASE_PROPERTIES, "EncryptionType"]
    assert props["EncryptionType"] == "RequireEncryption"
    # the Default class has no CustomPolicy and none of the crypto properties
    assert "CustomPolicy" not in props and not set(CRYPTO) & set(props)
    for readback in BASE_PROPERTIES:
        assert isinstance(props[readback], int) and not isinstance(props[readback], bool), readback
    # the Set parameter name is not a property (docs/rras.md#reading-the-policy-back)
    assert "SALifeTimeSeconds" not in props
    alias = node.run("Get-VpnServerIPsecConfiguration").output[0]
    assert alias.types == obj.types and ps_props(alias)["SALifeTime"] == props["SALifeTime"]


def test_a_custom_policy_reads_back_as_uint32(node: Node) -> None:
    assert not node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE).streams.error
    (obj,) = node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output
    props = ps_props(obj)
    assert obj.types == cim_types("VpnServerIPsecCustomConfiguration")
    assert str(obj) == "VpnServerIPsecCustomConfiguration"
    assert list(obj.adapted_properties) == [*BASE_PROPERTIES, "CustomPolicy", *CRYPTO]
    assert props["CustomPolicy"] is True and "EncryptionType" not in props
    assert {p: props[p] for p in CRYPTO} == BASELINE_NUMBERS
    assert all(type(props[p]) is int for p in CRYPTO)
    assert (props["SALifeTime"], props["MMSALifeTime"]) == (28800, 86400)
    # what the provider makes of them: the names it declared
    assert {p: declared_name(p, props[p]) for p in CRYPTO} == {p: BASELINE[p] for p in CRYPTO}


def test_on_request_the_crypto_values_arrive_as_enum_objects(twin: RunningTwin, node: Node) -> None:
    node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
    set_form(twin, "enum")
    (obj,) = node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output
    props = ps_props(obj)
    assert obj.types == cim_types("VpnServerIPsecCustomConfiguration")
    prefix = "Microsoft.PowerShell.Cmdletization.GeneratedTypes.VpnServerIPsecConfiguration."
    for prop in CRYPTO:
        value: Any = props[prop]
        assert value.types == [prefix + prop, "System.Enum", "System.ValueType", "System.Object"], prop
        assert str(value) == BASELINE[prop] and value.property_sets == [BASELINE_NUMBERS[prop]], prop
        assert declared_name(prop, value) == BASELINE[prop]
    assert str(props["TunnelType"]) == "IKEV2"
    # numbers stay numbers; the form is the node's, and goes back on request
    assert props["SALifeTime"] == 28800 and props["CustomPolicy"] is True
    set_form(twin, "uint32")
    assert ps_props(node.run("Get-VpnServerConfiguration").output[0])["DHGroup"] == 3
    with pytest.raises(requests.HTTPError, match="400"):
        set_form(twin, "string")


def test_set_custom_policy_is_stored_at_once_and_effective_after_remoteaccess_restart(
    twin: RunningTwin, node: Node
) -> None:
    admin = twin.admin()
    ps = node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
    assert not ps.had_errors and not ps.streams.error and ps.output == []
    props = ps_props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
    assert props["CustomPolicy"] is True
    assert (props["EncryptionMethod"], props["DHGroup"], props["PfsGroup"]) == (
        2,
        3,
        3,
    )  # AES128 Group14 PFS2048
    assert (props["SALifeTime"], props["SADataSizeForRenegotiation"]) == (28800, 1024000)

    runtime = admin.state()["runtime"]
    assert "RemoteAccess" in runtime["pending_restart"]
    effective = runtime["effective"]["RemoteAccess"]["vpn"]["policies"]["IKEv2"]
    assert effective["CustomPolicy"] is False  # IKE still negotiates the old policy
    starts = runtime["services"]["RemoteAccess"]["start_count"]

    restart = node.run("Restart-Service", "Force", Name="RemoteAccess")
    assert not restart.had_errors and not restart.streams.error
    runtime = admin.state()["runtime"]
    assert runtime["pending_restart"] == []
    assert runtime["services"]["RemoteAccess"]["start_count"] == starts + 1
    assert runtime["effective"]["RemoteAccess"]["vpn"]["policies"]["IKEv2"]["EncryptionMethod"] == "AES128"


def test_bad_enum_value_is_a_terminating_binding_error(twin: RunningTwin, node: Node) -> None:
    before = twin.admin().state()["running"]["vpn"]
    ps = node.run("Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", DHGroup="Group99")
    assert ps.had_errors and ps.state == 5  # Failed
    ((fqid, category, text),) = ps_errors(ps)
    assert fqid == "ParameterArgumentTransformationError,Set-VpnServerConfiguration"
    assert category.startswith("InvalidData:")
    assert "Group99" in text and "Group14" in text and "DHGroup" in text
    # The CSP spelling is not a server value (docs/rras.md#cryptographysuite-values).
    ps = node.run(
        "Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", EncryptionMethod="AES_GCM_128"
    )
    assert ps.had_errors and "AES_GCM_128" in ps_errors(ps)[0][2]
    ps = node.run(
        "Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", IntegrityCheckMethod="SHA196"
    )
    assert ps.had_errors
    assert twin.admin().state()["running"]["vpn"] == before


def test_aliases_prefixes_and_case_insensitive_values(node: Node) -> None:
    ps = node.run(
        "Set-VpnServerConfiguration",
        "CustomPolicy",
        TunnelType="ikev2",
        Encryption="gcmaes128",
        PfsGroupId="ecp256",
        FirstTransformType="GCMAES128",
        FirstCipherAlgorithm="GCMAES128",
        IntegrityCheck="SHA256",  # a unique prefix
        DHGroup="group14",
        LifeTimeSeconds=28800,
    )
    assert not ps.had_errors and not ps.streams.error
    props = ps_props(node.run("Get-VpnServerConfiguration").output[0])
    assert (props["EncryptionMethod"], props["PfsGroup"], props["DHGroup"]) == (
        5,
        4,
        3,
    )  # GCMAES128 ECP256 Group14
    assert (props["CipherTransformConstants"], props["AuthenticationTransformConstants"]) == (
        6,
        3,
    )  # GCMAES128
    assert props["IntegrityCheckMethod"] == 2  # SHA256

    ambiguous = node.run("Set-VpnServerConfiguration", "CustomPolicy", SA="28800")
    assert (
        ambiguous.had_errors and ps_errors(ambiguous)[0][0] == "AmbiguousParameter,Set-VpnServerConfiguration"
    )
    unknown = node.run("Set-VpnServerConfiguration", "CustomPolicy", Bogus="1")
    assert (
        unknown.had_errors and ps_errors(unknown)[0][0] == "NamedParameterNotFound,Set-VpnServerConfiguration"
    )


def test_parameter_sets_and_revert_to_default(node: Node) -> None:
    missing = node.run("Set-VpnServerConfiguration", TunnelType="IKEv2", DHGroup="Group14")
    assert missing.had_errors
    assert ps_errors(missing)[0][0] == "MissingMandatoryParameter,Set-VpnServerConfiguration"
    mixed = node.run("Set-VpnServerConfiguration", "RevertToDefault", TunnelType="IKEv2", DHGroup="Group14")
    assert mixed.had_errors and ps_errors(mixed)[0][0] == "AmbiguousParameterSet,Set-VpnServerConfiguration"

    node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
    passthru = node.run("Set-VpnServerConfiguration", "RevertToDefault", "PassThru", TunnelType="IKEv2")
    assert not passthru.had_errors
    assert passthru.output[0].types == cim_types("VpnServerIPsecDefaultConfiguration")
    reverted = node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0]
    assert reverted.types == cim_types("VpnServerIPsecDefaultConfiguration")
    assert "CustomPolicy" not in ps_props(reverted)


def test_lifetime_ranges_are_validated(node: Node) -> None:
    low = node.run("Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", SALifeTimeSeconds=100)
    assert low.had_errors
    fqid, _category, text = ps_errors(low)[0]
    assert fqid == "ParameterArgumentValidationError,Set-VpnServerConfiguration"
    assert "minimum allowed range of 300" in text
    size = node.run(
        "Set-VpnServerConfiguration",
        "CustomPolicy",
        TunnelType="IKEv2",
        SADataSizeForRenegotiationKilobytes=10,
    )
    assert size.had_errors
    not_a_number = node.run(
        "Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", SALifeTimeSeconds="8h"
    )
    assert not_a_number.had_errors and "System.UInt32" in ps_errors(not_a_number)[0][2]


def test_gcm_ike_needs_1803(tls: TLSMaterial) -> None:
    old = start_twin("winrm", tls=tls, os_build=14393, allow_basic=True)
    try:
        n = Node(old)
        ps = n.run(
            "Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", EncryptionMethod="GCMAES256"
        )
        assert not ps.had_errors and ps_errors(ps)[0][0] == "WIN32 87,Set-VpnServerConfiguration"
        n.close()
    finally:
        old.stop()


def test_asymmetric_esp_gcm_is_recorded_or_rejected(tls: TLSMaterial, twin: RunningTwin, node: Node) -> None:
    params = {
        "TunnelType": "IKEv2",
        "CipherTransformConstants": "GCMAES128",
        "AuthenticationTransformConstants": "SHA256128",
    }
    assert not node.run("Set-VpnServerConfiguration", "CustomPolicy", **params).streams.error
    assert any("asymmetric" in w for w in twin.admin().state()["runtime"]["warnings"])
    strict = start_twin("winrm", tls=tls, gcm_mismatch="reject", allow_basic=True)
    try:
        n = Node(strict)
        ps = n.run("Set-VpnServerConfiguration", "CustomPolicy", **params)
        assert ps_errors(ps)[0][0] == "WIN32 87,Set-VpnServerConfiguration"
        n.close()
    finally:
        strict.stop()


def test_a_number_binds_to_the_enum_member_of_that_value_not_of_that_position(node: Node) -> None:
    # PowerShell converts an integer to the enum member with that value: CipherTransformConstants 6 is
    # GCMAES128 (its position in the accepted-values list would be GCMAES192), 1 is DES (position 1: DES3).
    ps = node.run(
        "Set-VpnServerConfiguration",
        "CustomPolicy",
        TunnelType="IKEv2",
        CipherTransformConstants=6,
        AuthenticationTransformConstants=3,
    )
    assert not ps.streams.error
    props = ps_props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
    assert declared_name("CipherTransformConstants", props["CipherTransformConstants"]) == "GCMAES128"
    assert declared_name("AuthenticationTransformConstants", props["AuthenticationTransformConstants"]) == (
        "GCMAES128"
    )
    node.run("Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", EncryptionMethod=1)
    props = ps_props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
    assert declared_name("EncryptionMethod", props["EncryptionMethod"]) == "DES3"
