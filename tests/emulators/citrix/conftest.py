"""The running Citrix twin every test module of this package uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.common import RunningTwin, TLSMaterial, start_twin


@pytest.fixture
def adc(tls: TLSMaterial) -> Iterator[RunningTwin]:
    twin = start_twin("citrix", tls=tls)
    yield twin
    twin.stop()
