"""The audit's report (text, JSON, exit codes), the declaration writer, the ``aovpn:audit`` block's
validation and the vendor dispatch, on synthetic FoundService / FoundNode values."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.declaration import DeclarationError
from ops.audit import declaration as writer
from ops.audit import rras, vendors
from ops.audit.model import Evidence, Finding, FoundNode, FoundService, NodeAudit
from ops.audit.report import ClusterReport, Report, as_json, ordered, text
from ops.audit.targets import targets

LB = {
    "kind": "f5",
    "url": "https://lb.corp.example",
    "user": "auditor",
    "passwordSecret": "f5Password",
    "caBundle": "certs/ca.pem",
}
F5_OBJECTS = {
    "virtual:ikev2-500": "/Common/AOVPN_IKE_VS",
    "virtual:ikev2-4500": "/Common/VPN-NATT",
    "pool:ikev2-500": "/Common/AOVPN_IKE",
    "pool:ikev2-4500": "/Common/vpn-natt-pool",
    "persistence:ikev2": "/Common/AOVPN_Persist",
    "node:198.51.100.21": "/Common/198.51.100.21",
}
MANAGEMENT = {
    "endpoint": "https://198.51.100.21:5986/wsman",
    "user": "CORP\\auditor",
    "passwordSecret": "rrasPassword",
    "auth": "ntlm",
}


def finding(check: str, severity: str, device: str = "lb.corp.example") -> Finding:
    return Finding(
        check=check,
        severity=severity,
        title=f"{check} title",
        evidence=(Evidence(device, "/Common/AOVPN_IKE_VS", "sourceAddressTranslation.type", "automap"),),
        symptom="error 809 under load",
        fix=f"fix of {check}",
    )


def service(**changes: Any) -> FoundService:
    base: dict[str, Any] = {
        "vendor": "f5",
        "device": "lb.corp.example",
        "virtual_address": "192.0.2.50",
        "protocols": ["ikev2"],
        "node_addresses": ["198.51.100.21", "198.51.100.22"],
        "client_address": "translated",
        "objects": dict(F5_OBJECTS),
        "persistence_timeout": 1800,
        "load_balancing_method": "round-robin",
    }
    base.update(changes)
    return FoundService(**base)


def node(address: str, **changes: Any) -> FoundNode:
    base: dict[str, Any] = {
        "address": address,
        "computer_name": None,
        "windows_build": 20348,
        "ipsec": None,
        "ikev2_fragmentation": None,
        "ike_num_established_for_initial_query": None,
        "sstp_use_https": None,
        "sstp_certificate_sha256": None,
        "certificate_expires": None,
        "management": {**MANAGEMENT, "endpoint": f"https://{address}:5986/wsman"},
    }
    base.update(changes)
    return FoundNode(**base)


def report(*findings: Finding, error: str | None = None) -> Report:
    cluster = ClusterReport("audit", "f5", LB["url"], services=[service()], findings=list(findings))
    cluster.nodes.append(NodeAudit(node("198.51.100.21", computer_name="VPNGW-01"), [], error=error))
    return Report("brownfield", [cluster])


# -- the report ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("severities", "error", "code"),
    [
        ((), None, 0),
        (("info",), None, 0),
        (("info", "warning"), None, 8),
        (("critical",), None, 8),
        (("critical",), "node 198.51.100.21: cannot reach https://198.51.100.21:5986/wsman (timed out)", 1),
    ],
)
def test_exit_codes(severities: tuple[str, ...], error: str | None, code: int) -> None:
    assert report(*(finding(f"x.{s}", s) for s in severities), error=error).exit_code == code


def test_text_is_grouped_by_cluster_and_node_severity_first_with_evidence_symptom_and_fix() -> None:
    r = report(finding("lb.info-thing", "info"), finding("lb.snat-automap", "critical"))
    r.clusters[0].nodes[0].findings.append(finding("rras.fragmentation-off", "warning", device="VPNGW-01"))
    out = text(r)
    assert out.splitlines()[0] == (
        "Audit of stack brownfield: 1 critical, 1 warning, 1 info; findings (exit 8)"
    )
    assert out.index("[critical] lb.snat-automap") < out.index("[info] lb.info-thing")
    assert out.index("cluster audit: f5 load balancer https://lb.corp.example") < out.index("[critical]")
    node_at = out.index("node VPNGW-01 (198.51.100.21), Windows build 20348:")
    assert node_at < out.index("[warning] rras.fragmentation-off")
    assert "evidence: lb.corp.example: /Common/AOVPN_IKE_VS sourceAddressTranslation.type = 'automap'" in out
    assert "symptom: error 809 under load" in out and "fix: fix of lb.snat-automap" in out
    assert "192.0.2.50: ikev2; nodes 198.51.100.21, 198.51.100.22; client address translated" in out


def test_json_has_the_clusters_their_services_nodes_and_findings_and_no_writes() -> None:
    r = report(finding("lb.snat-automap", "critical"), error="node x: refused")
    doc = json.loads(json.dumps(as_json(r)))
    assert doc["writes"] == 0 and doc["exit_code"] == 1
    (cluster,) = doc["clusters"]
    assert cluster["services"][0]["virtual_address"] == "192.0.2.50"
    assert cluster["services"][0]["objects"] == F5_OBJECTS
    assert cluster["findings"][0]["evidence"][0] == {
        "device": "lb.corp.example",
        "obj": "/Common/AOVPN_IKE_VS",
        "prop": "sourceAddressTranslation.type",
        "found": "automap",
    }
    assert cluster["nodes"][0]["node"]["computer_name"] == "VPNGW-01"
    assert cluster["errors"] == ["node x: refused"]


def test_findings_are_ordered_critical_warning_info() -> None:
    found = ordered([finding("b", "info"), finding("a", "warning"), finding("c", "critical")])
    assert [f.severity for f in found] == ["critical", "warning", "info"]


# -- the RRAS checks on a synthetic read --------------------------------------------------------------------
def test_a_build_without_fragmentation_is_info_and_the_node_read_shape_is_accepted() -> None:
    read = rras._Read(
        os={"CSName": "OLDVPN", "BuildNumber": "14393"},
        vpn={
            "CustomPolicy": True,
            **{r: 2 for r in ("EncryptionMethod", "IntegrityCheckMethod")},
            "CipherTransformConstants": 3,
            "AuthenticationTransformConstants": 2,
            "DHGroup": 3,
            "PfsGroup": 3,
        },
        ikev2={},
        ikeext={},
        sstp={},
        remote_access=None,
    )
    found = rras.check("198.51.100.9", read, [service(client_address="preserved")])
    assert [(f.check, f.severity) for f in found] == [("rras.fragmentation-unsupported", "info")]
    assert found[0].evidence[-1] == Evidence("OLDVPN", "Win32_OperatingSystem", "BuildNumber", 14393)


def test_certificate_expiry_uses_30_days() -> None:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    def with_expiry(days: int) -> list[str]:
        from emulators.winrm.tls import make_certificate

        der = make_certificate(
            "CN=vpn.corp.example",
            not_after=now + datetime.timedelta(days=days),
            not_before=now - datetime.timedelta(days=300),
        )
        read = rras._Read(
            os={"CSName": "N"}, vpn=None, ikev2={}, ikeext={}, sstp={}, remote_access={"SslCertificate": der}
        )
        return [f.check for f in rras.check("198.51.100.9", read, [service(protocols=["sstp"])], now=now)]

    assert (
        with_expiry(31) == [] and with_expiry(29) == ["cert.expiring"] and with_expiry(0) == ["cert.expired"]
    )


# -- the declaration writer ------------------------------------------------------------------------------
def test_the_declaration_applies_the_fixes_and_adopts_the_objects() -> None:
    nodes = [
        node("198.51.100.22", computer_name="VPNGW-02", ikev2_fragmentation=False),
        node("198.51.100.21", computer_name="VPNGW-01"),
    ]
    entry, notes = writer.declaration_with_notes(service(), nodes, LB, "brownfield")
    assert entry["clientAddress"] == "preserved" and entry["ipsec"] == {"preset": "baseline"}
    assert entry["ikev2Fragmentation"] is True
    assert [n["name"] for n in entry["nodes"]] == ["VPNGW-01", "VPNGW-02"]
    assert entry["nodes"][0]["management"]["passwordSecret"] == "rrasPassword"
    assert entry["loadBalancer"] == {**LB, "adopt": F5_OBJECTS}
    assert entry["persistenceTimeout"] == 1800 and entry["loadBalancingMethod"] == "round-robin"
    assert writer.check([entry]) == []
    assert any("found translated, declared preserved" in n for n in notes)
    assert any("default policy" in n for n in notes)


def test_a_strong_custom_policy_is_kept_and_old_builds_get_no_fragmentation() -> None:
    strong = {
        "encryptionMethod": "AES256",
        "integrityCheckMethod": "SHA384",
        "cipherTransformConstants": "AES256",
        "authenticationTransformConstants": "SHA256128",
        "dhGroup": "ECP384",
        "pfsGroup": "ECP384",
        "saLifeTimeSeconds": 28800,
        "mmSaLifeTimeSeconds": 86400,
        "saDataSizeForRenegotiationKilobytes": 1024000,
    }
    nodes = [node(a, ipsec=dict(strong), windows_build=14393) for a in ("198.51.100.21", "198.51.100.22")]
    entry = writer.declaration(service(), nodes, LB, "strong")
    assert entry["ipsec"] == {"preset": "baseline", **strong}
    assert entry["ikev2Fragmentation"] is False
    assert [n["name"] for n in entry["nodes"]] == ["rras1", "rras2"]
    assert writer.check([entry]) == []


def test_a_weak_gcm_policy_on_new_builds_gets_the_enhanced_preset() -> None:
    gcm = {"encryptionMethod": "GCMAES128", "integrityCheckMethod": "SHA1", "dhGroup": "Group2"}
    entry = writer.declaration(service(), [node("198.51.100.21", ipsec=gcm)], LB, "gcm")
    assert entry["ipsec"] == {"preset": "enhanced"}


def test_node_roles_named_by_the_vendor_follow_the_declared_names() -> None:
    objects = {"node:srv-a": "srv-a", "node:srv-b": "srv-b", "virtual:ikev2-500": "AOVPN-500"}
    citrix = {**LB, "kind": "citrix"}
    found = service(vendor="citrix", objects=objects)
    entry = writer.declaration(found, [node("198.51.100.21", computer_name="VPNGW-01")], citrix, "adc")
    names = [n["name"] for n in entry["nodes"]]
    assert names == ["VPNGW-01", "srv-b"]
    assert entry["loadBalancer"]["adopt"] == {
        "node:VPNGW-01": "srv-a",
        "node:srv-b": "srv-b",
        "virtual:ikev2-500": "AOVPN-500",
    }
    # management known for one node only: left out for both (the project wants it for all or none)
    assert all("management" not in n for n in entry["nodes"])


def test_a_declaration_the_project_would_refuse_is_not_written() -> None:
    entry = writer.declaration(service(objects={"virtual:nonsense": "/Common/x"}), [], LB, "refused")
    with pytest.raises(writer.NotWritten) as caught:
        writer.stack_file("brownfield", [entry], [])
    assert "loadBalancer.adopt" in str(caught.value) and "virtual:nonsense" in str(caught.value)


def test_the_stack_file_has_the_header_and_the_clusters() -> None:
    entry, notes = writer.declaration_with_notes(service(), [node("198.51.100.21")], LB, "brownfield")
    content = writer.stack_file("brownfield", [entry], notes)
    assert content.startswith("# Written by `./run audit --write-declaration`")
    assert "#   - brownfield" not in content and "#   - clientAddress: found translated" in content
    assert yaml.safe_load(content) == {"config": {"aovpn:clusters": [entry]}}
    assert "automation-pass" not in content


def test_a_cluster_name_is_derived_from_the_virtual_address() -> None:
    assert writer.cluster_name(service()) == "vpn-192-0-2-50"
    assert writer.cluster_name(service(virtual_address="2001:db8::10")) == "vpn-2001-db8-10"


# -- aovpn:audit validation, and the dispatch ---------------------------------------------------------------
def test_the_audit_block_is_validated_with_the_declaration_models(tmp_path: Path) -> None:
    bad = {
        "loadBalancer": {**LB, "url": "http://lb.corp.example", "partition": "no spaces"},
        "nodes": [{"address": "198.51.100.300", "management": {**MANAGEMENT, "auth": "digest"}}],
    }
    with pytest.raises(DeclarationError) as caught:
        targets({"aovpn:audit": bad}, tmp_path)
    problems = caught.value.problems
    assert (
        "aovpn:audit: loadBalancer.url: must be an https:// URL (management traffic is never sent in clear)"
        in (problems)
    )
    assert any(
        p.startswith("aovpn:audit: loadBalancer.partition: is not a BIG-IP partition name") for p in problems
    )
    assert any(
        p.startswith("aovpn:audit: nodes[0].address: '198.51.100.300' is not an IPv4") for p in problems
    )
    assert any(
        p.startswith("aovpn:audit: nodes[0].management.auth: 'digest' is not a valid WinRM") for p in problems
    )
    with pytest.raises(DeclarationError) as caught:
        targets({"aovpn:audit": {"loadBalancer": {**LB, "kind": "a10"}}}, tmp_path)
    assert any(
        "'a10' is not a valid load balancer kind; allowed: f5, citrix, kemp" in p
        for p in caught.value.problems
    )


def test_the_audit_block_gives_one_target_with_resolved_ca_bundles(tmp_path: Path) -> None:
    block = {
        "loadBalancer": LB,
        "nodes": [{"address": "198.51.100.21", "management": {**MANAGEMENT, "caBundle": "ca.pem"}}],
    }
    (target,) = targets({"aovpn:audit": block}, tmp_path)
    assert target.declared is False and target.virtual_address is None
    assert target.lb["caBundle"] == str(tmp_path / "certs" / "ca.pem")
    assert target.nodes[0].management is not None and target.nodes[0].management.ca_bundle == str(
        tmp_path / "ca.pem"
    )
    assert target.nodes[0].declared_management is not None
    assert target.nodes[0].declared_management.ca_bundle == "ca.pem"


def test_a_kind_without_an_audit_module_says_so() -> None:
    with pytest.raises(vendors.AuditUnavailable) as caught:
        vendors.auditor("a10")
    assert (
        str(caught.value)
        == "no audit for load balancers of kind 'a10' in this version (no module ops.audit.a10)"
    )


def test_two_clusters_on_one_load_balancer_each_get_their_own_service_and_findings() -> None:
    from ops.audit.cli import audit_target
    from ops.audit.model import LoadBalancerAudit
    from ops.audit.targets import Target

    east = service(virtual_address="192.0.2.5", objects={"virtual:ikev2-500": "/Common/EAST"})
    west = service(virtual_address="192.0.2.50", objects={"virtual:ikev2-500": "/Common/WEST"})

    def on(obj: str, check: str) -> Finding:
        return Finding(check, "warning", "t", (Evidence("lb", obj, "p", None),), "s", "f")

    answer = LoadBalancerAudit(
        [east, west],
        [
            on("/Common/EAST", "a.east"),
            on("/Common/192.0.2.50:4500", "b.west"),
            on("/Common/other", "c.both"),
        ],
    )
    reports = {
        vip: audit_target(Target(vip, dict(LB), vip), {}, answer, None, shared=True)
        for vip in ("192.0.2.5", "192.0.2.50")
    }
    assert [s.virtual_address for s in reports["192.0.2.5"].services] == ["192.0.2.5"]
    for vip, expected in (("192.0.2.5", ["a.east", "c.both"]), ("192.0.2.50", ["b.west", "c.both"])):
        found = reports[vip].findings
        assert [f.check for f in found if f.check != "rras.not-audited"] == expected
        # the nodes behind it, none declared with management: listed, not audited
        assert [f.title for f in found if f.check == "rras.not-audited"] == [
            f"node {a} behind {vip} not audited: no management declared"
            for a in ("198.51.100.21", "198.51.100.22")
        ]
