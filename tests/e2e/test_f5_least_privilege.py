"""F5 BIG-IP with the least account (docs/f5.md#least-privilege-account), end to end through the real Pulumi
CLI: the whole flow as ``automation``, manager of Common only (the role every e2e test now runs with); a
read-only account stopped at preview, before any write; an account without the role, when the device does not
let it read its own role, refused at its first write with mcpd's code, the project naming the device, the
object and the role it needs; a manager of another partition unable to touch this stack's objects; the role
read sent beside the token login, not after it."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.bench.analysis import most_in_flight
from tests.e2e.certificates import TLS_OFFLOAD, certificate, offload_secrets
from tests.e2e.devices import F5, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "f5least"
LAB: Decl = {
    "name": "vpn-least",
    "protocols": ["ikev2", "sstp"],
    "virtualAddress": "192.0.2.30",
    "nodes": nodes("198.51.100.31", "198.51.100.32"),
    "sstp": {"hostName": "vpn.example.test", "tlsOffload": dict(TLS_OFFLOAD)},
    "persistenceTimeout": 1800,
}
README_HINT = 'README.md, "Least privilege: the automation accounts", "F5 BIG-IP"'


def as_account(f5: F5, user: str, **changes: Any) -> Decl:
    """The lab cluster, its load balancer reached with the account ``user`` (its password in the secret
    ``<user>Password``, the automation account's in the view's own), in the HA device group."""
    secret = f5.secret if user == "automation" else f"{user}Password"
    lb = f5.load_balancer(user=user, passwordSecret=secret, deviceGroup="aovpn-failover")
    return f5.cluster(LAB, loadBalancer=lb, **changes)


def role_of(f5: F5, user: str) -> list[tuple[str, str]]:
    """The account's partition access, as the BIG-IP's admin reads it."""
    resp = requests.get(
        f"{f5.url}/mgmt/tm/auth/user/{user}", auth=("admin", "admin"), verify=f5.verify, timeout=30
    )
    assert resp.status_code == 200, resp.text
    return [(a["name"], a["role"]) for a in resp.json()["partitionAccess"]]


def up(project: Project, stack: str = STACK, check: bool = True) -> Any:
    return project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=check)


def test_the_whole_flow_runs_with_the_manager_role_of_the_partition(project: Project, f5: F5) -> None:
    assert role_of(f5, "automation") == [("Common", "manager")]
    cert, key, digest = certificate("vpn.example.test", 2031)
    project.write_stack(STACK, [as_account(f5, "automation")], f5.secrets() | offload_secrets(cert, key))

    preview = project.pulumi("preview", stack=STACK, check=True)
    assert "Access Denied" not in preview.output and "the account" not in preview.output
    saves = f5.saves()
    up(project)
    assert f"/Common/vpn-least_sstp_{digest[:16]}.crt" in f5.full_paths("sys/crypto/cert")
    assert {"vpn-least_ikev2_500_vs", "vpn-least_sstp_443_vs"} <= f5.names("ltm/virtual")
    assert f5.saves() > saves  # save sys config (and the config-sync after it) ran as the manager

    seq = f5.last_seq()
    up(project)
    assert f5.writes(seq) == []

    project.write_stack(STACK, [as_account(f5, "automation", persistenceTimeout=900)], {})
    seq = f5.last_seq()
    up(project)
    assert f5.persistence_timeout(LAB) == 900
    assert "PATCH /mgmt/tm/ltm/persistence/source-addr/~Common~vpn-least_ikev2_srcaddr" in f5.writes(seq)

    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    assert not any(n.startswith("vpn-least") for n in f5.names("ltm/virtual") | f5.names("ltm/pool"))
    assert not any("vpn-least" in p for p in f5.full_paths("sys/crypto/cert"))


def test_a_read_only_account_fails_the_preview_and_nothing_is_written(project: Project, f5: F5) -> None:
    assert role_of(f5, "reader") == [("Common", "guest")]
    cert, key, _ = certificate("vpn.example.test", 2031)
    stack = "f5reader"
    project.write_stack(
        stack, [as_account(f5, "reader")], {"readerPassword": "reader-pass"} | offload_secrets(cert, key)
    )
    seq = f5.last_seq()

    preview = project.pulumi("preview", stack=stack)
    assert preview.exit_code != 0, preview.output
    host = f5.url.split("://", 1)[1]
    assert f"{host}: the account 'reader' has the role guest on partition Common" in preview.output
    assert "It needs the role manager on partition Common" in preview.output
    assert README_HINT in preview.output
    assert "Traceback" not in preview.output and "reader-pass" not in preview.output

    run = up(project, stack, check=False)
    assert run.exit_code != 0
    assert "the account 'reader' has the role guest on partition Common" in run.output
    assert f5.writes(seq) == []


def test_a_refused_first_write_names_the_device_the_object_and_the_role(project: Project, f5: F5) -> None:
    """When the account cannot read its own user object (a remote LDAP/RADIUS account has none), nothing is
    decided at preview; the device refuses the first write with mcpd's 01070822, and the run says why."""
    stack = "f5reader"
    f5.admin().add_fault(method="GET", path="^/mgmt/tm/auth/user/", action="status", status=404, times=1000)
    try:
        seq = f5.last_seq()
        run = up(project, stack, check=False)
    finally:
        f5.admin().clear_faults()
    assert run.exit_code != 0
    host = f5.url.split("://", 1)[1]
    assert (
        f"{host}: create ltm node /Common/vpn-least_rras1 failed: HTTP 400 01070822:3: Access Denied: user "
        "(reader) does not have create access to object (node_address)" in run.output
    ), run.output
    assert (
        "the account 'reader' lacks the permission: it needs the role manager on partition Common"
        in run.output
    )
    assert README_HINT in run.output
    assert "Traceback" not in run.output and "reader-pass" not in run.output
    assert f5.writes(seq) == []  # refused writes change nothing (the log marks refusals as no writes)
    assert not any(n.startswith("vpn-least") for n in f5.names("ltm/node"))


