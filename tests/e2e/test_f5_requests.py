"""F5 BIG-IP requests through the real CLI: near the physical minimum, and one run to converge under
transient faults (issue: requests). Counted in the twin's request log; wall time is the benchmark's.

The reference cluster is 3 nodes with IKEv2: 8 objects (3 nodes, 2 pools, 1 persistence profile, 2 virtual
servers) and a configuration save. The physical minimum of a create is one login and one write per object
and save (10); the project adds the token's deletion at exit and its account's role read before writing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.devices import F5, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "f5requests"
MINIMUM_CREATE = 10  # login + 8 object writes + the save


def _cluster(i: int) -> Decl:
    return {
        "name": f"req{i}",
        "virtualAddress": f"192.0.2.{60 + i}",
        "nodes": nodes(*(f"198.51.{101 + i}.{10 + n}" for n in range(1, 4))),
    }


def _log(f5: F5, since: int) -> list[dict[str, Any]]:
    return [e for e in f5.admin().log(since=since)]


def _types(entries: list[dict[str, Any]]) -> Counter[str]:
    """GETs per object type (the collection path without the object's name)."""
    return Counter(
        e["path"].split("?")[0].split("/~")[0]
        for e in entries
        if e["method"] == "GET" and "/mgmt/tm/" in e["path"]
    )


def test_create_refresh_and_no_op_are_near_the_minimum_whatever_the_number_of_clusters(
    project: Project, f5: F5
) -> None:
    project.write_stack(STACK, [f5.cluster(_cluster(0))], f5.secrets())
    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    create = _log(f5, seq)
    assert len(create) <= 1.3 * MINIMUM_CREATE, [f5.describe(e) for e in create]
    assert sum(1 for e in create if e["method"] == "POST" and e["path"].endswith("/authn/login")) == 1

    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert _log(f5, seq) == []

    seq = f5.last_seq()
    project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK, check=True)
    one = _log(f5, seq)
    assert max(_types(one).values()) <= 2, _types(one)

    # five clusters on the device: the refresh still reads each object type once
    project.write_stack(STACK, [f5.cluster(_cluster(i)) for i in range(5)], f5.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    seq = f5.last_seq()
    project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK, check=True)
    five = _log(f5, seq)
    assert _types(five) == _types(one) and len(five) == len(one), [f5.describe(e) for e in five]
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)


def test_transient_faults_and_lost_answers_converge_in_one_run_without_duplicates(
    project: Project, f5: F5
) -> None:
    stack = STACK + "-faults"
    project.write_stack(stack, [f5.cluster(_cluster(7))], f5.secrets())
    before = f5.everything()
    # the first login answers 503; a pool's create lands but its answer is lost; a virtual's create is
    # refused busy twice; the save times out once after it was carried out
    f5.admin().add_fault(method="POST", path=r"/authn/login$", action="status", status=503)
    f5.admin().add_fault(method="POST", path=r"/mgmt/tm/ltm/pool$", action="lost")
    f5.admin().add_fault(method="POST", path=r"/mgmt/tm/ltm/virtual$", action="status", status=503, times=2)
    f5.admin().add_fault(method="POST", path=r"/mgmt/tm/sys/config$", action="lost")
    seq = f5.last_seq()
    up = project.pulumi("up", "--yes", "--skip-preview", stack=stack)
    assert up.exit_code == 0, up.output
    entries = _log(f5, seq)
    posts = Counter(e["path"] for e in entries if e["method"] == "POST" and "/ltm/" in e["path"])
    # the lost pool create was read and found, never sent again; the busy virtual create was sent again
    assert posts["/mgmt/tm/ltm/pool"] == 2  # one per pool: the lost one is not repeated
    assert posts["/mgmt/tm/ltm/virtual"] == 4  # two refused, then one per virtual
    # each decision reads only the object it is about, from the device (its write marked it in the run's
    # cache); no collection is loaded again for it: one read for the lost pool, one per refused virtual
    reads = [e["path"] for e in entries if e["method"] == "GET" and "/ltm/" in e["path"]]
    assert len(reads) == 3 and all("/~Common~" in path for path in reads), reads
    after = f5.everything()
    made = {c: after[c] - before.get(c, set()) for c in after}
    assert made["ltm/pool"] == {"/Common/req7_ikev2_500", "/Common/req7_ikev2_4500"}
    assert made["ltm/virtual"] == {"/Common/req7_ikev2_500_vs", "/Common/req7_ikev2_4500_vs"}
    # converged: nothing left to do, and nothing the state does not know
    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert f5.writes(seq) == []
    project.pulumi("preview", "--refresh", "--expect-no-changes", stack=stack, check=True)
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
    assert f5.everything() == before
