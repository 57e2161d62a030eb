"""Which settings every RRAS node of a cluster needs, and the rolling restart that makes them effective.

Per node, one resource per setting so a preview names it (docs/rras.md#server-ipsec-policy,
docs/rras.md#registry-values):
- the IKEv2 custom IPsec policy (Set-VpnServerConfiguration -CustomPolicy), when IKEv2 is declared;
- RemoteAccess\\Parameters\\Ikev2 EnableServerFragmentation = 1 when fragmentation is on (absent if off);
- IKEEXT\\Parameters IkeNumEstablishedForInitialQuery when the load balancer translates the client
  address (absent when it is preserved);
- with IKEv2, the ``ikev2`` hardening (docs/rras.md#ikev2-hardening): Ikev2 CertAuthFlags = 4 with
  ``crlCheck`` (absent otherwise), the accepted root CA and the idleTimeout / networkBlackoutTime values
  (seconds) when declared; and, before the settings, one Windows build check per node whose declaration
  needs a build (docs/rras.md#windows-builds), refused at preview;
- with SSTP: SstpSvc\\Parameters UseHttps = 0, isHashConfiguredByAdmin = 1 and SHA256CertificateHash =
  the load balancer's certificate hash when TLS is offloaded to plain HTTP, the stale SHA1CertificateHash
  absent; otherwise UseHttps and isHashConfiguredByAdmin absent, which restores HTTPS, and the hashes
  left to RRAS's own certificate binding;
- with SSTP and ``sstp.tlsHardening`` not off: the Schannel server protocols SSL 3.0, TLS 1.0 and TLS 1.1
  off and the cipher-suite order of the level, for the node's build (docs/rras.md#sstp-tls-hardening),
  effective after a reboot (their revisions under the restart's "Computer"); off declares none of them.
The SSTP certificate clients see (the load balancer's, or each node's) has a read-only record of its own
(``sstp_certificate``, docs/rras.md#sstp-certificate-expiry), for the cluster's output and its warning.
Settings that are not wanted are declared *absent* rather than dropped, so switching a feature off is an
update that happens before the restart, not a deletion after the program.
The settings wait for nothing of the load balancer (a node's only for its build check): they are written
in parallel with the load-balancer objects. (With SSTP TLS offload the load balancer's certificate hash is an
input of ``sstp-sha256-hash``, so that one value waits for the certificate object, and for nothing else.)
Then one restart resource per node, chained in node order, restarts only the services whose settings
changed: a rolling restart the engine itself sequences, records node by node and stops at a failure; each
waits for every node's settings and every load-balancer object (it drains its node there) and for its
drained node's VPN sessions (``rras.drainTimeoutSeconds``).
After its settings, one removal resource per node (``rras.onRemove``,
docs/rras.md#removing-a-node-or-cluster): it depends on its node's settings (it lists them), on the
load-balancer objects and on the previous node's removal. A delete runs in reverse dependency order, so
removing a node or the cluster deletes the removals first, node by node (keep: nothing sent; revert: the
node's settings put back, then its drained restart, while the load-balancer objects still exist), then the
settings (nothing more to send) and the load-balancer objects. It is not an appliance object: not in
``made``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from components.declaration import FRAGMENTATION_MIN_BUILD, Cluster, Node
from components.naming import resource_name
from components.protocols import sstp_in_clear_to_nodes
from providers.common.device import DeviceSettings
from providers.common.resources import DrainSpec
from providers.rras.certificate import LOAD_BALANCER, days_left
from providers.rras.hardening import BuildRequirement
from providers.rras.resources import (
    CipherSuiteOrderInputs,
    NodeInputs,
    NodeRestartInputs,
    PresentRegistryValueInputs,
    RegistryValueInputs,
    RemovedSetting,
    RrasAcceptedRoot,
    RrasIpsecPolicy,
    RrasNodeRemoval,
    RrasNodeRestart,
    RrasRegistryValue,
    RrasSstpCertificate,
    RrasTlsRegistryValue,
    RrasWindowsBuild,
)
from providers.rras.tls import CIPHER_SUITE_KEY, DISABLED_PROTOCOLS, PROTOCOLS_KEY

IKEV2_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2"
IKEEXT_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\IKEEXT\Parameters"
SSTP_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\SstpSvc\Parameters"


def _device(node: Node) -> DeviceSettings:
    """How providers reach the node over WinRM (the password stays in secret config)."""
    m = node.management
    assert m is not None
    device: DeviceSettings = {
        "url": m.endpoint,
        "user": m.user,
        "password_key": m.password_secret,
        "auth": m.auth,
        "ca_bundle": m.ca_bundle,
    }
    # Only when declared: a stack without it keeps the device input it had (no update, no restart).
    if m.kerberos_hostname:
        device["kerberos_hostname"] = m.kerberos_hostname
    if m.configuration_name:  # the JEA endpoint (docs/rras.md#just-enough-administration)
        device["configuration_name"] = m.configuration_name
    return device


#: RemoteAccess\Parameters\Ikev2 CertAuthFlags: check client certificates against their CRL
#: (docs/rras.md#ikev2-crl-checking).
CERT_AUTH_FLAGS_CRL_CHECK = 4


def build_requirements(cluster: Cluster) -> list[BuildRequirement]:
    """What the declaration needs of each node's Windows build (docs/rras.md#windows-builds)."""
    if "ikev2" not in cluster.protocols:
        return []
    needs: list[BuildRequirement] = []
    gcm = cluster.ipsec.needs_build()
    if gcm is not None:
        preset = f" (ipsec.preset {cluster.ipsec.preset})" if cluster.ipsec.preset != "baseline" else ""
        needs.append(
            {
                "field": "ipsec.encryptionMethod",
                "value": cluster.ipsec.encryption_method + preset,
                "build": gcm,
                "feature": "AES-GCM for IKE main mode: Windows Server 1803",
            }
        )
    if cluster.ikev2_fragmentation:
        needs.append(
            {
                "field": "ikev2Fragmentation",
                "value": "true",
                "build": FRAGMENTATION_MIN_BUILD,
                "feature": "IKEv2 fragmentation: Windows Server 1803",
            }
        )
    return needs


