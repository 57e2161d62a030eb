"""Pulumi dynamic resources for LoadMaster objects (what components instantiate), with their inputs.

Every object takes ``device`` and ``owner`` (ObjectInputs). A virtual service is identified on the
LoadMaster by its address, port and protocol (``VsRef``); objects living on one carry its id as
``vs_id`` (and port following the other service's as ``follow_id``), so they are replaced with it
(providers/common/resource.py, ``parent_keys``). ``KempCertificate`` outputs ``name`` (as installed) and
``sha256``.
"""

from __future__ import annotations

from typing import TypedDict

import pulumi

from providers.common.resources import ApplianceResource, DrainSpec, ObjectInputs, Opts
from providers.kemp.objects import (
    CertificateProvider,
    HealthCheckedVirtualServiceProvider,
    PortFollowProvider,
    RealServerProvider,
    SstpVirtualServiceProvider,
    VirtualServiceProvider,
)


class AdoptInputs(TypedDict, total=False):
    """``adopt: True``: the declaration's ``loadBalancer.adopt`` names the existing object (a virtual service,
    or one on it) that the create takes over when it carries no marker (providers/common/resource.py)."""

    adopt: bool


class VsRef(TypedDict):
    address: str
    port: int
    #: udp or tcp
    protocol: str


class VirtualServiceInputs(ObjectInputs, VsRef, AdoptInputs):
    name: str
    enabled: bool
    transparent: bool
    force_l7: bool
    persist: str
    persist_timeout: int
    schedule: str
    check_type: str


class HealthCheckedVirtualServiceInputs(VirtualServiceInputs):
    check_url: str
    check_codes: str
    check_use_get: int


class SstpVirtualServiceInputs(HealthCheckedVirtualServiceInputs):
    ssl_acceleration: bool
    #: the installed certificate's name, "" without TLS offload
    cert_file: pulumi.Input[str]
    ssl_reencrypt: bool


class RealServerInputs(ObjectInputs, AdoptInputs):
    vs: VsRef
    vs_id: pulumi.Input[str]
    address: str
    port: int
    weight: int
    enabled: bool


class PortFollowInputs(ObjectInputs, AdoptInputs):
    vs: VsRef
    vs_id: pulumi.Input[str]
    follow: VsRef
    follow_id: pulumi.Input[str]


class CertificateInputs(ObjectInputs):
    prefix: str
    certificate_secret: str
    private_key_secret: str


class RealServerRef(TypedDict):
    vs: VsRef
    address: str
    port: int


class KempDrainSpec(DrainSpec):
    """Drain a node: disable its real server on every virtual service (providers/kemp/drain.py)."""

    real_servers: list[RealServerRef]


class KempVirtualService(ApplianceResource, module="kemp", name="VirtualService"):
    def __init__(self, name: str, props: VirtualServiceInputs, opts: Opts = None) -> None:
        super().__init__(VirtualServiceProvider(), name, props, opts)


class KempRealServer(ApplianceResource, module="kemp", name="RealServer"):
    def __init__(self, name: str, props: RealServerInputs, opts: Opts = None) -> None:
        super().__init__(RealServerProvider(), name, props, opts)


class KempPortFollow(ApplianceResource, module="kemp", name="PortFollow"):
    def __init__(self, name: str, props: PortFollowInputs, opts: Opts = None) -> None:
        super().__init__(PortFollowProvider(), name, props, opts)


class KempHealthCheckedVirtualService(ApplianceResource, module="kemp", name="HealthCheckedVirtualService"):
    def __init__(self, name: str, props: HealthCheckedVirtualServiceInputs, opts: Opts = None) -> None:
        super().__init__(HealthCheckedVirtualServiceProvider(), name, props, opts)


class KempSstpVirtualService(ApplianceResource, module="kemp", name="SstpVirtualService"):
    def __init__(self, name: str, props: SstpVirtualServiceInputs, opts: Opts = None) -> None:
        super().__init__(SstpVirtualServiceProvider(), name, props, opts)


class KempCertificate(ApplianceResource, module="kemp", name="Certificate"):
    """The SSTP certificate and key; outputs ``name`` (as installed) and ``sha256``."""

    name: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(self, name: str, props: CertificateInputs, opts: Opts = None) -> None:
        super().__init__(CertificateProvider(), name, {"name": None, "sha256": None, **props}, opts)
