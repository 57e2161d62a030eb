"""The LoadMaster audit (ops/audit/kemp.py) against twins configured by hand, through the LoadMaster's own
REST API, the way the articles' GUI steps build an Always On VPN cluster: under names the project never
chooses, once correctly and once per pitfall. The audit reports exactly the planted pitfalls (by check id),
nothing on the correct setup, and writes nothing (the twin's log)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulators.common import RunningTwin
from ops.audit.kemp import audit_load_balancer
from ops.audit.model import LoadBalancerAudit
from tests.emulators.kemp_access import Kemp, fields, kemptech_loadmaster
from tests.module_twin import module_twin

VIP = "10.0.0.10"
OTHER_VIP = "10.0.0.20"
NODES = ("10.0.1.11", "10.0.1.12")
SSTP_URI = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"
PASSWORD = "bal-pass"  # the twin's seeded administrator, not a real credential


shared_twin, twin = module_twin("kemp")


def lb_block(twin: RunningTwin) -> dict[str, Any]:
    assert twin.tls is not None
    return {
        "kind": "kemp",
        "url": twin.url,
        "user": "bal",
        "passwordSecret": "lmPassword",
        "caBundle": str(twin.tls.ca_path),
    }


# -- two hand-built setups ------------------------------------------------------------------------------
def build_with_rest(twin: RunningTwin, monkeypatch: pytest.MonkeyPatch, sstp_vip: str = VIP) -> None:
    """Hicks' GUI steps with the raw classic API: "AOVPN_IKE" / "vpn-NATT-pool" on UDP 500 / 4500
    (Source IP persistence one hour, least connection, Force L7, transparency), the RRAS servers on both,
    port following each way; "Vpn-SSTP" on TCP 443 with source IP persistence and an HTTPS check of the
    SSTP URI."""
    kemp = Kemp(twin)
    index = {}
    for port, name in ((500, "AOVPN_IKE"), (4500, "vpn-NATT-pool")):
        vs = kemp.ok(
            "addvs",
            vs=VIP,
            port=port,
            prot="udp",
            NickName=name,
            Persist="src",
            PersistTimeout=3600,
            Schedule="lc",
            ForceL7=1,
            Transparent=1,
            CheckType="icmp",
        )
        index[port] = fields(vs)["Index"]
        for node in NODES:
            kemp.ok("addrs", vs=index[port], rs=node, rsport=port)
    kemp.ok("modvs", vs=index[500], FollowVSID=index[4500])
    kemp.ok("modvs", vs=index[4500], FollowVSID=index[500])
    sstp = kemp.ok(
        "addvs",
        vs=sstp_vip,
        port=443,
        prot="tcp",
        NickName="Vpn-SSTP",
        Persist="src",
        PersistTimeout=3600,
        Schedule="lc",
        Transparent=1,
        CheckType="https",
        CheckUrl=SSTP_URI,
        CheckCodes="401",
        CheckUseGet=0,
    )
    for node in NODES:
        kemp.ok("addrs", vs=fields(sstp)["Index"], rs=node, rsport=443)


def build_with_kemptech(twin: RunningTwin, monkeypatch: pytest.MonkeyPatch, sstp_vip: str = VIP) -> None:
    """The same cluster through Kemp's own python-kemptech-api, under other names ("ike 500 AOVPN",
    "NatT"), mixed case, the library's defaults for everything not set."""
    loadmaster = kemptech_loadmaster(twin, monkeypatch)
    made = {}
    for port, name in ((500, "Ike500-AOVPN"), (4500, "NatT")):
        vs = loadmaster.create_virtual_service(VIP, port, "udp")
        vs.nickname = name
        vs.persist = "src"
        vs.persisttimeout = "1800"
        vs.transparent = "Y"
        vs.forcel7 = "Y"
        vs.checktype = "icmp"
        vs.save()
        for node in NODES:
            rs = vs.create_real_server(node, port)
            rs.save()
        made[port] = vs
    for port, other in ((500, 4500), (4500, 500)):
        made[port].followvsid = made[other].index
        made[port].save(update=True)
    sstp = loadmaster.create_virtual_service(sstp_vip, 443, "tcp")
    sstp.nickname = "SSTP"
    sstp.persist = "src"
    sstp.persisttimeout = "1800"
    sstp.checktype = "https"
    sstp.checkurl = SSTP_URI
    sstp.checkcodes = "401"
    sstp.save()
    for node in NODES:
        sstp.create_real_server(node, 443).save()


