"""Adopting a Citrix ADC cluster built by hand, through the real CLI: no outage.

The twin is configured the way the articles' GUI steps build it (tests/audit/test_citrix_audit.py), with
pitfalls; the audit names its objects; the declaration adopts them (``loadBalancer.adopt``). The preview
says per adopted object exactly which attributes change and plans no delete or replacement; ``up`` changes
only those attributes, adds what the hand-built cluster lacked (the persistency group), never deletes and
never adds a second vserver on the VIP; the adopted objects keep their names and now carry the marker; the
next ``up`` writes nothing. An object another stack marked is refused at preview.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from ops.audit.citrix import audit_load_balancer
from tests.audit.test_citrix_audit import AUDITOR, NODES, VIP, Setup, build_by_hand
from tests.e2e.devices import Citrix, Decl
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "adopt"
MARKER = f"aovpn-iac:aovpn/{STACK}"
PERSON = "IKE for AOVPN (J. Smith)"
ADOPTING = re.compile(r"adopting (\w+) (.+?): (.*)$")


def hand_built(adc: Citrix, setup: Setup) -> dict[str, str]:
    """A factory-fresh twin built by hand; answers the audit's ``objects`` of its one service."""
    adc.admin().factory_reset()
    build_by_hand(adc.twin, setup)
    found = audit_load_balancer(adc.load_balancer(user=AUDITOR[0]), AUDITOR[1])
    (service,) = found.services
    return service.objects


def declaration(adc: Citrix, adopt: dict[str, str], **changes: Any) -> Decl:
    decl: Decl = {
        "name": "hand",
        "protocols": ["ikev2"],
        "virtualAddress": VIP,
        # the node names the audit gave the servers it found (the GUI named the second by its address)
        "nodes": [{"name": "RRAS-01", "address": NODES[0]}, {"name": "rras2", "address": NODES[1]}],
        "persistenceTimeout": 1800,
        "loadBalancingMethod": "round-robin",
        "loadBalancer": adc.load_balancer(adopt=adopt),
    }
    decl.update(changes)
    return decl


def adoption_lines(preview: Any) -> dict[str, dict[str, str]]:
    """The preview's ``adopting <type> <name>: attr: found -> declared; ...`` diagnostics, by object:
    attribute -> "found -> declared" (empty: taken over unchanged)."""
    found: dict[str, dict[str, str]] = {}
    for diagnostic in preview["diagnostics"]:
        match = ADOPTING.search(diagnostic["message"].strip())
        if match is None:
            continue
        kind, name, changes = match.groups()
        pairs = [] if changes == "no change" else [part.split(": ", 1) for part in changes.split("; ")]
        found[f"{kind} {name}"] = {attr: change for attr, change in pairs}
    return found


