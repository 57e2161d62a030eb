"""The contract every load-balancer vendor module fulfils, and what its build hands back.

A vendor module (components/f5.py, citrix.py, kemp.py) defines one ``LoadBalancerVendor`` subclass and
components/registry.py registers an instance of it; nothing else in the project lists vendors. The
cluster component asks the registry for the vendor of ``loadBalancer.kind`` and uses only this
interface: how its ``loadBalancer`` block is declared (``declaration``), what the vendor can provision
(``protocols``), the declarations its appliance cannot express
(``check``, run at preview before anything is sent), the objects a cluster needs on it (``build``), and
how to take one RRAS node out of service for a rolling restart (``drain_targets``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from components.declaration import Cluster, LoadBalancer
from providers.common.device import DeviceSettings
from providers.common.resources import DrainSpec

#: Resources by role ("pools", "virtuals", "bindings"...), as the cluster's ``objects`` output lists them.
Objects = dict[str, list[pulumi.CustomResource]]


@dataclass
class Built:
    """What a vendor's build made for one cluster."""

    #: Every resource, by role, in the order they were made.
    objects: Objects
    #: The SHA-256 hash of the SSTP certificate installed on the load balancer (TLS offload), if any:
    #: the RRAS nodes must be told it.
    sstp_certificate_sha256: pulumi.Output[str] | None = None

    def resources(self) -> list[pulumi.CustomResource]:
        return [r for group in self.objects.values() for r in group]


class LoadBalancerVendor(ABC):
    """One load-balancer product: see the module docstring."""

    #: The declaration's ``loadBalancer.kind``.
    kind: ClassVar[str]
    #: The product's name in messages ("F5 BIG-IP").
    product: ClassVar[str]
    #: The VPN protocols this version provisions on it.
    protocols: ClassVar[frozenset[str]] = frozenset({"ikev2", "sstp"})
    #: The model its ``loadBalancer`` block is validated with (components/declaration.py): the common
    #: fields, its appliance's user-name syntax and any fields of its own. A field of another vendor's
    #: model is refused, never ignored.
    declaration: ClassVar[type[LoadBalancer]] = LoadBalancer

    def check(self, cluster: Cluster) -> list[str]:
        """Problems of a declaration this appliance cannot express, each naming the cluster and field."""
        return []

    @abstractmethod
    def build(self, cluster: Cluster, owner: str, parent: pulumi.Resource) -> Built:
        """Create the cluster's resources on this load balancer as children of ``parent``."""

    def drain_targets(self, cluster: Cluster) -> Mapping[str, DrainSpec]:
        """Per RRAS node name: how to drain it on this load balancer (none: restarts are undrained)."""
        return {}


def device_settings(lb: LoadBalancer) -> DeviceSettings:
    """How providers reach the declared load balancer (the password stays in secret config)."""
    return {"url": lb.url, "user": lb.user, "password_key": lb.password_secret, "ca_bundle": lb.ca_bundle}
