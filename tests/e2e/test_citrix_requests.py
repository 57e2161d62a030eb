"""Citrix ADC request counts through the real Pulumi CLI, on the NITRO twin's request log (issue 17).

The reference cluster (3 nodes, IKEv2) is 21 objects: 3 servers, 2 service groups with 6 members and 2
monitor bindings, a PING monitor, 2 vservers with their service-group bindings, a persistency group with 2
members; plus the USNIP mode and one ``save ns config``. A create sends one write per object without a read
before or after (providers/common/resource.py); the reads left are the login, the account's permission
check (docs/citrix.md#least-privilege-account) and one nsmode read. A refresh reads each collection (and
each binding kind, ``?bulkbindings=yes``) once per device, however many clusters share it
(docs/citrix.md#collections-and-bulk-bindings). A run with transient faults (an add and a bind whose
answers were lost, a busy answer to an add and to an update) converges in one ``up`` without duplicates.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.devices import Citrix, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "citrix-requests"
PREFIX = "/nitro/v1/config/"
#: at most 1.3x the physical minimum of 21 (issue 17)
CREATE_LIMIT = 28
REF: Decl = {
    "name": "req",
    "virtualAddress": "192.0.2.50",
    "nodes": nodes("198.51.100.51", "198.51.100.52", "198.51.100.53"),
}


def cluster(adc: Citrix, i: int, **changes: Any) -> Decl:
    """The reference cluster number ``i`` (0 is REF itself), on addresses of its own."""
    if i == 0:
        return adc.cluster(REF, **changes)
    base = {
        "name": f"req{i}",
        "virtualAddress": f"192.0.2.{50 + i}",
        "nodes": nodes(*(f"198.51.{100 + i}.{n}" for n in (51, 52, 53))),
    }
    return adc.cluster(base, **changes)


def requests_since(adc: Citrix, seq: int) -> list[dict[str, Any]]:
    return list(adc.admin().log(since=seq))


def resource(entry: dict[str, Any]) -> str:
    """The NITRO resource a request is for (``servicegroup``, ``lbgroup_lbvserver_binding``, ``login``)."""
    return str(entry["path"]).removeprefix(PREFIX).split("/", 1)[0]


def per_resource(entries: list[dict[str, Any]]) -> Counter[str]:
    return Counter(resource(e) for e in entries)


def run(project: Project, adc: Citrix, *args: str, check: bool = True) -> list[dict[str, Any]]:
    seq = adc.last_seq()
    result = project.pulumi(*args, stack=STACK, check=check)
    if not check:
        assert result.exit_code == 0, result.output
    return requests_since(adc, seq)


def names(adc: Citrix) -> dict[str, list[str]]:
    """Every object of the clusters, by collection, as a list (a duplicate would show twice)."""
    out: dict[str, list[str]] = {}
    for res, key in (
        ("server", "name"),
        ("servicegroup", "servicegroupname"),
        ("lbvserver", "name"),
        ("lbgroup", "name"),
        ("lbmonitor", "monitorname"),
    ):
        out[res] = sorted(str(o[key]) for o in adc.get(res) if str(o[key]).startswith("req"))
    running = adc.admin().state()["running"]
    out["members"] = sorted(
        f"{m['servicegroupname']}/{m['servername']}/{m['port']}"
        for m in running["members"]
        if m["servicegroupname"].startswith("req")
    )
    out["vs_sg"] = sorted(f"{b['name']}/{b['servicegroupname']}" for b in running["vs_sg"])
    out["group_vs"] = sorted(f"{b['name']}/{b['vservername']}" for b in running["group_vs"])
    return out


def test_create_is_one_write_per_object_and_few_reads(project: Project, adc: Citrix) -> None:
    project.write_stack(STACK, [cluster(adc, 0)], adc.secrets())
    log = run(project, adc, "up", "--yes", "--skip-preview")
    writes = [e for e in log if e.get("write")]
    assert len(writes) == 21 + 1, [adc.describe(e) for e in writes]  # the objects and one save
    assert len(log) <= CREATE_LIMIT, [adc.describe(e) for e in log]
    counts = per_resource(log)
    assert counts["login"] == 1
    # no object is read back after its create, and no parent is read per binding
    for res in ("servicegroup", "lbvserver", "lbgroup", "lbmonitor", "server"):
        assert all(e["method"] != "GET" for e in log if resource(e) == res), res


def test_refresh_reads_each_collection_once(project: Project, adc: Citrix) -> None:
    log = run(project, adc, "preview", "--refresh", "--expect-no-changes", check=False)
    assert all(e["method"] == "GET" or resource(e) in ("login", "logout") for e in log)
    counts = per_resource(log)
    assert max(counts.values()) <= 2, counts
    assert counts["login"] == 1
    # servers, service groups, members, monitor bindings, monitors (and their bindings), vservers, their
    # service groups, the group and its members, the mode: one read each, one login, one logout
    assert len(log) <= 14, counts


def test_a_second_up_sends_nothing(project: Project, adc: Citrix) -> None:
    assert run(project, adc, "up", "--yes", "--skip-preview") == []


def test_a_busy_login_is_tried_again_within_the_run(project: Project, adc: Citrix) -> None:
    adc.admin().add_fault(method="POST", path=r"/nitro/v1/config/login$", action="status", status=503)
    log = run(project, adc, "preview", "--refresh", "--expect-no-changes", check=False)
    logins = [e["status"] for e in log if resource(e) == "login"]
    assert logins == [503, 201], logins


def test_five_clusters_refresh_in_the_same_requests(project: Project, adc: Citrix) -> None:
    project.write_stack(STACK, [cluster(adc, i) for i in range(5)], {})
    log = run(project, adc, "up", "--yes", "--skip-preview")
    writes = Counter(adc.describe(e) for e in log if e.get("write"))
    # each cluster's objects and its save (a save per cluster: components/citrix.py)
    assert sum(writes.values()) == 4 * (21 + 1), writes
    refresh = run(project, adc, "preview", "--refresh", "--expect-no-changes", check=False)
    counts = per_resource(refresh)
    assert max(counts.values()) <= 2, counts
    assert len(refresh) <= 14, counts
    assert run(project, adc, "up", "--yes", "--skip-preview") == []


def test_a_one_property_change_is_one_write_and_a_save(project: Project, adc: Citrix) -> None:
    clusters = [cluster(adc, i) for i in range(5)]
    clusters[2]["persistenceTimeout"] = 1800
    project.write_stack(STACK, clusters, {})
    log = run(project, adc, "up", "--yes", "--skip-preview")
    writes = [adc.describe(e) for e in log if e.get("write")]
    assert writes == ["PUT /nitro/v1/config/lbgroup/req2_ikev2_persist", "POST /nitro/v1/config/nsconfig"]
    # the write, the save, a login and the permission check: nothing is read around the write
    assert not [e for e in log if e["method"] == "GET" and resource(e) == "lbgroup"]


def test_transient_faults_converge_in_one_up_without_duplicates(project: Project, adc: Citrix) -> None:
    admin = adc.admin()
    # an add and a bind carried out whose answers were lost; an add and an update answered busy
    admin.add_fault(method="POST", path=r"/nitro/v1/config/servicegroup$", action="lost")
    admin.add_fault(method="PUT", path=r"/servicegroup_servicegroupmember_binding$", action="lost")
    admin.add_fault(method="POST", path=r"/nitro/v1/config/lbvserver$", action="status", status=503)
    admin.add_fault(method="PUT", path=r"/nitro/v1/config/lbgroup/", action="status", status=503)
    clusters = [cluster(adc, i) for i in range(6)]
    clusters[3]["persistenceTimeout"] = 1200
    project.write_stack(STACK, clusters, {})
    try:
        log = run(project, adc, "up", "--yes", "--skip-preview")
    finally:
        admin.clear_faults()
    assert {e.get("fault") for e in log} >= {"lost", "status"}
    found = names(adc)
    for objects in found.values():
        assert len(objects) == len(set(objects)), objects
    assert len(found["server"]) == 18 and len(found["members"]) == 36
    assert len(found["servicegroup"]) == 12 and len(found["lbvserver"]) == 12
    assert adc.get("lbgroup/req3_ikev2_persist")[0]["timeout"] == "20"
    assert project.pulumi("preview", "--expect-no-changes", stack=STACK).exit_code == 0
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_destroy_reads_each_collection_once(project: Project, adc: Citrix) -> None:
    log = run(project, adc, "destroy", "--yes", "--skip-preview")
    counts = per_resource([e for e in log if e["method"] == "GET"])
    # one read of each collection and binding kind (the deletes come after their reads)
    assert max(counts.values(), default=0) <= 2, counts
    assert not [n for n in adc.names("lbvserver") if n.startswith("req")]
