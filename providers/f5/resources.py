"""Pulumi dynamic resources for BIG-IP LTM objects (what components instantiate)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from providers.f5.objects import (
    CertificateProvider,
    ClientSslProfileProvider,
    HttpMonitorProvider,
    HttpsMonitorProvider,
    NodeProvider,
    PoolProvider,
    SourceAddressPersistenceProvider,
    SslPersistenceProvider,
    VirtualServerProvider,
)

Opts = pulumi.ResourceOptions | None


class F5Node(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(NodeProvider(), name, props, opts)


class F5Pool(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(PoolProvider(), name, props, opts)


class F5SourceAddressPersistence(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SourceAddressPersistenceProvider(), name, props, opts)


class F5VirtualServer(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(VirtualServerProvider(), name, props, opts)


class F5SslPersistence(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SslPersistenceProvider(), name, props, opts)


class F5HttpMonitor(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(HttpMonitorProvider(), name, props, opts)


class F5HttpsMonitor(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(HttpsMonitorProvider(), name, props, opts)


class F5ClientSslProfile(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(ClientSslProfileProvider(), name, props, opts)


class F5Certificate(Resource):
    """The SSTP certificate and key; outputs ``sha256``, ``certificate`` and ``key`` (device paths)."""

    sha256: pulumi.Output[str]
    certificate: pulumi.Output[str]
    key: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(
            CertificateProvider(), name, {**props, "sha256": None, "certificate": None, "key": None}, opts
        )
