"""Fixtures shared by every test: the local CA, a factory of running twins, Pulumi's mocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from emulators.common import RunningTwin, TLSMaterial, ensure_tls, start_twin
from tests.unit.support import Mocks

#: the real-CLI fixtures (project, f5, adc, kemp) for tests/e2e and tests/audit
pytest_plugins = ("tests.e2e.fixtures",)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    """One local CA and server certificate for the whole test session."""
    return ensure_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def twin_factory(tls: TLSMaterial) -> Iterator[Callable[..., RunningTwin]]:
    """``twin_factory("f5")`` starts a twin on a free loopback port; all are stopped after the test."""
    started: list[RunningTwin] = []

    def _start(vendor: str, **options: Any) -> RunningTwin:
        twin = start_twin(vendor, tls=tls, **options)
        started.append(twin)
        return twin

    yield _start
    for twin in started:
        twin.stop()


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def mocks() -> Mocks:
    """Pulumi's mocks, recording every resource a component makes."""
    m = Mocks()
    pulumi.runtime.set_mocks(m, project="aovpn", stack="test", preview=False)
    return m
