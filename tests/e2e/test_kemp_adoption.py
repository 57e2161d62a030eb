"""Adopting a LoadMaster cluster built by hand, through the real Pulumi CLI: the audit finds it, its
declaration (ops.audit.declaration) names the existing virtual services in ``loadBalancer.adopt``, the
preview says per object exactly what will change on it and plans no delete or replacement, ``up`` changes
only that (plus what the hand-built cluster lacked), keeps every name and adds the ownership marker, and a
second ``up`` writes nothing. An object another stack marked is refused at preview."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

import pytest

from ops.audit.declaration import check, declaration
from ops.audit.kemp import audit_load_balancer
from tests.e2e.devices import PASSWORD, Kemp
from tests.e2e.project import Project
from tests.emulators.kemp_access import Kemp as Access
from tests.emulators.kemp_access import fields

pytestmark = pytest.mark.e2e

STACK = "brown"
VIP = "192.0.2.70"
NODES = ("10.0.0.71", "10.0.0.72")
MARKER = f"aovpn-iac:aovpn/{STACK}"
NAMES = {500: "AOVPN_IKE", 4500: "vpn NATT pool", 443: "Vpn-SSTP"}
ADOPTING = re.compile(r"^(?P<device>\S+): adopting (?P<obj>.+?): (?P<changes>.+)$")


def build_by_hand(kemp: Kemp, vip: str, names: dict[int, str]) -> None:
    """The articles' GUI steps with the pitfalls: the UDP services without transparency, persistence or
    port following, the SSTP service without transparency or persistence and with a TCP check; the
    LoadMaster's defaults for the rest (round robin, Force L7, the ICMP check of UDP services)."""
    lm = Access(kemp.twin)
    for port in (500, 4500):
        lm.ok("addvs", vs=vip, port=port, prot="udp", NickName=names[port], Transparent="N")
        for node in NODES:
            lm.ok("addrs", vs=vip, port=port, prot="udp", rs=node, rsport=port)
    lm.ok("addvs", vs=vip, port=443, prot="tcp", NickName=names[443], Transparent="N", CheckType="tcp")
    for node in NODES:
        lm.ok("addrs", vs=vip, port=443, prot="tcp", rs=node, rsport=443)


