"""Fixtures of the provider tests: a running twin per vendor case with configured providers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from emulators.common import RunningTwin
from providers.common.resource import ApplianceObjectProvider
from tests.providers.contract_cases import Ctx, VendorCases


def configured(cls: type[ApplianceObjectProvider], secrets: dict[str, str]) -> ApplianceObjectProvider:
    """A provider as the engine's Configure leaves it: the stack config holds the secrets."""
    provider = cls()
    provider.configure(ConfigureRequest(Config({f"aovpn:{k}": v for k, v in secrets.items()}, "aovpn")))
    return provider


@pytest.fixture
def contract_ctx(twin_factory: Callable[..., RunningTwin]) -> Iterator[Callable[[VendorCases], Ctx]]:
    """``contract_ctx(vendor_cases)``: a fresh twin of that vendor and the context its cases run in.
    The vendor clients of this process are closed (logged out) while the twin still runs."""

    used: list[VendorCases] = []

    def make(vendor: VendorCases) -> Ctx:
        used.append(vendor)
        twin = twin_factory(vendor.vendor, app=vendor.app()) if vendor.app else twin_factory(vendor.vendor)
        assert twin.tls is not None
        device: dict[str, Any] = {
            "url": twin.url,
            "user": vendor.user,
            "password_key": vendor.password_key,
            "ca_bundle": str(twin.tls.ca_path),
        }
        secrets = {vendor.password_key: vendor.password, **vendor.secrets()}
        return Ctx(
            twin=twin, device=device, secrets=secrets, make_provider=lambda cls: configured(cls, secrets)
        )

    yield make
    for vendor in used:
        vendor.clients.close_all()
