"""``loadBalancer.adopt`` of an F5 cluster: what the declaration accepts, what preview refuses and why, and
which names the component then gives the objects (components/f5.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.declaration import validate_clusters
from components.f5 import _Names, adopt_roles
from components.registry import unsupported

BASE: dict[str, Any] = {
    "name": "vpn-lab",
    "virtualAddress": "192.0.2.50",
    "protocols": ["ikev2", "sstp"],
    "nodes": [{"name": "rras1", "address": "198.51.100.21"}, {"name": "rras2", "address": "198.51.100.22"}],
    "loadBalancer": {
        "kind": "f5",
        "url": "https://192.0.2.1",
        "user": "automation",
        "passwordSecret": "f5Password",
    },
}


def _problems(adopt: dict[str, str], **lb: Any) -> tuple[list[Any], list[str]]:
    decl = copy.deepcopy(BASE)
    decl["loadBalancer"].update(adopt=adopt, **lb)
    clusters, problems = validate_clusters([decl])
    return clusters, problems + unsupported(clusters)


def test_the_roles_are_one_per_object_the_cluster_builds() -> None:
    [cluster], _ = _problems({})
    assert adopt_roles(cluster) == [
        "node:rras1",
        "node:rras2",
        "node:198.51.100.21",
        "node:198.51.100.22",
        "pool:ikev2-500",
        "pool:ikev2-4500",
        "virtual:ikev2-500",
        "virtual:ikev2-4500",
        "persistence:ikev2",
        "monitor:sstp",
        "pool:sstp",
        "persistence:sstp-ssl",
        "persistence:sstp-srcaddr",
        "virtual:sstp",
    ]


def test_adopted_names_replace_the_derived_ones_and_members_follow_the_nodes() -> None:
    [cluster], problems = _problems(
        {
            "node:198.51.100.21": "/Common/198.51.100.21",
            "pool:ikev2-500": "AOVPN_IKE",
            "virtual:sstp": "Sstp_VS",
        }
    )
    assert problems == []
    names = _Names(cluster)
    assert names.node("rras1") == "198.51.100.21" and names.node("rras2") == "vpn-lab_rras2"
    assert names.name("pool:ikev2-500", "ikev2", 500) == {"name": "AOVPN_IKE", "adopt": True}
    assert names.name("pool:ikev2-4500", "ikev2", 4500) == {"name": "vpn-lab_ikev2_4500"}
    assert names.of("virtual:sstp", "sstp", 443, "vs") == "Sstp_VS"


@pytest.mark.parametrize(
    ("adopt", "lb", "message"),
    [
        (
            {"virtual:ikev2-9": "X"},
            {},
            "cluster 'vpn-lab': loadBalancer.adopt: unknown role 'virtual:ikev2-9': not an object this "
            "cluster builds; its roles are node:rras1, node:rras2,",
        ),
        ({"profile:sstp-clientssl": "X"}, {}, "unknown role 'profile:sstp-clientssl'"),  # no TLS offload
        ({"pool:sstp": "my pool"}, {}, "pool:sstp: 'my pool' is not a name a BIG-IP object can have"),
        ({"pool:sstp": "~Common~p"}, {}, "is not a name a BIG-IP object can have"),
        (
            {"pool:sstp": "/Tenant/p"},
            {},
            "'/Tenant/p' is in partition Tenant, but the cluster's objects are in Common",
        ),
        ({"monitor:sstp": "https"}, {}, "monitor:sstp: /Common/https is a BIG-IP built-in"),
        (
            {"persistence:sstp-ssl": "P", "persistence:sstp-srcaddr": "P"},
            {},
            "persistence:sstp-srcaddr and persistence:sstp-ssl both name persistence 'P'; the project "
            "needs two",
        ),
        (
            {"node:rras1": "a", "node:198.51.100.21": "b"},
            {},
            "node:rras1 and node:198.51.100.21 both name node rras1's object",
        ),
    ],
)
def test_wrong_adoptions_are_refused_with_the_cluster_the_role_and_what_is_allowed(
    adopt: dict[str, str], lb: dict[str, Any], message: str
) -> None:
    _, problems = _problems(adopt, **lb)
    assert any(message in p for p in problems), problems


def test_a_partition_other_than_common_may_adopt_a_name_like_a_built_in() -> None:
    _, problems = _problems({"monitor:sstp": "https", "pool:sstp": "/Tenant/p"}, partition="Tenant")
    assert problems == []
