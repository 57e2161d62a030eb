"""Kemp LoadMaster IKEv2 end to end: the real program and providers through the real Pulumi CLI against the
LoadMaster twin, looked at through the classic /access API as a person at the appliance would."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.certificates import TLS_OFFLOAD, certificate, offload_secrets
from tests.e2e.devices import PASSWORD, Citrix, Decl, Kemp, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "kemp"
VIP = "192.0.2.60"
LM: Decl = {
    "name": "vpn-lm",
    "virtualAddress": VIP,
    "nodes": nodes("10.0.0.61", "10.0.0.62"),
    "persistenceTimeout": 1800,
}


def test_up_creates_both_services_with_port_following_and_a_second_up_writes_nothing(
    project: Project, kemp: Kemp
) -> None:
    project.write_stack(STACK, [kemp.cluster(LM)], kemp.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    vs500, vs4500 = kemp.show_vs(500, VIP), kemp.show_vs(4500, VIP)
    assert vs500 is not None and vs4500 is not None
    for vs, port in ((vs500, 500), (vs4500, 4500)):
        assert vs["Protocol"] == "udp" and vs["VSPort"] == str(port)
        assert vs["NickName"] == f"vpn-lm_ikev2_{port} aovpn-iac:aovpn/{STACK}"
        assert (vs["Transparent"], vs["ForceL7"], vs["Persist"], vs["PersistTimeout"]) == (
            "Y",
            "Y",
            "src",
            "1800",
        )
        assert vs["Schedule"] == "lc" and vs["Enable"] == "Y"
        assert kemp.real_servers(vs) == [
            ("10.0.0.61", str(port)),
            ("10.0.0.62", str(port)),
        ]
    assert vs500["FollowVSID"] == vs4500["Index"] and vs4500["FollowVSID"] == vs500["Index"]
    assert PASSWORD not in str(project.checkpoint(STACK))

    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.writes(seq) == []


def test_drift_is_found_and_repaired(project: Project, kemp: Kemp) -> None:
    assert kemp.command("modvs", vs=VIP, port=500, prot="udp", Transparent="N")[0] == 200
    assert kemp.command("modvs", vs=VIP, port=4500, prot="udp", FollowVSID=0)[0] == 200
    assert kemp.command("delrs", vs=VIP, port=500, prot="udp", rs="10.0.0.62", rsport=500)[0] == 200
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    vs500, vs4500 = kemp.show_vs(500, VIP), kemp.show_vs(4500, VIP)
    assert vs500 is not None and vs4500 is not None
    assert vs500["Transparent"] == "Y" and vs4500["FollowVSID"] == vs500["Index"]
    assert sorted(rs["Addr"] for rs in vs500["Rs"]) == ["10.0.0.61", "10.0.0.62"]
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_renumbered_indexes_and_changed_persistence_are_repaired_without_duplicates(
    project: Project, kemp: Kemp
) -> None:
    # a service created and deleted before ours leaves a gap that a global change closes
    # (docs/kemp.md#indexes-and-renumbering)
    assert kemp.command("addvs", vs="192.0.2.99", port=80, prot="tcp")[0] == 200
    project.write_stack(STACK, [kemp.cluster(LM)], kemp.secrets())
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.command("delvs", vs="192.0.2.99", port=80, prot="tcp")[0] == 200
    before = {kemp.show_vs(p, VIP)["Index"] for p in (500, 4500)}
    kemp.admin()._call("POST", "/_twin/renumber")
    after = {kemp.show_vs(p, VIP)["Index"] for p in (500, 4500)}
    assert before != after  # the appliance moved them
    assert kemp.command("modvs", vs=VIP, port=4500, prot="udp", PersistTimeout=600)[0] == 200
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    vs500, vs4500 = kemp.show_vs(500, VIP), kemp.show_vs(4500, VIP)
    assert vs4500["PersistTimeout"] == "1800"
    assert vs500["FollowVSID"] == vs4500["Index"] and vs4500["FollowVSID"] == vs500["Index"]
    ours = [vs for vs in kemp.listed() if vs.get("NickName", "").startswith("vpn-lm")]
    assert len(ours) == 2  # found again by address, port and protocol: nothing duplicated
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_switching_to_citrix_and_back_converges(project: Project, kemp: Kemp, adc: Citrix) -> None:
    project.write_stack(STACK, [adc.cluster(LM)], adc.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.show_vs(500, VIP) is None and kemp.show_vs(4500, VIP) is None
    assert set(adc.admin().state()["running"]["lbvserver"]) == {
        "vpn-lm_ikev2_500_vs",
        "vpn-lm_ikev2_4500_vs",
    }
    project.write_stack(STACK, [kemp.cluster(LM)], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert adc.admin().state()["running"]["lbvserver"] == {}
    vs500, vs4500 = kemp.show_vs(500, VIP), kemp.show_vs(4500, VIP)
    assert vs500["FollowVSID"] == vs4500["Index"]
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_a_service_someone_else_made_is_not_taken_over(project: Project, kemp: Kemp) -> None:
    assert kemp.command("addvs", vs="192.0.2.61", port=500, prot="udp", NickName="hand made")[0] == 200
    decl = kemp.cluster(LM, name="vpn-other", virtualAddress="192.0.2.61")
    project.write_stack("other", [decl], kemp.secrets())
    run = project.pulumi("up", "--yes", "--skip-preview", stack="other")
    assert run.exit_code != 0
    assert "virtual service 192.0.2.61:500/udp already exists" in run.output
    assert "Traceback (most recent call last)" not in run.output and PASSWORD not in run.output
    assert kemp.show_vs(500, "192.0.2.61")["NickName"] == "hand made"
    project.pulumi("destroy", "--yes", "--skip-preview", stack="other", check=True)
    assert kemp.show_vs(500, "192.0.2.61") is not None


def test_sstp_is_passed_through_with_an_https_check(project: Project, kemp: Kemp) -> None:
    project.write_stack(STACK, [kemp.cluster(LM, protocols=["ikev2", "sstp"])], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    vs = kemp.show_vs(443, VIP, "tcp")
    assert vs is not None
    assert (vs["Persist"], vs["CheckType"], vs["CheckUrl"], vs["CheckCodes"]) == (
        "src",
        "https",
        "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/",
        "401",
    )
    assert kemp.real_servers(vs) == [
        ("10.0.0.61", "443"),
        ("10.0.0.62", "443"),
    ]
    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.writes(seq) == []
    project.write_stack(STACK, [kemp.cluster(LM)], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.show_vs(443, VIP, "tcp") is None


def test_sstp_offload_installs_the_certificate_and_rotates_it(project: Project, kemp: Kemp) -> None:
    cert, key, digest = certificate("vpn.example.test", 2031)
    offload = {"tlsOffload": TLS_OFFLOAD}
    decl = kemp.cluster(LM, protocols=["sstp"], sstp=offload)
    project.write_stack(STACK, [decl], offload_secrets(cert, key))
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)

    def sstp() -> tuple[dict[str, Any], list[tuple[str, str]]]:
        vs = kemp.show_vs(443, VIP, "tcp")
        assert vs is not None
        return vs, kemp.real_servers(vs)

    vs, rs = sstp()
    assert (vs["SSLAcceleration"], vs["CertFile"], vs["CheckType"]) == ("Y", f"aovpn_{digest[:16]}", "http")
    assert rs == [("10.0.0.61", "80"), ("10.0.0.62", "80")]
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-lm"]["sstpCertificateSha256"] == digest
    assert "PRIVATE KEY" not in str(project.checkpoint(STACK))
    seq = kemp.last_seq()
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.writes(seq) == []

    new_cert, new_key, new_digest = certificate("vpn.example.test", 2032)
    project.write_stack(STACK, [decl], offload_secrets(new_cert, new_key))
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    vs, _ = sstp()
    assert vs["CertFile"] == f"aovpn_{new_digest[:16]}"
    assert kemp.certificates() == [f"aovpn_{new_digest[:16]}"]

    project.write_stack(STACK, [kemp.cluster(LM, protocols=["sstp"])], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    vs, rs = sstp()
    assert vs["SSLAcceleration"] == "N" and rs == [("10.0.0.61", "443"), ("10.0.0.62", "443")]
    assert kemp.certificates() == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_removing_the_cluster_leaves_nothing_behind(project: Project, kemp: Kemp) -> None:
    project.write_stack(STACK, [], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert kemp.show_vs(500, VIP) is None and kemp.show_vs(4500, VIP) is None
    assert not [vs for vs in kemp.listed() if vs.get("NickName", "").startswith("vpn-lm")]


def test_a_replaced_virtual_service_brings_its_real_servers_and_port_following_back(
    project: Project, kemp: Kemp
) -> None:
    """``delvs`` takes a service's real servers with it: when the service is replaced (here forced with
    ``--replace``, as a person does to recreate a broken object), its real servers and the port following
    on both services are replaced in the same run, and the next ``up`` has nothing left to do."""
    stack = "kemp-replace"
    decl = kemp.cluster(LM, name="vpn-rep", virtualAddress="192.0.2.66")
    project.write_stack(stack, [decl], kemp.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    before = kemp.show_vs(500, "192.0.2.66")
    assert before is not None and len(before["Rs"]) == 2

    seq = kemp.last_seq()
    run = project.replace(
        stack,
        "vpn-rep-vs-ikev2-500",
        [
            "vpn-rep-rs-ikev2-500-rras1",
            "vpn-rep-rs-ikev2-500-rras2",
            "vpn-rep-follow-ikev2-500",
            "vpn-rep-follow-ikev2-4500",
        ],
    )
    done = kemp.writes(seq)
    assert [w for w in done if w.startswith(("/access/delvs", "/access/addvs"))] == [
        "/access/delvs?vs=192.0.2.66&port=500&prot=udp",
        next(w for w in done if w.startswith("/access/addvs")),
    ], done  # deleted first, then made again
    vs500, vs4500 = kemp.show_vs(500, "192.0.2.66"), kemp.show_vs(4500, "192.0.2.66")
    assert vs500 is not None and vs4500 is not None, run.output
    assert kemp.real_servers(vs500) == [
        ("10.0.0.61", "500"),
        ("10.0.0.62", "500"),
    ]
    assert vs500["FollowVSID"] == vs4500["Index"] and vs4500["FollowVSID"] == vs500["Index"]

    project.settled(stack, kemp)
