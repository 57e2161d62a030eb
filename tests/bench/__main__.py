"""``./run bench``: see tests/bench/__init__.py; ``--help`` for the options."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from components.registry import kinds
from emulators.common import ensure_tls
from tests.bench import anchors, report, runner
from tests.e2e.project import ROOT
from tests.pulumi_cli import pulumi_bin

OPS = [key for key, _, _ in runner.OPERATIONS]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./run bench", description=(sys.modules["tests.bench"].__doc__ or "")
    )
    parser.add_argument("--vendor", nargs="+", choices=kinds(), default=list(kinds()), help="default: all")
    parser.add_argument("--clusters", type=int, nargs="+", default=[1, 5, 20], help="cluster counts (1 5 20)")
    parser.add_argument("--ops", nargs="+", choices=OPS, default=OPS, help="operations (all)")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="injected before every request (100)")
    parser.add_argument("--fault-runs", type=int, default=20, help="fault runs per vendor at 1 cluster (20)")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of requests faulted (0.2)")
    parser.add_argument("--fault-seed", type=int, default=1, help="seed of the first fault run (1)")
    parser.add_argument("--fault-timeout-s", type=float, default=2.0, help="how long a timeout holds (2)")
    parser.add_argument("--max-runs", type=int, default=6, help="`up` runs per fault run at most (6)")
    parser.add_argument(
        "--parallel",
        type=int,
        help="PULUMI_PARALLEL for the CLI runs (the engine's default: 4 per CPU)",
    )
    parser.add_argument("--no-anchors", action="store_true", help="skip OpenTofu + terraform-provider-bigip")
    parser.add_argument("--product", type=Path, default=ROOT, help="the product to measure (the work tree)")
    parser.add_argument("--markdown", type=Path, help="write the Markdown report here too")
    parser.add_argument("--json", type=Path, help="write every measurement as JSON here")
    parser.add_argument(
        "--rras", action="store_true", help="the RRAS-node bench instead (tests/bench/rras.py)"
    )
    parser.add_argument("--nodes", type=int, default=3, help="--rras: nodes")
    return parser.parse_args(argv)


def _progress(message: str) -> None:
    print(f"bench: {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.rras:
        from tests.bench.rras import bench_rras

        return bench_rras(argparse.Namespace(latency_ms=sorted({0.0, args.latency_ms}), nodes=args.nodes))
    product = args.product.resolve()
    if args.parallel:
        os.environ["PULUMI_PARALLEL"] = str(args.parallel)  # the CLI runs inherit the environment
    cli = subprocess.run(
        [pulumi_bin(), "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    result: dict[str, Any] = {
        "meta": {
            "cli": cli,
            "product": str(product),
            "latency_ms": args.latency_ms,
            "parallel": args.parallel or f"default ({4 * (os.cpu_count() or 1)})",
            "vendors": args.vendor,
            "clusters": args.clusters,
            "ops": args.ops,
            "fault_runs": args.fault_runs,
            "fault_rate": args.fault_rate,
        },
        "benches": [],
        "faults": [],
        "anchors": None,
        "failures": [],
    }
    with tempfile.TemporaryDirectory(prefix="aovpn-bench-") as tmpdir:
        tmp = Path(tmpdir)
        tls = ensure_tls(tmp / "tls")
        if "f5" in args.vendor and not args.no_anchors:
            _progress("anchors: tests/bench_anchors/install.sh")
            found, status = anchors.locate()
            if found is not None:
                status += "; the tofu run against the twin is not written (it could not be tried here)"
            result["anchors"] = {"status": status}
        for vendor in args.vendor:
            for count in args.clusters:
                bench = runner.bench_vendor(
                    vendor,
                    count,
                    tls=tls,
                    product=product,
                    workdir=tmp / f"{vendor}-{count}",
                    latency_ms=args.latency_ms,
                    operations=args.ops,
                    progress=_progress,
                )
                result["benches"].append(bench)
                for row in bench["operations"]:
                    if not row["ok"]:
                        result["failures"].append(f"{vendor} x{count} {row['op']}: exit {row['exit']}")
            if args.fault_runs > 0:
                faults = runner.fault_runs(
                    vendor,
                    args.fault_runs,
                    tls=tls,
                    product=product,
                    workdir=tmp / f"{vendor}-faults",
                    rate=args.fault_rate,
                    seed=args.fault_seed,
                    timeout_s=args.fault_timeout_s,
                    max_runs=args.max_runs,
                    progress=_progress,
                )
                result["faults"].append(faults)
                if not faults["ok"]:
                    result["failures"].append(f"{vendor} fault runs: {faults['error'].splitlines()[-1]}")
                else:
                    for r in faults["runs"]:
                        if not r["converged"] or r["duplicates"] or r["orphans"]:
                            result["failures"].append(
                                f"{vendor} fault run {r['run']}: exits {r['exits']}, "
                                f"{len(r['duplicates'])} duplicates, {len(r['orphans'])} orphans"
                            )
    text = report.markdown(result)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
