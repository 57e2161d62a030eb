"""Fixtures of the BIG-IP twin tests: a twin per test, and f5-sdk (an independent client) logged in to it."""

from __future__ import annotations

import pytest

from emulators.common import start_twin
from tests.emulators.bigip.rest import USER


@pytest.fixture
def f5(tls):
    twin = start_twin("f5", tls=tls)
    yield twin
    twin.stop()


@pytest.fixture
def sdk(f5, monkeypatch):
    pytest.importorskip("f5.bigip")
    from f5.bigip import ManagementRoot

    # requests lets REQUESTS_CA_BUNDLE override a session's verify; f5-sdk sets the session's, so clear it.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return ManagementRoot(
        "127.0.0.1", *USER, port=f5.port, token=True, verify=str(f5.tls.ca_path), timeout=10
    )
