"""Pulumi dynamic resources for RRAS node settings (what components instantiate), with their inputs.

Every setting takes ``device`` (the node's WinRM connection, DeviceSettings with ``auth``), ``node``
(its name), ``owner`` and ``on_remove`` (what deleting it does: providers/rras/removal.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi

from providers.common.device import DeviceSettings
from providers.common.resources import ApplianceResource, DrainSpec, Opts, TypedResource
from providers.rras.certificate import SstpCertificateProvider
from providers.rras.hardening import AcceptedRootProvider, BuildRequirement, WindowsBuildProvider
from providers.rras.objects import (
    ClientProfileProvider,
    IpsecPolicyProvider,
    NodeRestartProvider,
    RegistryValueProvider,
)
from providers.rras.removal import NodeRemovalProvider
from providers.rras.tls import TlsRegistryValueProvider


class NodeInputs(TypedDict):
    device: DeviceSettings
    node: str
    owner: str
    #: A setting's: keep (deleting it leaves the node as it is) or revert (Windows' default put back).
    on_remove: NotRequired[str]


class IpsecPolicyInputs(NodeInputs):
    #: Set-VpnServerConfiguration -CustomPolicy parameters by their cmdlet names
    policy: Mapping[str, str | int]


class RegistryValueInputs(NodeInputs):
    path: str
    name: str
    #: DWord, String, Binary ...
    kind: str
    keep_on_delete: bool
    #: present (then ``value`` is set: PresentRegistryValueInputs) or absent
    ensure: str


class PresentRegistryValueInputs(RegistryValueInputs):
    value: pulumi.Input[Any]


class CipherSuiteOrderInputs(RegistryValueInputs):
    #: performance or security: the provider picks the list for the node's build (providers/rras/tls.py)
    cipher_suites: str


class SstpCertificateInputs(TypedDict):
    """The record of the SSTP certificate clients see (providers/rras/certificate.py)."""

    cluster: str
    #: "load balancer" (TLS offload: ``certificate_secret``) or "node" (``node`` and ``device``)
    source: str
    certificate_secret: NotRequired[str]
    node: NotRequired[str]
    device: NotRequired[DeviceSettings]


class LoadBalancerRef(TypedDict):
    kind: str
    url: str


class ClientProfileInputs(TypedDict):
    cluster: str
    load_balancer: LoadBalancerRef
    virtual_address: str
    #: Set-VpnServerConfiguration -CustomPolicy parameters by their cmdlet names (what clients must match)
    policy: Mapping[str, str | int]


class NodeRestartInputs(NodeInputs):
    #: How to drain the node on its load balancer first, or None (restarted undrained).
    drain: DrainSpec | None
    #: The revisions of the settings each service depends on, by service name.
    services: Mapping[str, Sequence[pulumi.Input[str]]]
    later_nodes: list[str]
    #: How long the drained node's VPN sessions may take to end before the restart drops them (0: no wait).
    drain_timeout_seconds: int


class RemovedSetting(TypedDict):
    """One setting of a node, as its removal puts it back (providers/rras/removal.py, SETTING_TYPES): its
    ``type`` and what that provider's ``delete_object`` reads."""

    #: ipsec-policy, registry-value, tls-registry-value or accepted-root
    type: str
    path: NotRequired[str]
    name: NotRequired[str]
    #: present or absent (an absent value has nothing to put back)
    ensure: NotRequired[str]
    keep_on_delete: NotRequired[bool]
    thumbprint: NotRequired[str]


class NodeRemovalInputs(NodeInputs):
    """What removing the node from the stack does to it (providers/rras/removal.py)."""

    cluster: str
    #: How to drain the node on its load balancer for a revert's restart, or None.
    drain: DrainSpec | None
    drain_timeout_seconds: int
    #: What a revert restarts: IKEEXT, RemoteAccess; "Computer" reboots the node instead.
    services: list[str]
    #: Every setting of the node (the removal depends on them all): what a revert puts back first.
    settings: list[RemovedSetting]


