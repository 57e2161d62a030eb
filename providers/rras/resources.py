"""Pulumi dynamic resources for RRAS node settings (what components instantiate)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from providers.rras.objects import IpsecPolicyProvider, RegistryValueProvider, RollingRestartProvider

Opts = pulumi.ResourceOptions | None


class RrasIpsecPolicy(Resource):
    revision: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(IpsecPolicyProvider(), name, {**props, "revision": None}, opts)


class RrasRegistryValue(Resource):
    revision: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(RegistryValueProvider(), name, {**props, "revision": None}, opts)


class RrasRollingRestart(Resource):
    last_roll: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(RollingRestartProvider(), name, {**props, "last_roll": None}, opts)
