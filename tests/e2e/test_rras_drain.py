"""A drain that drains, end to end through the real Pulumi CLI behind each load-balancer twin
(docs/rras.md#draining-before-a-restart).

Two RRAS nodes (one WinRM twin serving both, NTLM over HTTPS) carry simulated VPN clients that disconnect by
themselves after a while. A policy change rolls the nodes: each is drained on the load balancer, then its
restart waits, counting the node's connections with Get-RemoteAccessConnectionStatistics, until none is
left or ``rras.drainTimeoutSeconds`` has passed. Clients that leave within the timeout are not dropped;
clients that outlast a short timeout are, and the run's output and the restart's ``last_restart`` say how
many, which is what the twin counted as dropped. Changing the timeout alone restarts nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.registry import kinds
from emulators.common import RunningTwin, TLSMaterial, start_twin
from providers.common.resources import type_token
from providers.rras.resources import RrasNodeRestart
from tests.e2e.devices import PASSWORD, USER, Decl, DeviceView, view
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

NODES = ("rras1", "rras2")
BASE: Decl = {"name": "vpn-drain", "virtualAddress": "192.0.2.90", "persistenceTimeout": 1800}
COUNT = "Get-RemoteAccessConnectionStatistics"


@dataclass
class Site:
    device: DeviceView
    winrm: RunningTwin

    @property
    def stack(self) -> str:
        return f"drain-{self.device.kind}"

    def decl(self, timeout: int, **changes: Any) -> Decl:
        assert self.winrm.tls is not None
        nodes = [
            {
                "name": name,
                "address": f"198.51.100.9{i}",
                "management": {
                    "endpoint": f"{self.winrm.url}/{name}/wsman",
                    "user": USER,
                    "passwordSecret": "rrasPassword",
                    "auth": "ntlm",
                    "caBundle": str(self.winrm.tls.ca_path),
                },
            }
            for i, name in enumerate(NODES, start=1)
        ]
        return self.device.cluster(BASE, nodes=nodes, rras={"drainTimeoutSeconds": timeout}, **changes)

    def secrets(self) -> dict[str, str]:
        return self.device.secrets() | {"rrasPassword": PASSWORD}

    def node(self, name: str, sub: str, method: str = "GET", body: Any = None) -> Any:
        return self.winrm.admin()._call(method, f"nodes/{name}/{sub}", body)

    def cmdlets(self, name: str, since: int) -> list[str]:
        return [e["cmdlet"] for e in self.node(name, f"log?since={since}")["entries"] if e.get("cmdlet")]

    def marks(self) -> dict[str, int]:
        return {n: max([0, *(e["seq"] for e in self.node(n, "log")["entries"])]) for n in NODES}

    def last_restarts(self, project: Project) -> dict[str, dict[str, Any]]:
        return {
            r["urn"].rsplit("::", 1)[-1]: r["outputs"]["last_restart"]
            for r in project.checkpoint(self.stack)["checkpoint"]["latest"]["resources"]
            if r["type"] == type_token(RrasNodeRestart)
        }


@pytest.fixture(scope="module", params=kinds())
def site(request: pytest.FixtureRequest, tls: TLSMaterial, project: Project) -> Iterator[Site]:
    device = view(request.param, start_twin(request.param, tls=tls))
    winrm = start_twin("winrm", tls=tls, nodes=list(NODES))
    made = Site(device, winrm)
    project.write_stack(made.stack, [made.decl(60)], made.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=made.stack, check=True)
    yield made
    project.pulumi("destroy", "--yes", "--skip-preview", stack=made.stack)
    for twin in (device.twin, winrm):
        twin.stop()


def roll(project: Project, site: Site, timeout: int, sa_lifetime: int) -> str:
    """A policy change rolled through both nodes; the run's output."""
    project.write_stack(site.stack, [site.decl(timeout, ipsec={"saLifeTimeSeconds": sa_lifetime})], {})
    return project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True).output