def adoption_lines(output: list[dict[str, Any]]) -> dict[str, dict[str, tuple[str, str]]]:
    """The preview's adoption diagnostics: object -> {attribute: (found, declared)}."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for diagnostic in output:
        for line in str(diagnostic.get("message", "")).splitlines():
            match = ADOPTING.match(line.strip())
            if match is None:
                continue
            changes: dict[str, tuple[str, str]] = {}
            if match["changes"] != "no change":
                for change in match["changes"].split("; "):
                    attribute, _, values = change.partition(": ")
                    before, _, after = values.partition(" -> ")
                    changes[attribute] = (before, after)
            found[match["obj"]] = changes
    return found


def written(kemp: Kemp, since: int) -> list[tuple[str, dict[str, str]]]:
    """The writes after ``since``: (command, its parameters, names lower-cased)."""
    out = []
    for entry in kemp.admin().log(since=since):
        if entry.get("write"):
            query = {k.lower(): v[-1] for k, v in parse_qs(entry.get("query", "")).items()}
            out.append((str(entry["command"]), query))
    return out


def test_a_hand_built_cluster_is_adopted_without_an_outage(project: Project, kemp: Kemp) -> None:
    build_by_hand(kemp, VIP, NAMES)
    before = {port: fields_of(kemp, port) for port in (500, 4500, 443)}

    # the audit finds it and writes the declaration that adopts it
    audit = audit_load_balancer(kemp.load_balancer(), PASSWORD)
    [service] = [s for s in audit.services if s.virtual_address == VIP]
    assert service.objects == {
        "virtual:ikev2-500": NAMES[500],
        "virtual:ikev2-4500": NAMES[4500],
        "virtual:sstp": NAMES[443],
    }
    found = {f.check for f in audit.findings if any(VIP in e.obj for e in f.evidence)}
    assert {"lb.transparency-off", "lb.persistence-missing", "lb.port-following-missing"} <= found
    entry = declaration(service, [], kemp.load_balancer(), "vpn-brown")
    assert check([entry]) == []
    project.write_stack(STACK, [entry], kemp.secrets())

    # preview: reads only; one adoption line per existing object with exactly what differs
    seq = kemp.last_seq()
    preview = project.pulumi("preview", "--json", stack=STACK)
    assert preview.exit_code == 0, preview.output
    assert written(kemp, seq) == []
    # one listvs answers every service's adoption preview (the run's read cache), whatever their number
    commands = Counter(e["path"] for e in kemp.admin().log(since=seq))
    assert commands == {"/access/usershow": 1, "/access/listvs": 1}, commands
    plan = preview.json()
    ops = {s["op"] for s in plan["steps"]}
    assert ops <= {"create", "same"}, ops
    lines = adoption_lines(plan.get("diagnostics", []))
    udp = {
        "Transparent": ("N", "Y"),
        "Persist": ("none", "src"),
        "PersistTimeout": ("0", "3600"),
    }
    for port in (500, 4500):
        assert lines[f"virtual service {VIP}:{port}/udp"] == {
            **udp,
            "NickName": (NAMES[port], f"{NAMES[port]} {MARKER}"),
        }
        for node in NODES:
            assert lines[f"real server {node}:{port} of virtual service {VIP}:{port}/udp"] == {}
    sstp = lines[f"virtual service {VIP}:443/tcp"]
    assert set(sstp) == {
        "Transparent",
        "Persist",
        "PersistTimeout",
        "CheckType",
        "CheckUrl",
        "CheckCodes",
        "NickName",
    }, sstp
    assert sstp["CheckType"] == ("tcp", "https") and sstp["NickName"] == (
        NAMES[443],
        f"{NAMES[443]} {MARKER}",
    )
    text = preview.output
    assert (
        f"port following of virtual service {VIP}:500/udp to virtual service {VIP}:4500/udp is not there"
        in text
    )

    # up: no delete, no second service on the VIP; the services changed as the preview said
    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    writes = written(kemp, seq)
    assert {command for command, _ in writes} == {"modvs"}, writes
    follows = [q for _, q in writes if "followvsid" in q]
    changes = [q for _, q in writes if "followvsid" not in q]
    assert sorted(int(q["port"]) for q in follows) == [500, 4500]
    assert sorted(int(q["port"]) for q in changes) == [443, 500, 4500]
    preview_attrs = {
        500: lines[f"virtual service {VIP}:500/udp"],
        4500: lines[f"virtual service {VIP}:4500/udp"],
        443: sstp,
    }
    for query in changes:
        sent = set(query) - {"vs", "port", "prot"}
        assert sent == {a.lower() for a in preview_attrs[int(query["port"])]}, query

    # the same services under their own names, now carrying the marker; nothing else on the VIP
    after = {port: fields_of(kemp, port) for port in (500, 4500, 443)}
    for port in (500, 4500, 443):
        assert after[port]["Index"] == before[port]["Index"]
        assert after[port]["NickName"] == f"{NAMES[port]} {MARKER}"
        assert after[port]["Rs"] == before[port]["Rs"]
    assert (
        after[500]["FollowVSID"] == after[4500]["Index"] and after[4500]["FollowVSID"] == after[500]["Index"]
    )
    assert sorted(int(v["VSPort"]) for v in kemp.listed() if v["VSAddress"] == VIP) == [443, 500, 4500]
    again = audit_load_balancer(kemp.load_balancer(), PASSWORD)
    assert [f.check for f in again.findings if any(VIP in e.obj for e in f.evidence)] == []

    # a second up writes nothing, and the state matches the device
    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.writes(seq) == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def fields_of(kemp: Kemp, port: int) -> dict[str, Any]:
    vs = kemp.show_vs(port, VIP, "tcp" if port == 443 else "udp")
    assert vs is not None
    vs["Rs"] = sorted((rs["Addr"], rs["Port"], rs["RsIndex"]) for rs in vs["Rs"])
    return vs


def test_a_service_another_stack_marked_is_refused_at_preview(project: Project, kemp: Kemp) -> None:
    vip = "192.0.2.71"
    other = "aovpn-iac:aovpn/other"
    build_by_hand(kemp, vip, {500: "AOVPN_IKE", 4500: "theirs", 443: "Vpn-SSTP"})
    assert (
        Access(kemp.twin).ok("modvs", vs=vip, port=4500, prot="udp", NickName=f"theirs {other}") is not None
    )
    decl = kemp.cluster(
        {"name": "vpn-taken", "virtualAddress": vip, "nodes": [{"name": "rras1", "address": NODES[0]}]},
        loadBalancer=kemp.load_balancer(
            adopt={"virtual:ikev2-500": "AOVPN_IKE", "virtual:ikev2-4500": "theirs"}
        ),
    )
    project.write_stack("taken", [decl], kemp.secrets())
    seq = kemp.last_seq()
    run = project.pulumi("preview", stack="taken")
    assert run.exit_code != 0
    host = kemp.url.removeprefix("https://")
    assert f"{host}: virtual service {vip}:4500/udp already exists and is marked {other!r}" in run.output
    assert "refusing to adopt it" in run.output
    assert "Traceback (most recent call last)" not in run.output and PASSWORD not in run.output
    assert written(kemp, seq) == []
    assert (
        fields(Access(kemp.twin).ok("showvs", vs=vip, port=4500, prot="udp"))["NickName"] == f"theirs {other}"
    )
