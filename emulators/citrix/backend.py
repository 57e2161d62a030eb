"""The Citrix ADC twin's state and rules (NITRO config API subset for AOVPN load balancing).

Objects (server, servicegroup, lbmonitor, lbvserver, lbgroup) and bindings (members, monitor bindings,
vserver->servicegroup, persistency-group membership), global modes and the saved configuration, with
the rules reference/citrix.md lists as fidelity traps: per-attribute output types (3), canonical case
on output, immutable attributes refused with 599/278 (15), implicit IP-named servers that outlive their
member binding and own their IP (9), monitor identity by (name, type) with its error codes (11, 12),
one persistency group per vserver with member persistence locked (14), cascading servicegroup deletes
(17), ``configchanged`` flipping with writes and saves (18), idempotent adds (7), sessions with idle
expiry (6).
"""

from __future__ import annotations

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
        },
        defaults={
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
            "state": ("ENABLED", "DISABLED"),
        },
        defaults={
            "ipv46": "0.0.0.0",
            "port": 0,
            "lbmethod": "LEASTCONNECTION",
            "backuplbmethod": "ROUNDROBIN",
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
}
NUMBER_ATTRS = {"port": True, "monstatcode": True}


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
            del self.running[resource][name]
            if resource == "servicegroup":  # cascades (allowboundsvcremoval ENABLED by default)
                for key in ("members", "sg_monitors", "vs_sg"):
                    self.running[key] = [b for b in self.running[key] if b["servicegroupname"] != name]
            if resource == "server":  # its members go with it [uncertain]
                self.running["members"] = [b for b in self.running["members"] if b["servername"] != name]
            if resource == "lbvserver":
                self.running["vs_sg"] = [b for b in self.running["vs_sg"] if b["name"] != name]
                self.running["group_vs"] = [b for b in self.running["group_vs"] if b["vservername"] != name]
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
        if group["persistencetype"] == "NONE" or group["usevserverpersistency"] == "ENABLED":
            return
        for binding in self.running["group_vs"]:
            if binding["name"] == group_name:
                vserver = self.running["lbvserver"][binding["vservername"]]
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

    def save(self) -> None:
        if not self.saving.acquire(blocking=False):
            raise NitroError(599, 293, "Operation already in progress")
        try:
            self.save_config()
        finally:
            self.saving.release()

    def nsconfig(self) -> Obj:
        with self.lock:
            return {
                "configchanged": self.running != self.saved,
                "lastconfigsavetime": "",
                "systemtype": "Stand-alone",
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
