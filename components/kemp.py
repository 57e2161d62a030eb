"""What a cluster needs on a Kemp (Progress) LoadMaster, as one Pulumi resource per object.

IKEv2 (DESIGN.md): UDP virtual services on VIP:500 and VIP:4500 with the RRAS nodes as real servers;
Force L7 on (Force L4 off); source-IP persistence with the declared timeout and the declared scheduling
method on both; Transparency on both when the client address is preserved; port following set on both
services (each follows the other), so IKE and NAT-T from one client reach the same node.

SSTP: a TCP virtual service on VIP:443 with source-IP persistence and a health check of the SSTP listener
(HEAD of the sra URI answered 401). Without offload it is passed through to the nodes on 443 (Kemp's
recommendation, HTTPS check); with ``sstp.tlsOffload`` the certificate and key are installed
(``addcert``, named by the certificate's SHA-256), SSL acceleration terminates TLS and the real servers
are the nodes on port 80 (HTTP check), or on 443 with SSL re-encryption.

Adoption (``loadBalancer.adopt``, docs/kemp.md#adoption): a virtual service named there keeps its name, and
it, its real servers and its port following carry ``adopt: True``, so the first ``up`` takes the unmarked
objects over instead of creating them.
"""

from __future__ import annotations

import re

import pulumi
from pydantic import Field, field_validator

from components.declaration import Cluster, LoadBalancer
from components.naming import device_object, resource_name
from components.protocols import (
    IKEV2_PORTS,
    SSTP_HEALTHY_STATUS,
    SSTP_URI,
    sstp_in_clear_to_nodes,
    sstp_node_port,
)
from components.vendor import Built, LoadBalancerVendor, Objects, device_settings
from providers.common.device import DeviceSettings
from providers.common.resources import ObjectInputs
from providers.kemp.objects import MARKER_PREFIX
from providers.kemp.resources import (
    AdoptInputs,
    KempCertificate,
    KempDrainSpec,
    KempPortFollow,
    KempRealServer,
    KempSstpVirtualService,
    KempVirtualService,
    RealServerRef,
    VsRef,
)

SCHEDULES = {"least-connections": "lc", "round-robin": "rr"}
#: ``loadBalancer.adopt`` keys: the role of each named object the project builds on a LoadMaster -> the
#: existing virtual service's Service Name (its ``NickName``) (the audit's ``FoundService.objects`` uses the
#: same keys). The virtual service of a role is the one on the declared address, port and protocol; its real
#: servers and port following have no names of their own and are taken over with it. The SSTP certificate
#: is named by its fingerprint: an offloaded one is installed again under the project's name.
IKEV2_ROLES = {500: "virtual:ikev2-500", 4500: "virtual:ikev2-4500"}
SSTP_ROLE = "virtual:sstp"
ROLES = (*IKEV2_ROLES.values(), SSTP_ROLE)
#: LoadMaster persistence timeouts: 1-59 s are silently stored as 0, the API range ends at 7 days.
MIN_TIMEOUT, MAX_TIMEOUT = 60, 604800


class LoadMasterLoadBalancer(LoadBalancer):
    """``loadBalancer`` of ``kind: kemp``: the common fields, with the LoadMaster's user-name syntax
    (docs/kemp.md#names-the-loadmaster-accepts)."""

    user_pattern = re.compile(r"^[A-Za-z0-9=~^._+#@/-]{1,64}$")
    user_rule = "a user name the LoadMaster accepts: letters, digits and = ~ ^ . _ + # @ / -, at most 64"

    #: The existing objects the first ``up`` takes over: role (``ROLES``) -> the virtual service's name.
    adopt: dict[str, str] = Field(default_factory=dict)

    @field_validator("adopt")
    @classmethod
    def _adopt(cls, v: dict[str, str]) -> dict[str, str]:
        problems = []
        for role, name in v.items():
            if role not in ROLES:
                problems.append(f"{role!r} is not a LoadMaster role; allowed: {', '.join(ROLES)}")
                continue
            problem = _name_problem(name)
            if problem:
                problems.append(f"{role}: {problem}")
        if problems:
            raise ValueError("; ".join(problems))
        return v


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a virtual service's name on a LoadMaster that carries no marker of ours."""
    if not name.strip():
        return "the name of a virtual service cannot be empty"
    if name != name.strip():
        return "a virtual service's name does not begin or end with a space"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "a virtual service's name has no control characters (tabs, newlines...)"
    if any(word.startswith(MARKER_PREFIX) for word in name.split()):
        return (
            f"{name!r} carries this project's ownership marker: name the service as it was before the "
            "project managed it (an object with a marker is not adopted but owned)"
        )
    return None


