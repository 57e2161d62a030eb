"""Citrix twin objects: server, servicegroup, lbmonitor, lbvserver, lbgroup (add, set, rm, get, unset).

Canonical case on output, immutable attributes refused with 599/278 (docs/citrix.md,
docs/citrix.md#virtual-servers-and-runtime-state), servers owning their IP
(docs/citrix.md#service-group-members), monitor identity by (name, type) (docs/citrix.md#monitors), idempotent
adds (docs/citrix.md#idempotent-adds), cascading servicegroup deletes (docs/citrix.md#deletes-that-cascade),
member persistence locked by a persistency group (docs/citrix.md#persistency-groups), enable/disable
(docs/citrix.md#virtual-servers-and-runtime-state), one addressable lbvserver per IP address, port and
transport."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from emulators.citrix.base import CitrixBase
from emulators.citrix.exceptions import (
    NitroError,
    already_exists,
    invalid_argument,
    invalid_value,
    no_such_resource,
    required_missing,
)
from emulators.citrix.tables import KINDS, TRANSPORTS, Kind, Obj


class ObjectsMixin(CitrixBase):
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
            self._check_listener(name, obj)
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
            # 60 SEC and other whole minutes read back in minutes (docs/citrix.md#monitors)
            for value_key, unit_key in (("interval", "units3"), ("downtime", "units2")):
                if obj[unit_key] == "SEC" and int(obj[value_key]) >= 60 and int(obj[value_key]) % 60 == 0:
                    obj[value_key], obj[unit_key] = int(obj[value_key]) // 60, "MIN"

    def _check_listener(self, name: str, obj: Obj) -> None:
        """One addressable lbvserver per traffic domain, IP address, port and transport.

        NITRO refuses a second vserver on a taken IP:port with 409/273 "Resource already exists" and no
        bracket detail, although no object of that name exists: the Citrix ingress controller met it when
        creating a csvserver on a VIP:port another vserver held (github.com/netscaler/
        netscaler-k8s-ingress-controller issues #551 and #705, "Another Vserver already exists with same
        IP:Port. errorcode=273"). Seen for csvserver; the same code for lbvserver is this twin's reading
        [?]. A non-addressable vserver (0.0.0.0 / ::) takes no listener; ``range`` is not modelled.
        """
        address = ipaddress.ip_address(str(obj["ipv46"]))
        if address.is_unspecified:
            return
        transports = TRANSPORTS[obj["servicetype"]]
        for other_name, other in self.running["lbvserver"].items():
            if (
                other_name != name
                and ipaddress.ip_address(str(other["ipv46"])) == address
                and int(other["port"]) == int(obj["port"])
                and str(other["td"]) == str(obj["td"])
                and TRANSPORTS[other["servicetype"]] & transports
            ):
                raise NitroError(409, 273, "Resource already exists")

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

    def _check_group_update(self, name: str, current: Obj, fields: Obj) -> None:
        """A persistency group's own rules on PUT (docs/citrix.md#persistency-groups)."""
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
        its ``state`` attribute from ``curstate``; docs/citrix.md#virtual-servers-and-runtime-state).
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


def _seconds(value: Any, unit: Any) -> float:
    factor = {"SEC": 1.0, "MSEC": 0.001, "MIN": 60.0}.get(str(unit).upper(), 1.0)
    return float(value) * factor
