"""The VpnCluster component composes exactly the BIG-IP objects the domain needs (Pulumi mocks)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.declaration import parse_clusters
from tests.unit.test_declaration import cluster


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@pytest.fixture
def mocks() -> _Mocks:
    m = _Mocks()
    pulumi.runtime.set_mocks(m, project="aovpn", stack="test", preview=False)
    return m


def _build(mocks: _Mocks, **changes: Any) -> dict[str, dict[str, Any]]:
    from components.cluster import VpnCluster

    (c,) = parse_clusters([cluster(**changes)])
    comp = VpnCluster(c, "aovpn-iac:aovpn/test")

    def collect(_: Any) -> dict[str, dict[str, Any]]:
        return {
            r.name: {k: v for k, v in r.inputs.items() if k != "__provider"}
            for r in mocks.resources
            if r.custom
        }

    return comp.objects.apply(collect)  # type: ignore[return-value]


@pulumi.runtime.test
def test_ikev2_cluster_objects(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
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
        assert vs["ip_protocol"] == "udp" and vs["profiles"] == ["/Common/udp"]
        assert vs["source_address_translation"] == "none"
        assert vs["pool"] == "/Common/vpn-east_ikev2_4500"
        assert vs["persistence"] == "/Common/vpn-east_ikev2_srcaddr"

    return _build(mocks).apply(check)


@pulumi.runtime.test
def test_translated_client_address_uses_automap(mocks):
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert {objs[n]["source_address_translation"] for n in objs if "-virtual-" in n} == {"automap"}

    return _build(mocks, clientAddress="translated").apply(check)
