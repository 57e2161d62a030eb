"""Fixtures of the WinRM twin's tests: a twin over HTTPS with Basic enabled and a runspace pool on it, a
plain-HTTP twin with Windows' default policy, and one twin serving three nodes (Basic enabled)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import Node


@pytest.fixture
def twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
    # the cmdlet tests reach it with Basic over HTTPS: enabled here, as an administrator would
    running = start_twin("winrm", tls=tls, allow_basic=True)
    yield running
    running.stop()


@pytest.fixture
def node(twin: RunningTwin) -> Iterator[Node]:
    n = Node(twin)
    yield n
    n.close()


@pytest.fixture
def http_twin() -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=None)  # plain HTTP, Windows' default policy
    yield running
    running.stop()


@pytest.fixture
def cluster(tls: TLSMaterial) -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=tls, nodes=["rras1", "rras2", "rras3"], allow_basic=True)
    yield running
    running.stop()
