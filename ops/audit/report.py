"""The audit's report: per cluster (or audited load balancer) the services found, the nodes behind them and
every finding, severity first, with its evidence, what users see and the fix; as text for a person and as
JSON. Exit code: 0 nothing above info, 8 warnings or critical findings, 1 the audit failed (an appliance or
node could not be read: the provider's message names the device, the object, the status and vendor code).

The audit sends reads only (HTTP GETs, PowerShell Get- cmdlets), so ``writes`` in the JSON is 0 by
construction; tests/audit prove it on the twins' request logs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ops.audit.model import SEVERITIES, Finding, FoundService, NodeAudit

FINDINGS_EXIT = 8
FAILED_EXIT = 1
RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass
class ClusterReport:
    """One declared cluster, or the load balancer of ``aovpn:audit``."""

    name: str
    kind: str
    url: str
    services: list[FoundService] = field(default_factory=list)
    nodes: list[NodeAudit] = field(default_factory=list)
    #: the load balancer's findings, and the audit's own (nodes not audited, service not found)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def all_findings(self) -> list[Finding]:
        return [*self.findings, *(f for n in self.nodes for f in n.findings)]

    def all_errors(self) -> list[str]:
        return [*self.errors, *(n.error for n in self.nodes if n.error)]


@dataclass
class Report:
    stack: str
    clusters: list[ClusterReport] = field(default_factory=list)
    #: problems outside any cluster (the stack's config could not be read or validated)
    errors: list[str] = field(default_factory=list)

    def findings(self) -> list[Finding]:
        return [f for c in self.clusters for f in c.all_findings()]

    def all_errors(self) -> list[str]:
        return [*self.errors, *(e for c in self.clusters for e in c.all_errors())]

    @property
    def exit_code(self) -> int:
        if self.all_errors():
            return FAILED_EXIT
        return FINDINGS_EXIT if any(f.severity != "info" for f in self.findings()) else 0

    def counts(self) -> dict[str, int]:
        found = self.findings()
        return {s: sum(1 for f in found if f.severity == s) for s in SEVERITIES}


def ordered(findings: list[Finding]) -> list[Finding]:
    """Severity first (critical, warning, info), then by check id; stable otherwise."""
    return sorted(findings, key=lambda f: (RANK.get(f.severity, len(RANK)), f.check))


def _show(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _finding_lines(f: Finding, indent: str) -> list[str]:
    lines = [f"{indent}[{f.severity}] {f.check}: {f.title}"]
    for e in f.evidence:
        lines.append(f"{indent}    evidence: {e.device}: {e.obj} {e.prop} = {_show(e.found)}")
    lines.append(f"{indent}    symptom: {f.symptom}")
    lines.append(f"{indent}    fix: {f.fix}")
    return lines


def _service_line(s: FoundService) -> str:
    parts = [f"{s.virtual_address}: {', '.join(s.protocols) or 'no protocol'}"]
    parts.append(f"nodes {', '.join(s.node_addresses) or 'none'}")
    parts.append(f"client address {s.client_address}")
    if s.offload_certificate_sha256:
        parts.append(f"SSTP TLS offloaded (certificate SHA-256 {s.offload_certificate_sha256})")
    if s.objects:
        parts.append("objects " + ", ".join(f"{k}={v}" for k, v in sorted(s.objects.items())))
    return "; ".join(parts)


def _node_label(n: NodeAudit) -> str:
    node = n.node
    name = node.computer_name or node.name
    label = f"node {name} ({node.address})" if name else f"node {node.address}"
    if node.windows_build is not None:
        label += f", Windows build {node.windows_build}"
    return label


def summary(report: Report) -> str:
    counts = report.counts()
    text = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
    status = {0: "nothing above info", FINDINGS_EXIT: "findings", FAILED_EXIT: "the audit failed"}
    return f"Audit of stack {report.stack}: {text}; {status[report.exit_code]} (exit {report.exit_code})"


def text(report: Report) -> str:
    """For a person: per cluster and device, severity first, each finding's evidence, symptom and fix."""
    lines = [summary(report), "Nothing was written to any device."]
    for c in report.clusters:
        lines += ["", f"cluster {c.name}: {c.kind} load balancer {c.url}"]
        if c.services:
            lines.append("  services found:")
            lines += [f"    {_service_line(s)}" for s in c.services]
        for f in ordered(c.findings):
            lines += _finding_lines(f, "  ")
        for n in c.nodes:
            lines.append(f"  {_node_label(n)}:")
            if n.error:
                lines.append(f"    could not be read: {n.error}")
            for f in ordered(n.findings):
                lines += _finding_lines(f, "    ")
            if not n.error and not n.findings:
                lines.append("    no findings")
        for e in c.errors:
            lines.append(f"  error: {e}")
    if report.errors:
        lines += ["", "Errors:"] + [f"  {e}" for e in report.errors]
    return "\n".join(lines) + "\n"


def _node_json(n: NodeAudit) -> dict[str, Any]:
    return {
        "node": asdict(n.node),
        "findings": [f.as_json() for f in ordered(n.findings)],
        "error": n.error,
    }


def as_json(report: Report) -> dict[str, Any]:
    """For machines: the same report as data (``found``: the raw value the device returned, null: absent)."""
    return {
        "stack": report.stack,
        "exit_code": report.exit_code,
        "counts": report.counts(),
        "clusters": [
            {
                "name": c.name,
                "loadBalancer": {"kind": c.kind, "url": c.url},
                "services": [asdict(s) for s in c.services],
                "nodes": [_node_json(n) for n in c.nodes],
                "findings": [f.as_json() for f in ordered(c.findings)],
                "errors": c.all_errors(),
            }
            for c in report.clusters
        ],
        "errors": report.errors,
        "writes": 0,
    }