def test_a_hand_built_cluster_with_pitfalls_is_adopted_without_outage(project: Project, adc: Citrix) -> None:
    objects = hand_built(
        adc, Setup(usip_4500="NO", persistence="none", sstp=False, comments={"AOVPN_IKE_VS": PERSON})
    )
    assert objects == {
        "node:RRAS-01": "RRAS-01",
        "node:rras2": NODES[1],
        "pool:ikev2-500": "AOVPN_IKE",
        "pool:ikev2-4500": "vpn-natt-pool",
        "monitor:ikev2": "Ping_Mon",
        "virtual:ikev2-500": "AOVPN_IKE_VS",
        "virtual:ikev2-4500": "VPN-NATT",
    }
    project.write_stack(STACK, [declaration(adc, objects)], adc.secrets())
    since = adc.last_seq()

    preview = project.pulumi("preview", "--json", stack=STACK)
    assert preview.exit_code == 0, preview.output
    assert adc.writes(since) == []
    # each collection is read once for all its objects' adoption previews (the run's read cache)
    reads = Counter(e["path"] for e in adc.admin().log(since=since) if e["method"] == "GET")
    assert reads and set(reads.values()) == {1}, reads
    ops = {step["op"] for step in preview.json()["steps"]}
    assert ops <= {"create", "same"}, ops  # nothing deleted, replaced or read-replaced
    lines = adoption_lines(preview.json())
    marked = f"(none) -> {MARKER}"
    assert lines == {
        "server RRAS-01": {"comment": marked},
        f"server {NODES[1]}": {"comment": marked},
        "servicegroup AOVPN_IKE": {"comment": marked},
        "servicegroup vpn-natt-pool": {"usip": "NO -> YES", "comment": marked},
        "lbmonitor Ping_Mon": {},
        "lbvserver AOVPN_IKE_VS": {"comment": f"{PERSON} -> {MARKER}"},
        "lbvserver VPN-NATT": {"comment": marked},
    }, preview.output
    created = [d["message"] for d in preview.json()["diagnostics"] if "is not there to adopt" in d["message"]]
    assert sorted(m.split(": ", 1)[1].strip() for m in created) == [
        f"lbgroup member hand_ikev2_persist,{vs} is not there to adopt; it will be created"
        for vs in ("AOVPN_IKE_VS", "VPN-NATT")
    ]

    since = adc.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    writes = adc.writes(since)
    assert not [w for w in writes if w.startswith("DELETE")], writes
    assert sorted(writes) == sorted(
        [
            "PUT /nitro/v1/config/server/RRAS-01",
            f"PUT /nitro/v1/config/server/{NODES[1]}",
            "PUT /nitro/v1/config/servicegroup/AOVPN_IKE",
            "PUT /nitro/v1/config/servicegroup/vpn-natt-pool",
            "PUT /nitro/v1/config/lbvserver/AOVPN_IKE_VS",
            "PUT /nitro/v1/config/lbvserver/VPN-NATT",
            # what the hand-built cluster lacked: the persistency group holding both vservers
            "POST /nitro/v1/config/lbgroup",
            "PUT /nitro/v1/config/lbgroup_lbvserver_binding",
            "PUT /nitro/v1/config/lbgroup_lbvserver_binding",
            "POST /nitro/v1/config/nsconfig",
        ]
    ), writes

    assert adc.names("lbvserver") == {"AOVPN_IKE_VS", "VPN-NATT"}
    assert adc.names("servicegroup") == {"AOVPN_IKE", "vpn-natt-pool"}
    for name in ("AOVPN_IKE", "vpn-natt-pool"):
        group = adc.get(f"servicegroup/{name}")[0]
        assert (group["usip"], group["comment"]) == ("YES", MARKER)
    for name in ("AOVPN_IKE_VS", "VPN-NATT"):
        vs = adc.get(f"lbvserver/{name}")[0]
        assert (vs["comment"], vs["groupname"], vs["persistencetype"]) == (
            MARKER,
            "hand_ikev2_persist",
            "SOURCEIP",
        )
    for name in ("RRAS-01", NODES[1]):
        assert adc.get(f"server/{name}")[0]["comment"] == MARKER
    assert adc.names("lbmonitor") >= {"Ping_Mon"} and "hand_ikev2_ping" not in adc.names("lbmonitor")
    after = audit_load_balancer(adc.load_balancer(user=AUDITOR[0]), AUDITOR[1])
    assert after.findings == []

    since = adc.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert adc.writes(since) == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_an_object_another_stack_marked_is_refused_at_preview(project: Project, adc: Citrix) -> None:
    other = "aovpn-iac:aovpn/someone-else"
    objects = hand_built(adc, Setup(sstp=False, comments={"VPN-NATT": other}))
    stack = "adopt-other"
    project.write_stack(stack, [declaration(adc, objects)], adc.secrets())
    since = adc.last_seq()
    preview = project.pulumi("preview", stack=stack)
    assert preview.exit_code != 0
    host = adc.url.split("//", 1)[1]
    # the vserver itself, or the persistency group holding it, whichever the engine checks first
    held = f"holding lbvserver VPN-NATT (marked '{other}')"
    refused = (
        f"{host}: lbvserver VPN-NATT already exists and is marked '{other}'",
        f'{host}: lbgroup IKEv2-Persist already exists and is marked "{held}"',
    )
    assert any(r in preview.output for r in refused), preview.output
    assert "refusing to adopt it" in preview.output
    assert "Traceback" not in preview.output
    assert adc.writes(since) == []


def test_a_declaration_that_cannot_adopt_fails_preview_before_any_request(
    project: Project, adc: Citrix
) -> None:
    since = adc.last_seq()
    bad = {
        "virtual:ikev2-500": "VS one",
        "virtual:ikev2-4500": "VS one",
        "node:rras9": "RRAS-09",
        "pool:ikev2-500": "-bad",
        "vip:ikev2": "x",
    }
    project.write_stack("adopt-bad", [declaration(adc, bad)], adc.secrets())
    run = project.pulumi("preview", stack="adopt-bad")
    assert run.exit_code != 0
    assert "'vip:ikev2' is not an object role of this project (allowed: node:<node name>" in run.output
    assert "lbvserver 'VS one' is named for virtual:ikev2-4500 and virtual:ikev2-500" in run.output
    assert "'-bad' is not a name an ADC object can have" in run.output
    assert adc.admin().log(since=since) == []
