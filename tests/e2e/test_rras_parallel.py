"""The RRAS node settings start at once, in parallel with the load-balancer objects; only the drained
restarts (and a node's removal record, whose delete drains it) wait for the load balancer. End to end
through the real Pulumi CLI behind each load-balancer twin (components/rras.py, the dependency graph).

- The graph the engine recorded (``pulumi stack export``): no node setting (policy, registry value, build
  check) depends, directly or transitively, on a load-balancer object; every restart and every removal
  record does; each removal record depends on its node's settings (so on delete it goes first: it reverts
  them and restarts the node drained, then the load-balancer objects go); the restarts are chained and wait
  for every node's settings.
- Under injected latency on the load-balancer twin and the WinRM twin, the first command to a node arrives
  before the last load-balancer object write ends (the twins' request logs, in order; never wall time), and
  no node restarts before the last of them ended.
- A stack made with the previous graph (the committed components/rras.py, providers/rras/removal.py and
  resources.py written into the project copy) upgrades with nothing created, replaced or deleted, and no
  request written to any device; a destroy of such a state (``rras.onRemove: revert``) still reverts each
  node, drained, one after the other.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.registry import kinds
from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.e2e.devices import PASSWORD, USER, Decl, DeviceView, view
from tests.e2e.project import ROOT, Project

pytestmark = pytest.mark.e2e

NODES = ("rras1", "rras2")
BASE: Decl = {"name": "vpn-par", "virtualAddress": "192.0.2.97", "persistenceTimeout": 1800}
#: Injected per request (ms): on the load balancer, and on the WinRM twin (every WSMan request).
LB_LATENCY_MS = 250.0
WINRM_LATENCY_MS = 10.0
#: The types of the node settings (and the build check), which must not wait for the load balancer.
SETTINGS = {
    "rras:IpsecPolicy",
    "rras:RegistryValue",
    "rras:TlsRegistryValue",
    "rras:AcceptedRootCertificate",
    "rras:WindowsBuild",
}
#: What the previous graph was made of, for the upgrade test: these files at the commit before the change.
PREVIOUS = ("components/rras.py", "providers/rras/removal.py", "providers/rras/resources.py")
PREVIOUS_COMMIT = "46643df62d928ba783cdbbd515ad40a96f89ba3c"


@dataclass
class Site:
    device: DeviceView
    winrm: RunningTwin
    stack: str

    def decl(self, on_remove: str = "keep") -> Decl:
        assert self.winrm.tls is not None
        declared = [
            {
                "name": name,
                "address": f"198.51.100.12{NODES.index(name) + 1}",
                "management": {
                    "endpoint": f"{self.winrm.url}/{name}/wsman",
                    "user": USER,
                    "passwordSecret": "rrasPassword",
                    "auth": "ntlm",
                    "caBundle": str(self.winrm.tls.ca_path),
                },
            }
            for name in NODES
        ]
        rras = {"onRemove": on_remove, "drainTimeoutSeconds": 1}
        return self.device.cluster(
            BASE,
            nodes=declared,
            rras=rras,
            ipsec={"encryptionMethod": "AES256"},
            ikev2={"crlCheck": True, "idleTimeoutMinutes": 10},
        )

    def write(self, project: Project, on_remove: str = "keep") -> None:
        secrets = self.device.secrets() | {"rrasPassword": PASSWORD}
        project.write_stack(self.stack, [self.decl(on_remove)], secrets)

    def node(self, name: str, sub: str, method: str = "GET", body: Any = None) -> Any:
        return self.winrm.admin()._call(method, f"nodes/{name}/{sub}", body)

    def log(self, name: str, since: int = 0) -> list[dict[str, Any]]:
        return list(self.node(name, f"log?since={since}")["entries"])

    def marks(self) -> dict[str, int]:
        return {n: max([0, *(e["seq"] for e in self.log(n))]) for n in NODES}

    def commands(self, since: dict[str, int]) -> list[dict[str, Any]]:
        """The WSMan requests of every node after ``since`` that ran a command."""
        return [e for n in NODES for e in self.log(n, since[n]) if e.get("cmdlet")]

    def node_writes(self, since: dict[str, int]) -> list[str]:
        return [f"{e['node']}: {e['cmdlet']}" for e in self.commands(since) if e.get("write")]

    def custom(self, name: str) -> tuple[bool, str]:
        """(stored policy custom, EncryptionMethod RemoteAccess runs with) of a node."""
        running = self.node(name, "state")["running"]
        effective = self.node(name, "effective")["RemoteAccess"]
        return (
            running["vpn"]["policies"]["IKEv2"]["CustomPolicy"],
            effective["vpn"]["policies"]["IKEv2"]["EncryptionMethod"],
        )

    def marked(self) -> int:
        return json.dumps(self.device.admin().state()["running"]).count(f"aovpn-iac:aovpn/{self.stack}")


@pytest.fixture(scope="module", params=kinds())
def site(request: pytest.FixtureRequest, tls: TLSMaterial, project: Project) -> Iterator[Site]:
    device = view(request.param, start_twin(request.param, tls=tls))
    winrm = start_twin("winrm", tls=tls, nodes=list(NODES))
    made = Site(device, winrm, f"parallel-{device.kind}")
    yield made
    for stack in (made.stack, f"{made.stack}-upgrade"):
        if stack in project.stacks:
            project.pulumi("destroy", "--yes", "--skip-preview", stack=stack)
    for twin in (device.twin, winrm):
        twin.stop()


# --- the dependency graph the engine recorded --------------------------------------------------------------


def resources(project: Project, stack: str) -> list[dict[str, Any]]:
    exported = project.pulumi("stack", "export", stack=stack, check=True).json()
    return list(exported["deployment"]["resources"])


def kind(resource: dict[str, Any]) -> str:
    """``rras:IpsecPolicy`` for ``pulumi-python:dynamic/rras:IpsecPolicy``."""
    return str(resource["type"]).removeprefix("pulumi-python:dynamic/")


def name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def graph(found: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Per resource name: the names it depends on directly (depends_on and property dependencies)."""
    urns = {r["urn"] for r in found}
    edges: dict[str, set[str]] = {}
    for r in found:
        deps = set(r.get("dependencies") or [])
        for more in (r.get("propertyDependencies") or {}).values():
            deps |= set(more)
        edges[name(r["urn"])] = {name(d) for d in deps if d in urns}
    return edges


