"""Pulumi dynamic resources for Citrix ADC objects (what components instantiate).

Every resource takes ``device`` ({url, user, password_key, ca_bundle}) and ``owner`` (the stack's
marker) besides the keys listed here:

    CitrixServer                    name, address
    CitrixServiceGroup              name, service_type, usip
    CitrixServiceGroupMember        servicegroup, server, port
    CitrixPingMonitor               name, monitor_type, interval, response_timeout, retries, downtime
    CitrixServiceGroupMonitor       servicegroup, monitor
    CitrixLbVserver                 name, service_type, port, address, lb_method
    CitrixLbVserverServiceGroup     vserver, servicegroup
    CitrixLbGroup                   name, persistence_type, timeout (minutes)
    CitrixLbGroupMember             group, vserver
    CitrixMode                      mode, enabled   (outputs also ``was_enabled``)
    CitrixPersistentLbVserver       CitrixLbVserver's keys + persistence_type, persistence_backup, timeout
    CitrixHttpMonitor               CitrixPingMonitor's keys + http_request, response_codes, secure
    CitrixCertKey                   prefix, certificate_secret, private_key_secret (outputs certkey, sha256)
    CitrixSslVserverCertKey         vserver, certkey
    CitrixConfigSave                revisions (the objects' ``revision`` outputs by resource name)
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

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
from providers.common.resources import ApplianceResource

Opts = pulumi.ResourceOptions | None


class CitrixServer(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ServerProvider(), name, props, opts)


class CitrixServiceGroup(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ServiceGroupProvider(), name, props, opts)


class CitrixServiceGroupMember(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ServiceGroupMemberProvider(), name, props, opts)


class CitrixPingMonitor(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(PingMonitorProvider(), name, props, opts)


class CitrixServiceGroupMonitor(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ServiceGroupMonitorBindingProvider(), name, props, opts)


class CitrixLbVserver(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(LbVserverProvider(), name, props, opts)


class CitrixLbVserverServiceGroup(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(LbVserverServiceGroupBindingProvider(), name, props, opts)


class CitrixLbGroup(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(LbGroupProvider(), name, props, opts)


class CitrixLbGroupMember(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(LbGroupVserverBindingProvider(), name, props, opts)


class CitrixMode(ApplianceResource):
    """A global mode kept on; outputs ``was_enabled`` (whether it was on before this stack needed it)."""

    was_enabled: pulumi.Output[bool]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ModeProvider(), name, {**props, "was_enabled": None}, opts)


class CitrixPersistentLbVserver(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(PersistentLbVserverProvider(), name, props, opts)


class CitrixHttpMonitor(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(HttpMonitorProvider(), name, props, opts)


class CitrixCertKey(ApplianceResource):
    certkey: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(CertKeyProvider(), name, {"certkey": None, "sha256": None, **props}, opts)


class CitrixSslVserverCertKey(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SslVserverCertKeyBindingProvider(), name, props, opts)


class CitrixConfigSave(Resource):
    """``save ns config`` after the objects it depends on."""

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ConfigSaveProvider(), name, props, opts)