def assert_waited_then_restarted(site: Site, since: dict[str, int]) -> None:
    """On each node the connections were counted, then RemoteAccess restarted, and the node was enabled."""
    for name in NODES:
        log = site.cmdlets(name, since[name])
        assert COUNT in log and "Restart-Service" in log, log
        assert log.index(COUNT) < log.index("Restart-Service"), log
        assert site.device.node_enabled(site.decl(0), name)


def leave_once_counted(site: Site, since: dict[str, int]) -> threading.Thread:
    """Each node's clients start leaving (within 1.5 s) once the restart has counted them the first time, so
    the first count surely finds them and later ones see them go, whatever the machine's speed."""

    def watch() -> None:
        waiting = set(NODES)
        deadline = time.monotonic() + 240
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                if COUNT in site.cmdlets(name, since[name]):
                    site.node(name, "vpn-sessions", "PUT", {"count": 4, "spread": [0.3, 1.5]})
                    waiting.discard(name)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_sessions_that_end_within_the_timeout_are_not_dropped(project: Project, site: Site) -> None:
    for name in NODES:
        site.node(name, "vpn-sessions", "PUT", {"count": 4})  # connected until they leave
    since = site.marks()
    watcher = leave_once_counted(site, since)
    try:
        output = roll(project, site, 60, 14400)
    finally:
        watcher.join(timeout=250)
    for name in NODES:
        assert f"{name}: no VPN session left after " in output, output
        assert site.node(name, "vpn-sessions") == {"vpn_sessions": 0, "sessions_dropped": 0}
        assert site.last_restarts(project)[f"vpn-drain-{name}-restart"]["sessions_at_restart"] == 0
        polls = [c for c in site.cmdlets(name, since[name]) if c == COUNT]
        assert len(polls) > 1, polls  # counted again until the clients had gone
    assert_waited_then_restarted(site, since)


def test_sessions_that_outlast_a_short_timeout_are_dropped_and_counted(project: Project, site: Site) -> None:
    dropped = {name: site.node(name, "vpn-sessions")["sessions_dropped"] for name in NODES}
    for name in NODES:
        site.node(name, "vpn-sessions", "PUT", {"count": 3, "duration": 3600})
    since = site.marks()
    output = roll(project, site, 2, 7200)
    for name in NODES:
        line = f"{name}: 3 VPN sessions still up after "
        assert f"warning: {line}" in output, output  # a warning, counted in the run's summary
        assert "the drain timeout of 2 s passed; the restart drops them" in output, output
        last = site.last_restarts(project)[f"vpn-drain-{name}-restart"]
        sessions = site.node(name, "vpn-sessions")
        assert last["sessions_at_restart"] == 3 and last["drain_timeout_seconds"] == 2
        assert sessions["sessions_dropped"] - dropped[name] == last["sessions_at_restart"]
    assert_waited_then_restarted(site, since)


def test_changing_the_drain_timeout_alone_restarts_nothing(project: Project, site: Site) -> None:
    project.write_stack(site.stack, [site.decl(120, ipsec={"saLifeTimeSeconds": 7200})], {})
    preview = project.pulumi("preview", "--json", stack=site.stack, check=True).json()
    steps = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in preview["steps"] if s["op"] != "same"}
    assert not [n for n in steps if n.endswith("-restart")], steps  # no restart is even updated
    # the removals record the new timeout (what a revert's drain would wait): an update of records only
    assert {n: op for n, op in steps.items() if n.endswith("-removal")} == {
        f"vpn-drain-{n}-removal": "update" for n in NODES
    }, steps
    since, lb_since = site.marks(), site.device.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    for name in NODES:
        assert "Restart-Service" not in site.cmdlets(name, since[name])
        writes = [e for e in site.node(name, f"log?since={since[name]}")["entries"] if e.get("write")]
        assert writes == [], writes
    assert site.device.writes(lb_since) == []
