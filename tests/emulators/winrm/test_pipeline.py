"""Statements and pipelines on the WinRM twin, the admin log of cmdlets and writes, the product's own
node session against the twin, and configuration persisted across a twin restart.
"""

from __future__ import annotations

from typing import Any

import pytest
from pypsrp.powershell import PowerShell

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import BASELINE, IKEV2, Node, ps_errors, ps_props


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
    assert unknown.had_errors and ps_errors(unknown)[0][0] == "CommandNotFoundException"

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
        assert obj.adapted_properties["EncryptionMethod"] == 2  # uint32: AES128 (docs/rras.md#value-maps)
        with pytest.raises(RrasCommandError) as info:
            session.invoke("Remove-ItemProperty", {"Path": IKEV2, "Name": "EnableServerFragmentation"})
        assert "PSArgumentException" in str(info.value)
        session.invoke("Restart-Service", {"Name": "RemoteAccess"}, switches=("Force",))
        assert session.commands == 4  # the failed command counts too
    finally:
        session.close()


def test_configuration_survives_a_twin_restart_with_data_dir(tls: TLSMaterial, tmp_path: Any) -> None:
    first = start_twin("winrm", tls=tls, data_dir=tmp_path, allow_basic=True)
    try:
        n = Node(first)
        n.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        n.run("New-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation", Value=1, PropertyType="DWord")
        n.close()
    finally:
        first.stop()
    second = start_twin("winrm", tls=tls, data_dir=tmp_path, allow_basic=True)
    try:
        n = Node(second)
        assert ps_props(n.run("Get-VpnServerConfiguration").output[0])["DHGroup"] == 3  # Group14
        assert ps_props(n.run("Get-ItemProperty", Path=IKEV2).output[0])["EnableServerFragmentation"] == 1
        # A fresh boot: the services started with that configuration, nothing pending.
        assert second.admin().state()["runtime"]["pending_restart"] == []
        n.close()
    finally:
        second.stop()
