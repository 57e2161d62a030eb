"""Citrix ADC SSTP end to end: SSL bridge, TLS offload with the uploaded certificate, rotation, undo."""

from __future__ import annotations

import pytest

from components.protocols import SSTP_URI
from tests.e2e.certificates import TLS_OFFLOAD, certificate, offload_secrets
from tests.e2e.devices import Citrix, Decl, nodes
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

STACK = "adc-sstp"


SSTP: Decl = {
    "name": "vpn-sstp",
    "protocols": ["sstp"],
    "virtualAddress": "192.0.2.50",
    "nodes": nodes("198.51.100.51", "198.51.100.52"),
    "persistenceTimeout": 1800,
    "loadBalancingMethod": "round-robin",
}


def decl(adc: Citrix, offload: bool = False, reencrypt: bool = False) -> Decl:
    d = adc.cluster(SSTP)
    if offload:
        d["sstp"] = {"tlsOffload": {**TLS_OFFLOAD, "reencrypt": reencrypt}}
    return d


def up(project: Project) -> None:
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)


def test_ssl_bridge_then_offload_rotation_and_back(project: Project, adc: Citrix) -> None:
    project.write_stack(STACK, [decl(adc)], adc.secrets())
    up(project)
    vs = adc.get("lbvserver/vpn-sstp_sstp_443_vs")[0]
    assert (vs["servicetype"], vs["port"], vs["persistencetype"], vs["persistencebackup"]) == (
        "SSL_BRIDGE",
        443,
        "SSLSESSION",
        "SOURCEIP",
    )
    sg = adc.get("servicegroup/vpn-sstp_sstp_bridge")[0]
    assert sg["servicetype"] == "SSL_BRIDGE"
    members = adc.get("servicegroup_servicegroupmember_binding/vpn-sstp_sstp_bridge")
    assert sorted((m["servername"], m["port"]) for m in members) == [
        ("vpn-sstp_rras1", 443),
        ("vpn-sstp_rras2", 443),
    ]
    monitor = adc.get("lbmonitor/vpn-sstp_sstp_https?args=type:HTTP")[0]
    assert (monitor["httprequest"], monitor["respcode"], monitor["secure"]) == (
        f"HEAD {SSTP_URI}",
        ["401"],
        "YES",
    )
    seq = adc.last_seq()
    up(project)
    assert adc.writes(seq) == []

    cert, key, digest = certificate("vpn.example.test", 2031)
    project.write_stack(STACK, [decl(adc, offload=True)], offload_secrets(cert, key))
    up(project)
    certkey = f"aovpn_{digest[:16]}"
    assert adc.get(f"sslcertkey/{certkey}")[0]["status"] == "Valid"
    assert adc.get("lbvserver/vpn-sstp_sstp_443_vs")[0]["servicetype"] == "SSL"
    assert [b["certkeyname"] for b in adc.get("sslvserver_sslcertkey_binding/vpn-sstp_sstp_443_vs")] == [
        certkey
    ]
    members = adc.get("servicegroup_servicegroupmember_binding/vpn-sstp_sstp_http")
    assert sorted(m["port"] for m in members) == [80, 80]
    assert "vpn-sstp_sstp_bridge" not in adc.names("servicegroup")
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-sstp"]["sstpCertificateSha256"] == digest
    assert "PRIVATE KEY" not in str(project.checkpoint(STACK))
    seq = adc.last_seq()
    up(project)
    assert adc.writes(seq) == []

    new_cert, new_key, new_digest = certificate("vpn.example.test", 2032)
    project.write_stack(STACK, [decl(adc, offload=True)], offload_secrets(new_cert, new_key))
    up(project)
    bound = [b["certkeyname"] for b in adc.get("sslvserver_sslcertkey_binding/vpn-sstp_sstp_443_vs")]
    assert bound == [f"aovpn_{new_digest[:16]}"]
    assert f"aovpn_{digest[:16]}" not in {c["certkey"] for c in adc.get("sslcertkey")}

    project.write_stack(STACK, [decl(adc)], {})
    up(project)
    assert adc.get("lbvserver/vpn-sstp_sstp_443_vs")[0]["servicetype"] == "SSL_BRIDGE"
    assert adc.get("sslcertkey") == []
    assert adc.get("systemfile?args=filelocation:%2Fnsconfig%2Fssl") == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    assert not {n for n in adc.names("lbvserver") if n.startswith("vpn-sstp")}
