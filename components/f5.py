"""Which BIG-IP objects an Always On VPN cluster needs, and how they depend on each other.

IKEv2 (DESIGN.md): a node per RRAS server; pools for UDP 500 and 4500 with every node as a member and
/Common/gateway_icmp monitoring; one source-address persistence profile with Match Across Services (so
IKE on 500 and NAT-T on 4500 from one client reach the same node) as the default persistence of both
UDP virtual servers; Source Address Translation None while the client address is preserved (RRAS limits
IPsec SAs per source address), automap only when the declaration says it is translated.

SSTP (DESIGN.md): a TCP virtual server on VIP:443 with a pool of the nodes; SSL-session persistence
with source-address affinity as fallback; a monitor that checks the SSTP listener itself (HEAD of the
SSTP URI answered 401), over HTTPS without offload and over HTTP on port 80 with TLS offload. With
offload the public certificate and key (from secret config) are installed and a client-ssl profile
terminates TLS; with re-encryption /Common/serverssl carries it on to the nodes on 443.

Adoption (issue 14, docs/f5.md#adopting-a-hand-built-cluster): ``loadBalancer.adopt`` maps the role of an
object the project builds (``ADOPT_ROLES``: ``virtual:ikev2-500``, ``pool:sstp``, ``node:<node name>``...)
to the name of an existing object built by hand. That object is used under its own name instead of the
derived one, and its inputs carry ``"adopt": True``: the provider base reads it at preview and says what
will change on it, and the first ``up`` takes it over (only the differences and the ownership marker are
written; nothing is deleted or recreated). Pulumi's ``import`` is not used: a dynamic provider's Read gets
no ``__provider`` on import (pulumi/pulumi#16175) and an import whose inputs differ from the object fails
the update. Keep the entries after the first ``up``: the name is the object's identity, and dropping one
means the derived name, i.e. a new object in place of the adopted one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pulumi
from pydantic import Field, ValidationInfo, field_validator

from components.declaration import Cluster, LoadBalancer, Str
from components.naming import device_object, resource_name
from components.protocols import (
    IKEV2_PORTS,
    SSTP_HEALTHY_STATUS,
    SSTP_URI,
    sstp_in_clear_to_nodes,
    sstp_node_port,
)
from components.save import config_save
from components.vendor import Built, LoadBalancerVendor, Objects, device_settings
from providers.common.device import DeviceSettings
from providers.f5.client import OBJECT_NAME_RE
from providers.f5.resources import (
    AdoptedName,
    F5Certificate,
    F5ClientSslProfile,
    F5ConfigSave,
    F5DrainSpec,
    F5HttpMonitor,
    F5HttpsMonitor,
    F5Inputs,
    F5Node,
    F5Pool,
    F5SourceAddressPersistence,
    F5SslPersistence,
    F5VirtualServer,
    ProfileRef,
    full_path,
)

LB_MODES = {"least-connections": "least-connections-member", "round-robin": "round-robin"}
GATEWAY_ICMP = "/Common/gateway_icmp"
UDP_PROFILE = "/Common/udp"
SOURCE_ADDR_PARENT = "/Common/source_addr"
SSL_PERSIST_PARENT = "/Common/ssl"
TCP_PROFILE = "/Common/tcp"
CLIENTSSL_PARENT = "/Common/clientssl"
SERVERSSL_PROFILE = "/Common/serverssl"

#: A BIG-IP object name as ``loadBalancer.adopt`` takes it: one name (a node the GUI made may be named by
#: its address, IPv6 included), optionally ``/<partition>/`` first; nothing a URL or tmsh could read as more.
ADOPT_NAME_RE = re.compile(
    r"^(?:/(?P<partition>[A-Za-z][A-Za-z0-9_.-]{0,63})/)?(?P<name>[A-Za-z0-9_][A-Za-z0-9_.:-]{0,254})$"
)
#: BIG-IP's built-in objects by the kind of role (docs/f5.md#built-in-parents): the project makes its own
#: objects from them and never takes one over.
BUILT_IN = {
    "persistence": {"source_addr", "ssl"},
    "monitor": {"http", "https", "gateway_icmp"},
    "profile": {"clientssl", "serverssl"},
}


def adopt_roles(cluster: Cluster) -> list[str]:
    """The ``loadBalancer.adopt`` keys of this cluster: one per object the project builds for it (the
    certificate is named by its fingerprint and is never adopted). A node's role is ``node:<its name>`` or
    ``node:<its address>`` (what the audit writes, ops/audit/f5.py: it knows addresses, not names)."""
    roles = [f"node:{n.name}" for n in cluster.nodes] + [f"node:{n.address}" for n in cluster.nodes]
    if "ikev2" in cluster.protocols:
        roles += [f"{kind}:ikev2-{port}" for kind in ("pool", "virtual") for port in IKEV2_PORTS]
        roles.append("persistence:ikev2")
    if "sstp" in cluster.protocols:
        roles += [
            "monitor:sstp",
            "pool:sstp",
            "persistence:sstp-ssl",
            "persistence:sstp-srcaddr",
            "virtual:sstp",
        ]
        if cluster.sstp.tls_offload is not None:
            roles.append("profile:sstp-clientssl")
    return roles


def check(cluster: Cluster) -> list[str]:
    """``loadBalancer.adopt`` problems, refused at preview: unknown roles, built-ins, one object for two."""
    lb = _declared(cluster)
    where = f"cluster {cluster.name!r}: loadBalancer.adopt"
    allowed = adopt_roles(cluster)
    problems: list[str] = []
    unknown = sorted(set(lb.adopt) - set(allowed))
    if unknown:
        problems.append(
            f"{where}: unknown role {', '.join(map(repr, unknown))}: not an object this cluster builds; its "
            f"roles are {', '.join(allowed)}"
        )
    for node in cluster.nodes:
        if f"node:{node.name}" in lb.adopt and f"node:{node.address}" in lb.adopt:
            problems.append(
                f"{where}: node:{node.name} and node:{node.address} both name node {node.name}'s object; "
                "keep one of them"
            )
    seen: dict[tuple[str, str], str] = {}
    for role, name in sorted(lb.adopt.items()):
        kind = role.split(":", 1)[0]
        if role in allowed and name in BUILT_IN.get(kind, set()) and lb.partition == "Common":
            problems.append(
                f"{where}.{role}: /Common/{name} is a BIG-IP built-in; the project makes its own {kind} "
                "from it and never changes a built-in: leave this role out"
            )
        other = seen.setdefault((kind, name), role)
        if other != role:
            problems.append(
                f"{where}: {other} and {role} both name {kind} {name!r}; the project needs two objects "
                f"there (leave one of them out and the project creates it)"
            )
    return problems


class BigIpLoadBalancer(LoadBalancer):
    """``loadBalancer`` of ``kind: f5``: the common fields, the BIG-IP's user-name syntax, the partition the
    objects go in and the HA device group to config-sync to (docs/f5.md#names-the-big-ip-accepts)."""

    user_pattern = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
    user_rule = (
        "a user name the BIG-IP accepts: a letter, digit or '_', then letters, digits and _ . @ -, at most 64"
    )

    partition: Str = "Common"
    device_group: Str | None = None
    #: Existing objects to take over, by role (``adopt_roles``): role -> the object's name on the device.
    adopt: dict[str, str] = Field(default_factory=dict, alias="adopt")

    @field_validator("partition", "device_group")
    @classmethod
    def _object_name(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and not OBJECT_NAME_RE.match(v):
            what = "partition" if info.field_name == "partition" else "device group"
            raise ValueError(
                f"is not a BIG-IP {what} name (a letter, then letters, digits and _ . -, at most 64; "
                "docs/f5.md#names-the-big-ip-accepts)"
            )
        return v

    @field_validator("adopt")
    @classmethod
    def _adopt(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        partition = info.data.get("partition", "Common")
        names: dict[str, str] = {}
        for role, given in v.items():
            found = ADOPT_NAME_RE.match(given.strip())
            if not found:
                raise ValueError(
                    f"{role}: {given!r} is not a name a BIG-IP object can have (letters, digits and _ . : -, "
                    "optionally /<partition>/ first; no spaces, '/', '~' or '%')"
                )
            if found["partition"] and found["partition"] != partition:
                raise ValueError(
                    f"{role}: {given!r} is in partition {found['partition']}, but the cluster's objects are "
                    f"in {partition} (loadBalancer.partition): adopt only objects of that partition"
                )
            names[role] = found["name"]
        return names


class _Names:
    """The device name of each object: the adopted one (``loadBalancer.adopt``) or the derived one."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.adopted = dict(_declared(cluster).adopt)
        for node in cluster.nodes:  # a node adopted by its address: by its name from here on
            by_address = self.adopted.pop(f"node:{node.address}", None)
            if by_address is not None:
                self.adopted.setdefault(f"node:{node.name}", by_address)

    def of(self, role: str, *parts: str | int) -> str:
        return self.adopted.get(role) or device_object(self.cluster.name, *parts)

    def node(self, node: str) -> str:
        return self.of(f"node:{node}", node)

    def name(self, role: str, *parts: str | int) -> AdoptedName:
        """The ``name`` input, and ``adopt`` when the declaration names an existing object for the role."""
        if role in self.adopted:
            return {"name": self.adopted[role], "adopt": True}
        return {"name": device_object(self.cluster.name, *parts)}


def _ids(resources: Sequence[pulumi.CustomResource]) -> list[pulumi.Output[str]]:
    """The ids of the objects another one is built on, as its ``parents`` input: BIG-IP refuses to delete
    a node, monitor, pool or profile still in use, so when one of them is replaced delete-first, what
    uses it is replaced with it (providers/common/resource.py, ``parent_keys``)."""
    return [r.id for r in resources]


def _declared(cluster: Cluster) -> BigIpLoadBalancer:
    """The cluster's ``loadBalancer`` as the BIG-IP model validated it (components/declaration.py)."""
    lb = cluster.load_balancer
    if not isinstance(lb, BigIpLoadBalancer):
        raise TypeError(f"cluster {cluster.name!r}: loadBalancer was not validated as an F5 declaration")
    return lb


def _device(lb: BigIpLoadBalancer) -> DeviceSettings:
    """How providers reach the BIG-IP (and the HA device group its changes are synced to)."""
    return {**device_settings(lb), "sync_group": lb.device_group}


def build(cluster: Cluster, owner: str, parent: pulumi.Resource) -> Built:
    """Create the cluster's BIG-IP resources as children of ``parent``."""
    lb = _declared(cluster)
    partition = lb.partition
    device = _device(lb)
    base: F5Inputs = {"device": device, "partition": partition, "owner": owner}
    named = _Names(cluster)
    child = pulumi.ResourceOptions(parent=parent)
    made: Objects = {
        role: []
        for role in ("nodes", "certificates", "monitors", "profiles", "persistence", "pools", "virtuals")
    }

    nodes: list[F5Node] = []
    for node in cluster.nodes:
        nodes.append(
            F5Node(
                resource_name(cluster.name, "node", node.name),
                {**base, **named.name(f"node:{node.name}", node.name), "address": node.address},
                child,
            )
        )
    made["nodes"].extend(nodes)

    if "ikev2" in cluster.protocols:
        persistence = F5SourceAddressPersistence(
            resource_name(cluster.name, "persistence", "ikev2"),
            {
                **base,
                **named.name("persistence:ikev2", "ikev2", "srcaddr"),
                "timeout": cluster.persistence_timeout,
                "match_across_services": True,
                "defaults_from": SOURCE_ADDR_PARENT,
            },
            child,
        )
        made["persistence"].append(persistence)
        snat = "none" if cluster.client_address == "preserved" else "automap"
        for port in IKEV2_PORTS:
            members = sorted(f"{named.node(n.name)}:{port}" for n in cluster.nodes)
            pool_name = named.of(f"pool:ikev2-{port}", "ikev2", port)
            pool = F5Pool(
                resource_name(cluster.name, "pool", "ikev2", port),
                {
                    **base,
                    **named.name(f"pool:ikev2-{port}", "ikev2", port),
                    "load_balancing_mode": LB_MODES[cluster.load_balancing_method],
                    "monitor": GATEWAY_ICMP,
                    "members": members,
                    "parents": _ids(nodes),
                },
                pulumi.ResourceOptions(parent=parent, depends_on=nodes),
            )
            made["pools"].append(pool)
            virtual = F5VirtualServer(
                resource_name(cluster.name, "virtual", "ikev2", port),
                {
                    **base,
                    **named.name(f"virtual:ikev2-{port}", "ikev2", port, "vs"),
                    "destination_address": cluster.virtual_address,
                    "port": port,
                    "ip_protocol": "udp",
                    "pool": full_path(partition, pool_name),
                    "profiles": [{"name": UDP_PROFILE, "context": "all"}],
                    "source_address_translation": snat,
                    "persistence": full_path(partition, named.of("persistence:ikev2", "ikev2", "srcaddr")),
                    "fallback_persistence": "",
                    "parents": _ids([pool, persistence]),
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[pool, persistence]),
            )
            made["virtuals"].append(virtual)
    sha256 = _sstp(cluster, base, parent, nodes, made, named) if "sstp" in cluster.protocols else None
    made["config_save"] = [config_save(F5ConfigSave, cluster.name, device, made, parent)]
    return Built(made, sstp_certificate_sha256=sha256)


def _sstp(
    cluster: Cluster,
    base: F5Inputs,
    parent: pulumi.Resource,
    nodes: list[F5Node],
    made: Objects,
    named: _Names,
) -> pulumi.Output[str] | None:
    """The SSTP objects; returns the offloaded certificate's SHA-256 hash, if any."""
    partition = base["partition"]
    child = pulumi.ResourceOptions(parent=parent)
    offload = cluster.sstp.tls_offload
    plain_http = sstp_in_clear_to_nodes(cluster)
    node_port = sstp_node_port(cluster)
    host = cluster.sstp.host_name or cluster.virtual_address

    # The monitor's type follows the offload mode; switching mode creates the new monitor, moves the pool
    # to it, and deletes the old one after the program (no window without monitoring, no "in use" error).
    monitor_type = "http" if plain_http else "https"
    monitor_cls = F5HttpMonitor if plain_http else F5HttpsMonitor
    monitor_name = named.of("monitor:sstp", "sstp", monitor_type)
    monitor = monitor_cls(
        resource_name(cluster.name, "monitor", "sstp", monitor_type),
        {
            **base,
            **named.name("monitor:sstp", "sstp", monitor_type),
            "defaults_from": f"/Common/{monitor_type}",
            # BIG-IP send strings carry literal \r\n escapes (docs/f5.md#monitors).
            "send": f"HEAD {SSTP_URI} HTTP/1.1\\r\\nHost: {host}\\r\\nConnection: Close\\r\\n\\r\\n",
            "recv": SSTP_HEALTHY_STATUS,
            "interval": 5,
            "timeout": 16,
        },
        child,
    )
    made["monitors"].append(monitor)

    pool_name = named.of("pool:sstp", "sstp")
    pool = F5Pool(
        resource_name(cluster.name, "pool", "sstp"),
        {
            **base,
            **named.name("pool:sstp", "sstp"),
            "load_balancing_mode": LB_MODES[cluster.load_balancing_method],
            "monitor": full_path(partition, monitor_name),
            "members": sorted(f"{named.node(n.name)}:{node_port}" for n in cluster.nodes),
            "parents": _ids([*nodes, monitor]),
        },
        pulumi.ResourceOptions(parent=parent, depends_on=[*nodes, monitor]),
    )
    made["pools"].append(pool)

    ssl_persist = F5SslPersistence(
        resource_name(cluster.name, "persistence", "sstp-ssl"),
        {
            **base,
            **named.name("persistence:sstp-ssl", "sstp", "ssl"),
            "timeout": cluster.persistence_timeout,
            "match_across_services": False,
            "defaults_from": SSL_PERSIST_PARENT,
        },
        child,
    )
    src_persist = F5SourceAddressPersistence(
        resource_name(cluster.name, "persistence", "sstp-srcaddr"),
        {
            **base,
            **named.name("persistence:sstp-srcaddr", "sstp", "srcaddr"),
            "timeout": cluster.persistence_timeout,
            "match_across_services": False,
            "defaults_from": SOURCE_ADDR_PARENT,
        },
        child,
    )
    made["persistence"].extend([ssl_persist, src_persist])

    profiles: list[ProfileRef] = [{"name": TCP_PROFILE, "context": "all"}]
    depends: list[pulumi.CustomResource] = [pool, ssl_persist, src_persist]
    sha256 = None
    if offload is not None:
        cert = F5Certificate(
            resource_name(cluster.name, "certificate", "sstp"),
            {
                **base,
                "base_name": device_object(cluster.name, "sstp"),
                "certificate_secret": offload.certificate_secret,
                "private_key_secret": offload.private_key_secret,
            },
            child,
        )
        made["certificates"].append(cert)
        sha256 = cert.sha256
        clientssl = F5ClientSslProfile(
            resource_name(cluster.name, "profile", "sstp-clientssl"),
            {
                **base,
                **named.name("profile:sstp-clientssl", "sstp", "clientssl"),
                "defaults_from": CLIENTSSL_PARENT,
                "certificate": cert.certificate,
                "key": cert.key,
            },
            pulumi.ResourceOptions(parent=parent, depends_on=[cert]),
        )
        made["profiles"].append(clientssl)
        depends.append(clientssl)
        clientssl_path = full_path(partition, named.of("profile:sstp-clientssl", "sstp", "clientssl"))
        profiles.append({"name": clientssl_path, "context": "clientside"})
        if offload.reencrypt:
            profiles.append({"name": SERVERSSL_PROFILE, "context": "serverside"})
    virtual = F5VirtualServer(
        resource_name(cluster.name, "virtual", "sstp"),
        {
            **base,
            **named.name("virtual:sstp", "sstp", cluster.sstp.port, "vs"),
            "destination_address": cluster.virtual_address,
            "port": cluster.sstp.port,
            "ip_protocol": "tcp",
            "pool": full_path(partition, pool_name),
            "profiles": sorted(profiles, key=lambda p: p["name"]),
            "source_address_translation": "none" if cluster.client_address == "preserved" else "automap",
            "persistence": full_path(partition, named.of("persistence:sstp-ssl", "sstp", "ssl")),
            "fallback_persistence": full_path(
                partition, named.of("persistence:sstp-srcaddr", "sstp", "srcaddr")
            ),
            "parents": _ids(depends),
        },
        pulumi.ResourceOptions(parent=parent, depends_on=depends),
    )
    made["virtuals"].append(virtual)
    return sha256


def drain_targets(cluster: Cluster) -> dict[str, F5DrainSpec]:
    """Per RRAS node: what to disable on the BIG-IP to drain it (its members in every pool)."""
    lb = _declared(cluster)
    device = _device(lb)
    named = _Names(cluster)
    sstp_port = sstp_node_port(cluster)
    pools: list[tuple[str, int]] = []
    if "ikev2" in cluster.protocols:
        pools += [(named.of(f"pool:ikev2-{port}", "ikev2", port), port) for port in IKEV2_PORTS]
    if "sstp" in cluster.protocols:
        pools.append((named.of("pool:sstp", "sstp"), sstp_port))
    return {
        node.name: {
            "kind": BigIp.kind,
            "device": device,
            "members": [
                {
                    "partition": lb.partition,
                    "pool": pool,
                    "member": f"{named.node(node.name)}:{port}",
                }
                for pool, port in pools
            ],
        }
        for node in cluster.nodes
    }


class BigIp(LoadBalancerVendor):
    """The BIG-IP: its declaration model, the objects a cluster needs on it, how a node is drained."""

    kind = "f5"
    product = "F5 BIG-IP"
    declaration = BigIpLoadBalancer
    build = staticmethod(build)
    drain_targets = staticmethod(drain_targets)

    def check(self, cluster: Cluster) -> list[str]:
        return check(cluster)
