"""Citrix ADC: every NITRO object type, binding and mode the providers manage."""

from __future__ import annotations

import base64
from typing import Any

from providers.citrix import client as clients_module
from providers.citrix import objects as adc
from providers.citrix import objects as objects_module
from providers.citrix.client import args_query
from providers.common.device import Device
from tests.providers.contract_cases import (
    CERT_SECRET,
    KEY_SECRET,
    OTHER_OWNER,
    ContractCase,
    Ctx,
    Props,
    VendorCases,
    certificate_pems,
    certificate_secrets,
    fingerprint,
)

VIP = "203.0.113.20"
PING = {"interval": 5, "response_timeout": 2, "retries": 3, "downtime": 30}


def _nitro(ctx: Ctx) -> Any:
    """Hand changes are a person's, made as the appliance's administrator: the provider's own account holds
    only the least-privilege policy (docs/citrix.md#least-privilege-account), which cannot, for one,
    disable a mode."""
    admin = ctx.extra.get("admin")
    if admin is None:
        device = Device.from_props({"device": {**ctx.device, "user": "nsroot"}})
        admin = ctx.extra["admin"] = clients_module.NitroClient(device, "nsroot")
    return admin


def _call(ctx: Ctx, method: str, resource: str, body: dict[str, Any] | None = None, **kw: Any) -> None:
    name = kw.pop("name", None)
    payload = {resource: body} if body is not None else None
    _nitro(ctx).call(method, resource, name, body=payload, what=f"hand {resource}", operation="hand", **kw)


def _put(resource: str, name_attr: str, **attrs: Any) -> Any:
    def change(ctx: Ctx, props: Props) -> None:
        _call(ctx, "PUT", resource, {name_attr: props["name"], **attrs}, name=props["name"])

    return change


def _foreign(cls: type[adc.NitroObjectProvider], owner: str | None) -> Any:
    """Someone else's object of the same name (the same attributes, another or no comment)."""

    def make(ctx: Ctx, props: Props) -> None:
        body = cls.fields.body({**props, "owner": owner})
        if owner is None:
            body.pop("comment", None)
        _call(ctx, "POST", cls.resource, body)

    return make


def _unbind(binding: str, parent_key: str, **match: str) -> Any:
    def change(ctx: Ctx, props: Props) -> None:
        query = args_query(**{attr: props[key] for key, attr in match.items()})
        _call(ctx, "DELETE", binding, name=props[parent_key], query=query)

    return change


def _mark_parent(resource: str, name_attr: str, key: str) -> Any:
    """The object the binding hangs from now carries another stack's marker."""

    def change(ctx: Ctx, props: Props) -> None:
        _call(ctx, "PUT", resource, {name_attr: props[key], "comment": OTHER_OWNER}, name=props[key])

    return change


# -- inputs ------------------------------------------------------------------------------------------
def server(ctx: Ctx) -> Props:
    return ctx.base(name="contract_srv1", address="10.0.0.11")


def servicegroup(ctx: Ctx) -> Props:
    return ctx.base(name="contract_sg", service_type="UDP", usip="YES")


def vserver(ctx: Ctx) -> Props:
    return ctx.base(
        name="contract_vs", service_type="UDP", port=500, address=VIP, lb_method="LEASTCONNECTION"
    )


def ssl_vserver(ctx: Ctx) -> Props:
    return ctx.base(
        name="contract_ssl_vs",
        service_type="SSL",
        port=443,
        address=VIP,
        lb_method="LEASTCONNECTION",
        persistence_type="SSLSESSION",
        persistence_backup="SOURCEIP",
        timeout=5,
    )


def lbgroup(ctx: Ctx) -> Props:
    return ctx.base(name="contract_group", persistence_type="SOURCEIP", timeout=5)


def ping(ctx: Ctx) -> Props:
    return ctx.base(name="contract_ping", monitor_type="PING", **PING)


def http_monitor(ctx: Ctx) -> Props:
    return ctx.base(
        name="contract_http",
        monitor_type="HTTP",
        http_request="HEAD /sra_x/",
        response_codes=["401"],
        secure="YES",
        **PING,
    )


def certkey(ctx: Ctx) -> Props:
    return ctx.base(prefix="aovpn", certificate_secret=CERT_SECRET, private_key_secret=KEY_SECRET)


