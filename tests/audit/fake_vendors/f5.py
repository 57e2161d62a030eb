"""A stand-in vendor module for the dispatch test (tests/audit/test_cli.py): it answers one service at the
declared virtual address with the nodes the test names, and records what it was called with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ops.audit.model import Evidence, Finding, FoundService, LoadBalancerAudit

#: (the loadBalancer block, the password) of every call
CALLS: list[tuple[dict[str, Any], str]] = []
#: what the next call answers: the virtual address and the node addresses
ANSWER: dict[str, Any] = {}


def audit_load_balancer(lb: Mapping[str, Any], password: str) -> LoadBalancerAudit:
    CALLS.append((dict(lb), password))
    host = str(lb["url"]).split("//", 1)[1]
    service = FoundService(
        vendor="f5",
        device=host,
        virtual_address=ANSWER["vip"],
        protocols=["ikev2"],
        node_addresses=list(ANSWER["nodes"]),
        client_address="translated",
        objects={"virtual:ikev2-500": "/Common/HAND_IKE_500", "virtual:ikev2-4500": "/Common/HAND_IKE_4500"},
    )
    snat = Finding(
        check="lb.snat-automap",
        severity="critical",
        title="SNAT automap on the IKE virtual servers",
        evidence=(Evidence(host, "/Common/HAND_IKE_500", "sourceAddressTranslation.type", "automap"),),
        symptom="error 809 under load",
        fix="Source Address Translation None",
    )
    return LoadBalancerAudit([service], [snat])
