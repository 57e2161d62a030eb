"""``./run bench``: round trips, writes and wall time of the F5 path under injected latency.

Starts an F5 twin in this process, copies the project to a temporary directory, and runs through
the real Pulumi CLI: a first ``up`` (create), a second ``up`` (nothing to change), ``preview --refresh``
(the drift check) and ``destroy``, each at several injected per-request latencies. Prints a Markdown
table (BENCHMARKS.md keeps the last one). Wall time includes starting the program and the provider host.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from components.registry import kinds
from emulators.common import ensure_tls, start_twin
from tests.e2e.devices import PASSWORD, USER, view
from tests.e2e.project import Project, copy_product


def _project(tmp: Path) -> Project:
    return copy_product(tmp)


def _cluster(twin: Any, nodes: int, protocols: list[str], vendor: str = "f5") -> dict[str, Any]:
    return {
        "name": "bench",
        "protocols": protocols,
        "virtualAddress": "192.0.2.50",
        "nodes": [{"name": f"rras{i}", "address": f"198.51.100.{10 + i}"} for i in range(1, nodes + 1)],
        "loadBalancer": view(vendor, twin).load_balancer(),
    }


def measure(project: Project, twin: Any, stack: str, args: list[str]) -> dict[str, Any]:
    admin = twin.admin()
    admin.clear_log()
    start = time.perf_counter()
    run = project.pulumi(*args, stack=stack)
    wall = time.perf_counter() - start
    counters = admin.counters()
    logins = sum(
        v for k, v in counters["by_request"].items() if k.endswith(("/authn/login", "/config/login"))
    )
    return {
        "op": " ".join(a for a in args if not a.startswith("--yes") and a != "--skip-preview"),
        "exit": run.exit_code,
        "requests": counters["total"],
        "writes": counters["writes"],
        "logins": logins,
        "wall": wall,
    }


def _managed_cluster(lb: Any, nodes: list[Any], vendor: str) -> dict[str, Any]:
    """The benchmark cluster with every node managed over PowerShell Remoting (one twin per node)."""
    cluster = _cluster(lb, len(nodes), ["ikev2", "sstp"], vendor)
    for decl, twin in zip(cluster["nodes"], nodes, strict=True):
        decl["management"] = {
            "endpoint": f"{twin.url}/wsman",
            "user": USER,
            "passwordSecret": "rrasPassword",
            "auth": "basic",
            "caBundle": str(twin.tls.ca_path),
        }
    return cluster


def measure_rras(project: Project, lb: Any, nodes: list[Any], stack: str, args: list[str]) -> dict[str, Any]:
    for twin in (lb, *nodes):
        twin.admin().clear_log()
    start = time.perf_counter()
    run = project.pulumi(*args, stack=stack)
    wall = time.perf_counter() - start
    entries = [e for twin in nodes for e in twin.admin().log()]
    return {
        "op": " ".join(a for a in args if not a.startswith("--yes") and a != "--skip-preview"),
        "exit": run.exit_code,
        "requests": len(entries),
        "pools": sum(1 for e in entries if e.get("wsman") == "Create"),
        "commands": sum(1 for e in entries if e.get("cmdlet")),
        "writes": sum(1 for e in entries if e.get("cmdlet") and e.get("write")),
        "restarts": sum(1 for e in entries if e.get("cmdlet") == "Restart-Service"),
        "lb_writes": lb.admin().counters()["writes"],
        "wall": wall,
    }


def bench_rras(args: argparse.Namespace) -> int:
    """RRAS nodes over PowerShell Remoting behind an F5 twin: sessions, commands, the serial roll."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        tls = ensure_tls(tmp / "tls")
        for latency in args.latency_ms:
            lb = start_twin("f5", tls=tls)
            nodes = [
                start_twin("winrm", tls=tls, hostname=f"rras{i}", allow_basic=True)
                for i in range(1, args.nodes + 1)
            ]
            try:
                project_dir = tmp / f"project-{int(latency)}"
                project_dir.mkdir()
                project = _project(project_dir)
                stack = "bench"
                cluster = _managed_cluster(lb, nodes, "f5")
                project.write_stack(stack, [cluster], view("f5", lb).secrets() | {"rrasPassword": PASSWORD})
                for twin in nodes:
                    twin.admin().set_latency(latency)
                changed = {
                    **cluster,
                    "ipsec": {"encryptionMethod": "AES256", "cipherTransformConstants": "AES256"},
                }
                for op, decl in (
                    (["up", "--yes", "--skip-preview"], None),
                    (["up", "--yes", "--skip-preview"], None),
                    (["preview", "--refresh", "--expect-no-changes"], None),
                    (["up", "--yes", "--skip-preview"], changed),
                    (["destroy", "--yes", "--skip-preview"], None),
                ):
                    if decl is not None:
                        project.write_stack(stack, [decl], {})
                    row = measure_rras(project, lb, nodes, stack, op)
                    row["latency"] = latency
                    if decl is not None:
                        row["op"] += " (policy change)"
                    rows.append(row)
            finally:
                for twin in (lb, *nodes):
                    twin.stop()
    print(f"{args.nodes} RRAS nodes over PowerShell Remoting (IKEv2 + SSTP) behind one f5 twin")
    print(
        "| latency/request | operation | exit | WinRM requests | runspace pools | commands | write commands "
        "| restarts | LB writes | wall (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['latency']:.0f} ms | {r['op']} | {r['exit']} | {r['requests']} | {r['pools']} | "
            f"{r['commands']} | {r['writes']} | {r['restarts']} | {r['lb_writes']} | {r['wall']:.2f} |"
        )
    return 0 if all(r["exit"] == 0 for r in rows) else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./run bench", description=__doc__)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0.0, 50.0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--vendor", choices=kinds(), default="f5")
    parser.add_argument("--rras", action="store_true", help="RRAS nodes over PowerShell Remoting too")
    args = parser.parse_args(argv)
    if args.rras:
        return bench_rras(args)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        tls = ensure_tls(tmp / "tls")
        for latency in args.latency_ms:
            twin = start_twin(args.vendor, tls=tls)
            try:
                project_dir = tmp / f"project-{int(latency)}"
                project_dir.mkdir()
                project = _project(project_dir)
                stack = "bench"
                project.write_stack(
                    stack,
                    [_cluster(twin, args.nodes, ["ikev2", "sstp"], args.vendor)],
                    view(args.vendor, twin).secrets(),
                )
                twin.admin().set_latency(latency)
                for op in (
                    ["up", "--yes", "--skip-preview"],
                    ["up", "--yes", "--skip-preview"],
                    ["preview", "--refresh", "--expect-no-changes"],
                    ["destroy", "--yes", "--skip-preview"],
                ):
                    row = measure(project, twin, stack, op)
                    row["latency"] = latency
                    rows.append(row)
            finally:
                twin.stop()
    print(f"{args.nodes} RRAS nodes, IKEv2 + SSTP on one {args.vendor} twin")
    print("| latency/request | operation | exit | requests | writes | logins | wall (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['latency']:.0f} ms | {r['op']} | {r['exit']} | {r['requests']} | {r['writes']} | "
            f"{r['logins']} | {r['wall']:.2f} |"
        )
    return 0 if all(r["exit"] in (0,) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
