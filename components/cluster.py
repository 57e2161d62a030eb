"""VpnCluster: one Always On VPN cluster as a Pulumi ComponentResource.

It turns a validated ``Cluster`` declaration into one resource per appliance object, through the
module of its load-balancer vendor, as children of the component (names derive from the cluster name).
Its outputs: the appliance objects it manages and the effective IKEv2 IPsec policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from components import citrix, f5, kemp, rras
from components.client_profile import native_profile_xml, vpn_connection_ipsec_parameters
from components.declaration import Cluster, DeclarationError

Builder = Callable[[Cluster, str, pulumi.Resource], dict[str, list[pulumi.CustomResource]]]

#: Load-balancer vendors this version can provision, by declaration ``loadBalancer.kind``.
LOAD_BALANCERS: dict[str, Builder] = {"f5": f5.build, "citrix": citrix.build, "kemp": kemp.build}
#: How to drain an RRAS node on each vendor's load balancer, for rolling restarts (by node name).
DRAIN_TARGETS: dict[str, Callable[[Cluster], dict[str, dict[str, Any]]]] = {
    "f5": f5.drain_targets,
    "citrix": citrix.drain_targets,
    "kemp": kemp.drain_targets,
}
#: Vendors whose module also provisions SSTP.
SSTP_SUPPORT: set[str] = {"f5", "citrix", "kemp"}
#: Per-vendor limits of what the appliance can express (problems named like the declaration's own).
VENDOR_CHECKS: dict[str, Callable[[Cluster], list[str]]] = {"citrix": citrix.check, "kemp": kemp.check}


def check_supported(clusters: list[Cluster]) -> None:
    """Refuse, before anything is sent, declarations this version cannot provision yet."""
    problems = [
        f"cluster {c.name!r}: loadBalancer.kind: {c.load_balancer.kind!r} is not supported by this version "
        f"yet; supported: {', '.join(sorted(LOAD_BALANCERS))}"
        for c in clusters
        if c.load_balancer.kind not in LOAD_BALANCERS
    ]
    problems += [
        f"cluster {c.name!r}: protocols: 'sstp' is not supported on {c.load_balancer.kind} by this version "
        f"yet; SSTP is supported on: {', '.join(sorted(SSTP_SUPPORT))}"
        for c in clusters
        if "sstp" in c.protocols
        and c.load_balancer.kind in LOAD_BALANCERS
        and c.load_balancer.kind not in SSTP_SUPPORT
    ]
    for c in clusters:
        if c.load_balancer.kind in VENDOR_CHECKS:
            problems += VENDOR_CHECKS[c.load_balancer.kind](c)
    if problems:
        raise DeclarationError(problems)


class VpnCluster(pulumi.ComponentResource):
    """An Always On VPN cluster: its load-balancer objects (and, later, its RRAS node settings)."""

    objects: pulumi.Output[list[dict[str, str]]]
    ipsec_policy: pulumi.Output[dict[str, Any]]
    client_profile: pulumi.Output[dict[str, Any]]

    def __init__(self, cluster: Cluster, owner: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aovpn:index:VpnCluster", cluster.name, None, opts)
        made = LOAD_BALANCERS[cluster.load_balancer.kind](cluster, owner, self)
        certificates = made.get("certificates") or []
        # The SSTP certificate's SHA-256 hash: the RRAS nodes must be told it when TLS is offloaded.
        self.sstp_certificate_sha256: pulumi.Output[str | None] = (
            certificates[0].sha256 if certificates else pulumi.Output.from_input(None)  # type: ignore[attr-defined]
        )
        if all(node.management is not None for node in cluster.nodes):
            drain = DRAIN_TARGETS.get(cluster.load_balancer.kind, lambda _c: {})(cluster)
            made.update(
                rras.build(
                    cluster,
                    owner,
                    self,
                    after=[r for group in made.values() for r in group],
                    drain=drain,
                    sstp_certificate_sha256=self.sstp_certificate_sha256 if certificates else None,
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
