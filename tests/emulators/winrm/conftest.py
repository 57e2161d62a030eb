"""Fixtures of the WinRM twin's tests: a twin over HTTPS and a runspace pool on it, a plain-HTTP twin with
Windows' default policy, and one twin serving three nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.common import RunningTwin, TLSMaterial, start_twin
from tests.emulators.winrm.client import Node


@pytest.fixture
def twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
    running = start_twin("winrm", tls=tls)
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
    running = start_twin("winrm", tls=tls, nodes=["rras1", "rras2", "rras3"])
    yield running
    running.stop()
