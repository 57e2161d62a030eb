"""Kemp LoadMaster request counts through the real Pulumi CLI, read from the twin's request log (issue 17).

The reference cluster (3 nodes, IKEv2) is 2 virtual services, 6 real servers and 2 port followings: 10
writes, the physical minimum of a create. The provider adds the account check (``usershow``, once per
device per run that writes) and reads only what it must: a write's answer is the object (``addvs``/``modvs``
answer the whole service, ``addrs`` the real server), and every read of a run comes from one ``listvs``
(docs/kemp.md#request-economy). A refresh is one ``listvs`` whatever the number of clusters; a second ``up``
sends nothing. Under injected transient faults (an answer lost after the device acted, a 503) one ``up``
converges with nothing duplicated.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.devices import Decl, Kemp, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

#: objects of the reference cluster on a LoadMaster: 2 virtual services, 3 real servers on each, 2 port
#: followings
OBJECTS = 2 + 6 + 2
#: object types on the device (virtual service, real server, port following)
TYPES = 3


def _cluster(kemp: Kemp, i: int, **changes: Any) -> Decl:
    base: Decl = {
        "name": f"vpn-rq{i}",
        "virtualAddress": f"192.0.2.{120 + i}",
        "nodes": nodes(*(f"10.0.{i}.{n}" for n in (11, 12, 13))),
        "persistenceTimeout": 1800,
    }
    return kemp.cluster(base, **changes)


def _requests(kemp: Kemp, since: int) -> list[dict[str, Any]]:
    return list(kemp.admin().log(since=since))


def _commands(entries: list[dict[str, Any]]) -> Counter[str]:
    """Requests by command (from the path: a request a fault took never reached the command parser)."""
    return Counter(str(e["path"]).removeprefix("/access/").lower() for e in entries)


def _ours(kemp: Kemp, prefix: str) -> list[dict[str, Any]]:
    _, root = kemp.command("listvs")
    found = []
    for vs in root.findall("Success/Data/VS"):
        fields = {c.tag: (c.text or "") for c in vs if len(c) == 0}
        if fields.get("NickName", "").startswith(prefix):
            fields["Rs"] = [{c.tag: (c.text or "") for c in rs} for rs in vs.findall("Rs")]
            found.append(fields)
    return found


def _measure(project: Project, kemp: Kemp, stack: str, count: int) -> dict[str, Counter[str]]:
    """create, refresh, no-op, one-property change and destroy of ``count`` reference clusters."""
    clusters = [_cluster(kemp, i) for i in range(1, count + 1)]
    project.write_stack(stack, clusters, kemp.secrets())
    counts: dict[str, Counter[str]] = {}

    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    counts["create"] = _commands(_requests(kemp, seq))

    seq = kemp.last_seq()
    refresh = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=stack)
    assert refresh.exit_code == 0, refresh.output
    counts["refresh"] = _commands(_requests(kemp, seq))

    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    counts["no-op"] = _commands(_requests(kemp, seq))

    changed = [_cluster(kemp, 1, persistenceTimeout=2400), *clusters[1:]]
    project.write_stack(stack, changed, {})
    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    counts["change"] = _commands(_requests(kemp, seq))
    assert kemp.persistence_timeout(changed[0]) == 2400

    seq = kemp.last_seq()
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
    counts["destroy"] = _commands(_requests(kemp, seq))
    assert _ours(kemp, "vpn-rq") == []
    print(f"\nkemp requests, {count} cluster(s):", {k: (sum(v.values()), dict(v)) for k, v in counts.items()})
    return counts


@pytest.mark.parametrize("count", [1, 5])
def test_requests_per_operation_are_near_the_minimum(project: Project, kemp: Kemp, count: int) -> None:
    counts = _measure(project, kemp, f"kemp-rq{count}", count)
    writes = OBJECTS * count

    # one write per object and the account check: nothing read before, after or per child
    assert counts["create"] == Counter(addvs=2 * count, addrs=6 * count, modvs=2 * count, usershow=1)
    assert sum(counts["create"].values()) <= writes + 3  # the target: 13 for the reference cluster
    # a refresh reads each collection once per device, whatever the number of clusters
    assert counts["refresh"] == Counter({"listvs": 1})
    assert sum(counts["refresh"].values()) <= 2 * TYPES
    assert sum(counts["no-op"].values()) == 0
    # persistence on both services of one cluster: two modvs and the account check, no read
    assert counts["change"] == Counter(modvs=2, usershow=1)
    # one read for the whole destroy, then a write per object
    assert counts["destroy"] == Counter(listvs=1, delrs=6 * count, modvs=2 * count, delvs=2 * count)


def test_transient_faults_converge_in_one_run_without_duplicates(project: Project, kemp: Kemp) -> None:
    """An ``addrs`` whose answer is lost after the device acted and a 503 on a ``modvs``: one ``up`` creates
    one cluster and changes the other, nothing is sent twice blindly and nothing is duplicated."""
    stack = "kemp-rq-faults"
    first = _cluster(kemp, 7)
    project.write_stack(stack, [first], kemp.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)

    admin = kemp.admin()
    admin.add_fault(method="GET", path="^/access/addrs$", action="lost")
    admin.add_fault(method="GET", path="^/access/modvs$", action="status", status=503, body="busy")
    project.write_stack(stack, [_cluster(kemp, 7, persistenceTimeout=2400), _cluster(kemp, 8)], {})
    seq = kemp.last_seq()
    run = project.pulumi("up", "--yes", "--skip-preview", stack=stack)
    admin.clear_faults()
    assert run.exit_code == 0, run.output
    log = _requests(kemp, seq)
    assert sorted(str(e["fault"]) for e in log if e.get("fault")) == ["lost", "status"]
    sent = _commands(log)
    # the lost addrs had landed: read (one listvs), found ours, not sent again; the modvs refused with
    # 503 was read and sent again once
    assert sent["addrs"] == 6 and sent["addvs"] == 2
    assert sent["modvs"] == 2 + 1 + 2  # cluster 7's two changes, the one resent, cluster 8's port following
    # a read to decide after each failure; the services the failures touched are read again at most
    # once per object on them (what the device has after an unanswered write is not known)
    assert 2 <= sent["listvs"] + sent["showvs"] <= 2 + 6
    assert sent["showrs"] == 0

    for i in (7, 8):
        services = _ours(kemp, f"vpn-rq{i}_")
        assert len(services) == 2, services
        for vs in services:
            assert len(vs["Rs"]) == 3 and len({(rs["Addr"], rs["Port"]) for rs in vs["Rs"]}) == 3
            assert vs["PersistTimeout"] == ("2400" if i == 7 else "1800")
        by_index = {vs["Index"]: vs for vs in services}
        for vs in services:
            assert by_index[vs["FollowVSID"]]["FollowVSID"] == vs["Index"]
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=stack).exit_code == 0
    project.settled(stack, kemp)