def _certkey_name() -> str:
    return f"aovpn_{fingerprint()[:16]}"


def member(ctx: Ctx) -> Props:
    return ctx.base(servicegroup="contract_sg", server="contract_srv1", port=500, parents=["sg", "srv"])


def monitor_binding(ctx: Ctx) -> Props:
    return ctx.base(servicegroup="contract_sg", monitor="contract_ping", parents=["sg", "ping"])


def vserver_binding(ctx: Ctx) -> Props:
    return ctx.base(vserver="contract_vs", servicegroup="contract_sg", parents=["vs", "sg"])


def group_member(ctx: Ctx) -> Props:
    return ctx.base(group="contract_group", vserver="contract_vs", parents=["group", "vs"])


def certkey_binding(ctx: Ctx) -> Props:
    return ctx.base(vserver="contract_ssl_vs", certkey=_certkey_name(), parents=["vs", "cert"])


def mode(ctx: Ctx) -> Props:
    return ctx.base(mode="USNIP", enabled=True)


# -- hand changes and foreign objects that need more than one call -------------------------------------
def _delete_certkey(ctx: Ctx, props: Props) -> None:
    name = _certkey_name()
    _call(ctx, "DELETE", "sslcertkey", name=name)
    for suffix in (".crt", ".key"):
        _call(ctx, "DELETE", "systemfile", name=f"{name}{suffix}", query=adc.CertKeyProvider.SSL_DIR)


def _foreign_certkey(ctx: Ctx, props: Props) -> None:
    """Another certificate installed under the name ours would have."""
    cert, key, _ = certificate_pems("someone-else.example")
    name = _certkey_name()
    for suffix, data in ((".key", key), (".crt", cert)):
        body = {
            "filename": f"{name}{suffix}",
            "filelocation": "/nsconfig/ssl/",
            "filecontent": base64.b64encode(data.encode()).decode(),
            "fileencoding": "BASE64",
        }
        _call(ctx, "POST", "systemfile", body)
    _call(ctx, "POST", "sslcertkey", {"certkey": name, "cert": f"{name}.crt", "key": f"{name}.key"})


def _foreign_vserver(ctx: Ctx) -> None:
    body = {"name": "someone_vs", "servicetype": "UDP", "port": 4500, "ipv46": "198.51.100.1"}
    _call(ctx, "POST", "lbvserver", body)


def _foreign_lbgroup(ctx: Ctx, props: Props) -> None:
    """A persistency group of our name holding someone else's vserver."""
    _foreign_vserver(ctx)
    _call(ctx, "POST", "lbgroup", {"name": props["name"], "persistencetype": "SOURCEIP"})
    _call(ctx, "PUT", "lbgroup_lbvserver_binding", {"name": props["name"], "vservername": "someone_vs"})


def _foreign_monitor(ctx: Ctx, props: Props) -> None:
    """A monitor of our name bound to someone else's service group."""
    _call(ctx, "POST", "lbmonitor", {"monitorname": props["name"], "type": props["monitor_type"]})
    _call(ctx, "POST", "servicegroup", {"servicegroupname": "someone_sg", "servicetype": "UDP"})
    binding = {"servicegroupname": "someone_sg", "monitor_name": props["name"]}
    _call(ctx, "PUT", "servicegroup_lbmonitor_binding", binding)


def _disable_mode(ctx: Ctx, props: Props) -> None:
    _call(ctx, "POST", "nsmode", {"mode": ["USNIP"]}, query="action=disable")


_SG_PARENTS = [(adc.ServerProvider, server), (adc.ServiceGroupProvider, servicegroup)]


def _parents(*pairs: Any) -> Any:
    return lambda ctx: [(cls, inputs(ctx)) for cls, inputs in pairs]


