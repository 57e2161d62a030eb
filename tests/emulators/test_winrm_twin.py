"""The RRAS node twin over WinRM/PSRP, driven by the real pypsrp client.

Basic over HTTPS for the cmdlet tests; NTLM/Negotiate with message encryption over plain HTTP, NTLM over
HTTPS, the AllowUnencrypted=false policy, and one twin serving several nodes at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from emulators.common import RunningTwin, TLSMaterial, start_twin

IKEV2 = r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2"
IKEEXT = r"HKLM:\SYSTEM\CurrentControlSet\Services\IKEEXT\Parameters"
PSARG = "System.Management.Automation.PSArgumentException,"
SSTP = r"HKLM:\SYSTEM\CurrentControlSet\Services\SstpSvc\Parameters"

# Hicks' standard baseline (reference §2.1), lifetimes as strings as his scripts pass them.
BASELINE = {
    "TunnelType": "IKEv2",
    "AuthenticationTransformConstants": "SHA256128",
    "CipherTransformConstants": "AES128",
    "DHGroup": "Group14",
    "EncryptionMethod": "AES128",
    "IntegrityCheckMethod": "SHA256",
    "PfsGroup": "PFS2048",
    "SALifeTimeSeconds": "28800",
    "MMSALifeTimeSeconds": "86400",
    "SADataSizeForRenegotiationKilobytes": "1024000",
}


def _wsman(
    twin: RunningTwin,
    user: str = "Administrator",
    password: str = "admin-pass",  # noqa: S107 - the twin's seeded test user
    **kw: Any,
) -> WSMan:
    assert twin.tls is not None
    return WSMan(
        "127.0.0.1",
        port=twin.port,
        ssl=True,
        auth="basic",
        cert_validation=str(twin.tls.ca_path),
        username=user,
        password=password,
        **kw,
    )


class Node:
    """A runspace pool on the twin; ``run`` invokes one cmdlet and returns the PowerShell object."""

    def __init__(self, twin: RunningTwin, wsman: WSMan | None = None, **kw: Any) -> None:
        self.twin = twin
        self.pool = RunspacePool(wsman or _wsman(twin, **kw))
        self.pool.open()

    def run(self, cmdlet: str, *switches: str, **params: Any) -> PowerShell:
        ps = PowerShell(self.pool)
        ps.add_cmdlet(cmdlet)
        for name, value in params.items():
            ps.add_parameter(name, value)
        for name in switches:
            ps.add_parameter(name)
        ps.invoke()
        return ps

    def close(self) -> None:
        try:
            self.pool.close()
        except WSManFaultError:  # the shell is already gone (a reboot): as with Windows
            pass


def _props(obj: Any) -> dict[str, Any]:
    return {**(obj.adapted_properties or {}), **(obj.extended_properties or {})}


def _errors(ps: PowerShell) -> list[tuple[str, str, str]]:
    return [(e.fq_error, e.message, str(e)) for e in ps.streams.error]


@pytest.fixture
def twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=tls)
    yield running
    running.stop()


@pytest.fixture
def node(twin: RunningTwin) -> Iterator[Node]:
    n = Node(twin)
    yield n
    n.close()


# -- transport and auth ----------------------------------------------------------------------------
def test_wrong_password_is_401(twin: RunningTwin) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(_wsman(twin, password="wrong")).open()
    with pytest.raises(AuthenticationError):
        RunspacePool(_wsman(twin, user="nobody", password="admin-pass")).open()
    assert [e["status"] for e in twin.admin().log()] == [401, 401]


def test_second_user_and_pool_close(twin: RunningTwin) -> None:
    n = Node(twin, user="automation", password="automation-pass")
    assert twin.backend.runtime_state()["shells"] == 1
    n.close()
    assert twin.backend.runtime_state()["shells"] == 0
    wsman_actions = [e.get("wsman") for e in twin.admin().log()]
    assert wsman_actions[0] == "Create" and wsman_actions[-1] == "Delete"


def test_reboot_drops_the_psrp_shell(twin: RunningTwin, node: Node) -> None:
    twin.admin().reboot()
    with pytest.raises(WSManFaultError) as info:
        node.run("Get-Service", Name="RemoteAccess")
    assert info.value.code == 2150858843  # InvalidSelectors: the shell is gone
    fresh = Node(twin)
    assert str(_props(fresh.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Running"
    fresh.close()


# -- VPN server IPsec configuration ----------------------------------------------------------------
def test_get_vpn_configuration_uses_readback_names_and_types(node: Node) -> None:
    ps = node.run("Get-VpnServerConfiguration", TunnelType="IKEv2")
    assert not ps.had_errors and not ps.streams.error
    (obj,) = ps.output
    props = _props(obj)
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
    assert "SALifeTimeSeconds" not in props  # the Set parameter name is not a property (trap 9)
    alias = node.run("Get-VpnServerIPsecConfiguration").output[0]
    assert _props(alias)["TunnelType"] == "IKEv2"


def test_set_custom_policy_is_stored_at_once_and_effective_after_remoteaccess_restart(
    twin: RunningTwin, node: Node
) -> None:
    admin = twin.admin()
    ps = node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
    assert not ps.had_errors and not ps.streams.error and ps.output == []
    props = _props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
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
    ((fqid, category, text),) = _errors(ps)
    assert fqid == "ParameterArgumentTransformationError,Set-VpnServerConfiguration"
    assert category.startswith("InvalidData:")
    assert "Group99" in text and "Group14" in text and "DHGroup" in text
    # The CSP spelling is not a server value (trap 8).
    ps = node.run(
        "Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", EncryptionMethod="AES_GCM_128"
    )
    assert ps.had_errors and "AES_GCM_128" in _errors(ps)[0][2]
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
    props = _props(node.run("Get-VpnServerConfiguration").output[0])
    assert (props["EncryptionMethod"], props["PfsGroup"], props["DHGroup"]) == (
        "GCMAES128",
        "ECP256",
        "Group14",
    )
    assert props["IntegrityCheckMethod"] == "SHA256"

    ambiguous = node.run("Set-VpnServerConfiguration", "CustomPolicy", SA="28800")
    assert (
        ambiguous.had_errors and _errors(ambiguous)[0][0] == "AmbiguousParameter,Set-VpnServerConfiguration"
    )
    unknown = node.run("Set-VpnServerConfiguration", "CustomPolicy", Bogus="1")
    assert (
        unknown.had_errors and _errors(unknown)[0][0] == "NamedParameterNotFound,Set-VpnServerConfiguration"
    )


def test_parameter_sets_and_revert_to_default(node: Node) -> None:
    missing = node.run("Set-VpnServerConfiguration", TunnelType="IKEv2", DHGroup="Group14")
    assert missing.had_errors
    assert _errors(missing)[0][0] == "MissingMandatoryParameter,Set-VpnServerConfiguration"
    mixed = node.run("Set-VpnServerConfiguration", "RevertToDefault", TunnelType="IKEv2", DHGroup="Group14")
    assert mixed.had_errors and _errors(mixed)[0][0] == "AmbiguousParameterSet,Set-VpnServerConfiguration"

    node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
    passthru = node.run("Set-VpnServerConfiguration", "RevertToDefault", "PassThru", TunnelType="IKEv2")
    assert not passthru.had_errors
    assert _props(passthru.output[0])["CustomPolicy"] is False
    assert (
        _props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])["CustomPolicy"] is False
    )


def test_lifetime_ranges_are_validated(node: Node) -> None:
    low = node.run("Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", SALifeTimeSeconds=100)
    assert low.had_errors
    fqid, _category, text = _errors(low)[0]
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
    assert not_a_number.had_errors and "System.UInt32" in _errors(not_a_number)[0][2]


def test_gcm_ike_needs_1803(tls: TLSMaterial) -> None:
    old = start_twin("winrm", tls=tls, os_build=14393)
    try:
        n = Node(old)
        ps = n.run(
            "Set-VpnServerConfiguration", "CustomPolicy", TunnelType="IKEv2", EncryptionMethod="GCMAES256"
        )
        assert not ps.had_errors and _errors(ps)[0][0] == "WIN32 87,Set-VpnServerConfiguration"
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
        assert _errors(ps)[0][0] == "WIN32 87,Set-VpnServerConfiguration"
        n.close()
    finally:
        strict.stop()


# -- registry --------------------------------------------------------------------------------------
def test_registry_dword_roundtrip_force_and_types(twin: RunningTwin, node: Node) -> None:
    before = node.run("Get-ItemProperty", Path=IKEV2)
    assert "EnableServerFragmentation" not in _props(before.output[0])  # absent: just not a property

    created = node.run(
        "New-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation", Value=1, PropertyType="DWord"
    )
    assert not created.streams.error and _props(created.output[0])["EnableServerFragmentation"] == 1
    again = node.run(
        "New-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation", Value=1, PropertyType="DWord"
    )
    ((fqid, category, text),) = _errors(again)
    assert fqid == "System.IO.IOException,Microsoft.PowerShell.Commands.NewItemPropertyCommand"
    assert category.startswith("ResourceExists:") and text == "The property already exists."
    assert not again.had_errors  # non-terminating

    forced = node.run(
        "New-ItemProperty",
        "Force",
        Path=IKEEXT,
        Name="IkeNumEstablishedForInitialQuery",
        Value=50000,
        PropertyType="DWord",
    )
    assert not forced.streams.error
    props = _props(node.run("Get-ItemProperty", Path=IKEEXT).output[0])
    assert props["IkeNumEstablishedForInitialQuery"] == 50000
    assert props["PSChildName"] == "Parameters" and props["PSPath"].startswith(
        "Microsoft.PowerShell.Core\\Registry::"
    )

    # A DWORD above 0x7FFFFFFF reads back as a negative Int32 (sent as a string: see below).
    node.run(
        "New-ItemProperty",
        "Force",
        Path=IKEV2,
        Name="CertAuthFlags",
        Value="0xFFFFFFFF",
        PropertyType="DWord",
    )
    assert _props(node.run("Get-ItemProperty", Path=IKEV2).output[0])["CertAuthFlags"] == -1
    # pypsrp 0.9 serializes every Python int as <I32>: 0xFFFFFFFF is a message PowerShell cannot read.
    with pytest.raises(WSManFaultError) as info:
        node.run(
            "New-ItemProperty",
            "Force",
            Path=IKEV2,
            Name="CertAuthFlags",
            Value=0xFFFFFFFF,
            PropertyType="DWord",
        )
    assert info.value.code == 2150858817
    node.run("New-ItemProperty", "Force", Path=IKEV2, Name="CertAuthFlags", Value=4, PropertyType="DWord")
    assert (
        _props(node.run("Get-ItemProperty", Path=IKEV2).output[0])["CertAuthFlags"] == 4
    )  # the pool still works

    # Only the IKEEXT restart makes the IKEEXT value effective.
    runtime = twin.admin().state()["runtime"]
    assert set(runtime["pending_restart"]) == {"IKEEXT", "RemoteAccess"}
    node.run("Restart-Service", "Force", Name="IKEEXT")
    assert twin.admin().state()["runtime"]["pending_restart"] == ["RemoteAccess"]


def test_registry_binary_hash_and_removal(node: Node) -> None:
    digest = bytes(range(32))
    ps = node.run(
        "New-ItemProperty",
        "Force",
        Path=SSTP,
        Name="SHA256CertificateHash",
        Value=digest,
        PropertyType="Binary",
    )
    assert not ps.streams.error
    ps = node.run("New-ItemProperty", "Force", Path=SSTP, Name="UseHttps", Value=0, PropertyType="DWord")
    props = _props(node.run("Get-ItemProperty", Path=SSTP).output[0])
    assert props["SHA256CertificateHash"] == digest and isinstance(props["SHA256CertificateHash"], bytes)
    assert props["UseHttps"] == 0

    removed = node.run("Remove-ItemProperty", Path=SSTP, Name="SHA1CertificateHash")
    assert not removed.streams.error
    assert "SHA1CertificateHash" not in _props(node.run("Get-ItemProperty", Path=SSTP).output[0])
    again = node.run("Remove-ItemProperty", Path=SSTP, Name="SHA1CertificateHash")
    ((fqid, _category, text),) = _errors(again)
    assert fqid == PSARG + "Microsoft.PowerShell.Commands.RemoveItemPropertyCommand"
    assert text.startswith("Property SHA1CertificateHash does not exist at path HKEY_LOCAL_MACHINE\\SYSTEM")
    assert not again.had_errors

    # A hex string is not a byte[] (trap 11).
    bad = node.run(
        "New-ItemProperty",
        "Force",
        Path=SSTP,
        Name="SHA256CertificateHash",
        Value="AABB",
        PropertyType="Binary",
    )
    assert bad.streams.error and "System.Byte" in _errors(bad)[0][2]
    assert _props(node.run("Get-ItemProperty", Path=SSTP).output[0])["SHA256CertificateHash"] == digest


def test_registry_missing_paths_names_and_bad_types(node: Node) -> None:
    missing_key = r"HKLM:\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002"
    ps = node.run("Get-ItemProperty", Path=missing_key)
    ((fqid, category, text),) = _errors(ps)
    assert fqid == "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"
    assert (
        category.startswith("ObjectNotFound:")
        and text == f"Cannot find path '{missing_key}' because it does not exist."
    )
    assert not ps.had_errors

    named = node.run("Get-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation")
    assert named.output == []
    assert _errors(named)[0][0] == PSARG + "Microsoft.PowerShell.Commands.GetItemPropertyCommand"

    stop = PowerShell(node.pool)
    stop.add_cmdlet("Get-ItemProperty").add_parameter("Path", missing_key).add_parameter(
        "ErrorAction", "Stop"
    )
    stop.invoke()
    assert stop.had_errors and stop.streams.error[0].fq_error.startswith("PathNotFound,")

    bad_kind = node.run("New-ItemProperty", Path=IKEV2, Name="X", Value=1, PropertyType="Dword32")
    assert bad_kind.had_errors
    fqid, _, text = _errors(bad_kind)[0]
    assert fqid == "CannotConvertArgumentNoMessage,Microsoft.PowerShell.Commands.NewItemPropertyCommand"
    assert "Microsoft.Win32.RegistryValueKind" in text


# -- services --------------------------------------------------------------------------------------
def test_get_service_status_and_unknown_service(node: Node) -> None:
    (svc,) = node.run("Get-Service", Name="RemoteAccess").output
    props = _props(svc)
    assert str(props["Status"]) == "Running" and props["DisplayName"] == "Routing and Remote Access"
    assert "System.ServiceProcess.ServiceController" in svc.types
    ps = node.run("Get-Service", Name="NoSuchSvc")
    ((fqid, _category, text),) = _errors(ps)
    assert fqid == "NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand"
    assert text == "Cannot find any service with service name 'NoSuchSvc'." and not ps.had_errors
    assert len(node.run("Get-Service", Name="R*").output) == 2  # RemoteAccess, RasMan


def test_restart_counts_dependents_and_dropped_sessions(twin: RunningTwin, node: Node) -> None:
    admin = twin.admin()
    counts = {k: v["start_count"] for k, v in admin.state()["runtime"]["services"].items()}
    admin._call("PUT", "vpn-sessions", {"count": 25})

    refused = node.run("Restart-Service", Name="RasMan")
    ((fqid, _, text),) = _errors(refused)
    assert fqid == "ServiceHasDependentServices,Microsoft.PowerShell.Commands.RestartServiceCommand"
    assert "Remote Access Connection Manager (RasMan)" in text
    assert admin._call("GET", "vpn-sessions")["vpn_sessions"] == 25

    ok = node.run("Restart-Service", "Force", "PassThru", Name="RasMan")
    assert not ok.streams.error and str(_props(ok.output[0])["Status"]) == "Running"
    services = admin.state()["runtime"]["services"]
    assert services["RasMan"]["start_count"] == counts["RasMan"] + 1
    assert (
        services["RemoteAccess"]["start_count"] == counts["RemoteAccess"] + 1
    )  # the dependent came back too
    assert services["IKEEXT"]["start_count"] == counts["IKEEXT"]
    assert admin._call("GET", "vpn-sessions") == {"vpn_sessions": 0, "sessions_dropped": 25}


def test_failed_start_leaves_the_service_stopped(twin: RunningTwin, node: Node) -> None:
    twin.admin()._call("POST", "service-faults", {"service": "RemoteAccess"})
    ps = node.run("Restart-Service", "Force", Name="RemoteAccess")
    ((fqid, category, _),) = _errors(ps)
    assert fqid == "StartServiceFailed,Microsoft.PowerShell.Commands.RestartServiceCommand"
    assert category.startswith("OpenError:")
    assert str(_props(node.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Stopped"
    assert not node.run("Start-Service", Name="RemoteAccess").streams.error
    assert str(_props(node.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Running"


def test_slow_restart_long_polls_warns_and_survives_operation_timeouts(tls: TLSMaterial) -> None:
    slow = start_twin("winrm", tls=tls, restart_seconds=5.0)
    try:
        n = Node(slow, operation_timeout=1, read_timeout=10)
        ps = n.run("Restart-Service", "Force", Name="RemoteAccess")
        assert not ps.had_errors and not ps.streams.error
        assert any(
            "Waiting for service 'Routing and Remote Access (RemoteAccess)'" in w.message
            for w in ps.streams.warning
        )
        faults = [e for e in slow.admin().log() if e.get("fault") == 2150858793]
        assert faults  # Receive timed out at least once and pypsrp polled again

        # Ctrl+C (WSMan Signal) stops a running pipeline; the pool stays usable.
        stopped = PowerShell(n.pool)
        stopped.add_cmdlet("Restart-Service").add_parameter("Name", "IKEEXT").add_parameter("Force")
        stopped.begin_invoke()
        stopped.stop()
        assert stopped.state == 3  # Stopped
        assert [e.get("wsman") for e in slow.admin().log()][-1] == "Signal"
        status = n.run("Get-Service", Name="RemoteAccess").output[0]
        assert str(_props(status)["Status"]) == "Running"
        n.close()
    finally:
        slow.stop()


# -- pipelines, statements and the admin log -------------------------------------------------------
def test_statements_pipelines_unknown_commands_and_scripts(node: Node) -> None:
    ps = PowerShell(node.pool)
    ps.add_cmdlet("Restart-Service").add_parameter("Name", "IKEEXT").add_parameter("Force").add_parameter(
        "PassThru"
    )
    ps.add_cmdlet("Out-Null")
    ps.add_statement()
    ps.add_cmdlet("Get-Service").add_parameter("Name", "IKEEXT").add_cmdlet("Select-Object").add_parameter(
        "ExpandProperty", "Status"
    )
    out = ps.invoke()
    assert [str(o) for o in out] == ["Running"] and not ps.had_errors

    unknown = node.run("Get-RemoteAccessHealth")
    assert unknown.had_errors and _errors(unknown)[0][0] == "CommandNotFoundException"

    script = PowerShell(node.pool)
    script.add_script("Get-Service RemoteAccess")
    script.invoke()
    assert script.had_errors and script.streams.error[0].fq_error == "TwinScriptNotSupported"


def test_admin_log_records_cmdlets_and_writes(twin: RunningTwin, node: Node) -> None:
    admin = twin.admin()
    admin.clear_log()
    node.run("Get-VpnServerConfiguration", TunnelType="IKEv2")
    node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
    node.run(
        "New-ItemProperty",
        "Force",
        Path=IKEV2,
        Name="EnableServerFragmentation",
        Value=1,
        PropertyType="DWord",
    )
    node.run("Restart-Service", "Force", Name="RemoteAccess")
    node.run("Get-Service", Name="RemoteAccess")
    commands = [(e["cmdlet"], e["write"]) for e in admin.log() if e.get("cmdlet")]
    assert commands == [
        ("Get-VpnServerConfiguration", False),
        ("Set-VpnServerConfiguration", True),
        ("New-ItemProperty", True),
        ("Restart-Service", True),
        ("Get-Service", False),
    ]
    assert [e["cmdlet"] for e in admin.writes()] == [
        "Set-VpnServerConfiguration",
        "New-ItemProperty",
        "Restart-Service",
    ]
    assert admin.counters()["writes"] == 3


def test_product_node_session_against_the_twin(twin: RunningTwin) -> None:
    """The product's own session (providers/rras/session.py) converges and reads back through the twin."""
    from providers.rras.session import NodeConnection, NodeSession, RrasCommandError

    assert twin.tls is not None
    conn = NodeConnection.from_device(
        "rras1",
        {
            "url": f"https://127.0.0.1:{twin.port}/wsman",
            "user": "automation",
            "password_key": "unused",
            "auth": "basic",
            "ca_bundle": str(twin.tls.ca_path),
        },
    )
    session = NodeSession(conn, "automation-pass")
    try:
        session.invoke("Set-VpnServerConfiguration", BASELINE, switches=("CustomPolicy",))
        (obj,) = session.invoke("Get-VpnServerConfiguration", {"TunnelType": "IKEv2"})
        assert obj.adapted_properties["EncryptionMethod"] == "AES128"
        with pytest.raises(RrasCommandError) as info:
            session.invoke("Remove-ItemProperty", {"Path": IKEV2, "Name": "EnableServerFragmentation"})
        assert "PSArgumentException" in str(info.value)
        session.invoke("Restart-Service", {"Name": "RemoteAccess"}, switches=("Force",))
        assert session.commands == 4  # the failed command counts too
    finally:
        session.close()


