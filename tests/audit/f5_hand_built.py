"""Always On VPN clusters built on the BIG-IP twin by hand, the way the articles' GUI steps build them, under
names this project would never choose (mixed case, the GUI's nodes named by their address), through the
twin's own REST API: ``by_sdk`` with f5-sdk (an independent client), ``by_rest`` with plain iControl REST
and, for each ``PITFALLS`` entry, one thing done the wrong way.

The GUI's steps: add the pool with members typed as ``address:port`` (which creates nodes named by the
address), a source-address persistence profile, the UDP virtual servers with the udp profile, Source
Address Translation None and the persistence profile; for SSTP an HTTPS monitor of the SSTP URI, a pool
on 443, SSL persistence with source-address fallback, a TCP virtual server on 443.
"""

from __future__ import annotations

import datetime
from typing import Any

import requests
import trustme

VIP = "192.0.2.50"
OTHER_VIP = "192.0.2.51"
NODES = ("198.51.100.21", "198.51.100.22")
USER, PASSWORD = "automation", "automation-pass"
SSTP_SEND = (
    "HEAD /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\\r\\nHost: vpn.example.test\\r\\n"
    "Connection: Close\\r\\n\\r\\n"
)
#: The hand-built names, by the project's roles (components/f5.py ADOPT_ROLES); nodes by their address.
NAMES = {
    "virtual:ikev2-500": "AOVPN_IKE_VS",
    "virtual:ikev2-4500": "VPN-NATT",
    "pool:ikev2-500": "AOVPN_IKE",
    "pool:ikev2-4500": "vpn-natt-pool",
    "persistence:ikev2": "AOVPN_Persist",
    "virtual:sstp": "AOVPN_SSTP",
    "pool:sstp": "Sstp_Pool",
    "monitor:sstp": "SSTP-Probe",
    "persistence:sstp-ssl": "SSTP_SSL",
    "persistence:sstp-srcaddr": "SSTP_SRC",
    "profile:sstp-clientssl": "SSTP-Offload",
}
#: Each pitfall the audit must find (by check id), planted on its own.
PITFALLS: dict[str, str] = {
    "snat-automap": "lb.snat-automap",
    "no-persistence": "lb.persistence-missing",
    "persistence-not-matched": "lb.persistence-not-matched",
    "two-persistence-profiles": "lb.persistence-not-matched",
    "pools-differ": "lb.pools-differ",
    "natt-members-on-500": "lb.member-port",
    "no-monitor": "lb.monitor-missing",
    "http-monitor-on-ike": "lb.monitor-cannot-work",
    "natt-virtual-disabled": "lb.virtual-disabled",
    "sstp-no-ssl-persistence": "sstp.persistence-missing",
    "sstp-no-fallback": "sstp.fallback-missing",
    "sstp-other-vip": "lb.sstp-other-vip",
    "offload-clear-to-443": "sstp.offload-port",
}


def full(role: str) -> str:
    return f"/Common/{NAMES[role]}"


class Rest:
    """Plain iControl REST with a token, the twin's CA verified."""

    def __init__(self, twin: Any) -> None:
        self.url, self.verify = twin.url, str(twin.tls.ca_path)
        resp = requests.post(
            f"{self.url}/mgmt/shared/authn/login",
            json={"username": USER, "password": PASSWORD, "loginProviderName": "tmos"},
            verify=self.verify,
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["token"]["token"]

    def __call__(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        resp = requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"X-F5-Auth-Token": self.token, **kw.pop("headers", {})},
            verify=self.verify,
            timeout=10,
            **kw,
        )
        assert resp.status_code == 200, (method, path, resp.text)
        return resp.json() if resp.content else None

    def post(self, collection: str, body: dict[str, Any]) -> Any:
        return self("POST", f"/mgmt/tm/{collection}", {"partition": "Common", **body})


def offload_certificate(days: int = 400) -> tuple[bytes, bytes, datetime.datetime]:
    """A certificate for vpn.example.test valid for ``days`` more days, its key, and when it expires."""
    expires = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)).replace(microsecond=0)
    leaf = trustme.CA().issue_cert("vpn.example.test", not_after=expires)
    return leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(), expires


def _install(rest: Rest, name: str, kind: str, data: bytes) -> None:
    rest(
        "POST",
        f"/mgmt/shared/file-transfer/uploads/{name}",
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": f"0-{len(data) - 1}/{len(data)}",
        },
        data=data,
    )
    rest(
        "POST",
        f"/mgmt/tm/sys/crypto/{kind}",
        {"command": "install", "name": name, "from-local-file": f"/var/config/rest/downloads/{name}"},
    )


