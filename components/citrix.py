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

import pulumi

from components.declaration import Cluster, LoadBalancer, Node
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


class NetScalerLoadBalancer(LoadBalancer):
    """``loadBalancer`` of ``kind: citrix``: the common fields, with the ADC's user-name syntax
    (docs/citrix.md#names-the-adc-accepts; the space the ADC allows is refused here)."""

    user_pattern = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.#@=:-]{0,126}$")
    user_rule = (
        "a user name the ADC accepts: a letter, digit or '_', then letters, digits and - . # @ = : _ "
        "(no spaces)"
    )


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
    return problems


def _device(cluster: Cluster) -> DeviceSettings:
    return device_settings(cluster.load_balancer)


def build(cluster: Cluster, owner: str, parent: pulumi.Resource) -> Built:
    """Create the cluster's ADC resources as children of ``parent``, then ``save ns config`` after them."""
    made, sha256 = _objects(cluster, owner, parent)
    made["config_save"] = [config_save(CitrixConfigSave, cluster.name, _device(cluster), made, parent)]
    return Built(made, sstp_certificate_sha256=sha256)


def _objects(
    cluster: Cluster, owner: str, parent: pulumi.Resource
) -> tuple[Objects, pulumi.Output[str] | None]:
    base: ObjectInputs = {"device": _device(cluster), "owner": owner}
    child = pulumi.ResourceOptions(parent=parent)
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
    servers: list[tuple[Node, CitrixServer]] = []
    for node in cluster.nodes:
        server = CitrixServer(
            resource_name(cluster.name, "server", node.name),
            {**base, "name": device_object(cluster.name, node.name), "address": node.address},
            child,
        )
        servers.append((node, server))
        made["servers"].append(server)
    sha256 = _sstp(cluster, base, parent, servers, made) if "sstp" in cluster.protocols else None
    if "ikev2" not in cluster.protocols:
        return made, sha256
    monitor_name = device_object(cluster.name, "ikev2", "ping")
    monitor = CitrixPingMonitor(
        resource_name(cluster.name, "monitor", "ikev2"),
        {**base, "name": monitor_name, "monitor_type": "PING", **_ping_timing()},
        child,
    )
    made["monitors"].append(monitor)

    group_name = device_object(cluster.name, "ikev2", "persist")
    vservers = []
    for port in IKEV2_PORTS:
        sg_name = device_object(cluster.name, "ikev2", port)
        group = CitrixServiceGroup(
            resource_name(cluster.name, "servicegroup", "ikev2", port),
            {**base, "name": sg_name, "service_type": "UDP", "usip": "YES" if preserved else "NO"},
            child,
        )
        made["servicegroups"].append(group)
        for node, node_server in servers:
            made["bindings"].append(
                CitrixServiceGroupMember(
                    resource_name(cluster.name, "member", "ikev2", port, node.name),
                    {
                        **base,
                        "servicegroup": sg_name,
                        "server": device_object(cluster.name, node.name),
                        "port": port,
                        "parents": [group.id, node_server.id],
                    },
                    pulumi.ResourceOptions(parent=parent, depends_on=[group, node_server]),
                )
            )
        made["bindings"].append(
            CitrixServiceGroupMonitor(
                resource_name(cluster.name, "monitor-binding", "ikev2", port),
                {**base, "servicegroup": sg_name, "monitor": monitor_name, "parents": [group.id, monitor.id]},
                pulumi.ResourceOptions(parent=parent, depends_on=[group, monitor]),
            )
        )
        vs_name = device_object(cluster.name, "ikev2", port, "vs")
        vserver = CitrixLbVserver(
            resource_name(cluster.name, "vserver", "ikev2", port),
            {
                **base,
                "name": vs_name,
                "service_type": "UDP",
                "port": port,
                "address": cluster.virtual_address,
                "lb_method": LB_METHODS[cluster.load_balancing_method],
            },
            child,
        )
        vservers.append((vs_name, vserver))
        made["vservers"].append(vserver)
        made["bindings"].append(
            CitrixLbVserverServiceGroup(
                resource_name(cluster.name, "vserver-binding", "ikev2", port),
                {**base, "vserver": vs_name, "servicegroup": sg_name, "parents": [vserver.id, group.id]},
                pulumi.ResourceOptions(parent=parent, depends_on=[vserver, group]),
            )
        )

    lbgroup = CitrixLbGroup(
        resource_name(cluster.name, "persistency-group", "ikev2"),
        {
            **base,
            "name": group_name,
            "persistence_type": "SOURCEIP",
            "timeout": cluster.persistence_timeout // 60,
        },
        child,
    )
    made["groups"].append(lbgroup)
    for vs_name, vserver in vservers:
        made["bindings"].append(
            CitrixLbGroupMember(
                resource_name(cluster.name, "group-member", "ikev2", vs_name.rsplit("_", 2)[-2]),
                {**base, "group": group_name, "vserver": vs_name, "parents": [lbgroup.id, vserver.id]},
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
    servers: list[tuple[Node, CitrixServer]],
    made: Objects,
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
    monitor_name = device_object(cluster.name, "sstp", monitor_kind)
    monitor = CitrixHttpMonitor(
        resource_name(cluster.name, "monitor", "sstp", monitor_kind),
        {
            **base,
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
    sg_name = device_object(cluster.name, "sstp", mode)
    group = CitrixServiceGroup(
        resource_name(cluster.name, "servicegroup", "sstp", mode),
        {
            **base,
            "name": sg_name,
            "service_type": group_type,
            "usip": "YES" if cluster.client_address == "preserved" else "NO",
        },
        child,
    )
    made["servicegroups"].append(group)
    for node, server in servers:
        made["bindings"].append(
            CitrixServiceGroupMember(
                resource_name(cluster.name, "member", "sstp", mode, node.name),
                {
                    **base,
                    "servicegroup": sg_name,
                    "server": device_object(cluster.name, node.name),
                    "port": node_port,
                    "parents": [group.id, server.id],
                },
                pulumi.ResourceOptions(parent=parent, depends_on=[group, server]),
            )
        )
    made["bindings"].append(
        CitrixServiceGroupMonitor(
            resource_name(cluster.name, "monitor-binding", "sstp", mode),
            {**base, "servicegroup": sg_name, "monitor": monitor_name, "parents": [group.id, monitor.id]},
            pulumi.ResourceOptions(parent=parent, depends_on=[group, monitor]),
        )
    )
    vs_name = device_object(cluster.name, "sstp", cluster.sstp.port, "vs")
    vserver = CitrixPersistentLbVserver(
        resource_name(cluster.name, "vserver", "sstp"),
        {
            **base,
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
            {**base, "vserver": vs_name, "servicegroup": sg_name, "parents": [vserver.id, group.id]},
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
    """Per RRAS node: its server object on the ADC (disabled gracefully to drain it)."""
    return {
        node.name: {
            "kind": NetScaler.kind,
            "device": _device(cluster),
            "server": device_object(cluster.name, node.name),
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