def _revert_services(cluster: Cluster) -> list[str]:
    """What a revert restarts so the node's defaults take effect: RemoteAccess (the policy, its and SSTP's
    values), IKEEXT first when the IKEEXT value was set; a reboot when Schannel settings were."""
    if "sstp" in cluster.protocols and cluster.sstp.tls_hardening != "off":
        return ["Computer"]
    translated = "ikev2" in cluster.protocols and cluster.client_address == "translated"
    return ["IKEEXT", "RemoteAccess"] if translated else ["RemoteAccess"]


def _tls_hardening(
    cluster: Cluster, node: Node, base: NodeInputs, opts: pulumi.ResourceOptions
) -> list[tuple[RrasTlsRegistryValue, RemovedSetting]]:
    """SSTP TLS hardening (docs/rras.md#sstp-tls-hardening): the server side of SSL 3.0, TLS 1.0 and TLS 1.1
    off, and the cipher-suite order of ``sstp.tlsHardening``, which the provider picks for the node's
    Windows build. Machine-wide Schannel settings, in effect after a reboot. Not declared when the level is
    off: the node's TLS is left as it is (a stack that switches it off keeps or reverts the values, as
    ``rras.onRemove`` says). Each with what the node's removal puts back."""
    made = []
    for protocol in DISABLED_PROTOCOLS:
        props: RegistryValueInputs = {
            **base,
            "path": f"{PROTOCOLS_KEY}\\{protocol}\\Server",
            "name": "Enabled",
            "kind": "DWord",
            "keep_on_delete": False,
            "ensure": "present",
        }
        suffix = "tls-" + protocol.lower().replace(" ", "").replace(".", "") + "-server"
        present = PresentRegistryValueInputs(**props, value=0)
        res = RrasTlsRegistryValue(resource_name(cluster.name, node.name, suffix), present, opts)
        made.append((res, _removed_value("tls-registry-value", props)))
    order: CipherSuiteOrderInputs = {
        **base,
        "path": CIPHER_SUITE_KEY,
        "name": "Functions",
        "kind": "String",
        "keep_on_delete": False,
        "ensure": "present",
        "cipher_suites": cluster.sstp.tls_hardening,
    }
    name = resource_name(cluster.name, node.name, "tls-cipher-suites")
    made.append((RrasTlsRegistryValue(name, order, opts), _removed_value("tls-registry-value", order)))
    return made


def _removed_value(kind: str, props: RegistryValueInputs) -> RemovedSetting:
    """A registry value as the node's removal puts it back (providers/rras/removal.py)."""
    return {
        "type": kind,
        "path": props["path"],
        "name": props["name"],
        "ensure": props["ensure"],
        "keep_on_delete": props["keep_on_delete"],
    }


