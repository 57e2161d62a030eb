"""Running the reference clusters through the real Pulumi CLI against in-process twins, and measuring each
operation on the twin's request log."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from emulators.common import start_twin
from emulators.common.tls import TLSMaterial
from tests.bench import analysis
from tests.e2e.devices import view
from tests.e2e.project import PRODUCT, ROOT, Project

#: The operations of one bench run, in order: (key, label, CLI arguments).
OPERATIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("create", "create (`up`)", ("up", "--yes", "--skip-preview")),
    (
        "refresh",
        "refresh (`preview --refresh --expect-no-changes`)",
        ("preview", "--refresh", "--expect-no-changes"),
    ),
    ("noop", "no-op `up`", ("up", "--yes", "--skip-preview")),
    (
        "change",
        "one-property change `up` (persistenceTimeout of one cluster)",
        ("up", "--yes", "--skip-preview"),
    ),
    ("destroy", "destroy", ("destroy", "--yes", "--skip-preview")),
)
#: The persistence timeout the one-property change sets (the default is 3600 s); valid on every vendor.
CHANGED_TIMEOUT = 1800


def copy_product(source: Path, dest: Path) -> Project:
    """The product at ``source`` (the work tree by default; another checkout to measure a release) copied to
    ``dest``, with the work tree's venv."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PRODUCT:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    (dest / "venv").symlink_to(ROOT / "venv")
    return Project(dest)


def reference_clusters(twin: Any, vendor: str, count: int) -> list[dict[str, Any]]:
    """``count`` reference clusters (3 RRAS nodes, IKEv2 only) behind one twin, each on its own addresses."""
    lb = view(vendor, twin).load_balancer()
    clusters = []
    for i in range(1, count + 1):
        clusters.append(
            {
                "name": f"bench{i}",
                "protocols": ["ikev2"],
                "virtualAddress": f"192.0.2.{100 + i}",
                "nodes": [
                    {"name": f"rras{k}", "address": f"198.51.100.{3 * (i - 1) + k + 10}"} for k in (1, 2, 3)
                ],
                "loadBalancer": dict(lb),
            }
        )
    return clusters


def chaos(twin: Any, spec: dict[str, Any] | None) -> None:
    """Turn the twin's seeded random faults on (``spec``: PUT /_twin/chaos) or off (None)."""
    url = f"{twin.url}/_twin/chaos"
    verify = str(twin.tls.ca_path)
    if spec is None:
        resp = requests.delete(url, verify=verify, timeout=30)
    else:
        resp = requests.put(url, json=spec, verify=verify, timeout=30)
    resp.raise_for_status()


@dataclass
class Measured:
    """One CLI operation: its exit code, what the twin saw, how long it took."""

    key: str
    exit: int
    wall: float
    entries: list[dict[str, Any]] = field(repr=False)
    output: str = field(default="", repr=False)


def measure(project: Project, twin: Any, stack: str, key: str, args: tuple[str, ...]) -> Measured:
    admin = twin.admin()
    admin.clear_log()
    start = time.perf_counter()
    try:
        run = project.pulumi(*args, stack=stack)
    except subprocess.TimeoutExpired as exc:  # tests.e2e.project gives every CLI command 600 s
        return Measured(key, -1, time.perf_counter() - start, admin.log(), f"timed out after {exc.timeout} s")
    wall = time.perf_counter() - start
    return Measured(key, run.exit_code, wall, admin.log(), run.output)


