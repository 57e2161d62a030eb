"""Citrix ADC with least privilege, through the real Pulumi CLI: the ``automation`` account holds only the
documented command policy (README.md "Citrix ADC") and runs the whole flow; a read-only account is refused at
its first write with the ADC's 403/2138 and the project's message; an account confined to other objects is
refused by the preview's permission check before anything is read or written
(docs/citrix.md#least-privilege-account). The check of an account set up as documented takes one round trip.
"""

from __future__ import annotations

import re

import pytest

from tests.bench.analysis import most_in_flight
from tests.e2e.certificates import TLS_OFFLOAD, certificate, offload_secrets
from tests.e2e.devices import PASSWORD, Citrix, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

BASE: Decl = {
    "protocols": ["ikev2", "sstp"],
    "virtualAddress": "192.0.2.70",
    "nodes": nodes("198.51.100.71", "198.51.100.72"),
    "persistenceTimeout": 1800,
    "loadBalancingMethod": "round-robin",
    "sstp": {"tlsOffload": TLS_OFFLOAD},
}


def cluster(adc: Citrix, name: str, user: str | None = None, secret: str | None = None) -> Decl:
    decl = adc.cluster({**BASE, "name": name})
    if user:
        decl["loadBalancer"] = adc.load_balancer(user=user, passwordSecret=secret)
    return decl


def requests_since(adc: Citrix, seq: int) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in adc.admin().log(since=seq)]


def test_documented_policy_runs_up_second_up_change_and_destroy(project: Project, adc: Citrix) -> None:
    stack = "lp-automation"
    assert adc.call("POST", "nsmode?action=disable", {"nsmode": {"mode": ["USNIP"]}}).ok
    cert, key, _ = certificate("vpn.example.test", 2031)
    secrets = {**adc.secrets(), **offload_secrets(cert, key)}
    project.write_stack(stack, [cluster(adc, "lpa")], secrets)

    seq = adc.last_seq()
    assert project.pulumi("preview", stack=stack).exit_code == 0
    seen = requests_since(adc, seq)
    # the preview read the account's own entry and policy once, and wrote nothing
    assert seen.count("GET /nitro/v1/config/systemuser_binding/automation") == 1
    assert seen.count("GET /nitro/v1/config/systemcmdpolicy/aovpn") == 1
    assert adc.writes(seq) == []

    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert adc.names("server") >= {"lpa_rras1", "lpa_rras2"}
    assert {"lpa_ikev2_500_vs", "lpa_ikev2_4500_vs", "lpa_sstp_443_vs"} <= adc.names("lbvserver")
    assert adc.call("GET", "nsmode").json()["nsmode"]["usnip"] is True
    assert any(c["certkey"].startswith("aovpn_") for c in adc.get("sslcertkey"))
    assert adc.admin().state()["unsaved_changes"] is False

    seq = adc.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert adc.writes(seq) == []

    changed = cluster(adc, "lpa")
    changed["loadBalancingMethod"] = "least-connections"
    project.write_stack(stack, [changed], {})
    seq = adc.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert "PUT /nitro/v1/config/lbvserver/lpa_ikev2_500_vs" in adc.writes(seq)
    assert adc.get("lbvserver/lpa_ikev2_500_vs")[0]["lbmethod"] == "LEASTCONNECTION"
    assert adc.saves(seq) == 1

    destroy = project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
    assert not {n for n in adc.names("lbvserver") | adc.names("server") if n.startswith("lpa_")}
    assert not adc.get("sslcertkey")
    assert PASSWORD not in destroy.output and "Not authorized" not in destroy.output


def test_read_only_account_is_refused_at_its_first_write_and_nothing_is_written(
    project: Project, adc: Citrix
) -> None:
    stack = "lp-auditor"
    cert, key, _ = certificate("vpn.example.test", 2031)
    secrets = {"adcAuditorPassword": "auditor-pass", **offload_secrets(cert, key)}
    project.write_stack(stack, [cluster(adc, "lpr", "auditor", "adcAuditorPassword")], secrets)
    seq = adc.last_seq()
    # read-only may not read its own entry (`show system ...`): the preview cannot tell, and says nothing
    assert project.pulumi("preview", stack=stack).exit_code == 0
    run = project.pulumi("up", "--yes", "--skip-preview", stack=stack)
    assert run.exit_code != 0
    host = adc.url.split("://", 1)[1]
    assert f"{host}: " in run.output and "is not permitted for the account 'auditor'" in run.output
    assert "(HTTP 403 errorcode 2138: Not authorized to execute this command)" in run.output
    assert re.search(r"(add|enable|upload) [a-z]+ [\w.-]+ is not permitted", run.output), run.output
    assert re.search(r"command policy allowing `(add|enable) [a-zA-Z ]+`", run.output), run.output
    assert '"Least privilege: the automation accounts", "Citrix ADC"' in run.output
    # no stack trace of the providers (the program's own may follow when the engine stops it mid-registration)
    assert not re.search(r'File "[^"]*/providers/', run.output) and "auditor-pass" not in run.output
    assert "filecontent" not in run.output.lower() and "BEGIN" not in run.output
    refusals = [e for e in adc.admin().log(since=seq) if e["status"] == 403]
    assert refusals and adc.writes(seq) == []
    assert not [n for n in adc.names("server") if n.startswith("lpr_")]


def test_account_of_other_objects_fails_the_preview_naming_what_it_lacks(
    project: Project, adc: Citrix
) -> None:
    stack = "lp-other"
    cert, key, _ = certificate("vpn.example.test", 2031)
    secrets = {"adcOtherPassword": "other-pass", **offload_secrets(cert, key)}
    project.write_stack(stack, [cluster(adc, "lpo", "other", "adcOtherPassword")], secrets)
    seq = adc.last_seq()
    run = project.pulumi("preview", stack=stack)
    assert run.exit_code != 0
    assert "is not permitted for the account 'other'" in run.output
    assert re.search(r"manage [a-z ]+ lpo_[\w.,-]+ is not permitted", run.output), run.output
    assert re.search(r"allowing `(show|add|bind|save|enable) [^`]*`", run.output), run.output
    assert "Least privilege: the automation accounts" in run.output and "Traceback" not in run.output
    assert adc.writes(seq) == []
    # nothing of this stack was even read: the check decided from the account's own policy
    assert not [r for r in requests_since(adc, seq) if "lpo_" in r]
    assert project.pulumi("up", "--yes", "--skip-preview", stack=stack).exit_code != 0
    assert adc.writes(seq) == []


def test_the_documented_account_is_checked_in_one_round_trip(project: Project, adc: Citrix) -> None:
    """The user entry, its bindings and the README's policy are read together (in flight at once on the twin's
    clock, with a latency injected so that requests sent together overlap), not the policy after the
    bindings; an account whose policy has another name is the test above (a second round)."""
    stack = "lp-oneround"
    cert, key, _ = certificate("vpn.example.test", 2031)
    project.write_stack(stack, [cluster(adc, "lp1")], {**adc.secrets(), **offload_secrets(cert, key)})
    admin = adc.admin()
    seq = adc.last_seq()
    with admin.latency(300):
        assert project.pulumi("preview", stack=stack).exit_code == 0
    log = admin.log(since=seq)
    check = [
        e
        for e in log
        if e["path"]
        in (
            "/nitro/v1/config/systemuser/automation",
            "/nitro/v1/config/systemuser_binding/automation",
            "/nitro/v1/config/systemcmdpolicy/aovpn",
        )
    ]
    assert len(check) == 3 and {e["status"] for e in check} == {200}
    assert most_in_flight(check) == 3
    assert adc.writes(seq) == []
