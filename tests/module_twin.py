"""One twin per test module, back to its factory state for every test: for the modules that drive a single
twin directly (its own API, the project's providers or audit), not through the CLI.

    shared_twin, twin = module_twin("kemp")

at a module's top level declares both fixtures there: ``shared_twin`` starts the twin once for the module
(with the session's TLS material) and stops it at the end; ``twin`` resets it (factory state, no faults, an
empty request log) before each test and hands it over. ``after_reset`` and ``before_stop`` add what a module
needs besides (a new provider run, closing the providers' clients)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulators.common import RunningTwin, TLSMaterial, start_twin


def module_twin(
    kind: str,
    *,
    after_reset: Callable[[], None] | None = None,
    before_stop: Callable[[], None] | None = None,
) -> tuple[Any, Any]:
    @pytest.fixture(scope="module")
    def shared_twin(tls: TLSMaterial) -> Iterator[RunningTwin]:
        running = start_twin(kind, tls=tls)
        yield running
        if before_stop is not None:
            before_stop()
        running.stop()

    @pytest.fixture
    def twin(shared_twin: RunningTwin) -> RunningTwin:
        admin = shared_twin.admin()
        admin.factory_reset()
        admin.clear_faults()
        admin.clear_log()
        if after_reset is not None:
            after_reset()
        return shared_twin

    return shared_twin, twin
