"""F5 BIG-IP SSTP end to end: pass-through and TLS offload, certificate rotation, saved configuration that
survives a reboot, HA config-sync, drain operations and token hygiene, through the real Pulumi CLI
and the twin."""

from __future__ import annotations

from typing import Any

import pytest

from components.protocols import SSTP_URI
from tests.e2e.certificates import TLS_OFFLOAD, certificate, offload_secrets
from tests.e2e.devices import F5, PASSWORD, USER, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "sstp"
SSTP: Decl = {
    "name": "vpn-sstp",
    "protocols": ["ikev2", "sstp"],
    "virtualAddress": "192.0.2.20",
    "nodes": nodes("198.51.100.21", "198.51.100.22"),
    "sstp": {"hostName": "vpn.example.test"},
}


def cluster_decl(f5: F5, *, offload: bool = False, reencrypt: bool = False, **changes: Any) -> Decl:
    """The SSTP cluster, in an HA device group, its TLS offloaded to the BIG-IP if ``offload``."""
    decl = f5.cluster(SSTP, loadBalancer=f5.load_balancer(deviceGroup="aovpn-failover"), **changes)
    if offload:
        decl["sstp"]["tlsOffload"] = {**TLS_OFFLOAD, "reencrypt": reencrypt}
    return decl


def up(project: Project) -> Any:
    return project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)


def test_sstp_pass_through_objects_save_and_sync(project: Project, f5: F5) -> None:
    before = f5.everything()
    project.write_stack(STACK, [cluster_decl(f5)], f5.secrets())
    seq = f5.last_seq()
    up(project)

    vs = f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs")
    assert vs["destination"] == "/Common/192.0.2.20:443" and vs["ipProtocol"] == "tcp"
    assert vs["pool"] == "/Common/vpn-sstp_sstp"
    assert vs["persist"][0]["name"] == "vpn-sstp_sstp_ssl"
    assert vs["fallbackPersistence"] == "/Common/vpn-sstp_sstp_srcaddr"
    profiles = f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert [p["fullPath"] for p in profiles] == ["/Common/tcp"]
    pool = f5.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp")
    assert pool["monitor"].strip() == "/Common/vpn-sstp_sstp_https"
    members = f5.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members")["items"]
    assert sorted(m["name"] for m in members) == ["vpn-sstp_rras1:443", "vpn-sstp_rras2:443"]
    monitor = f5.get("/mgmt/tm/ltm/monitor/https/~Common~vpn-sstp_sstp_https")
    assert monitor["send"].startswith(f"HEAD {SSTP_URI} HTTP/1.1\\r\\nHost: vpn.example.test")
    assert monitor["recv"] == "401"
    ssl = f5.get("/mgmt/tm/ltm/persistence/ssl/~Common~vpn-sstp_sstp_ssl")
    assert ssl["defaultsFrom"] == "/Common/ssl"

    # saved once and synced once, at the end of the run
    done = f5.writes(seq)
    assert done.count("POST /mgmt/tm/sys/config") == 1 and done[-2:] == [
        "POST /mgmt/tm/sys/config",
        "POST /mgmt/tm/cm",
    ]
    assert f5.admin().state()["unsaved_changes"] is False
    status = f5.get("/mgmt/tm/cm/sync-status")
    assert (
        next(iter(status["entries"].values()))["nestedStats"]["entries"]["status"]["description"] == "In Sync"
    )

    # a reboot loses nothing
    f5.admin().reboot()
    assert f5.everything() == {k: v | (f5.everything()[k] - before[k]) for k, v in before.items()}
    assert f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs") == vs | {
        "generation": f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs")["generation"]
    }

    seq = f5.last_seq()
    up(project)
    assert f5.writes(seq) == []


