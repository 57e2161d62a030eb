"""What a cluster needs on the toy load balancer: a pool per IKEv2 port with the nodes as members. It
provisions IKEv2 only, and keeps persistence for at most ten minutes (a limit its ``check`` refuses at
preview)."""

from __future__ import annotations

import pulumi

from components.declaration import Cluster
from components.naming import device_object, resource_name
from components.protocols import IKEV2_PORTS
from components.vendor import Built, LoadBalancerVendor, Objects, device_settings
from tests.toy_vendor.provider import ToyPool

MAX_PERSISTENCE_S = 600


class ToyBalancer(LoadBalancerVendor):
    kind = "toy"
    product = "Toy LB"
    protocols = frozenset({"ikev2"})

    def check(self, cluster: Cluster) -> list[str]:
        if cluster.persistence_timeout > MAX_PERSISTENCE_S:
            return [
                f"cluster {cluster.name!r}: persistenceTimeout: {cluster.persistence_timeout} s is more than "
                f"a Toy LB keeps (at most {MAX_PERSISTENCE_S} s)"
            ]
        return []

    def build(self, cluster: Cluster, owner: str, parent: pulumi.Resource) -> Built:
        device = device_settings(cluster.load_balancer)
        made: Objects = {"pools": []}
        for port in IKEV2_PORTS:
            made["pools"].append(
                ToyPool(
                    resource_name(cluster.name, "pool", port),
                    {
                        "device": device,
                        "owner": owner,
                        "name": device_object(cluster.name, "ikev2", port),
                        "port": port,
                        "members": sorted(f"{n.address}:{port}" for n in cluster.nodes),
                    },
                    pulumi.ResourceOptions(parent=parent),
                )
            )
        return Built(made)
