"""The read-only audit of a Citrix ADC (NetScaler): the Always On VPN services on it and their pitfalls.

Only GETs (plus the login and logout of one NITRO session, which the ADC does not record as configuration
changes): one read of each collection (``bulkbindings=yes`` for the bindings), so the audit costs about a
dozen round trips whatever the size of the appliance, and it can be pointed at production.

A service is found by its ports (DESIGN.md): UDP vservers on 500 and 4500 of one virtual address are IKEv2;
a vserver on TCP 443 (SSL, SSL_BRIDGE, TCP, SSL_TCP) of that address is its SSTP. A 443 vserver elsewhere
counts as SSTP when it balances the same nodes (then the finding ``sstp.other-address``) or when its HTTP
monitor asks for the SSTP URI. Each ``FoundService.objects`` names the existing objects by the project's
roles (components/citrix.py ``IKEV2_ROLES``, ``SSTP_ROLES``, ``node:<node>``), the keys of
``loadBalancer.adopt``; the ``node:<node>`` keys come in the order of ``node_addresses``.

Checks (docs/citrix.md#auditing-an-always-on-vpn-cluster): usip off on a service group / USNIP off
(the client address is translated: the RRAS SA limit per source address); persistence missing, not
SOURCEIP, or SOURCEIP per vserver without a persistency group holding both; 500 and 4500 on different
members; a port of the pair missing; monitors that cannot work on UDP (UDP-ECV, TCP-family); SSTP without
SSLSESSION persistence and SOURCEIP backup; a certificate expiring; SSTP on another address than IKEv2.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from components.citrix import LB_METHODS
from components.declaration import NODE_NAME_RE
from components.protocols import IKEV2_PORTS, SSTP_URI
from ops.audit.model import Evidence, Finding, FoundService, LoadBalancerAudit
from providers.citrix.client import NitroClient
from providers.common.device import Device
from providers.common.errors import ProviderError
from providers.common.fields import canonical_address, number

KIND = "citrix"
SSTP_PORT = 443
SSTP_TYPES = frozenset({"SSL", "SSL_BRIDGE", "TCP", "SSL_TCP"})
#: Monitor types that cannot tell whether IKE answers on a UDP port: UDP-ECV sends a payload RRAS's IKE
#: service does not answer (with a receive string it never succeeds, without one it only notices an ICMP
#: port unreachable); TCP-family monitors open a TCP connection to a UDP-only port.
UDP_ECV_TYPES = frozenset({"UDP-ECV", "UDP"})
TCP_MONITOR_TYPES = frozenset({"TCP", "TCP-ECV", "HTTP", "HTTP-ECV", "HTTP-INLINE", "HTTPS"})
EXPIRY_WARNING_DAYS = 30
METHODS = {device: declared for declared, device in LB_METHODS.items()}
BULK = "bulkbindings=yes"
#: What a vserver without a VIP shows as its ipv46 (docs/citrix.md#attribute-types-and-case).
NON_ADDRESSABLE = frozenset({"0.0.0.0", "::", "None"})  # noqa: S104 (an address read, not a bind)
SSL_DIR = "args=filelocation:%2Fnsconfig%2Fssl"

SYMPTOM_809 = (
    "error 809: IKE never completes (the client's UDP 500 and 4500 reach different RRAS nodes, or no node "
    "answers) and the connection times out"
)
SYMPTOM_SA_LIMIT = (
    "intermittent drops and error 809 under load: every client reaches RRAS from the ADC's address, and "
    "RRAS refuses further IPsec SAs from one source address"
)
SYMPTOM_DROPS = (
    "intermittent drops: a client's packets move to another node mid-session, and it reconnects "
    "(809 while IKE is renegotiated)"
)
SYMPTOM_800 = "error 800 when the client falls back to SSTP: nothing answers 443 on the address it resolved"


@dataclass
class Snapshot:
    """What the audit read from the ADC, indexed."""

    host: str
    vservers: list[dict[str, Any]]
    servicegroups: dict[str, dict[str, Any]]
    vs_groups: dict[str, list[str]]
    members: dict[str, list[dict[str, Any]]]
    sg_monitors: dict[str, list[str]]
    monitors: dict[str, dict[str, Any]]
    lbgroups: dict[str, dict[str, Any]]
    group_members: dict[str, list[str]]
    servers: dict[str, dict[str, Any]]
    modes: dict[str, Any]
    certkeys: dict[str, dict[str, Any]]
    vs_certkeys: dict[str, list[str]]
    files: dict[str, bytes | None] = field(default_factory=dict)

    def addresses(self, servicegroup: str) -> list[str]:
        """The members' addresses of a service group, sorted (IP-bound members: the server's address)."""
        out = set()
        for m in self.members.get(servicegroup, []):
            server = self.servers.get(str(m.get("servername")), {})
            address = m.get("ip") or server.get("ipaddress") or m.get("servername")
            out.add(str(canonical_address(address)))
        return sorted(out)

    def group_of(self, vserver: str) -> str | None:
        for group, vservers in self.group_members.items():
            if vserver in vservers:
                return group
        return None


def _rows(client: NitroClient, resource: str, query: str = "") -> list[dict[str, Any]]:
    found = client.get(resource, query=query, what=resource)
    return [r for r in (found or []) if isinstance(r, dict)] if isinstance(found, list) else []


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(r[key]): r for r in rows if key in r}


def _grouped(rows: list[dict[str, Any]], parent: str, child: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(str(r.get(parent)), []).append(str(r.get(child)))
    return out


def read(client: NitroClient) -> Snapshot:
    """One GET per collection: vservers, service groups, monitors, persistency groups, servers, modes,
    certificates and the five binding kinds."""
    members = _rows(client, "servicegroup_servicegroupmember_binding", BULK)
    member_map: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        member_map.setdefault(str(m.get("servicegroupname")), []).append(m)
    modes = client.get("nsmode", what="ns mode")
    if isinstance(modes, list):
        modes = modes[0] if modes else {}
    return Snapshot(
        host=client.device.host,
        vservers=_rows(client, "lbvserver"),
        servicegroups=_by(_rows(client, "servicegroup"), "servicegroupname"),
        vs_groups=_grouped(_rows(client, "lbvserver_servicegroup_binding", BULK), "name", "servicegroupname"),
        members=member_map,
        sg_monitors=_grouped(
            _rows(client, "servicegroup_lbmonitor_binding", BULK), "servicegroupname", "monitor_name"
        ),
        monitors=_by(_rows(client, "lbmonitor"), "monitorname"),
        lbgroups=_by(_rows(client, "lbgroup"), "name"),
        group_members=_grouped(_rows(client, "lbgroup_lbvserver_binding", BULK), "name", "vservername"),
        servers=_by(_rows(client, "server"), "name"),
        modes=modes if isinstance(modes, dict) else {},
        certkeys=_by(_rows(client, "sslcertkey"), "certkey"),
        vs_certkeys=_grouped(
            _rows(client, "sslvserver_sslcertkey_binding", BULK), "vservername", "certkeyname"
        ),
    )


def _certificate_file(client: NitroClient, snap: Snapshot, certkey: dict[str, Any]) -> bytes | None:
    """The certificate file of a certkey, when the account may read system files (``show system file``;
    the built-in read-only policy may not: then the fingerprint stays unknown)."""
    name = str(certkey.get("cert") or "").removeprefix("/nsconfig/ssl/")
    if not name or "/" in name:
        return None
    if name not in snap.files:
        try:
            found = client.get("systemfile", name, query=SSL_DIR, what=f"file {name}")
        except ProviderError:
            found = None
        entry = found[0] if isinstance(found, list) and found else None
        try:
            snap.files[name] = base64.b64decode(str(entry["filecontent"])) if entry else None
        except (ValueError, KeyError):
            snap.files[name] = None
    return snap.files[name]


# -- the services ----------------------------------------------------------------------------------------
@dataclass
class _Service:
    address: str
    ikev2: dict[int, dict[str, Any]]  # port -> lbvserver
    sstp: dict[str, Any] | None


def _is_sstp_monitor(snap: Snapshot, groups: list[str]) -> bool:
    for sg in groups:
        for name in snap.sg_monitors.get(sg, []):
            request = str(snap.monitors.get(name, {}).get("httprequest") or "")
            if SSTP_URI.lower() in request.lower():
                return True
    return False


def _services(snap: Snapshot) -> tuple[list[_Service], list[dict[str, Any]]]:
    """The services by virtual address, and the 443 vservers elsewhere that may be SSTP."""
    by_address: dict[str, list[dict[str, Any]]] = {}
    for vs in snap.vservers:
        address = str(canonical_address(vs.get("ipv46")))
        if address not in NON_ADDRESSABLE:
            by_address.setdefault(address, []).append(vs)
    services, loose_443 = [], []
    for address, vservers in sorted(by_address.items()):
        udp = {
            int(number(v.get("port"))): v
            for v in vservers
            if str(v.get("servicetype")).upper() == "UDP" and number(v.get("port")) in IKEV2_PORTS
        }
        tls = [
            v
            for v in vservers
            if str(v.get("servicetype")).upper() in SSTP_TYPES and number(v.get("port")) == SSTP_PORT
        ]
        if udp:
            services.append(_Service(address, udp, tls[0] if tls else None))
        else:
            loose_443 += tls
    return services, loose_443


def audit_load_balancer(lb: Mapping[str, Any], password: str) -> LoadBalancerAudit:
    """Read the ADC ``lb`` names (a declaration's ``loadBalancer`` block: url, user, caBundle) with GETs
    only, and answer its Always On VPN services and their pitfalls."""
    device = Device(
        url=str(lb["url"]).rstrip("/"),
        user=str(lb["user"]),
        password_key=str(lb.get("passwordSecret") or "password"),
        ca_bundle=lb.get("caBundle") or None,
    )
    client = NitroClient(device, password)
    try:
        snap = read(client)
        return _audit(client, snap)
    finally:
        client.close()


def _audit(client: NitroClient, snap: Snapshot) -> LoadBalancerAudit:
    services, loose_443 = _services(snap)
    found: list[FoundService] = []
    findings: list[Finding] = []
    ikev2_nodes: list[tuple[str, set[str]]] = []
    for service in services:
        audit = _ServiceAudit(client, snap, service)
        found.append(audit.found())
        findings += audit.findings
        if len(service.ikev2) == 2:
            ikev2_nodes.append((service.address, set(audit.node_addresses())))
    for vs in loose_443:
        groups = snap.vs_groups.get(str(vs["name"]), [])
        nodes = {a for sg in groups for a in snap.addresses(sg)}
        same = [address for address, known in ikev2_nodes if known and nodes & known]
        if not same and not _is_sstp_monitor(snap, groups):
            continue
        audit = _ServiceAudit(client, snap, _Service(str(canonical_address(vs.get("ipv46"))), {}, vs))
        found.append(audit.found())
        findings += audit.findings
        for address in same:
            findings.append(
                Finding(
                    check="sstp.other-address",
                    severity="warning",
                    title=f"SSTP of the nodes behind {address} listens on another address",
                    evidence=(
                        _ev(snap, f"lbvserver {vs['name']}", "ipv46", vs.get("ipv46")),
                        _ev(snap, f"lbvserver {vs['name']}", "port", vs.get("port")),
                    ),
                    symptom=SYMPTOM_800 + " (the profile's server name resolves to the IKEv2 address)",
                    fix=(
                        f"add the SSTP vserver on {address}:443 (add lb vserver <name> "
                        f"{vs.get('servicetype')} {address} 443) and move its service group to it; in the "
                        f"declaration: one cluster with virtualAddress {address} and protocols [ikev2, sstp]"
                    ),
                )
            )
    return LoadBalancerAudit(services=found, findings=findings)


def _ev(snap: Snapshot, obj: str, prop: str, value: Any) -> Evidence:
    return Evidence(device=snap.host, obj=obj, prop=prop, found=value)


class _ServiceAudit:
    """One service's objects, roles and findings."""

    def __init__(self, client: NitroClient, snap: Snapshot, service: _Service) -> None:
        self.client, self.snap, self.service = client, snap, service
        self.findings: list[Finding] = []
        self.groups = {
            port: snap.vs_groups.get(str(vs["name"]), []) for port, vs in sorted(service.ikev2.items())
        }
        self.sstp_groups = snap.vs_groups.get(str(service.sstp["name"]), []) if service.sstp else []
        self.check()

    # -- what was found -----------------------------------------------------------------------------
    def node_addresses(self) -> list[str]:
        groups = [sg for sgs in self.groups.values() for sg in sgs] + self.sstp_groups
        return sorted({a for sg in groups for a in self.snap.addresses(sg)})

    def _servers(self) -> list[str]:
        """The member servers, in the order of their addresses."""
        groups = [sg for sgs in self.groups.values() for sg in sgs] + self.sstp_groups
        names = {str(m.get("servername")) for sg in groups for m in self.snap.members.get(sg, [])}
        address = {
            n: str(canonical_address(self.snap.servers.get(n, {}).get("ipaddress") or n)) for n in names
        }
        return sorted(names, key=lambda n: (address[n], n))

    def found(self) -> FoundService:
        service, snap = self.service, self.snap
        protocols = (["ikev2"] if len(service.ikev2) == 2 else []) + (["sstp"] if service.sstp else [])
        ikev2_groups = [sg for sgs in self.groups.values() for sg in sgs]
        usip_groups = ikev2_groups or self.sstp_groups
        preserved = bool(usip_groups) and all(
            str(snap.servicegroups.get(sg, {}).get("usip", "NO")).upper() == "YES" for sg in usip_groups
        )
        out = FoundService(
            vendor=KIND,
            device=snap.host,
            virtual_address=service.address,
            protocols=protocols,
            node_addresses=self.node_addresses(),
            client_address="preserved" if preserved else "translated",
            objects=self.objects(),
            persistence_timeout=self.persistence_timeout(),
            load_balancing_method=self.method(),
        )
        self._offload(out)
        return out

    def objects(self) -> dict[str, str]:
        snap, objects = self.snap, {}
        used: set[str] = set()
        for i, server in enumerate(self._servers(), start=1):
            node = server if NODE_NAME_RE.match(server) and server not in used else f"rras{i}"
            used.add(node)
            objects[f"node:{node}"] = server
        for port, vs in sorted(self.service.ikev2.items()):
            objects[f"virtual:ikev2-{port}"] = str(vs["name"])
            if len(self.groups[port]) == 1:
                objects[f"pool:ikev2-{port}"] = self.groups[port][0]
        monitors = {m for sgs in self.groups.values() for sg in sgs for m in snap.sg_monitors.get(sg, [])}
        pings = sorted(m for m in monitors if str(snap.monitors.get(m, {}).get("type")).upper() == "PING")
        if len(pings) == 1:
            objects["monitor:ikev2"] = pings[0]
        groups = {snap.group_of(str(vs["name"])) for vs in self.service.ikev2.values()}
        if len(groups) == 1 and None not in groups:
            objects["persistence:ikev2"] = str(groups.pop())
        if self.service.sstp:
            objects["virtual:sstp"] = str(self.service.sstp["name"])
            if len(self.sstp_groups) == 1:
                sg = self.sstp_groups[0]
                objects["pool:sstp"] = sg
                http = [
                    m
                    for m in snap.sg_monitors.get(sg, [])
                    if str(snap.monitors.get(m, {}).get("type")).upper() == "HTTP"
                ]
                if len(http) == 1:
                    objects["monitor:sstp"] = http[0]
        return objects

    def persistence_timeout(self) -> int | None:
        snap = self.snap
        vservers = list(self.service.ikev2.values()) or ([self.service.sstp] if self.service.sstp else [])
        groups = {snap.group_of(str(vs["name"])) for vs in vservers}
        if len(groups) == 1 and None not in groups:
            group = snap.lbgroups.get(str(next(iter(groups))), {})
            if str(group.get("persistencetype")).upper() == "SOURCEIP":
                return int(number(group.get("timeout")) or 0) * 60
        persisted = [vs for vs in vservers if str(vs.get("persistencetype")).upper() == "SOURCEIP"]
        if persisted:
            return int(number(persisted[0].get("timeout")) or 0) * 60
        sstp = self.service.sstp
        if sstp is not None and str(sstp.get("persistencebackup")).upper() == "SOURCEIP":
            return int(number(sstp.get("backuppersistencetimeout") or sstp.get("timeout")) or 0) * 60
        return None

    def method(self) -> str | None:
        vservers = list(self.service.ikev2.values()) + ([self.service.sstp] if self.service.sstp else [])
        methods = {str(vs.get("lbmethod") or "LEASTCONNECTION").upper() for vs in vservers}
        return METHODS.get(methods.pop()) if len(methods) == 1 else None

    def _offload(self, out: FoundService) -> None:
        sstp = self.service.sstp
        if sstp is None or str(sstp.get("servicetype")).upper() not in ("SSL", "SSL_TCP"):
            return
        for name in self.snap.vs_certkeys.get(str(sstp["name"]), []):
            certkey = self.snap.certkeys.get(name)
            if certkey is None:
                continue
            days = number(certkey.get("daystoexpiration"))
            if isinstance(days, int):
                out.offload_certificate_expires = (dt.date.today() + dt.timedelta(days=days)).isoformat()
            pem = _certificate_file(self.client, self.snap, certkey)
            if pem:
                try:
                    cert = x509.load_pem_x509_certificate(pem)
                except ValueError:
                    return
                der = cert.public_bytes(Encoding.DER)
                out.offload_certificate_sha1 = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
                out.offload_certificate_sha256 = hashlib.sha256(der).hexdigest().upper()
                out.offload_certificate_expires = cert.not_valid_after_utc.isoformat()
            return

    # -- the checks ------------------------------------------------------------------------------------
    def add(
        self, check: str, severity: str, title: str, evidence: list[Evidence], symptom: str, fix: str
    ) -> None:
        self.findings.append(Finding(check, severity, title, tuple(evidence), symptom, fix))

    def check(self) -> None:
        if self.service.ikev2:
            self._ports()
            self._client_address()
            self._persistence()
            self._members()
            self._monitors()
        if self.service.sstp is not None:
            self._sstp_persistence()
            self._certificates()

    def _ports(self) -> None:
        missing = [p for p in IKEV2_PORTS if p not in self.service.ikev2]
        if not missing:
            return
        (present,) = [p for p in IKEV2_PORTS if p in self.service.ikev2]
        vs = self.service.ikev2[present]
        self.add(
            "lb.ikev2-port-missing",
            "critical",
            f"UDP {missing[0]} has no vserver on {self.service.address} (only UDP {present})",
            [_ev(self.snap, f"lbvserver {vs['name']}", "port", vs.get("port"))],
            SYMPTOM_809
            + (" for every client behind NAT (NAT-T moves IKE to 4500)" if 4500 in missing else ""),
            f"add lb vserver <name> UDP {self.service.address} {missing[0]} bound to a service group of the "
            f"same nodes on port {missing[0]}, in the persistency group; in the declaration: protocols "
            "[ikev2] builds both",
        )

    def _client_address(self) -> None:
        snap = self.snap
        off = [
            (sg, snap.servicegroups.get(sg, {}).get("usip"))
            for sgs in self.groups.values()
            for sg in sgs
            if str(snap.servicegroups.get(sg, {}).get("usip", "NO")).upper() != "YES"
        ]
        for sg, usip in off:
            self.add(
                "lb.usip-off",
                "warning",
                f"service group {sg} does not use the client's IP (Use Client IP off)",
                [_ev(snap, f"servicegroup {sg}", "usip", usip)],
                SYMPTOM_SA_LIMIT + "; unless every node has the SA-limit workaround "
                "(IKEEXT\\Parameters IkeNumEstablishedForInitialQuery 50000)",
                f"set serviceGroup {sg} -usip YES (and route the nodes' return traffic through the ADC); "
                "in the declaration: clientAddress preserved. Where return routing is impossible: keep "
                "clientAddress translated, which sets the SA-limit workaround on the nodes",
            )
        usnip = snap.modes.get("usnip")
        if usnip is None:
            listed = snap.modes.get("mode") or []
            listed = listed.split() if isinstance(listed, str) else listed
            usnip = "USNIP" in {str(m).upper() for m in listed}
        if not off and usnip is not True:
            self.add(
                "lb.usnip-off",
                "warning",
                "the global mode USNIP (Use Subnet IP) is off",
                [_ev(snap, "ns mode", "usnip", snap.modes.get("usnip"))],
                "error 809 (unreachable nodes) when the ADC has no mapped IP to reach the nodes' subnet "
                "from [? behaviour without a MIP unconfirmed]",
                "enable ns mode USNIP; in the declaration: clientAddress preserved enables it (never "
                "disables it)",
            )

    def _persistence(self) -> None:
        snap, ikev2 = self.snap, self.service.ikev2
        if len(ikev2) < 2:
            return
        names = {port: str(vs["name"]) for port, vs in ikev2.items()}
        groups = {port: snap.group_of(name) for port, name in names.items()}
        if set(groups.values()) == {groups[500]} and groups[500] is not None:
            group = snap.lbgroups.get(groups[500], {})
            kind = str(group.get("persistencetype", "NONE")).upper()
            if kind != "SOURCEIP":
                self.add(
                    "lb.persistence-not-sourceip" if kind != "NONE" else "lb.persistence-missing",
                    "critical",
                    f"persistency group {groups[500]} persists by {kind}, not by the client's address",
                    [_ev(snap, f"lbgroup {groups[500]}", "persistencetype", group.get("persistencetype"))],
                    SYMPTOM_809,
                    f"set lb group {groups[500]} -persistenceType SOURCEIP -timeout <minutes>; in the "
                    "declaration: persistenceTimeout (seconds, whole minutes)",
                )
            return
        kinds = {port: str(ikev2[port].get("persistencetype", "NONE")).upper() for port in names}
        evidence = [
            _ev(snap, f"lbvserver {names[p]}", "persistencetype", ikev2[p].get("persistencetype"))
            for p in sorted(names)
        ]
        evidence += [
            _ev(snap, f"lbvserver {names[p]}", "groupname", ikev2[p].get("groupname")) for p in sorted(names)
        ]
        fix = (
            f"add lb group <name> -persistenceType SOURCEIP -timeout <minutes>; bind lb group <name> "
            f"{names[500]}; bind lb group <name> {names[4500]}; in the declaration: the ikev2 protocol "
            "builds the group (adopt persistence:ikev2 to keep an existing one)"
        )
        if any(g is not None for g in groups.values()):
            self.add(
                "lb.persistence-not-matched",
                "critical",
                "the UDP 500 and 4500 vservers are not in one persistency group",
                evidence,
                SYMPTOM_809,
                fix,
            )
        elif all(k == "NONE" for k in kinds.values()):
            self.add(
                "lb.persistence-missing",
                "critical",
                f"no persistence on the IKEv2 vservers of {self.service.address}",
                evidence,
                SYMPTOM_809,
                fix,
            )
        elif all(k == "SOURCEIP" for k in kinds.values()):
            self.add(
                "lb.persistence-not-matched",
                "critical",
                "SOURCEIP persistence on each IKEv2 vserver, but no persistency group shares it across "
                "500 and 4500",
                evidence,
                SYMPTOM_809 + "; " + SYMPTOM_DROPS,
                fix,
            )
        else:
            self.add(
                "lb.persistence-not-sourceip",
                "critical",
                "the IKEv2 vservers do not persist by the client's address",
                evidence,
                SYMPTOM_809,
                fix,
            )

    def _members(self) -> None:
        snap = self.snap
        if len(self.groups) < 2:
            return
        seen = {
            port: sorted({a for sg in sgs for a in snap.addresses(sg)}) for port, sgs in self.groups.items()
        }
        if seen[500] != seen[4500]:
            self.add(
                "lb.ports-different-members",
                "critical",
                "UDP 500 and UDP 4500 are balanced over different nodes",
                [
                    _ev(
                        snap,
                        f"servicegroup {', '.join(self.groups[p]) or '(none bound)'}",
                        "members",
                        seen[p],
                    )
                    for p in IKEV2_PORTS
                ],
                SYMPTOM_809 + " (for clients whose 500 lands on a node the 4500 pool lacks)",
                "bind the same servers to both service groups (bind serviceGroup <sg> <server> 500 / 4500); "
                "in the declaration: nodes lists each node once and both ports get all of them",
            )

    def _monitors(self) -> None:
        snap = self.snap
        for port, sgs in self.groups.items():
            for sg in sgs:
                for name in snap.sg_monitors.get(sg, []):
                    monitor = snap.monitors.get(name, {})
                    kind = str(monitor.get("type", "")).upper()
                    if kind in UDP_ECV_TYPES:
                        receive = monitor.get("recv")
                        self.add(
                            "lb.udp-monitor",
                            "critical" if receive else "warning",
                            f"monitor {name} ({kind}) on service group {sg} cannot tell whether IKE answers",
                            [_ev(snap, f"lbmonitor {name}", "type", monitor.get("type"))]
                            + ([_ev(snap, f"lbmonitor {name}", "recv", receive)] if receive else []),
                            (
                                "error 809 for every client: IKE never answers the monitor's payload, so "
                                "every member is marked DOWN"
                                if receive
                                else "error 809 for the clients sent to a node whose IKE service is down: "
                                "the monitor only notices an ICMP port unreachable, which the node's "
                                "firewall may never send"
                            ),
                            f"unbind serviceGroup {sg} -monitorName {name}; bind a PING monitor (the only "
                            "check that works for UDP); in the declaration: the ikev2 protocol binds one",
                        )
                    elif kind in TCP_MONITOR_TYPES:
                        self.add(
                            "lb.monitor-wrong-protocol",
                            "critical",
                            f"monitor {name} ({kind}) probes a UDP-only service group {sg} over TCP",
                            [_ev(snap, f"lbmonitor {name}", "type", monitor.get("type"))],
                            "error 809 for every client once every member is marked DOWN (nothing "
                            f"listens on TCP {port})",
                            f"unbind serviceGroup {sg} -monitorName {name}; bind a PING monitor; in the "
                            "declaration: the ikev2 protocol binds one",
                        )

    def _sstp_persistence(self) -> None:
        vs = self.service.sstp
        assert vs is not None
        kind = str(vs.get("persistencetype", "NONE")).upper()
        backup = str(vs.get("persistencebackup", "NONE")).upper()
        if kind == "SSLSESSION" and backup == "SOURCEIP":
            return
        self.add(
            "sstp.persistence",
            "warning",
            f"SSTP vserver {vs['name']} does not persist by SSL session with source IP as backup",
            [
                _ev(self.snap, f"lbvserver {vs['name']}", "persistencetype", vs.get("persistencetype")),
                _ev(self.snap, f"lbvserver {vs['name']}", "persistencebackup", vs.get("persistencebackup")),
            ],
            SYMPTOM_DROPS + " (SSTP reconnects, without it a TLS session resumed on another node fails)",
            f"set lb vserver {vs['name']} -persistenceType SSLSESSION -persistenceBackup SOURCEIP "
            "-timeout <minutes>; in the declaration: protocols with sstp sets both",
        )

    def _certificates(self) -> None:
        vs = self.service.sstp
        assert vs is not None
        for name in self.snap.vs_certkeys.get(str(vs["name"]), []):
            certkey = self.snap.certkeys.get(name, {})
            days = number(certkey.get("daystoexpiration"))
            status = str(certkey.get("status", ""))
            if not isinstance(days, int):
                continue
            if days > EXPIRY_WARNING_DAYS and status.lower() != "expired":
                continue
            expired = days <= 0 or status.lower() == "expired"
            self.add(
                "cert.expiring",
                "critical" if expired else "warning",
                f"certificate {name} on SSTP vserver {vs['name']} "
                + ("has expired" if expired else f"expires in {days} days"),
                [
                    _ev(self.snap, f"sslcertkey {name}", "daystoexpiration", certkey.get("daystoexpiration")),
                    _ev(self.snap, f"sslcertkey {name}", "status", certkey.get("status")),
                ],
                "SSTP clients refuse the TLS handshake once it has expired (error 0x800B0101, then 800 "
                "when SSTP is the only protocol left)",
                f"upload the renewed certificate and key, add ssl certKey, bind it to {vs['name']} and "
                "unbind the old one; the nodes' SSTP hash (SHA256CertificateHash) must follow; in the "
                "declaration: sstp.tlsOffload names the renewed certificate's secrets",
            )
