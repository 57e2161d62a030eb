"""``loadBalancer.adopt`` of a LoadMaster declaration (components/kemp.py): the roles it knows, the names a
virtual service can have, one name per role; refused before anything is sent, naming the cluster, the
field and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from components.declaration import validate_clusters
from components.kemp import ROLES, adopted
from components.registry import unsupported


def decl(adopt: dict[str, Any], protocols: tuple[str, ...] = ("ikev2", "sstp")) -> dict[str, Any]:
    return {
        "name": "vpn-lm",
        "virtualAddress": "192.0.2.60",
        "protocols": list(protocols),
        "nodes": [{"name": "rras1", "address": "10.0.0.61"}, {"name": "rras2", "address": "10.0.0.62"}],
        "loadBalancer": {
            "kind": "kemp",
            "url": "https://lm.example.net",
            "user": "automation",
            "passwordSecret": "lmPassword",
            "adopt": adopt,
        },
    }


def problems(adopt: dict[str, Any], protocols: tuple[str, ...] = ("ikev2", "sstp")) -> list[str]:
    clusters, found = validate_clusters([decl(adopt, protocols)])
    return found + unsupported(clusters)


def test_the_roles_and_names_of_a_hand_built_cluster_are_accepted():
    adopt = {
        "virtual:ikev2-500": "AOVPN_IKE",
        "virtual:ikev2-4500": "vpn NATT pool",
        "virtual:sstp": "Vpn-SSTP",
    }
    clusters, found = validate_clusters([decl(adopt)])
    assert found == [] and unsupported(clusters) == []
    assert adopted(clusters[0]) == adopt


def test_no_adopt_is_an_empty_mapping():
    clusters, _ = validate_clusters([decl({})])
    assert adopted(clusters[0]) == {}


def test_an_unknown_role_is_refused_with_the_allowed_ones():
    [problem] = problems({"pool:ikev2-500": "AOVPN_IKE"})
    assert problem.startswith("cluster 'vpn-lm': loadBalancer.adopt")
    assert "'pool:ikev2-500' is not a LoadMaster role" in problem
    assert all(role in problem for role in ROLES)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "cannot be empty"),
        ("AOVPN\tIKE", "control characters"),
        ("vpn-lm_ikev2_500 aovpn-iac:aovpn/prod", "ownership marker"),
    ],
)
def test_a_name_no_unmarked_service_can_have_is_refused(name, says):
    [problem] = problems({"virtual:ikev2-500": name})
    assert "loadBalancer.adopt" in problem and "virtual:ikev2-500" in problem and says in problem


def test_one_name_for_both_ikev2_roles_is_refused_naming_both():
    [problem] = problems({"virtual:ikev2-500": "AOVPN", "virtual:ikev2-4500": "AOVPN"})
    assert "virtual:ikev2-500 and virtual:ikev2-4500 both name 'AOVPN'" in problem


def test_a_role_of_a_protocol_not_declared_is_refused():
    [problem] = problems({"virtual:sstp": "Vpn-SSTP"}, protocols=("ikev2",))
    assert "'virtual:sstp' names an object this cluster does not build" in problem
    assert "virtual:ikev2-500, virtual:ikev2-4500" in problem
