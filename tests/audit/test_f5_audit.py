"""The F5 audit (ops/audit/f5.py) against BIG-IP twins set up by hand: once correctly (with f5-sdk and with
plain iControl REST), once per pitfall; it reports exactly the planted pitfalls and writes nothing."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from emulators.common import RunningTwin
from ops.audit.f5 import audit_load_balancer
from ops.audit.model import LoadBalancerAudit
from tests.audit import f5_hand_built as hand
from tests.audit.f5_hand_built import NAMES, NODES, PASSWORD, PITFALLS, USER, VIP, full


def _lb(twin: RunningTwin) -> dict[str, Any]:
    return {
        "kind": "f5",
        "url": twin.url,
        "user": USER,
        "passwordSecret": "f5Password",
        "caBundle": str(twin.tls.ca_path),
    }


def _audit(twin: RunningTwin, **kw: Any) -> LoadBalancerAudit:
    """The audit, with the twin's proof that it wrote nothing and the number of requests it made."""
    admin = twin.admin()
    admin.clear_log()
    result = audit_load_balancer(_lb(twin), PASSWORD, **kw)
    counters = admin.counters()
    assert counters["writes"] == 0, admin.writes()
    assert {e["method"] for e in admin.log()} <= {"GET", "POST", "DELETE"}
    config = [e for e in admin.log() if e["path"].startswith("/mgmt/tm/")]
    assert {e["method"] for e in config} == {"GET"}, config
    assert len(config) <= 11, config
    return result


@pytest.fixture
def twin(twin_factory: Callable[..., RunningTwin]) -> RunningTwin:
    return twin_factory("f5")


def _checks(result: LoadBalancerAudit) -> list[str]:
    return sorted(f.check for f in result.findings)


def test_the_correct_cluster_built_with_f5_sdk_has_no_finding_and_is_found_whole(twin: RunningTwin) -> None:
    pytest.importorskip("f5.bigip")
    hand.by_sdk(twin)
    result = _audit(twin)
    assert _checks(result) == []
    [service] = result.services
    assert service.vendor == "f5" and service.virtual_address == VIP
    assert service.protocols == ["ikev2", "sstp"]
    assert service.node_addresses == sorted(NODES)
    assert service.client_address == "preserved"
    assert service.persistence_timeout == 1800
    assert service.load_balancing_method == "round-robin"
    assert service.objects == {
        f"node:{NODES[0]}": f"/Common/{NODES[0]}",
        f"node:{NODES[1]}": f"/Common/{NODES[1]}",
        **{role: full(role) for role in NAMES if role != "profile:sstp-clientssl"},
    }
    assert service.offload_certificate_sha256 is None


def test_the_correct_cluster_built_with_plain_rest_and_offload_has_no_finding(twin: RunningTwin) -> None:
    hand.by_rest(twin, offload=True)
    result = _audit(twin)
    assert _checks(result) == []
    [service] = result.services
    assert service.objects["profile:sstp-clientssl"] == full("profile:sstp-clientssl")
    assert service.persistence_timeout == 3600 and service.load_balancing_method == "least-connections"
    assert service.offload_certificate_sha256 and len(service.offload_certificate_sha256) == 64
    assert service.offload_certificate_expires is not None


@pytest.mark.parametrize("pitfall", sorted(PITFALLS))
def test_each_planted_pitfall_is_reported_alone(twin: RunningTwin, pitfall: str) -> None:
    hand.by_rest(twin, pitfall)
    result = _audit(twin)
    assert _checks(result) == [PITFALLS[pitfall]], [f.title for f in result.findings]
    [finding] = result.findings
    assert finding.symptom and finding.fix and finding.evidence
    for evidence in finding.evidence:
        assert evidence.device == twin.url.split("://", 1)[1]
        assert evidence.obj.startswith("/Common/")


def test_snat_evidence_names_both_virtuals_as_the_device_spells_them(twin: RunningTwin) -> None:
    hand.by_rest(twin, "snat-automap")
    [finding] = _audit(twin).findings
    assert finding.severity == "warning"
    assert {(e.obj, e.prop, e.found) for e in finding.evidence} == {
        (full("virtual:ikev2-500"), "sourceAddressTranslation.type", "automap"),
        (full("virtual:ikev2-4500"), "sourceAddressTranslation.type", "automap"),
    }
    assert "809" in finding.symptom and "clientAddress" in finding.fix
    assert _audit(twin).services[0].client_address == "translated"


def test_unmatched_persistence_evidence_is_the_profile_property(twin: RunningTwin) -> None:
    hand.by_rest(twin, "persistence-not-matched")
    [finding] = _audit(twin).findings
    assert finding.severity == "critical" and "809" in finding.symptom
    assert [(e.obj, e.prop, e.found) for e in finding.evidence] == [
        (full("persistence:ikev2"), "matchAcrossServices", "disabled")
    ]


def test_an_expiring_offload_certificate_is_reported_before_it_expires(twin: RunningTwin) -> None:
    hand.by_rest(twin, offload=True)
    [service] = _audit(twin).services
    expires = datetime.datetime.fromisoformat(service.offload_certificate_expires or "")
    soon = _audit(twin, now=expires - datetime.timedelta(days=10))
    assert _checks(soon) == ["cert.expiring"] and soon.findings[0].severity == "warning"
    late = _audit(twin, now=expires + datetime.timedelta(days=1))
    assert _checks(late) == ["cert.expiring"] and late.findings[0].severity == "critical"


def test_a_box_without_always_on_vpn_reports_nothing(twin: RunningTwin) -> None:
    rest = hand.Rest(twin)
    rest.post(
        "ltm/pool", {"name": "web", "members": [{"name": "198.51.100.80:443", "address": "198.51.100.80"}]}
    )
    rest.post(
        "ltm/virtual",
        {"name": "www", "destination": "/Common/192.0.2.80:443", "ipProtocol": "tcp", "pool": "/Common/web"},
    )
    result = _audit(twin)
    assert result.services == [] and result.findings == []
