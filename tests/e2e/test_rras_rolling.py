"""RRAS nodes over PowerShell Remoting end to end, behind each load-balancer twin.

The real program and providers run through the real Pulumi CLI against three RRAS nodes and an F5, Citrix
ADC or Kemp LoadMaster twin. The nodes are reached three ways: behind the F5 one WinRM twin serves all three
(NTLM over HTTPS), behind the Citrix ADC each node has its own twin (Basic over HTTPS), behind the
LoadMaster one twin serves all three over plain HTTP (NTLM with WinRM message encryption): ``rras`` of
the load balancer's view (tests/e2e/devices.py), which also reads its drain requests. Every node is
reached through the project's JEA endpoint, served by the twins from the shipped jea/ files. The twins'
logs prove the roll: each node is drained on the load balancer, restarted, found Running, enabled again,
and only then is the next node drained.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from components.registry import kinds
from emulators.common import start_twin
from tests.e2e.certificates import TLS_OFFLOAD, certificate, offload_secrets
from tests.e2e.devices import PASSWORD, USER, Decl, DeviceView, last_seq, view
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

NODES = ("rras1", "rras2", "rras3")
#: The session configuration every node's sessions use: the project's JEA endpoint (jea/AovpnRras.pssc).
JEA = "AovpnRras"
IKEV2_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
IKEEXT_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\IKEEXT\\Parameters"
SSTP_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SstpSvc\\Parameters"
PS_IKEV2_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
PS_SSTP_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\SstpSvc\\Parameters"
#: The cluster, less its nodes (Site.cluster_decl adds them, managed over PowerShell Remoting).
#: The clients these tests connect never leave: a drained node waits 1 s for them, not the default 300 s
#: (tests/e2e/test_rras_drain.py tests the wait itself).
RAS: Decl = {
    "name": "vpn-ras",
    "virtualAddress": "192.0.2.70",
    "persistenceTimeout": 1800,
    "rras": {"drainTimeoutSeconds": 1},
}


def address(i: int) -> str:
    return f"198.51.100.7{i}"


@dataclass
class Node:
    """One RRAS node: its own WinRM twin, or one of the nodes a shared twin serves at /<name>/wsman."""

    name: str
    twin: Any
    shared: bool
    auth: str
    #: the session configuration the node's sessions use (None: the default, Microsoft.PowerShell)
    configuration: str | None = None

    @property
    def path(self) -> str:
        return f"{self.name}/wsman" if self.shared else "wsman"

    @property
    def url(self) -> str:
        return f"{self.twin.url}/{self.path}"

    def management(self) -> dict[str, Any]:
        decl = {"endpoint": self.url, "user": USER, "passwordSecret": "rrasPassword", "auth": self.auth}
        if self.configuration:
            decl["configurationName"] = self.configuration
        if self.twin.tls:
            decl["caBundle"] = str(self.twin.tls.ca_path)
        return decl

    def admin(self, sub: str, method: str = "GET", body: Any = None) -> Any:
        return self.twin.admin()._call(method, f"nodes/{self.name}/{sub}" if self.shared else sub, body)

    def state(self) -> dict[str, Any]:
        return dict(self.admin("state"))

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        if self.shared:
            return list(self.admin(f"log?since={since}")["entries"])
        return list(self.twin.admin().log(since=since))

    def set_reachable(self, reachable: bool) -> None:
        if self.shared:
            self.admin("reachable", "PUT", {"reachable": reachable})
        elif reachable:
            self.twin.admin().clear_faults()
        else:
            self.twin.admin().add_fault(path="^/wsman", action="reset", times=100000)


@dataclass
class Site:
    """A load-balancer twin and the three RRAS nodes behind it."""

    device: DeviceView
    nodes: list[Node]
    twins: list[Any]

    @property
    def stack(self) -> str:
        return f"rras-{self.device.kind}"

    def cluster_decl(self, **changes: Any) -> Decl:
        managed = [
            {"name": name, "address": address(i), "management": node.management()}
            for i, (name, node) in enumerate(zip(NODES, self.nodes, strict=True), start=1)
        ]
        return self.device.cluster(RAS, nodes=managed, **changes)

    def secrets(self) -> dict[str, str]:
        return self.device.secrets() | {"rrasPassword": PASSWORD}

    def node_enabled(self, i: int) -> bool:
        return self.device.node_enabled(self.cluster_decl(), f"rras{i}")


@pytest.fixture(scope="module", params=kinds())
def site(request: pytest.FixtureRequest, tls: Any, project: Project) -> Any:
    device = view(request.param, start_twin(request.param, tls=tls))
    # the nodes are reached a different way behind each load balancer (DeviceView.rras)
    access = device.rras
    node_tls = tls if access.https else None
    # Windows has Basic off (docs/rras.md#transport-and-message-encryption): on only where the site uses it
    basic = access.auth == "basic"
    if access.shared:  # one twin serving the three nodes
        twins = [
            start_twin("winrm", tls=node_tls, nodes=list(NODES), allow_basic=basic, jea_configuration=JEA)
        ]
        # every node through the project's JEA endpoint, as the twins serve it from the shipped jea/ files
        nodes = [Node(name, twins[0], True, access.auth, JEA) for name in NODES]
    else:  # a twin per node
        twins = [
            start_twin("winrm", tls=node_tls, hostname=name, allow_basic=basic, jea_configuration=JEA)
            for name in NODES
        ]
        nodes = [Node(name, twin, False, access.auth, JEA) for name, twin in zip(NODES, twins, strict=True)]
    made = Site(device, nodes, twins)
    project.write_stack(made.stack, [made.cluster_decl()], made.secrets())  # each test can also run alone
    yield made
    for twin in (device.twin, *twins):
        twin.stop()


def marks(site: Site) -> tuple[int, list[int]]:
    return site.device.last_seq(), [last_seq(n.twin) for n in site.nodes]


def cmdlets(node: Node, since: int = 0, write_only: bool = False) -> list[tuple[float, str]]:
    return [
        (e["ts"], e["cmdlet"])
        for e in node.log(since=since)
        if e.get("cmdlet") and (e.get("write") or not write_only)
    ]


def assert_rolled(site: Site, since: tuple[int, list[int]], order: list[str]) -> None:
    """The nodes in ``order`` were drained, restarted, found Running and enabled, one after the other;
    the other nodes were neither drained nor restarted."""
    lb_since, node_since = since
    windows = site.device.drain_windows(lb_since, site.cluster_decl(), order)
    previous_end = 0.0
    for name, node, seq in zip(NODES, site.nodes, node_since, strict=True):
        log = cmdlets(node, seq)
        restarts = [ts for ts, c in log if c == "Restart-Service"]
        if name not in order:
            assert restarts == [], f"{name} was restarted"
            continue
        assert restarts, f"{name} was not restarted"
        first_drain, drained, enabled = windows[name]
        checks = [ts for ts, c in log if c == "Get-Service" and max(restarts) <= ts <= enabled]
        assert previous_end <= first_drain, f"{name} was drained before the previous node was enabled"
        assert drained <= min(restarts) and max(restarts) <= enabled, (name, windows[name], restarts)
        assert checks, f"{name} was enabled again without checking its services"
        previous_end = enabled
    assert [n for n in order] == sorted(order, key=lambda n: windows[n][0])


def assert_settled(site: Site) -> None:
    """Every node runs what its registry and policy say: nothing is waiting for a restart."""
    for node in site.nodes:
        services = node.admin("services")
        assert not any(s["pending_restart"] for s in services.values()), services
        assert all(s["status"] == "Running" for s in services.values()), services


def psrp(node: Node) -> Any:
    from pypsrp.powershell import RunspacePool
    from pypsrp.wsman import WSMan

    wsman = WSMan(
        "127.0.0.1",
        port=node.twin.port,
        path=node.path,
        username=USER,
        password=PASSWORD,
        ssl=node.twin.tls is not None,
        auth=node.auth,
        cert_validation=str(node.twin.tls.ca_path) if node.twin.tls else True,
    )
    return RunspacePool(wsman)


def run_on(node: Node, *commands: tuple[str, dict[str, Any], tuple[str, ...]]) -> None:
    """Someone at the node's console (through pypsrp): each command a cmdlet with bound parameters."""
    from pypsrp.powershell import PowerShell

    with psrp(node) as pool:
        ps = PowerShell(pool)
        for k, (cmdlet, params, switches) in enumerate(commands):
            if k:
                ps.add_statement()
            ps.add_cmdlet(cmdlet)
            for name, value in params.items():
                ps.add_parameter(name, value)
            for name in switches:
                ps.add_parameter(name)
        ps.invoke()
        assert not ps.had_errors and not ps.streams.error, ps.streams.error


