"""Kemp LoadMaster IKEv2 end to end: the real program and providers through the real Pulumi CLI against the
LoadMaster twin, looked at through the classic /access API as a person at the appliance would."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
from defusedxml import ElementTree

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

USER, PASSWORD = "automation", "automation-pass"
STACK = "kemp"


class LoadMaster:
    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self.verify = str(twin.tls.ca_path)

    def command(self, command: str, **params: Any) -> tuple[int, Any]:
        resp = requests.get(
            f"{self.twin.url}/access/{command}",
            params=params,
            auth=(USER, PASSWORD),
            verify=self.verify,
            timeout=30,
        )
        return resp.status_code, ElementTree.fromstring(resp.content)

    def show_vs(self, port: int, address: str = "192.0.2.60") -> dict[str, Any] | None:
        status, root = self.command("showvs", vs=address, port=port, prot="udp")
        if status == 422:
            return None
        assert status == 200, ElementTree.tostring(root)
        data = root.find("Success/Data")
        fields = {child.tag: (child.text or "") for child in data if len(child) == 0}
        fields["Rs"] = [{c.tag: (c.text or "") for c in rs} for rs in data.findall("Rs")]
        return fields

    def listed(self) -> list[dict[str, str]]:
        status, root = self.command("listvs")
        assert status == 200
        return [{c.tag: (c.text or "") for c in vs if len(c) == 0} for vs in root.findall("Success/Data/VS")]


def cluster_decl(twin: Any, **changes: Any) -> dict[str, Any]:
    decl: dict[str, Any] = {
        "name": "vpn-lm",
        "protocols": ["ikev2"],
        "virtualAddress": "192.0.2.60",
        "nodes": [
            {"name": "rras1", "address": "10.0.0.61"},
            {"name": "rras2", "address": "10.0.0.62"},
        ],
        "loadBalancer": {
            "kind": "kemp",
            "url": twin.url,
            "user": USER,
            "passwordSecret": "lmPassword",
            "caBundle": str(twin.tls.ca_path),
        },
        "persistenceTimeout": 1800,
    }
    decl.update(copy.deepcopy(changes))
    return decl


@pytest.fixture(scope="module")
def kemp(tls):
    from emulators.common import start_twin

    twin = start_twin("kemp", tls=tls)
    yield twin
    twin.stop()


def writes(twin: Any, since: int) -> list[str]:
    return [f"{e['path']}?{e.get('query', '')}" for e in twin.admin().log(since=since) if e.get("write")]


def last_seq(twin: Any) -> int:
    log = twin.admin().log()
    return log[-1]["seq"] if log else 0


def test_up_creates_both_services_with_port_following_and_a_second_up_writes_nothing(
    project: Project, kemp: Any
) -> None:
    lm = LoadMaster(kemp)
    project.write_stack(STACK, [cluster_decl(kemp)], {"lmPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    vs500, vs4500 = lm.show_vs(500), lm.show_vs(4500)
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
        assert sorted((rs["Addr"], rs["Port"]) for rs in vs["Rs"]) == [
            ("10.0.0.61", str(port)),
            ("10.0.0.62", str(port)),
        ]
    assert vs500["FollowVSID"] == vs4500["Index"] and vs4500["FollowVSID"] == vs500["Index"]
    assert PASSWORD not in str(project.checkpoint(STACK))

    seq = last_seq(kemp)
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert writes(kemp, seq) == []


def test_drift_is_found_and_repaired(project: Project, kemp: Any) -> None:
    lm = LoadMaster(kemp)
    assert lm.command("modvs", vs="192.0.2.60", port=500, prot="udp", Transparent="N")[0] == 200
    assert lm.command("modvs", vs="192.0.2.60", port=4500, prot="udp", FollowVSID=0)[0] == 200
    assert lm.command("delrs", vs="192.0.2.60", port=500, prot="udp", rs="10.0.0.62", rsport=500)[0] == 200
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    vs500, vs4500 = lm.show_vs(500), lm.show_vs(4500)
    assert vs500 is not None and vs4500 is not None
    assert vs500["Transparent"] == "Y" and vs4500["FollowVSID"] == vs500["Index"]
    assert sorted(rs["Addr"] for rs in vs500["Rs"]) == ["10.0.0.61", "10.0.0.62"]
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_renumbered_indexes_and_changed_persistence_are_repaired_without_duplicates(
    project: Project, kemp: Any
) -> None:
    lm = LoadMaster(kemp)
    # a service created and deleted before ours leaves a gap that a global change closes (trap 13)
    assert lm.command("addvs", vs="192.0.2.99", port=80, prot="tcp")[0] == 200
    project.write_stack(STACK, [cluster_decl(kemp)], {"lmPassword": PASSWORD})
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert lm.command("delvs", vs="192.0.2.99", port=80, prot="tcp")[0] == 200
    before = {lm.show_vs(p)["Index"] for p in (500, 4500)}
    kemp.admin()._call("POST", "/_twin/renumber")
    after = {lm.show_vs(p)["Index"] for p in (500, 4500)}
    assert before != after  # the appliance moved them
    assert lm.command("modvs", vs="192.0.2.60", port=4500, prot="udp", PersistTimeout=600)[0] == 200
    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    vs500, vs4500 = lm.show_vs(500), lm.show_vs(4500)
    assert vs4500["PersistTimeout"] == "1800"
    assert vs500["FollowVSID"] == vs4500["Index"] and vs4500["FollowVSID"] == vs500["Index"]
    ours = [vs for vs in lm.listed() if vs.get("NickName", "").startswith("vpn-lm")]
    assert len(ours) == 2  # found again by address, port and protocol: nothing duplicated
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_switching_to_citrix_and_back_converges(project: Project, kemp: Any, tls: Any) -> None:
    from emulators.common import start_twin

    lm = LoadMaster(kemp)
    adc = start_twin("citrix", tls=tls)
    try:
        decl = cluster_decl(kemp)
        decl["loadBalancer"] = {
            "kind": "citrix",
            "url": adc.url,
            "user": USER,
            "passwordSecret": "adcPassword",
            "caBundle": str(adc.tls.ca_path),
        }
        project.write_stack(STACK, [decl], {"adcPassword": PASSWORD})
        project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
        assert lm.show_vs(500) is None and lm.show_vs(4500) is None
        assert set(adc.admin().state()["running"]["lbvserver"]) == {
            "vpn-lm_ikev2_500_vs",
            "vpn-lm_ikev2_4500_vs",
        }
        project.write_stack(STACK, [cluster_decl(kemp)], {})
        project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
        assert adc.admin().state()["running"]["lbvserver"] == {}
        vs500, vs4500 = lm.show_vs(500), lm.show_vs(4500)
        assert vs500["FollowVSID"] == vs4500["Index"]
        assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0
    finally:
        adc.stop()


def test_a_service_someone_else_made_is_not_taken_over(project: Project, kemp: Any) -> None:
    lm = LoadMaster(kemp)
    assert lm.command("addvs", vs="192.0.2.61", port=500, prot="udp", NickName="hand made")[0] == 200
    decl = cluster_decl(kemp, name="vpn-other", virtualAddress="192.0.2.61")
    project.write_stack("other", [decl], {"lmPassword": PASSWORD})
    run = project.pulumi("up", "--yes", "--skip-preview", stack="other")
    assert run.exit_code != 0
    assert "virtual service 192.0.2.61:500/udp already exists" in run.output
    assert "Traceback (most recent call last)" not in run.output and PASSWORD not in run.output
    assert lm.show_vs(500, "192.0.2.61")["NickName"] == "hand made"
    project.pulumi("destroy", "--yes", "--skip-preview", stack="other", check=True)
    assert lm.show_vs(500, "192.0.2.61") is not None


def test_sstp_is_passed_through_with_an_https_check(project: Project, kemp: Any) -> None:
    lm = LoadMaster(kemp)
    project.write_stack(STACK, [cluster_decl(kemp, protocols=["ikev2", "sstp"])], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    status, root = lm.command("showvs", vs="192.0.2.60", port=443, prot="tcp")
    assert status == 200
    data = root.find("Success/Data")
    vs = {c.tag: (c.text or "") for c in data if len(c) == 0}
    assert (vs["Persist"], vs["CheckType"], vs["CheckUrl"], vs["CheckCodes"]) == (
        "src",
        "https",
        "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/",
        "401",
    )
    assert sorted((rs.findtext("Addr"), rs.findtext("Port")) for rs in data.findall("Rs")) == [
        ("10.0.0.61", "443"),
        ("10.0.0.62", "443"),
    ]
    seq = last_seq(kemp)
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert writes(kemp, seq) == []
    project.write_stack(STACK, [cluster_decl(kemp)], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert lm.command("showvs", vs="192.0.2.60", port=443, prot="tcp")[0] == 422


def test_sstp_offload_installs_the_certificate_and_rotates_it(project: Project, kemp: Any) -> None:
    from tests.e2e.test_f5_sstp import certificate

    lm = LoadMaster(kemp)
    cert, key, digest = certificate("vpn.example.test", 2031)
    offload = {"tlsOffload": {"certificateSecret": "sstpCertificate", "privateKeySecret": "sstpKey"}}
    decl = cluster_decl(kemp, protocols=["sstp"], sstp=offload)
    project.write_stack(STACK, [decl], {"sstpCertificate": cert, "sstpKey": key})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)

    def sstp() -> tuple[dict[str, str], list[tuple[str | None, str | None]]]:
        status, root = lm.command("showvs", vs="192.0.2.60", port=443, prot="tcp")
        assert status == 200
        data = root.find("Success/Data")
        rs = sorted((r.findtext("Addr"), r.findtext("Port")) for r in data.findall("Rs"))
        return {c.tag: (c.text or "") for c in data if len(c) == 0}, rs

    vs, rs = sstp()
    assert (vs["SSLAcceleration"], vs["CertFile"], vs["CheckType"]) == ("Y", f"aovpn_{digest[:16]}", "http")
    assert rs == [("10.0.0.61", "80"), ("10.0.0.62", "80")]
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-lm"]["sstpCertificateSha256"] == digest
    assert "PRIVATE KEY" not in str(project.checkpoint(STACK))
    seq = last_seq(kemp)
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert writes(kemp, seq) == []

    new_cert, new_key, new_digest = certificate("vpn.example.test", 2032)
    project.write_stack(STACK, [decl], {"sstpCertificate": new_cert, "sstpKey": new_key})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    vs, _ = sstp()
    assert vs["CertFile"] == f"aovpn_{new_digest[:16]}"
    _, root = lm.command("listcert")
    assert [c.findtext("name") for c in root.findall("Success/Data/cert")] == [f"aovpn_{new_digest[:16]}"]

    project.write_stack(STACK, [cluster_decl(kemp, protocols=["sstp"])], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    vs, rs = sstp()
    assert vs["SSLAcceleration"] == "N" and rs == [("10.0.0.61", "443"), ("10.0.0.62", "443")]
    _, root = lm.command("listcert")
    assert root.findall("Success/Data/cert") == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_removing_the_cluster_leaves_nothing_behind(project: Project, kemp: Any) -> None:
    lm = LoadMaster(kemp)
    project.write_stack(STACK, [], {})
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    assert lm.show_vs(500) is None and lm.show_vs(4500) is None
    assert not [vs for vs in lm.listed() if vs.get("NickName", "").startswith("vpn-lm")]


def test_a_replaced_virtual_service_brings_its_real_servers_and_port_following_back(
    project: Project, kemp: Any
) -> None:
    """``delvs`` takes a service's real servers with it: when the service is replaced (here forced with
    ``--replace``, as a person does to recreate a broken object), its real servers and the port following
    on both services are replaced in the same run, and the next ``up`` has nothing left to do."""
    lm = LoadMaster(kemp)
    stack = "kemp-replace"
    decl = cluster_decl(kemp, name="vpn-rep", virtualAddress="192.0.2.66")
    project.write_stack(stack, [decl], {"lmPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    before = lm.show_vs(500, "192.0.2.66")
    assert before is not None and len(before["Rs"]) == 2

    seq = last_seq(kemp)
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
    done = writes(kemp, seq)
    assert [w for w in done if w.startswith(("/access/delvs", "/access/addvs"))] == [
        "/access/delvs?vs=192.0.2.66&port=500&prot=udp",
        next(w for w in done if w.startswith("/access/addvs")),
    ], done  # deleted first, then made again
    vs500, vs4500 = lm.show_vs(500, "192.0.2.66"), lm.show_vs(4500, "192.0.2.66")
    assert vs500 is not None and vs4500 is not None, run.output
    assert sorted((rs["Addr"], rs["Port"]) for rs in vs500["Rs"]) == [
        ("10.0.0.61", "500"),
        ("10.0.0.62", "500"),
    ]
    assert vs500["FollowVSID"] == vs4500["Index"] and vs4500["FollowVSID"] == vs500["Index"]

    project.settled(stack, kemp, last_seq(kemp), writes)
