"""The read-only audit of an F5 BIG-IP: the Always On VPN services on it, found by their ports, and the
pitfalls in them (ops/audit/model.py).

What it sends: ``GET`` only, through the provider's iControl REST client (providers/f5/client.py: TLS
verified against the declared CA, errors with the device's code and message, the password never shown).
The client's token login (``POST /mgmt/shared/authn/login``) and its logout (``DELETE`` of the token under
``/mgmt/shared/authz/tokens``) change no configuration; the twin counts neither as a write
(emulators/f5/app.py), and neither does a real BIG-IP's configuration (docs/f5.md#tokens). One read per
collection, each with its subcollections inlined (``expandSubcollections=true``,
docs/f5.md#query-options): virtual servers (with profiles), pools (with members), nodes, persistence
profiles, monitors, client-ssl profiles and certificates: at most 11 GETs whatever the size of the box.

A service is a virtual address with UDP 500 and UDP 4500 virtual servers (IKEv2), and TCP 443 on it (SSTP).
A TCP 443 virtual server on another address is an SSTP service of its own when its pool reaches the same
RRAS nodes as an IKEv2 service (and is then reported as ``lb.sstp-other-vip``) or its monitor probes the
SSTP URI; any other 443 is someone else's web site and is left alone.

``FoundService.objects`` names the objects by the roles the project gives them, the keys of
``loadBalancer.adopt`` (components/f5.py, ``adopt_roles``), as full paths (``/Common/AOVPN_IKE``); a node's
role is ``node:<address>`` (the declaration may name the node as it likes). A role is left out
when its object is one of BIG-IP's built-ins (``/Common/source_addr``: never taken over) or already holds
another role the project needs a second object for (one pool behind both UDP ports: the project makes the
second one).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.audit.model import Evidence, Finding, FoundService, LoadBalancerAudit
from providers.common.device import Device
from providers.f5.client import F5Client

IKE, NATT, SSTP = 500, 4500, 443
#: BIG-IP's built-in objects (docs/f5.md#built-in-parents): read, never adopted.
BUILT_INS = frozenset(
    {
        "/Common/source_addr",
        "/Common/ssl",
        "/Common/gateway_icmp",
        "/Common/http",
        "/Common/https",
        "/Common/udp",
        "/Common/tcp",
        "/Common/clientssl",
        "/Common/serverssl",
    }
)
#: Monitor types that open a TCP connection (or speak a TCP protocol) to the member's port: on a UDP 500 /
#: 4500 pool they find nothing listening and mark every member down.
TCP_MONITORS = ("http", "https", "tcp", "tcp-half-open", "tcp-echo")
#: A client-ssl certificate closer to its end than this is reported (``cert.expiring``).
EXPIRY_WARNING = timedelta(days=30)
SSTP_URI_MARK = "sra_{ba195980-cd49-458b-9e23-c84ee0adcd75}"
LB_METHODS = {"least-connections-member": "least-connections", "round-robin": "round-robin"}

COLLECTIONS = {
    "virtual": "ltm/virtual",
    "pool": "ltm/pool",
    "node": "ltm/node",
    "source-addr": "ltm/persistence/source-addr",
    "ssl-persist": "ltm/persistence/ssl",
    "gateway-icmp": "ltm/monitor/gateway-icmp",
    "http": "ltm/monitor/http",
    "https": "ltm/monitor/https",
    "udp": "ltm/monitor/udp",
    "client-ssl": "ltm/profile/client-ssl",
    "cert": "sys/crypto/cert",
}

SYMPTOM_809 = (
    "error 809 on the clients: IKE never completes (IKE_SA_INIT on UDP 500 and IKE_AUTH on UDP 4500 reach "
    "different RRAS nodes, or none), the connection times out"
)
SYMPTOM_SA_LIMIT = (
    "connections refused under load (error 809 for the clients that come after the limit): every client "
    "reaches RRAS from the BIG-IP's self IP, and RRAS limits the IKE SAs it accepts per source address"
)


# -- reading the device ------------------------------------------------------------------------------------
@dataclass
class _Box:
    """What the device answered, one list per collection, indexed by full path."""

    host: str
    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def get(self, kind: str, path: str | None) -> dict[str, Any] | None:
        return self.items.get(kind, {}).get(path) if path else None

    def monitor(self, path: str) -> tuple[str, dict[str, Any]] | None:
        for kind in ("gateway-icmp", "http", "https", "udp"):
            found = self.get(kind, path)
            if found is not None:
                return kind, found
        return None


def _read(client: F5Client) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, collection in COLLECTIONS.items():
        query = "?expandSubcollections=true" if kind in ("virtual", "pool") else ""
        answer = client.get(f"/mgmt/tm/{collection}{query}", what=f"{collection} collection") or {}
        out[kind] = {_full(i): i for i in answer.get("items", []) if isinstance(i, dict)}
    return out


def _full(item: Mapping[str, Any]) -> str:
    if item.get("fullPath"):
        return str(item["fullPath"])
    return f"/{item.get('partition', 'Common')}/{item.get('name')}"


def _qualify(name: Any, partition: str = "Common") -> str:
    text = str(name or "").strip()
    return text if text.startswith("/") else f"/{partition}/{text}"


_DESTINATION = re.compile(r"^(?P<address>.+?)(?:%\d+)?(?P<sep>[:.])(?P<port>\d+|any)$")


def _destination(vs: Mapping[str, Any]) -> tuple[str, int]:
    """``/Common/10.0.0.1%2:500`` -> (``10.0.0.1``, 500); IPv6 has ``.`` before the port."""
    tail = str(vs.get("destination", "")).rsplit("/", 1)[-1]
    if tail.count(":") > 1:
        address, _, port = tail.rpartition(".")
        address = address.split("%", 1)[0]
    else:
        match = _DESTINATION.match(tail)
        address, port = (match["address"], match["port"]) if match else (tail, "")
    return address, int(port) if port.isdigit() else 0


def _subitems(obj: Mapping[str, Any], reference: str) -> list[dict[str, Any]]:
    ref = obj.get(reference) or {}
    return [i for i in ref.get("items", []) if isinstance(i, dict)] if isinstance(ref, dict) else []


def _persist(vs: Mapping[str, Any]) -> str | None:
    entries = [p for p in vs.get("persist") or [] if isinstance(p, dict)]
    default = next((p for p in entries if p.get("tmDefault") == "yes"), entries[0] if entries else None)
    if default is None:
        return None
    return _qualify(default.get("name"), str(default.get("partition", "Common")))


def _member_port(name: str) -> int:
    sep = "." if name.count(":") > 1 else ":"
    port = name.rpartition(sep)[2]
    return int(port) if port.isdigit() else 0


def _monitor_paths(expression: Any) -> list[str]:
    return re.findall(r"/[^\s{}]+", str(expression or ""))


# -- the services ---------------------------------------------------------------------------------------
@dataclass
class _Service:
    address: str
    ike: dict[str, Any] | None = None
    natt: dict[str, Any] | None = None
    sstp: dict[str, Any] | None = None
    sstp_elsewhere: bool = False


def _services(box: _Box) -> list[_Service]:
    by_address: dict[str, dict[tuple[str, int], dict[str, Any]]] = {}
    for vs in box.items["virtual"].values():
        address, port = _destination(vs)
        by_address.setdefault(address, {})[(str(vs.get("ipProtocol", "tcp")), port)] = vs
    found: list[_Service] = []
    for address, virtuals in sorted(by_address.items()):
        ike, natt = virtuals.get(("udp", IKE)), virtuals.get(("udp", NATT))
        if ike is not None and natt is not None:
            found.append(_Service(address, ike, natt, virtuals.get(("tcp", SSTP))))
    ike_nodes = {a for s in found for a in _pool_addresses(box, s.ike) | _pool_addresses(box, s.natt)}
    for address, virtuals in sorted(by_address.items()):
        tcp = virtuals.get(("tcp", SSTP))
        if tcp is None or any(s.address == address for s in found):
            continue
        elsewhere = bool(ike_nodes & _pool_addresses(box, tcp))
        if elsewhere or _probes_sstp(box, tcp):
            found.append(_Service(address, sstp=tcp, sstp_elsewhere=elsewhere))
    return found


def _pool(box: _Box, vs: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return box.get("pool", _qualify(vs.get("pool"))) if vs and vs.get("pool") else None


def _members(pool: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return _subitems(pool, "membersReference") if pool else []


def _pool_addresses(box: _Box, vs: Mapping[str, Any] | None) -> set[str]:
    return {str(m.get("address", "")).split("%", 1)[0] for m in _members(_pool(box, vs))}


def _probes_sstp(box: _Box, vs: Mapping[str, Any]) -> bool:
    pool = _pool(box, vs)
    for path in _monitor_paths(pool.get("monitor") if pool else None):
        found = box.monitor(path)
        if found and SSTP_URI_MARK in str(found[1].get("send", "")).lower():
            return True
    return False


# -- the audit ------------------------------------------------------------------------------------------
def audit_load_balancer(
    lb: Mapping[str, Any], password: str, *, now: datetime | None = None
) -> LoadBalancerAudit:
    """Read the BIG-IP ``lb`` names (a declaration's ``loadBalancer`` block: ``url``, ``user``,
    ``caBundle``) with GETs only and report its Always On VPN services and their pitfalls."""
    device = Device(
        url=str(lb["url"]).rstrip("/"),
        user=str(lb["user"]),
        password_key=str(lb.get("passwordSecret", "f5Password")),
        ca_bundle=lb.get("caBundle") or None,
    )
    client = F5Client(device, password)
    try:
        box = _Box(device.host, _read(client))
    finally:
        client.close()
    services: list[FoundService] = []
    findings: list[Finding] = []
    for service in _services(box):
        found, problems = _audit_service(box, service, now or datetime.now(UTC))
        services.append(found)
        findings.extend(problems)
    return LoadBalancerAudit(services=services, findings=findings)


def _audit_service(box: _Box, svc: _Service, now: datetime) -> tuple[FoundService, list[Finding]]:
    checks = _Checks(box)
    objects: dict[str, str] = {}
    udp = [vs for vs in (svc.ike, svc.natt) if vs is not None]
    pools = [_pool(box, vs) for vs in udp]
    addresses: set[str] = set()
    for vs in (*udp, svc.sstp):
        addresses |= _pool_addresses(box, vs)
    node_addresses = sorted(addresses, key=_address_order)
    nodes_by_address = {
        str(n.get("address", "")).split("%", 1)[0]: _full(n) for n in box.items["node"].values()
    }
    used: set[str] = set()

    def role(key: str, path: str | None) -> None:
        if path and path not in BUILT_INS and path not in used:
            objects[key] = path
            used.add(path)

    for address in node_addresses:
        role(f"node:{address}", nodes_by_address.get(address))
    timeout: int | None = None
    if udp:
        for port, vs, pool in zip((IKE, NATT), udp, pools, strict=True):
            role(f"virtual:ikev2-{port}", _full(vs))
            role(f"pool:ikev2-{port}", _full(pool) if pool else None)
        role("persistence:ikev2", _persist(udp[0]))
        checks.ikev2(udp, pools)
        persist = box.get("source-addr", _persist(udp[0]))
        timeout = _seconds(persist.get("timeout")) if persist else None
    cert: dict[str, Any] | None = None
    clientssl: dict[str, Any] | None = None
    if svc.sstp is not None:
        vs = svc.sstp
        pool = _pool(box, vs)
        role("virtual:sstp", _full(vs))
        role("pool:sstp", _full(pool) if pool else None)
        for path in _monitor_paths(pool.get("monitor") if pool else None):
            if (box.monitor(path) or ("", {}))[0] in ("http", "https"):
                role("monitor:sstp", path)
        role("persistence:sstp-ssl", _persist(vs) if box.get("ssl-persist", _persist(vs)) else None)
        fallback = _qualify(vs.get("fallbackPersistence")) if vs.get("fallbackPersistence") else None
        role("persistence:sstp-srcaddr", fallback)
        clientssl = _client_ssl(box, vs)
        if clientssl is not None:
            role("profile:sstp-clientssl", _full(clientssl))
            cert = _certificate(box, clientssl)
        checks.sstp(vs, svc, clientssl, cert, now)
        if timeout is None and box.get("ssl-persist", _persist(vs)):
            timeout = _seconds((box.get("ssl-persist", _persist(vs)) or {}).get("timeout"))
    front = udp or ([svc.sstp] if svc.sstp is not None else [])
    translated = any(_snat(vs) != "none" for vs in front)
    methods = {str(p.get("loadBalancingMode", "round-robin")) for p in (*pools, _pool(box, svc.sstp)) if p}
    fingerprint = str(cert.get("fingerprint", "")) if cert else ""
    expires = _expiry(cert) if cert else None
    found = FoundService(
        vendor="f5",
        device=box.host,
        virtual_address=svc.address,
        protocols=(["ikev2"] if udp else []) + (["sstp"] if svc.sstp is not None else []),
        node_addresses=node_addresses,
        client_address="translated" if translated else "preserved",
        objects=objects,
        persistence_timeout=timeout,
        load_balancing_method=LB_METHODS.get(methods.pop()) if len(methods) == 1 else None,
        offload_certificate_sha256=(
            fingerprint.split("/", 1)[-1].replace(":", "").upper()
            if fingerprint.upper().startswith("SHA256/")
            else None
        ),
        offload_certificate_expires=expires.isoformat() if expires else None,
        offload_reencrypt=None if clientssl is None or svc.sstp is None else _server_ssl(svc.sstp, box),
    )
    return found, checks.findings


def _address_order(address: str) -> tuple[int, int, str]:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address)
    return (parsed.version, int(parsed), address)


def _seconds(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


def _snat(vs: Mapping[str, Any]) -> str:
    return str((vs.get("sourceAddressTranslation") or {}).get("type", "none"))


def _client_ssl(box: _Box, vs: Mapping[str, Any]) -> dict[str, Any] | None:
    for profile in _subitems(vs, "profilesReference"):
        path = _qualify(profile.get("name"), str(profile.get("partition", "Common")))
        found = box.get("client-ssl", path)
        if found is not None:
            return found
    return None


def _server_ssl(vs: Mapping[str, Any], box: _Box) -> bool:
    names = {
        _qualify(p.get("name"), str(p.get("partition", "Common"))) for p in _subitems(vs, "profilesReference")
    }
    return any(n not in box.items["client-ssl"] and "serverssl" in n.lower() for n in names) or any(
        p.get("context") == "serverside" for p in _subitems(vs, "profilesReference")
    )


def _certificate(box: _Box, clientssl: Mapping[str, Any]) -> dict[str, Any] | None:
    chain = [c for c in clientssl.get("certKeyChain") or [] if isinstance(c, dict)]
    path = chain[0].get("cert") if chain else clientssl.get("cert")
    return box.get("cert", _qualify(path)) if path else None


def _expiry(cert: Mapping[str, Any]) -> datetime | None:
    stamp = cert.get("expirationDate")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, UTC)
    text = " ".join(str(cert.get("expirationString") or "").split())
    try:
        return datetime.strptime(text, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC)
    except ValueError:
        return None


class _Checks:
    """The pitfalls of one service, each a Finding with the device's evidence."""

    def __init__(self, box: _Box) -> None:
        self.box = box
        self.findings: list[Finding] = []

    def add(
        self,
        check: str,
        severity: str,
        title: str,
        evidence: Iterable[tuple[str, str, Any]],
        symptom: str,
        fix: str,
    ) -> None:
        self.findings.append(
            Finding(
                check=check,
                severity=severity,
                title=title,
                evidence=tuple(Evidence(self.box.host, o, p, v) for o, p, v in evidence),
                symptom=symptom,
                fix=fix,
            )
        )

    # -- IKEv2 -------------------------------------------------------------------------------------------
    def ikev2(self, udp: list[dict[str, Any]], pools: list[dict[str, Any] | None]) -> None:
        self._snat(udp)
        self._persistence(udp)
        self._pools(udp, pools)
        self._monitors(pools)
        for vs in udp:
            if vs.get("disabled") is True:
                self.add(
                    "lb.virtual-disabled",
                    "critical",
                    f"virtual server {_full(vs)} is disabled",
                    [(_full(vs), "disabled", True)],
                    SYMPTOM_809,
                    "enable it (tmsh: modify ltm virtual <name> enabled); the project declares it enabled",
                )

    def _snat(self, udp: list[dict[str, Any]]) -> None:
        translated = [vs for vs in udp if _snat(vs) != "none"]
        if translated:
            self.add(
                "lb.snat-automap",
                "warning",
                "the IKEv2 virtual servers translate the client address (Source Address Translation "
                f"{_snat(translated[0])})",
                [(_full(vs), "sourceAddressTranslation.type", _snat(vs)) for vs in translated],
                SYMPTOM_SA_LIMIT + ", unless every node has IkeNumEstablishedForInitialQuery raised",
                "set Source Address Translation to None on both UDP virtual servers "
                '(sourceAddressTranslation: {"type": "none"}) and route the nodes\' return traffic through '
                "the BIG-IP; declaration: clientAddress: preserved. Where translation must stay: "
                "clientAddress: translated, which sets IKEEXT\\Parameters IkeNumEstablishedForInitialQuery "
                "to 50000 on every node",
            )

    def _persistence(self, udp: list[dict[str, Any]]) -> None:
        fix = (
            "one source-address persistence profile (defaultsFrom /Common/source_addr) with Match Across "
            'Services enabled (matchAcrossServices: "enabled") as the default persistence of both UDP '
            "virtual servers; the project builds it from the declaration (persistenceTimeout), adopted as "
            "loadBalancer.adopt persistence:ikev2"
        )
        paths = [_persist(vs) for vs in udp]
        missing = [vs for vs, p in zip(udp, paths, strict=True) if p is None]
        if missing:
            self.add(
                "lb.persistence-missing",
                "critical",
                "an IKEv2 virtual server has no persistence",
                [(_full(vs), "persist", vs.get("persist")) for vs in missing],
                SYMPTOM_809 + "; intermittent drops when a rekey lands on another node",
                fix,
            )
            return
        profiles = [self.box.get("source-addr", p) for p in paths]
        wrong = [(vs, p) for vs, p, prof in zip(udp, paths, profiles, strict=True) if prof is None]
        if wrong:
            self.add(
                "lb.persistence-not-source-address",
                "critical",
                "an IKEv2 virtual server persists on something else than the source address",
                [(_full(vs), "persist", p) for vs, p in wrong],
                SYMPTOM_809,
                fix,
            )
            return
        unmatched = [
            (p, prof)
            for p, prof in zip(paths, profiles, strict=True)
            if prof and prof.get("matchAcrossServices") != "enabled"
        ]
        if unmatched:
            self.add(
                "lb.persistence-not-matched",
                "critical",
                "source-address persistence is not matched across services: UDP 500 and 4500 of one "
                "client may reach different nodes",
                [
                    (str(p), "matchAcrossServices", prof.get("matchAcrossServices"))
                    for p, prof in dict(unmatched).items()
                ],
                SYMPTOM_809,
                fix,
            )
        elif len(set(paths)) > 1:
            self.add(
                "lb.persistence-not-matched",
                "critical",
                "UDP 500 and 4500 use different persistence profiles: their records are not shared, so "
                "matching across services cannot send NAT-T to the node that holds the IKE SA",
                [(_full(vs), "persist", p) for vs, p in zip(udp, paths, strict=True)],
                SYMPTOM_809,
                fix,
            )

    def _pools(self, udp: list[dict[str, Any]], pools: list[dict[str, Any] | None]) -> None:
        if len(udp) != 2:
            return
        for vs, pool in zip(udp, pools, strict=True):
            if pool is None:
                self.add(
                    "lb.pool-missing",
                    "critical",
                    f"IKEv2 virtual server {_full(vs)} has no pool",
                    [(_full(vs), "pool", vs.get("pool"))],
                    SYMPTOM_809,
                    "a pool of every RRAS node on the virtual's port; the project builds it "
                    "(pool:ikev2-<port>)",
                )
        if None in pools:
            return
        addresses = [
            sorted(str(m.get("address", "")).split("%", 1)[0] for m in _members(pool)) for pool in pools
        ]
        if addresses[0] != addresses[1]:
            self.add(
                "lb.pools-differ",
                "critical",
                "the UDP 500 and UDP 4500 pools do not have the same nodes",
                [(_full(pool or {}), "members", a) for pool, a in zip(pools, addresses, strict=True)],
                SYMPTOM_809 + " for the clients whose persisted node is missing from the 4500 pool",
                "the same RRAS nodes as members of both pools (on ports 500 and 4500); declaration: the "
                "nodes list, which the project puts in both pools",
            )
        for port, pool in zip((IKE, NATT), pools, strict=True):
            wrong = [
                str(m.get("name"))
                for m in _members(pool)
                if _member_port(str(m.get("name"))) not in (port, 0)
            ]
            if wrong:
                self.add(
                    "lb.member-port",
                    "critical",
                    f"members of the UDP {port} pool listen on another port",
                    [(_full(pool or {}), "members", wrong)],
                    SYMPTOM_809,
                    f"members <node>:{port}; the project builds them from the nodes list",
                )

    def _monitors(self, pools: list[dict[str, Any] | None]) -> None:
        """One finding per kind of monitor problem, naming every UDP pool that has it."""
        missing: list[tuple[str, str, Any]] = []
        tcp: list[tuple[str, str, Any]] = []
        udp: list[tuple[str, str, Any]] = []
        for pool in pools:
            if pool is None:
                continue
            expression = str(pool.get("monitor") or "").strip()
            paths = _monitor_paths(expression)
            kinds = [(p, *(self.box.monitor(p) or ("unknown", {}))) for p in paths]
            if not paths:
                missing.append((_full(pool), "monitor", pool.get("monitor")))
            elif any(k in TCP_MONITORS for _, k, _m in kinds):
                tcp.append((_full(pool), "monitor", pool.get("monitor")))
            elif any(k == "udp" for _, k, _m in kinds) and not any(k == "gateway-icmp" for _, k, _m in kinds):
                udp.append((_full(pool), "monitor", pool.get("monitor")))
                udp += [(p, "recv", m.get("recv")) for p, k, m in kinds if k == "udp"]
        fix = (
            'monitor /Common/gateway_icmp on the UDP pools (pool monitor: "/Common/gateway_icmp"), the '
            "project's choice: a BIG-IP cannot check IKE itself; the project sets it on the pools it adopts"
        )
        if missing:
            self.add(
                "lb.monitor-missing",
                "warning",
                "an IKEv2 pool has no health monitor",
                missing,
                "a failed RRAS node keeps receiving new clients: error 809 for them until it is back",
                fix,
            )
        if tcp:
            self.add(
                "lb.monitor-cannot-work",
                "critical",
                "an IKEv2 pool is monitored over TCP, which RRAS does not answer on the IKE ports",
                tcp,
                "every member is marked down and the virtual server drops the traffic: error 809 on all "
                "clients",
                fix,
            )
        if udp:
            self.add(
                "lb.monitor-udp",
                "warning",
                "an IKEv2 pool is checked by a UDP monitor, which cannot tell a working IKE service",
                udp,
                "without a receive string a member is marked up unless an ICMP port unreachable comes back; "
                "with one it is marked down, since RRAS answers no arbitrary datagram (docs/f5.md#"
                "monitors-for-the-ike-pools): failed nodes keep receiving clients, or every node is down "
                "(809)",
                fix,
            )

    # -- SSTP --------------------------------------------------------------------------------------------
    def sstp(
        self,
        vs: dict[str, Any],
        svc: _Service,
        clientssl: dict[str, Any] | None,
        cert: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        persist = _persist(vs)
        if persist is None or self.box.get("ssl-persist", persist) is None:
            self.add(
                "sstp.persistence-missing",
                "warning",
                "the SSTP virtual server does not persist on the SSL session",
                [(_full(vs), "persist", persist)],
                "intermittent drops: a client whose TLS session is resumed lands on another RRAS node",
                "SSL persistence (defaultsFrom /Common/ssl) as default persistence with source-address "
                "persistence as fallback; the project builds both (persistence:sstp-ssl, "
                "persistence:sstp-srcaddr)",
            )
        fallback = _qualify(vs.get("fallbackPersistence")) if vs.get("fallbackPersistence") else None
        if fallback is None or self.box.get("source-addr", fallback) is None:
            self.add(
                "sstp.fallback-missing",
                "warning",
                "the SSTP virtual server has no source-address fallback persistence",
                [(_full(vs), "fallbackPersistence", vs.get("fallbackPersistence"))],
                "intermittent drops: clients without a resumable SSL session id are spread over the nodes",
                "fallbackPersistence: a source-address persistence profile; the project builds it "
                "(persistence:sstp-srcaddr)",
            )
        if svc.sstp_elsewhere:
            self.add(
                "lb.sstp-other-vip",
                "warning",
                f"SSTP (TCP 443) is on {svc.address}, not on the IKEv2 virtual address",
                [(_full(vs), "destination", vs.get("destination"))],
                "the client's fallback to SSTP goes to the same server name as IKEv2, where nothing answers "
                "on 443: the fallback fails (error 809/800)",
                "one virtual address for UDP 500, 4500 and TCP 443; declaration: one cluster with "
                "protocols [ikev2, sstp] on the IKEv2 virtualAddress",
            )
        if clientssl is not None:
            pool = _pool(self.box, vs)
            on_443 = [str(m.get("name")) for m in _members(pool) if _member_port(str(m.get("name"))) == SSTP]
            if on_443 and not _server_ssl(vs, self.box):
                self.add(
                    "sstp.offload-port",
                    "critical",
                    "TLS is offloaded but the BIG-IP sends clear HTTP to the nodes' port 443",
                    [(_full(pool or {}), "members", on_443), (_full(vs), "profiles", "no server-ssl")],
                    "SSTP fails (error 0x80072746 / 809 on the clients): RRAS expects TLS on 443",
                    "members on port 80 with SstpSvc UseHttps 0 and the certificate hash on the nodes, or a "
                    "server-ssl profile to re-encrypt; declaration: sstp.tlsOffload (reencrypt)",
                )
        if cert is not None:
            expires = _expiry(cert)
            if expires is not None and expires - now < EXPIRY_WARNING:
                expired = expires <= now
                self.add(
                    "cert.expiring",
                    "critical" if expired else "warning",
                    f"the SSTP offload certificate {'expired' if expired else 'expires'} on "
                    f"{expires:%Y-%m-%d}",
                    [
                        (
                            _full(cert),
                            "expirationString",
                            cert.get("expirationString") or cert.get("expirationDate"),
                        )
                    ],
                    "SSTP clients refuse the TLS handshake once it has expired (certificate expired, "
                    "0x800B0101): the SSTP fallback stops working",
                    "install the renewed certificate in the client-ssl profile; declaration: the new PEM in "
                    "the secret sstp.tlsOffload.certificateSecret names, and the nodes get its hash",
                )