def test_three_nodes_are_configured_and_a_second_up_sends_nothing(project: Project, site: Site) -> None:
    since = marks(site)
    project.write_stack(site.stack, [site.cluster_decl()], site.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    for node in site.nodes:
        running = node.state()["running"]
        policy = running["vpn"]["policies"]["IKEv2"]
        assert policy["CustomPolicy"] is True
        assert (policy["EncryptionMethod"], policy["DHGroup"], policy["PfsGroup"]) == (
            "AES128",
            "Group14",
            "PFS2048",
        )
        assert running["registry"][IKEV2_KEY]["EnableServerFragmentation"] == {"kind": "DWord", "value": 1}
        assert "IkeNumEstablishedForInitialQuery" not in running["registry"].get(IKEEXT_KEY, {})
    assert_rolled(site, since, list(NODES))
    assert_settled(site)
    assert all(site.node_enabled(i) for i in (1, 2, 3))
    assert PASSWORD not in str(project.checkpoint(site.stack))

    since = marks(site)
    again = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    for node, seq in zip(site.nodes, since[1], strict=True):
        assert cmdlets(node, seq) == [], again.output
    assert site.device.writes(since[0]) == []


def test_a_policy_change_restarts_the_nodes_one_at_a_time(project: Project, site: Site) -> None:
    for node in site.nodes:
        node.admin("vpn-sessions", "PUT", {"count": 5})
    since = marks(site)
    ipsec = {"encryptionMethod": "AES256", "cipherTransformConstants": "AES256"}
    project.write_stack(site.stack, [site.cluster_decl(ipsec=ipsec)], {})
    preview = project.pulumi("preview", stack=site.stack, check=True)
    assert all(f"vpn-ras-{n}-restart" in preview.output for n in NODES), preview.output
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    for node in site.nodes:
        effective = node.admin("effective")
        assert effective["RemoteAccess"]["vpn"]["policies"]["IKEv2"]["EncryptionMethod"] == "AES256"
        sessions = node.admin("vpn-sessions")
        assert sessions["sessions_dropped"] >= 5  # what a restart costs: why nodes are drained first
    assert_rolled(site, since, list(NODES))
    assert_settled(site)
    outputs = project.pulumi("stack", "output", "--json", stack=site.stack, check=True).json()
    assert outputs["clusters"]["vpn-ras"]["ipsecPolicy"]["EncryptionMethod"] == "AES256"


def test_drift_on_a_node_is_found_and_repaired_restarting_only_that_node(
    project: Project, site: Site
) -> None:
    run_on(
        site.nodes[1],
        ("Set-VpnServerConfiguration", {}, ("RevertToDefault",)),
        ("Remove-ItemProperty", {"Path": PS_IKEV2_KEY, "Name": "EnableServerFragmentation"}, ()),
    )
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=site.stack)
    assert drift.exit_code == 7, drift.output
    since = marks(site)
    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=site.stack, check=True)
    running = site.nodes[1].state()["running"]
    assert running["vpn"]["policies"]["IKEv2"]["EncryptionMethod"] == "AES256"
    assert running["registry"][IKEV2_KEY]["EnableServerFragmentation"] == {"kind": "DWord", "value": 1}
    assert_rolled(site, since, ["rras2"])
    assert_settled(site)
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=site.stack).exit_code == 0


