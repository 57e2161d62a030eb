"""What removing a node or the cluster does to the RRAS nodes, end to end through the real Pulumi CLI behind
each load-balancer twin (docs/rras.md#removing-a-node-or-cluster).

``rras.onRemove: keep`` (the default): removing a node from the stack, or destroying it, sends nothing at all
to the node; its custom IPsec policy and registry values stay stored and in effect, and the run warns per
node what stays and how to revert it. Changing ``onRemove`` writes to no node and to no load balancer.
``revert``: the node gets Windows' defaults back and is restarted at once, drained on the load balancer (an
F5 pool has already lost the node's members when a node is removed), its VPN clients dropped after the
drain timeout; the run warns about error 13868. On destroy the nodes are reverted one after the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.registry import kinds
from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.e2e.devices import PASSWORD, USER, Decl, DeviceView, view
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

NODES = ("rras1", "rras2")
BASE: Decl = {"name": "vpn-rm", "virtualAddress": "192.0.2.95", "persistenceTimeout": 1800}
IKEV2_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
CLIENTS_FAIL = "clients whose profile asks for AES fail with error 13868"


@dataclass
class Site:
    device: DeviceView
    winrm: RunningTwin

    @property
    def stack(self) -> str:
        return f"removal-{self.device.kind}"

    def decl(self, on_remove: str, nodes: tuple[str, ...] = NODES) -> Decl:
        assert self.winrm.tls is not None
        declared = [
            {
                "name": name,
                "address": f"198.51.100.10{NODES.index(name) + 1}",
                "management": {
                    "endpoint": f"{self.winrm.url}/{name}/wsman",
                    "user": USER,
                    "passwordSecret": "rrasPassword",
                    "auth": "ntlm",
                    "caBundle": str(self.winrm.tls.ca_path),
                },
            }
            for name in nodes
        ]
        rras = {"onRemove": on_remove, "drainTimeoutSeconds": 1}
        return self.device.cluster(BASE, nodes=declared, rras=rras, ipsec={"encryptionMethod": "AES256"})

    def write(self, project: Project, on_remove: str, nodes: tuple[str, ...] = NODES) -> None:
        project.write_stack(self.stack, [self.decl(on_remove, nodes)], self.secrets())

    def secrets(self) -> dict[str, str]:
        return self.device.secrets() | {"rrasPassword": PASSWORD}

    def node(self, name: str, sub: str, method: str = "GET", body: Any = None) -> Any:
        return self.winrm.admin()._call(method, f"nodes/{name}/{sub}", body)

    def log(self, name: str, since: int) -> list[dict[str, Any]]:
        return list(self.node(name, f"log?since={since}")["entries"])

    def marks(self) -> dict[str, int]:
        return {n: max([0, *(e["seq"] for e in self.log(n, 0))]) for n in NODES}

    def restarts(self, name: str, since: int) -> list[float]:
        return [e["ts"] for e in self.log(name, since) if e.get("cmdlet") == "Restart-Service"]

    def marked(self) -> int:
        """Objects of the load balancer's running configuration carrying this stack's ownership marker."""
        return json.dumps(self.device.admin().state()["running"]).count(f"aovpn-iac:aovpn/{self.stack}")


def custom(site: Site, name: str) -> tuple[bool, str, bool]:
    """(stored policy custom, effective EncryptionMethod, fragmentation value in effect) of a node."""
    running = site.node(name, "state")["running"]
    effective = site.node(name, "effective")["RemoteAccess"]
    return (
        running["vpn"]["policies"]["IKEv2"]["CustomPolicy"],
        effective["vpn"]["policies"]["IKEv2"]["EncryptionMethod"],
        "EnableServerFragmentation" in effective[IKEV2_KEY],
    )


@pytest.fixture(scope="module", params=kinds())
def site(request: pytest.FixtureRequest, tls: TLSMaterial, project: Project) -> Iterator[Site]:
    device = view(request.param, start_twin(request.param, tls=tls))
    winrm = start_twin("winrm", tls=tls, nodes=list(NODES))
    made = Site(device, winrm)
    made.write(project, "keep")
    project.pulumi("up", "--yes", "--skip-preview", stack=made.stack, check=True)
    assert custom(made, "rras1") == custom(made, "rras2") == (True, "AES256", True)
    yield made
    project.pulumi("destroy", "--yes", "--skip-preview", stack=made.stack)
    for twin in (device.twin, winrm):
        twin.stop()


def test_keep_on_removing_a_node_sends_it_nothing_and_says_what_stays(project: Project, site: Site) -> None:
    since = site.marks()
    site.write(project, "keep", ("rras1",))
    out = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True).output
    assert site.log("rras2", since["rras2"]) == []  # not a single request, not even a read
    assert custom(site, "rras2") == (True, "AES256", True)  # stored and in effect, as it was
    warning = "warning: rras2 (cluster vpn-rm) removed from the stack with rras.onRemove: keep"
    assert warning in out, out
    assert "EnableServerFragmentation, ipsec-policy stay on it" in out, out
    assert (
        "Set-VpnServerConfiguration -TunnelType IKEv2 -RevertToDefault" in out and "onRemove: revert" in out
    )
    assert site.restarts("rras1", since["rras1"]) == []


def test_keep_on_destroy_leaves_the_nodes_and_clears_the_load_balancer(project: Project, site: Site) -> None:
    since = site.marks()
    out = project.pulumi("destroy", "--yes", "--skip-preview", stack=site.stack, check=True).output
    assert site.log("rras1", since["rras1"]) == []
    assert custom(site, "rras1") == (True, "AES256", True)
    assert "warning: rras1 (cluster vpn-rm) removed from the stack with rras.onRemove: keep" in out, out
    assert site.marked() == 0


def test_changing_on_remove_writes_to_no_node_and_no_load_balancer(project: Project, site: Site) -> None:
    site.write(project, "keep")  # both nodes back: they still hold the settings, found right
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    since, lb_since = site.marks(), site.device.last_seq()
    site.write(project, "revert")
    out = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True).output
    for name in NODES:
        assert [e for e in site.log(name, since[name]) if e.get("write")] == [], name
    assert site.device.writes(lb_since) == []
    assert "rras.onRemove is revert" in out and CLIENTS_FAIL.replace("clients", "") in out, out


def test_revert_on_removing_a_node_restarts_it_drained_with_the_defaults(
    project: Project, site: Site
) -> None:
    site.node("rras2", "vpn-sessions", "PUT", {"count": 2})  # clients that outlast the 1 s drain timeout
    dropped = site.node("rras2", "vpn-sessions")["sessions_dropped"]
    since, lb_since = site.marks(), site.device.last_seq()
    site.write(project, "revert", ("rras1",))
    out = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True).output
    assert custom(site, "rras2") == (False, "DES3", False)  # the defaults, in effect now
    assert site.restarts("rras2", since["rras2"]) and site.restarts("rras1", since["rras1"]) == []
    assert site.node("rras2", "vpn-sessions")["sessions_dropped"] - dropped == 2
    assert "warning: rras2: 2 VPN sessions still up after" in out, out
    reverted = (
        "warning: rras2: reverted to Windows' defaults (rras.onRemove: revert): EnableServerFragmentation, "
    )
    assert f"{reverted}ipsec-policy; " in out, out
    assert CLIENTS_FAIL in out, out
    if site.device.kind == "f5":  # the pool update took the node's members out before this ran
        assert "not drained (the f5 load balancer answered: " in out and "was not found" in out, out
    else:
        (window,) = site.device.drain_windows(lb_since, site.decl("revert"), ["rras2"]).values()
        _, drained, enabled = window
        assert drained <= min(site.restarts("rras2", since["rras2"])) <= enabled
    assert custom(site, "rras1") == (True, "AES256", True)


def test_revert_on_destroy_reverts_the_nodes_one_after_the_other(project: Project, site: Site) -> None:
    site.write(project, "revert")  # rras2 back, configured again
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    assert custom(site, "rras2") == (True, "AES256", True)
    since, lb_since = site.marks(), site.device.last_seq()
    out = project.pulumi("destroy", "--yes", "--skip-preview", stack=site.stack, check=True).output
    for name in NODES:
        assert custom(site, name) == (False, "DES3", False), name
        assert f"warning: {name}: reverted to Windows' defaults (rras.onRemove: revert)" in out, out
    windows = site.device.drain_windows(lb_since, site.decl("revert"), ["rras2", "rras1"])
    for name in NODES:
        _, drained, enabled = windows[name]
        assert drained <= min(site.restarts(name, since[name])) <= enabled, (name, windows)
    assert windows["rras2"][2] <= windows["rras1"][0]  # rras1 drained only once rras2 was done
    assert site.marked() == 0
