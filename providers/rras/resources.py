"""Pulumi dynamic resources for RRAS node settings (what components instantiate), with their inputs.

Every setting takes ``device`` (the node's WinRM connection, DeviceSettings with ``auth``), ``node``
(its name) and ``owner``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi

from providers.common.device import DeviceSettings
from providers.common.resources import ApplianceResource, DrainSpec, Opts, TypedResource
from providers.rras.objects import (
    ClientProfileProvider,
    IpsecPolicyProvider,
    NodeRestartProvider,
    RegistryValueProvider,
)


class NodeInputs(TypedDict):
    device: DeviceSettings
    node: str
    owner: str


class IpsecPolicyInputs(NodeInputs):
    #: Set-VpnServerConfiguration -CustomPolicy parameters by their cmdlet names
    policy: Mapping[str, str | int]


class RegistryValueInputs(NodeInputs):
    path: str
    name: str
    #: DWord, String, Binary ...
    kind: str
    keep_on_delete: bool
    #: present (then ``value`` is set: PresentRegistryValueInputs) or absent
    ensure: str


class PresentRegistryValueInputs(RegistryValueInputs):
    value: pulumi.Input[Any]


class LoadBalancerRef(TypedDict):
    kind: str
    url: str


class ClientProfileInputs(TypedDict):
    cluster: str
    load_balancer: LoadBalancerRef
    virtual_address: str
    #: Set-VpnServerConfiguration -CustomPolicy parameters by their cmdlet names (what clients must match)
    policy: Mapping[str, str | int]


class NodeRestartInputs(NodeInputs):
    #: How to drain the node on its load balancer first, or None (restarted undrained).
    drain: DrainSpec | None
    #: The revisions of the settings each service depends on, by service name.
    services: Mapping[str, Sequence[pulumi.Input[str]]]
    later_nodes: list[str]


class RrasIpsecPolicy(ApplianceResource, module="rras", name="IpsecPolicy"):
    def __init__(self, name: str, props: IpsecPolicyInputs, opts: Opts = None) -> None:
        super().__init__(IpsecPolicyProvider(), name, props, opts)


class RrasRegistryValue(ApplianceResource, module="rras", name="RegistryValue"):
    def __init__(self, name: str, props: RegistryValueInputs, opts: Opts = None) -> None:
        super().__init__(RegistryValueProvider(), name, props, opts)


class RrasNodeRestart(TypedResource, module="rras", name="NodeRestart"):
    last_restart: pulumi.Output[dict[str, Any] | None]

    def __init__(self, name: str, props: NodeRestartInputs, opts: Opts = None) -> None:
        super().__init__(NodeRestartProvider(), name, {**props, "last_restart": None}, opts)


class RrasClientProfile(TypedResource, module="rras", name="ClientProfile"):
    """What a cluster's clients see (virtual address, load balancer, IPsec policy); its diff warns when a
    change reaches them (providers/rras/objects.py, ClientProfileProvider)."""

    def __init__(self, name: str, props: ClientProfileInputs, opts: Opts = None) -> None:
        super().__init__(ClientProfileProvider(), name, props, opts)
