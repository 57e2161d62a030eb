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

from providers.common.resources import ApplianceResource
from providers.kemp.objects import (
    CertificateProvider,
    HealthCheckedVirtualServiceProvider,
    PortFollowProvider,
    RealServerProvider,
    SstpVirtualServiceProvider,
    VirtualServiceProvider,
)

Opts = pulumi.ResourceOptions | None


class KempVirtualService(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(VirtualServiceProvider(), name, props, opts)


class KempRealServer(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(RealServerProvider(), name, props, opts)


class KempPortFollow(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(PortFollowProvider(), name, props, opts)


class KempHealthCheckedVirtualService(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(HealthCheckedVirtualServiceProvider(), name, props, opts)


class KempSstpVirtualService(ApplianceResource):
    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(SstpVirtualServiceProvider(), name, props, opts)


class KempCertificate(ApplianceResource):
    """The SSTP certificate and key; outputs ``name`` (as installed) and ``sha256``."""

    sha256: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: Opts = None) -> None:
        super().__init__(CertificateProvider(), name, {"name": None, "sha256": None, **props}, opts)
