"""The Citrix ADC twin's state and rules (NITRO config API subset for AOVPN load balancing).

Objects (server, servicegroup, lbmonitor, lbvserver, lbgroup) and bindings (members, monitor bindings,
vserver->servicegroup, persistency-group membership), global modes and the saved configuration, with
the rules reference/citrix.md lists as fidelity traps: per-attribute output types (3), canonical case
on output, immutable attributes refused with 599/278 (15), implicit IP-named servers that outlive their
member binding and own their IP (9), monitor identity by (name, type) with its error codes (11, 12),
one persistency group per vserver with member persistence locked (14), cascading servicegroup deletes
(17), ``configchanged`` flipping with writes and saves (18), idempotent adds (7), sessions with idle
expiry (6). SSL for SSTP (trap 20): systemfiles addressed by location (on disk: they survive a reboot
without a save), PEM cert-keys read with ``cryptography`` (serial, subject, days to expiration, key
match, same contents under two names refused), update/link actions, certificate bindings to SSL
vservers only, the SSL feature's "SSL feature disabled" note. Also global features, ``lbparameter``
(``allowboundsvcremoval``), enable/disable and unset actions, ``servicegroupbindings``.

Where the reference marks a fact [uncertain] the twin's choice is marked ``[?]`` next to the code.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulators.citrix.exceptions import (
    NitroError,
    already_exists,
    invalid_argument,
    invalid_value,
    no_such_resource,
    required_missing,
)
from emulators.common import TwinBackend

Obj = dict[str, Any]
DEFAULT_USERS = {"nsroot": "nsroot", "automation": "automation-pass"}
DEFAULT_IDLE_S = 1800
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
FACTORY_MODES = ["FR", "L3", "Edge", "USNIP", "PMTUD"]  # [believed] (reference/citrix.md, nsmode)
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
# Which features a fresh appliance has on is not in the reference: LB and SSL on is this twin's reading [?].
FACTORY_FEATURES = ["LB", "SSL"]
SSL_SERVICE_TYPES = ("SSL", "SSL_TCP")  # entities that need the SSL feature (trap 20)


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


@dataclass
class Session:
    sessionid: str
    user: str
    idle: float
    last: float


class CitrixBackend(TwinBackend):
    vendor = "citrix"

    def __init__(self, data_dir: Path | str | None = None, users: dict[str, str] | None = None) -> None:
        super().__init__(data_dir)
        self.users = dict(users or DEFAULT_USERS)
        self.sessions: dict[str, Session] = {}
        self.saving = threading.Lock()
        factory = self.factory_config()
        for config in (self.running, self.saved):  # a saved configuration written by an older twin
            for key, value in factory.items():
                config.setdefault(key, copy.deepcopy(value))

    def factory_config(self) -> Obj:
        monitors = {}
        for name, mtype in (
            ("ping", "PING"),
            ("tcp", "TCP"),
            ("ping-default", "PING"),
            ("tcp-default", "TCP"),
        ):
            monitors[name] = {
                **copy.deepcopy(KINDS["lbmonitor"].defaults),
                "monitorname": name,
                "type": mtype,
                "_builtin": True,
            }
        return {
            "server": {},
            "servicegroup": {},
            "lbmonitor": monitors,
            "lbvserver": {},
            "lbgroup": {},
            "members": [],
            "sg_monitors": [],
            "vs_sg": [],
            "group_vs": [],
            "modes": list(FACTORY_MODES),
            "features": list(FACTORY_FEATURES),
            "lbparameter": {"allowboundsvcremoval": "ENABLED"},
            "files": {},
            "sslcertkey": {},
            "ssl_bindings": [],
        }

    def on_reboot(self) -> None:
        self.sessions.clear()

    def runtime_state(self) -> Obj:
        return {"sessions": len(self.sessions), "configchanged": self.running != self.saved}

    # -- authentication ------------------------------------------------------------------------------
    def check_password(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        return expected is not None and secrets.compare_digest(expected.encode(), password.encode())

    def login(self, body: Any) -> str:
        login = (body or {}).get("login") if isinstance(body, dict) else None
        if not isinstance(login, dict):
            raise required_missing("username")
        user, password = str(login.get("username", "")), str(login.get("password", ""))
        if not self.check_password(user, password):
            raise NitroError(401, 354, "Invalid username or password")
        idle = float(login.get("timeout") or DEFAULT_IDLE_S)
        sessionid = "##" + secrets.token_hex(32).upper()
        with self.lock:
            self.sessions[sessionid] = Session(sessionid, user, idle, time.monotonic())
        return sessionid

    def session_user(self, sessionid: str) -> str:
        with self.lock:
            session = self.sessions.get(sessionid)
            if session is None or time.monotonic() - session.last > session.idle:
                self.sessions.pop(sessionid, None)
                raise NitroError(401, 444, "Session expired or killed. Please login again")
            session.last = time.monotonic()
            return session.user

    def logout(self, sessionid: str | None) -> None:
        with self.lock:
            if sessionid:
                self.sessions.pop(sessionid, None)

    def expire_sessions(self) -> int:
        with self.lock:
            count = len(self.sessions)
            for session in self.sessions.values():
                session.last -= session.idle + 1
            return count

    # -- rendering -----------------------------------------------------------------------------------
    @staticmethod
    def render(kind: Kind, obj: Obj) -> Obj:
        out: Obj = {}
        for key, value in obj.items():
            if key.startswith("_"):
                continue
            if isinstance(value, bool) or value is None or isinstance(value, list | dict):
                out[key] = value
            elif key in kind.numbers:
                out[key] = int(value)
            else:
                out[key] = str(value)
        return out

    # -- objects -------------------------------------------------------------------------------------
    def _normalise(self, resource: str, body: Obj, *, creating: bool, current: Obj | None) -> Obj:
        kind = KINDS[resource]
        out: Obj = {}
        for attr, value in body.items():
            if attr not in kind.accepted:
                raise invalid_argument(attr)
            if not creating and attr in kind.immutable and current is not None:
                if str(value).upper() != str(current.get(attr, "")).upper():
                    raise invalid_argument(attr)
                continue
            if attr in kind.enums:
                canon = {v.upper(): v for v in kind.enums[attr]}.get(str(value).upper())
                if canon is None:
                    raise invalid_value(attr, value)
                value = canon
            elif attr in kind.numbers or attr in (
                "port",
                "timeout",
                "interval",
                "resptimeout",
                "retries",
                "downtime",
            ):
                try:
                    value = int(str(value))
                except ValueError:
                    raise invalid_value(attr, value) from None
            out[attr] = value
        return out

    def add(self, resource: str, body: Any, *, idempotent: bool) -> None:
        kind = KINDS[resource]
        if not isinstance(body, dict):
            raise required_missing(kind.key)
        with self.lock:
            name = body.get(kind.key)
            if name is None:
                raise required_missing(kind.key)
            name = str(name)
            existing = self.running[resource].get(name)
            if existing is not None:
                if resource == "lbmonitor" and str(body.get("type", "")).upper() != existing["type"]:
                    raise NitroError(409, 273, f"Resource already exists [monitorName, {name}]")
                if not idempotent or existing.get("_builtin"):
                    raise already_exists(kind.key if resource != "servicegroup" else "serviceGroupName", name)
                self.update(resource, name, body)
                return
            for attr in kind.required:
                if attr not in body:
                    raise required_missing(attr)
            fields = self._normalise(resource, body, creating=True, current=None)
            obj = {**copy.deepcopy(kind.defaults), **fields}
            self._check_object(resource, name, obj)
            self.running[resource][name] = obj

    def _check_object(self, resource: str, name: str, obj: Obj) -> None:
        if resource == "server":
            address = obj.get("ipaddress")
            if address is None and obj.get("domain") is None:
                raise required_missing("IPAddress")
            if address is not None:
                try:
                    ipaddress.ip_address(str(address))
                except ValueError:
                    raise invalid_value("ipaddress", address) from None
                for other_name, other in self.running["server"].items():
                    if other_name != name and other.get("ipaddress") == address:
                        raise NitroError(409, 1335, f"Server already exists [{address}]")
        if resource == "lbvserver":
            try:
                ipaddress.ip_address(str(obj["ipv46"]))
            except ValueError:
                raise invalid_value("ipv46", obj["ipv46"]) from None
            if not 0 <= int(obj["port"]) <= 65535:
                raise invalid_value("port", obj["port"])
            timeout = int(obj["timeout"])
            if not (timeout == 0 or 2 <= timeout <= 1440):
                raise NitroError(
                    599, 2136, "Timeout value out of range; enter a value between 2 minutes and 1440 minutes"
                )
        if resource == "lbgroup":
            timeout = int(obj["timeout"])
            if not 0 <= timeout <= 1440:
                raise NitroError(
                    599, 2136, "Timeout value out of range; enter a value between 2 minutes and 1440 minutes"
                )
        if resource == "lbmonitor":
            if _seconds(obj["interval"], obj["units3"]) <= _seconds(obj["resptimeout"], obj["units4"]):
                raise NitroError(599, 2128, "Monitor interval must be greater than response timeout")
            # 60 SEC and other whole minutes read back in minutes (reference/citrix.md, Ansible #324)
            for value_key, unit_key in (("interval", "units3"), ("downtime", "units2")):
                if obj[unit_key] == "SEC" and int(obj[value_key]) >= 60 and int(obj[value_key]) % 60 == 0:
                    obj[value_key], obj[unit_key] = int(obj[value_key]) // 60, "MIN"

    def update(self, resource: str, name: str, body: Any) -> None:
        kind = KINDS[resource]
        if not isinstance(body, dict):
            raise required_missing(kind.key)
        with self.lock:
            current = self.running[resource].get(name)
            if current is None:
                raise no_such_resource(kind.key if resource != "servicegroup" else "serviceGroupName", name)
            if current.get("_builtin"):
                raise NitroError(599, 2132, "Built-in monitors cannot be modified")
            if resource == "lbmonitor":
                if "type" not in body:
                    raise required_missing("type")
                if str(body["type"]).upper() != current["type"]:
                    raise NitroError(599, 2155, "Existing monitor is of different type than given")
            fields = self._normalise(
                resource, {k: v for k, v in body.items() if k != kind.key}, creating=False, current=current
            )
            if (
                resource == "lbvserver"
                and current.get("_group")
                and ({"persistencetype", "timeout"} & set(fields))
            ):
                raise NitroError(
                    599,
                    2306,
                    "vserver is bound to a group. Set persistence parameters on group "
                    f"{current['_group']} or unbind vserver from group and set on individual vserver.",
                )
            if resource == "lbgroup":
                self._check_group_update(name, current, fields)
            merged = {**current, **fields}
            if resource == "lbmonitor":
                # units travel with their values: a new interval in SEC replaces the MIN reading
                for value_key, unit_key in (
                    ("interval", "units3"),
                    ("resptimeout", "units4"),
                    ("downtime", "units2"),
                ):
                    if value_key in fields and unit_key not in fields:
                        merged[unit_key] = "SEC"
            self._check_object(resource, name, merged)
            self.running[resource][name] = merged
            if resource == "lbgroup":
                self._apply_group_persistence(name)

    def delete(self, resource: str, name: str, args: Obj) -> None:
        kind = KINDS[resource]
        with self.lock:
            current = self.running[resource].get(name)
            if current is None:
                raise no_such_resource(kind.key if resource != "servicegroup" else "serviceGroupName", name)
            if resource == "lbmonitor":
                if "type" not in args:
                    raise required_missing("type")
                if str(args["type"]).upper() != current["type"]:
                    raise NitroError(599, 2155, "Existing monitor is of different type than given")
                if current.get("_builtin"):
                    raise NitroError(599, 2132, "Built-in monitors cannot be deleted")
                if any(b["monitor_name"] == name for b in self.running["sg_monitors"]):
                    raise NitroError(599, 2131, "Monitor must be unbound before it can be deleted")
            if (
                resource == "servicegroup"
                and self.running["lbparameter"]["allowboundsvcremoval"] == "DISABLED"
                and any(b["servicegroupname"] == name for b in self.running["vs_sg"])
            ):
                raise NitroError(
                    599,
                    1325,
                    "Service/servicegroup is bound to one or more vserver. "
                    "To remove it, first unbind it or check allowBoundSvcRemoval",
                )
            del self.running[resource][name]
            if resource == "servicegroup":  # cascades (allowboundsvcremoval ENABLED by default)
                for key in ("members", "sg_monitors", "vs_sg"):
                    self.running[key] = [b for b in self.running[key] if b["servicegroupname"] != name]
            if resource == "server":  # its members go with it [uncertain]
                self.running["members"] = [b for b in self.running["members"] if b["servername"] != name]
            if resource == "lbvserver":
                self.running["vs_sg"] = [b for b in self.running["vs_sg"] if b["name"] != name]
                self.running["group_vs"] = [b for b in self.running["group_vs"] if b["vservername"] != name]
                self.running["ssl_bindings"] = [
                    b for b in self.running["ssl_bindings"] if b["vservername"] != name
                ]
            if resource == "lbgroup":
                for binding in [b for b in self.running["group_vs"] if b["name"] == name]:
                    self._leave_group(binding["vservername"])
                self.running["group_vs"] = [b for b in self.running["group_vs"] if b["name"] != name]

    def get(self, resource: str, name: str | None, args: Obj) -> list[Obj]:
        kind = KINDS[resource]
        with self.lock:
            if name is None:
                items = [(n, o) for n, o in sorted(self.running[resource].items())]
            else:
                obj = self.running[resource].get(name)
                if obj is None:
                    raise no_such_resource(
                        kind.key if resource != "servicegroup" else "serviceGroupName", name
                    )
                if resource == "lbmonitor" and "type" in args and str(args["type"]).upper() != obj["type"]:
                    raise no_such_resource("monitorName", name)
                items = [(name, obj)]
            out = []
            for item_name, obj in items:
                shown = self.render(kind, {kind.key: item_name, **obj})
                if resource == "lbvserver" and obj.get("_group"):
                    shown["groupname"] = obj["_group"]
                out.append(shown)
            return out

    # -- bindings --------------------------------------------------------------------------------------
    def bind(self, binding: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("name")
        with self.lock:
            getattr(self, f"_bind_{binding}")(body)

    def _require(self, resource: str, name: Any, arg: str) -> Obj:
        obj = self.running[resource].get(str(name)) if name is not None else None
        if obj is None:
            if name is None:
                raise required_missing(arg)
            raise no_such_resource(arg, str(name))
        return obj

    def _bind_servicegroup_servicegroupmember_binding(self, body: Obj) -> None:
        group = body.get("servicegroupname")
        self._require("servicegroup", group, "serviceGroupName")
        if "ip" in body and "servername" in body:
            raise NitroError(400, 1092, "Arguments cannot both be specified [serverName, IP]")
        if "port" not in body:
            raise required_missing("port")
        port = int(str(body["port"]))
        if not 1 <= port <= 65535:
            raise invalid_value("port", port)
        weight = int(str(body.get("weight", 1)))
        if "ip" in body:
            address = str(body["ip"])
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise invalid_value("ip", address) from None
            server = next(
                (n for n, s in self.running["server"].items() if s.get("ipaddress") == address), None
            )
            if server is None:
                # binding by IP creates a server named after the IP, which outlives the binding (trap 9)
                server = address
                self.running["server"][server] = {
                    **copy.deepcopy(KINDS["server"].defaults),
                    "ipaddress": address,
                }
        else:
            server = str(body.get("servername") or "")
            self._require("server", server or None, "serverName")
        for member in self.running["members"]:
            if (
                member["servicegroupname"] == group
                and member["servername"] == server
                and member["port"] == port
            ):
                raise already_exists()
        self.running["members"].append(
            {
                "servicegroupname": group,
                "servername": server,
                "port": port,
                "weight": weight,
                "state": "ENABLED",
            }
        )

    def _bind_servicegroup_lbmonitor_binding(self, body: Obj) -> None:
        self._bind_monitor(body.get("servicegroupname"), body.get("monitor_name"), body.get("weight", 1))

    def _bind_lbmonitor_servicegroup_binding(self, body: Obj) -> None:
        self._bind_monitor(body.get("servicegroupname"), body.get("monitorname"), body.get("weight", 1))

    def _bind_monitor(self, group: Any, monitor: Any, weight: Any) -> None:
        self._require("servicegroup", group, "serviceGroupName")
        mon = self._require("lbmonitor", monitor, "monitorName")
        if str(monitor).endswith("-default"):
            raise NitroError(599, 2165, "Default monitor cannot be bound explicitly")
        if any(
            b["servicegroupname"] == group and b["monitor_name"] == monitor
            for b in self.running["sg_monitors"]
        ):
            raise NitroError(599, 2133, "The monitor is already bound to the service")
        del mon
        self.running["sg_monitors"].append(
            {"servicegroupname": group, "monitor_name": monitor, "weight": int(str(weight))}
        )

    def _bind_lbvserver_servicegroup_binding(self, body: Obj) -> None:
        vserver = self._require("lbvserver", body.get("name"), "name")
        group = self._require("servicegroup", body.get("servicegroupname"), "serviceGroupName")
        if "weight" in body:
            raise NitroError(400, 1093, "Argument pre-requisite missing [weight, serviceName]")
        compatible = {("SSL", "HTTP"), ("SSL", "TCP"), ("SSL", "SSL")}
        if (
            vserver["servicetype"] != group["servicetype"]
            and (vserver["servicetype"], group["servicetype"]) not in compatible
        ):
            raise NitroError(599, 1304, "Service type mismatch between the vserver and service")
        if any(
            b["name"] == body["name"] and b["servicegroupname"] == body["servicegroupname"]
            for b in self.running["vs_sg"]
        ):
            raise already_exists()
        self.running["vs_sg"].append({"name": body["name"], "servicegroupname": body["servicegroupname"]})

    def _bind_lbgroup_lbvserver_binding(self, body: Obj) -> None:
        group_name = body.get("name")
        self._require("lbgroup", group_name, "name")
        vserver = self._require("lbvserver", body.get("vservername"), "vServerName")
        if vserver.get("_group"):
            if vserver["_group"] == group_name:
                raise already_exists()
            raise NitroError(599, 2371, "Vserver is already bound to a LB group")
        group = self.running["lbgroup"][group_name]
        if group["persistencetype"] == "COOKIEINSERT" and vserver["servicetype"] not in ("HTTP", "SSL"):
            raise NitroError(
                599, 2309, "Cookie persistence cannot be applied - group has non-HTTP type of vserver"
            )
        vserver["_group"] = group_name
        vserver["_own_persistence"] = (vserver["persistencetype"], vserver["timeout"])
        self.running["group_vs"].append({"name": group_name, "vservername": body["vservername"]})
        self._apply_group_persistence(str(group_name))

    def _apply_group_persistence(self, group_name: str) -> None:
        """The group's persistence replaces its members' own (reference/citrix.md §4) [believed on GET]."""
        group = self.running["lbgroup"][group_name]
        # a group without persistence (or with vserver-level persistency) leaves its members their own
        members_own = group["persistencetype"] == "NONE" or group["usevserverpersistency"] == "ENABLED"
        for binding in self.running["group_vs"]:
            if binding["name"] == group_name:
                vserver = self.running["lbvserver"][binding["vservername"]]
                if members_own:
                    own = vserver.get("_own_persistence")
                    if own:
                        vserver["persistencetype"], vserver["timeout"] = own[0], own[1]
                    continue
                vserver["persistencetype"], vserver["timeout"] = (
                    group["persistencetype"],
                    int(group["timeout"]),
                )

    def _leave_group(self, vserver_name: str) -> None:
        vserver = self.running["lbvserver"].get(vserver_name)
        if vserver is not None:
            vserver.pop("_group", None)
            own = vserver.pop("_own_persistence", None)
            if own:
                vserver["persistencetype"], vserver["timeout"] = own[0], own[1]

    def unbind(self, binding: str, parent: str, args: Obj) -> None:
        resource, parent_attr, _ = BINDINGS[binding]
        with self.lock:
            self._require(resource, parent, parent_attr if resource != "servicegroup" else "serviceGroupName")
            if binding == "servicegroup_servicegroupmember_binding":
                if "port" not in args:
                    raise required_missing("port")
                server = args.get("servername") or next(
                    (n for n, s in self.running["server"].items() if s.get("ipaddress") == args.get("ip")),
                    None,
                )
                keep = [
                    b
                    for b in self.running["members"]
                    if not (
                        b["servicegroupname"] == parent
                        and b["servername"] == server
                        and b["port"] == int(str(args["port"]))
                    )
                ]
                if len(keep) == len(self.running["members"]):
                    raise NitroError(599, 258, f"No such resource [serverName, {server}]")
                self.running["members"] = keep
            elif binding in ("servicegroup_lbmonitor_binding", "lbmonitor_servicegroup_binding"):
                group, monitor = (
                    (parent, args.get("monitor_name"))
                    if binding == "servicegroup_lbmonitor_binding"
                    else (args.get("servicegroupname"), parent)
                )
                if str(monitor).endswith("-default"):
                    raise NitroError(599, 2164, "Default monitor cannot be unbound from a service")
                keep = [
                    b
                    for b in self.running["sg_monitors"]
                    if not (b["servicegroupname"] == group and b["monitor_name"] == monitor)
                ]
                if len(keep) == len(self.running["sg_monitors"]):
                    raise NitroError(599, 2170, "Monitor not bound to service")
                self.running["sg_monitors"] = keep
            elif binding == "lbvserver_servicegroup_binding":
                keep = [
                    b
                    for b in self.running["vs_sg"]
                    if not (b["name"] == parent and b["servicegroupname"] == args.get("servicegroupname"))
                ]
                if len(keep) == len(self.running["vs_sg"]):
                    raise NitroError(599, 1303, "Service is not bound to the vserver")
                self.running["vs_sg"] = keep
            elif binding == "sslvserver_sslcertkey_binding":
                keep = [
                    b
                    for b in self.running["ssl_bindings"]
                    if not (b["vservername"] == parent and b["certkeyname"] == args.get("certkeyname"))
                ]
                if len(keep) == len(self.running["ssl_bindings"]):
                    raise NitroError(599, 1303, "Certificate is not bound to the vserver")
                self.running["ssl_bindings"] = keep
            elif binding == "lbgroup_lbvserver_binding":
                vserver = args.get("vservername")
                keep = [
                    b
                    for b in self.running["group_vs"]
                    if not (b["name"] == parent and b["vservername"] == vserver)
                ]
                if len(keep) == len(self.running["group_vs"]):
                    raise NitroError(599, 2379, "Given vserver is not bound to this LB group")
                self.running["group_vs"] = keep
                self._leave_group(str(vserver))

    def get_binding(self, binding: str, parent: str) -> list[Obj]:
        resource, parent_attr, _ = BINDINGS[binding]
        with self.lock:
            if binding == "sslvserver_sslcertkey_binding":
                if parent not in self.running["lbvserver"]:
                    raise NitroError(404, 461, "No such Vserver")  # Terraform's missing-parent code
                return [
                    {
                        "vservername": parent,
                        "certkeyname": b["certkeyname"],
                        "ca": False,
                        "snicert": False,
                        "skipcaname": False,
                    }
                    for b in self.running["ssl_bindings"]
                    if b["vservername"] == parent
                ]
            self._require(resource, parent, parent_attr if resource != "servicegroup" else "serviceGroupName")
            if binding == "servicegroup_servicegroupmember_binding":
                out = []
                for b in self.running["members"]:
                    if b["servicegroupname"] != parent:
                        continue
                    server = self.running["server"].get(b["servername"], {})
                    out.append(
                        {
                            "servicegroupname": parent,
                            "ip": server.get("ipaddress", ""),
                            "port": b["port"],  # a number
                            "svrstate": "DOWN" if b["state"] == "ENABLED" else "OUT OF SERVICE",
                            "weight": str(b["weight"]),  # a string
                            "servername": b["servername"],
                            "serverid": "0",
                            "hashid": "0",
                            "state": b["state"],
                            "customserverid": "None",
                        }
                    )
                return out
            if binding == "servicegroup_lbmonitor_binding":
                return [
                    {
                        "servicegroupname": parent,
                        "monitor_name": b["monitor_name"],
                        "monstate": "ENABLED",
                        "weight": str(b["weight"]),
                        "passive": False,
                        "monstatcode": 0,
                    }
                    for b in self.running["sg_monitors"]
                    if b["servicegroupname"] == parent
                ]
            if binding == "lbmonitor_servicegroup_binding":
                return [
                    {
                        "monitorname": parent,
                        "servicegroupname": b["servicegroupname"],
                        "weight": str(b["weight"]),
                    }
                    for b in self.running["sg_monitors"]
                    if b["monitor_name"] == parent
                ]
            if binding == "lbvserver_servicegroup_binding":
                return [
                    {
                        "name": parent,
                        "servicegroupname": b["servicegroupname"],
                        "servicename": b["servicegroupname"],
                    }
                    for b in self.running["vs_sg"]
                    if b["name"] == parent
                ]
            return [
                {"name": parent, "vservername": b["vservername"]}
                for b in self.running["group_vs"]
                if b["name"] == parent
            ]

    # -- SSL: files, cert-keys, vserver bindings ------------------------------------------------------------
    def add_file(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("filename")
        for attr in ("filename", "filelocation", "filecontent"):
            if attr not in body:
                raise required_missing(attr)
        if str(body.get("fileencoding", "BASE64")).upper() != "BASE64":
            raise invalid_value("fileencoding", body.get("fileencoding"))
        try:
            content = base64.b64decode(str(body["filecontent"]), validate=True)
        except (ValueError, binascii.Error):
            raise invalid_value("filecontent", "<not base64>") from None
        if len(content) > 2 * 1024 * 1024:
            raise NitroError(599, 1643, "File size exceeds the limit of 2 MB")
        path = _file_path(str(body["filelocation"]), str(body["filename"]))
        with self.lock:
            if path in self.running["files"]:  # even with idempotent=yes (reference/citrix.md, systemfile)
                raise NitroError(409, 1642, "Cannot create output file. File already exists")
            self.running["files"][path] = base64.b64encode(content).decode()
            # a file is on the appliance's disk, not in ns.conf: it survives a reboot without a save and
            # does not make ``configchanged`` true
            self.saved["files"][path] = self.running["files"][path]

    def get_files(self, name: str | None, args: Obj) -> list[Obj]:
        location = str(args.get("filelocation", ""))
        if not location:
            raise required_missing("fileLocation")
        with self.lock:
            out = []
            for path, content in sorted(self.running["files"].items()):
                folder, _, filename = path.rpartition("/")
                if folder != location.rstrip("/") or (name is not None and filename != name):
                    continue
                out.append(
                    {
                        "filename": filename,
                        "filelocation": folder,
                        "filecontent": content,
                        "fileencoding": "BASE64",
                        "filemodetime": "0",
                        "fileaccesstime": "0",
                    }
                )
            if name is not None and not out:
                raise no_such_resource("fileName", name)
            return out

    def delete_file(self, name: str, args: Obj) -> None:
        location = str(args.get("filelocation", ""))
        if not location:
            raise required_missing("fileLocation")
        with self.lock:
            path = _file_path(location, name)
            if path not in self.running["files"]:
                raise no_such_resource("fileName", name)
            del self.running["files"][path]
            self.saved["files"].pop(path, None)

    def add_certkey(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("certkey")
        for attr in ("certkey", "cert"):
            if attr not in body:
                raise required_missing(attr)
        allowed = {"certkey", "cert", "key", "inform", "passplain", "expirymonitor", "notificationperiod"}
        for attr in body:
            if attr not in allowed:
                raise invalid_argument(attr)
        if str(body.get("inform", "PEM")).upper() != "PEM":
            raise NitroError(
                599, 1570, "Only PEM certificates are supported by this twin"
            )  # PFX: not modelled
        name = str(body["certkey"])
        with self.lock:
            if name in self.running["sslcertkey"]:
                raise already_exists("certkeyName", name)
            cert_pem = self._ssl_file(str(body["cert"]))
            key_pem = self._ssl_file(str(body["key"])) if body.get("key") else None
            facts = _certificate(cert_pem, key_pem)
            options = self._certkey_options(body)
            for other_name, other in self.running["sslcertkey"].items():
                if other["_sha256"] == facts["_sha256"]:
                    raise NitroError(
                        409, 273, f"Resource already exists [certkeyName Contents, {other_name}]"
                    )
            self.running["sslcertkey"][name] = {
                "certkey": name,
                "cert": str(body["cert"]),
                "key": str(body.get("key", "")),
                "inform": "PEM",
                "expirymonitor": "DISABLED",
                **facts,
                **options,
            }

    def _ssl_file(self, name: str) -> bytes:
        path = name if name.startswith("/") else f"/nsconfig/ssl/{name}"
        content = self.running["files"].get(path)
        if content is None:
            raise NitroError(599, 1540, f"Invalid certificate file [{name}]")
        return base64.b64decode(content)

    def get_certkeys(self, name: str | None) -> list[Obj]:
        with self.lock:
            items = sorted(self.running["sslcertkey"].items())
            if name is not None:
                items = [(n, o) for n, o in items if n == name]
                if not items:
                    raise no_such_resource("certkeyName", name)
            out = []
            for _, obj in items:
                shown = {k: v for k, v in obj.items() if not k.startswith("_")}
                if "_not_after" in obj:  # days to expiration counted at read time
                    days = int((obj["_not_after"] - time.time()) // 86400)
                    shown["daystoexpiration"] = max(days, 0)
                    shown["status"] = "Valid" if days >= 0 else "Expired"
                out.append(shown)
            return out

    def update_certkey(self, name: str, body: Any) -> None:
        for attr in body or {}:
            if attr not in ("certkey", "expirymonitor", "notificationperiod"):
                raise invalid_argument(attr)
        with self.lock:
            if name not in self.running["sslcertkey"]:
                raise no_such_resource("certkeyName", name)
            self.running["sslcertkey"][name].update(self._certkey_options(body or {}))

    @staticmethod
    def _certkey_options(body: Obj) -> Obj:
        """The two attributes a cert-key may change (validated before anything is stored)."""
        options: Obj = {}
        if "expirymonitor" in body:
            canon = str(body["expirymonitor"]).upper()
            if canon not in ("ENABLED", "DISABLED"):
                raise invalid_value("expirymonitor", body["expirymonitor"])
            options["expirymonitor"] = canon
        if "notificationperiod" in body:
            period = int(str(body["notificationperiod"]))
            if not 10 <= period <= 100:  # doc range
                raise invalid_value("notificationperiod", period)
            options["notificationperiod"] = period
        return options

    def certkey_action(self, action: str | None, body: Any) -> None:
        """``sslcertkey?action=update|link|unlink``; any other verb (the CLI's ``change``) is 1240.

        ``update`` replaces the certificate (and key) in place, so bindings stay. A real appliance also
        refuses a new certificate for another domain unless ``nodomaincheck`` is true; the twin does not
        check domains [?: its error code is not in the reference].
        """
        if action not in ("update", "link", "unlink"):
            raise NitroError(400, 1240, "Invalid nitro action or operation")
        if not isinstance(body, dict):
            raise required_missing("certkey")
        name = str(body.get("certkey") or "")
        with self.lock:
            current = self._require("sslcertkey", name or None, "certkeyName")
            if action == "link":
                self._require("sslcertkey", body.get("linkcertkeyname"), "linkCertKeyName")
                current["linkcertkeyname"] = str(body["linkcertkeyname"])
                return
            if action == "unlink":
                current.pop("linkcertkeyname", None)
                return
            if "cert" not in body:
                raise required_missing("cert")
            if str(body.get("inform", "PEM")).upper() != "PEM":
                raise NitroError(599, 1570, "Only PEM certificates are supported by this twin")
            cert_pem = self._ssl_file(str(body["cert"]))
            key_pem = self._ssl_file(str(body["key"])) if body.get("key") else None
            facts = _certificate(cert_pem, key_pem)
            for other_name, other in self.running["sslcertkey"].items():
                if other_name != name and other["_sha256"] == facts["_sha256"]:
                    raise NitroError(
                        409, 273, f"Resource already exists [certkeyName Contents, {other_name}]"
                    )
            current.update(facts)
            current["cert"] = str(body["cert"])
            if body.get("key"):
                current["key"] = str(body["key"])

    def delete_certkey(self, name: str) -> None:
        with self.lock:
            if name not in self.running["sslcertkey"]:
                raise no_such_resource("certkeyName", name)
            if any(b["certkeyname"] == name for b in self.running["ssl_bindings"]):
                raise NitroError(599, 1070, "Object in use, cannot delete")  # code [uncertain]
            if any(o.get("linkcertkeyname") == name for o in self.running["sslcertkey"].values()):
                raise NitroError(599, 1070, "Object in use, cannot delete")  # a linked issuer [?]
            del self.running["sslcertkey"][name]

    def _bind_sslvserver_sslcertkey_binding(self, body: Obj) -> None:
        vserver_name = body.get("vservername")
        vserver = self.running["lbvserver"].get(str(vserver_name))
        if vserver is None:
            raise NitroError(404, 461, "No such Vserver")
        if vserver["servicetype"] not in ("SSL", "SSL_TCP"):
            raise NitroError(599, 1544, "Objects protocol type is not SSL")
        self._require("sslcertkey", body.get("certkeyname"), "certkeyName")
        if any(
            b["vservername"] == vserver_name and b["certkeyname"] == body["certkeyname"]
            for b in self.running["ssl_bindings"]
        ):
            raise already_exists()
        self.running["ssl_bindings"].append({"vservername": vserver_name, "certkeyname": body["certkeyname"]})

    # -- actions ----------------------------------------------------------------------------------------
    def modes(self) -> Obj:
        with self.lock:
            enabled = set(self.running["modes"])
            out: Obj = {"mode": [m for m in MODES if m in enabled]}
            for mode in MODES:
                out[mode.lower()] = mode in enabled
            return out

    def set_modes(self, body: Any, enable: bool) -> None:
        if not isinstance(body, dict) or "mode" not in body:
            raise required_missing("mode")
        raw = body["mode"]
        names = raw.split() if isinstance(raw, str) else [str(m) for m in raw]
        canon = {m.lower(): m for m in MODES}
        with self.lock:
            for name in names:
                mode = MODE_ALIASES.get(name.lower()) or canon.get(name.lower())
                if mode is None:
                    raise invalid_value("mode", name)
                if enable and mode not in self.running["modes"]:
                    self.running["modes"].append(mode)
                if not enable and mode in self.running["modes"]:
                    self.running["modes"].remove(mode)

    def set_member_state(self, body: Any, enable: bool) -> None:
        """``servicegroup?action=enable|disable`` with servername+port: one member in or out of service."""
        with self.lock:
            group = body.get("servicegroupname") if isinstance(body, dict) else None
            sg = self._require("servicegroup", group, "serviceGroupName")
            if "servername" not in body:
                sg["state"] = "ENABLED" if enable else "DISABLED"
                return
            port = int(str(body.get("port", 0)))
            for member in self.running["members"]:
                if (
                    member["servicegroupname"] == group
                    and member["servername"] == body["servername"]
                    and member["port"] == port
                ):
                    member["state"] = "ENABLED" if enable else "DISABLED"
                    return
            raise no_such_resource("serverName", str(body["servername"]))

    def _check_group_update(self, name: str, current: Obj, fields: Obj) -> None:
        """A persistency group's own rules on PUT (reference/citrix.md, lbgroup error table)."""
        persistence = {"persistencetype", "timeout", "persistmask", "v6persistmasklen"} & set(fields)
        vserver_level = fields.get("usevserverpersistency", current.get("usevserverpersistency"))
        if persistence and vserver_level == "ENABLED" and fields.get("persistencetype") != "NONE":
            raise NitroError(
                599,
                2417,
                "Vserver level persistency is enabled on the group. "
                "Set Persistence parameters on bound vservers.",
            )
        if fields.get("persistencetype") == "COOKIEINSERT":
            for binding in self.running["group_vs"]:
                if binding["name"] != name:
                    continue
                if self.running["lbvserver"][binding["vservername"]]["servicetype"] not in ("HTTP", "SSL"):
                    raise NitroError(
                        599, 2309, "Cookie persistence cannot be applied - group has non-HTTP type of vserver"
                    )

    def set_state(self, resource: str, body: Any, enable: bool) -> None:
        """``server|lbvserver?action=enable|disable``: the object goes in or out of service.

        A disabled vserver reads back ``curstate``/``effectivestate`` ``OUT OF SERVICE`` (Terraform derives
        its ``state`` attribute from ``curstate``; trap 21).
        """
        kind = KINDS[resource]
        name = body.get(kind.key) if isinstance(body, dict) else None
        with self.lock:
            obj = self._require(resource, name, kind.key)
            obj["state"] = "ENABLED" if enable else "DISABLED"
            if resource == "lbvserver":
                obj["curstate"] = obj["effectivestate"] = "DOWN" if enable else "OUT OF SERVICE"

    def unset(self, resource: str, body: Any) -> None:
        """``POST /config/<res>?action=unset {"<res>": {"<key>": "x", "<attr>": true}}``: back to the default.

        The key and the attributes that cannot change refuse with 599/278 (as a PUT would); a vserver in a
        persistency group refuses to unset its persistence (2306). An attribute without a default (comment)
        disappears from GET.
        """
        kind = KINDS.get(resource)
        if kind is None or not isinstance(body, dict):
            raise NitroError(400, 1240, "Invalid nitro action or operation")
        name = body.get(kind.key)
        with self.lock:
            current = self._require(resource, name, kind.key)
            if current.get("_builtin"):
                raise NitroError(599, 2132, "Built-in monitors cannot be modified")
            attrs = [a for a in body if a not in (kind.key, "type")]
            for attr in attrs:
                if attr not in kind.accepted or attr in kind.immutable or attr in kind.required:
                    raise invalid_argument(attr)
            locked = {"persistencetype", "timeout"} & set(attrs)
            if resource == "lbvserver" and current.get("_group") and locked:
                raise NitroError(
                    599,
                    2306,
                    "vserver is bound to a group. Set persistence parameters on group "
                    f"{current['_group']} or unbind vserver from group and set on individual vserver.",
                )
            for attr in attrs:
                if attr in kind.defaults:
                    current[attr] = copy.deepcopy(kind.defaults[attr])
                else:
                    current.pop(attr, None)
            if resource == "lbgroup":
                self._apply_group_persistence(str(name))

    def servicegroupbindings(self, group: str) -> list[Obj]:
        """``GET /config/servicegroupbindings/<sg>``: the vservers a group serves.

        An unbound group still answers one entry carrying only its name: Terraform drops a servicegroup
        from state when the key is absent (trap 10) [? exact fields of that entry].
        """
        with self.lock:
            self._require("servicegroup", group, "serviceGroupName")
            out: list[Obj] = []
            for binding in self.running["vs_sg"]:
                if binding["servicegroupname"] != group:
                    continue
                vserver = self.running["lbvserver"][binding["name"]]
                out.append(
                    {
                        "servicegroupname": group,
                        "vservername": binding["name"],
                        "ipaddress": vserver["ipv46"],
                        "port": int(vserver["port"]),
                        "state": vserver.get("state", "ENABLED"),
                    }
                )
            return out or [{"servicegroupname": group}]

    def get_binding_all(self, binding: str) -> list[Obj]:
        """``GET /config/<binding>?bulkbindings=yes``: the binding rows of every parent."""
        resource = BINDINGS[binding][0]
        with self.lock:
            parents = sorted(self.running[resource])
            return [row for parent in parents for row in self.get_binding(binding, parent)]

    def binding_summary(self, resource: str, kinds: tuple[str, ...], name: str) -> Obj:
        """``GET /config/<parent>_binding/<name>``: one object holding each non-empty binding kind."""
        with self.lock:
            key = "serviceGroupName" if resource == "servicegroup" else KINDS[resource].key
            self._require(resource, name, key)
            out: Obj = {KINDS[resource].key: name}
            for kind in kinds:
                rows = self.get_binding(kind, name)
                if rows:
                    out[kind] = rows
            return out

    def save(self) -> None:
        if not self.saving.acquire(blocking=False):
            raise NitroError(599, 293, "Operation already in progress")
        try:
            self.save_config()
        finally:
            self.saving.release()

    def features(self) -> Obj:
        """``GET /config/nsfeature``: one object (trap 2), booleans per feature plus the list of those on."""
        with self.lock:
            enabled = set(self.running["features"])
            out: Obj = {"feature": [f for f in FEATURES if f in enabled]}
            for feature in FEATURES:
                out[feature.lower()] = feature in enabled
            return out

    def set_features(self, body: Any, enable: bool) -> None:
        """``nsfeature?action=enable|disable {"nsfeature": {"feature": ["LB", "SSL"]}}`` (any case)."""
        if not isinstance(body, dict) or "feature" not in body:
            raise required_missing("feature")
        raw = body["feature"]
        names = raw.split() if isinstance(raw, str) else [str(f) for f in raw]
        canon = {f.lower(): f for f in FEATURES}
        with self.lock:
            for name in names:
                feature = canon.get(name.lower())
                if feature is None:
                    raise invalid_value("feature", name)
                if enable and feature not in self.running["features"]:
                    self.running["features"].append(feature)
                if not enable and feature in self.running["features"]:
                    self.running["features"].remove(feature)

    def ssl_feature_note(self, resource: str, entries: list[Obj]) -> list[Obj]:
        """SSL entities read back ``"value": "SSL feature disabled"`` while the feature is off (trap 20)."""
        if "SSL" in self.running["features"] or resource not in ("lbvserver", "servicegroup"):
            return entries
        return [
            {**e, "value": "SSL feature disabled"} if e.get("servicetype") in SSL_SERVICE_TYPES else e
            for e in entries
        ]

    def lbparameter(self) -> Obj:
        with self.lock:
            return dict(self.running["lbparameter"])

    def set_lbparameter(self, body: Any) -> None:
        """``PUT /config/lbparameter``: only ``allowboundsvcremoval`` is modelled."""
        if not isinstance(body, dict):
            raise required_missing("allowboundsvcremoval")
        with self.lock:
            for attr, value in body.items():
                if attr != "allowboundsvcremoval":
                    raise invalid_argument(attr)
                canon = str(value).upper()
                if canon not in ("ENABLED", "DISABLED"):
                    raise invalid_value(attr, value)
                self.running["lbparameter"][attr] = canon

    def sslvserver(self, name: str) -> list[Obj]:
        """``GET /config/sslvserver/<vs>``: the SSL side of an lbvserver (Terraform reads it for every one).

        A non-SSL vserver is refused with 1544 (Terraform ignores that error) [? code on GET].
        """
        with self.lock:
            vserver = self.running["lbvserver"].get(name)
            if vserver is None:
                raise NitroError(404, 461, "No such Vserver")
            if vserver["servicetype"] not in SSL_SERVICE_TYPES:
                raise NitroError(599, 1544, "Objects protocol type is not SSL")
            return [
                {
                    "vservername": name,
                    "ssl3": "DISABLED",
                    "tls1": "ENABLED",
                    "tls11": "ENABLED",
                    "tls12": "ENABLED",
                    "tls13": "DISABLED",
                    "sessreuse": "ENABLED",
                    "sesstimeout": 120,
                    "snienable": "DISABLED",
                    "clientauth": "DISABLED",
                }
            ]

    def nsconfig(self) -> Obj:
        with self.lock:
            return {
                "configchanged": self.running != self.saved,
                "lastconfigsavetime": "",
                "systemtype": "Stand-alone",
            }


def _file_path(location: str, name: str) -> str:
    return f"{location.rstrip('/')}/{name}"


def _certificate(cert_pem: bytes, key_pem: bytes | None) -> Obj:
    """What GET sslcertkey shows of a PEM certificate (and whether the key belongs to it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise NitroError(599, 1540, "Invalid certificate") from None
    if key_pem is not None:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise NitroError(599, 1541, "Invalid key") from None
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(
            serialization.Encoding.PEM, public
        ) != cert.public_key().public_bytes(serialization.Encoding.PEM, public):
            raise NitroError(599, 1556, "Certificate and private key do not match")  # code [uncertain]
    days = int((cert.not_valid_after_utc.timestamp() - time.time()) // 86400)
    return {
        "serial": format(cert.serial_number, "X"),
        "status": "Valid" if days >= 0 else "Expired",
        "daystoexpiration": days,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "_sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "_not_after": cert.not_valid_after_utc.timestamp(),
    }


def _seconds(value: Any, unit: Any) -> float:
    factor = {"SEC": 1.0, "MSEC": 0.001, "MIN": 60.0}.get(str(unit).upper(), 1.0)
    return float(value) * factor


def parse_args(text: str) -> Obj:
    """``args=servername:rras1,port:500`` (values URL-decoded by the caller) -> dict."""
    out: Obj = {}
    for pair in filter(None, text.split(",")):
        key, _, value = pair.partition(":")
        out[key.strip()] = value
    return out


def matches(entry: Obj, filters: Obj) -> bool:
    """``filter=`` is an AND of attribute:value pairs; values may be regular expressions."""
    for key, wanted in filters.items():
        if key not in entry or not re.fullmatch(str(wanted), str(entry[key]), re.IGNORECASE):
            return False
    return True
