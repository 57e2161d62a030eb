"""Get/Set-VpnServerConfiguration on the WinRM twin: read-back names, the custom IPsec policy and when
it takes effect, binding errors (enums, aliases, prefixes, parameter sets, ranges) and GCM rules.
"""

from __future__ import annotations

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import BASELINE, Node, ps_errors, ps_props


def test_get_vpn_configuration_uses_readback_names_and_types(node: Node) -> None:
    ps = node.run("Get-VpnServerConfiguration", TunnelType="IKEv2")
    assert not ps.had_errors and not ps.streams.error
    (obj,) = ps.output
    props = ps_props(obj)
    assert obj.types[0].endswith("RemoteAccess/VpnServerIPsecConfiguration")
    assert props["CustomPolicy"] is False
    for readback in (
        "SALifeTime",
        "MMSALifeTime",
        "SADataSizeForRenegotiation",
        "IdleDisconnect",
        "Ikev2Ports",
    ):
        assert isinstance(props[readback], int)
    # the Set parameter name is not a property (docs/rras.md#reading-the-policy-back)
    assert "SALifeTimeSeconds" not in props
    alias = node.run("Get-VpnServerIPsecConfiguration").output[0]
    assert ps_props(alias)["TunnelType"] == "IKEv2"


def test_set_custom_policy_is_stored_at_once_and_effective_after_remoteaccess_restart(
    twin: RunningTwin, node: Node
) -> None:
    admin = twin.admin()
    ps = node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
    assert not ps.had_errors and not ps.streams.error and ps.output == []
    props = ps_props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
    assert props["CustomPolicy"] is True
    assert (props["EncryptionMethod"], props["DHGroup"], props["PfsGroup"]) == (
        "AES128",
        "Group14",
        "PFS2048",
    )
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
        "GCMAES128",
        "ECP256",
        "Group14",
    )
    assert props["IntegrityCheckMethod"] == "SHA256"

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
    assert ps_props(passthru.output[0])["CustomPolicy"] is False
    assert (
        ps_props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])["CustomPolicy"]
        is False
    )


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
    old = start_twin("winrm", tls=tls, os_build=14393)
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
    strict = start_twin("winrm", tls=tls, gcm_mismatch="reject")
    try:
        n = Node(strict)
        ps = n.run("Set-VpnServerConfiguration", "CustomPolicy", **params)
        assert ps_errors(ps)[0][0] == "WIN32 87,Set-VpnServerConfiguration"
        n.close()
    finally:
        strict.stop()
