"""Citrix twin bindings: servicegroup members, monitor bindings, vserver->servicegroup, lbgroup membership.

Members bound by IP create IP-named servers that outlive them (docs/citrix.md,
docs/citrix.md#service-group-members); duplicate bindings answer 409/273 without a bracket
(docs/citrix.md#response-formatting); one persistency group per vserver (docs/citrix.md#persistency-groups);
``servicegroupbindings`` (docs/citrix.md#queries-and-binding-summaries), bulk binding reads and
``<parent>_binding`` summaries; member enable/disable. The certificate binding's own handler is in
``emulators.citrix.certificates``."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from emulators.citrix.base import CitrixBase
from emulators.citrix.exceptions import (
    NitroError,
    already_exists,
    invalid_value,
    no_such_resource,
    required_missing,
)
from emulators.citrix.tables import BINDINGS, KINDS, Obj


class BindingsMixin(CitrixBase):
    # -- bindings --------------------------------------------------------------------------------------
    def bind(self, binding: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("name")
        with self.lock:
            getattr(self, f"_bind_{binding}")(body)

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
                # binding by IP creates a server named after the IP, which outlives the binding
                # (docs/citrix.md#service-group-members)
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

    def servicegroupbindings(self, group: str) -> list[Obj]:
        """``GET /config/servicegroupbindings/<sg>``: the vservers a group serves.

        An unbound group still answers one entry carrying only its name: Terraform drops a servicegroup
        from state when the key is absent (docs/citrix.md#queries-and-binding-summaries) [? exact fields of
        that entry].
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
