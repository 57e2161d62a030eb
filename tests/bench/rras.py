"""``./run bench --rras``: RRAS nodes over PowerShell Remoting behind an F5 twin (sessions, commands, the
serial roll) under injected WinRM latency."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

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
