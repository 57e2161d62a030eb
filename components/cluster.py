"""VpnCluster: one Always On VPN cluster as a Pulumi ComponentResource.

It turns a validated ``Cluster`` declaration into one resource per appliance object, through the
module of its load-balancer vendor, as children of the component (names derive from the cluster name).
Its outputs: the appliance objects it manages, a count of them by kind (the type token's vendor and
object, ``f5:Pool``), the effective IKEv2 IPsec policy, the client profile and the SSTP certificate clients
see with its days left (``sstp_certificate``, read-only records: components/rras.py). When the stack
manages the RRAS nodes, an ``RrasClientProfile`` records what the clients see (virtual address, load balancer,
policy), so that a preview warns when a change reaches them (providers/rras/objects.py,
ClientProfileProvider).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource as DynamicResource

from components import registry, rras
from components.client_profile import native_profile_xml, vpn_connection_ipsec_parameters
from components.declaration import Cluster
from components.naming import resource_name
from providers.common.resources import type_token
from providers.rras.resources import RrasClientProfile


def kind_of(resource: pulumi.Resource) -> str:
    """``f5:Pool`` for a resource typed ``pulumi-python:dynamic/f5:Pool``."""
    if not isinstance(resource, DynamicResource):
        return "other"
    return type_token(type(resource)).removeprefix("pulumi-python:dynamic/").removeprefix("pulumi-python:")


class VpnCluster(pulumi.ComponentResource):
    """An Always On VPN cluster: its load-balancer objects (and, later, its RRAS node settings)."""

    objects: pulumi.Output[list[dict[str, str]]]
    objects_by_kind: dict[str, int]
    ipsec_policy: pulumi.Output[dict[str, Any]]
    client_profile: pulumi.Output[dict[str, Any]]
    sstp_certificate: pulumi.Output[dict[str, Any] | None]

    def __init__(self, cluster: Cluster, owner: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aovpn:index:VpnCluster", cluster.name, None, opts)
        vendor = registry.vendor(cluster.load_balancer.kind)
        built = vendor.build(cluster, owner, self)
        made = built.objects
        sha256 = built.sstp_certificate_sha256
        # The SSTP certificate's SHA-256 hash: the RRAS nodes must be told it when TLS is offloaded.
        self.sstp_certificate_sha256: pulumi.Output[str | None] = (
            sha256 if sha256 is not None else pulumi.Output.from_input(None)
        )
        policy = cluster.ipsec.as_cmdlet_parameters()
        if all(node.management is not None for node in cluster.nodes):
            # The servers' policy is this stack's to set, so the clients' side is recorded with it: its
            # diff warns when a change reaches the clients (the policy, the appliance holding the VIP).
            RrasClientProfile(
                resource_name(cluster.name, "client-profile"),
                {
                    "cluster": cluster.name,
                    "load_balancer": {"kind": cluster.load_balancer.kind, "url": cluster.load_balancer.url},
                    "virtual_address": cluster.virtual_address,
                    "policy": policy,
                },
                pulumi.ResourceOptions(parent=self),
            )
            made.update(
                rras.build(
                    cluster,
                    owner,
                    self,
                    after=built.resources(),
                    drain=vendor.drain_targets(cluster),
                    sstp_certificate_sha256=sha256,
                )
            )
        resources = [r for group in made.values() for r in group]
        self.objects = pulumi.Output.all(*[r.id for r in resources]).apply(
            lambda ids: [
                {"role": role, "id": rid}
                for role, rid in zip([role for role, group in made.items() for _ in group], ids, strict=True)
            ]
        )
        self.objects_by_kind = {}
        for resource in resources:
            self.objects_by_kind[kind_of(resource)] = self.objects_by_kind.get(kind_of(resource), 0) + 1
        self.ipsec_policy = pulumi.Output.from_input(policy)
        self.client_profile = pulumi.Output.from_input(
            {
                "nativeProfileXml": native_profile_xml(cluster.ipsec),
                "vpnConnectionIPsecParameters": vpn_connection_ipsec_parameters(cluster.ipsec),
            }
        )
        # The SSTP certificate clients see and its days left (docs/rras.md#sstp-certificate-expiry).
        managed = all(node.management is not None for node in cluster.nodes)
        self.sstp_certificate = rras.sstp_certificate(cluster, self, managed=managed)
        self.register_outputs(
            {
                "objects": self.objects,
                "objects_by_kind": self.objects_by_kind,
                "ipsec_policy": self.ipsec_policy,
                "client_profile": self.client_profile,
                "sstp_certificate_sha256": self.sstp_certificate_sha256,
                "sstp_certificate": self.sstp_certificate,
                "load_balancer": cluster.load_balancer.kind,
                "virtual_address": cluster.virtual_address,
            }
        )
