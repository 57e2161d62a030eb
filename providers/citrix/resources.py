"""Pulumi dynamic resources for Citrix ADC objects (what components instantiate), with their inputs.

Every object takes ``device`` and ``owner`` (ObjectInputs). Values use NITRO's own vocabulary
(``UDP``, ``LEASTCONNECTION``, ``SOURCEIP``, ``YES``). Bindings name their two ends and carry the ids of
the objects they hang from as ``parents`` (replaced with them: providers/common/resource.py,
``parent_keys``). ``CitrixMode`` outputs ``was_enabled``; ``CitrixCertKey`` outputs ``certkey`` and
``sha256``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import pulumi

from providers.citrix.objects import (
    CertKeyProvider,
    ConfigSaveProvider,
    HttpMonitorProvider,
    LbGroupProvider,
    LbGroupVserverBindingProvider,
    LbVserverProvider,
    LbVserverServiceGroupBindingProvider,
    ModeProvider,
    PersistentLbVserverProvider,
    PingMonitorProvider,
    ServerProvider,
    ServiceGroupMemberProvider,
    ServiceGroupMonitorBindingProvider,
    ServiceGroupProvider,
    SslVserverCertKeyBindingProvider,
)
from providers.common.resources import ApplianceResource, DeviceSave, DrainSpec, ObjectInputs, Opts

Parents = Sequence[pulumi.Input[str]]


class ServerInputs(ObjectInputs):
    name: str
    address: str


class ServiceGroupInputs(ObjectInputs):
    name: str
    service_type: str
    #: Use Client IP: YES or NO
    usip: str


class ServiceGroupMemberInputs(ObjectInputs):
    servicegroup: str
    server: str
    port: int
    parents: Parents


class MonitorTiming(TypedDict):
    """Seconds."""

    interval: int
    response_timeout: int
    retries: int
    downtime: int


class PingMonitorInputs(ObjectInputs, MonitorTiming):
    name: str
    monitor_type: str


class HttpMonitorInputs(PingMonitorInputs):
    http_request: str
    response_codes: list[str]
    #: YES or NO
    secure: str


class ServiceGroupMonitorInputs(ObjectInputs):
    servicegroup: str
    monitor: str
    parents: Parents


class LbVserverInputs(ObjectInputs):
    name: str
    service_type: str
    port: int
    address: str
    lb_method: str


class PersistentLbVserverInputs(LbVserverInputs):
    persistence_type: str
    persistence_backup: str
    #: minutes
    timeout: int


class LbVserverServiceGroupInputs(ObjectInputs):
    vserver: str
    servicegroup: str
    parents: Parents


class LbGroupInputs(ObjectInputs):
    name: str
    persistence_type: str
    #: minutes
    timeout: int


class LbGroupMemberInputs(ObjectInputs):
    group: str
    vserver: str
    parents: Parents


class ModeInputs(ObjectInputs):
    mode: str
    enabled: bool


class CertKeyInputs(ObjectInputs):
    prefix: str
    certificate_secret: str
    private_key_secret: str


class SslVserverCertKeyInputs(ObjectInputs):
    vserver: str
    certkey: pulumi.Input[str]
    parents: Parents


class CitrixDrainSpec(DrainSpec):
    """Drain a node: disable its server object gracefully (providers/citrix/drain.py)."""

    server: str


class CitrixServer(ApplianceResource, module="citrix", name="Server"):
    def __init__(self, name: str, props: ServerInputs, opts: Opts = None) -> None:
        super().__init__(ServerProvider(), name, props, opts)


class CitrixServiceGroup(ApplianceResource, module="citrix", name="ServiceGroup"):
    def __init__(self, name: str, props: ServiceGroupInputs, opts: Opts = None) -> None:
        super().__init__(ServiceGroupProvider(), name, props, opts)


class CitrixServiceGroupMember(ApplianceResource, module="citrix", name="ServiceGroupMember"):
    def __init__(self, name: str, props: ServiceGroupMemberInputs, opts: Opts = None) -> None:
        super().__init__(ServiceGroupMemberProvider(), name, props, opts)


class CitrixPingMonitor(ApplianceResource, module="citrix", name="PingMonitor"):
    def __init__(self, name: str, props: PingMonitorInputs, opts: Opts = None) -> None:
        super().__init__(PingMonitorProvider(), name, props, opts)


class CitrixServiceGroupMonitor(ApplianceResource, module="citrix", name="ServiceGroupMonitor"):
    def __init__(self, name: str, props: ServiceGroupMonitorInputs, opts: Opts = None) -> None:
        super().__init__(ServiceGroupMonitorBindingProvider(), name, props, opts)


class CitrixLbVserver(ApplianceResource, module="citrix", name="LbVserver"):
    def __init__(self, name: str, props: LbVserverInputs, opts: Opts = None) -> None:
        super().__init__(LbVserverProvider(), name, props, opts)


class CitrixLbVserverServiceGroup(ApplianceResource, module="citrix", name="LbVserverServiceGroup"):
    def __init__(self, name: str, props: LbVserverServiceGroupInputs, opts: Opts = None) -> None:
        super().__init__(LbVserverServiceGroupBindingProvider(), name, props, opts)


class CitrixLbGroup(ApplianceResource, module="citrix", name="LbGroup"):
    def __init__(self, name: str, props: LbGroupInputs, opts: Opts = None) -> None:
        super().__init__(LbGroupProvider(), name, props, opts)


class CitrixLbGroupMember(ApplianceResource, module="citrix", name="LbGroupMember"):
    def __init__(self, name: str, props: LbGroupMemberInputs, opts: Opts = None) -> None:
        super().__init__(LbGroupVserverBindingProvider(), name, props, opts)


class CitrixMode(ApplianceResource, module="citrix", name="Mode"):
    """A global mode kept on; outputs ``was_enabled`` (whether it was on before this stack needed it)."""

    was_enabled: pulumi.Output[bool]

    def __init__(self, name: str, props: ModeInputs, opts: Opts = None) -> None:
        super().__init__(ModeProvider(), name, {**props, "was_enabled": None}, opts)


class CitrixPersistentLbVserver(ApplianceResource, module="citrix", name="PersistentLbVserver"):
    def __init__(self, name: str, props: PersistentLbVserverInputs, opts: Opts = None) -> None:
        super().__init__(PersistentLbVserverProvider(), name, props, opts)


class CitrixHttpMonitor(ApplianceResource, module="citrix", name="HttpMonitor"):
    def __init__(self, name: str, props: HttpMonitorInputs, opts: Opts = None) -> None:
        super().__init__(HttpMonitorProvider(), name, props, opts)


class CitrixCertKey(ApplianceResource, module="citrix", name="CertKey"):
    certkey: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(self, name: str, props: CertKeyInputs, opts: Opts = None) -> None:
        super().__init__(CertKeyProvider(), name, {"certkey": None, "sha256": None, **props}, opts)


class CitrixSslVserverCertKey(ApplianceResource, module="citrix", name="SslVserverCertKey"):
    def __init__(self, name: str, props: SslVserverCertKeyInputs, opts: Opts = None) -> None:
        super().__init__(SslVserverCertKeyBindingProvider(), name, props, opts)


class CitrixConfigSave(DeviceSave, module="citrix", name="ConfigSave"):
    """``save ns config`` after the objects it follows."""

    provider_class = ConfigSaveProvider
