"""The benchmark's Markdown report."""

from __future__ import annotations

from typing import Any


def _v(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return str(value)


def markdown(result: dict[str, Any]) -> str:
    lines: list[str] = ["# `./run bench`", ""]
    meta = result["meta"]
    lines.append(
        f"Reference cluster: 3 RRAS nodes, IKEv2 only, per cluster; one twin per vendor; the real Pulumi CLI "
        f"{meta.get('cli') or ''} (`--parallel` {meta.get('parallel', 'default')}); product from "
        f"`{meta['product']}`; {meta['latency_ms']:.0f} ms injected before every request. Counted on the "
        "twin's request log. `rounds` = spread of request times / latency (the CLI's own time between "
        "steps included); `chain` = longest run of requests each sent after the previous one was answered; "
        "`depth` = the longest chain of objects in the state's dependency graph; `max/type` = the most "
        "requests to one object type on the device (login and token requests aside)."
    )
    lines.append("")
    lines.append(
        "| vendor | clusters | operation | exit | requests | writes | logins | saves | max/type (type) "
        "| rounds | chain | depth | rounds/depth | chain/depth | wall (s) |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for bench in result["benches"]:
        for r in bench["operations"]:
            ratio = r["rounds"] / r["depth"] if r.get("rounds") is not None and r.get("depth") else None
            chain_ratio = r["chain"] / r["depth"] if r.get("depth") else None
            cells = [
                r["vendor"],
                r["clusters"],
                r["op"],
                r["exit"],
                r["requests"],
                r["writes"],
                r["logins"],
                r["saves"],
                f"{r['max_per_type']} ({r['max_type'] or '-'})",
                _v(r["rounds"]),
                r["chain"],
                _v(r["depth"]),
                _v(ratio),
                _v(chain_ratio),
                f"{r['wall_s']:.2f}",
            ]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    refresh = [
        r for b in result["benches"] for r in b["operations"] if r["op"] == "refresh" and r["per_type"]
    ]
    if refresh:
        lines.append("Refresh requests per object type and device:")
        lines.append("")
        for r in refresh:
            types = ", ".join(f"{t} {n}" for t, n in r["per_type"].items())
            lines.append(f"- {r['vendor']} x{r['clusters']}: {types}")
        lines.append("")
    if result["faults"]:
        lines.append(
            "Fault runs (1 cluster, fresh twin each, chaos mode: the given share of requests answered "
            "502/503, reset, held then reset, or carried out then reset; `up` repeated until exit 0):"
        )
        lines.append("")
        lines.append(
            "| vendor | fault runs | rate | converged in 1 run | converged | max runs | faults injected "
            "| duplicates | orphans |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for f in result["faults"]:
            if not f["ok"]:
                lines.append(f"| {f['vendor']} | failed: {f['error'].splitlines()[-1]} |||||||| ")
                continue
            n = f["fault_runs"]
            share = 100.0 * f["converged_in_1"] / n if n else 0.0
            injected = sum(r["faults"] for r in f["runs"])
            lines.append(
                f"| {f['vendor']} | {n} | {f['rate']:.0%} | {f['converged_in_1']} ({share:.0f}%) "
                f"| {f['converged']} | {_v(f['max_runs_to_converge'])} | {injected} "
                f"| {f['duplicates']} | {f['orphans']} |"
            )
        lines.append("")
        for f in result["faults"]:
            for r in f.get("runs", []):
                if r["duplicates"] or r["orphans"] or not r["converged"]:
                    lines.append(
                        f"- {f['vendor']} run {r['run']} (seed {r['seed']}): exits {r['exits']}; duplicates "
                        f"{r['duplicates'] or 'none'}; orphans {r['orphans'] or 'none'}"
                    )
        lines.append("")
    anchors = result.get("anchors")
    if anchors:
        lines.append(f"Anchors (OpenTofu + terraform-provider-bigip on the F5 twin): {anchors['status']}")
        lines.append("")
    if result.get("failures"):
        lines.append("Failed:")
        lines.append("")
        for failure in result["failures"]:
            lines.append(f"- {failure}")
        lines.append("")
    return "\n".join(lines)