def closure(edges: dict[str, set[str]], start: str) -> set[str]:
    """Everything ``start`` depends on, directly or transitively."""
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(edges.get(n, ()))
    return seen


def check_graph(found: list[dict[str, Any]], device: str) -> None:
    kinds_by_name = {name(r["urn"]): kind(r) for r in found if r.get("custom")}
    lb = {n for n, k in kinds_by_name.items() if k.split(":", 1)[0] == device}
    settings = {n for n, k in kinds_by_name.items() if k in SETTINGS}
    restarts = [n for n, k in kinds_by_name.items() if k == "rras:NodeRestart"]
    removals = [n for n, k in kinds_by_name.items() if k == "rras:NodeRemoval"]
    assert lb and len(restarts) == len(removals) == len(NODES), kinds_by_name
    assert {n for n in settings if n.endswith("-ipsec-policy")} == {
        f"vpn-par-{n}-ipsec-policy" for n in NODES
    }
    edges = graph(found)
    for setting in settings:
        assert not closure(edges, setting) & lb, (setting, closure(edges, setting) & lb)
        assert not closure(edges, setting) & (set(restarts) | set(removals)), setting
    for restart in restarts:
        upstream = closure(edges, restart)
        assert lb <= upstream, (restart, lb - upstream)  # every load-balancer object exists before it
        assert settings <= upstream, (restart, settings - upstream)  # every node's settings written first
    assert f"vpn-par-{NODES[0]}-restart" in closure(edges, f"vpn-par-{NODES[1]}-restart")  # one at a time
    for node in NODES:
        removal = f"vpn-par-{node}-removal"
        upstream = closure(edges, removal)
        # deleted before the load-balancer objects (its revert drains the node) and before the node's
        # settings (it reverts them first); the removals one node after the other
        assert lb <= upstream, (removal, lb - upstream)
        mine = {s for s in settings if s.startswith(f"vpn-par-{node}-")}
        assert mine and mine <= upstream, (removal, mine - upstream)
    assert f"vpn-par-{NODES[0]}-removal" in closure(edges, f"vpn-par-{NODES[1]}-removal")