def test_configuration_survives_a_twin_restart_with_data_dir(tls: TLSMaterial, tmp_path: Any) -> None:
    first = start_twin("winrm", tls=tls, data_dir=tmp_path)
    try:
        n = Node(first)
        n.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        n.run("New-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation", Value=1, PropertyType="DWord")
        n.close()
    finally:
        first.stop()
    second = start_twin("winrm", tls=tls, data_dir=tmp_path)
    try:
        n = Node(second)
        assert _props(n.run("Get-VpnServerConfiguration").output[0])["DHGroup"] == "Group14"
        assert _props(n.run("Get-ItemProperty", Path=IKEV2).output[0])["EnableServerFragmentation"] == 1
        # A fresh boot: the services started with that configuration, nothing pending.
        assert second.admin().state()["runtime"]["pending_restart"] == []
        n.close()
    finally:
        second.stop()


# -- NTLM / Negotiate and message encryption -------------------------------------------------------
def _http_wsman(
    twin: RunningTwin,
    auth: str = "ntlm",
    user: str = "automation",
    password: str = "automation-pass",  # noqa: S107 - the twin's seeded test user
    **kw: Any,
) -> WSMan:
    assert twin.tls is None
    return WSMan("127.0.0.1", port=twin.port, ssl=False, auth=auth, username=user, password=password, **kw)