class AcceptedRootInputs(NodeInputs):
    #: The SHA-1 thumbprint (40 upper-case hex digits) of a certificate in the node's LocalMachine\Root.
    thumbprint: str


class WindowsBuildInputs(NodeInputs):
    cluster: str
    #: What the node's declaration needs of its Windows build (providers/rras/hardening.py).
    requires: list[BuildRequirement]


class RrasIpsecPolicy(ApplianceResource, module="rras", name="IpsecPolicy"):
    def __init__(self, name: str, props: IpsecPolicyInputs, opts: Opts = None) -> None:
        super().__init__(IpsecPolicyProvider(), name, props, opts)


class RrasRegistryValue(ApplianceResource, module="rras", name="RegistryValue"):
    def __init__(self, name: str, props: RegistryValueInputs, opts: Opts = None) -> None:
        super().__init__(RegistryValueProvider(), name, props, opts)


class RrasTlsRegistryValue(ApplianceResource, module="rras", name="TlsRegistryValue"):
    """A Schannel protocol or cipher-suite-order value: its key is made when missing; the cipher-suite
    order (CipherSuiteOrderInputs) is picked for the node's build (providers/rras/tls.py)."""

    def __init__(self, name: str, props: RegistryValueInputs, opts: Opts = None) -> None:
        super().__init__(TlsRegistryValueProvider(), name, props, opts)


class RrasSstpCertificate(TypedResource, module="rras", name="SstpCertificate"):
    """The SSTP certificate's subject, thumbprint and expiry; its diff warns while it expires within 30 days
    (providers/rras/certificate.py)."""

    subject: pulumi.Output[str | None]
    thumbprint: pulumi.Output[str | None]
    not_after: pulumi.Output[str | None]

    def __init__(self, name: str, props: SstpCertificateInputs, opts: Opts = None) -> None:
        outputs = {"subject": None, "thumbprint": None, "not_after": None}
        super().__init__(SstpCertificateProvider(), name, {**props, **outputs}, opts)


class RrasAcceptedRoot(ApplianceResource, module="rras", name="AcceptedRootCertificate"):
    """The only root CA whose client certificates IKEv2 accepts (Set-VpnAuthProtocol
    -RootCertificateNameToAccept, providers/rras/hardening.py)."""

    def __init__(self, name: str, props: AcceptedRootInputs, opts: Opts = None) -> None:
        super().__init__(AcceptedRootProvider(), name, props, opts)


class RrasWindowsBuild(TypedResource, module="rras", name="WindowsBuild"):
    """A node's Windows build against what its declaration needs, refused at preview; writes nothing
    (providers/rras/hardening.py)."""

    def __init__(self, name: str, props: WindowsBuildInputs, opts: Opts = None) -> None:
        super().__init__(WindowsBuildProvider(), name, props, opts)


class RrasNodeRestart(TypedResource, module="rras", name="NodeRestart"):
    last_restart: pulumi.Output[dict[str, Any] | None]

    def __init__(self, name: str, props: NodeRestartInputs, opts: Opts = None) -> None:
        super().__init__(NodeRestartProvider(), name, {**props, "last_restart": None}, opts)


class RrasNodeRemoval(TypedResource, module="rras", name="NodeRemoval"):
    """Created and updated without a word to any device; it depends on the node's settings and on the
    load-balancer objects, so its delete comes before theirs: it keeps the node as it is, or puts the
    settings back and restarts the node drained (providers/rras/removal.py)."""

    def __init__(self, name: str, props: NodeRemovalInputs, opts: Opts = None) -> None:
        super().__init__(NodeRemovalProvider(), name, props, opts)


class RrasClientProfile(TypedResource, module="rras", name="ClientProfile"):
    """What a cluster's clients see (virtual address, load balancer, IPsec policy); its diff warns when a
    change reaches them (providers/rras/objects.py, ClientProfileProvider)."""

    def __init__(self, name: str, props: ClientProfileInputs, opts: Opts = None) -> None:
        super().__init__(ClientProfileProvider(), name, props, opts)
