"""F5 BIG-IP IKEv2, end to end: the real program and providers through the real Pulumi CLI
against the F5 twin."""

from __future__ import annotations

import pytest

from tests.e2e.devices import F5, PASSWORD, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "f5test"
LAB: Decl = {
    "name": "vpn-lab",
    "virtualAddress": "192.0.2.10",
    "nodes": nodes("198.51.100.11", "198.51.100.12"),
    "persistenceTimeout": 1800,
}


def test_up_creates_exactly_the_ikev2_objects_and_a_second_up_writes_nothing(
    project: Project, f5: F5
) -> None:
    project.write_stack(STACK, [f5.cluster(LAB)], f5.secrets())
    assert PASSWORD not in project.stack_file(STACK)
    before = {c: f5.names(c) for c in ("ltm/node", "ltm/pool", "ltm/virtual", "ltm/persistence/source-addr")}

    up = project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    # 7 appliance objects, the save after them, the component and the stack
    assert "+ 10 created" in up.output, up.output

    assert f5.names("ltm/node") - before["ltm/node"] == {"vpn-lab_rras1", "vpn-lab_rras2"}
    assert f5.names("ltm/pool") - before["ltm/pool"] == {"vpn-lab_ikev2_500", "vpn-lab_ikev2_4500"}
    assert f5.names("ltm/virtual") - before["ltm/virtual"] == {
        "vpn-lab_ikev2_500_vs",
        "vpn-lab_ikev2_4500_vs",
    }
    persistence = f5.get("/mgmt/tm/ltm/persistence/source-addr/~Common~vpn-lab_ikev2_srcaddr")
    assert persistence["matchAcrossServices"] == "enabled" and persistence["timeout"] == "1800"
    for port in (500, 4500):
        vs = f5.get(f"/mgmt/tm/ltm/virtual/~Common~vpn-lab_ikev2_{port}_vs")
        assert vs["destination"] == f"/Common/192.0.2.10:{port}"
        assert vs["ipProtocol"] == "udp"
        assert vs["sourceAddressTranslation"]["type"] == "none"
        assert vs["pool"] == f"/Common/vpn-lab_ikev2_{port}"
        assert [p["name"] for p in vs["persist"]] == ["vpn-lab_ikev2_srcaddr"]
        assert vs["description"] == f"aovpn-iac:aovpn/{STACK}"
        pool = f5.get(f"/mgmt/tm/ltm/pool/~Common~vpn-lab_ikev2_{port}")
        assert pool["monitor"].strip() == "/Common/gateway_icmp"
        members = f5.get(f"/mgmt/tm/ltm/pool/~Common~vpn-lab_ikev2_{port}/members")
        assert sorted(m["name"] for m in members["items"]) == [
            f"vpn-lab_rras1:{port}",
            f"vpn-lab_rras2:{port}",
        ]

    checkpoint = project.checkpoint(STACK)
    assert PASSWORD not in str(checkpoint)

    seq = f5.last_seq()
    again = project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert f5.writes(seq) == [], again.output


