"""F5 BIG-IP: every LTM object type the providers manage."""

from __future__ import annotations

from typing import Any

from providers.f5 import client as clients_module
from providers.f5 import objects as f5
from providers.f5 import objects as objects_module
from providers.f5.client import object_path
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

P = "Common"
VIP = "203.0.113.10"


def _patch(cls: type[f5.F5ObjectProvider], body: dict[str, Any]) -> Any:
    def change(ctx: Ctx, props: Props) -> None:
        ctx.client(cls).call("PATCH", object_path(cls.collection, P, props["name"]), body, what="hand change")

    return change


def _delete_by_hand(cls: type[f5.F5ObjectProvider]) -> Any:
    def change(ctx: Ctx, props: Props) -> None:
        ctx.client(cls).call("DELETE", object_path(cls.collection, P, props["name"]), what="hand delete")

    return change


def _foreign(cls: type[f5.F5ObjectProvider], owner: str | None) -> Any:
    """Someone else's object of the same name: the same attributes, another (or no) description."""

    def make(ctx: Ctx, props: Props) -> None:
        provider = ctx.provider(cls)
        assert isinstance(provider, f5.F5ObjectProvider)
        body = provider.create_body(props)
        body.pop("description")
        if owner:
            body["description"] = owner
        ctx.client(cls).call("POST", f"/mgmt/tm/{cls.collection}", body, what="foreign object")

    return make


def node(ctx: Ctx, name: str = "contract_n1", address: str = "10.0.0.11") -> Props:
    return ctx.base(name=name, partition=P, address=address)


def pool(ctx: Ctx) -> Props:
    return ctx.base(
        name="contract_pool",
        partition=P,
        load_balancing_mode="round-robin",
        monitor="/Common/gateway_icmp",
        members=["contract_n1:500"],
        parents=["/Common/contract_n1"],
    )


def srcaddr(ctx: Ctx, name: str = "contract_srcaddr", match: bool = True) -> Props:
    return ctx.base(
        name=name, partition=P, timeout=300, match_across_services=match, defaults_from="/Common/source_addr"
    )


def ssl_persist(ctx: Ctx) -> Props:
    return ctx.base(
        name="contract_ssl",
        partition=P,
        timeout=300,
        match_across_services=False,
        defaults_from="/Common/ssl",
    )


def virtual(ctx: Ctx) -> Props:
    return ctx.base(
        name="contract_vs",
        partition=P,
        destination_address=VIP,
        port=500,
        ip_protocol="udp",
        pool="/Common/contract_pool",
        profiles=[{"name": "/Common/udp", "context": "all"}],
        source_address_translation="none",
        persistence="/Common/contract_srcaddr",
        fallback_persistence="",
        parents=["/Common/contract_pool", "/Common/contract_srcaddr"],
    )


def monitor(kind: str) -> Any:
    def inputs(ctx: Ctx) -> Props:
        return ctx.base(
            name=f"contract_{kind}",
            partition=P,
            defaults_from=f"/Common/{kind}",
            send="HEAD /sra_x/ HTTP/1.1\\r\\nHost: vpn\\r\\nConnection: Close\\r\\n\\r\\n",
            recv="401",
            interval=5,
            timeout=16,
        )

    return inputs


def certificate(ctx: Ctx) -> Props:
    return ctx.base(
        base_name="contract_sstp", partition=P, certificate_secret=CERT_SECRET, private_key_secret=KEY_SECRET
    )


def _stem() -> str:
    return f"contract_sstp_{fingerprint()[:16]}"


def clientssl(ctx: Ctx) -> Props:
    return ctx.base(
        name="contract_clientssl",
        partition=P,
        defaults_from="/Common/clientssl",
        certificate=f"/Common/{_stem()}.crt",
        key=f"/Common/{_stem()}.key",
    )


def _reparent_clientssl(ctx: Ctx, props: Props) -> None:
    """A person makes another parent profile and points ours at it."""
    client = ctx.client(f5.ClientSslProfileProvider)
    body = {"name": "hand_made", "partition": P, "defaultsFrom": "/Common/clientssl"}
    client.call("POST", "/mgmt/tm/ltm/profile/client-ssl", body, what="hand-made profile")
    _patch(f5.ClientSslProfileProvider, {"defaultsFrom": "/Common/hand_made"})(ctx, props)


