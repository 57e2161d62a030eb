"""VpnCluster: one Always On VPN cluster as a Pulumi ComponentResource.

It turns a validated ``Cluster`` declaration into one resource per appliance object, through the
module of its load-balancer vendor, as children of the component (names derive from the cluster name).
Its outputs: the appliance objects it manages and the effective IKEv2 IPsec policy.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import registry, rras
from components.client_profile import native_profile_xml, vpn_connection_ipsec_parameters
from components.declaration import Cluster


class VpnCluster(pulumi.ComponentResource):
    """An Always On VPN cluster: its load-balancer objects (and, later, its RRAS node settings)."""

    objects: pulumi.Output[list[dict[str, str]]]
    ipsec_policy: pulumi.Output[dict[str, Any]]
    client_profile: pulumi.Output[dict[str, Any]]

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
        if all(node.management is not None for node in cluster.nodes):
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
        self.ipsec_policy = pulumi.Output.from_input(cluster.ipsec.as_cmdlet_parameters())
        self.client_profile = pulumi.Output.from_input(
            {
                "nativeProfileXml": native_profile_xml(cluster.ipsec),
                "vpnConnectionIPsecParameters": vpn_connection_ipsec_parameters(cluster.ipsec),
            }
        )
        self.register_outputs(
            {
                "objects": self.objects,
                "ipsec_policy": self.ipsec_policy,
                "client_profile": self.client_profile,
                "sstp_certificate_sha256": self.sstp_certificate_sha256,
                "load_balancer": cluster.load_balancer.kind,
                "virtual_address": cluster.virtual_address,
            }
        )