def adopted(cluster: Cluster) -> dict[str, str]:
    """The declaration's ``loadBalancer.adopt`` (empty when nothing is adopted)."""
    lb = cluster.load_balancer
    return dict(lb.adopt) if isinstance(lb, LoadMasterLoadBalancer) else {}


def check(cluster: Cluster) -> list[str]:
    """Declarations a LoadMaster cannot express, refused before anything is sent."""
    problems: list[str] = []
    timeout = cluster.persistence_timeout
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        problems.append(
            f"cluster {cluster.name!r}: persistenceTimeout: {timeout} s is outside what a LoadMaster stores "
            f"({MIN_TIMEOUT} to {MAX_TIMEOUT} s; shorter values silently become 0, i.e. no persistence)"
        )
    adopt = adopted(cluster)
    roles = [*IKEV2_ROLES.values()] if "ikev2" in cluster.protocols else []
    roles += [SSTP_ROLE] if "sstp" in cluster.protocols else []
    for role in adopt:
        if role not in roles:
            problems.append(
                f"cluster {cluster.name!r}: loadBalancer.adopt: {role!r} names an object this cluster does "
                f"not build (protocols: {', '.join(cluster.protocols)}); its roles: {', '.join(roles)}"
            )
    names: dict[str, list[str]] = {}
    for role, name in adopt.items():
        names.setdefault(name, []).append(role)
    for name, same in names.items():
        if len(same) > 1:
            problems.append(
                f"cluster {cluster.name!r}: loadBalancer.adopt: {' and '.join(same)} both name {name!r}; the "
                "project needs a virtual service of its own for each (one per port), each adopted under its "
                "own name: rename one of them on the LoadMaster (Service Name) first"
            )
    offload = cluster.sstp.tls_offload
    if "sstp" in cluster.protocols and offload is not None and offload.reencrypt:
        if cluster.client_address == "preserved":
            problems.append(
                f"cluster {cluster.name!r}: sstp.tlsOffload.reencrypt: a LoadMaster cannot combine SSL "
                "re-encryption with transparency (clientAddress: preserved); use plain HTTP to the nodes "
                "(reencrypt: false) or clientAddress: translated"
            )
    return problems


def _device(cluster: Cluster) -> DeviceSettings:
    return device_settings(cluster.load_balancer)


def _vs(cluster: Cluster, port: int) -> VsRef:
    return {"address": cluster.virtual_address, "port": port, "protocol": "udp"}


def _sstp_vs(cluster: Cluster) -> VsRef:
    return {"address": cluster.virtual_address, "port": cluster.sstp.port, "protocol": "tcp"}


def build(cluster: Cluster, owner: str, parent: pulumi.Resource) -> Built:
    """Create the cluster's LoadMaster resources as children of ``parent``."""
    base: ObjectInputs = {"device": _device(cluster), "owner": owner}
    made: Objects = {
        "virtual_services": [],
        "real_servers": [],
        "port_following": [],
    }
    sha256 = _sstp(cluster, base, parent, made) if "sstp" in cluster.protocols else None
    if "ikev2" in cluster.protocols:
        _ikev2(cluster, base, parent, made)
    return Built(made, sstp_certificate_sha256=sha256)


def _ikev2(cluster: Cluster, base: ObjectInputs, parent: pulumi.Resource, made: Objects) -> None:
    child = pulumi.ResourceOptions(parent=parent)
    adopt = adopted(cluster)
    services: dict[int, KempVirtualService] = {}
    for port in IKEV2_PORTS:
        take = _adopting(adopt, IKEV2_ROLES[port])
        services[port] = KempVirtualService(
            resource_name(cluster.name, "vs", "ikev2", port),
            {
                **base,
                **take,
                **_vs(cluster, port),
                "name": adopt.get(IKEV2_ROLES[port]) or device_object(cluster.name, "ikev2", port),
                "enabled": True,
                "transparent": cluster.client_address == "preserved",
                "force_l7": True,
                "persist": "src",
                "persist_timeout": cluster.persistence_timeout,
                "schedule": SCHEDULES[cluster.load_balancing_method],
                "check_type": "icmp",
            },
            child,
        )
        made["virtual_services"].append(services[port])
        for node in cluster.nodes:
            made["real_servers"].append(
                KempRealServer(
                    resource_name(cluster.name, "rs", "ikev2", port, node.name),
                    {
                        **base,
                        **take,
                        "vs": _vs(cluster, port),
                        "vs_id": services[port].id,
                        "address": node.address,
                        "port": port,
                        "weight": 1000,
                        "enabled": True,
                    },
                    pulumi.ResourceOptions(parent=parent, depends_on=[services[port]]),
                )
            )
    # Port following needs both services with the same real servers and persistence: set it last.
    for port, other in ((500, 4500), (4500, 500)):
        made["port_following"].append(
            KempPortFollow(
                resource_name(cluster.name, "follow", "ikev2", port),
                {
                    **base,
                    **_adopting(adopt, IKEV2_ROLES[port]),
                    "vs": _vs(cluster, port),
                    "vs_id": services[port].id,
                    "follow": _vs(cluster, other),
                    "follow_id": services[other].id,
                },
                pulumi.ResourceOptions(
                    parent=parent, depends_on=[*made["virtual_services"], *made["real_servers"]]
                ),
            )
        )


