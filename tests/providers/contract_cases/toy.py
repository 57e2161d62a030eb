"""The toy vendor's provider contract cases (tests/toy_vendor): its one object type, the pool."""

from __future__ import annotations

from tests.providers.contract_cases import OTHER_OWNER, ContractCase, Ctx, Props, VendorCases
from tests.toy_vendor import provider, twin


def _pool(ctx: Ctx) -> Props:
    return ctx.base(name="vpn-east_ikev2_500", port=500, members=["10.0.0.61:500", "10.0.0.62:500"])


def _hand_change(ctx: Ctx, props: Props) -> None:
    ctx.client(provider.PoolProvider).call(
        "PATCH", f"/api/pools/{props['name']}", {"members": ["10.0.0.61:500"]}, what="a hand change"
    )


def _foreign(ctx: Ctx, props: Props) -> None:
    body = {"name": props["name"], "port": 500, "members": [], "description": OTHER_OWNER}
    ctx.client(provider.PoolProvider).call("POST", "/api/pools", body, what="someone else's pool")


VENDOR = VendorCases(
    vendor="toy",
    user="admin",
    password=twin.USERS["admin"],
    password_key="toyPassword",
    cases=(ContractCase("pool", provider.PoolProvider, _pool, _hand_change, foreign=_foreign),),
    provider_modules=(provider,),
    clients=provider._CLIENTS,
    app=twin.create_app,
)
