"""The VpnCluster component composes exactly the Citrix ADC and LoadMaster objects the domain needs, and
refuses what those appliances cannot express before anything is sent (Pulumi mocks)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.declaration import DeclarationError, parse_clusters
from tests.unit.support import build_objects, cluster

ADC = {
    "kind": "citrix",
    "url": "https://adc.example.net",
    "user": "automation",
    "passwordSecret": "adcPassword",
}
KEMP = {"kind": "kemp", "url": "https://lm.example.net", "user": "automation", "passwordSecret": "lmPassword"}


@pulumi.runtime.test
def test_citrix_ikev2_objects(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        save = objs.pop("vpn-east-config-save")
        # one `save ns config` after every object, fed by each object's revision
        assert sorted(save["revisions"]) == sorted(objs)
        assert save["device"] == objs["vpn-east-server-rras1"]["device"]
        assert sorted(objs) == sorted(
            [
                "vpn-east-mode-usnip",
                "vpn-east-server-rras1",
                "vpn-east-server-rras2",
                "vpn-east-monitor-ikev2",
                *(f"vpn-east-servicegroup-ikev2-{p}" for p in (500, 4500)),
                *(f"vpn-east-member-ikev2-{p}-{n}" for p in (500, 4500) for n in ("rras1", "rras2")),
                *(f"vpn-east-monitor-binding-ikev2-{p}" for p in (500, 4500)),
                *(f"vpn-east-vserver-ikev2-{p}" for p in (500, 4500)),
                *(f"vpn-east-vserver-binding-ikev2-{p}" for p in (500, 4500)),
                "vpn-east-persistency-group-ikev2",
                *(f"vpn-east-group-member-ikev2-{p}" for p in (500, 4500)),
            ]
        )
        sg = objs["vpn-east-servicegroup-ikev2-4500"]
        assert (sg["name"], sg["service_type"], sg["usip"]) == ("vpn-east_ikev2_4500", "UDP", "YES")
        vs = objs["vpn-east-vserver-ikev2-500"]
        assert (vs["address"], vs["port"], vs["lb_method"]) == ("203.0.113.10", 500, "LEASTCONNECTION")
        group = objs["vpn-east-persistency-group-ikev2"]
        assert (group["persistence_type"], group["timeout"]) == ("SOURCEIP", 60)
        assert objs["vpn-east-mode-usnip"]["enabled"] is True
        assert {o["owner"] for o in objs.values()} == {"aovpn-iac:aovpn/test"}

    return build_objects(mocks, loadBalancer=ADC).apply(check)


@pulumi.runtime.test
def test_citrix_translated_address_drops_usip_and_usnip(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert "vpn-east-mode-usnip" not in objs
        assert {objs[f"vpn-east-servicegroup-ikev2-{p}"]["usip"] for p in (500, 4500)} == {"NO"}

    return build_objects(mocks, loadBalancer=ADC, clientAddress="translated").apply(check)


@pulumi.runtime.test
def test_kemp_ikev2_objects(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert sorted(objs) == sorted(
            [
                *(f"vpn-east-vs-ikev2-{p}" for p in (500, 4500)),
                *(f"vpn-east-rs-ikev2-{p}-{n}" for p in (500, 4500) for n in ("rras1", "rras2")),
                *(f"vpn-east-follow-ikev2-{p}" for p in (500, 4500)),
            ]
        )
        vs = objs["vpn-east-vs-ikev2-4500"]
        assert (vs["protocol"], vs["port"], vs["transparent"], vs["force_l7"]) == ("udp", 4500, True, True)
        assert (vs["persist"], vs["persist_timeout"], vs["schedule"]) == ("src", 3600, "lc")
        follow = objs["vpn-east-follow-ikev2-500"]
        assert (follow["vs"]["port"], follow["follow"]["port"]) == (500, 4500)
        rs = objs["vpn-east-rs-ikev2-500-rras2"]
        assert (rs["address"], rs["port"], rs["vs"]["port"]) == ("198.51.100.12", 500, 500)

    return build_objects(mocks, loadBalancer=KEMP, persistenceTimeout=3600).apply(check)


@pytest.mark.parametrize(
    ("lb", "timeout", "fragment"),
    [
        (ADC, 90, "persistenceTimeout: 90 s cannot be set on a Citrix ADC"),
        (ADC, 150, "whole minutes from 2 to 1440"),
        (KEMP, 30, "persistenceTimeout: 30 s is outside what a LoadMaster stores"),
    ],
)
def test_appliance_limits_are_refused_before_anything_is_sent(lb, timeout, fragment):
    from components.registry import check_supported

    clusters = parse_clusters([cluster(loadBalancer=lb, persistenceTimeout=timeout)])
    with pytest.raises(DeclarationError) as info:
        check_supported(clusters)
    assert any(fragment in p and p.startswith("cluster 'vpn-east'") for p in info.value.problems)


def test_kemp_cannot_reencrypt_transparently():
    from components.registry import check_supported

    reencrypt = {"tlsOffload": {"certificateSecret": "c", "privateKeySecret": "k", "reencrypt": True}}
    clusters = parse_clusters([cluster(loadBalancer=KEMP, protocols=["ikev2", "sstp"], sstp=reencrypt)])
    with pytest.raises(DeclarationError) as info:
        check_supported(clusters)
    assert (
        "sstp.tlsOffload.reencrypt: a LoadMaster cannot combine SSL re-encryption" in info.value.problems[0]
    )
    translated = parse_clusters(
        [cluster(loadBalancer=KEMP, protocols=["sstp"], sstp=reencrypt, clientAddress="translated")]
    )
    check_supported(translated)


@pulumi.runtime.test
def test_citrix_sstp_modes(mocks):
    offload = {"certificateSecret": "sstpCert", "privateKeySecret": "sstpKey"}

    def check(objs: dict[str, dict[str, Any]]) -> None:
        vs = objs["vpn-east-vserver-sstp"]
        assert (vs["service_type"], vs["port"], vs["persistence_type"], vs["persistence_backup"]) == (
            "SSL",
            443,
            "SSLSESSION",
            "SOURCEIP",
        )
        group = objs["vpn-east-servicegroup-sstp-http"]
        assert (group["name"], group["service_type"]) == ("vpn-east_sstp_http", "HTTP")
        assert objs["vpn-east-member-sstp-http-rras1"]["port"] == 80
        monitor = objs["vpn-east-monitor-sstp-http"]
        assert (monitor["monitor_type"], monitor["secure"], monitor["response_codes"]) == (
            "HTTP",
            "NO",
            ["401"],
        )
        assert monitor["http_request"] == "HEAD /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"
        assert objs["vpn-east-certificate-sstp"]["certificate_secret"] == "sstpCert"
        assert "vpn-east-certificate-binding-sstp" in objs

    return build_objects(mocks, loadBalancer=ADC, protocols=["sstp"], sstp={"tlsOffload": offload}).apply(
        check
    )


OFFLOAD = {"tlsOffload": {"certificateSecret": "sstpCert", "privateKeySecret": "sstpKey"}}
F5 = {"kind": "f5", "url": "https://bigip.example.net", "user": "automation", "passwordSecret": "f5Password"}


def _drain_case(mocks: Any, lb: dict[str, Any], sstp: dict[str, Any], check: Any) -> Any:
    """Build the cluster behind ``lb``; ``check(objs, node, address, spec)`` for each node's drain spec."""
    from components import registry

    decl = {"loadBalancer": lb, "protocols": ["ikev2", "sstp"], "sstp": sstp}
    (parsed,) = parse_clusters([cluster(**decl)])
    targets = registry.vendor(lb["kind"]).drain_targets(parsed)
    assert sorted(targets) == ["rras1", "rras2"]

    def check_all(objs: dict[str, dict[str, Any]]) -> None:
        for node, spec in targets.items():
            assert spec["kind"] == lb["kind"]
            check(objs, node, next(n.address for n in parsed.nodes if n.name == node), spec)

    return build_objects(mocks, **decl).apply(check_all)


