"""F5 BIG-IP SSTP end to end: pass-through and TLS offload, certificate rotation, saved configuration that
survives a reboot, HA config-sync, drain operations and token hygiene, through the real Pulumi CLI
and the twin."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
import requests
import trustme

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

F5_USER, F5_PASSWORD = "automation", "automation-pass"
STACK = "sstp"
SSTP_URI = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"


class BigIp:
    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self.verify = str(twin.tls.ca_path)

    def get(self, path: str) -> Any:
        resp = requests.get(
            f"{self.twin.url}{path}", auth=(F5_USER, F5_PASSWORD), verify=self.verify, timeout=30
        )
        return resp.json() if resp.status_code == 200 else None

    def send(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.twin.url}{path}",
            json=body,
            auth=(F5_USER, F5_PASSWORD),
            verify=self.verify,
            timeout=30,
        )

    def names(self, collection: str) -> set[str]:
        return {i["fullPath"] for i in (self.get(f"/mgmt/tm/{collection}") or {}).get("items", [])}

    def everything(self) -> dict[str, set[str]]:
        return {
            c: self.names(c)
            for c in (
                "ltm/node",
                "ltm/pool",
                "ltm/virtual",
                "ltm/monitor/http",
                "ltm/monitor/https",
                "ltm/persistence/ssl",
                "ltm/persistence/source-addr",
                "ltm/profile/client-ssl",
                "sys/crypto/cert",
                "sys/crypto/key",
            )
        }


def certificate(name: str, year: int) -> tuple[str, str, str]:
    """A PEM certificate and key for the SSTP name, and the certificate's SHA-256 (lower-case hex)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    leaf = trustme.CA().issue_cert(name, not_after=datetime.datetime(year, 1, 1, tzinfo=datetime.UTC))
    pem = leaf.cert_chain_pems[0].bytes()
    digest = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()
    return pem.decode(), leaf.private_key_pem.bytes().decode(), digest


def cluster_decl(
    twin: Any, *, offload: bool = False, reencrypt: bool = False, **changes: Any
) -> dict[str, Any]:
    decl: dict[str, Any] = {
        "name": "vpn-sstp",
        "protocols": ["ikev2", "sstp"],
        "virtualAddress": "192.0.2.20",
        "nodes": [
            {"name": "rras1", "address": "198.51.100.21"},
            {"name": "rras2", "address": "198.51.100.22"},
        ],
        "loadBalancer": {
            "kind": "f5",
            "url": twin.url,
            "user": F5_USER,
            "passwordSecret": "f5Password",
            "caBundle": str(twin.tls.ca_path),
            "deviceGroup": "aovpn-failover",
        },
        "sstp": {"hostName": "vpn.example.test"},
    }
    if offload:
        decl["sstp"]["tlsOffload"] = {
            "certificateSecret": "sstpCertificate",
            "privateKeySecret": "sstpKey",
            "reencrypt": reencrypt,
        }
    decl.update(copy.deepcopy(changes))
    return decl


@pytest.fixture(scope="module")
def f5(tls):
    from emulators.common import start_twin

    twin = start_twin("f5", tls=tls)
    yield twin
    twin.stop()


def writes(twin: Any, since: int) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in twin.admin().log(since=since) if e.get("write")]


def last_seq(twin: Any) -> int:
    entries = twin.admin().log()
    return entries[-1]["seq"] if entries else 0


def up(project: Project) -> Any:
    return project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)


