"""The Citrix twin's schema: which NITRO resources exist, what each accepts, and how it renders.

Per-attribute output types (docs/citrix.md, docs/citrix.md#attribute-types-and-case), enums in canonical case,
the attributes that cannot change (docs/citrix.md#virtual-servers-and-runtime-state), factory modes and
features, and the binding and binding-summary tables the app routes by. Data only: the rules that use these
tables live in the backend mixins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
SERVICE_TYPES = ("HTTP", "SSL", "TCP", "UDP", "SSL_BRIDGE", "SSL_TCP", "ANY", "DNS", "FTP", "RDP")
LB_METHODS = (
    "ROUNDROBIN",
    "LEASTCONNECTION",
    "LEASTRESPONSETIME",
    "SOURCEIPHASH",
    "LEASTBANDWIDTH",
    "LEASTPACKETS",
    "CUSTOMLOAD",
    "TOKEN",
    "SRCIPDESTIPHASH",
    "SRCIPSRCPORTHASH",
    "CALLIDHASH",
)
VS_PERSISTENCE = (
    "SOURCEIP",
    "COOKIEINSERT",
    "SSLSESSION",
    "RULE",
    "URLPASSIVE",
    "CUSTOMSERVERID",
    "DESTIP",
    "SRCIPDESTIP",
    "CALLID",
    "RTSPSID",
    "DIAMETER",
    "FIXSESSION",
    "USERSESSION",
    "NONE",
)
GROUP_PERSISTENCE = ("SOURCEIP", "COOKIEINSERT", "RULE", "NONE")
MONITOR_TYPES = ("PING", "TCP", "HTTP", "HTTP-ECV", "TCP-ECV", "UDP-ECV", "DNS", "HTTP-INLINE")
MODES = (
    "FR",
    "L2",
    "USIP",
    "CKA",
    "TCPB",
    "MBF",
    "Edge",
    "USNIP",
    "L3",
    "PMTUD",
    "SRADV",
    "DRADV",
    "IRADV",
    "SRADV6",
    "DRADV6",
    "BridgeBPDUs",
    "RISE_APBR",
    "RISE_RHI",
    "ULFD",
    "Mediaclassification",
)
MODE_ALIASES = {
    "fastramp": "FR",
    "l2mode": "L2",
    "l3mode": "L3",
    "usesourceip": "USIP",
    "clientkeepalive": "CKA",
    "tcpbuffering": "TCPB",
    "macbasedforwarding": "MBF",
}
# [believed] (docs/citrix.md#global-modes-and-features)
FACTORY_MODES = ["FR", "L3", "Edge", "USNIP", "PMTUD"]
FEATURES = (
    "WL",
    "SP",
    "LB",
    "CS",
    "CR",
    "CMP",
    "PQ",
    "SSL",
    "GSLB",
    "HDOSP",
    "CF",
    "IC",
    "SSLVPN",
    "AAA",
    "OSPF",
    "RIP",
    "BGP",
    "REWRITE",
    "IPv6PT",
    "AppFw",
    "RESPONDER",
    "HTMLInjection",
    "push",
    "AppFlow",
    "CloudBridge",
    "ISIS",
    "CH",
    "AppQoE",
    "ContentAccelerator",
    "SYSTEM",
    "RISE",
    "FEO",
    "LSN",
    "RDPProxy",
    "Rep",
    "URLFiltering",
    "VideoOptimization",
    "ForwardProxy",
    "SSLInterception",
    "AdaptiveTCP",
    "CQA",
    "CI",
    "BOT",
    "APIGateway",
)
# Which features a fresh appliance has on is not in docs/citrix.md: LB and SSL on is this twin's reading [?].
FACTORY_FEATURES = ["LB", "SSL"]
SSL_SERVICE_TYPES = ("SSL", "SSL_TCP")  # entities that need the SSL feature (docs/citrix.md#ssl-for-sstp)
#: The transport a vserver of each service type listens on; two addressable vservers clash on the same
#: traffic domain, IP address, port and transport. UDP and TCP vservers may share an IP:port (DNS over UDP
#: and over TCP on one VIP :53 is the documented NetScaler pattern); ANY takes both [?: the family rule
#: is this twin's reading, not a documented NITRO table].
TRANSPORTS: dict[str, frozenset[str]] = {
    **{t: frozenset({"TCP"}) for t in SERVICE_TYPES},
    "UDP": frozenset({"UDP"}),
    "DNS": frozenset({"UDP"}),
    "ANY": frozenset({"TCP", "UDP"}),
}


@dataclass
class Kind:
    """One NITRO object resource: its key, what it accepts, what cannot change, how it renders."""

    key: str
    required: tuple[str, ...]
    accepted: frozenset[str]
    immutable: frozenset[str]
    enums: dict[str, tuple[str, ...]]
    defaults: Obj
    numbers: frozenset[str]  # rendered as JSON numbers; every other scalar renders as a string


KINDS: dict[str, Kind] = {
    "server": Kind(
        key="name",
        required=("name",),
        accepted=frozenset({"name", "ipaddress", "domain", "comment", "state", "td", "ipv6address"}),
        immutable=frozenset({"td", "domain", "ipv6address"}),
        enums={"state": ("ENABLED", "DISABLED")},
        defaults={"state": "ENABLED", "td": "0", "translationip": "0.0.0.0", "ipv6address": "NO"},
        numbers=frozenset(),
    ),
    "servicegroup": Kind(
        key="servicegroupname",
        required=("servicegroupname", "servicetype"),
        accepted=frozenset(
            {
                "servicegroupname",
                "servicetype",
                "usip",
                "useproxyport",
                "healthmonitor",
                "comment",
                "cip",
                "cipheader",
                "clttimeout",
                "svrtimeout",
                "cka",
                "tcpb",
                "cmp",
                "maxclient",
                "state",
                "td",
                "cachetype",
                "memberport",
                "includemembers",
            }
        ),
        immutable=frozenset({"servicetype", "cachetype", "td", "memberport", "includemembers"}),
        enums={
            "servicetype": SERVICE_TYPES,
            "usip": ("YES", "NO"),
            "useproxyport": ("YES", "NO"),
            "healthmonitor": ("YES", "NO"),
            "state": ("ENABLED", "DISABLED"),
        },
        defaults={
            "usip": "NO",
            "useproxyport": "YES",
            "healthmonitor": "YES",
            "state": "ENABLED",
            "td": "0",
            "maxclient": "0",
            "maxreq": "0",
            "cka": "NO",
            "tcpb": "NO",
            "cmp": "NO",
            "clttimeout": 120,
            "svrtimeout": 120,
            "numofconnections": 0,
            "monthreshold": "0",
            "hashid": "0",
            "memberport": 0,
            "delay": 0,
            "dbsttl": 0,
            "servicegroupeffectivestate": "DOWN",
        },
        numbers=frozenset({"clttimeout", "svrtimeout", "numofconnections", "memberport", "delay", "dbsttl"}),
    ),
    "lbmonitor": Kind(
        key="monitorname",
        required=("monitorname", "type"),
        accepted=frozenset(
            {
                "monitorname",
                "type",
                "httprequest",
                "respcode",
                "secure",
                "interval",
                "units3",
                "resptimeout",
                "units4",
                "retries",
                "downtime",
                "units2",
                "state",
                "destip",
                "destport",
            }
        ),
        immutable=frozenset(),
        enums={
            "type": MONITOR_TYPES,
            "units3": ("SEC", "MSEC", "MIN"),
            "units4": ("SEC", "MSEC", "MIN"),
            "units2": ("SEC", "MSEC", "MIN"),
            "state": ("ENABLED", "DISABLED"),
            "secure": ("YES", "NO"),
        },
        defaults={
            "secure": "NO",
            "interval": 5,
            "units3": "SEC",
            "resptimeout": 2,
            "units4": "SEC",
            "retries": 3,
            "downtime": 30,
            "units2": "SEC",
            "state": "ENABLED",
            "destport": 0,
        },
        numbers=frozenset({"interval", "resptimeout", "retries", "downtime", "destport"}),
    ),
    "lbvserver": Kind(
        key="name",
        required=("name", "servicetype"),
        accepted=frozenset(
            {
                "name",
                "servicetype",
                "ipv46",
                "port",
                "persistencebackup",
                "backuppersistencetimeout",
                "lbmethod",
                "persistencetype",
                "timeout",
                "comment",
                "state",
                "clttimeout",
                "range",
                "td",
                "persistmask",
                "backuplbmethod",
            }
        ),
        immutable=frozenset({"port", "servicetype", "range", "td"}),
        enums={
            "servicetype": SERVICE_TYPES,
            "lbmethod": LB_METHODS,
            "persistencetype": VS_PERSISTENCE,
            "backuplbmethod": LB_METHODS,
            "persistencebackup": ("SOURCEIP", "NONE"),
            "state": ("ENABLED", "DISABLED"),
        },
        defaults={
            "ipv46": "0.0.0.0",
            "port": 0,
            "lbmethod": "LEASTCONNECTION",
            "backuplbmethod": "ROUNDROBIN",
            "persistencebackup": "NONE",
            "persistencetype": "NONE",
            "timeout": 2,
            "persistmask": "255.255.255.255",
            "v6persistmasklen": "128",
            "clttimeout": "120",
            "range": "1",
            "td": "0",
            "type": "ADDRESS",
            "curstate": "DOWN",
            "effectivestate": "DOWN",
            "status": 0,
            "totalservices": "0",
            "activeservices": "0",
            "backuppersistencetimeout": 2,
            "rule": '"none"',
            "skippersistency": "None",
            "m": "IP",
        },
        numbers=frozenset({"port", "timeout", "status", "backuppersistencetimeout"}),
    ),
    "lbgroup": Kind(
        key="name",
        required=("name",),
        accepted=frozenset(
            {
                "name",
                "persistencetype",
                "timeout",
                "persistmask",
                "persistencebackup",
                "backuppersistencetimeout",
                "usevserverpersistency",
                "v6persistmasklen",
            }
        ),
        immutable=frozenset({"td"}),
        enums={
            "persistencetype": GROUP_PERSISTENCE,
            "persistencebackup": ("SOURCEIP", "NONE"),
            "usevserverpersistency": ("ENABLED", "DISABLED"),
        },
        # lbgroup's timeout is a <Double> in the docs; GET renders it as a string [uncertain]
        defaults={
            "persistencetype": "NONE",
            "timeout": "2",
            "persistmask": "255.255.255.255",
            "persistencebackup": "NONE",
            "backuppersistencetimeout": "2",
            "usevserverpersistency": "DISABLED",
            "v6persistmasklen": "128",
            "td": "0",
        },
        numbers=frozenset(),
    ),
}

#: binding -> (parent resource, parent attribute, [identity attributes])
BINDINGS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "servicegroup_servicegroupmember_binding": ("servicegroup", "servicegroupname", ("servername", "port")),
    "servicegroup_lbmonitor_binding": ("servicegroup", "servicegroupname", ("monitor_name",)),
    "lbmonitor_servicegroup_binding": ("lbmonitor", "monitorname", ("servicegroupname",)),
    "lbvserver_servicegroup_binding": ("lbvserver", "name", ("servicegroupname",)),
    "lbgroup_lbvserver_binding": ("lbgroup", "name", ("vservername",)),
    "sslvserver_sslcertkey_binding": ("lbvserver", "vservername", ("certkeyname",)),
}
NUMBER_ATTRS = {"port": True, "monstatcode": True}
#: ``GET /config/<parent>_binding/<name>``: every binding kind of one object in one answer
SUMMARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "lbvserver_binding": ("lbvserver", ("lbvserver_servicegroup_binding", "sslvserver_sslcertkey_binding")),
    "servicegroup_binding": (
        "servicegroup",
        ("servicegroup_servicegroupmember_binding", "servicegroup_lbmonitor_binding"),
    ),
    "lbgroup_binding": ("lbgroup", ("lbgroup_lbvserver_binding",)),
    "lbmonitor_binding": ("lbmonitor", ("lbmonitor_servicegroup_binding",)),
}
