"""What a cluster needs on a Citrix ADC (NetScaler), as one Pulumi resource per NITRO object.

IKEv2 (DESIGN.md): a server per RRAS node; UDP service groups for 500 and 4500 with the nodes as
members, Use Client IP (usip) when the client address is preserved, and a PING monitor bound to both
(the only health check UDP allows); UDP load-balancing vservers on VIP:500 and VIP:4500 bound to their
groups with the declared method; one persistency group (lbgroup) of type SOURCEIP with the declared
timeout holding both vservers, so IKE and NAT-T from one client reach the same node; the global mode
USNIP enabled when the client address is preserved (never disabled by this project).

SSTP: a vserver on VIP:443 with SSL-session persistence falling back to source IP, a service group of
the nodes and an HTTP monitor of the SSTP listener (HEAD of the sra URI answered 401). Without TLS
offload both are SSL_BRIDGE on 443; with offload the certificate and key are uploaded, an SSL vserver
terminates TLS and the service group speaks HTTP to the nodes on port 80 (or SSL on 443 when
re-encrypting). The service group's name says its mode, so switching modes builds the new group before
the old one goes.
"""

from __future__ import annotations

import re
from typing import cast

import pulumi
from pydantic import Field, field_validator

from components.declaration import NODE_NAME_RE, Cluster, LoadBalancer, Node
from components.naming import device_object, resource_name
from components.protocols import IKEV2_PORTS, SSTP_HEALTHY_STATUS, SSTP_URI, sstp_node_port
from components.save import config_save
from components.vendor import Built, LoadBalancerVendor, Objects, device_settings
from providers.citrix.resources import (
    CitrixCertKey,
    CitrixConfigSave,
    CitrixDrainSpec,
    CitrixHttpMonitor,
    CitrixLbGroup,
    CitrixLbGroupMember,
    CitrixLbVserver,
    CitrixLbVserverServiceGroup,
    CitrixMode,
    CitrixPersistentLbVserver,
    CitrixPingMonitor,
    CitrixServer,
    CitrixServiceGroup,
    CitrixServiceGroupMember,
    CitrixServiceGroupMonitor,
    CitrixSslVserverCertKey,
    MonitorTiming,
)
from providers.common.device import DeviceSettings
from providers.common.resources import ObjectInputs

LB_METHODS = {"least-connections": "LEASTCONNECTION", "round-robin": "ROUNDROBIN"}
#: The PING monitor's timing (seconds): NITRO's defaults, stated so a refresh compares like with like.
PING_INTERVAL, PING_RESPONSE_TIMEOUT, PING_RETRIES, PING_DOWNTIME = 5, 2, 3, 30

#: ``loadBalancer.adopt`` keys: the role of each named object the project builds on an ADC (the audit's
#: ``FoundService.objects`` uses the same keys). Servers are ``node:<declared node name>``. Bindings have
#: no names of their own (they are found by their parents'), the global mode USNIP has none, and the SSTP
#: certificate's name is derived from its fingerprint: none of them is named here.
SERVER_ROLE = "node:"
IKEV2_ROLES = {
    "monitor:ikev2": "lbmonitor",
    "pool:ikev2-500": "servicegroup",
    "pool:ikev2-4500": "servicegroup",
    "virtual:ikev2-500": "lbvserver",
    "virtual:ikev2-4500": "lbvserver",
    "persistence:ikev2": "lbgroup",
}
SSTP_ROLES = {"monitor:sstp": "lbmonitor", "pool:sstp": "servicegroup", "virtual:sstp": "lbvserver"}
#: What the ADC accepts as an object name (docs/citrix.md#object-names): a letter, digit or '_',
#: then letters, digits and _ # . space : @ = -, at most 127 characters.
NITRO_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_#. :@=-]{0,126}$")


