"""The toy vendor registered for the tests that use it, and removed after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components import registry
from tests.toy_vendor.component import ToyBalancer


@pytest.fixture
def toy() -> Iterator[ToyBalancer]:
    vendor = ToyBalancer()
    registry.register(vendor)  # the one entry that wires a vendor in
    yield vendor
    registry.unregister(vendor.kind)
