"""What the backend tests share: the cluster they configure on the F5 twin, what one ``up`` of it writes, how
the twin's request log is read, and the whole ``up`` / drift check / ``destroy`` flow run against each
backend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.backends.storage import LOCKS, SharedStateProject
from tests.e2e.devices import F5, PASSWORD, Decl, nodes

LAB: Decl = {
    "name": "vpn-shared",
    "virtualAddress": "192.0.2.40",
    "nodes": nodes("198.51.100.41", "198.51.100.42"),
}
VIRTUALS = {"vpn-shared_ikev2_500_vs", "vpn-shared_ikev2_4500_vs"}
NODES = {"vpn-shared_rras1", "vpn-shared_rras2"}
#: What one ``up`` of LAB on an empty F5 writes, each once: two nodes, a pool per IKEv2 port, the persistence
#: profile, a virtual server per port, and the configuration save after them.
ONE_UP = Counter(
    {
        "POST /mgmt/tm/ltm/node": 2,
        "POST /mgmt/tm/ltm/pool": 2,
        "POST /mgmt/tm/ltm/persistence/source-addr": 1,
        "POST /mgmt/tm/ltm/virtual": 2,
        "POST /mgmt/tm/sys/config": 1,
    }
)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: The CLI's refusal when another run holds the stack's lock, as pkg/backend/diy/lock.go words it.
LOCKED = (
    "the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
    "or delete the lock file with `pulumi cancel`."
)


def state_key(stack: str) -> str:
    """The stack's state in a project-scoped DIY backend."""
    return f".pulumi/stacks/aovpn/{stack}.json"


def lock_prefix(stack: str) -> str:
    return f"{LOCKS}organization/aovpn/{stack}/"


def device_writes(f5: F5, since: int) -> list[dict[str, Any]]:
    """Every configuration request with a write method the twin received after ``since``, answered or
    refused (a second create of an object would be refused with 409 and still be listed)."""
    return [
        e
        for e in f5.admin().log(since=since)
        if e["method"] in WRITE_METHODS and e["path"].startswith("/mgmt/tm/")
    ]


def carried_out(f5: F5, since: int) -> Counter[str]:
    """The configuration writes the twin carried out after ``since``, by method and path."""
    return Counter(f5.describe(e) for e in device_writes(f5, since) if e["status"] < 400)


def logins(f5: F5, since: int) -> int:
    """How many iControl REST sessions were opened after ``since`` (a provider run opens one)."""
    return sum(1 for e in f5.admin().log(since=since) if e["path"] == "/mgmt/shared/authn/login")


def up_drift_check_and_destroy(
    project: SharedStateProject,
    f5: F5,
    stack: str,
    keys: Callable[[str], list[str]],
    read: Callable[[str], bytes],
) -> None:
    """The pipeline's three commands on a new stack, with the state only in the shared backend (``keys``
    lists its objects under a prefix, ``read`` reads one) and none in the project directory."""
    whoami = project.cli("whoami", "--verbose")
    assert f"Backend URL: {project.backend_url}" in whoami.output, whoami.output

    project.write_stack(stack, [f5.cluster(LAB)], f5.secrets())
    seq = f5.last_seq()
    up = project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert "+ 10 created" in up.output, up.output
    assert Counter(f5.describe(e) for e in device_writes(f5, seq)) == ONE_UP
    assert f5.names("ltm/virtual") >= VIRTUALS

    found = keys("")
    assert ".pulumi/meta.yaml" in found and state_key(stack) in found, found
    assert any(k.startswith(f".pulumi/history/aovpn/{stack}/") for k in found), found
    state = read(state_key(stack))
    assert b"vpn-shared_ikev2_500_vs" in state and PASSWORD.encode() not in state
    assert keys(lock_prefix(stack)) == []
    assert project.local_state_files() == []

    seq = f5.last_seq()
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=stack)
    assert drift.exit_code == 0, drift.output
    assert device_writes(f5, seq) == []

    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
    assert not f5.names("ltm/virtual") & VIRTUALS
    assert not f5.names("ltm/node") & NODES
    assert project.checkpoint(stack)["checkpoint"]["latest"].get("resources") in (None, [])
    assert keys(lock_prefix(stack)) == []
    assert project.local_state_files() == []