def test_drift_on_sstp_objects_is_found_and_repaired(project: Project, f5: F5) -> None:
    assert f5.send(
        "PATCH", "/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs", {"fallbackPersistence": ""}
    ).ok
    assert f5.send("PATCH", "/mgmt/tm/ltm/persistence/ssl/~Common~vpn-sstp_sstp_ssl", {"timeout": "60"}).ok
    assert f5.send("PATCH", "/mgmt/tm/ltm/monitor/https/~Common~vpn-sstp_sstp_https", {"recv": "200"}).ok
    check = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert check.exit_code == 7, check.output
    for name in ("vpn-sstp-virtual-sstp", "vpn-sstp-persistence-sstp-ssl", "vpn-sstp-monitor-sstp-https"):
        assert name in check.output
    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    vs = f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs")
    assert vs["fallbackPersistence"] == "/Common/vpn-sstp_sstp_srcaddr"
    assert f5.get("/mgmt/tm/ltm/monitor/https/~Common~vpn-sstp_sstp_https")["recv"] == "401"
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_offload_on_rotation_and_off_converge(project: Project, f5: F5) -> None:
    cert, key, digest = certificate("vpn.example.test", 2031)
    project.write_stack(
        STACK,
        [cluster_decl(f5, offload=True)],
        f5.secrets() | offload_secrets(cert, key),
    )
    up(project)
    stem = f"vpn-sstp_sstp_{digest[:16]}"
    assert f"/Common/{stem}.crt" in f5.full_paths("sys/crypto/cert")
    clientssl = f5.get("/mgmt/tm/ltm/profile/client-ssl/~Common~vpn-sstp_sstp_clientssl")
    assert clientssl["certKeyChain"][0]["cert"] == f"/Common/{stem}.crt"
    profiles = f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert {(p["fullPath"], p["context"]) for p in profiles} == {
        ("/Common/tcp", "all"),
        ("/Common/vpn-sstp_sstp_clientssl", "clientside"),
    }
    members = f5.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members")["items"]
    assert sorted(m["name"] for m in members) == ["vpn-sstp_rras1:80", "vpn-sstp_rras2:80"]
    assert (
        f5.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp")["monitor"].strip() == "/Common/vpn-sstp_sstp_http"
    )
    assert "/Common/vpn-sstp_sstp_https" not in f5.full_paths("ltm/monitor/https")
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-sstp"]["sstpCertificateSha256"] == digest
    checkpoint = str(project.checkpoint(STACK))
    assert "PRIVATE KEY" not in checkpoint and PASSWORD not in checkpoint

    # rotation: the new pair is installed and the profile moved to it before the old pair is deleted
    seq = f5.last_seq()
    new_cert, new_key, new_digest = certificate("vpn.example.test", 2032)
    project.write_stack(
        STACK,
        [cluster_decl(f5, offload=True)],
        f5.secrets() | offload_secrets(new_cert, new_key),
    )
    up(project)
    done = f5.writes(seq)
    new_stem = f"vpn-sstp_sstp_{new_digest[:16]}"
    install = done.index("POST /mgmt/tm/sys/crypto/cert")
    switch = done.index("PATCH /mgmt/tm/ltm/profile/client-ssl/~Common~vpn-sstp_sstp_clientssl")
    removal = done.index(f"DELETE /mgmt/tm/sys/crypto/cert/~Common~{stem}.crt")
    assert install < switch < removal, done
    assert f5.full_paths("sys/crypto/cert") >= {f"/Common/{new_stem}.crt"}
    assert f"/Common/{stem}.crt" not in f5.full_paths("sys/crypto/cert")
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-sstp"]["sstpCertificateSha256"] == new_digest

    # re-encryption: server-ssl towards the nodes on 443, HTTPS monitor again
    project.write_stack(STACK, [cluster_decl(f5, offload=True, reencrypt=True)], {})
    up(project)
    profiles = f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert ("/Common/serverssl", "serverside") in {(p["fullPath"], p["context"]) for p in profiles}
    members = f5.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members")["items"]
    assert sorted(m["name"] for m in members) == ["vpn-sstp_rras1:443", "vpn-sstp_rras2:443"]

    # offload off: certificate, key and client-ssl profile go, the virtual is plain TCP again
    project.write_stack(STACK, [cluster_decl(f5)], {})
    up(project)
    assert not {p for p in f5.full_paths("sys/crypto/cert") if "vpn-sstp" in p}
    assert not {p for p in f5.full_paths("ltm/profile/client-ssl") if "vpn-sstp" in p}
    profiles = f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert [p["fullPath"] for p in profiles] == ["/Common/tcp"]
    seq = f5.last_seq()
    up(project)
    assert f5.writes(seq) == []


def test_removing_sstp_removes_exactly_its_objects(project: Project, f5: F5) -> None:
    before = f5.everything()
    project.write_stack(STACK, [cluster_decl(f5, protocols=["ikev2"])], {})
    up(project)
    after = f5.everything()
    removed = {c: before[c] - after[c] for c in before if before[c] - after[c]}
    assert removed == {
        "ltm/pool": {"/Common/vpn-sstp_sstp"},
        "ltm/virtual": {"/Common/vpn-sstp_sstp_443_vs"},
        "ltm/monitor/https": {"/Common/vpn-sstp_sstp_https"},
        "ltm/persistence/ssl": {"/Common/vpn-sstp_sstp_ssl"},
        "ltm/persistence/source-addr": {"/Common/vpn-sstp_sstp_srcaddr"},
    }
    assert all(after[c] <= before[c] for c in before)
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)


def test_drain_disables_and_enables_a_nodes_members(project: Project, f5: F5) -> None:
    """The drain operations the RRAS adapter uses: a node's members in every pool, off and on again."""
    from providers.common.device import SecretConfig
    from providers.f5.drain import F5Drainer, F5Member

    project.write_stack(STACK, [cluster_decl(f5)], f5.secrets())
    up(project)
    drainer = F5Drainer(f5.device(), SecretConfig(f5.secrets()))
    members = [
        F5Member("Common", pool, f"vpn-sstp_rras1:{port}")
        for pool, port in (("vpn-sstp_ikev2_500", 500), ("vpn-sstp_ikev2_4500", 4500), ("vpn-sstp_sstp", 443))
    ]
    drainer.set_members(members, enabled=False)
    assert set(drainer.member_sessions(members).values()) == {"user-disabled"}
    other = f5.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members/~Common~vpn-sstp_rras2:443")
    assert other["session"] == "monitor-enabled"
    drainer.set_members(members, enabled=True)
    assert set(drainer.member_sessions(members).values()) == {"monitor-enabled"}
    drainer.client.close()
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)


def test_two_hundred_runs_never_reach_the_token_cap(f5: F5) -> None:
    """Each run is one provider process with one client: 200 of them log in and out again (the twin
    enforces BIG-IP's 100 tokens per user), and a token that expires mid-run is replaced."""
    from providers.f5.client import F5Client

    device = f5.device()
    for i in range(200):
        client = F5Client(device, PASSWORD)
        client.get("/mgmt/tm/ltm/pool", what="pools")
        if i == 150:
            f5.admin()._call("POST", "/_twin/expire-tokens")
            client.get("/mgmt/tm/ltm/pool", what="pools")
        client.close()
    assert f5.admin()._call("GET", "/_twin/tokens")[USER] == 0
