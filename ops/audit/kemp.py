"""The read-only audit of a Kemp (Progress) LoadMaster: its Always On VPN services and their pitfalls.

One ``listvs`` (every virtual service with its real servers, one GET of the classic API with HTTP Basic
authentication on the request itself: the API has no login, docs/kemp.md#authentication-and-enabling-the-api)
is all it asks; nothing is written. The transport, TLS verification and error handling are the provider's
(providers/kemp/client.py); ``listvs`` is one of its read commands, retried on connection failures.

Services are found by their ports: UDP 500 and 4500 on one virtual address are an IKEv2 service, TCP 443
on that address its SSTP fallback. A TCP 443 service on another address whose real servers are the IKEv2
nodes (or whose health check asks the SSTP URI) is an SSTP service on its own address, reported as such.

What each check relies on (docs/kemp.md, DESIGN.md "Why each setting exists"):

* ``lb.transparency-off``: ``Transparent`` N on a UDP service: the nodes see the LoadMaster's address, RRAS
  limits IKE SAs per source address and refuses new clients under load (809) unless every node has the
  SA-limit workaround (the RRAS audit's ``rras.sa-limit-missing``).
* ``lb.persistence-missing`` / ``lb.persistence-not-source`` / ``lb.persistence-mismatch`` and
  ``lb.port-following-missing``: IKE on 500 and NAT-T on 4500 of one client must reach one node: source-IP
  persistence (``Persist`` src) with the same timeout on both and port following (``FollowVSID`` = the other
  service's ``Index``) set on both; the LoadMaster stores it one way only (docs/kemp.md#port-following).
* ``lb.real-servers-differ`` / ``lb.real-server-port``: port following needs the same real servers on both
  services, and each must be the node on the service's own port.
* ``lb.health-check-udp`` / ``lb.health-check-none``: RRAS listens on UDP 500/4500 only, so a TCP or HTTP(S)
  check of the real server's port fails and marks every node down; UDP services are checked at layer 3
  (ICMP) (docs/kemp.md#what-the-audit-reads).
* ``lb.service-disabled``, ``lb.ikev2-port-missing``, ``lb.force-l4`` (port following on a Generic layer 4
  service needs firmware 7.2.51 or later, docs/kemp.md#port-following).
* ``sstp.persistence-missing`` / ``sstp.persistence-not-source``: a LoadMaster has no SSL-session
  persistence with a source-address fallback; source-IP persistence is what it can express
  (docs/kemp.md#what-the-audit-reads).
* ``sstp.other-address``: the SSTP fallback must be on the address the clients' VPN server name resolves to.
* ``sstp.health-check-shallow``, ``sstp.offload-plain-to-tls-port``.

Not checked here: certificate expiry. ``listcert`` names the installed certificates and their key type
only, no validity, so the offloaded certificate's expiry is left None in ``FoundService``
(docs/kemp.md#what-the-audit-reads). The node's own certificate is the RRAS audit's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from xml.etree.ElementTree import Element

from ops.audit.model import Evidence, Finding, FoundService, LoadBalancerAudit
from providers.common.device import Device
from providers.kemp.client import KempClient, fields
from providers.kemp.objects import nickname_owner

VENDOR = "kemp"
IKE, NATT = 500, 4500
SSTP_PORT = 443
#: The declaration's loadBalancingMethod for the LoadMaster's Schedule (components/kemp.py SCHEDULES).
METHODS = {"lc": "least-connections", "rr": "round-robin"}
#: Health checks a LoadMaster runs against a UDP real server without a TCP/HTTP listener on its port.
UDP_CHECKS_OK = frozenset({"icmp"})
SSTP_URI_PART = "sra_"

S809 = "error 809: the IKE negotiation never completes (the client times out) for the clients it affects"
S809_LOAD = (
    "error 809 under load: RRAS refuses new IKE SAs once too many come from one source address, so new "
    "clients fail while the connected ones keep working"
)
S809_SPLIT = (
    "error 809 or intermittent drops: a client's IKE (UDP 500) and NAT-T (UDP 4500) packets reach different "
    "nodes, so clients behind NAT cannot finish the negotiation or lose it when they roam"
)
S800 = "error 800: the VPN server is unreachable on that protocol"
S_DROPS = "intermittent drops: a reconnecting client lands on another node and must start over"


def audit_load_balancer(lb: Mapping[str, Any], password: str) -> LoadBalancerAudit:
    """Read the LoadMaster named by ``lb`` (a declaration-shaped ``loadBalancer`` block: url, user,
    caBundle, passwordSecret) with GETs only, and answer its Always On VPN services and findings."""
    device = Device(
        url=str(lb["url"]).rstrip("/"),
        user=str(lb["user"]),
        password_key=str(lb.get("passwordSecret") or "lmPassword"),
        ca_bundle=lb.get("caBundle") or None,
    )
    client = KempClient(device, password)
    try:
        data = client.command("listvs", {}, what="virtual services")
    finally:
        client.close()
    return audit_services(device.host, read_services(data))


def read_services(data: Element | None) -> list[dict[str, Any]]:
    """``listvs``'s top-level virtual services as field dicts, each with its real servers under ``Rs``."""
    if data is None:
        return []
    found = []
    for element in data.findall("VS"):
        vs: dict[str, Any] = fields(element)
        if vs.get("MasterVSID", "0") not in ("", "0"):
            continue  # a SubVS: its parent is the service
        vs["Rs"] = [fields(rs) for rs in element.findall("Rs")]
        found.append(vs)
    return found