@pytest.fixture
def http_twin() -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=None)  # plain HTTP, Windows' default policy
    yield running
    running.stop()


@pytest.mark.parametrize("encryption", ["always", "auto"])
def test_ntlm_over_http_encrypts_every_message(http_twin: RunningTwin, encryption: str) -> None:
    node = Node(http_twin, _http_wsman(http_twin, encryption=encryption))
    try:
        ps = node.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        assert not ps.had_errors and not ps.streams.error
        props = _props(node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
        assert (props["EncryptionMethod"], props["DHGroup"]) == ("AES128", "Group14")
    finally:
        node.close()
    log = http_twin.admin().log()
    # The empty POST runs the handshake on one kept-alive connection: 401, 401 (challenge), 200.
    assert [e["status"] for e in log[:3]] == [401, 401, 200]
    assert len({e["client_port"] for e in log}) == 1
    soap = [e for e in log if e.get("wsman")]
    assert soap and all(e.get("encrypted") and e["user"] == "automation" for e in soap)
    assert [e["cmdlet"] for e in soap if e.get("cmdlet")] == [
        "Set-VpnServerConfiguration",
        "Get-VpnServerConfiguration",
    ]
    assert http_twin.admin().state()["running"]["vpn"]["policies"]["IKEv2"]["PfsGroup"] == "PFS2048"


def test_negotiate_over_http_gets_the_final_spnego_token(http_twin: RunningTwin) -> None:
    wsman = _http_wsman(http_twin, auth="negotiate", user=r"RRAS1\Administrator", password="admin-pass")
    node = Node(http_twin, wsman)
    try:
        assert str(_props(node.run("Get-Service", Name="RemoteAccess").output[0])["Status"]) == "Running"
        # The client's SPNEGO context completes only with the acceptor's mechListMIC, which the twin returns
        # on the 200 of the last leg (without it the first sealed message fails with a MIC error).
        context = next(iter(wsman.transport.session.auth.contexts.values()))  # type: ignore[union-attr]
        assert context.complete and context.negotiated_protocol == "ntlm"
    finally:
        node.close()
    users = {e.get("user") for e in http_twin.admin().log() if e.get("wsman")}
    assert users == {"Administrator"}


def test_ntlm_over_https_with_the_ca_bundle(tls: TLSMaterial, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    running = start_twin("winrm", tls=tls)
    try:
        for encryption, wrapped in (("auto", False), ("always", True)):
            wsman = WSMan(
                "127.0.0.1",
                port=running.port,
                ssl=True,
                auth="ntlm",
                cert_validation=str(tls.ca_path),
                username="automation",
                password="automation-pass",
                encryption=encryption,
            )
            running.admin().clear_log()
            node = Node(running, wsman)
            assert not node.run("Get-VpnServerConfiguration", TunnelType="IKEv2").had_errors
            node.close()
            soap = [e for e in running.admin().log() if e.get("wsman")]
            assert soap and all(bool(e.get("encrypted")) is wrapped for e in soap)
            assert {e["user"] for e in soap} == {"automation"}
    finally:
        running.stop()


def test_basic_and_unencrypted_messages_are_refused_over_http(http_twin: RunningTwin) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(_http_wsman(http_twin, auth="basic", encryption="never")).open()
    offered = requests.post(f"{http_twin.url}/wsman", data=b"", timeout=10).headers["WWW-Authenticate"]
    assert "Negotiate" in offered and "Basic" not in offered

    # NTLM authenticates, but the SOAP body itself is not sealed: AllowUnencrypted=false says 500.
    with pytest.raises(WinRMTransportError) as info:
        RunspacePool(_http_wsman(http_twin, encryption="never")).open()
    assert info.value.code == 500
    log = http_twin.admin().log()
    assert log[0]["auth_refused"] and log[-1]["refused"].startswith("unencrypted")
    assert http_twin.backend.runtime_state()["shells"] == 0


def test_allow_unencrypted_lets_basic_over_http(tls: TLSMaterial) -> None:
    lax = start_twin("winrm", tls=None, allow_unencrypted=True)
    try:
        node = Node(lax, _http_wsman(lax, auth="basic", encryption="never"))
        assert not node.run("Get-Service", Name="IKEEXT").had_errors
        node.close()
    finally:
        lax.stop()
    https_only_ntlm = start_twin("winrm", tls=tls, allow_basic=False)
    try:
        with pytest.raises(AuthenticationError):
            RunspacePool(_wsman(https_only_ntlm)).open()
    finally:
        https_only_ntlm.stop()


def test_wrong_ntlm_credentials_are_401(http_twin: RunningTwin) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(_http_wsman(http_twin, password="wrong")).open()
    with pytest.raises(AuthenticationError):
        RunspacePool(_http_wsman(http_twin, auth="negotiate", user="nobody", password="x")).open()
    with pytest.raises(AuthenticationError):  # a domain that is not this machine
        RunspacePool(_http_wsman(http_twin, user=r"CORP\automation")).open()
    log = http_twin.admin().log()
    assert {e["status"] for e in log} == {401}
    assert sum(1 for e in log if e.get("auth_error")) == 3
    assert http_twin.backend.runtime_state()["shells"] == 0


def test_concurrent_connections_keep_separate_contexts(http_twin: RunningTwin) -> None:
    nodes = {
        "automation": Node(http_twin, _http_wsman(http_twin)),
        "Administrator": Node(
            http_twin, _http_wsman(http_twin, auth="negotiate", user="Administrator", password="admin-pass")
        ),
    }
    barrier = threading.Barrier(len(nodes))
    failures: list[BaseException] = []

    def work(n: Node) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                assert not n.run("Get-VpnServerConfiguration", TunnelType="IKEv2").had_errors
                assert not n.run("Get-ItemProperty", Path=SSTP).had_errors
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in nodes.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for n in nodes.values():
        n.close()
    assert not failures
    by_port: dict[int, set[str]] = {}
    for e in http_twin.admin().log():
        if e.get("wsman"):
            by_port.setdefault(e["client_port"], set()).add(e["user"])
    assert sorted(map(sorted, by_port.values())) == [["Administrator"], ["automation"]]


# -- several nodes in one twin ---------------------------------------------------------------------
def _node_admin(twin: RunningTwin, method: str, path: str, body: Any = None) -> Any:
    return twin.admin()._call(method, f"nodes/{path}", body)


@pytest.fixture
def cluster(tls: TLSMaterial) -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=tls, nodes=["rras1", "rras2", "rras3"])
    yield running
    running.stop()


def test_one_twin_serves_several_nodes_with_their_own_state(cluster: RunningTwin) -> None:
    assert [n["hostname"] for n in _node_admin(cluster, "GET", "")["nodes"]] == ["rras1", "rras2", "rras3"]
    rras2 = Node(cluster, _wsman(cluster, path="rras2/wsman"))
    rras3 = Node(cluster, _wsman(cluster, path="RRAS3/wsman"))
    default = Node(cluster)  # /wsman is the first node
    try:
        rras2.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        starts = _node_admin(cluster, "GET", "rras3/services")["RemoteAccess"]["start_count"]
        assert not rras3.run("Restart-Service", "Force", Name="RemoteAccess").had_errors
        default.run("Get-Service", Name="RemoteAccess")
        props = _props(default.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
        assert props["CustomPolicy"] is False
    finally:
        for n in (rras2, rras3, default):
            n.close()

    policy = {
        h: _node_admin(cluster, "GET", f"{h}/state")["running"]["vpn"]["policies"]["IKEv2"]
        for h in ("rras1", "rras2", "rras3")
    }
    assert [policy[h]["CustomPolicy"] for h in ("rras1", "rras2", "rras3")] == [False, True, False]
    assert _node_admin(cluster, "GET", "rras2/state")["runtime"]["pending_restart"] == ["RemoteAccess"]
    services = {h: _node_admin(cluster, "GET", f"{h}/services") for h in ("rras1", "rras3")}
    assert services["rras3"]["RemoteAccess"]["start_count"] == starts + 1
    assert services["rras1"]["RemoteAccess"]["start_count"] == starts
    # The single-node routes still address the first node.
    assert cluster.admin().state()["running"]["hostname"] == "rras1"
    assert cluster.admin()._call("GET", "services") == services["rras1"]

    log = cluster.admin().log()
    assert {e["node"] for e in log} == {"rras1", "rras2", "rras3"}
    rras2_log = _node_admin(cluster, "GET", "rras2/log")["entries"]
    assert rras2_log and {e["node"] for e in rras2_log} == {"rras2"}
    assert [e["cmdlet"] for e in rras2_log if e.get("write")] == ["Set-VpnServerConfiguration"]
    assert all(e["path"] == "/rras2/wsman" for e in rras2_log)

    with pytest.raises(WinRMTransportError) as info:
        RunspacePool(_wsman(cluster, path="rras9/wsman")).open()
    assert info.value.code == 404
    assert cluster.admin()._call("GET", "nodes")["nodes"][1]["path"] == "/rras2/wsman"


def test_per_node_admin_routes(cluster: RunningTwin) -> None:
    assert _node_admin(cluster, "PUT", "rras2/vpn-sessions", {"count": 7})["vpn_sessions"] == 7
    assert cluster.admin()._call("GET", "vpn-sessions")["vpn_sessions"] == 0
    _node_admin(cluster, "POST", "rras3/service-faults", {"service": "RemoteAccess"})
    assert _node_admin(cluster, "GET", "rras3/state")["runtime"]["vpn_sessions"] == 0
    rras3 = Node(cluster, _wsman(cluster, path="rras3/wsman"))
    try:
        failed = rras3.run("Restart-Service", "Force", Name="RemoteAccess")
        assert failed.had_errors or failed.streams.error
    finally:
        rras3.close()
    assert _node_admin(cluster, "GET", "rras3/services")["RemoteAccess"]["status"] == "Stopped"
    assert _node_admin(cluster, "GET", "rras1/services")["RemoteAccess"]["status"] == "Running"
    boots = _node_admin(cluster, "POST", "rras3/reboot")["boot_count"]
    assert boots == 2 and cluster.admin().state()["boot_count"] == 1
    assert _node_admin(cluster, "GET", "rras3/services")["RemoteAccess"]["status"] == "Running"
    _node_admin(cluster, "DELETE", "rras3/log")
    assert _node_admin(cluster, "GET", "rras3/log")["entries"] == []
    with pytest.raises(requests.HTTPError):
        _node_admin(cluster, "GET", "rras9/state")


def test_an_unreachable_node_drops_the_connection(cluster: RunningTwin) -> None:
    rras2 = Node(cluster, _wsman(cluster, path="rras2/wsman"))
    rras1 = Node(cluster)
    try:
        assert _node_admin(cluster, "PUT", "rras2/reachable", {"reachable": False}) == {
            "node": "rras2",
            "reachable": False,
        }
        with pytest.raises(requests.exceptions.ConnectionError):
            rras2.run("Get-Service", Name="RemoteAccess")  # an open pool: the next request finds no host
        with pytest.raises(requests.exceptions.ConnectionError):
            RunspacePool(_wsman(cluster, path="rras2/wsman")).open()
        assert not rras1.run("Get-Service", Name="RemoteAccess").had_errors  # the others are fine
        dropped = [e for e in _node_admin(cluster, "GET", "rras2/log")["entries"] if e.get("unreachable")]
        assert len(dropped) == 2 and {e["status"] for e in dropped} == {0}

        _node_admin(cluster, "PUT", "rras2/reachable", {"reachable": True})
        assert _node_admin(cluster, "GET", "rras2/reachable")["reachable"] is True
        again = Node(cluster, _wsman(cluster, path="rras2/wsman"))
        assert not again.run("Get-Service", Name="RemoteAccess").had_errors
        again.close()
    finally:
        rras1.close()
        try:
            rras2.close()
        except Exception:  # noqa: BLE001, S110 - its shell outlived the outage; closing may fail either way
            pass


def test_several_nodes_keep_their_data_dirs(tls: TLSMaterial, tmp_path: Any) -> None:
    first = start_twin("winrm", tls=tls, nodes=["rras1", "rras2"], data_dir=tmp_path)
    try:
        n = Node(first, _wsman(first, path="rras2/wsman"))
        n.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        n.close()
    finally:
        first.stop()
    assert (tmp_path / "rras2" / "saved-config.json").exists()
    assert (tmp_path / "rras2" / "ntlm-users.txt").stat().st_mode & 0o077 == 0
    second = start_twin("winrm", tls=tls, nodes=["rras1", "rras2"], data_dir=tmp_path)
    try:
        states = {h: _node_admin(second, "GET", f"{h}/state") for h in ("rras1", "rras2")}
        assert states["rras2"]["running"]["vpn"]["policies"]["IKEv2"]["DHGroup"] == "Group14"
        assert states["rras1"]["running"]["vpn"]["policies"]["IKEv2"]["DHGroup"] == "Group2"
    finally:
        second.stop()
