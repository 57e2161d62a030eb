"""``./run audit``: a read-only audit of live Always On VPN clusters for the pitfalls the field knows.

    ./run audit --stack NAME [--cluster NAME] [--json FILE] [--write-declaration FILE] [--cwd DIR]
    venv/bin/python -m ops.audit ...          (the same, with a CLI already on PATH)

It reads the stack's config with the project's CLI, ``pulumi config --stack NAME --json --show-secrets`` (the
``pulumi`` of AOVPN_PULUMI_DIR or PATH, in the project directory, with the backend and passphrase of the
environment, as ops/drift.py runs it); the secrets stay in memory and are never printed. Then, for every
cluster of ``aovpn:clusters`` and for the ``aovpn:audit`` block (ops/audit/targets.py), it reads the load
balancer with its vendor's module (ops/audit/vendors.py), and each RRAS node whose management is declared
(ops/audit/rras.py) with the services it is behind. Nothing is written to any device.

Human text goes to standard output, JSON to ``--json``, and with ``--write-declaration`` the stack file of
what was found, with the fixes applied (ops/audit/declaration.py). Exit code: 0 nothing above info, 8
findings (warning or critical), 1 the audit failed (the config, an appliance or a node could not be read; a
declaration to write the project would refuse), 2 usage.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from components.declaration import DeclarationError, device_key
from ops.audit import declaration as writer
from ops.audit import rras, vendors
from ops.audit.model import Evidence, Finding, FoundNode, FoundService, LoadBalancerAudit, NodeAudit
from ops.audit.report import FAILED_EXIT, ClusterReport, Report, as_json, text
from ops.audit.targets import Target, config_values, secret, targets
from ops.drift import ROOT, pulumi_binary
from providers.common.errors import ProviderError


class ConfigUnreadable(Exception):
    """``pulumi config`` failed; the CLI's own words."""


