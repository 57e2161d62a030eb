"""The shared twin machinery: admin interface, request log, faults, latency, reboot, TLS."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from emulators.common import TwinApp, TwinBackend, ensure_tls, start_twin


class _Backend(TwinBackend):
    vendor = "dummy"

    def factory_config(self) -> dict[str, Any]:
        return {"objects": {}}


def _vendor_app(backend: _Backend):
    def app(environ, start_response):
        method = environ["REQUEST_METHOD"]
        name = environ["PATH_INFO"].rsplit("/", 1)[-1]
        if method == "PUT":
            with backend.lock:
                backend.running["objects"][name] = True
        body = json.dumps(backend.running).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


@pytest.fixture
def twin(tmp_path):
    backend = _Backend()
    tls = ensure_tls(tmp_path / "tls")
    running = start_twin("dummy", tls=tls, app=TwinApp(backend, _vendor_app(backend)))
    yield running
    running.stop()


def test_tls_is_verified_against_the_generated_ca(twin, tmp_path):
    other = ensure_tls(tmp_path / "other")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{twin.url}/x", verify=str(other.ca_path), timeout=10)
    assert requests.get(f"{twin.url}/x", verify=str(twin.tls.ca_path), timeout=10).status_code == 200


def test_log_and_counters_distinguish_writes(twin):
    ca = str(twin.tls.ca_path)
    requests.get(f"{twin.url}/a", verify=ca, timeout=10)
    requests.put(f"{twin.url}/b", verify=ca, timeout=10)
    admin = twin.admin()
    entries = admin.log()
    assert [(e["method"], e["path"], e["status"], e["write"]) for e in entries] == [
        ("GET", "/a", 200, False),
        ("PUT", "/b", 200, True),
    ]
    counters = admin.counters()
    assert counters["total"] == 2 and counters["writes"] == 1
    admin.clear_log()
    assert admin.log() == []


def test_status_fault_is_served_once_then_cleared(twin):
    ca = str(twin.tls.ca_path)
    admin = twin.admin()
    admin.add_fault(method="GET", path="^/flaky$", status=503, body={"code": 503}, times=1)
    first = requests.get(f"{twin.url}/flaky", verify=ca, timeout=10)
    second = requests.get(f"{twin.url}/flaky", verify=ca, timeout=10)
    assert (first.status_code, first.json()) == (503, {"code": 503})
    assert second.status_code == 200
    assert [e.get("fault") for e in admin.log()] == ["status", None]


def test_reset_fault_aborts_the_connection(twin):
    ca = str(twin.tls.ca_path)
    twin.admin().add_fault(path="^/boom$", action="reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{twin.url}/boom", verify=ca, timeout=10)
    assert requests.get(f"{twin.url}/boom", verify=ca, timeout=10).status_code == 200


def test_reboot_returns_to_saved_configuration(twin):
    ca = str(twin.tls.ca_path)
    requests.put(f"{twin.url}/kept", verify=ca, timeout=10)
    twin.backend.save_config()
    requests.put(f"{twin.url}/lost", verify=ca, timeout=10)
    assert twin.admin().state()["unsaved_changes"] is True
    twin.admin().reboot()
    state = twin.admin().state()
    assert state["running"]["objects"] == {"kept": True}
    assert state["boot_count"] == 2


def test_latency_is_recorded_and_reported(twin):
    twin.admin().set_latency(5)
    assert twin.app.latency_ms == 5


@pytest.mark.parametrize(("vendor", "path"), [("citrix", "/nitro/v1/config/lbvserver/none"), ("f5", "/x")])
def test_status_lines_carry_the_standard_reason_phrase(vendor, path, tls):
    """werkzeug spells reasons upper-case ("404 NOT FOUND"); the appliances send "404 Not Found"."""
    import http.client
    import ssl

    twin = start_twin(vendor, tls=tls)
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_path))
        conn = http.client.HTTPSConnection("127.0.0.1", twin.port, context=context, timeout=30)
        conn.request("GET", path, headers={"Authorization": "Basic YXV0b21hdGlvbjphdXRvbWF0aW9uLXBhc3M="})
        resp = conn.getresponse()
        resp.read()
        assert resp.status >= 400
        assert resp.reason == http.client.responses[resp.status], resp.reason
        conn.close()
    finally:
        twin.stop()
