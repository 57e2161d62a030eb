"""Pulumi dynamic resources for LoadMaster objects (what components instantiate).

Every resource takes ``device`` ({url, user, password_key, ca_bundle}) and ``owner`` (the stack's marker)
besides the keys listed here (``vs`` / ``follow`` are {address, port, protocol} triplets):

    KempVirtualService   name, address, port, protocol, enabled, transparent, force_l7, persist,
                         persist_timeout, schedule, check_type
    KempHealthCheckedVirtualService   KempVirtualService's keys + check_url, check_codes, check_use_get
    KempRealServer       vs, address, port, weight, enabled
    KempPortFollow       vs, follow
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from providers.kemp.objects import (
    CertificateProvider,
    HealthCheckedVirtualServiceProvider,
    PortFollowProvider,
    RealServerProvider,
    SstpVirtualServiceProvider,
    VirtualServiceProvider,
)

Opts = pulumi.ResourceOptions | None


class KempVirtualService(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(VirtualServiceProvider(), name, props, opts)


class KempRealServer(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(RealServerProvider(), name, props, opts)


class KempPortFollow(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(PortFollowProvider(), name, props, opts)


class KempHealthCheckedVirtualService(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(HealthCheckedVirtualServiceProvider(), name, props, opts)


class KempSstpVirtualService(Resource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SstpVirtualServiceProvider(), name, props, opts)


class KempCertificate(Resource):
    """The SSTP certificate and key; outputs ``name`` (as installed) and ``sha256``."""

    sha256: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(CertificateProvider(), name, {"name": None, "sha256": None, **props}, opts)
