"""``loadBalancer.adopt`` of a Citrix ADC declaration: refused before anything is sent when it names an
unknown role, a name no ADC object can have, one object for two roles, a node or protocol the cluster does
not declare; and the component uses the adopted names (and ``adopt: True``) for those objects only."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.declaration import DeclarationError, parse_clusters
from components.registry import unsupported
from tests.unit.support import build_objects

LB = {
    "kind": "citrix",
    "url": "https://adc.example.test",
    "user": "automation",
    "passwordSecret": "adcPassword",
}


def decl(adopt: dict[str, str], **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "hand",
        "protocols": ["ikev2"],
        "virtualAddress": "203.0.113.10",
        "nodes": [{"name": "RRAS-01", "address": "10.10.0.11"}, {"name": "rras2", "address": "10.10.0.12"}],
        "persistenceTimeout": 1800,
        "loadBalancer": {**LB, "adopt": adopt},
    }
    out.update(changes)
    return out


def refused(adopt: dict[str, str], **changes: Any) -> str:
    with pytest.raises(DeclarationError) as caught:
        parse_clusters([decl(adopt, **changes)])
    return str(caught.value)


def test_the_roles_the_audit_finds_are_accepted() -> None:
    adopt = {
        "node:RRAS-01": "RRAS-01",
        "node:rras2": "10.10.0.12",
        "pool:ikev2-500": "AOVPN_IKE",
        "pool:ikev2-4500": "vpn-natt-pool",
        "monitor:ikev2": "Ping_Mon",
        "virtual:ikev2-500": "AOVPN IKE VS",
        "virtual:ikev2-4500": "VPN-NATT",
        "persistence:ikev2": "IKEv2-Persist",
    }
    (cluster,) = parse_clusters([decl(adopt)])
    assert cluster.load_balancer.adopt == adopt  # type: ignore[attr-defined]


def test_an_unknown_role_is_refused_naming_the_allowed_ones() -> None:
    message = refused({"vip:ikev2": "x"})
    assert "loadBalancer.adopt" in message and "'vip:ikev2' is not an object role of this project" in message
    assert "allowed: node:<node name>, monitor:ikev2, pool:ikev2-500" in message


def test_a_name_no_adc_object_can_have_is_refused() -> None:
    assert "'-bad' is not a name an ADC object can have" in refused({"pool:ikev2-500": "-bad"})
    assert "is not a name an ADC object can have" in refused({"pool:ikev2-500": "x" * 128})


def test_one_object_for_two_roles_is_refused_naming_both() -> None:
    message = refused({"pool:ikev2-500": "AOVPN", "pool:ikev2-4500": "AOVPN"})
    assert "servicegroup 'AOVPN' is named for pool:ikev2-4500 and pool:ikev2-500" in message
    # two objects of different kinds may share a name on the ADC
    parse_clusters([decl({"pool:ikev2-500": "AOVPN", "virtual:ikev2-500": "AOVPN"})])


def vendor_problems(adopt: dict[str, str]) -> str:
    """What the ADC's own check refuses (components/citrix.py ``check``, run at preview before anything
    is sent)."""
    return "\n".join(unsupported(parse_clusters([decl(adopt)])))


def test_a_node_or_protocol_the_cluster_does_not_declare_is_refused() -> None:
    message = vendor_problems({"node:rras9": "RRAS-09"})
    assert "'node:rras9' names no declared node (allowed: node:RRAS-01, node:rras2," in message
    message = vendor_problems({"virtual:sstp": "Sstp"})
    assert "'virtual:sstp' is an object of sstp, which protocols does not list" in message
    assert vendor_problems({"node:rras2": "10.10.0.12"}) == ""


ADOPTED = {"pool:ikev2-500": "AOVPN_IKE", "virtual:ikev2-500": "AOVPN_IKE_VS", "node:rras2": "10.10.0.12"}


@pulumi.runtime.test  # type: ignore[misc]
def test_the_component_uses_the_adopted_names_and_marks_only_those_objects(mocks: Any) -> Any:
    def check(objs: dict[str, dict[str, Any]]) -> None:
        assert objs["hand-servicegroup-ikev2-500"]["name"] == "AOVPN_IKE"
        assert objs["hand-servicegroup-ikev2-500"]["adopt"] is True
        assert objs["hand-servicegroup-ikev2-4500"]["name"] == "hand_ikev2_4500"
        assert "adopt" not in objs["hand-servicegroup-ikev2-4500"]
        assert (
            objs["hand-server-rras2"]["name"] == "10.10.0.12" and objs["hand-server-rras2"]["adopt"] is True
        )
        assert "adopt" not in objs["hand-server-RRAS-01"]
        assert objs["hand-vserver-binding-ikev2-500"]["vserver"] == "AOVPN_IKE_VS"
        assert objs["hand-vserver-binding-ikev2-500"]["adopt"] is True
        assert objs["hand-member-ikev2-500-rras2"]["server"] == "10.10.0.12"
        assert objs["hand-member-ikev2-500-rras2"]["adopt"] is True  # under the adopted service group
        assert objs["hand-member-ikev2-4500-rras2"]["server"] == "10.10.0.12"
        assert "adopt" not in objs["hand-member-ikev2-4500-rras2"]
        assert objs["hand-group-member-ikev2-500"]["vserver"] == "AOVPN_IKE_VS"
        assert "adopt" not in objs["hand-persistency-group-ikev2"]

    return build_objects(mocks, **decl(ADOPTED)).apply(check)