def _role_resource(role: str) -> str | None:
    """The NITRO resource of an ``adopt`` key, None for a key the project does not know."""
    if role.startswith(SERVER_ROLE):
        return "server" if NODE_NAME_RE.match(role[len(SERVER_ROLE) :]) else None
    return IKEV2_ROLES.get(role) or SSTP_ROLES.get(role)


def _allowed_roles(nodes: list[str] | None = None) -> str:
    servers = [f"{SERVER_ROLE}{n}" for n in nodes] if nodes else [f"{SERVER_ROLE}<node name>"]
    return ", ".join([*servers, *IKEV2_ROLES, *SSTP_ROLES])


class NetScalerLoadBalancer(LoadBalancer):
    """``loadBalancer`` of ``kind: citrix``: the common fields, with the ADC's user-name syntax
    (docs/citrix.md#names-the-adc-accepts; the space the ADC allows is refused here)."""

    user_pattern = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.#@=:-]{0,126}$")
    user_rule = (
        "a user name the ADC accepts: a letter, digit or '_', then letters, digits and - . # @ = : _ "
        "(no spaces)"
    )

    #: Existing objects the first ``up`` takes over instead of creating its own: role -> the object's name
    #: on the ADC (the keys: ``IKEV2_ROLES``, ``SSTP_ROLES``, ``node:<node>``).
    adopt: dict[str, str] = Field(default_factory=dict, alias="adopt")

    @field_validator("adopt")
    @classmethod
    def _adopt(cls, v: dict[str, str]) -> dict[str, str]:
        problems = []
        for role, name in v.items():
            if _role_resource(role) is None:
                problems.append(
                    f"{role!r} is not an object role of this project (allowed: {_allowed_roles()})"
                )
            elif not NITRO_NAME_RE.match(name):
                problems.append(
                    f"{role}: {name!r} is not a name an ADC object can have (a letter, digit or '_', then "
                    "letters, digits and _ # . space : @ = -, at most 127)"
                )
        by_object: dict[tuple[str, str], list[str]] = {}
        for role, name in v.items():
            resource = _role_resource(role)
            if resource is not None:
                by_object.setdefault((resource, name), []).append(role)
        for (resource, name), roles in by_object.items():
            if len(roles) > 1:
                problems.append(
                    f"{resource} {name!r} is named for {' and '.join(sorted(roles))}, which must be "
                    "different objects"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return v


def check(cluster: Cluster) -> list[str]:
    """Declarations a Citrix ADC cannot express, refused before anything is sent."""
    problems: list[str] = []
    timeout = cluster.persistence_timeout
    if timeout % 60 or not 120 <= timeout <= 86400:
        problems.append(
            f"cluster {cluster.name!r}: persistenceTimeout: {timeout} s cannot be set on a Citrix ADC "
            "persistency group, which counts whole minutes from 2 to 1440; use a multiple of 60 between "
            "120 and 86400"
        )
    adopt: dict[str, str] = getattr(cluster.load_balancer, "adopt", {})
    nodes = [n.name for n in cluster.nodes]
    for role in adopt:
        node = role[len(SERVER_ROLE) :] if role.startswith(SERVER_ROLE) else None
        protocol = "ikev2" if role in IKEV2_ROLES else "sstp" if role in SSTP_ROLES else None
        if node is not None and node not in nodes:
            problems.append(
                f"cluster {cluster.name!r}: loadBalancer.adopt: {role!r} names no declared node "
                f"(allowed: {_allowed_roles(nodes)})"
            )
        elif protocol is not None and protocol not in cluster.protocols:
            problems.append(
                f"cluster {cluster.name!r}: loadBalancer.adopt: {role!r} is an object of {protocol}, which "
                "protocols does not list"
            )
    return problems


def _device(cluster: Cluster) -> DeviceSettings:
    return device_settings(cluster.load_balancer)


def build(cluster: Cluster, owner: str, parent: pulumi.Resource) -> Built:
    """Create the cluster's ADC resources as children of ``parent``, then ``save ns config`` after them."""
    made, sha256 = _objects(cluster, owner, parent)
    made["config_save"] = [config_save(CitrixConfigSave, cluster.name, _device(cluster), made, parent)]
    return Built(made, sstp_certificate_sha256=sha256)


class _Names:
    """Each object's device name: the one ``loadBalancer.adopt`` gives its role, else the derived one; and
    whether the object (or the marked object a binding hangs from) is adopted."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.adopt: dict[str, str] = dict(getattr(cluster.load_balancer, "adopt", {}) or {})

    def __call__(self, role: str, *derived: str | int) -> str:
        return self.adopt.get(role) or device_object(self.cluster.name, *derived)

    def adopted(self, *roles: str) -> bool:
        return any(role in self.adopt for role in roles)


def _base(base: ObjectInputs, adopt: bool) -> ObjectInputs:
    """``base`` with ``adopt: True`` when the declaration names the existing object this one takes over
    (providers/common/resource.py: the create reads it and takes it over, the preview tells what changes)."""
    if not adopt:
        return base
    adopting = dict(base)
    adopting["adopt"] = True
    return cast(ObjectInputs, adopting)


def _objects(
    cluster: Cluster, owner: str, parent: pulumi.Resource
) -> tuple[Objects, pulumi.Output[str] | None]:
    base: ObjectInputs = {"device": _device(cluster), "owner": owner}
    child = pulumi.ResourceOptions(parent=parent)
    names = _Names(cluster)
    made: Objects = {
        role: []
        for role in (
            "certificates",
            "modes",
            "servers",
            "monitors",
            "servicegroups",
            "bindings",
            "vservers",
            "groups",
        )
    }
    preserved = cluster.client_address == "preserved"

    if preserved:
        made["modes"].append(
            CitrixMode(
                resource_name(cluster.name, "mode", "usnip"),
                {**base, "mode": "USNIP", "enabled": True},
                child,
            )
        )
    servers: list[tuple[Node, str, CitrixServer]] = []
    for node in cluster.nodes:
        role = f"{SERVER_ROLE}{node.name}"
        server_name = names(role, node.name)
        server = CitrixServer(
            resource_name(cluster.name, "server", node.name),
            {**_base(base, names.adopted(role)), "name": server_name, "address": node.address},
            child,
        )
        servers.append((node, server_name, server))
        made["servers"].append(server)
    sha256 = _sstp(cluster, base, parent, servers, made, names) if "sstp" in cluster.protocols else None
    if "ikev2" not in cluster.protocols:
        return made, sha256
    monitor_name = names("monitor:ikev2", "ikev2", "ping")
    monitor = CitrixPingMonitor(
        resource_name(cluster.name, "monitor", "ikev2"),
        {
            **_base(base, names.adopted("monitor:ikev2")),
            "name": monitor_name,
            "monitor_type": "PING",
            **_ping_timing(),
        },
        child,
    )
    made["monitors"].append(monitor)

    group_name = names("persistence:ikev2", "ikev2", "persist")
    vservers = []
    for port in IKEV2_PORTS:
        sg_role, vs_role = f"pool:ikev2-{port}", f"virtual:ikev2-{port}"
        sg_name = names(sg_role, "ikev2", port)
        group = CitrixServiceGroup(
            resource_name(cluster.name, "servicegroup", "ikev2", port),
            {
                **_base(base, names.adopted(sg_role)),
                "name": sg_name,
                "service_type": "UDP",
                "usip": "YES" if preserved else "NO",
            },
            child,
        )
        made["servicegroups"].append(group)
        for node, server_name, node_server in servers:
            made["bindings"].append(
                CitrixServiceGroupMember(
                    resource_name(cluster.name, "member", "ikev2", port, node.name),
                    {
                        **_base(base, names.adopted(sg_role)),
                        "servicegroup": sg_name,
                        "server": server_name,
                        "port": port,
                        "parents": [group.id, node_server.id],
                    },
                    pulumi.ResourceOptions(parent=parent, depends_on=[group, node_server]),
                )
            )
        made["bindings"].append(
            CitrixServiceGroupMonitor(
                resource_name(cluster.name, "monitor-binding", "ikev2", port),
                {
                    **_base(base, names.adopted(sg_role)),
                    "servicegroup": sg_name,
                    "monitor": monitor_name,
                    "parents": [group.id, monitor.id],
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[group, monitor]),
            )
        )
        vs_name = names(vs_role, "ikev2", port, "vs")
        vserver = CitrixLbVserver(
            resource_name(cluster.name, "vserver", "ikev2", port),
            {
                **_base(base, names.adopted(vs_role)),
                "name": vs_name,
                "service_type": "UDP",
                "port": port,
                "address": cluster.virtual_address,
                "lb_method": LB_METHODS[cluster.load_balancing_method],
            },
            child,
        )
        vservers.append((port, vs_name, vserver, names.adopted(vs_role)))
        made["vservers"].append(vserver)
        made["bindings"].append(
            CitrixLbVserverServiceGroup(
                resource_name(cluster.name, "vserver-binding", "ikev2", port),
                {
                    **_base(base, names.adopted(vs_role)),
                    "vserver": vs_name,
                    "servicegroup": sg_name,
                    "parents": [vserver.id, group.id],
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[vserver, group]),
            )
        )

    lbgroup = CitrixLbGroup(
        resource_name(cluster.name, "persistency-group", "ikev2"),
        {
            **_base(base, names.adopted("persistence:ikev2")),
            "name": group_name,
            "persistence_type": "SOURCEIP",
            "timeout": cluster.persistence_timeout // 60,
        },
        child,
    )
    made["groups"].append(lbgroup)
    for port, vs_name, vserver, vs_adopted in vservers:
        made["bindings"].append(
            CitrixLbGroupMember(
                resource_name(cluster.name, "group-member", "ikev2", port),
                {
                    **_base(base, vs_adopted),
                    "group": group_name,
                    "vserver": vs_name,
                    "parents": [lbgroup.id, vserver.id],
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[lbgroup, vserver]),
            )
        )
    return made, sha256


def _ping_timing() -> MonitorTiming:
    """The monitors' timing (seconds): NITRO's defaults, stated so a refresh compares like with like."""
    return {
        "interval": PING_INTERVAL,
        "response_timeout": PING_RESPONSE_TIMEOUT,
        "retries": PING_RETRIES,
        "downtime": PING_DOWNTIME,
    }


def _sstp(
    cluster: Cluster,
    base: ObjectInputs,
    parent: pulumi.Resource,
    servers: list[tuple[Node, str, CitrixServer]],
    made: Objects,
    names: _Names,
) -> pulumi.Output[str] | None:
    """The SSTP objects; returns the offloaded certificate's SHA-256 hash, if any."""
    offload = cluster.sstp.tls_offload
    mode = "bridge" if offload is None else ("ssl" if offload.reencrypt else "http")
    group_type, vserver_type = {
        "bridge": ("SSL_BRIDGE", "SSL_BRIDGE"),
        "http": ("HTTP", "SSL"),
        "ssl": ("SSL", "SSL"),
    }[mode]
    node_port = sstp_node_port(cluster)
    child = pulumi.ResourceOptions(parent=parent)
    monitor_kind = "http" if mode == "http" else "https"
    monitor_name = names("monitor:sstp", "sstp", monitor_kind)
    monitor = CitrixHttpMonitor(
        resource_name(cluster.name, "monitor", "sstp", monitor_kind),
        {
            **_base(base, names.adopted("monitor:sstp")),
            "name": monitor_name,
            "monitor_type": "HTTP",
            "http_request": f"HEAD {SSTP_URI}",
            "response_codes": [SSTP_HEALTHY_STATUS],
            "secure": "NO" if mode == "http" else "YES",
            **_ping_timing(),
        },
        child,
    )
    made["monitors"].append(monitor)
    sg_adopted = names.adopted("pool:sstp")
    sg_name = names("pool:sstp", "sstp", mode)
    group = CitrixServiceGroup(
        resource_name(cluster.name, "servicegroup", "sstp", mode),
        {
            **_base(base, sg_adopted),
            "name": sg_name,
            "service_type": group_type,
            "usip": "YES" if cluster.client_address == "preserved" else "NO",
        },
        child,
    )
    made["servicegroups"].append(group)
    for node, server_name, server in servers:
        made["bindings"].append(
            CitrixServiceGroupMember(
                resource_name(cluster.name, "member", "sstp", mode, node.name),
                {
                    **_base(base, sg_adopted),
                    "servicegroup": sg_name,
                    "server": server_name,
                    "port": node_port,
                    "parents": [group.id, server.id],
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[group, server]),
            )
        )
    made["bindings"].append(
        CitrixServiceGroupMonitor(
            resource_name(cluster.name, "monitor-binding", "sstp", mode),
            {
                **_base(base, sg_adopted),
                "servicegroup": sg_name,
                "monitor": monitor_name,
                "parents": [group.id, monitor.id],
            },
            pulumi.ResourceOptions(parent=parent, depends_on=[group, monitor]),
        )
    )
    vs_adopted = names.adopted("virtual:sstp")
    vs_name = names("virtual:sstp", "sstp", cluster.sstp.port, "vs")
    vserver = CitrixPersistentLbVserver(
        resource_name(cluster.name, "vserver", "sstp"),
        {
            **_base(base, vs_adopted),
            "name": vs_name,
            "service_type": vserver_type,
            "port": cluster.sstp.port,
            "address": cluster.virtual_address,
            "lb_method": LB_METHODS[cluster.load_balancing_method],
            "persistence_type": "SSLSESSION",
            "persistence_backup": "SOURCEIP",
            "timeout": cluster.persistence_timeout // 60,
        },
        child,
    )
    made["vservers"].append(vserver)
    made["bindings"].append(
        CitrixLbVserverServiceGroup(
            resource_name(cluster.name, "vserver-binding", "sstp", mode),
            {
                **_base(base, vs_adopted),
                "vserver": vs_name,
                "servicegroup": sg_name,
                "parents": [vserver.id, group.id],
            },
            pulumi.ResourceOptions(parent=parent, depends_on=[vserver, group]),
        )
    )
    if offload is None:
        return None
    cert = CitrixCertKey(
        resource_name(cluster.name, "certificate", "sstp"),
        {
            **base,
            # certkey names: <prefix>_<16 hex>, within the 31 characters old builds allow
            "prefix": "aovpn",
            "certificate_secret": offload.certificate_secret,
            "private_key_secret": offload.private_key_secret,
        },
        child,
    )
    made["certificates"].append(cert)
    made["bindings"].append(
        CitrixSslVserverCertKey(
            resource_name(cluster.name, "certificate-binding", "sstp"),
            {**base, "vserver": vs_name, "certkey": cert.certkey, "parents": [vserver.id, cert.id]},
            pulumi.ResourceOptions(parent=parent, depends_on=[vserver, cert]),
        )
    )
    return cert.sha256


def drain_targets(cluster: Cluster) -> dict[str, CitrixDrainSpec]:
    """Per RRAS node: its server object on the ADC (disabled gracefully to drain it), adopted or derived."""
    names = _Names(cluster)
    return {
        node.name: {
            "kind": NetScaler.kind,
            "device": _device(cluster),
            "server": names(f"{SERVER_ROLE}{node.name}", node.name),
        }
        for node in cluster.nodes
    }


class NetScaler(LoadBalancerVendor):
    """The Citrix ADC: its declaration model, what it cannot express, the objects a cluster needs on it,
    how a node is drained."""

    kind = "citrix"
    product = "Citrix ADC"
    declaration = NetScalerLoadBalancer
    check = staticmethod(check)
    build = staticmethod(build)
    drain_targets = staticmethod(drain_targets)
