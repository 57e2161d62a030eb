"""Adoption of a hand-built BIG-IP cluster without an outage, through the real Pulumi CLI: the audit finds the
objects, its declaration names them (``loadBalancer.adopt``), the preview says what will change on each,
``up`` changes only that (and creates what the cluster lacked), deletes nothing, creates no second virtual on
the VIP, marks the adopted objects under their own names, and the next ``up`` writes nothing. An object
marked by another stack is refused at preview."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from emulators.common import RunningTwin
from ops.audit.declaration import declaration
from ops.audit.f5 import audit_load_balancer
from tests.audit import f5_hand_built as hand
from tests.audit.f5_hand_built import NAMES, NODES, VIP
from tests.e2e.devices import F5, PASSWORD
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "f5-adopt"
MARKER = f"aovpn-iac:aovpn/{STACK}"
ADOPTING = re.compile(r"adopting (?P<type>ltm [\w -]+?) (?P<obj>/Common/\S+): (?P<changes>.*)$", re.M)


def _adoptions(output: str) -> dict[str, set[str]]:
    """Per adopted object (full path): the attributes the preview says will change on it."""
    found: dict[str, set[str]] = {}
    for match in ADOPTING.finditer(output):
        changes = match["changes"].strip()
        attrs = set() if changes == "no change" else {c.split(":", 1)[0].strip() for c in changes.split("; ")}
        found[match["obj"]] = attrs
    return found


def _virtuals_on(f5: F5, address: str) -> set[str]:
    return {v["fullPath"] for v in f5.items("ltm/virtual") if f"/{address}:" in v["destination"]}


def _preview_ops(project: Project, stack: str) -> tuple[dict[str, str], Any]:
    run = project.pulumi("preview", "--json", stack=stack)
    assert run.exit_code == 0, run.output
    doc = run.json()
    return {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in doc["steps"]}, doc


def test_a_hand_built_cluster_with_pitfalls_is_adopted_without_an_outage(project: Project, f5: F5) -> None:
    hand.by_rest(f5.twin, "snat-automap", "no-persistence", sstp=False)
    lb = f5.load_balancer()
    [service] = audit_load_balancer(lb, PASSWORD).services
    entry = declaration(service, [], lb, "vpn-adopt")
    assert entry["loadBalancer"]["adopt"] == {
        f"node:{NODES[0]}": f"/Common/{NODES[0]}",
        f"node:{NODES[1]}": f"/Common/{NODES[1]}",
        **{
            r: hand.full(r)
            for r in ("pool:ikev2-500", "pool:ikev2-4500", "virtual:ikev2-500", "virtual:ikev2-4500")
        },
    }
    project.write_stack(STACK, [entry], f5.secrets())
    objects_before = f5.everything()
    seq = f5.last_seq()

    ops, doc = _preview_ops(project, STACK)
    assert f5.writes(seq) == []  # the preview only read
    # each collection is read once for all its objects' adoption previews (the run's read cache)
    reads = [e["path"] for e in f5.admin().log(since=seq) if e["path"].startswith("/mgmt/tm/ltm/")]
    assert sorted(reads) == ["/mgmt/tm/ltm/node", "/mgmt/tm/ltm/pool", "/mgmt/tm/ltm/virtual"], reads
    assert not set(ops.values()) & {"delete", "replace", "create-replacement", "delete-replaced"}, ops
    text = "\n".join(str(d.get("message", "")) for d in doc.get("diagnostics", []))
    adopted = _adoptions(text)
    virtuals = [hand.full("virtual:ikev2-500"), hand.full("virtual:ikev2-4500")]
    assert adopted == {
        f"/Common/{NODES[0]}": {"description"},
        f"/Common/{NODES[1]}": {"description"},
        hand.full("pool:ikev2-500"): {"description"},
        hand.full("pool:ikev2-4500"): {"description"},
        **{v: {"sourceAddressTranslation", "persist", "description"} for v in virtuals},
    }, text
    assert 'sourceAddressTranslation: {"type": "automap"} -> {"type": "none"}' in text, text
    assert 'persist: [] -> [{"name": "/Common/vpn-adopt_ikev2_srcaddr", "tmDefault": "yes"}]' in text, text

    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    log = f5.admin().log(since=seq)
    writes = [f"{e['method']} {e['path']}" for e in log if e.get("write")]
    assert not [w for w in writes if w.startswith("DELETE")], writes
    assert "POST /mgmt/tm/ltm/virtual" not in writes
    node_paths = sorted(f"PATCH /mgmt/tm/ltm/node/~Common~{a}" for a in NODES)
    assert sorted(writes) == sorted(
        [
            "POST /mgmt/tm/ltm/persistence/source-addr",  # the persistence the cluster lacked
            *node_paths,
            f"PATCH /mgmt/tm/ltm/pool/~Common~{NAMES['pool:ikev2-500']}",
            f"PATCH /mgmt/tm/ltm/pool/~Common~{NAMES['pool:ikev2-4500']}",
            f"PATCH /mgmt/tm/ltm/virtual/~Common~{NAMES['virtual:ikev2-500']}",
            f"PATCH /mgmt/tm/ltm/virtual/~Common~{NAMES['virtual:ikev2-4500']}",
            "POST /mgmt/tm/sys/config",
        ]
    ), writes
    after = f5.everything()
    for collection, paths in objects_before.items():
        assert paths <= after[collection], collection  # nothing went
    assert after["ltm/persistence/source-addr"] - objects_before["ltm/persistence/source-addr"] == {
        "/Common/vpn-adopt_ikev2_srcaddr"
    }
    assert _virtuals_on(f5, VIP) == set(virtuals)
    for path in [*virtuals, hand.full("pool:ikev2-500"), hand.full("pool:ikev2-4500")]:
        kind = "virtual" if path in virtuals else "pool"
        assert f5.get(f"/mgmt/tm/ltm/{kind}/{path.replace('/', '~')}")["description"] == MARKER
    for address in NODES:
        assert f5.get(f"/mgmt/tm/ltm/node/~Common~{address}")["description"] == MARKER
    for path in virtuals:
        vs = f5.get(f"/mgmt/tm/ltm/virtual/{path.replace('/', '~')}")
        assert vs["sourceAddressTranslation"]["type"] == "none"
        assert [p["name"] for p in vs["persist"]] == ["vpn-adopt_ikev2_srcaddr"]
    assert audit_load_balancer(lb, PASSWORD).findings == []  # the pitfalls are gone

    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert f5.writes(seq) == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


COLLECTION = {
    "node": "ltm/node",
    "pool": "ltm/pool",
    "virtual": "ltm/virtual",
    "persistence:ikev2": "ltm/persistence/source-addr",
    "persistence:sstp-srcaddr": "ltm/persistence/source-addr",
    "persistence:sstp-ssl": "ltm/persistence/ssl",
    "monitor:sstp": "ltm/monitor/https",
}


def _collection(role: str) -> str:
    return COLLECTION.get(role) or COLLECTION[role.split(":", 1)[0]]


def test_a_correct_cluster_built_with_f5_sdk_is_adopted_whole_with_ikev2_and_sstp(
    project: Project, twin_factory: Callable[..., RunningTwin]
) -> None:
    """Every object exists already: the first ``up`` creates nothing on the device, it only marks each object
    and changes the few properties the declaration sets otherwise (the SSTP persistence timeouts, the
    monitor's Host header), each named by the preview."""
    pytest.importorskip("f5.bigip")
    f5 = F5(twin_factory("f5"))
    hand.by_sdk(f5.twin)
    lb = f5.load_balancer()
    [service] = audit_load_balancer(lb, PASSWORD).services
    entry = declaration(service, [], lb, "vpn-whole")
    entry["sstp"] = {"hostName": "vpn.example.test"}
    adopt = entry["loadBalancer"]["adopt"]
    assert len(adopt) == 2 + 10  # two nodes, every IKEv2 and SSTP object
    stack = "f5-adopt-whole"
    project.write_stack(stack, [entry], f5.secrets())
    before = f5.everything()

    ops, doc = _preview_ops(project, stack)
    assert not set(ops.values()) & {"delete", "replace", "create-replacement", "delete-replaced"}, ops
    text = "\n".join(str(d.get("message", "")) for d in doc.get("diagnostics", []))
    expected = {path: {"description"} for path in adopt.values()}
    for role in ("persistence:sstp-ssl", "persistence:sstp-srcaddr"):
        expected[hand.full(role)] = {"timeout", "description"}  # GUI defaults 300 / 180 -> 1800
    assert _adoptions(text) == expected, text

    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    writes = sorted(f5.writes(seq))
    assert writes == sorted(
        [
            *(f"PATCH /mgmt/tm/{_collection(role)}/{path.replace('/', '~')}" for role, path in adopt.items()),
            "POST /mgmt/tm/sys/config",
        ]
    ), writes
    assert f5.everything() == before  # nothing created, nothing deleted
    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert f5.writes(seq) == []


def test_an_object_marked_by_another_stack_is_refused_at_preview(project: Project, f5: F5) -> None:
    """The cluster the first test adopted is now marked by its stack: another stack naming one of its objects
    is refused at preview, naming the device, the object and the owner, and nothing is written."""
    lb = {**f5.load_balancer(), "adopt": {"virtual:ikev2-500": NAMES["virtual:ikev2-500"]}}
    decl = f5.cluster(
        {
            "name": "thief",
            "virtualAddress": "192.0.2.77",
            "nodes": [{"name": "rras1", "address": "198.51.100.77"}],
        },
        loadBalancer=lb,
    )
    project.write_stack("f5-thief", [decl], f5.secrets())
    seq = f5.last_seq()
    run = project.pulumi("preview", stack="f5-thief")
    assert run.exit_code != 0, run.output
    host = f5.url.split("://", 1)[1]
    assert (
        f"{host}: ltm virtual {hand.full('virtual:ikev2-500')} already exists and is marked {MARKER!r}"
        in run.output
    )
    assert "Traceback (most recent call last)" not in run.output and PASSWORD not in run.output
    assert f5.writes(seq) == []
    assert f5.get(f"/mgmt/tm/ltm/virtual/~Common~{NAMES['virtual:ikev2-500']}")["description"] == MARKER


def test_adoption_declarations_are_refused_at_preview_before_any_request(project: Project, f5: F5) -> None:
    base = {
        "name": "vpn-bad",
        "virtualAddress": "192.0.2.78",
        "nodes": [{"name": "rras1", "address": "198.51.100.78"}],
    }
    adopt = {
        "virtual:sstp": "X",
        "pool:ikev2-500": "P",
        "pool:ikev2-4500": "P",
        "persistence:ikev2": "source_addr",
    }
    decl = f5.cluster(base, loadBalancer={**f5.load_balancer(), "adopt": adopt})
    project.write_stack("f5-bad-adopt", [decl], f5.secrets())
    seq = f5.last_seq()
    run = project.pulumi("preview", stack="f5-bad-adopt")
    assert run.exit_code != 0
    assert "cluster 'vpn-bad': loadBalancer.adopt: unknown role 'virtual:sstp'" in run.output
    assert "node:rras1, node:198.51.100.78, pool:ikev2-500" in run.output
    assert "pool:ikev2-4500 and pool:ikev2-500 both name pool 'P'" in run.output
    assert "persistence:ikev2: /Common/source_addr is a BIG-IP built-in" in run.output
    assert f5.admin().log(since=seq) == []