def test_sstp_pass_through_objects_save_and_sync(project: Project, f5: Any) -> None:
    bigip = BigIp(f5)
    before = bigip.everything()
    project.write_stack(STACK, [cluster_decl(f5)], {"f5Password": F5_PASSWORD})
    seq = last_seq(f5)
    up(project)

    vs = bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs")
    assert vs["destination"] == "/Common/192.0.2.20:443" and vs["ipProtocol"] == "tcp"
    assert vs["pool"] == "/Common/vpn-sstp_sstp"
    assert vs["persist"][0]["name"] == "vpn-sstp_sstp_ssl"
    assert vs["fallbackPersistence"] == "/Common/vpn-sstp_sstp_srcaddr"
    profiles = bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert [p["fullPath"] for p in profiles] == ["/Common/tcp"]
    pool = bigip.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp")
    assert pool["monitor"].strip() == "/Common/vpn-sstp_sstp_https"
    members = bigip.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members")["items"]
    assert sorted(m["name"] for m in members) == ["vpn-sstp_rras1:443", "vpn-sstp_rras2:443"]
    monitor = bigip.get("/mgmt/tm/ltm/monitor/https/~Common~vpn-sstp_sstp_https")
    assert monitor["send"].startswith(f"HEAD {SSTP_URI} HTTP/1.1\\r\\nHost: vpn.example.test")
    assert monitor["recv"] == "401"
    ssl = bigip.get("/mgmt/tm/ltm/persistence/ssl/~Common~vpn-sstp_sstp_ssl")
    assert ssl["defaultsFrom"] == "/Common/ssl"

    # saved once and synced once, at the end of the run
    done = writes(f5, seq)
    assert done.count("POST /mgmt/tm/sys/config") == 1 and done[-2:] == [
        "POST /mgmt/tm/sys/config",
        "POST /mgmt/tm/cm",
    ]
    assert f5.admin().state()["unsaved_changes"] is False
    status = bigip.get("/mgmt/tm/cm/sync-status")
    assert (
        next(iter(status["entries"].values()))["nestedStats"]["entries"]["status"]["description"] == "In Sync"
    )

    # a reboot loses nothing
    f5.admin().reboot()
    assert bigip.everything() == {k: v | (bigip.everything()[k] - before[k]) for k, v in before.items()}
    assert bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs") == vs | {
        "generation": bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs")["generation"]
    }

    seq = last_seq(f5)
    up(project)
    assert writes(f5, seq) == []


def test_drift_on_sstp_objects_is_found_and_repaired(project: Project, f5: Any) -> None:
    bigip = BigIp(f5)
    assert bigip.send(
        "PATCH", "/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs", {"fallbackPersistence": ""}
    ).ok
    assert bigip.send("PATCH", "/mgmt/tm/ltm/persistence/ssl/~Common~vpn-sstp_sstp_ssl", {"timeout": "60"}).ok
    assert bigip.send("PATCH", "/mgmt/tm/ltm/monitor/https/~Common~vpn-sstp_sstp_https", {"recv": "200"}).ok
    check = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK)
    assert check.exit_code == 7, check.output
    for name in ("vpn-sstp-virtual-sstp", "vpn-sstp-persistence-sstp-ssl", "vpn-sstp-monitor-sstp-https"):
        assert name in check.output
    project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=STACK, check=True)
    vs = bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs")
    assert vs["fallbackPersistence"] == "/Common/vpn-sstp_sstp_srcaddr"
    assert bigip.get("/mgmt/tm/ltm/monitor/https/~Common~vpn-sstp_sstp_https")["recv"] == "401"
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0


def test_offload_on_rotation_and_off_converge(project: Project, f5: Any) -> None:
    bigip = BigIp(f5)
    cert, key, digest = certificate("vpn.example.test", 2031)
    project.write_stack(
        STACK,
        [cluster_decl(f5, offload=True)],
        {"f5Password": F5_PASSWORD, "sstpCertificate": cert, "sstpKey": key},
    )
    up(project)
    stem = f"vpn-sstp_sstp_{digest[:16]}"
    assert f"/Common/{stem}.crt" in bigip.names("sys/crypto/cert")
    clientssl = bigip.get("/mgmt/tm/ltm/profile/client-ssl/~Common~vpn-sstp_sstp_clientssl")
    assert clientssl["certKeyChain"][0]["cert"] == f"/Common/{stem}.crt"
    profiles = bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert {(p["fullPath"], p["context"]) for p in profiles} == {
        ("/Common/tcp", "all"),
        ("/Common/vpn-sstp_sstp_clientssl", "clientside"),
    }
    members = bigip.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members")["items"]
    assert sorted(m["name"] for m in members) == ["vpn-sstp_rras1:80", "vpn-sstp_rras2:80"]
    assert (
        bigip.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp")["monitor"].strip()
        == "/Common/vpn-sstp_sstp_http"
    )
    assert "/Common/vpn-sstp_sstp_https" not in bigip.names("ltm/monitor/https")
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-sstp"]["sstpCertificateSha256"] == digest
    checkpoint = str(project.checkpoint(STACK))
    assert "PRIVATE KEY" not in checkpoint and F5_PASSWORD not in checkpoint

    # rotation: the new pair is installed and the profile moved to it before the old pair is deleted
    seq = last_seq(f5)
    new_cert, new_key, new_digest = certificate("vpn.example.test", 2032)
    project.write_stack(
        STACK,
        [cluster_decl(f5, offload=True)],
        {"f5Password": F5_PASSWORD, "sstpCertificate": new_cert, "sstpKey": new_key},
    )
    up(project)
    done = writes(f5, seq)
    new_stem = f"vpn-sstp_sstp_{new_digest[:16]}"
    install = done.index("POST /mgmt/tm/sys/crypto/cert")
    switch = done.index("PATCH /mgmt/tm/ltm/profile/client-ssl/~Common~vpn-sstp_sstp_clientssl")
    removal = done.index(f"DELETE /mgmt/tm/sys/crypto/cert/~Common~{stem}.crt")
    assert install < switch < removal, done
    assert bigip.names("sys/crypto/cert") >= {f"/Common/{new_stem}.crt"}
    assert f"/Common/{stem}.crt" not in bigip.names("sys/crypto/cert")
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-sstp"]["sstpCertificateSha256"] == new_digest

    # re-encryption: server-ssl towards the nodes on 443, HTTPS monitor again
    project.write_stack(STACK, [cluster_decl(f5, offload=True, reencrypt=True)], {})
    up(project)
    profiles = bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert ("/Common/serverssl", "serverside") in {(p["fullPath"], p["context"]) for p in profiles}
    members = bigip.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members")["items"]
    assert sorted(m["name"] for m in members) == ["vpn-sstp_rras1:443", "vpn-sstp_rras2:443"]

    # offload off: certificate, key and client-ssl profile go, the virtual is plain TCP again
    project.write_stack(STACK, [cluster_decl(f5)], {})
    up(project)
    assert not {p for p in bigip.names("sys/crypto/cert") if "vpn-sstp" in p}
    assert not {p for p in bigip.names("ltm/profile/client-ssl") if "vpn-sstp" in p}
    profiles = bigip.get("/mgmt/tm/ltm/virtual/~Common~vpn-sstp_sstp_443_vs/profiles")["items"]
    assert [p["fullPath"] for p in profiles] == ["/Common/tcp"]
    seq = last_seq(f5)
    up(project)
    assert writes(f5, seq) == []