def _delete_certificate(ctx: Ctx, props: Props) -> None:
    client = ctx.client(f5.CertificateProvider)
    client.call("DELETE", object_path("sys/crypto/cert", P, f"{_stem()}.crt"), what="hand delete")


def _foreign_certificate(ctx: Ctx, props: Props) -> None:
    """Another certificate installed under the name ours would have."""
    cert, key, _ = certificate_pems("someone-else.example")
    client = ctx.client(f5.CertificateProvider)
    for kind, data in (("key", key), ("cert", cert)):
        name = f"{_stem()}.{'crt' if kind == 'cert' else 'key'}"
        local = client.upload(name, data.encode())
        body = {"command": "install", "name": f"/{P}/{name}", "from-local-file": local}
        client.call("POST", f"/mgmt/tm/sys/crypto/{kind}", body, what="foreign certificate")


CASES = (
    ContractCase(
        "node",
        f5.NodeProvider,
        node,
        hand_change=_delete_by_hand(f5.NodeProvider),
        foreign=_foreign(f5.NodeProvider, None),
        note="a node has no property but its marker: the hand change is its removal",
    ),
    ContractCase(
        "pool",
        f5.PoolProvider,
        pool,
        parents=lambda ctx: [(f5.NodeProvider, node(ctx))],
        hand_change=_patch(f5.PoolProvider, {"loadBalancingMode": "least-connections-member"}),
        foreign=_foreign(f5.PoolProvider, OTHER_OWNER),
    ),
    ContractCase(
        "persistence source-addr",
        f5.SourceAddressPersistenceProvider,
        srcaddr,
        hand_change=_patch(f5.SourceAddressPersistenceProvider, {"matchAcrossServices": "disabled"}),
        foreign=_foreign(f5.SourceAddressPersistenceProvider, None),
    ),
    ContractCase(
        "persistence ssl",
        f5.SslPersistenceProvider,
        ssl_persist,
        hand_change=_patch(f5.SslPersistenceProvider, {"timeout": "60"}),
        foreign=_foreign(f5.SslPersistenceProvider, OTHER_OWNER),
    ),
    ContractCase(
        "virtual",
        f5.VirtualServerProvider,
        virtual,
        parents=lambda ctx: [
            (f5.NodeProvider, node(ctx)),
            (f5.PoolProvider, pool(ctx)),
            (f5.SourceAddressPersistenceProvider, srcaddr(ctx)),
        ],
        hand_change=_patch(f5.VirtualServerProvider, {"sourceAddressTranslation": {"type": "automap"}}),
        foreign=_foreign(f5.VirtualServerProvider, None),
    ),
    ContractCase(
        "monitor http",
        f5.HttpMonitorProvider,
        monitor("http"),
        hand_change=_patch(f5.HttpMonitorProvider, {"interval": 10}),
        foreign=_foreign(f5.HttpMonitorProvider, OTHER_OWNER),
    ),
    ContractCase(
        "monitor https",
        f5.HttpsMonitorProvider,
        monitor("https"),
        hand_change=_patch(f5.HttpsMonitorProvider, {"recv": "200"}),
        foreign=_foreign(f5.HttpsMonitorProvider, None),
    ),
    ContractCase(
        "certificate",
        f5.CertificateProvider,
        certificate,
        hand_change=_delete_certificate,
        foreign=_foreign_certificate,
        note="named by fingerprint: no property to change; the hand change is its removal",
    ),
    ContractCase(
        "profile client-ssl",
        f5.ClientSslProfileProvider,
        clientssl,
        parents=lambda ctx: [(f5.CertificateProvider, certificate(ctx))],
        hand_change=_reparent_clientssl,
        foreign=_foreign(f5.ClientSslProfileProvider, OTHER_OWNER),
    ),
)

VENDOR = VendorCases(
    vendor="f5",
    user="automation",
    password="automation-pass",
    password_key="f5Password",
    cases=CASES,
    provider_modules=(objects_module,),
    clients=clients_module._CLIENTS,
    abstract=frozenset(["F5ObjectProvider", "PersistenceProvider"]),
    secrets=certificate_secrets,
)
