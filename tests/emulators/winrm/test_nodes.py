"""One WinRM twin serving several RRAS nodes: per-node state, admin routes, an unreachable node, and
per-node data directories.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from pypsrp.exceptions import WinRMTransportError
from pypsrp.powershell import RunspacePool

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import BASELINE, Node, https_wsman, node_admin, ps_props


def test_one_twin_serves_several_nodes_with_their_own_state(cluster: RunningTwin) -> None:
    assert [n["hostname"] for n in node_admin(cluster, "GET", "")["nodes"]] == ["rras1", "rras2", "rras3"]
    rras2 = Node(cluster, https_wsman(cluster, path="rras2/wsman"))
    rras3 = Node(cluster, https_wsman(cluster, path="RRAS3/wsman"))
    default = Node(cluster)  # /wsman is the first node
    try:
        rras2.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        starts = node_admin(cluster, "GET", "rras3/services")["RemoteAccess"]["start_count"]
        assert not rras3.run("Restart-Service", "Force", Name="RemoteAccess").had_errors
        default.run("Get-Service", Name="RemoteAccess")
        props = ps_props(default.run("Get-VpnServerConfiguration", TunnelType="IKEv2").output[0])
        assert "CustomPolicy" not in props  # the Default class: no custom policy on this node
    finally:
        for n in (rras2, rras3, default):
            n.close()

    policy = {
        h: node_admin(cluster, "GET", f"{h}/state")["running"]["vpn"]["policies"]["IKEv2"]
        for h in ("rras1", "rras2", "rras3")
    }
    assert [policy[h]["CustomPolicy"] for h in ("rras1", "rras2", "rras3")] == [False, True, False]
    assert node_admin(cluster, "GET", "rras2/state")["runtime"]["pending_restart"] == ["RemoteAccess"]
    services = {h: node_admin(cluster, "GET", f"{h}/services") for h in ("rras1", "rras3")}
    assert services["rras3"]["RemoteAccess"]["start_count"] == starts + 1
    assert services["rras1"]["RemoteAccess"]["start_count"] == starts
    # The single-node routes still address the first node.
    assert cluster.admin().state()["running"]["hostname"] == "rras1"
    assert cluster.admin()._call("GET", "services") == services["rras1"]

    log = cluster.admin().log()
    assert {e["node"] for e in log} == {"rras1", "rras2", "rras3"}
    rras2_log = node_admin(cluster, "GET", "rras2/log")["entries"]
    assert rras2_log and {e["node"] for e in rras2_log} == {"rras2"}
    assert [e["cmdlet"] for e in rras2_log if e.get("write")] == ["Set-VpnServerConfiguration"]
    assert all(e["path"] == "/rras2/wsman" for e in rras2_log)

    with pytest.raises(WinRMTransportError) as info:
        RunspacePool(https_wsman(cluster, path="rras9/wsman")).open()
    assert info.value.code == 404
    assert cluster.admin()._call("GET", "nodes")["nodes"][1]["path"] == "/rras2/wsman"


def test_per_node_admin_routes(cluster: RunningTwin) -> None:
    assert node_admin(cluster, "PUT", "rras2/vpn-sessions", {"count": 7})["vpn_sessions"] == 7
    assert cluster.admin()._call("GET", "vpn-sessions")["vpn_sessions"] == 0
    node_admin(cluster, "POST", "rras3/service-faults", {"service": "RemoteAccess"})
    assert node_admin(cluster, "GET", "rras3/state")["runtime"]["vpn_sessions"] == 0
    rras3 = Node(cluster, https_wsman(cluster, path="rras3/wsman"))
    try:
        failed = rras3.run("Restart-Service", "Force", Name="RemoteAccess")
        assert failed.had_errors or failed.streams.error
    finally:
        rras3.close()
    assert node_admin(cluster, "GET", "rras3/services")["RemoteAccess"]["status"] == "Stopped"
    assert node_admin(cluster, "GET", "rras1/services")["RemoteAccess"]["status"] == "Running"
    boots = node_admin(cluster, "POST", "rras3/reboot")["boot_count"]
    assert boots == 2 and cluster.admin().state()["boot_count"] == 1
    assert node_admin(cluster, "GET", "rras3/services")["RemoteAccess"]["status"] == "Running"
    node_admin(cluster, "DELETE", "rras3/log")
    assert node_admin(cluster, "GET", "rras3/log")["entries"] == []
    with pytest.raises(requests.HTTPError):
        node_admin(cluster, "GET", "rras9/state")


def test_an_unreachable_node_drops_the_connection(cluster: RunningTwin) -> None:
    rras2 = Node(cluster, https_wsman(cluster, path="rras2/wsman"))
    rras1 = Node(cluster)
    try:
        assert node_admin(cluster, "PUT", "rras2/reachable", {"reachable": False}) == {
            "node": "rras2",
            "reachable": False,
        }
        with pytest.raises(requests.exceptions.ConnectionError):
            rras2.run("Get-Service", Name="RemoteAccess")  # an open pool: the next request finds no host
        with pytest.raises(requests.exceptions.ConnectionError):
            RunspacePool(https_wsman(cluster, path="rras2/wsman")).open()
        assert not rras1.run("Get-Service", Name="RemoteAccess").had_errors  # the others are fine
        dropped = [e for e in node_admin(cluster, "GET", "rras2/log")["entries"] if e.get("unreachable")]
        assert len(dropped) == 2 and {e["status"] for e in dropped} == {0}

        node_admin(cluster, "PUT", "rras2/reachable", {"reachable": True})
        assert node_admin(cluster, "GET", "rras2/reachable")["reachable"] is True
        again = Node(cluster, https_wsman(cluster, path="rras2/wsman"))
        assert not again.run("Get-Service", Name="RemoteAccess").had_errors
        again.close()
    finally:
        rras1.close()
        try:
            rras2.close()
        except Exception:  # noqa: BLE001, S110 - its shell outlived the outage; closing may fail either way
            pass


def test_several_nodes_keep_their_data_dirs(tls: TLSMaterial, tmp_path: Any) -> None:
    first = start_twin("winrm", tls=tls, nodes=["rras1", "rras2"], data_dir=tmp_path, allow_basic=True)
    try:
        n = Node(first, https_wsman(first, path="rras2/wsman"))
        n.run("Set-VpnServerConfiguration", "CustomPolicy", **BASELINE)
        n.close()
    finally:
        first.stop()
    assert (tmp_path / "rras2" / "saved-config.json").exists()
    assert (tmp_path / "rras2" / "ntlm-users.txt").stat().st_mode & 0o077 == 0
    second = start_twin("winrm", tls=tls, nodes=["rras1", "rras2"], data_dir=tmp_path, allow_basic=True)
    try:
        states = {h: node_admin(second, "GET", f"{h}/state") for h in ("rras1", "rras2")}
        assert states["rras2"]["running"]["vpn"]["policies"]["IKEv2"]["DHGroup"] == "Group14"
        assert states["rras1"]["running"]["vpn"]["policies"]["IKEv2"]["DHGroup"] == "Group2"
    finally:
        second.stop()
