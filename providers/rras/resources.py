"""Pulumi dynamic resources for RRAS node settings (what components instantiate)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from providers.common.resources import ApplianceResource
from providers.rras.objects import IpsecPolicyProvider, NodeRestartProvider, RegistryValueProvider

Opts = pulumi.ResourceOptions | None


class RrasIpsecPolicy(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(IpsecPolicyProvider(), name, props, opts)


class RrasRegistryValue(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(RegistryValueProvider(), name, props, opts)


class RrasNodeRestart(Resource):
    last_restart: pulumi.Output[dict[str, Any] | None]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(NodeRestartProvider(), name, {**props, "last_restart": None}, opts)
