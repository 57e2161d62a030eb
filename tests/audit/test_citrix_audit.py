"""The Citrix ADC audit (ops/audit/citrix.py) against twins configured by hand, through NITRO itself, the way
the articles' GUI steps build an Always On VPN cluster: under names the project never chooses (mixed case,
a member bound by its IP so the ADC names the server after the address), once correctly and once per
pitfall. The audit reports exactly the planted pitfalls (by check id), nothing on the correct setup, and the
twin's log shows no write during it.

The hand-built setups use plain NITRO over requests: there is no maintained independent Python client
of NITRO (Citrix's own ``nitro-python`` SDK is a download from the appliance, not a maintained package).
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from emulators.common import RunningTwin
from ops.audit.citrix import audit_load_balancer
from ops.audit.model import LoadBalancerAudit
from tests.module_twin import module_twin

VIP = "203.0.113.10"
OTHER_VIP = "203.0.113.11"
NODES = ("10.10.0.11", "10.10.0.12")
SSTP_URI = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"
ADMIN = ("nsroot", "nsroot")  # the twin's seeded administrator, not a real credential
AUDITOR = ("auditor", "auditor-pass")  # the twin's seeded account with the built-in read-only policy


@dataclass
class Setup:
    """One hand-built cluster: the correct one, or one with the planted pitfalls."""

    usip_4500: str = "YES"
    usnip: bool = True
    #: "group" (an lbgroup SOURCEIP holding both), "none", "sourceip-each", "destip-each"
    persistence: str = "group"
    group_type: str = "SOURCEIP"
    natt_members: tuple[str, ...] = NODES
    monitor: str = "PING"  # or "UDP-ECV"
    ports: tuple[int, ...] = (500, 4500)
    sstp: bool = True
    sstp_vip: str = VIP
    sstp_persistence: tuple[str, str] = ("SSLSESSION", "SOURCEIP")
    cert_days: int = 400
    lbmethod: str = "ROUNDROBIN"
    comments: dict[str, str] = field(default_factory=dict)


#: The objects' names as a person built them (FoundService.objects must name exactly these).
NAMES = {
    "node:RRAS-01": "RRAS-01",
    "node:rras2": NODES[1],  # bound by IP: the ADC names the server after the address
    "pool:ikev2-500": "AOVPN_IKE",
    "pool:ikev2-4500": "vpn-natt-pool",
    "monitor:ikev2": "Ping_Mon",
    "virtual:ikev2-500": "AOVPN_IKE_VS",
    "virtual:ikev2-4500": "VPN-NATT",
    "persistence:ikev2": "IKEv2-Persist",
    "virtual:sstp": "Sstp-VS",
    "pool:sstp": "sstp_Offload",
    "monitor:sstp": "sstp-probe",
}


class Nitro:
    """Plain NITRO as an administrator at the appliance (header authentication)."""

    def __init__(self, twin: RunningTwin, user: tuple[str, str] = ADMIN) -> None:
        assert twin.tls is not None
        self.base = f"{twin.url}/nitro/v1/config"
        self.verify = str(twin.tls.ca_path)
        self.user = user

    def call(self, method: str, path: str, body: Any = None) -> Any:
        resp = requests.request(
            method,
            f"{self.base}/{path}",
            json=body,
            headers={"X-NITRO-USER": self.user[0], "X-NITRO-PASS": self.user[1]},
            verify=self.verify,
            timeout=30,
        )
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def add(self, resource: str, **attrs: Any) -> None:
        self.call("POST", resource, {resource: attrs})

    def bind(self, binding: str, **attrs: Any) -> None:
        self.call("PUT", binding, {binding: attrs})


def offload_certificate(days: int) -> tuple[bytes, bytes, str]:
    not_after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days, hours=12)
    leaf = trustme.CA().issue_cert("vpn.example.test", not_after=not_after)
    pem = leaf.cert_chain_pems[0].bytes()
    digest = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex().upper()
    return pem, leaf.private_key_pem.bytes(), digest


def build_by_hand(twin: RunningTwin, s: Setup) -> str | None:
    """The GUI steps of the articles, as NITRO requests; answers the SSTP certificate's SHA-256."""
    adc = Nitro(twin)
    if not s.usnip:
        adc.call("POST", "nsmode?action=disable", {"nsmode": {"mode": ["USNIP"]}})
    adc.add("server", name="RRAS-01", ipaddress=NODES[0], **_comment(s, "RRAS-01"))
    adc.add("lbmonitor", monitorname="Ping_Mon", type=s.monitor)
    groups = {500: ("AOVPN_IKE", "AOVPN_IKE_VS", "YES"), 4500: ("vpn-natt-pool", "VPN-NATT", s.usip_4500)}
    for port in s.ports:
        sg, vs, usip = groups[port]
        adc.add("servicegroup", servicegroupname=sg, servicetype="UDP", usip=usip, **_comment(s, sg))
        members = NODES if port == 500 else s.natt_members
        for address in members:
            if address == NODES[0]:
                adc.bind(
                    "servicegroup_servicegroupmember_binding",
                    servicegroupname=sg,
                    servername="RRAS-01",
                    port=port,
                )
            else:  # the GUI's "IP based" member: the ADC creates a server named after the address
                adc.bind(
                    "servicegroup_servicegroupmember_binding", servicegroupname=sg, ip=address, port=port
                )
        adc.bind("servicegroup_lbmonitor_binding", servicegroupname=sg, monitor_name="Ping_Mon")
        persistence = {"sourceip-each": "SOURCEIP", "destip-each": "DESTIP"}.get(s.persistence)
        extra = {"persistencetype": persistence, "timeout": 30} if persistence else {}
        adc.add(
            "lbvserver",
            name=vs,
            servicetype="UDP",
            ipv46=VIP,
            port=port,
            lbmethod=s.lbmethod,
            **extra,
            **_comment(s, vs),
        )
        adc.bind("lbvserver_servicegroup_binding", name=vs, servicegroupname=sg)
    if s.persistence == "group":
        adc.add("lbgroup", name="IKEv2-Persist", persistencetype=s.group_type, timeout=30)
        for port in s.ports:
            adc.bind("lbgroup_lbvserver_binding", name="IKEv2-Persist", vservername=groups[port][1])
    if not s.sstp:
        return None
    # SSTP offloaded (Hicks' SSTP article): the public certificate on an SSL vserver, HTTP to the nodes
    pem, key, digest = offload_certificate(s.cert_days)
    for name, data in (("vpn_public.crt", pem), ("vpn_public.key", key)):
        adc.add(
            "systemfile",
            filename=name,
            filelocation="/nsconfig/ssl/",
            filecontent=base64.b64encode(data).decode(),
            fileencoding="BASE64",
        )
    adc.add(
        "sslcertkey", certkey="VPN Public Cert", cert="vpn_public.crt", key="vpn_public.key", inform="PEM"
    )
    adc.add(
        "lbmonitor", monitorname="sstp-probe", type="HTTP", httprequest=f"HEAD {SSTP_URI}", respcode=["401"]
    )
    adc.add("servicegroup", servicegroupname="sstp_Offload", servicetype="HTTP", usip="YES")
    for address in NODES:
        if address == NODES[0]:
            adc.bind(
                "servicegroup_servicegroupmember_binding",
                servicegroupname="sstp_Offload",
                servername="RRAS-01",
                port=80,
            )
        else:
            adc.bind(
                "servicegroup_servicegroupmember_binding",
                servicegroupname="sstp_Offload",
                ip=address,
                port=80,
            )
    adc.bind("servicegroup_lbmonitor_binding", servicegroupname="sstp_Offload", monitor_name="sstp-probe")
    kind, backup = s.sstp_persistence
    adc.add(
        "lbvserver",
        name="Sstp-VS",
        servicetype="SSL",
        ipv46=s.sstp_vip,
        port=443,
        lbmethod=s.lbmethod,
        persistencetype=kind,
        persistencebackup=backup,
        timeout=30,
        backuppersistencetimeout=30,
    )
    adc.bind("lbvserver_servicegroup_binding", name="Sstp-VS", servicegroupname="sstp_Offload")
    adc.bind("sslvserver_sslcertkey_binding", vservername="Sstp-VS", certkeyname="VPN Public Cert")
    return digest


