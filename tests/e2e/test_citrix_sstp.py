"""Citrix ADC SSTP end to end: SSL bridge, TLS offload with the uploaded certificate, rotation, undo."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Project
from tests.e2e.test_citrix_ikev2 import PASSWORD, Adc, adc, cluster_decl, last_seq, writes  # noqa: F401
from tests.e2e.test_f5_sstp import certificate

pytestmark = pytest.mark.e2e

STACK = "adc-sstp"
SSTP_URI = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"


def decl(twin: Any, offload: bool = False, reencrypt: bool = False) -> dict[str, Any]:
    d = cluster_decl(
        twin,
        name="vpn-sstp",
        protocols=["sstp"],
        virtualAddress="192.0.2.50",
        nodes=[{"name": "rras1", "address": "198.51.100.51"}, {"name": "rras2", "address": "198.51.100.52"}],
    )
    if offload:
        d["sstp"] = {
            "tlsOffload": {
                "certificateSecret": "sstpCertificate",
                "privateKeySecret": "sstpKey",
                "reencrypt": reencrypt,
            }
        }
    return d


def up(project: Project) -> None:
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)


def test_ssl_bridge_then_offload_rotation_and_back(project: Project, adc: Any) -> None:  # noqa: F811
    nitro = Adc(adc)
    project.write_stack(STACK, [decl(adc)], {"adcPassword": PASSWORD})
    up(project)
    vs = nitro.get("lbvserver/vpn-sstp_sstp_443_vs")[0]
    assert (vs["servicetype"], vs["port"], vs["persistencetype"], vs["persistencebackup"]) == (
        "SSL_BRIDGE",
        443,
        "SSLSESSION",
        "SOURCEIP",
    )
    sg = nitro.get("servicegroup/vpn-sstp_sstp_bridge")[0]
    assert sg["servicetype"] == "SSL_BRIDGE"
    members = nitro.get("servicegroup_servicegroupmember_binding/vpn-sstp_sstp_bridge")
    assert sorted((m["servername"], m["port"]) for m in members) == [
        ("vpn-sstp_rras1", 443),
        ("vpn-sstp_rras2", 443),
    ]
    monitor = nitro.get("lbmonitor/vpn-sstp_sstp_https?args=type:HTTP")[0]
    assert (monitor["httprequest"], monitor["respcode"], monitor["secure"]) == (
        f"HEAD {SSTP_URI}",
        ["401"],
        "YES",
    )
    seq = last_seq(adc)
    up(project)
    assert writes(adc, seq) == []

    cert, key, digest = certificate("vpn.example.test", 2031)
    project.write_stack(STACK, [decl(adc, offload=True)], {"sstpCertificate": cert, "sstpKey": key})
    up(project)
    certkey = f"aovpn_{digest[:16]}"
    assert nitro.get(f"sslcertkey/{certkey}")[0]["status"] == "Valid"
    assert nitro.get("lbvserver/vpn-sstp_sstp_443_vs")[0]["servicetype"] == "SSL"
    assert [b["certkeyname"] for b in nitro.get("sslvserver_sslcertkey_binding/vpn-sstp_sstp_443_vs")] == [
        certkey
    ]
    members = nitro.get("servicegroup_servicegroupmember_binding/vpn-sstp_sstp_http")
    assert sorted(m["port"] for m in members) == [80, 80]
    assert "vpn-sstp_sstp_bridge" not in nitro.names("servicegroup")
    outputs = project.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    assert outputs["clusters"]["vpn-sstp"]["sstpCertificateSha256"] == digest
    assert "PRIVATE KEY" not in str(project.checkpoint(STACK))
    seq = last_seq(adc)
    up(project)
    assert writes(adc, seq) == []

    new_cert, new_key, new_digest = certificate("vpn.example.test", 2032)
    project.write_stack(STACK, [decl(adc, offload=True)], {"sstpCertificate": new_cert, "sstpKey": new_key})
    up(project)
    bound = [b["certkeyname"] for b in nitro.get("sslvserver_sslcertkey_binding/vpn-sstp_sstp_443_vs")]
    assert bound == [f"aovpn_{new_digest[:16]}"]
    assert f"aovpn_{digest[:16]}" not in {c["certkey"] for c in nitro.get("sslcertkey")}

    project.write_stack(STACK, [decl(adc)], {})
    up(project)
    assert nitro.get("lbvserver/vpn-sstp_sstp_443_vs")[0]["servicetype"] == "SSL_BRIDGE"
    assert nitro.get("sslcertkey") == []
    assert nitro.get("systemfile?args=filelocation:%2Fnsconfig%2Fssl") == []
    assert project.pulumi("preview", "--refresh", "--expect-no-changes", stack=STACK).exit_code == 0
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)
    assert not {n for n in nitro.names("lbvserver") if n.startswith("vpn-sstp")}