def assert_stopped_at_rras2_then_finished(
    project: Project, site: Site, run: Any, since: tuple[int, list[int]], cause: str
) -> None:
    """The roll stopped at rras2, left drained, rras1 done and rras3 untouched; the next up finishes it."""
    assert run.exit_code != 0, run.output
    assert "rolling restart stopped at node rras2 (it is still drained on the load balancer)" in run.output
    assert "left as they are (rras3)" in run.output and cause in run.output
    assert "Traceback" not in run.output and PASSWORD not in run.output
    assert [c for _, c in cmdlets(site.nodes[2], since[1][2]) if c == "Restart-Service"] == []
    assert (site.node_enabled(1), site.node_enabled(2), site.node_enabled(3)) == (True, False, True)

    since = marks(site)
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    assert_rolled(site, since, ["rras2", "rras3"])
    assert_settled(site)
    assert all(site.node_enabled(i) for i in (1, 2, 3))


def test_a_node_that_fails_to_restart_stops_the_roll_drained(project: Project, site: Site) -> None:
    site.nodes[1].admin("service-faults", "POST", {"service": "RemoteAccess", "times": 1})
    since = marks(site)
    ipsec = {"encryptionMethod": "AES256", "cipherTransformConstants": "AES256", "saLifeTimeSeconds": 14400}
    project.write_stack(site.stack, [site.cluster_decl(ipsec=ipsec)], {})
    run = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack)
    # Fixed (the fault was for one start): the next up finishes the roll from the failed node on.
    assert_stopped_at_rras2_then_finished(project, site, run, since, "left as they are (rras3)")


