"""The fixtures of the tests that run the real CLI (tests/e2e, tests/audit): a copy of the product per test
module (``project``, see tests/e2e/project.py), and a twin of each load balancer per test module, seen
through its vendor's view (tests/e2e/devices.py). A pytest plugin of the root conftest (``pytest_plugins``),
so every folder has them once; a module or folder that needs its own twin of the same name defines it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import pytest

from emulators.common import TLSMaterial, start_twin
from tests.e2e.devices import F5, Citrix, DeviceView, Kemp
from tests.e2e.project import Project, copy_product


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield copy_product(tmp_path_factory.mktemp("project"))


V = TypeVar("V", bound=DeviceView)


def running(view: type[V], tls: TLSMaterial) -> Iterator[V]:
    twin = start_twin(view.kind, tls=tls)
    try:
        yield view(twin)
    finally:
        twin.stop()


@pytest.fixture(scope="module")
def f5(tls: TLSMaterial) -> Iterator[F5]:
    """An F5 BIG-IP twin for the module."""
    yield from running(F5, tls)


@pytest.fixture(scope="module")
def adc(tls: TLSMaterial) -> Iterator[Citrix]:
    """A Citrix ADC twin for the module."""
    yield from running(Citrix, tls)


@pytest.fixture(scope="module")
def kemp(tls: TLSMaterial) -> Iterator[Kemp]:
    """A Kemp LoadMaster twin for the module."""
    yield from running(Kemp, tls)