def by_rest(twin: Any, *pitfalls: str, sstp: bool = True, offload: bool = False) -> None:
    """The cluster built with plain iControl REST, with ``pitfalls`` (PITFALLS keys) planted."""
    rest = Rest(twin)
    p = set(pitfalls)
    monitor = {"no-monitor": None, "http-monitor-on-ike": "/Common/http"}.get(
        next(iter(p & {"no-monitor", "http-monitor-on-ike"}), ""), "/Common/gateway_icmp"
    )
    for role, port in (("pool:ikev2-500", 500), ("pool:ikev2-4500", 4500)):
        nodes = NODES[:1] if "pools-differ" in p and port == 4500 else NODES
        member_port = 500 if "natt-members-on-500" in p else port
        body: dict[str, Any] = {
            "name": NAMES[role],
            "loadBalancingMode": "least-connections-member",
            "members": [{"name": f"{a}:{member_port}", "address": a} for a in nodes],
        }
        if monitor:
            body["monitor"] = monitor
        rest.post("ltm/pool", body)
    match = "disabled" if "persistence-not-matched" in p else "enabled"
    rest.post(
        "ltm/persistence/source-addr",
        {
            "name": NAMES["persistence:ikev2"],
            "defaultsFrom": "/Common/source_addr",
            "matchAcrossServices": match,
            "timeout": "3600",
        },
    )
    if "two-persistence-profiles" in p:
        rest.post(
            "ltm/persistence/source-addr",
            {"name": "natt_persist", "defaultsFrom": "/Common/source_addr", "matchAcrossServices": "enabled"},
        )
    for role, port, pool in (
        ("virtual:ikev2-500", 500, "pool:ikev2-500"),
        ("virtual:ikev2-4500", 4500, "pool:ikev2-4500"),
    ):
        persist = (
            "natt_persist" if "two-persistence-profiles" in p and port == 4500 else NAMES["persistence:ikev2"]
        )
        vs: dict[str, Any] = {
            "name": NAMES[role],
            "destination": f"/Common/{VIP}:{port}",
            "mask": "255.255.255.255",
            "ipProtocol": "udp",
            "pool": full(pool),
            "profiles": [{"name": "/Common/udp", "context": "all"}],
            "sourceAddressTranslation": {"type": "automap" if "snat-automap" in p else "none"},
            "persist": []
            if "no-persistence" in p
            else [{"name": persist, "partition": "Common", "tmDefault": "yes"}],
        }
        if "natt-virtual-disabled" in p and port == 4500:
            vs["disabled"] = True
        rest.post("ltm/virtual", vs)
    if sstp or p & {"sstp-no-ssl-persistence", "sstp-no-fallback", "sstp-other-vip", "offload-clear-to-443"}:
        _sstp(rest, p, offload=offload or "offload-clear-to-443" in p)
    rest("POST", "/mgmt/tm/sys/config", {"command": "save"})