def bench_vendor(
    vendor: str,
    clusters: int,
    *,
    tls: TLSMaterial,
    product: Path,
    workdir: Path,
    latency_ms: float,
    operations: list[str],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """The operations on ``clusters`` reference clusters behind one fresh twin of ``vendor``."""
    twin = start_twin(vendor, tls=tls)
    try:
        project = copy_product(product, workdir)
        stack = "bench"
        decls = reference_clusters(twin, vendor, clusters)
        project.write_stack(stack, decls, view(vendor, twin).secrets())
        twin.admin().set_latency(latency_ms)
        rows: list[dict[str, Any]] = []
        graph_depth: int | None = None
        objects: int | None = None
        for key, label, args in OPERATIONS:
            if key not in operations:
                continue
            if key == "change":
                changed = [dict(decls[0], persistenceTimeout=CHANGED_TIMEOUT), *decls[1:]]
                project.write_stack(stack, changed, {})
            progress(f"{vendor} x{clusters}: {key}")
            m = measure(project, twin, stack, key, args)
            if key == "create" and m.exit == 0:
                checkpoint = project.checkpoint(stack)
                graph_depth = analysis.depth(checkpoint)
                objects = len(analysis.custom_resources(checkpoint))
            row = {
                "vendor": vendor,
                "clusters": clusters,
                "op": key,
                "label": label,
                "exit": m.exit,
                "ok": m.exit == 0,
                "wall_s": round(m.wall, 2),
                "latency_ms": latency_ms,
                **analysis.counts(vendor, m.entries),
                "spread_s": round(analysis.spread(m.entries), 3),
                "rounds": _round(analysis.rounds(m.entries, latency_ms / 1000.0)),
                "chain": analysis.chain(m.entries),
            }
            if not row["ok"]:
                row["error"] = _tail(m.output)
            rows.append(row)
        for row in rows:
            row["depth"] = graph_depth
            row["objects"] = objects
        return {"vendor": vendor, "clusters": clusters, "operations": rows}
    finally:
        twin.stop()


def fault_runs(
    vendor: str,
    runs: int,
    *,
    tls: TLSMaterial,
    product: Path,
    workdir: Path,
    rate: float,
    seed: int,
    timeout_s: float,
    max_runs: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """``runs`` fault runs of one reference cluster on ``vendor``: on a fresh twin with the chaos mode on,
    ``up`` until it exits 0 (at most ``max_runs``), then the twin's objects compared with a clean run's."""
    project = copy_product(product, workdir)
    clean_twin = start_twin(vendor, tls=tls)
    try:
        project.write_stack(
            "clean", reference_clusters(clean_twin, vendor, 1), view(vendor, clean_twin).secrets()
        )
        first = project.pulumi(*OPERATIONS[0][2], stack="clean")
        if first.exit_code != 0:
            return {
                "vendor": vendor,
                "ok": False,
                "error": "clean run failed: " + _tail(first.output),
                "runs": [],
            }
        clean = analysis.inventory(vendor, clean_twin.admin().state())
        clean_objects = len(analysis.custom_resources(project.checkpoint("clean")))
    finally:
        clean_twin.stop()
    results: list[dict[str, Any]] = []
    for i in range(runs):
        twin = start_twin(vendor, tls=tls)
        try:
            stack = f"fault{i + 1}"
            project.write_stack(stack, reference_clusters(twin, vendor, 1), view(vendor, twin).secrets())
            chaos(
                twin,
                {
                    "rate": rate,
                    "seed": seed + i,
                    "timeout_s": timeout_s,
                    "actions": ["status", "reset", "timeout", "lost"],
                },
            )
            exits: list[int] = []
            failures: list[str] = []  # why each failed run failed: the CLI's Diagnostics section
            faults = 0
            while len(exits) < max_runs:
                m = measure(project, twin, stack, "create", OPERATIONS[0][2])
                faults += sum(1 for e in m.entries if e.get("chaos"))
                exits.append(m.exit)
                if m.exit == 0:
                    break
                failures.append(_diagnostics(m.output))
            chaos(twin, None)
            after = analysis.inventory(vendor, twin.admin().state())
            duplicates, missing = analysis.duplicates_and_orphans(clean, after)
            state_objects = len(analysis.custom_resources(project.checkpoint(stack)))
            converged = exits[-1] == 0
            # Once a run converged, the state holds every declared object: one missing on the device is an
            # orphan. Before that, a missing object may simply not be made yet.
            orphans = missing if converged else []
            results.append(
                {
                    "run": i + 1,
                    "seed": seed + i,
                    "exits": exits,
                    "failures": failures,
                    "runs": len(exits),
                    "converged": converged,
                    "faults": faults,
                    "duplicates": duplicates,
                    "orphans": orphans,
                    "not_made_yet": [] if converged else missing,
                    "state_objects": state_objects,
                    "missing_from_state": max(clean_objects - state_objects, 0) if converged else None,
                }
            )
            progress(
                f"{vendor} fault run {i + 1}/{runs}: {len(exits)} run(s), exits {exits}, {faults} faults"
            )
        finally:
            twin.stop()
    done = [r for r in results if r["converged"]]
    return {
        "vendor": vendor,
        "ok": True,
        "rate": rate,
        "timeout_s": timeout_s,
        "max_runs": max_runs,
        "fault_runs": len(results),
        "clean_objects": clean_objects,
        "converged_in_1": sum(1 for r in results if r["converged"] and r["runs"] == 1),
        "converged": len(done),
        "max_runs_to_converge": max((r["runs"] for r in done), default=None),
        "duplicates": sum(len(r["duplicates"]) for r in results),
        "orphans": sum(len(r["orphans"]) for r in results),
        "runs": results,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _diagnostics(output: str, lines: int = 40) -> str:
    """The CLI's "Diagnostics:" section (the errors of a failed run), or its last lines without one."""
    text = output.strip()
    start = text.find("Diagnostics:")
    if start < 0:
        return _tail(text)
    section = text[start:]
    for end_marker in ("\nOutputs:", "\nResources:"):
        end = section.find(end_marker)
        if end > 0:
            section = section[:end]
    return "\n".join(section.splitlines()[:lines])


def _tail(output: str, lines: int = 12) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])
