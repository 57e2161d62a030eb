"""Which BIG-IP objects an Always On VPN cluster needs, and how they depend on each other.

IKEv2 (DESIGN.md): a node per RRAS server; pools for UDP 500 and 4500 with every node as a member and
/Common/gateway_icmp monitoring; one source-address persistence profile with Match Across Services (so
IKE on 500 and NAT-T on 4500 from one client reach the same node) as the default persistence of both
UDP virtual servers; Source Address Translation None while the client address is preserved (RRAS limits
IPsec SAs per source address), automap only when the declaration says it is translated.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.declaration import Cluster
from components.naming import IKEV2_PORTS, device_object, resource_name
from providers.f5.resources import F5Node, F5Pool, F5SourceAddressPersistence, F5VirtualServer

LB_MODES = {"least-connections": "least-connections-member", "round-robin": "round-robin"}
GATEWAY_ICMP = "/Common/gateway_icmp"
UDP_PROFILE = "/Common/udp"
SOURCE_ADDR_PARENT = "/Common/source_addr"


def build(cluster: Cluster, owner: str, parent: pulumi.Resource) -> dict[str, list[pulumi.CustomResource]]:
    """Create the cluster's BIG-IP resources as children of ``parent``; returns them by role."""
    lb = cluster.load_balancer
    partition = lb.partition
    device = {"url": lb.url, "user": lb.user, "password_key": lb.password_secret, "ca_bundle": lb.ca_bundle}
    base: dict[str, Any] = {"device": device, "partition": partition, "owner": owner}
    child = pulumi.ResourceOptions(parent=parent)
    made: dict[str, list[pulumi.CustomResource]] = {
        "nodes": [],
        "pools": [],
        "persistence": [],
        "virtuals": [],
    }

    nodes: list[F5Node] = []
    for node in cluster.nodes:
        nodes.append(
            F5Node(
                resource_name(cluster.name, "node", node.name),
                {**base, "name": device_object(cluster.name, node.name), "address": node.address},
                child,
            )
        )
    made["nodes"].extend(nodes)

    if "ikev2" in cluster.protocols:
        persistence = F5SourceAddressPersistence(
            resource_name(cluster.name, "persistence", "ikev2"),
            {
                **base,
                "name": device_object(cluster.name, "ikev2", "srcaddr"),
                "timeout": cluster.persistence_timeout,
                "match_across_services": True,
                "defaults_from": SOURCE_ADDR_PARENT,
            },
            child,
        )
        made["persistence"].append(persistence)
        snat = "none" if cluster.client_address == "preserved" else "automap"
        for port in IKEV2_PORTS:
            members = sorted(f"{device_object(cluster.name, n.name)}:{port}" for n in cluster.nodes)
            pool_name = device_object(cluster.name, "ikev2", port)
            pool = F5Pool(
                resource_name(cluster.name, "pool", "ikev2", port),
                {
                    **base,
                    "name": pool_name,
                    "load_balancing_mode": LB_MODES[cluster.load_balancing_method],
                    "monitor": GATEWAY_ICMP,
                    "members": members,
                },
                pulumi.ResourceOptions(parent=parent, depends_on=nodes),
            )
            made["pools"].append(pool)
            virtual = F5VirtualServer(
                resource_name(cluster.name, "virtual", "ikev2", port),
                {
                    **base,
                    "name": device_object(cluster.name, "ikev2", port, "vs"),
                    "destination_address": cluster.virtual_address,
                    "port": port,
                    "ip_protocol": "udp",
                    "pool": f"/{partition}/{pool_name}",
                    "profiles": [UDP_PROFILE],
                    "source_address_translation": snat,
                    "persistence": f"/{partition}/{device_object(cluster.name, 'ikev2', 'srcaddr')}",
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[pool, persistence]),
            )
            made["virtuals"].append(virtual)
    return made