def test_removing_sstp_removes_exactly_its_objects(project: Project, f5: Any) -> None:
    bigip = BigIp(f5)
    before = bigip.everything()
    project.write_stack(STACK, [cluster_decl(f5, protocols=["ikev2"])], {})
    up(project)
    after = bigip.everything()
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


def test_drain_disables_and_enables_a_nodes_members(project: Project, f5: Any) -> None:
    """The drain operations the RRAS adapter uses: a node's members in every pool, off and on again."""
    from providers.common.device import Device, SecretConfig
    from providers.f5.drain import F5Drainer, F5Member

    bigip = BigIp(f5)
    project.write_stack(STACK, [cluster_decl(f5)], {"f5Password": F5_PASSWORD})
    up(project)
    device = Device(url=f5.url, user=F5_USER, password_key="f5Password", ca_bundle=str(f5.tls.ca_path))
    drainer = F5Drainer(device, SecretConfig({"f5Password": F5_PASSWORD}))
    members = [
        F5Member("Common", pool, f"vpn-sstp_rras1:{port}")
        for pool, port in (("vpn-sstp_ikev2_500", 500), ("vpn-sstp_ikev2_4500", 4500), ("vpn-sstp_sstp", 443))
    ]
    drainer.set_members(members, enabled=False)
    assert set(drainer.member_sessions(members).values()) == {"user-disabled"}
    other = bigip.get("/mgmt/tm/ltm/pool/~Common~vpn-sstp_sstp/members/~Common~vpn-sstp_rras2:443")
    assert other["session"] == "monitor-enabled"
    drainer.set_members(members, enabled=True)
    assert set(drainer.member_sessions(members).values()) == {"monitor-enabled"}
    drainer.client.close()
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)


def test_two_hundred_runs_never_reach_the_token_cap(f5: Any) -> None:
    """Each run is one provider process with one client: 200 of them log in and out again (the twin
    enforces BIG-IP's 100 tokens per user), and a token that expires mid-run is replaced."""
    from providers.common.device import Device
    from providers.f5.client import F5Client

    device = Device(url=f5.url, user=F5_USER, password_key="f5Password", ca_bundle=str(f5.tls.ca_path))
    for i in range(200):
        client = F5Client(device, F5_PASSWORD)
        client.get("/mgmt/tm/ltm/pool", what="pools")
        if i == 150:
            f5.admin()._call("POST", "/_twin/expire-tokens")
            client.get("/mgmt/tm/ltm/pool", what="pools")
        client.close()
    assert f5.admin()._call("GET", "/_twin/tokens")[F5_USER] == 0