BUILDERS = {"rest": build_with_rest, "kemptech": build_with_kemptech}


def audited(twin: RunningTwin) -> LoadBalancerAudit:
    """The audit, asserting that it wrote nothing and asked one listvs."""
    admin = twin.admin()
    since = admin.log()[-1]["seq"] if admin.log() else 0
    audit = audit_load_balancer(lb_block(twin), PASSWORD)
    during = admin.log(since=since)
    assert [e for e in during if e.get("write")] == []
    assert [e["command"] for e in during] == ["listvs"]
    return audit


def checks(audit: LoadBalancerAudit) -> list[str]:
    return sorted(f.check for f in audit.findings)


# -- the correct setup ------------------------------------------------------------------------------------
@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_a_correct_hand_built_cluster_has_no_finding(twin, monkeypatch, builder):
    BUILDERS[builder](twin, monkeypatch)
    audit = audited(twin)
    assert audit.findings == []
    [service] = audit.services
    assert service.vendor == "kemp" and service.virtual_address == VIP
    assert service.protocols == ["ikev2", "sstp"]
    assert service.node_addresses == sorted(NODES)
    assert service.client_address == "preserved"
    expected = {
        "rest": {
            "virtual:ikev2-500": "AOVPN_IKE",
            "virtual:ikev2-4500": "vpn-NATT-pool",
            "virtual:sstp": "Vpn-SSTP",
        },
        "kemptech": {
            "virtual:ikev2-500": "Ike500-AOVPN",
            "virtual:ikev2-4500": "NatT",
            "virtual:sstp": "SSTP",
        },
    }[builder]
    assert service.objects == expected
    assert service.persistence_timeout == (3600 if builder == "rest" else 1800)
    assert service.load_balancing_method == ("least-connections" if builder == "rest" else "round-robin")


# -- one pitfall at a time ----------------------------------------------------------------------------------
def _mod(port: int, prot: str = "udp", address: str = VIP, **params: Any) -> Callable[[Kemp], None]:
    def apply(kemp: Kemp) -> None:
        kemp.ok("modvs", vs=address, port=port, prot=prot, **params)

    return apply


def _both(**params: Any) -> Callable[[Kemp], None]:
    def apply(kemp: Kemp) -> None:
        _mod(500, **params)(kemp)
        _mod(4500, **params)(kemp)

    return apply


def _drop_node(kemp: Kemp) -> None:
    kemp.ok("delrs", vs=VIP, port=4500, prot="udp", rs=NODES[1], rsport=4500)


def _node_on_wrong_port(kemp: Kemp) -> None:
    kemp.ok("delrs", vs=VIP, port=4500, prot="udp", rs=NODES[1], rsport=4500)
    kemp.ok("addrs", vs=VIP, port=4500, prot="udp", rs=NODES[1], rsport=500)


