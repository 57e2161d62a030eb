"""The VpnCluster component composes exactly the BIG-IP objects the domain needs (Pulumi mocks)."""

from __future__ import annotations

from typing import Any

import pulumi

from tests.unit.support import build_objects


@pulumi.runtime.test
def test_ikev2_cluster_objects(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        save = objs.pop("vpn-east-config-save")
        # one save of the BIG-IP's configuration after every object, fed by each object's revision
        assert sorted(save["revisions"]) == sorted(objs)
        assert sorted(objs) == [
            "vpn-east-node-rras1",
            "vpn-east-node-rras2",
            "vpn-east-persistence-ikev2",
            "vpn-east-pool-ikev2-4500",
            "vpn-east-pool-ikev2-500",
            "vpn-east-virtual-ikev2-4500",
            "vpn-east-virtual-ikev2-500",
        ]
        device = {
            "url": "https://bigip.example.net",
            "user": "automation",
            "password_key": "f5Password",
        }  # ca_bundle None: Pulumi does not send None-valued properties
        for obj in objs.values():
            assert obj["device"] == device
            assert obj["owner"] == "aovpn-iac:aovpn/test"
            assert obj["partition"] == "Common"
            assert "password" not in str(obj).replace("password_key", "")
        assert objs["vpn-east-node-rras1"]["address"] == "198.51.100.11"
        assert objs["vpn-east-pool-ikev2-4500"]["members"] == ["vpn-east_rras1:4500", "vpn-east_rras2:4500"]
        assert objs["vpn-east-pool-ikev2-500"]["monitor"] == "/Common/gateway_icmp"
        assert objs["vpn-east-pool-ikev2-500"]["load_balancing_mode"] == "least-connections-member"
        assert objs["vpn-east-persistence-ikev2"]["match_across_services"] is True
        assert objs["vpn-east-persistence-ikev2"]["timeout"] == 3600
        vs = objs["vpn-east-virtual-ikev2-4500"]
        assert vs["destination_address"] == "203.0.113.10" and vs["port"] == 4500
        assert vs["ip_protocol"] == "udp" and vs["profiles"] == [{"name": "/Common/udp", "context": "all"}]
        assert vs["source_address_translation"] == "none"
        assert vs["pool"] == "/Common/vpn-east_ikev2_4500"
        assert vs["persistence"] == "/Common/vpn-east_ikev2_srcaddr"

    return build_objects(mocks).apply(check)


@pulumi.runtime.test
def test_translated_client_address_uses_automap(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert {objs[n]["source_address_translation"] for n in objs if "-virtual-" in n} == {"automap"}

    return build_objects(mocks, clientAddress="translated").apply(check)


@pulumi.runtime.test
def test_sstp_without_offload_checks_the_listener_over_https(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        monitor = objs["vpn-east-monitor-sstp-https"]
        assert monitor["defaults_from"] == "/Common/https" and monitor["recv"] == "401"
        assert monitor["send"].startswith("HEAD /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\\r\\n")
        assert "Host: vpn.example.net" in monitor["send"]
        pool = objs["vpn-east-pool-sstp"]
        assert pool["members"] == ["vpn-east_rras1:443", "vpn-east_rras2:443"]
        assert pool["monitor"] == "/Common/vpn-east_sstp_https"
        vs = objs["vpn-east-virtual-sstp"]
        assert (vs["ip_protocol"], vs["port"]) == ("tcp", 443)
        assert vs["profiles"] == [{"name": "/Common/tcp", "context": "all"}]
        assert vs["persistence"] == "/Common/vpn-east_sstp_ssl"
        assert vs["fallback_persistence"] == "/Common/vpn-east_sstp_srcaddr"
        assert objs["vpn-east-persistence-sstp-ssl"]["defaults_from"] == "/Common/ssl"
        assert not any("certificate" in name for name in objs)

    return build_objects(mocks, protocols=["ikev2", "sstp"], sstp={"hostName": "vpn.example.net"}).apply(
        check
    )


@pulumi.runtime.test
def test_sstp_tls_offload_terminates_on_the_big_ip_and_uses_http_to_the_nodes(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        cert = objs["vpn-east-certificate-sstp"]
        assert cert["certificate_secret"] == "sstpCert" and cert["private_key_secret"] == "sstpKey"
        assert "BEGIN" not in str(cert)  # the PEMs stay in secret config
        assert objs["vpn-east-pool-sstp"]["members"] == ["vpn-east_rras1:80", "vpn-east_rras2:80"]
        assert objs["vpn-east-monitor-sstp-http"]["defaults_from"] == "/Common/http"
        assert objs["vpn-east-profile-sstp-clientssl"]["defaults_from"] == "/Common/clientssl"
        assert objs["vpn-east-virtual-sstp"]["profiles"] == [
            {"name": "/Common/tcp", "context": "all"},
            {"name": "/Common/vpn-east_sstp_clientssl", "context": "clientside"},
        ]

    offload = {"tlsOffload": {"certificateSecret": "sstpCert", "privateKeySecret": "sstpKey"}}
    return build_objects(mocks, protocols=["sstp"], sstp=offload).apply(check)


@pulumi.runtime.test
def test_sstp_reencrypt_keeps_https_to_the_nodes(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert objs["vpn-east-pool-sstp"]["members"] == ["vpn-east_rras1:443", "vpn-east_rras2:443"]
        assert {"name": "/Common/serverssl", "context": "serverside"} in objs["vpn-east-virtual-sstp"][
            "profiles"
        ]
        assert "vpn-east-monitor-sstp-https" in objs

    offload = {"tlsOffload": {"certificateSecret": "c", "privateKeySecret": "k", "reencrypt": True}}
    return build_objects(mocks, protocols=["sstp"], sstp=offload).apply(check)