def _sstp(
    cluster: Cluster, base: ObjectInputs, parent: pulumi.Resource, made: Objects
) -> pulumi.Output[str] | None:
    """The SSTP objects; returns the offloaded certificate's SHA-256 hash, if any."""
    port = cluster.sstp.port
    offload = cluster.sstp.tls_offload
    plain_http = sstp_in_clear_to_nodes(cluster)
    vs = _sstp_vs(cluster)
    depends: list[pulumi.Resource] = []
    cert_file: pulumi.Input[str] = ""
    sha256 = None
    if offload is not None:
        cert = KempCertificate(
            resource_name(cluster.name, "certificate", "sstp"),
            {
                **base,
                "prefix": "aovpn",
                "certificate_secret": offload.certificate_secret,
                "private_key_secret": offload.private_key_secret,
            },
            pulumi.ResourceOptions(parent=parent),
        )
        made.setdefault("certificates", []).append(cert)
        depends.append(cert)
        cert_file = cert.name
        sha256 = cert.sha256
    adopt = adopted(cluster)
    take = _adopting(adopt, SSTP_ROLE)
    service = KempSstpVirtualService(
        resource_name(cluster.name, "vs", "sstp", port),
        {
            **base,
            **take,
            **vs,
            "name": adopt.get(SSTP_ROLE) or device_object(cluster.name, "sstp", port),
            "enabled": True,
            "transparent": cluster.client_address == "preserved",
            "force_l7": True,
            "persist": "src",
            "persist_timeout": cluster.persistence_timeout,
            "schedule": SCHEDULES[cluster.load_balancing_method],
            "check_type": "http" if plain_http else "https",
            "check_url": SSTP_URI,
            "check_codes": SSTP_HEALTHY_STATUS,
            "check_use_get": 0,
            "ssl_acceleration": offload is not None,
            "cert_file": cert_file,
            "ssl_reencrypt": bool(offload and offload.reencrypt),
        },
        pulumi.ResourceOptions(parent=parent, depends_on=depends),
    )
    made["virtual_services"].append(service)
    for node in cluster.nodes:
        made["real_servers"].append(
            KempRealServer(
                resource_name(cluster.name, "rs", "sstp", port, "http" if plain_http else "tls", node.name),
                {
                    **base,
                    **take,
                    "vs": vs,
                    "vs_id": service.id,
                    "address": node.address,
                    "port": sstp_node_port(cluster),
                    "weight": 1000,
                    "enabled": True,
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[service]),
            )
        )
    return sha256


def _adopting(adopt: dict[str, str], role: str) -> AdoptInputs:
    """``adopt: True`` for the objects of an adopted role (the service, its real servers, its port
    following): the create takes over the unmarked object there (providers/common/resource.py)."""
    return {"adopt": True} if role in adopt else {}


def drain_targets(cluster: Cluster) -> dict[str, KempDrainSpec]:
    """Per RRAS node: its real servers on every virtual service (disabled to drain it)."""
    services = [(_vs(cluster, port), port) for port in IKEV2_PORTS] if "ikev2" in cluster.protocols else []
    if "sstp" in cluster.protocols:
        services.append((_sstp_vs(cluster), sstp_node_port(cluster)))

    def real_servers(node_address: str) -> list[RealServerRef]:
        return [{"vs": vs, "address": node_address, "port": port} for vs, port in services]

    return {
        node.name: {
            "kind": LoadMaster.kind,
            "device": _device(cluster),
            "real_servers": real_servers(node.address),
        }
        for node in cluster.nodes
    }


class LoadMaster(LoadBalancerVendor):
    """The LoadMaster: its declaration model, what it cannot express, the objects a cluster needs on it,
    how a node is drained."""

    kind = "kemp"
    product = "Kemp LoadMaster"
    declaration = LoadMasterLoadBalancer
    check = staticmethod(check)
    build = staticmethod(build)
    drain_targets = staticmethod(drain_targets)
