"""A fourth load balancer is its own component, provider and twin plus one registry entry: the toy vendor
is declared, checked at preview, built into resources and refused what it cannot do, with nothing else in
the project knowing about it."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.declaration import DeclarationError, parse_clusters
from components.registry import check_supported, kinds
from tests.toy_vendor.component import ToyBalancer
from tests.unit.support import Mocks, build_objects, cluster

TOY_LB = {"kind": "toy", "url": "https://toy.example.net", "user": "admin", "passwordSecret": "toyPassword"}


def test_the_kind_is_unknown_until_the_vendor_is_registered() -> None:
    assert "toy" not in kinds()
    with pytest.raises(DeclarationError) as info:
        parse_clusters([cluster(loadBalancer=TOY_LB)])
    (problem,) = info.value.problems
    assert problem.startswith(
        "cluster 'vpn-east': loadBalancer.kind: 'toy' is not a valid load balancer kind"
    )
    assert "allowed: f5, citrix, kemp" in problem


def test_a_registered_vendor_is_declarable_and_its_limits_are_checked_at_preview(toy: ToyBalancer) -> None:
    assert kinds()[-1] == "toy"
    check_supported(parse_clusters([cluster(loadBalancer=TOY_LB, persistenceTimeout=300)]))
    too_long = parse_clusters([cluster(loadBalancer=TOY_LB, persistenceTimeout=3600)])
    with pytest.raises(DeclarationError) as info:
        check_supported(too_long)
    assert info.value.problems == [
        "cluster 'vpn-east': persistenceTimeout: 3600 s is more than a Toy LB keeps (at most 600 s)"
    ]


def test_a_protocol_the_vendor_does_not_provision_is_refused_with_who_does(toy: ToyBalancer) -> None:
    sstp = parse_clusters([cluster(loadBalancer=TOY_LB, protocols=["ikev2", "sstp"], persistenceTimeout=300)])
    with pytest.raises(DeclarationError) as info:
        check_supported(sstp)
    assert info.value.problems == [
        "cluster 'vpn-east': protocols: 'sstp' is not supported on Toy LB by this version yet; "
        "sstp is supported on: citrix, f5, kemp"
    ]


@pulumi.runtime.test
def test_the_cluster_component_builds_the_vendors_objects(mocks: Mocks, toy: ToyBalancer) -> Any:
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert sorted(objs) == ["vpn-east-pool-4500", "vpn-east-pool-500"]
        pool = objs["vpn-east-pool-4500"]
        assert (pool["name"], pool["port"], pool["owner"]) == (
            "vpn-east_ikev2_4500",
            4500,
            "aovpn-iac:aovpn/test",
        )
        assert pool["members"] == ["198.51.100.11:4500", "198.51.100.12:4500"]
        assert pool["device"]["url"] == "https://toy.example.net"

    return build_objects(mocks, loadBalancer=TOY_LB, persistenceTimeout=300).apply(check)