# --- the timing of the requests ----------------------------------------------------------------------------


def rounds(site: Site, lb_since: int, node_since: dict[str, int]) -> dict[str, Any]:
    """Where the first node command and the first node setting write fell among the load-balancer object
    writes of the run (its writes less the drains), in request rounds of the injected load-balancer latency
    counted from the run's first load-balancer request. A node's first command may be its Windows build
    check, which never waited for anything; its first write is a setting."""
    lb_log = site.device.admin().log(since=lb_since)
    drains = {ts for ts, _, _ in site.device.drain_events(lb_since, site.decl())}
    writes = [e for e in lb_log if e.get("write") and e["ts"] not in drains]
    drain_entries = [e for e in lb_log if e["ts"] in drains]
    commands = site.commands(node_since)
    node_writes = [e for e in commands if e.get("write") and "Restart-Service" not in e["cmdlet"]]
    restarts = [e for e in commands if "Restart-Service" in e["cmdlet"]]
    assert writes and node_writes and restarts and drain_entries
    start = min(e["t"][0] for e in lb_log)
    first_command = min(e["t"][0] for e in commands)
    first_write = min(e["t"][0] for e in node_writes)
    last_write_end = max(e["t"][1] for e in writes)
    latency = LB_LATENCY_MS / 1000.0
    return {
        "lb_object_writes": len(writes),
        "first_node_command_round": round((first_command - start) / latency, 1),
        "first_node_write_round": round((first_write - start) / latency, 1),
        "last_lb_object_write_end_round": round((last_write_end - start) / latency, 1),
        "lb_writes_ended_before_first_node_write": sum(1 for e in writes if e["t"][1] <= first_write),
        "lb_writes_started_after_first_node_write": sum(1 for e in writes if e["t"][0] >= first_write),
        "node_setting_writes_before_last_lb_write_end": sum(
            1 for e in node_writes if e["t"][0] < last_write_end
        ),
        "node_setting_writes": len(node_writes),
        "first_drain_after_last_lb_write": min(e["t"][0] for e in drain_entries) >= last_write_end,
        "first_restart_after_last_lb_write": min(e["t"][0] for e in restarts) >= last_write_end,
    }


def test_node_settings_start_with_the_load_balancer_and_only_restarts_wait(
    project: Project, site: Site
) -> None:
    site.write(project)
    lb_since, node_since = site.device.last_seq(), site.marks()
    with site.device.admin().latency(LB_LATENCY_MS), site.winrm.admin().latency(WINRM_LATENCY_MS):
        run = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    measured = rounds(site, lb_since, node_since)
    print(f"\n{site.device.kind}: {json.dumps(measured)}")
    # the first setting written to a node arrived while the load balancer was still being written
    assert measured["lb_writes_started_after_first_node_write"] >= 1, (measured, run.output)
    assert measured["lb_writes_ended_before_first_node_write"] < measured["lb_object_writes"], measured
    # and no node was drained or restarted before the last load-balancer object was written
    assert measured["first_drain_after_last_lb_write"] and measured["first_restart_after_last_lb_write"]
    for node in NODES:
        assert site.custom(node) == (True, "AES256"), node
    windows = site.device.drain_windows(lb_since, site.decl(), list(NODES))
    assert windows[NODES[0]][2] <= windows[NODES[1]][0], windows  # one node after the other

    check_graph(resources(project, site.stack), site.device.kind)

    lb_since, node_since = site.device.last_seq(), site.marks()
    again = project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    assert site.device.writes(lb_since) == [] and site.commands(node_since) == [], again.output