PITFALLS: dict[str, tuple[Callable[[Kemp], None], list[str]]] = {
    "transparency off": (_both(Transparent="N"), ["lb.transparency-off"]),
    "no persistence": (_both(Persist="none", PersistTimeout=0), ["lb.persistence-missing"]),
    "persistence not source IP": (_both(Persist="udpsip"), ["lb.persistence-not-source"]),
    "persistence timeouts differ": (_mod(4500, PersistTimeout=600), ["lb.persistence-mismatch"]),
    "port following one way only": (_mod(4500, FollowVSID=0), ["lb.port-following-missing"]),
    "different real servers": (_drop_node, ["lb.real-servers-differ"]),
    "real server on the other port": (_node_on_wrong_port, ["lb.real-server-port"]),
    "tcp health check on udp": (_mod(500, CheckType="tcp"), ["lb.health-check-udp"]),
    "no health check": (_mod(4500, CheckType="none"), ["lb.health-check-none"]),
    "service disabled": (_mod(4500, Enable="N"), ["lb.service-disabled"]),
    "force l4": (_both(ForceL7="N"), ["lb.force-l4"]),
    "sstp without persistence": (
        _mod(443, "tcp", Persist="none", PersistTimeout=0),
        ["sstp.persistence-missing"],
    ),
    "sstp ssl session persistence": (_mod(443, "tcp", Persist="ssl"), ["sstp.persistence-not-source"]),
    "sstp offloaded to the nodes' tls port": (
        _mod(443, "tcp", SSLAcceleration="Y"),
        ["sstp.offload-plain-to-tls-port"],
    ),
    "sstp tcp check": (_mod(443, "tcp", CheckType="tcp"), ["sstp.health-check-shallow"]),
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("pitfall", sorted(PITFALLS))
def test_each_planted_pitfall_is_reported_and_nothing_else(twin, monkeypatch, builder, pitfall):
    BUILDERS[builder](twin, monkeypatch)
    plant, expected = PITFALLS[pitfall]
    plant(Kemp(twin))
    audit = audited(twin)
    assert checks(audit) == expected, [f.title for f in audit.findings]
    for finding in audit.findings:
        assert finding.symptom and finding.fix
        for evidence in finding.evidence:
            assert evidence.device == f"127.0.0.1:{twin.port}"
            assert evidence.obj.startswith(("virtual service ", "real server "))


def test_transparency_off_names_both_services_as_the_device_spells_them(twin, monkeypatch):
    build_with_rest(twin, monkeypatch)
    _both(Transparent="N")(Kemp(twin))
    audit = audited(twin)
    [finding] = audit.findings
    assert finding.severity == "warning" and "809" in finding.symptom
    assert [(e.obj, e.prop, e.found) for e in finding.evidence] == [
        (f"virtual service {VIP}:500/udp (AOVPN_IKE)", "Transparent", "N"),
        (f"virtual service {VIP}:4500/udp (vpn-NATT-pool)", "Transparent", "N"),
    ]
    assert "Transparent Y" in finding.fix and "clientAddress: preserved" in finding.fix
    assert audit.services[0].client_address == "translated"


def test_port_following_missing_shows_the_followvsid_found(twin, monkeypatch):
    build_with_rest(twin, monkeypatch)
    _mod(4500, FollowVSID=0)(Kemp(twin))
    [finding] = audited(twin).findings
    assert finding.severity == "critical" and "809" in finding.symptom
    assert [(e.obj, e.prop, e.found) for e in finding.evidence] == [
        (f"virtual service {VIP}:4500/udp (vpn-NATT-pool)", "FollowVSID", "0")
    ]


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_sstp_on_another_address_is_its_own_service_and_a_finding(twin, monkeypatch, builder):
    BUILDERS[builder](twin, monkeypatch, sstp_vip=OTHER_VIP)
    audit = audited(twin)
    assert checks(audit) == ["sstp.other-address"]
    assert [(s.virtual_address, s.protocols) for s in audit.services] == [
        (VIP, ["ikev2"]),
        (OTHER_VIP, ["sstp"]),
    ]
    assert "800" in audit.findings[0].symptom


def test_a_lone_ike_service_is_reported_and_unrelated_web_services_are_not(twin, monkeypatch):
    kemp = Kemp(twin)
    kemp.ok("addvs", vs=VIP, port=500, prot="udp", NickName="ike only", Persist="src", PersistTimeout=3600)
    kemp.ok("addrs", vs=VIP, port=500, prot="udp", rs=NODES[0], rsport=500)
    kemp.ok("addvs", vs="10.0.0.30", port=443, prot="tcp", NickName="intranet")  # a web site, no VPN
    kemp.ok("addrs", vs="10.0.0.30", port=443, prot="tcp", rs="10.0.2.5", rsport=443)
    audit = audited(twin)
    assert checks(audit) == ["lb.ikev2-port-missing"]
    assert [(s.virtual_address, s.protocols) for s in audit.services] == [(VIP, [])]


def test_a_wrong_password_fails_without_the_password_in_the_error(twin):
    with pytest.raises(Exception) as caught:
        audit_load_balancer(lb_block(twin), "not-the-password")
    assert "authentication failed" in str(caught.value) and "not-the-password" not in str(caught.value)