# -- finding the services -----------------------------------------------------------------------------
def _key(vs: Mapping[str, Any]) -> tuple[str, int, str]:
    return str(vs.get("VSAddress")), int(vs.get("VSPort") or 0), str(vs.get("Protocol", "")).lower()


def _addresses(vs: Mapping[str, Any]) -> set[str]:
    return {str(rs.get("Addr")) for rs in vs.get("Rs", [])}


def _is_sstp(vs: Mapping[str, Any], nodes: set[str]) -> bool:
    return bool(_addresses(vs) & nodes) or SSTP_URI_PART in str(vs.get("CheckUrl", "")).lower()


def audit_services(host: str, services: list[dict[str, Any]]) -> LoadBalancerAudit:
    by_key = {_key(vs): vs for vs in services}
    addresses = sorted({a for a, p, prot in by_key if prot == "udp" and p in (IKE, NATT)})
    found: list[FoundService] = []
    findings: list[Finding] = []
    ike_nodes: set[str] = set()
    for address in addresses:
        vs500, vs4500 = by_key.get((address, IKE, "udp")), by_key.get((address, NATT, "udp"))
        sstp = by_key.get((address, SSTP_PORT, "tcp"))
        present = [vs for vs in (vs500, vs4500) if vs is not None]
        nodes = set().union(*(_addresses(vs) for vs in present))
        ike_nodes |= nodes
        service = _service(host, address, vs500, vs4500, sstp)
        found.append(service)
        if vs500 is not None and vs4500 is not None:
            findings += _ikev2_findings(host, vs500, vs4500)
        else:
            findings.append(_port_missing(host, present[0]))
        findings += _merged([f for vs in present for f in _udp_findings(host, vs)])
        if sstp is not None:
            findings += _sstp_findings(host, sstp)
    vips = set(addresses)
    for (address, port, prot), vs in sorted(by_key.items()):
        if prot != "tcp" or port != SSTP_PORT or address in vips or not _is_sstp(vs, ike_nodes):
            continue
        found.append(_service(host, address, None, None, vs))
        findings += _sstp_findings(host, vs)
        if ike_nodes and _addresses(vs) & ike_nodes:
            findings.append(_other_address(host, vs, addresses))
    return LoadBalancerAudit(found, findings)


