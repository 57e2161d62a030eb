"""The project's dynamic-provider host (providers/host) through the real CLI: the engine's calls run at once
instead of four at a time, and the host still ends the way the SDK's does (clients closed at exit).

Concurrency is read from the twin's request log (each entry's arrival and answer on the twin's clock), with a
latency injected so that requests sent together overlap whatever the machine's speed; nothing here is timed.
"""

from __future__ import annotations

import pytest

from tests.bench.analysis import most_in_flight
from tests.e2e.devices import F5, Kemp, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

#: long enough that the six real servers of one level, sent together, are all in flight at once
LATENCY_MS = 400


def test_independent_objects_are_written_together(project: Project, kemp: Kemp) -> None:
    """A level of six real servers: all six in flight at once (the SDK's own host serves four at a time)."""
    stack = "host-kemp"
    cluster = kemp.cluster(
        {
            "name": "vpn-host",
            "virtualAddress": "192.0.2.140",
            "nodes": nodes("10.0.40.11", "10.0.40.12", "10.0.40.13"),
        }
    )
    project.write_stack(stack, [cluster], kemp.secrets())
    admin = kemp.admin()
    seq = kemp.last_seq()
    with admin.latency(LATENCY_MS):
        project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    log = admin.log(since=seq)
    addrs = [e for e in log if str(e["path"]).lower() == "/access/addrs"]
    assert len(addrs) == 6
    assert most_in_flight(addrs) == 6
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)


def test_clients_are_closed_when_the_engine_stops_the_host(project: Project, f5: F5) -> None:
    """The F5 token is deleted at the host's exit (the engine interrupts the host's process group), once."""
    stack = "host-f5"
    cluster = f5.cluster(
        {"name": "vpn-host", "virtualAddress": "192.0.2.141", "nodes": nodes("10.0.41.11", "10.0.41.12")}
    )
    project.write_stack(stack, [cluster], f5.secrets())
    seq = f5.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    log = f5.admin().log(since=seq)
    logins = [e for e in log if e["path"] == "/mgmt/shared/authn/login"]
    deleted = [
        e for e in log if e["method"] == "DELETE" and str(e["path"]).startswith("/mgmt/shared/authz/tokens/")
    ]
    assert len(logins) == 1
    assert len(deleted) == 1 and deleted[0]["status"] == 200
    assert max(log, key=lambda e: float(e["t"][0])) is deleted[0]  # the last request of the run
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