def _comment(s: Setup, name: str) -> dict[str, str]:
    return {"comment": s.comments[name]} if name in s.comments else {}


# -- fixtures --------------------------------------------------------------------------------------------
shared_twin, twin = module_twin("citrix")


def lb_block(twin: RunningTwin, user: str = AUDITOR[0]) -> dict[str, Any]:
    assert twin.tls is not None
    return {
        "kind": "citrix",
        "url": twin.url,
        "user": user,
        "passwordSecret": "adcPassword",
        "caBundle": str(twin.tls.ca_path),
    }


def audited(twin: RunningTwin, user: tuple[str, str] = AUDITOR) -> LoadBalancerAudit:
    """The audit, checked to have written nothing (the twin's log and counters)."""
    admin = twin.admin()
    before = admin.counters()["writes"]
    since = int(admin.log()[-1]["seq"]) if admin.log() else 0
    result = audit_load_balancer(lb_block(twin, user[0]), user[1])
    entries = admin.log(since=since)
    assert [e for e in entries if e.get("write")] == []
    assert {e["method"] for e in entries} <= {"GET", "POST"}
    assert [e["path"] for e in entries if e["method"] == "POST"] == [
        "/nitro/v1/config/login",
        "/nitro/v1/config/logout",
    ]
    assert admin.counters()["writes"] == before
    return result


# -- the tests -------------------------------------------------------------------------------------------
def test_the_correct_hand_built_cluster_has_no_finding_and_is_found_whole(twin: RunningTwin) -> None:
    digest = build_by_hand(twin, Setup())
    result = audited(twin, ADMIN)  # the administrator may read the certificate file: its hash is known
    assert result.findings == []
    (service,) = result.services
    assert (service.vendor, service.virtual_address, service.protocols) == ("citrix", VIP, ["ikev2", "sstp"])
    assert service.node_addresses == list(NODES)
    assert service.client_address == "preserved"
    assert service.objects == NAMES
    assert service.persistence_timeout == 1800
    assert service.load_balancing_method == "round-robin"
    assert service.offload_certificate_sha256 == digest
    assert service.offload_certificate_sha1 is not None and len(service.offload_certificate_sha1) == 40
    assert service.offload_certificate_expires is not None