def _service(
    host: str,
    address: str,
    vs500: dict[str, Any] | None,
    vs4500: dict[str, Any] | None,
    sstp: dict[str, Any] | None,
) -> FoundService:
    udp = [vs for vs in (vs500, vs4500) if vs is not None]
    every = [*udp, *([sstp] if sstp is not None else [])]
    protocols = (["ikev2"] if vs500 is not None and vs4500 is not None else []) + (
        ["sstp"] if sstp is not None else []
    )
    nodes = sorted(set().union(*(_addresses(vs) for vs in every)))
    # client address as the IKEv2 services (or, SSTP only, the SSTP service) treat it
    judged = udp or every
    preserved = all(vs.get("Transparent") == "Y" for vs in judged)
    objects: dict[str, str] = {}
    for role, vs in (("virtual:ikev2-500", vs500), ("virtual:ikev2-4500", vs4500), ("virtual:sstp", sstp)):
        name = _name(vs) if vs is not None else None
        if name:
            objects[role] = name
    first = judged[0]
    timeout = int(first.get("PersistTimeout") or 0) if first.get("Persist") == "src" else None
    return FoundService(
        vendor=VENDOR,
        device=host,
        virtual_address=address,
        protocols=protocols,
        node_addresses=nodes,
        client_address="preserved" if preserved else "translated",
        objects=objects,
        persistence_timeout=timeout or None,
        load_balancing_method=METHODS.get(str(first.get("Schedule", ""))),
        offload_reencrypt=(
            sstp.get("SSLReencrypt") == "Y"
            if sstp is not None and sstp.get("SSLAcceleration") == "Y"
            else None
        ),
    )


def _name(vs: Mapping[str, Any]) -> str | None:
    """The service's name as the WUI shows it (its NickName without this project's marker, if any)."""
    nickname = str(vs.get("NickName") or "")
    marker = nickname.rsplit(" ", 1)[-1] if " " in nickname else ""
    if marker.startswith("aovpn-iac:"):
        return nickname_owner(nickname)[0]
    return nickname or None


# -- evidence -------------------------------------------------------------------------------------------
def _obj(vs: Mapping[str, Any]) -> str:
    address, port, prot = _key(vs)
    name = vs.get("NickName")
    return f"virtual service {address}:{port}/{prot}" + (f" ({name})" if name else "")


def _ev(host: str, vs: Mapping[str, Any], prop: str, found: Any = ...) -> Evidence:
    value = vs.get(prop) if found is ... else found
    return Evidence(device=host, obj=_obj(vs), prop=prop, found=value)


def _finding(
    check: str, severity: str, title: str, evidence: list[Evidence], symptom: str, fix: str
) -> Finding:
    return Finding(
        check=check, severity=severity, title=title, evidence=tuple(evidence), symptom=symptom, fix=fix
    )


