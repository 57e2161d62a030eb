"""The LoadMaster account's least privilege end to end, through the real Pulumi CLI against the twin.

The twin enforces users' permissions as the appliance does (docs/kemp.md#least-privilege-account). The seeded
``automation`` account, which every end-to-end test uses, holds exactly what README.md's "Kemp LoadMaster"
section lists (Virtual Services, Real Servers, Certificate Creation): the whole flow runs with it. A
read-only account is refused at its first write with the LoadMaster's 403, named (device, object,
permission), and nothing is written; an account that may read its own permissions but lacks one fails the
preview before anything is written; a Real Servers-only account drains nodes for a rolling restart but may
not change a virtual service.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from emulators.common import start_twin
from tests.e2e.certificates import TLS_OFFLOAD, certificate, offload_secrets
from tests.e2e.devices import PASSWORD, USER, Decl, Kemp, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

README = '"Least privilege: the automation accounts", "Kemp LoadMaster"'


def cluster(name: str, vip: str, **changes: Any) -> Decl:
    base = {"name": name, "virtualAddress": vip, "persistenceTimeout": 1800}
    return {**base, "nodes": nodes("10.0.0.81", "10.0.0.82"), **changes}


def as_user(kemp: Kemp, decl: Decl, user: str) -> Decl:
    """``decl`` with the LoadMaster reached as ``user`` (its password in the secret ``lm_<user>``)."""
    key = "lm" + "".join(part.title() for part in user.split("-"))
    return {**decl, "loadBalancer": kemp.load_balancer(user=user, passwordSecret=key)}


def secret_of(user: str, password: str) -> dict[str, str]:
    return {"lm" + "".join(part.title() for part in user.split("-")): password}


def applied(kemp: Kemp, since: int) -> list[str]:
    """The writes the twin carried out after ``since`` (refused ones are logged too, with their 403)."""
    return [kemp.describe(e) for e in kemp.admin().log(since=since) if e.get("write") and e["status"] == 200]


def refused(kemp: Kemp, since: int) -> list[tuple[str, int]]:
    return [(str(e.get("command")), e["status"]) for e in kemp.admin().log(since=since) if e["status"] == 403]


def test_the_least_privilege_account_runs_up_a_second_up_a_change_and_destroy(
    project: Project, kemp: Kemp
) -> None:
    cert, key, digest = certificate("vpn.example.test", 2033)
    decl = kemp.cluster(
        cluster("vpn-least", "192.0.2.81"),
        protocols=["ikev2", "sstp"],
        sstp={"tlsOffload": TLS_OFFLOAD},
    )
    assert decl["loadBalancer"]["user"] == USER == "automation"
    project.write_stack("least", [decl], kemp.secrets() | offload_secrets(cert, key))
    since = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack="least", check=True)
    assert refused(kemp, since) == [("usershow", 403)]  # it may not read users: nothing else is refused
    vs443 = kemp.show_vs(443, "192.0.2.81", "tcp")
    assert vs443 is not None and vs443["CertFile"] == f"aovpn_{digest[:16]}"
    vs500, vs4500 = kemp.show_vs(500, "192.0.2.81"), kemp.show_vs(4500, "192.0.2.81")
    assert vs500 is not None and vs4500 is not None and vs500["FollowVSID"] == vs4500["Index"]

    since = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack="least", check=True)
    assert kemp.writes(since) == []

    project.write_stack("least", [{**decl, "persistenceTimeout": 3600}], {})
    project.pulumi("up", "--yes", "--skip-preview", stack="least", check=True)
    vs500 = kemp.show_vs(500, "192.0.2.81")
    assert vs500 is not None and vs500["PersistTimeout"] == "3600"

    project.pulumi("destroy", "--yes", "--skip-preview", stack="least", check=True)
    assert kemp.show_vs(500, "192.0.2.81") is None and kemp.show_vs(443, "192.0.2.81", "tcp") is None
    assert f"aovpn_{digest[:16]}" not in kemp.certificates()


def test_a_read_only_account_is_refused_at_its_first_write_named_and_nothing_is_written(
    project: Project, kemp: Kemp
) -> None:
    decl = as_user(kemp, kemp.cluster(cluster("vpn-ro", "192.0.2.82")), "auditor")
    project.write_stack("readonly", [decl], secret_of("auditor", "auditor-pass"))
    since = kemp.last_seq()
    # the account may not read its own permissions (User Administration): the preview cannot tell
    assert project.pulumi("preview", stack="readonly").exit_code == 0
    run = project.pulumi("up", "--yes", "--skip-preview", stack="readonly")
    assert run.exit_code != 0
    host = kemp.url.split("//", 1)[1]
    expected = (
        f"{host}: addvs virtual service 192.0.2.82:500/udp refused: HTTP 403: Permission Denied: "
        "the LoadMaster account 'auditor' lacks the permission Virtual Services (vs)"
    )
    assert expected in run.output, run.output
    assert "perms=vs,real,certs" in run.output and README in run.output
    assert "Traceback" not in run.output and "auditor-pass" not in run.output
    assert applied(kemp, since) == []
    assert ("addvs", 403) in refused(kemp, since)
    assert kemp.show_vs(500, "192.0.2.82") is None and kemp.show_vs(4500, "192.0.2.82") is None


def test_an_account_that_can_read_its_permissions_fails_the_preview_naming_what_it_lacks(
    project: Project, kemp: Kemp
) -> None:
    # created as README.md says an administrator does, with User Administration only
    assert kemp.command("useraddlocal", user="lm-viewer", password="viewer-pass1", radius="n")[0] == 403
    bal = requests_as(kemp, "bal", "bal-pass")
    assert bal("useraddlocal", user="lm-viewer", password="viewer-pass1", radius="n") == 200
    assert bal("usersetperms", user="lm-viewer", perms="users") == 200
    decl = as_user(kemp, kemp.cluster(cluster("vpn-view", "192.0.2.83")), "lm-viewer")
    project.write_stack("viewer", [decl], secret_of("lm-viewer", "viewer-pass1"))
    since = kemp.last_seq()
    run = project.pulumi("preview", stack="viewer")
    assert run.exit_code != 0
    host = kemp.url.split("//", 1)[1]
    expected = (
        rf"{re.escape(host)}: virtual service 192\.0\.2\.83:(500|4500)/udp needs the LoadMaster permission "
        r"Virtual Services \(vs\), which the account 'lm-viewer' lacks "
        r"\(it has User Administration \(users\)\); nothing was written"
    )
    assert re.search(expected, run.output), run.output
    assert "Traceback" not in run.output and "viewer-pass1" not in run.output
    log = kemp.admin().log(since=since)
    assert [e["command"] for e in log] == ["usershow"]  # once per device per run, and no write at all


def requests_as(kemp: Kemp, user: str, password: str) -> Any:
    import requests

    def call(command: str, **params: Any) -> int:
        resp = requests.get(
            f"{kemp.url}/access/{command}",
            params=params,
            auth=(user, password),
            verify=kemp.verify,
            timeout=30,
        )
        return resp.status_code

    return call


@pytest.fixture(scope="module")
def rras_nodes(tls: Any) -> Any:
    twin = start_twin("winrm", tls=None, nodes=["rras1", "rras2"], allow_basic=False)
    yield twin
    twin.stop()


def test_a_real_servers_only_account_drains_nodes_but_may_not_change_a_virtual_service(
    project: Project, kemp: Kemp, rras_nodes: Any
) -> None:
    managed = [
        {
            **n,
            "management": {
                "endpoint": f"{rras_nodes.url}/{n['name']}/wsman",
                "user": USER,
                "passwordSecret": "rrasPassword",
                "auth": "ntlm",
            },
        }
        for n in nodes("198.51.100.91", "198.51.100.92")
    ]
    base = cluster("vpn-rs", "192.0.2.84", nodes=managed, rras={"drainTimeoutSeconds": 1})
    project.write_stack("rsonly", [kemp.cluster(base)], kemp.secrets() | {"rrasPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack="rsonly", check=True)

    # a policy change restarts the nodes one at a time, each drained on the LoadMaster by rs-operator
    ipsec = {"encryptionMethod": "AES256", "cipherTransformConstants": "AES256"}
    decl = as_user(kemp, kemp.cluster(base, ipsec=ipsec), "rs-operator")
    project.write_stack("rsonly", [decl], secret_of("rs-operator", "rs-operator-pass"))
    since = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack="rsonly", check=True)
    drains = [e for e in kemp.admin().log(since=since) if e.get("command") == "modrs"]
    assert drains and all(e["status"] == 200 for e in drains)
    assert {e.get("command") for e in kemp.admin().log(since=since) if e.get("write")} == {"modrs"}
    assert all(kemp.node_enabled(decl, n) for n in ("rras1", "rras2"))

    # but the same account may not change a virtual service: refused, named, nothing written
    changed = {**decl, "persistenceTimeout": 3600}
    project.write_stack("rsonly", [changed], {})
    since = kemp.last_seq()
    run = project.pulumi("up", "--yes", "--skip-preview", stack="rsonly")
    assert run.exit_code != 0
    assert "modvs virtual service 192.0.2.84:500/udp refused: HTTP 403: Permission Denied" in run.output, (
        run.output
    )
    assert "the LoadMaster account 'rs-operator' lacks the permission Virtual Services (vs)" in run.output
    assert applied(kemp, since) == []
    vs500 = kemp.show_vs(500, "192.0.2.84")
    assert vs500 is not None and vs500["PersistTimeout"] == "1800"

    # destroy runs as the state's account: back to the automation account first
    project.write_stack("rsonly", [kemp.cluster(base, ipsec=ipsec)], {})
    project.pulumi("up", "--yes", "--skip-preview", stack="rsonly", check=True)
    project.pulumi("destroy", "--yes", "--skip-preview", stack="rsonly", check=True)
