"""Pulumi dynamic resources for BIG-IP LTM objects (what components instantiate)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from providers.f5.objects import (
    NodeProvider,
    PoolProvider,
    SourceAddressPersistenceProvider,
    VirtualServerProvider,
)

Opts = pulumi.ResourceOptions | None


class F5Node(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(NodeProvider(), name, props, opts)


class F5Pool(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(PoolProvider(), name, props, opts)


class F5SourceAddressPersistence(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SourceAddressPersistenceProvider(), name, props, opts)


class F5VirtualServer(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(VirtualServerProvider(), name, props, opts)