# -- IKEv2 --------------------------------------------------------------------------------------------
def _ikev2_findings(host: str, vs500: dict[str, Any], vs4500: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    pair = (vs500, vs4500)
    opaque = [vs for vs in pair if vs.get("Transparent") != "Y"]
    if opaque:
        out.append(
            _finding(
                "lb.transparency-off",
                "warning",
                "the IKEv2 services translate the client address (transparency off)",
                [_ev(host, vs, "Transparent") for vs in opaque],
                S809_LOAD + " (unless every node has the SA-limit workaround)",
                "Transparent Y on both UDP services (modvs Transparent=Y; the nodes must route back through "
                "the LoadMaster); declaration: clientAddress: preserved. Where that is impossible: "
                "IkeNumEstablishedForInitialQuery 50000 on every node (clientAddress: translated).",
            )
        )
    no_persist = [vs for vs in pair if not vs.get("Persist")]
    other = [vs for vs in pair if vs.get("Persist") and vs.get("Persist") != "src"]
    fix_persist = (
        "Persist src with one PersistTimeout on both UDP services (modvs Persist=src PersistTimeout=<s>); "
        "declaration: persistenceTimeout (60 to 604800 s)"
    )
    if no_persist:
        out.append(
            _finding(
                "lb.persistence-missing",
                "critical",
                "an IKEv2 service has no persistence",
                [_ev(host, vs, "Persist", None) for vs in no_persist],
                S809_SPLIT,
                fix_persist,
            )
        )
    if other:
        out.append(
            _finding(
                "lb.persistence-not-source",
                "critical",
                "an IKEv2 service persists on something other than the source address",
                [_ev(host, vs, "Persist") for vs in other],
                S809_SPLIT,
                fix_persist,
            )
        )
    if not no_persist and not other:
        settings = {(vs.get("Persist"), vs.get("PersistTimeout")) for vs in pair}
        if len(settings) > 1:
            out.append(
                _finding(
                    "lb.persistence-mismatch",
                    "warning",
                    "the two IKEv2 services have different persistence timeouts",
                    [_ev(host, vs, "PersistTimeout") for vs in pair],
                    S_DROPS + "; port following needs the same persistence on both services",
                    fix_persist,
                )
            )
    follows = [
        (vs, target)
        for vs, target in ((vs500, vs4500), (vs4500, vs500))
        if vs.get("FollowVSID") != target.get("Index")
    ]
    if follows:
        out.append(
            _finding(
                "lb.port-following-missing",
                "critical",
                "port following is not set both ways between the IKEv2 services",
                [
                    Evidence(
                        device=host,
                        obj=_obj(vs),
                        prop="FollowVSID",
                        found=vs.get("FollowVSID"),
                    )
                    for vs, _ in follows
                ],
                S809_SPLIT,
                "FollowVSID of each UDP service = the Index of the other (modvs FollowVSID=<Index>, "
                "WUI: Port Following), after both have the same real servers and persistence; the "
                "declaration's ikev2 protocol sets it on both.",
            )
        )
    rs500, rs4500 = _addresses(vs500), _addresses(vs4500)
    if rs500 != rs4500:
        out.append(
            _finding(
                "lb.real-servers-differ",
                "critical",
                "the UDP 500 and 4500 services have different real servers",
                [
                    _ev(host, vs500, "Rs.Addr", sorted(rs500)),
                    _ev(host, vs4500, "Rs.Addr", sorted(rs4500)),
                ],
                S809_SPLIT,
                "the same nodes as real servers of both services (addrs / delrs); declaration: nodes "
                "(every node gets a real server on 500 and 4500).",
            )
        )
    return out


def _port_missing(host: str, vs: dict[str, Any]) -> Finding:
    _, port, _ = _key(vs)
    missing = NATT if port == IKE else IKE
    return _finding(
        "lb.ikev2-port-missing",
        "critical",
        f"UDP {port} is load balanced but UDP {missing} is not on the same address",
        [_ev(host, vs, "VSPort")],
        S809 if missing == NATT else S800,
        f"a UDP {missing} virtual service on {vs.get('VSAddress')} with the same real servers, persistence "
        "and port following; the declaration's ikev2 protocol builds both.",
    )


def _merged(findings: list[Finding]) -> list[Finding]:
    """One finding per check for the two UDP services, with the evidence of both."""
    by_check: dict[str, Finding] = {}
    for finding in findings:
        seen = by_check.get(finding.check)
        if seen is None:
            by_check[finding.check] = finding
        else:
            by_check[finding.check] = replace(seen, evidence=seen.evidence + finding.evidence)
    return list(by_check.values())


def _udp_findings(host: str, vs: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    _, port, _ = _key(vs)
    if vs.get("Enable") == "N":
        out.append(
            _finding(
                "lb.service-disabled",
                "critical",
                "an IKEv2 service is disabled",
                [_ev(host, vs, "Enable")],
                S809,
                "Enable Y (modvs Enable=Y); the project keeps every service enabled.",
            )
        )
    wrong_ports = [rs for rs in vs.get("Rs", []) if str(rs.get("Port")) != str(port)]
    if wrong_ports:
        out.append(
            _finding(
                "lb.real-server-port",
                "critical",
                "real servers of an IKEv2 service forward to another port than the service's",
                [
                    Evidence(
                        device=host,
                        obj=f"real server {rs.get('Addr')} of {_obj(vs)}",
                        prop="Port",
                        found=rs.get("Port"),
                    )
                    for rs in wrong_ports
                ],
                S809,
                "each node on the service's own port, 500 or 4500 (modrs newport=<port>); "
                "declaration: nodes.",
            )
        )
    check = str(vs.get("CheckType", "")).lower()
    check_port = int(vs.get("CheckPort") or 0)
    if check == "none":
        out.append(
            _finding(
                "lb.health-check-none",
                "warning",
                "an IKEv2 service checks no real server",
                [_ev(host, vs, "CheckType")],
                "error 809 for the clients sent to a node that is down: the LoadMaster keeps using it",
                "CheckType icmp (modvs CheckType=icmp, WUI: ICMP Ping); the project sets it.",
            )
        )
    elif check not in UDP_CHECKS_OK and check_port in (0, IKE, NATT):
        out.append(
            _finding(
                "lb.health-check-udp",
                "critical",
                "an IKEv2 service's health check cannot succeed against RRAS",
                [_ev(host, vs, "CheckType"), _ev(host, vs, "CheckPort")],
                S809 + ": every node is marked down, so the service answers no one",
                "CheckType icmp (modvs CheckType=icmp, WUI: ICMP Ping): RRAS listens on UDP 500/4500 "
                "only, a TCP or HTTP check of those ports always fails; the project sets it.",
            )
        )
    if vs.get("ForceL7") == "N" and vs.get("VStype", "gen") == "gen":
        out.append(
            _finding(
                "lb.force-l4",
                "info",
                "an IKEv2 service runs at layer 4 (Force L4)",
                [_ev(host, vs, "ForceL7")],
                S809_SPLIT + " on firmware before 7.2.51, which cannot follow ports on Generic layer 4 "
                "services",
                "ForceL7 Y (modvs ForceL7=Y), as the project sets it; needed on firmware before 7.2.51.",
            )
        )
    return out


# -- SSTP -----------------------------------------------------------------------------------------------
def _sstp_findings(host: str, vs: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    persist = vs.get("Persist")
    fix = (
        "Persist src with a PersistTimeout (modvs Persist=src PersistTimeout=<s>): a LoadMaster cannot "
        "combine SSL-session persistence with a source-address fallback; declaration: persistenceTimeout"
    )
    if vs.get("Enable") == "N":
        out.append(
            _finding(
                "lb.service-disabled",
                "critical",
                "the SSTP service is disabled",
                [_ev(host, vs, "Enable")],
                S800,
                "Enable Y (modvs Enable=Y); the project keeps every service enabled.",
            )
        )
    if not persist:
        out.append(
            _finding(
                "sstp.persistence-missing",
                "warning",
                "the SSTP service has no persistence",
                [_ev(host, vs, "Persist", None)],
                S_DROPS,
                fix,
            )
        )
    elif persist != "src":
        out.append(
            _finding(
                "sstp.persistence-not-source",
                "warning",
                "the SSTP service persists on something other than the source address",
                [_ev(host, vs, "Persist")],
                S_DROPS + " (SSL session ids change on every new TLS session and are not used by TLS 1.3)",
                fix,
            )
        )
    check = str(vs.get("CheckType", "")).lower()
    if check not in ("http", "https"):
        out.append(
            _finding(
                "sstp.health-check-shallow",
                "info",
                "the SSTP service's health check does not ask the SSTP listener",
                [_ev(host, vs, "CheckType")],
                S800 + " for clients sent to a node whose SSTP service is stopped while the port still opens",
                "CheckType https (http with TLS offload), CheckUrl the SSTP URI, CheckCodes 401, "
                "CheckUseGet 0 (HEAD); the project sets it.",
            )
        )
    if vs.get("SSLAcceleration") == "Y" and vs.get("SSLReencrypt") != "Y":
        on_tls = [rs for rs in vs.get("Rs", []) if str(rs.get("Port")) == "443"]
        if on_tls:
            out.append(
                _finding(
                    "sstp.offload-plain-to-tls-port",
                    "critical",
                    "TLS is offloaded but the nodes are sent plain HTTP on their TLS port",
                    [_ev(host, vs, "SSLReencrypt")]
                    + [
                        Evidence(
                            device=host,
                            obj=f"real server {rs.get('Addr')} of {_obj(vs)}",
                            prop="Port",
                            found=rs.get("Port"),
                        )
                        for rs in on_tls
                    ],
                    S800,
                    "real servers on port 80 with SstpSvc UseHttps 0 and the certificate's hash on the "
                    "nodes (sstp.tlsOffload), or SSLReencrypt Y (sstp.tlsOffload.reencrypt).",
                )
            )
    return out


def _other_address(host: str, vs: dict[str, Any], vips: list[str]) -> Finding:
    return _finding(
        "sstp.other-address",
        "warning",
        "the SSTP service is on another address than the IKEv2 services",
        [_ev(host, vs, "VSAddress")],
        S800 + " when a client falls back to SSTP: the VPN server name resolves to the IKEv2 address "
        f"({', '.join(vips)})",
        "the TCP 443 service on the IKEv2 address (modvs VSAddress=<VIP>, or a new service there); "
        "declaration: one virtualAddress for both protocols.",
    )