def _sstp(rest: Rest, p: set[str], *, offload: bool) -> None:
    node_port = 80 if offload and "offload-clear-to-443" not in p else 443
    kind = "http" if node_port == 80 else "https"
    rest.post(
        f"ltm/monitor/{kind}",
        {"name": NAMES["monitor:sstp"], "defaultsFrom": f"/Common/{kind}", "send": SSTP_SEND, "recv": "401"},
    )
    rest.post(
        "ltm/pool",
        {
            "name": NAMES["pool:sstp"],
            "monitor": full("monitor:sstp"),
            "loadBalancingMode": "least-connections-member",
            "members": [{"name": f"{a}:{node_port}", "address": a} for a in NODES],
        },
    )
    rest.post("ltm/persistence/ssl", {"name": NAMES["persistence:sstp-ssl"], "defaultsFrom": "/Common/ssl"})
    rest.post(
        "ltm/persistence/source-addr",
        {"name": NAMES["persistence:sstp-srcaddr"], "defaultsFrom": "/Common/source_addr"},
    )
    profiles = [{"name": "/Common/tcp", "context": "all"}]
    if offload:
        cert, key, _ = offload_certificate()
        _install(rest, "vpn_example.key", "key", key)
        _install(rest, "vpn_example.crt", "cert", cert)
        rest.post(
            "ltm/profile/client-ssl",
            {
                "name": NAMES["profile:sstp-clientssl"],
                "defaultsFrom": "/Common/clientssl",
                "certKeyChain": [
                    {"name": "default", "cert": "/Common/vpn_example.crt", "key": "/Common/vpn_example.key"}
                ],
            },
        )
        profiles.append({"name": full("profile:sstp-clientssl"), "context": "clientside"})
    vs: dict[str, Any] = {
        "name": NAMES["virtual:sstp"],
        "destination": f"/Common/{OTHER_VIP if 'sstp-other-vip' in p else VIP}:443",
        "mask": "255.255.255.255",
        "ipProtocol": "tcp",
        "pool": full("pool:sstp"),
        "profiles": profiles,
        "sourceAddressTranslation": {"type": "none"},
        "persist": [{"name": NAMES["persistence:sstp-ssl"], "partition": "Common", "tmDefault": "yes"}],
        "fallbackPersistence": full("persistence:sstp-srcaddr"),
    }
    if "sstp-no-ssl-persistence" in p:
        vs["persist"] = [
            {"name": NAMES["persistence:sstp-srcaddr"], "partition": "Common", "tmDefault": "yes"}
        ]
        vs["fallbackPersistence"] = full("persistence:sstp-srcaddr")
    if "sstp-no-fallback" in p:
        del vs["fallbackPersistence"]
    rest.post("ltm/virtual", vs)


def by_sdk(twin: Any) -> None:
    """The correct IKEv2 + SSTP cluster, built with f5-sdk (token login, the twin's CA)."""
    from f5.bigip import ManagementRoot

    mgmt = ManagementRoot(
        "127.0.0.1", USER, PASSWORD, port=twin.port, token=True, verify=str(twin.tls.ca_path)
    )
    ltm = mgmt.tm.ltm
    for role, port in (("pool:ikev2-500", 500), ("pool:ikev2-4500", 4500)):
        pool = ltm.pools.pool.create(
            name=NAMES[role],
            partition="Common",
            monitor="/Common/gateway_icmp",
            loadBalancingMode="round-robin",
        )
        for address in NODES:
            pool.members_s.members.create(name=f"{address}:{port}", partition="Common")
    ltm.persistence.source_addrs.source_addr.create(
        name=NAMES["persistence:ikev2"],
        partition="Common",
        defaultsFrom="/Common/source_addr",
        matchAcrossServices="enabled",
        timeout="1800",
    )
    for role, port, pool_role in (
        ("virtual:ikev2-500", 500, "pool:ikev2-500"),
        ("virtual:ikev2-4500", 4500, "pool:ikev2-4500"),
    ):
        ltm.virtuals.virtual.create(
            name=NAMES[role],
            partition="Common",
            destination=f"{VIP}:{port}",
            ipProtocol="udp",
            pool=full(pool_role),
            profiles=[{"name": "/Common/udp", "context": "all"}],
            sourceAddressTranslation={"type": "none"},
            persist=[{"name": NAMES["persistence:ikev2"], "partition": "Common", "tmDefault": "yes"}],
        )
    ltm.monitor.https_s.https.create(
        name=NAMES["monitor:sstp"],
        partition="Common",
        defaultsFrom="/Common/https",
        send=SSTP_SEND,
        recv="401",
    )
    pool = ltm.pools.pool.create(name=NAMES["pool:sstp"], partition="Common", monitor=full("monitor:sstp"))
    for address in NODES:
        pool.members_s.members.create(name=f"{address}:443", partition="Common")
    ltm.persistence.ssls.ssl.create(
        name=NAMES["persistence:sstp-ssl"], partition="Common", defaultsFrom="/Common/ssl"
    )
    ltm.persistence.source_addrs.source_addr.create(
        name=NAMES["persistence:sstp-srcaddr"], partition="Common", defaultsFrom="/Common/source_addr"
    )
    ltm.virtuals.virtual.create(
        name=NAMES["virtual:sstp"],
        partition="Common",
        destination=f"{VIP}:443",
        ipProtocol="tcp",
        pool=full("pool:sstp"),
        profiles=[{"name": "/Common/tcp", "context": "all"}],
        sourceAddressTranslation={"type": "none"},
        persist=[{"name": NAMES["persistence:sstp-ssl"], "partition": "Common", "tmDefault": "yes"}],
        fallbackPersistence=full("persistence:sstp-srcaddr"),
    )
    mgmt.tm.sys.config.exec_cmd("save")