def test_a_manager_of_another_partition_cannot_touch_this_stacks_objects(project: Project, f5: F5) -> None:
    assert role_of(f5, "tenant") == [("Tenant", "manager")]
    cert, key, _ = certificate("vpn.example.test", 2031)
    project.write_stack(STACK, [as_account(f5, "automation")], f5.secrets() | offload_secrets(cert, key))
    up(project)
    before = f5.everything()

    project.write_stack(
        STACK, [as_account(f5, "tenant", persistenceTimeout=600)], {"tenantPassword": "tenant-pass"}
    )
    preview = project.pulumi("preview", stack=STACK)
    assert preview.exit_code != 0
    assert "the account 'tenant' has no role on partition Common" in preview.output, preview.output

    # the same account where the device does not show it its role: the first write is refused (01070824)
    f5.admin().add_fault(method="GET", path="^/mgmt/tm/auth/user/", action="status", status=404, times=1000)
    try:
        seq = f5.last_seq()
        run = up(project, check=False)
    finally:
        f5.admin().clear_faults()
    assert run.exit_code != 0
    assert (
        "HTTP 400 01070824:3: Write Access Denied: user (tenant) does not have update access to partition "
        "(Common)" in run.output
    ), run.output
    assert "modify ltm persistence source-addr /Common/vpn-least_ikev2_srcaddr failed" in run.output
    assert (
        "the account 'tenant' lacks the permission: it needs the role manager on partition Common"
        in run.output
    )
    assert f5.writes(seq) == []
    assert f5.everything() == before
    assert f5.persistence_timeout(LAB) == 1800

    # back to the manager (an up records the account in the state, writing nothing), then destroy
    project.write_stack(STACK, [as_account(f5, "automation")], {})
    seq = f5.last_seq()
    up(project)
    assert f5.writes(seq) == []
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    assert not any(n.startswith("vpn-least") for n in f5.names("ltm/pool"))


def test_the_role_is_read_beside_the_token_login_not_after_it(project: Project, f5: F5) -> None:
    """The role read before the first write goes with Basic credentials at the moment of the token login: the
    two are in flight together (on the twin's clock, with a latency injected so that requests sent together
    overlap), and the first write follows both, one round trip after the start instead of two."""
    stack = "f5beside"
    cluster = f5.cluster(
        {
            "name": "vpn-beside",
            "virtualAddress": "192.0.2.34",
            "nodes": nodes("198.51.100.35", "198.51.100.36"),
        }
    )
    project.write_stack(stack, [cluster], f5.secrets())
    admin = f5.admin()
    seq = f5.last_seq()
    with admin.latency(300):
        up(project, stack)
    log = admin.log(since=seq)
    login = [e for e in log if e["path"] == "/mgmt/shared/authn/login"]
    role = [e for e in log if e["path"] == "/mgmt/tm/auth/user/automation"]
    assert len(login) == 1 and len(role) == 1 and role[0]["status"] == 200
    assert most_in_flight(login + role) == 2
    writes = [e for e in log if e["method"] in ("POST", "PATCH", "PUT") and e is not login[0]]
    assert writes and min(w["t"][0] for w in writes) >= max(login[0]["t"][1], role[0]["t"][1])
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