def sstp_certificate(
    cluster: Cluster, parent: pulumi.Resource, *, managed: bool
) -> pulumi.Output[dict[str, Any] | None]:
    """The SSTP certificate clients see, for the ``sstpCertificate`` output
    (docs/rras.md#sstp-certificate-expiry): with TLS offload the load balancer's (from secret config),
    otherwise each node's (when the stack manages the nodes), one read-only record each, whose diff warns
    in every run while it expires within 30 days. None without SSTP, or without offload when the nodes are
    not managed."""
    if "sstp" not in cluster.protocols:
        return pulumi.Output.from_input(None)
    opts = pulumi.ResourceOptions(parent=parent)
    offload = cluster.sstp.tls_offload
    records: dict[str, RrasSstpCertificate] = {}
    if offload is not None:
        records[LOAD_BALANCER] = RrasSstpCertificate(
            resource_name(cluster.name, "sstp-certificate"),
            {
                "cluster": cluster.name,
                "source": LOAD_BALANCER,
                "certificate_secret": offload.certificate_secret,
            },
            opts,
        )
    elif managed:
        for node in cluster.nodes:
            records[node.name] = RrasSstpCertificate(
                resource_name(cluster.name, node.name, "sstp-certificate"),
                {"cluster": cluster.name, "source": "node", "node": node.name, "device": _device(node)},
                opts,
            )
    else:
        return pulumi.Output.from_input(None)
    rows = [pulumi.Output.all(r.subject, r.thumbprint, r.not_after) for r in records.values()]
    holders = list(records)
    return pulumi.Output.all(*rows).apply(
        lambda found: certificate_summary(dict(zip(holders, found, strict=True)), per_node=offload is None)
    )


def certificate_summary(found: Mapping[str, Sequence[Any]], *, per_node: bool) -> dict[str, Any]:
    """The output: the certificate that expires first (``heldBy``: the load balancer or its node) with its
    days left now, and per node each one's when the nodes hold them."""
    entries: dict[str, dict[str, Any]] = {}
    for holder, (subject, thumbprint, not_after) in found.items():
        entries[holder] = {
            "subject": subject,
            "thumbprint": thumbprint,
            "notAfter": not_after,
            "daysLeft": days_left(str(not_after)) if not_after else None,
        }
    dated = [h for h in entries if entries[h]["notAfter"]]
    first = min(dated, key=lambda h: str(entries[h]["notAfter"])) if dated else next(iter(entries))
    summary = {**entries[first], "heldBy": first}
    if per_node:
        summary["nodes"] = entries
    return summary


