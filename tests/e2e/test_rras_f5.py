"""RRAS nodes over PowerShell Remoting end to end: the real program and providers through tests/engine
against WinRM twins of the nodes and the F5 twin in front of them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

USER, PASSWORD = "automation", "automation-pass"
STACK = "rras"


@pytest.fixture(scope="module")
def twins(tls):
    from emulators.common import start_twin

    f5 = start_twin("f5", tls=tls)
    nodes = [start_twin("winrm", tls=tls, hostname=f"rras{i}") for i in (1, 2)]
    yield f5, nodes
    for twin in (f5, *nodes):
        twin.stop()


def cluster_decl(f5: Any, nodes: list[Any], **changes: Any) -> dict[str, Any]:
    decl: dict[str, Any] = {
        "name": "vpn-ras",
        "protocols": ["ikev2"],
        "virtualAddress": "192.0.2.70",
        "nodes": [
            {
                "name": f"rras{i}",
                "address": f"198.51.100.7{i}",
                "management": {
                    "endpoint": f"{twin.url}/wsman",
                    "user": USER,
                    "passwordSecret": "rrasPassword",
                    "auth": "basic",
                    "caBundle": str(twin.tls.ca_path),
                },
            }
            for i, twin in enumerate(nodes, start=1)
        ],
        "loadBalancer": {
            "kind": "f5",
            "url": f5.url,
            "user": USER,
            "passwordSecret": "f5Password",
            "caBundle": str(f5.tls.ca_path),
        },
        "persistenceTimeout": 1800,
    }
    decl.update(copy.deepcopy(changes))
    return decl


def commands(twin: Any, since: int = 0) -> list[str]:
    return [e.get("cmdlet", "") for e in twin.admin().log(since=since) if e.get("cmdlet")]


def write_commands(twin: Any, since: int = 0) -> list[str]:
    return [e.get("cmdlet", "") for e in twin.admin().log(since=since) if e.get("cmdlet") and e.get("write")]


def last_seq(twin: Any) -> int:
    log = twin.admin().log()
    return log[-1]["seq"] if log else 0


def assert_rolled(f5: Any, nodes: list[Any], since: tuple[int, list[int]] | None = None) -> None:
    """Each node: drained on the BIG-IP, restarted, re-enabled, before the next node is drained."""
    f5_since, node_since = since or (0, [0] * len(nodes))
    member_writes = [
        (e["ts"], e["path"])
        for e in f5.admin().log(since=f5_since)
        if e.get("write") and "/members/" in e["path"]
    ]
    previous_end = 0.0
    for i, node in enumerate(nodes, start=1):
        mine = [ts for ts, path in member_writes if f"vpn-ras_rras{i}:" in path]
        assert len(mine) == 4, member_writes  # two members off, two on
        restarts = [
            e["ts"] for e in node.admin().log(since=node_since[i - 1]) if e.get("cmdlet") == "Restart-Service"
        ]
        assert restarts, f"rras{i} was not restarted"
        drained, enabled = max(mine[:2]), min(mine[2:])
        assert previous_end <= min(mine[:2]) and drained <= min(restarts) and max(restarts) <= enabled
        previous_end = max(mine)


def test_nodes_are_configured_and_a_second_up_changes_nothing(project: Project, twins: Any) -> None:
    f5, nodes = twins
    project.write_stack(STACK, [cluster_decl(f5, nodes)], {"f5Password": PASSWORD, "rrasPassword": PASSWORD})
    run = project.engine("up", "--yes", "--skip-preview", stack=STACK, check=True)
    for node in nodes:
        running = node.admin().state()["running"]
        policy = running["vpn"]["policies"]["IKEv2"]
        assert policy["CustomPolicy"] is True
        assert (policy["EncryptionMethod"], policy["DHGroup"], policy["PfsGroup"]) == (
            "AES128",
            "Group14",
            "PFS2048",
        )
        ikev2 = running["registry"][
            "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
        ]
        assert ikev2["EnableServerFragmentation"] == {"kind": "DWord", "value": 1}
        services = node.admin()._call("GET", "/_twin/services")
        assert (
            services["RemoteAccess"]["status"] == "Running"
            and not services["RemoteAccess"]["pending_restart"]
        )
    assert_rolled(f5, nodes)
    assert PASSWORD not in str(project.checkpoint(STACK))
    seqs = [last_seq(n) for n in nodes]
    again = project.engine("up", "--yes", "--skip-preview", stack=STACK, check=True)
    for node, seq in zip(nodes, seqs, strict=True):
        assert write_commands(node, seq) == [], again.output
    del run


def test_a_policy_change_restarts_nodes_one_at_a_time(project: Project, twins: Any) -> None:
    f5, nodes = twins
    since = (last_seq(f5), [last_seq(n) for n in nodes])
    ipsec = {"encryptionMethod": "AES256", "cipherTransformConstants": "AES256"}
    project.write_stack(STACK, [cluster_decl(f5, nodes, ipsec=ipsec)], {})
    project.engine("up", "--yes", "--skip-preview", stack=STACK, check=True)
    for node in nodes:
        assert node.admin().state()["running"]["vpn"]["policies"]["IKEv2"]["EncryptionMethod"] == "AES256"
    assert_rolled(f5, nodes, since)
    outputs = project.engine("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-ras"]["ipsecPolicy"]["EncryptionMethod"] == "AES256"


def test_drift_on_a_node_is_found_and_repaired(project: Project, twins: Any) -> None:
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    _f5, nodes = twins
    node = nodes[1]
    wsman = WSMan(
        "127.0.0.1",
        port=node.port,
        username=USER,
        password=PASSWORD,
        ssl=True,
        auth="basic",
        cert_validation=str(node.tls.ca_path),
    )
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Set-VpnServerConfiguration").add_parameter("RevertToDefault")
        ps.add_statement()
        ps.add_cmdlet("Remove-ItemProperty").add_parameter(
            "Path", "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
        ).add_parameter("Name", "EnableServerFragmentation")
        ps.invoke()
        assert not ps.had_errors, ps.streams.error
    drift = project.engine("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    project.engine("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    running = node.admin().state()["running"]
    assert running["vpn"]["policies"]["IKEv2"]["EncryptionMethod"] == "AES256"
    assert project.engine("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0