def read_config(stack: str, cwd: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The stack's config, secrets decrypted, from the project's Pulumi CLI."""
    binary = pulumi_binary(env)
    if binary is None:
        raise ConfigUnreadable("the Pulumi CLI was not found (AOVPN_PULUMI_DIR, PATH): run ./run setup")
    run_env = dict(env)
    run_env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    proc = subprocess.run(
        [binary, "config", "--stack", stack, "--json", "--show-secrets", "--non-interactive"],
        cwd=cwd,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        said = " ".join(line.strip() for line in proc.stderr.splitlines() if line.strip())
        raise ConfigUnreadable(
            f"pulumi config --stack {stack} exited {proc.returncode}: {said or 'no message'}"
        )
    try:
        document = json.loads(proc.stdout)
    except ValueError:
        raise ConfigUnreadable(f"pulumi config --stack {stack} --json did not answer JSON") from None
    if not isinstance(document, dict):
        raise ConfigUnreadable(f"pulumi config --stack {stack} --json answered no mapping")
    return config_values(document)


def _failure(where: str, exc: BaseException) -> str:
    """An error as the providers name it (their message: device, object, status, code); anything else by
    its type and message, never a traceback."""
    if isinstance(exc, ProviderError | vendors.AuditUnavailable | DeclarationError):
        return f"{where}: {exc}"
    return f"{where}: {type(exc).__name__}: {exc}"


def _not_audited(service: FoundService | None, address: str, device: str, block: str) -> Finding:
    behind = f" behind {service.virtual_address}" if service else ""
    return Finding(
        check="rras.not-audited",
        severity="info",
        title=f"node {address}{behind} not audited: no management declared",
        evidence=(
            Evidence(device, f"service {service.virtual_address}" if service else block, "node", address),
        ),
        symptom="none known: the node's IPsec policy, fragmentation, SA limit and SSTP settings were not "
        "read",
        fix=f"declare {block} management (endpoint, user, passwordSecret, caBundle) for {address} to "
        "audit it",
    )


def _same_address(a: str, b: str | None) -> bool:
    try:
        return b is not None and ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def _belongs(finding: Finding, services: Sequence[FoundService]) -> bool:
    """Whether a load balancer's finding is about one of ``services``: its evidence names one of their
    objects, or their virtual address as a whole word."""
    names = {v for s in services for v in s.objects.values()}
    vips = [re.compile(rf"(?<![\w.:]){re.escape(s.virtual_address)}(?!\w|\.\d)") for s in services]
    return any(e.obj in names or any(v.search(str(e.obj)) for v in vips) for e in finding.evidence)


def audit_target(
    target: Target,
    config: Mapping[str, Any],
    lb_audit: LoadBalancerAudit | None,
    lb_error: str | None,
    shared: bool,
) -> ClusterReport:
    """One cluster: the load balancer's answer (``lb_audit``, shared by every target on that device), then
    its nodes."""
    kind, url = str(target.lb.get("kind")), str(target.lb.get("url"))
    report = ClusterReport(target.name, kind, url)
    block = f"cluster {target.name!r} nodes[]" if target.declared else "aovpn:audit nodes[]"
    if lb_error is not None:
        report.errors.append(lb_error)
    services = list(lb_audit.services) if lb_audit else []
    if target.virtual_address is not None:
        services = [s for s in services if _same_address(s.virtual_address, target.virtual_address)]
    report.services = services
    if lb_audit is not None:
        findings = list(lb_audit.findings)
        if shared:
            findings = [f for f in findings if _belongs(f, services) or not _belongs(f, lb_audit.services)]
        report.findings += findings
        if target.virtual_address is not None and not services:
            report.findings.append(
                Finding(
                    check="lb.service-not-found",
                    severity="info",
                    title=f"no Always On VPN service (UDP 500 + 4500 or TCP 443) at {target.virtual_address}",
                    evidence=(Evidence(str(device_key(url)[0]), "virtual servers", "destination", None),),
                    symptom="none known: the declared virtual address is not served by this load balancer",
                    fix="check the declaration's virtualAddress and loadBalancer.url",
                )
            )
    declared = {n.address for n in target.nodes}
    for node in target.nodes:
        behind = [s for s in services if node.address in s.node_addresses]
        if node.management is None:
            report.findings.append(_not_audited(behind[0] if behind else None, node.address, url, block))
            continue
        try:
            password = secret(config, node.management.password_secret, f"node {node.name or node.address}")
            audited = rras.audit_node(node.address, node.management, password, behind, node.name)
            if node.declared_management is not None:  # as the stack file spells it (caBundle relative)
                audited.node.management = node.declared_management.model_dump(
                    by_alias=True, exclude_none=True
                )
            report.nodes.append(audited)
        except DeclarationError as exc:
            empty = FoundNode(node.address, None, None, None, None, None, None, None, None, name=node.name)
            report.nodes.append(NodeAudit(empty, [], error="; ".join(exc.problems)))
        except Exception as exc:  # noqa: BLE001 - reported, never a traceback
            empty = FoundNode(node.address, None, None, None, None, None, None, None, None, name=node.name)
            report.nodes.append(NodeAudit(empty, [], error=_failure(f"node {node.address}", exc)))
    for service in services:
        for address in service.node_addresses:
            if address not in declared:
                report.findings.append(_not_audited(service, address, service.device, block))
    return report


def run_audit(
    stack: str, config: Mapping[str, Any], cwd: Path, only: str | None = None
) -> tuple[Report, list[Target]]:
    """Audit every target of the stack's config (``only``: the cluster of that name)."""
    report = Report(stack)
    try:
        found = targets(config, cwd)
    except DeclarationError as exc:
        report.errors += exc.problems
        return report, []
    if only is not None:
        found = [t for t in found if t.name == only]
        if not found:
            report.errors.append(f"the stack has no cluster {only!r} to audit")
            return report, []
    per_device: dict[tuple[str, int], list[Target]] = {}
    for t in found:
        per_device.setdefault(device_key(str(t.lb.get("url"))), []).append(t)
    answers: dict[tuple[str, int], tuple[LoadBalancerAudit | None, str | None]] = {}
    for device, group in per_device.items():
        lead = group[0]
        where = f"{lead.lb.get('kind')} load balancer {lead.lb.get('url')}"
        try:
            password = secret(config, str(lead.lb.get("passwordSecret")), where)
            answers[device] = (vendors.audit_load_balancer(lead.lb, password), None)
        except DeclarationError as exc:
            answers[device] = (None, "; ".join(exc.problems))
        except Exception as exc:  # noqa: BLE001 - reported, never a traceback
            answers[device] = (None, _failure(where, exc))
    for t in found:
        device = device_key(str(t.lb.get("url")))
        lb_audit, lb_error = answers[device]
        report.clusters.append(audit_target(t, config, lb_audit, lb_error, len(per_device[device]) > 1))
    return report, found


def declarations(report: Report, found: Sequence[Target]) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``aovpn:clusters`` entries of what was found (one per service), and the header's notes."""
    entries: list[dict[str, Any]] = []
    notes: list[str] = []
    by_name = {t.name: t for t in found}
    for cluster in report.clusters:
        target = by_name[cluster.name]
        lb = (
            dict(target.load_balancer.model_dump(by_alias=True, exclude_none=True))
            if target.load_balancer
            else {}
        )
        for service in cluster.services:
            name = cluster.name if target.declared else writer.cluster_name(service)
            behind = [
                n.node for n in cluster.nodes if n.node.address in service.node_addresses and not n.error
            ]
            entry, said = writer.declaration_with_notes(service, behind, lb, name)
            entries.append(entry)
            notes += [f"{name}: {n}" for n in said]
    return entries, notes


def parse_args(argv: Iterable[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./run audit",
        description="Read a live cluster's load balancer and RRAS nodes (nothing is written) and report "
        "every known Always On VPN pitfall with its evidence, symptom and fix.",
        epilog="Exit code: 0 nothing above info, 8 findings (warning or critical), 1 the audit failed.",
    )
    parser.add_argument(
        "--stack", required=True, metavar="NAME", help="the stack whose config says what to read"
    )
    parser.add_argument("--cluster", metavar="NAME", help="only this cluster of aovpn:clusters")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    parser.add_argument(
        "--write-declaration",
        type=Path,
        metavar="FILE",
        help="write the stack file of what was found, with the fixes applied (ready for pulumi preview)",
    )
    parser.add_argument(
        "--cwd",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="the Pulumi project directory (default: %(default)s)",
    )
    return parser.parse_args(list(argv))


def main(argv: Iterable[str], env: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    env = os.environ if env is None else env
    cwd = args.cwd.resolve()
    try:
        config = read_config(args.stack, cwd, env)
    except ConfigUnreadable as exc:
        report, found = Report(args.stack, errors=[str(exc)]), list[Target]()
    else:
        report, found = run_audit(args.stack, config, cwd, args.cluster)
    sys.stdout.write(text(report))
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(report), indent=2, default=str) + "\n", encoding="utf-8")
    code = report.exit_code
    if args.write_declaration is not None:
        entries, notes = declarations(report, found)
        if not entries:
            sys.stderr.write("audit: no declaration written: no Always On VPN service was found\n")
            return FAILED_EXIT
        try:
            content = writer.stack_file(args.stack, entries, notes)
        except writer.NotWritten as exc:
            sys.stderr.write(f"audit: {exc}\n")
            return FAILED_EXIT
        args.write_declaration.write_text(content, encoding="utf-8")
        sys.stdout.write(f"Declaration of {len(entries)} cluster(s) written to {args.write_declaration}\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