SSTP_MODES = pytest.mark.parametrize("sstp", [{}, OFFLOAD], ids=["pass-through", "offload"])


@SSTP_MODES
@pulumi.runtime.test
def test_f5_drain_targets_are_the_nodes_members_in_every_pool(mocks, sstp):
    """A rolling restart drains exactly the node's members, on their real ports."""

    def check(objs: dict[str, dict[str, Any]], node: str, address: str, spec: Any) -> None:
        pools = {o["name"]: o["members"] for o in objs.values() if "members" in o}
        wanted = sorted((m["pool"], m["member"]) for m in spec["members"])
        have = sorted(
            (pool, member)
            for pool, members in pools.items()
            for member in members
            if member.startswith(f"vpn-east_{node}:")
        )
        assert wanted == have and len(have) == 3

    return _drain_case(mocks, F5, sstp, check)


@SSTP_MODES
@pulumi.runtime.test
def test_citrix_drain_targets_are_the_nodes_server_objects(mocks, sstp):
    def check(objs: dict[str, dict[str, Any]], node: str, address: str, spec: Any) -> None:
        servers = {o["name"] for k, o in objs.items() if k.startswith("vpn-east-server-")}
        assert spec["server"] in servers

    return _drain_case(mocks, ADC, sstp, check)


@SSTP_MODES
@pulumi.runtime.test
def test_kemp_drain_targets_are_the_nodes_real_servers_on_every_service(mocks, sstp):
    def check(objs: dict[str, dict[str, Any]], node: str, address: str, spec: Any) -> None:
        real = sorted(
            (o["vs"]["port"], o["port"])
            for k, o in objs.items()
            if k.startswith("vpn-east-rs-") and o["address"] == address
        )
        wanted_rs = sorted((r["vs"]["port"], r["port"]) for r in spec["real_servers"])
        assert wanted_rs == real and len(real) == 3

    return _drain_case(mocks, KEMP, sstp, check)
