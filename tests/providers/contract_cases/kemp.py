"""Kemp LoadMaster: virtual services (plain, health-checked, SSTP), real servers, port following and
certificates."""

from __future__ import annotations

from typing import Any

from providers.kemp import client as clients_module
from providers.kemp import objects as lm
from providers.kemp import objects as objects_module
from tests.providers.contract_cases import (
    CERT_SECRET,
    KEY_SECRET,
    OTHER_OWNER,
    ContractCase,
    Ctx,
    Props,
    VendorCases,
    certificate_secrets,
    fingerprint,
)

VIP = "203.0.113.30"


def _command(ctx: Ctx, command: str, params: dict[str, Any]) -> None:
    ctx.client(lm.VirtualServiceProvider).command(command, params, what=f"hand {command}")


def _vs(port: int, protocol: str = "udp") -> Props:
    return {"address": VIP, "port": port, "protocol": protocol}


def _modvs(**params: Any) -> Any:
    def change(ctx: Ctx, props: Props) -> None:
        _command(ctx, "modvs", {**lm.vs_params(props), **params})

    return change


def _foreign_vs(ctx: Ctx, props: Props) -> None:
    """A virtual service on our address, port and protocol that a person made (nickname, no marker)."""
    _command(ctx, "addvs", {**lm.vs_params(props), "NickName": props["name"]})


def _mark_parent(ctx: Ctx, props: Props) -> None:
    """The virtual service this object lives on now carries another stack's marker."""
    _command(ctx, "modvs", {**lm.vs_params(props["vs"]), "NickName": f"someone {OTHER_OWNER}"})


def virtual_service(port: int = 500, protocol: str = "udp", **more: Any) -> Any:
    def inputs(ctx: Ctx) -> Props:
        settings = {
            "name": f"contract_{protocol}_{port}",
            "enabled": True,
            "transparent": True,
            "force_l7": True,
            "persist": "src",
            "persist_timeout": 3600,
            "schedule": "rr",
            "check_type": "icmp",
        }
        return ctx.base(**_vs(port, protocol), **{**settings, **more})

    return inputs


CHECKS = {"check_type": "https", "check_url": "/sra_x/", "check_codes": "401", "check_use_get": 0}
health_checked = virtual_service(8443, "tcp", **CHECKS)


def sstp(ctx: Ctx) -> Props:
    offload = {"ssl_acceleration": True, "cert_file": _cert_name(), "ssl_reencrypt": False}
    return virtual_service(443, "tcp", **{**CHECKS, "check_type": "http"}, **offload)(ctx)


def certificate(ctx: Ctx) -> Props:
    return ctx.base(prefix="aovpn", certificate_secret=CERT_SECRET, private_key_secret=KEY_SECRET)


def _cert_name() -> str:
    return f"aovpn_{fingerprint()[:16]}"


def _delete_certificate(ctx: Ctx, props: Props) -> None:
    _command(ctx, "delcert", {"cert": _cert_name()})


def real_server(ctx: Ctx) -> Props:
    return ctx.base(vs=_vs(500), vs_id="vs500", address="10.0.0.11", port=500, weight=1000, enabled=True)


def _modrs(ctx: Ctx, props: Props) -> None:
    rs = {**lm.vs_params(props["vs"]), "rs": props["address"], "rsport": props["port"]}
    _command(ctx, "modrs", {**rs, "Weight": 500})


def port_follow(ctx: Ctx) -> Props:
    return ctx.base(vs=_vs(500), vs_id="vs500", follow=_vs(4500), follow_id="vs4500")


def _unfollow(ctx: Ctx, props: Props) -> None:
    _command(ctx, "modvs", {**lm.vs_params(props["vs"]), "FollowVSID": 0})


CASES = (
    ContractCase(
        "virtual service",
        lm.VirtualServiceProvider,
        virtual_service(),
        hand_change=_modvs(Transparent=False),
        foreign=_foreign_vs,
    ),
    ContractCase(
        "health-checked virtual service",
        lm.HealthCheckedVirtualServiceProvider,
        health_checked,
        hand_change=_modvs(CheckUrl="/other/"),
        foreign=_foreign_vs,
    ),
    ContractCase(
        "sstp virtual service",
        lm.SstpVirtualServiceProvider,
        sstp,
        parents=lambda ctx: [(lm.CertificateProvider, certificate(ctx))],
        hand_change=_modvs(CheckCodes="200"),
        foreign=_foreign_vs,
    ),
    ContractCase(
        "certificate",
        lm.CertificateProvider,
        certificate,
        hand_change=_delete_certificate,
        note="a LoadMaster certificate carries no marker and listcert shows only names: one of our "
        "fingerprint-derived name cannot be told from ours",
    ),
    ContractCase(
        "real server",
        lm.RealServerProvider,
        real_server,
        parents=lambda ctx: [(lm.VirtualServiceProvider, virtual_service()(ctx))],
        hand_change=_modrs,
        foreign=_mark_parent,
    ),
    ContractCase(
        "port following",
        lm.PortFollowProvider,
        port_follow,
        parents=lambda ctx: [
            (lm.VirtualServiceProvider, virtual_service(500)(ctx)),
            (lm.VirtualServiceProvider, virtual_service(4500)(ctx)),
        ],
        hand_change=_unfollow,
        foreign=_mark_parent,
    ),
)

VENDOR = VendorCases(
    vendor="kemp",
    user="automation",
    password="automation-pass",
    password_key="kempPassword",
    cases=CASES,
    provider_modules=(objects_module,),
    clients=clients_module._CLIENTS,
    abstract=frozenset(["KempProvider", "VsChildProvider"]),
    secrets=certificate_secrets,
)