def test_a_preview_of_a_new_stack_plans_the_same_graph(project: Project, site: Site) -> None:
    """The engine's JSON preview of a stack that does not exist yet: the graph before anything is made."""
    stack = f"{site.stack}-upgrade"
    secrets = site.device.secrets() | {"rrasPassword": PASSWORD}
    project.write_stack(stack, [site.decl()], secrets)
    preview = project.pulumi("preview", "--json", stack=stack, check=True).json()
    planned = [s["newState"] for s in preview["steps"] if s.get("newState")]
    assert {s["op"] for s in preview["steps"]} == {"create"}, preview["steps"]
    check_graph(planned, site.device.kind)


def _previous() -> dict[str, str]:
    """The files of the previous graph as they were at PREVIOUS_COMMIT, by path."""
    return {
        path: subprocess.run(
            ["git", "show", f"{PREVIOUS_COMMIT}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        for path in PREVIOUS
    }


def _use(project: Project, files: dict[str, str]) -> None:
    for path, text in files.items():
        (project.path / path).write_text(text)


def test_a_stack_of_the_previous_graph_upgrades_writing_nothing_and_still_reverts_drained(
    project: Project, site: Site
) -> None:
    stack = f"{site.stack}-upgrade"
    if site.stack in project.stacks:  # its objects carry the same names on the load balancer
        project.pulumi("destroy", "--yes", "--skip-preview", stack=site.stack, check=True)
        project.stacks.discard(site.stack)
    current = {path: (project.path / path).read_text() for path in PREVIOUS}
    previous = _previous()
    assert previous != current
    secrets = site.device.secrets() | {"rrasPassword": PASSWORD}
    project.write_stack(stack, [site.decl("revert")], secrets)
    try:
        _use(project, previous)
        project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    finally:
        _use(project, current)
    for node in NODES:
        assert site.custom(node) == (True, "AES256"), node

    preview = project.pulumi("preview", "--json", stack=stack, check=True).json()
    ops = {(s["op"], name(s["urn"])) for s in preview["steps"] if s["op"] != "same"}
    assert {op for op, _ in ops} <= {"update"}, ops  # nothing created, replaced or deleted
    assert {n for _, n in ops} <= {f"vpn-par-{n}-removal" for n in NODES}, ops  # records only
    lb_since, node_since = site.device.last_seq(), site.marks()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert site.device.writes(lb_since) == [] and site.node_writes(node_since) == []
    check_graph(resources(project, stack), site.device.kind)

    # A state of the previous graph destroyed by this code (its removals after the settings, as it
    # recorded them): every node reverted, drained, one after the other.
    try:
        _use(project, previous)
        project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    finally:
        _use(project, current)
    lb_since, node_since = site.device.last_seq(), site.marks()
    out = project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True).output
    for node in NODES:
        assert site.custom(node) == (False, "DES3"), (node, out)
        assert f"warning: {node}: reverted to Windows' defaults (rras.onRemove: revert)" in out, out
    windows = site.device.drain_windows(lb_since, site.decl(), list(reversed(NODES)))
    restarts = {
        n: [e["ts"] for e in site.log(n, node_since[n]) if "Restart-Service" in (e.get("cmdlet") or "")]
        for n in NODES
    }
    for node in NODES:
        _, drained, enabled = windows[node]
        assert restarts[node] and drained <= min(restarts[node]) <= enabled, (node, windows, restarts)
    assert windows[NODES[1]][2] <= windows[NODES[0]][0], windows
    assert site.marked() == 0
    project.stacks.discard(stack)