CASES = (
    ContractCase(
        "server",
        adc.ServerProvider,
        server,
        hand_change=_put("server", "name", ipaddress="10.0.0.99"),
        foreign=_foreign(adc.ServerProvider, OTHER_OWNER),
    ),
    ContractCase(
        "servicegroup",
        adc.ServiceGroupProvider,
        servicegroup,
        hand_change=_put("servicegroup", "servicegroupname", usip="NO"),
        foreign=_foreign(adc.ServiceGroupProvider, None),
    ),
    ContractCase(
        "lbvserver",
        adc.LbVserverProvider,
        vserver,
        hand_change=_put("lbvserver", "name", lbmethod="ROUNDROBIN"),
        foreign=_foreign(adc.LbVserverProvider, OTHER_OWNER),
    ),
    ContractCase(
        "lbvserver with persistence",
        adc.PersistentLbVserverProvider,
        ssl_vserver,
        hand_change=_put("lbvserver", "name", timeout=9),
        foreign=_foreign(adc.PersistentLbVserverProvider, None),
    ),
    ContractCase(
        "lbgroup",
        adc.LbGroupProvider,
        lbgroup,
        hand_change=_put("lbgroup", "name", timeout=9),
        foreign=_foreign_lbgroup,
    ),
    ContractCase(
        "lbmonitor ping",
        adc.PingMonitorProvider,
        ping,
        hand_change=_put("lbmonitor", "monitorname", type="PING", retries=5),
        foreign=_foreign_monitor,
    ),
    ContractCase(
        "lbmonitor http",
        adc.HttpMonitorProvider,
        http_monitor,
        hand_change=_put("lbmonitor", "monitorname", type="HTTP", httprequest="HEAD /other"),
        foreign=_foreign_monitor,
    ),
    ContractCase(
        "sslcertkey",
        adc.CertKeyProvider,
        certkey,
        hand_change=_delete_certkey,
        foreign=_foreign_certkey,
        note="named by fingerprint: no property to change; the hand change is its removal",
    ),
    ContractCase(
        "servicegroup member",
        adc.ServiceGroupMemberProvider,
        member,
        parents=_parents(*_SG_PARENTS),
        hand_change=_unbind(
            "servicegroup_servicegroupmember_binding", "servicegroup", server="servername", port="port"
        ),
        foreign=_mark_parent("servicegroup", "servicegroupname", "servicegroup"),
    ),
    ContractCase(
        "servicegroup monitor binding",
        adc.ServiceGroupMonitorBindingProvider,
        monitor_binding,
        parents=_parents((adc.ServiceGroupProvider, servicegroup), (adc.PingMonitorProvider, ping)),
        hand_change=_unbind("servicegroup_lbmonitor_binding", "servicegroup", monitor="monitor_name"),
        foreign=_mark_parent("servicegroup", "servicegroupname", "servicegroup"),
    ),
    ContractCase(
        "lbvserver servicegroup binding",
        adc.LbVserverServiceGroupBindingProvider,
        vserver_binding,
        parents=_parents((adc.LbVserverProvider, vserver), (adc.ServiceGroupProvider, servicegroup)),
        hand_change=_unbind("lbvserver_servicegroup_binding", "vserver", servicegroup="servicegroupname"),
        foreign=_mark_parent("lbvserver", "name", "vserver"),
    ),
    ContractCase(
        "lbgroup member",
        adc.LbGroupVserverBindingProvider,
        group_member,
        parents=_parents((adc.LbGroupProvider, lbgroup), (adc.LbVserverProvider, vserver)),
        hand_change=_unbind("lbgroup_lbvserver_binding", "group", vserver="vservername"),
        foreign=_mark_parent("lbvserver", "name", "vserver"),
    ),
    ContractCase(
        "sslvserver certkey binding",
        adc.SslVserverCertKeyBindingProvider,
        certkey_binding,
        parents=_parents((adc.PersistentLbVserverProvider, ssl_vserver), (adc.CertKeyProvider, certkey)),
        hand_change=_unbind("sslvserver_sslcertkey_binding", "vserver", certkey="certkeyname"),
        foreign=_mark_parent("lbvserver", "name", "vserver"),
    ),
    ContractCase(
        "ns mode",
        adc.ModeProvider,
        mode,
        hand_change=_disable_mode,
        deletes=False,
        note="a global mode carries no marker and is never disabled by a delete",
    ),
)

VENDOR = VendorCases(
    vendor="citrix",
    user="automation",
    password="automation-pass",
    password_key="adcPassword",
    cases=CASES,
    provider_modules=(objects_module,),
    clients=clients_module._CLIENTS,
    abstract=frozenset(["BindingProvider", "NitroObjectProvider"]),
    secrets=certificate_secrets,
)
