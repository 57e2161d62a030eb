"""What the unit tests share: a declaration to vary, and the components built under Pulumi's mocks."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest

from components.declaration import DeclarationError, parse_clusters

BASE: dict[str, Any] = {
    "name": "vpn-east",
    "protocols": ["ikev2"],
    "virtualAddress": "203.0.113.10",
    "nodes": [
        {"name": "rras1", "address": "198.51.100.11"},
        {"name": "rras2", "address": "198.51.100.12"},
    ],
    "loadBalancer": {
        "kind": "f5",
        "url": "https://bigip.example.net",
        "user": "automation",
        "passwordSecret": "f5Password",
    },
}


def cluster(**changes: Any) -> dict[str, Any]:
    c = copy.deepcopy(BASE)
    c.update(changes)
    return c


def problems(raw: list[Any]) -> list[str]:
    with pytest.raises(DeclarationError) as info:
        parse_clusters(raw)
    return info.value.problems


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def build_objects(mocks: Mocks, **changes: Any) -> dict[str, dict[str, Any]]:
    """The inputs of every resource a VpnCluster of ``cluster(**changes)`` makes, by resource name (an
    Output: use it from a ``pulumi.runtime.test``)."""
    from components.cluster import VpnCluster

    (c,) = parse_clusters([cluster(**changes)])
    comp = VpnCluster(c, "aovpn-iac:aovpn/test")

    def collect(_: Any) -> dict[str, dict[str, Any]]:
        return {
            r.name: {k: v for k, v in r.inputs.items() if k != "__provider"}
            for r in mocks.resources
            if r.custom
        }

    return comp.objects.apply(collect)  # type: ignore[return-value]
