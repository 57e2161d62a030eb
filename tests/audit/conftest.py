"""Fixtures of the audit tests (tests/audit): a copy of the product for the CLI path (``project``, as
tests/e2e/project.py makes it) and a twin of each load balancer per module, seen through its vendor's view
(tests/e2e/devices.py), as tests/e2e/conftest.py starts them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.common import TLSMaterial
from tests.e2e.conftest import _running
from tests.e2e.devices import F5, Citrix, Kemp
from tests.e2e.project import Project, copy_product


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield copy_product(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def f5(tls: TLSMaterial) -> Iterator[F5]:
    yield from _running(F5, tls)


@pytest.fixture(scope="module")
def adc(tls: TLSMaterial) -> Iterator[Citrix]:
    yield from _running(Citrix, tls)


@pytest.fixture(scope="module")
def kemp(tls: TLSMaterial) -> Iterator[Kemp]:
    yield from _running(Kemp, tls)
