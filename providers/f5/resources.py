"""Pulumi dynamic resources for BIG-IP LTM objects (what components instantiate)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from providers.common.resources import ApplianceResource
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

Opts = pulumi.ResourceOptions | None


class F5Node(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(NodeProvider(), name, props, opts)


class F5Pool(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(PoolProvider(), name, props, opts)


class F5SourceAddressPersistence(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SourceAddressPersistenceProvider(), name, props, opts)


class F5VirtualServer(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(VirtualServerProvider(), name, props, opts)


class F5SslPersistence(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SslPersistenceProvider(), name, props, opts)


class F5HttpMonitor(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(HttpMonitorProvider(), name, props, opts)


class F5HttpsMonitor(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(HttpsMonitorProvider(), name, props, opts)


class F5ClientSslProfile(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ClientSslProfileProvider(), name, props, opts)


class F5Certificate(ApplianceResource):
    """The SSTP certificate and key; outputs ``sha256``, ``certificate`` and ``key`` (device paths)."""

    sha256: pulumi.Output[str]
    certificate: pulumi.Output[str]
    key: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(
            CertificateProvider(), name, {**props, "sha256": None, "certificate": None, "key": None}, opts
        )


class F5ConfigSave(Resource):
    """``save sys config`` (and config-sync) after the objects it depends on; inputs ``device``,
    ``revisions`` (the objects' ``revision`` outputs by resource name)."""

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ConfigSaveProvider(), name, props, opts)