def test_adding_a_node_updates_only_the_pools_and_adds_the_node(project: Project, f5: F5) -> None:
    three = [*LAB["nodes"], {"name": "rras3", "address": "198.51.100.13"}]
    project.write_stack(STACK, [f5.cluster(LAB, nodes=three)], {})
    preview = project.pulumi("preview", "--json", stack=STACK, check=True)
    plan = {(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in preview.json()["steps"] if s["op"] != "same"}
    assert plan == {
        ("create", "vpn-lab-node-rras3"),
        ("update", "vpn-lab-pool-ikev2-500"),
        ("update", "vpn-lab-pool-ikev2-4500"),
        ("update", "vpn-lab-config-save"),  # the save is a step of the plan, after the objects
    }
    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert sorted(f5.writes(seq)) == sorted(
        [
            "POST /mgmt/tm/ltm/node",
            "POST /mgmt/tm/ltm/pool/~Common~vpn-lab_ikev2_500/members",
            "POST /mgmt/tm/ltm/pool/~Common~vpn-lab_ikev2_4500/members",
            "POST /mgmt/tm/sys/config",
        ]
    )


def test_bad_declarations_fail_preview_before_any_request(project: Project, f5: F5) -> None:
    seq = f5.last_seq()
    bad = f5.cluster(LAB, ipsec={"dhGroup": "Group2"}, nodes=[{"name": "rras1", "address": "198.51.100.300"}])
    project.write_stack("bad", [bad], f5.secrets())
    run = project.pulumi("preview", stack="bad")
    assert run.exit_code != 0
    assert (
        "cluster 'vpn-lab': nodes[0].address: '198.51.100.300' is not an IPv4 or IPv6 address" in run.output
    )
    assert "Traceback" not in run.output
    project.write_stack("bad", [f5.cluster(LAB, ipsec={"dhGroup": "Group2"})], {})
    run = project.pulumi("preview", stack="bad")
    assert run.exit_code != 0
    assert "cluster 'vpn-lab': ipsec.dhGroup: Group2 is weak crypto" in run.output
    assert f5.admin().log(since=seq) == []


def test_drift_made_by_hand_is_reported_and_repaired(project: Project, f5: F5) -> None:
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0
    vs500 = "/mgmt/tm/ltm/virtual/~Common~vpn-lab_ikev2_500_vs"
    assert f5.send("PATCH", vs500, {"sourceAddressTranslation": {"type": "automap"}}).status_code == 200
    assert f5.send("PATCH", "/mgmt/tm/ltm/virtual/~Common~vpn-lab_ikev2_4500_vs", {"persist": []}).ok
    member = "/mgmt/tm/ltm/pool/~Common~vpn-lab_ikev2_500/members/~Common~vpn-lab_rras2:500"
    assert f5.send("DELETE", member).status_code == 200

    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    seq = f5.last_seq()
    assert f5.writes(seq) == []  # the drift check itself changes nothing

    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    assert f5.get(vs500)["sourceAddressTranslation"]["type"] == "none"
    assert [p["name"] for p in f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-lab_ikev2_4500_vs")["persist"]] == [
        "vpn-lab_ikev2_srcaddr"
    ]
    assert f5.get(member) is not None
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_an_object_owned_by_someone_else_is_not_taken_over(project: Project, f5: F5) -> None:
    body = {
        "name": "other_rras9",
        "partition": "Common",
        "address": "198.51.100.99",
        "description": "hand made",
    }
    assert f5.send("POST", "/mgmt/tm/ltm/node", body).status_code == 200
    decl = f5.cluster(LAB, name="other")
    decl["virtualAddress"] = "192.0.2.20"
    decl["nodes"] = [{"name": "rras9", "address": "198.51.100.99"}]
    project.write_stack("other", [decl], f5.secrets())
    run = project.pulumi("up", "--yes", "--skip-preview", stack="other")
    assert run.exit_code != 0
    assert "/Common/other_rras9 already exists and is marked 'hand made'" in run.output
    assert "Traceback (most recent call last)" not in run.output
    assert PASSWORD not in run.output
    assert f5.get("/mgmt/tm/ltm/node/~Common~other_rras9")["description"] == "hand made"
    project.pulumi("destroy", "--yes", "--skip-preview", stack="other", check=True)
    assert f5.get("/mgmt/tm/ltm/node/~Common~other_rras9") is not None


def test_removing_the_cluster_and_destroy_leave_the_twin_as_it_was(project: Project, f5: F5) -> None:
    project.write_stack(STACK, [], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert not {n for n in f5.names("ltm/virtual") if n.startswith("vpn-lab")}
    assert not {n for n in f5.names("ltm/pool") if n.startswith("vpn-lab")}
    assert not {n for n in f5.names("ltm/node") if n.startswith("vpn-lab")}
    assert not {n for n in f5.names("ltm/persistence/source-addr") if n.startswith("vpn-lab")}
    project.write_stack(STACK, [f5.cluster(LAB)], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    assert not {n for n in f5.names("ltm/node") if n.startswith("vpn-lab")}


def test_a_replaced_node_replaces_the_pools_and_virtuals_built_on_it(project: Project, f5: F5) -> None:
    """BIG-IP refuses to delete a node that is a pool member, or a pool a virtual server uses: a node
    replaced delete-first (forced with ``--replace``) replaces the pools and virtual servers built on it,
    in order, in the same run, and the next ``up`` writes nothing."""
    stack = "f5-replace"
    decl = f5.cluster(LAB, name="vpn-rep", virtualAddress="192.0.2.16")
    project.write_stack(stack, [decl], f5.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)

    project.replace(
        stack,
        "vpn-rep-node-rras1",
        [f"vpn-rep-{kind}-ikev2-{port}" for kind in ("pool", "virtual") for port in (500, 4500)],
    )
    for port in (500, 4500):
        members = f5.get(f"/mgmt/tm/ltm/pool/~Common~vpn-rep_ikev2_{port}/members")["items"]
        assert sorted(m["name"] for m in members) == [f"vpn-rep_rras1:{port}", f"vpn-rep_rras2:{port}"]
        vs = f5.get(f"/mgmt/tm/ltm/virtual/~Common~vpn-rep_ikev2_{port}_vs")
        assert vs["pool"] == f"/Common/vpn-rep_ikev2_{port}"

    project.settled(stack, f5)