def test_a_node_unreachable_mid_roll_stops_it_cleanly(project: Project, site: Site) -> None:
    first, second = site.nodes[0], site.nodes[1]
    first_backend = first.twin.app.backend  # the first node's backend, also in a shared twin
    assert first_backend.hostname == "rras1"
    first_backend.restart_seconds = 1.0  # time to lose the second node while the first restarts
    watched = last_seq(first.twin)

    def lose_second_node() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(c == "Restart-Service" for _, c in cmdlets(first, watched)):
                second.set_reachable(False)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=lose_second_node, daemon=True)
    watcher.start()
    since = marks(site)
    ipsec = {"encryptionMethod": "AES256", "cipherTransformConstants": "AES256", "saLifeTimeSeconds": 7200}
    try:
        project.write_stack(site.stack, [site.cluster_decl(ipsec=ipsec)], {})
        run = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack)
    finally:
        watcher.join(timeout=130)
        first_backend.restart_seconds = 0.0
        second.set_reachable(True)
    assert_stopped_at_rras2_then_finished(project, site, run, since, "node rras2: cannot reach")


def test_sstp_offload_and_a_translated_address_reach_every_node(project: Project, site: Site) -> None:
    def sstp_values(node: Node) -> dict[str, Any]:
        return dict(node.state()["running"]["registry"][SSTP_KEY])

    # SSTP passed through: the hashes of RRAS's own certificate binding are RRAS's, left alone
    rras_own = [sstp_values(t) for t in site.nodes]
    decl = site.cluster_decl(protocols=["ikev2", "sstp"])
    decl["ipsec"] = {"encryptionMethod": "AES256", "cipherTransformConstants": "AES256"}
    project.write_stack(site.stack, [decl], site.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    assert [sstp_values(t) for t in site.nodes] == rras_own

    cert, key, digest = certificate("vpn.example.test", 2031)
    decl["sstp"] = {"tlsOffload": TLS_OFFLOAD}
    decl["clientAddress"] = "translated"
    since = marks(site)
    project.write_stack(site.stack, [decl], offload_secrets(cert, key))
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    for node in site.nodes:
        registry = node.state()["running"]["registry"]
        sstp = registry[SSTP_KEY]
        assert sstp["UseHttps"] == {"kind": "DWord", "value": 0}
        assert sstp["isHashConfiguredByAdmin"] == {"kind": "DWord", "value": 1}
        assert sstp["SHA256CertificateHash"]["kind"] == "Binary"
        assert sstp["SHA256CertificateHash"]["value"].lower() == digest  # the load balancer's certificate
        assert "SHA1CertificateHash" not in sstp
        assert registry[IKEEXT_KEY]["IkeNumEstablishedForInitialQuery"] == {"kind": "DWord", "value": 50000}
        effective = node.admin("effective")  # what the restarted services read
        assert effective["IKEEXT"][IKEEXT_KEY]["IkeNumEstablishedForInitialQuery"]["value"] == 50000
        assert effective["RemoteAccess"][SSTP_KEY]["UseHttps"]["value"] == 0
    assert_rolled(site, since, list(NODES))
    assert_settled(site)
    outputs = project.pulumi("stack", "output", "--json", stack=site.stack, check=True).json()
    assert outputs["clusters"]["vpn-ras"]["sstpCertificateSha256"] == digest

    # offload off and the address preserved again: HTTPS restored, the SA-limit workaround gone
    since = marks(site)
    decl["sstp"] = {}
    decl["clientAddress"] = "preserved"
    project.write_stack(site.stack, [decl], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    for node in site.nodes:
        registry = node.state()["running"]["registry"]
        assert not {"UseHttps", "isHashConfiguredByAdmin"} & set(registry[SSTP_KEY])
        assert "IkeNumEstablishedForInitialQuery" not in registry.get(IKEEXT_KEY, {})
        effective = node.admin("effective")
        assert "UseHttps" not in effective["RemoteAccess"][SSTP_KEY]
    assert_rolled(site, since, list(NODES))
    assert_settled(site)