def test_a_read_only_account_audits_and_the_certificate_hash_stays_unknown(twin: RunningTwin) -> None:
    """The built-in read-only policy refuses ``show system file``: the audit still answers, without it."""
    build_by_hand(twin, Setup())
    result = audited(twin)
    assert result.findings == []
    (service,) = result.services
    assert service.offload_certificate_sha256 is None
    assert service.offload_certificate_expires is not None  # from the certkey's daystoexpiration


PITFALLS: dict[str, tuple[Setup, set[str]]] = {
    "usip-off": (Setup(usip_4500="NO"), {"lb.usip-off"}),
    "usnip-off": (Setup(usnip=False), {"lb.usnip-off"}),
    "no-persistence": (Setup(persistence="none"), {"lb.persistence-missing"}),
    "sourceip-per-vserver": (Setup(persistence="sourceip-each"), {"lb.persistence-not-matched"}),
    "destip-per-vserver": (Setup(persistence="destip-each"), {"lb.persistence-not-sourceip"}),
    "group-not-sourceip": (Setup(group_type="NONE"), {"lb.persistence-missing"}),
    "different-members": (Setup(natt_members=NODES[:1]), {"lb.ports-different-members"}),
    "udp-monitor": (Setup(monitor="UDP-ECV"), {"lb.udp-monitor"}),
    "tcp-monitor": (Setup(monitor="TCP"), {"lb.monitor-wrong-protocol"}),
    "port-4500-missing": (Setup(ports=(500,)), {"lb.ikev2-port-missing"}),
    "sstp-persistence": (Setup(sstp_persistence=("SOURCEIP", "NONE")), {"sstp.persistence"}),
    "cert-expiring": (Setup(cert_days=10), {"cert.expiring"}),
    "sstp-other-address": (Setup(sstp_vip=OTHER_VIP), {"sstp.other-address"}),
}


@pytest.mark.parametrize("pitfall", sorted(PITFALLS))
def test_each_planted_pitfall_is_reported_alone_with_evidence_symptom_and_fix(
    twin: RunningTwin, pitfall: str
) -> None:
    setup, expected = PITFALLS[pitfall]
    build_by_hand(twin, setup)
    result = audited(twin)
    assert {f.check for f in result.findings} == expected, [f.title for f in result.findings]
    for finding in result.findings:
        assert finding.evidence and all(e.device == twin.url.split("//", 1)[1] for e in finding.evidence)
        assert finding.symptom and finding.fix and finding.title
        assert "declaration" in finding.fix  # the fix in the declaration's terms too
        assert finding.as_json()["check"] == finding.check


def test_evidence_names_the_object_and_property_as_the_device_spells_them(twin: RunningTwin) -> None:
    build_by_hand(twin, Setup(usip_4500="NO"))
    (finding,) = audited(twin).findings
    assert [(e.obj, e.prop, e.found) for e in finding.evidence] == [
        ("servicegroup vpn-natt-pool", "usip", "NO")
    ]
    assert "809" in finding.symptom and "set serviceGroup vpn-natt-pool -usip YES" in finding.fix
    (service,) = audited(twin).services
    assert service.client_address == "translated"


def test_sstp_on_another_address_is_its_own_service_of_the_same_nodes(twin: RunningTwin) -> None:
    build_by_hand(twin, Setup(sstp_vip=OTHER_VIP))
    result = audited(twin)
    by_address = {s.virtual_address: s for s in result.services}
    assert by_address[VIP].protocols == ["ikev2"]
    assert by_address[OTHER_VIP].protocols == ["sstp"]
    assert by_address[OTHER_VIP].node_addresses == list(NODES)
    (finding,) = result.findings
    assert finding.evidence[0].found == OTHER_VIP


def test_an_expired_certificate_is_critical(twin: RunningTwin) -> None:
    build_by_hand(twin, Setup(cert_days=-2))
    (finding,) = audited(twin).findings
    assert (finding.check, finding.severity) == ("cert.expiring", "critical")


def test_unrelated_services_on_the_adc_are_not_taken_for_always_on_vpn(twin: RunningTwin) -> None:
    """A web site on 443 of another address, with other nodes and no SSTP monitor, is not SSTP."""
    build_by_hand(twin, Setup(sstp=False))
    adc = Nitro(twin)
    adc.add("servicegroup", servicegroupname="web", servicetype="SSL_BRIDGE")
    adc.bind("servicegroup_servicegroupmember_binding", servicegroupname="web", ip="10.20.0.5", port=443)
    adc.add("lbvserver", name="www", servicetype="SSL_BRIDGE", ipv46="203.0.113.80", port=443)
    adc.bind("lbvserver_servicegroup_binding", name="www", servicegroupname="web")
    result = audited(twin)
    assert [s.virtual_address for s in result.services] == [VIP]
    assert result.findings == []
