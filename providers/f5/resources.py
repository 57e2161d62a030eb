"""Pulumi dynamic resources for BIG-IP LTM objects (what components instantiate), with their inputs.

Every object takes ``device`` and ``owner`` (ObjectInputs) and the ``partition`` it lives in. Objects
that reference others name them by full path (``full_path``); ``parents`` are the ids of the objects
this one is built on (it is replaced with them: providers/common/resource.py, ``parent_keys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi

from providers.common.resources import ApplianceResource, DeviceSave, DrainSpec, ObjectInputs, Opts
from providers.f5.client import full_path
from providers.f5.objects import (
    CertificateProvider,
    ClientSslProfileProvider,
    ConfigSaveProvider,
    HttpMonitorProvider,
    HttpsMonitorProvider,
    NodeProvider,
    PoolProvider,
    SourceAddressPersistenceProvider,
    SslPersistenceProvider,
    VirtualServerProvider,
)

__all__ = ["full_path"]

Parents = Sequence[pulumi.Input[str]]


class F5Inputs(ObjectInputs):
    partition: str
    #: The declaration's ``loadBalancer.adopt`` names this existing object: take it over (providers/common/
    #: resource.py, ``ADOPT_KEY``).
    adopt: NotRequired[bool]


class AdoptedName(TypedDict):
    """An object's ``name`` input, with ``adopt`` when it is an existing object to take over."""

    name: str
    adopt: NotRequired[bool]


class NodeInputs(F5Inputs):
    name: str
    address: str


class PoolInputs(F5Inputs):
    name: str
    load_balancing_mode: str
    monitor: str
    #: ``<node>:<port>`` names, sorted
    members: list[str]
    parents: Parents


class PersistenceInputs(F5Inputs):
    name: str
    timeout: int
    match_across_services: bool
    defaults_from: str


class ProfileRef(TypedDict):
    name: str
    #: all, clientside or serverside
    context: str


class VirtualServerInputs(F5Inputs):
    name: str
    destination_address: str
    port: int
    ip_protocol: str
    pool: str
    profiles: list[ProfileRef]
    source_address_translation: str
    persistence: str
    fallback_persistence: str
    parents: Parents


class MonitorInputs(F5Inputs):
    name: str
    defaults_from: str
    send: str
    recv: str
    interval: int
    timeout: int


class CertificateInputs(F5Inputs):
    base_name: str
    certificate_secret: str
    private_key_secret: str


class ClientSslProfileInputs(F5Inputs):
    name: str
    defaults_from: str
    certificate: pulumi.Input[str]
    key: pulumi.Input[str]


class PoolMemberRef(TypedDict):
    partition: str
    pool: str
    member: str


class F5DrainSpec(DrainSpec):
    """Drain a node: disable its member in every pool (providers/f5/drain.py)."""

    members: list[PoolMemberRef]


class F5Node(ApplianceResource, module="f5", name="Node"):
    def __init__(self, name: str, props: NodeInputs, opts: Opts = None) -> None:
        super().__init__(NodeProvider(), name, props, opts)


class F5Pool(ApplianceResource, module="f5", name="Pool"):
    def __init__(self, name: str, props: PoolInputs, opts: Opts = None) -> None:
        super().__init__(PoolProvider(), name, props, opts)


class F5SourceAddressPersistence(ApplianceResource, module="f5", name="SourceAddressPersistence"):
    def __init__(self, name: str, props: PersistenceInputs, opts: Opts = None) -> None:
        super().__init__(SourceAddressPersistenceProvider(), name, props, opts)


class F5VirtualServer(ApplianceResource, module="f5", name="VirtualServer"):
    def __init__(self, name: str, props: VirtualServerInputs, opts: Opts = None) -> None:
        super().__init__(VirtualServerProvider(), name, props, opts)


class F5SslPersistence(ApplianceResource, module="f5", name="SslPersistence"):
    def __init__(self, name: str, props: PersistenceInputs, opts: Opts = None) -> None:
        super().__init__(SslPersistenceProvider(), name, props, opts)


class F5HttpMonitor(ApplianceResource, module="f5", name="HttpMonitor"):
    def __init__(self, name: str, props: MonitorInputs, opts: Opts = None) -> None:
        super().__init__(HttpMonitorProvider(), name, props, opts)


class F5HttpsMonitor(ApplianceResource, module="f5", name="HttpsMonitor"):
    def __init__(self, name: str, props: MonitorInputs, opts: Opts = None) -> None:
        super().__init__(HttpsMonitorProvider(), name, props, opts)


class F5ClientSslProfile(ApplianceResource, module="f5", name="ClientSslProfile"):
    def __init__(self, name: str, props: ClientSslProfileInputs, opts: Opts = None) -> None:
        super().__init__(ClientSslProfileProvider(), name, props, opts)


class F5Certificate(ApplianceResource, module="f5", name="Certificate"):
    """The SSTP certificate and key; outputs ``sha256``, ``certificate`` and ``key`` (device paths)."""

    sha256: pulumi.Output[str]
    certificate: pulumi.Output[str]
    key: pulumi.Output[str]

    def __init__(self, name: str, props: CertificateInputs, opts: Opts = None) -> None:
        super().__init__(
            CertificateProvider(), name, {**props, "sha256": None, "certificate": None, "key": None}, opts
        )


class F5ConfigSave(DeviceSave, module="f5", name="ConfigSave"):
    """``save sys config`` (and the config-sync to the device group) after the objects it follows."""

    provider_class = ConfigSaveProvider
