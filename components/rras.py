"""Which settings every RRAS node of a cluster needs, and the rolling restart that makes them effective.

Per node, one resource per setting so a preview names it (docs/rras.md#server-ipsec-policy,
docs/rras.md#registry-values):
- the IKEv2 custom IPsec policy (Set-VpnServerConfiguration -CustomPolicy), when IKEv2 is declared;
- RemoteAccess\\Parameters\\Ikev2 EnableServerFragmentation = 1 when fragmentation is on (absent if off);
- IKEEXT\\Parameters IkeNumEstablishedForInitialQuery when the load balancer translates the client
  address (absent when it is preserved);
- with SSTP: SstpSvc\\Parameters UseHttps = 0, isHashConfiguredByAdmin = 1 and SHA256CertificateHash =
  the load balancer's certificate hash when TLS is offloaded to plain HTTP, the stale SHA1CertificateHash
  absent; otherwise UseHttps and isHashConfiguredByAdmin absent, which restores HTTPS, and the hashes
  left to RRAS's own certificate binding.
Settings that are not wanted are declared *absent* rather than dropped, so switching a feature off is an
update that happens before the restart, not a deletion after the program.
Then one restart resource per node, chained in node order, restarts only the services whose settings
changed: a rolling restart the engine itself sequences, records node by node and stops at a failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from components.declaration import Cluster, Node
from components.naming import resource_name
from components.protocols import sstp_in_clear_to_nodes
from providers.common.device import DeviceSettings
from providers.common.resources import DrainSpec
from providers.rras.resources import (
    NodeInputs,
    NodeRestartInputs,
    PresentRegistryValueInputs,
    RegistryValueInputs,
    RrasIpsecPolicy,
    RrasNodeRestart,
    RrasRegistryValue,
)

IKEV2_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2"
IKEEXT_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\IKEEXT\Parameters"
SSTP_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\SstpSvc\Parameters"


def _device(node: Node) -> DeviceSettings:
    """How providers reach the node over WinRM (the password stays in secret config)."""
    m = node.management
    assert m is not None
    return {
        "url": m.endpoint,
        "user": m.user,
        "password_key": m.password_secret,
        "auth": m.auth,
        "ca_bundle": m.ca_bundle,
    }


def build(
    cluster: Cluster,
    owner: str,
    parent: pulumi.Resource,
    *,
    after: Sequence[pulumi.Resource],
    drain: Mapping[str, DrainSpec],
    sstp_certificate_sha256: pulumi.Output[str] | None,
) -> dict[str, list[pulumi.CustomResource]]:
    """Create the node settings and the rolling restart; ``after``: the load-balancer objects."""
    made: dict[str, list[pulumi.CustomResource]] = {"node_settings": [], "restarts": []}
    restarts: list[tuple[Node, NodeRestartInputs]] = []
    offload = sstp_in_clear_to_nodes(cluster)

    for node in cluster.nodes:
        base: NodeInputs = {"device": _device(node), "node": node.name, "owner": owner}
        opts = pulumi.ResourceOptions(parent=parent, depends_on=after)
        remote_access: list[pulumi.Output[Any]] = []
        ikeext: list[pulumi.Output[Any]] = []

        def value(
            suffix: str,
            path: str,
            name: str,
            kind: str,
            wanted: Any,
            restarts: list[pulumi.Output[Any]],
            keep_on_delete: bool = False,
            node: Node = node,
            base: NodeInputs = base,
            opts: pulumi.ResourceOptions = opts,
        ) -> None:
            props: RegistryValueInputs = {
                **base,
                "path": path,
                "name": name,
                "kind": kind,
                "keep_on_delete": keep_on_delete,
                "ensure": "present" if wanted is not None else "absent",
            }
            if wanted is not None:
                props = PresentRegistryValueInputs(**props, value=wanted)
            res = RrasRegistryValue(resource_name(cluster.name, node.name, suffix), props, opts)
            made["node_settings"].append(res)
            restarts.append(res.revision)

        if "ikev2" in cluster.protocols:
            policy = RrasIpsecPolicy(
                resource_name(cluster.name, node.name, "ipsec-policy"),
                {**base, "policy": cluster.ipsec.as_cmdlet_parameters()},
                opts,
            )
            made["node_settings"].append(policy)
            remote_access.append(policy.revision)
            value(
                "ikev2-fragmentation",
                IKEV2_KEY,
                "EnableServerFragmentation",
                "DWord",
                1 if cluster.ikev2_fragmentation else None,
                remote_access,
            )
            translated = cluster.client_address == "translated"
            value(
                "ike-initial-query",
                IKEEXT_KEY,
                "IkeNumEstablishedForInitialQuery",
                "DWord",
                cluster.ike_num_established_for_initial_query if translated else None,
                ikeext,
            )
        if "sstp" in cluster.protocols:
            value("sstp-use-https", SSTP_KEY, "UseHttps", "DWord", 0 if offload else None, remote_access)
            value(
                "sstp-hash-by-admin",
                SSTP_KEY,
                "isHashConfiguredByAdmin",
                "DWord",
                1 if offload else None,
                remote_access,
            )
            if offload:
                # The load balancer's certificate hash, and RRAS's own SHA-1 hash gone
                # (docs/rras.md#sstp-tls-offload).
                # Without offload both belong to RRAS's certificate binding and are left alone; when
                # offload is switched off the admin hash stays, inert once isHashConfiguredByAdmin is gone.
                value(
                    "sstp-sha256-hash",
                    SSTP_KEY,
                    "SHA256CertificateHash",
                    "Binary",
                    sstp_certificate_sha256,
                    remote_access,
                    keep_on_delete=True,
                )
                value("sstp-sha1-hash", SSTP_KEY, "SHA1CertificateHash", "Binary", None, remote_access)
        restarts.append(
            (
                node,
                {
                    "node": node.name,
                    "device": _device(node),
                    "drain": drain.get(node.name),
                    "services": {"RemoteAccess": remote_access, "IKEEXT": ikeext},
                    "owner": owner,
                    "later_nodes": [],
                },
            )
        )

    # One restart resource per node, each waiting for every node's settings (all written before any
    # restart, so an unreachable node stops the change before anything restarts) and for the previous
    # node's restart: the engine runs them one at a time, records each finished node, and stops at the
    # first failure. A preview names the nodes that will restart.
    previous: list[pulumi.Resource] = []
    order = [n.name for n in cluster.nodes]
    for node, props in restarts:
        later = order[order.index(node.name) + 1 :]
        restart = RrasNodeRestart(
            resource_name(cluster.name, node.name, "restart"),
            {**props, "later_nodes": later},
            pulumi.ResourceOptions(parent=parent, depends_on=[*made["node_settings"], *previous]),
        )
        made["restarts"].append(restart)
        previous = [restart]
    return made