def build(
    cluster: Cluster,
    owner: str,
    parent: pulumi.Resource,
    *,
    after: Sequence[pulumi.Resource],
    drain: Mapping[str, DrainSpec],
    sstp_certificate_sha256: pulumi.Output[str] | None,
) -> dict[str, list[pulumi.CustomResource]]:
    """Create the node settings, their removal records and the rolling restart; ``after``: the
    load-balancer objects, which only the restarts and the removal records wait for."""
    made: dict[str, list[pulumi.CustomResource]] = {"node_settings": [], "restarts": []}
    restarts: list[tuple[Node, NodeRestartInputs]] = []
    offload = sstp_in_clear_to_nodes(cluster)
    removal_before: list[pulumi.Resource] = []

    for node in cluster.nodes:
        base: NodeInputs = {
            "device": _device(node),
            "node": node.name,
            "owner": owner,
            "on_remove": cluster.rras.on_remove,
        }
        # The node's settings start at once, in parallel with the load-balancer objects.
        opts = pulumi.ResourceOptions(parent=parent)
        requires = build_requirements(cluster)
        if requires:
            # The node's build against what is declared, refused at preview (docs/rras.md#windows-builds);
            # it waits for nothing, and the settings wait for it.
            checked = RrasWindowsBuild(
                resource_name(cluster.name, node.name, "windows-build"),
                {**base, "cluster": cluster.name, "requires": requires},
                pulumi.ResourceOptions(parent=parent),
            )
            opts = pulumi.ResourceOptions(parent=parent, depends_on=[checked])
        settings: list[pulumi.CustomResource] = []  # this node's, for its removal
        removed: list[RemovedSetting] = []
        remote_access: list[pulumi.Output[Any]] = []
        ikeext: list[pulumi.Output[Any]] = []
        computer: list[pulumi.Output[Any]] = []  # settings in effect after a reboot

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
            settings: list[pulumi.CustomResource] = settings,
            removed: list[RemovedSetting] = removed,
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
            settings.append(res)
            removed.append(_removed_value("registry-value", props))
            restarts.append(res.revision)

        if "ikev2" in cluster.protocols:
            policy = RrasIpsecPolicy(
                resource_name(cluster.name, node.name, "ipsec-policy"),
                {**base, "policy": cluster.ipsec.as_cmdlet_parameters()},
                opts,
            )
            made["node_settings"].append(policy)
            settings.append(policy)
            removed.append({"type": "ipsec-policy"})
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
            # IKEv2 hardening (docs/rras.md#ikev2-crl-checking, docs/rras.md#accepted-root-certificate,
            # docs/rras.md#ikev2-connection-timeouts): the CRL check present or absent; the accepted root
            # and the timeouts (seconds in the registry) only when declared, else left as the node has them.
            ikev2 = cluster.ikev2
            crl = CERT_AUTH_FLAGS_CRL_CHECK if ikev2.crl_check else None
            value("ikev2-crl-check", IKEV2_KEY, "CertAuthFlags", "DWord", crl, remote_access)
            for suffix, name, minutes in (
                ("ikev2-idle-timeout", "idleTimeout", ikev2.idle_timeout_minutes),
                ("ikev2-network-outage", "networkBlackoutTime", ikev2.network_outage_minutes),
            ):
                if minutes is not None:
                    value(suffix, IKEV2_KEY, name, "DWord", minutes * 60, remote_access)
            if ikev2.root_certificate_thumbprint is not None:
                root = RrasAcceptedRoot(
                    resource_name(cluster.name, node.name, "ikev2-root-certificate"),
                    {**base, "thumbprint": ikev2.root_certificate_thumbprint},
                    opts,
                )
                made["node_settings"].append(root)
                settings.append(root)
                removed.append({"type": "accepted-root", "thumbprint": ikev2.root_certificate_thumbprint})
                remote_access.append(root.revision)
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
        if "sstp" in cluster.protocols and cluster.sstp.tls_hardening != "off":
            for tls, entry in _tls_hardening(cluster, node, base, opts):
                made["node_settings"].append(tls)
                settings.append(tls)
                removed.append(entry)
                computer.append(tls.revision)
        # What removing the node does to it (docs/rras.md#removing-a-node-or-cluster): it depends on the
        # node's settings, the load-balancer objects and the previous node's removal, so a delete runs it
        # before them, one node at a time: a revert puts the settings back and restarts the node drained.
        removal = RrasNodeRemoval(
            resource_name(cluster.name, node.name, "removal"),
            {
                **base,
                "cluster": cluster.name,
                "drain": drain.get(node.name),
                "drain_timeout_seconds": cluster.rras.drain_timeout_seconds,
                "services": _revert_services(cluster),
                "settings": removed,
            },
            pulumi.ResourceOptions(parent=parent, depends_on=[*after, *settings, *removal_before]),
        )
        removal_before = [removal]
        restarts.append(
            (
                node,
                {
                    "node": node.name,
                    "device": _device(node),
                    "drain": drain.get(node.name),
                    "services": {
                        "RemoteAccess": remote_access,
                        "IKEEXT": ikeext,
                        # only with settings that need a reboot (a stack without them keeps its inputs)
                        **({"Computer": computer} if computer else {}),
                    },
                    "owner": owner,
                    "later_nodes": [],
                    "drain_timeout_seconds": cluster.rras.drain_timeout_seconds,
                },
            )
        )

    # One restart resource per node, each waiting for every node's settings (all written before any
    # restart, so an unreachable node stops the change before anything restarts), for every load-balancer
    # object (it drains its node there) and for the previous node's restart: the engine runs them one at a
    # time, records each finished node, and stops at the first failure. A preview names the nodes that
    # will restart.
    previous: list[pulumi.Resource] = []
    order = [n.name for n in cluster.nodes]
    for node, props in restarts:
        later = order[order.index(node.name) + 1 :]
        restart = RrasNodeRestart(
            resource_name(cluster.name, node.name, "restart"),
            {**props, "later_nodes": later},
            pulumi.ResourceOptions(parent=parent, depends_on=[*made["node_settings"], *after, *previous]),
        )
        made["restarts"].append(restart)
        previous = [restart]
    return made
