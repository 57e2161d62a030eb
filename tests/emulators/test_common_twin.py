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


def test_log_entries_carry_monotonic_start_and_end(twin):
    ca = str(twin.tls.ca_path)
    requests.get(f"{twin.url}/a", verify=ca, timeout=10)
    requests.get(f"{twin.url}/b", verify=ca, timeout=10)
    first, second = twin.admin().log()
    assert first["t"][0] <= first["t"][1] <= second["t"][0] <= second["t"][1]


def _chaos(twin, method: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, f"{twin.url}/_twin/chaos", json=body, verify=str(twin.tls.ca_path), timeout=10
    )


def _statuses(twin, count: int) -> list[int]:
    out = []
    for i in range(count):
        try:
            out.append(requests.get(f"{twin.url}/c{i}", verify=str(twin.tls.ca_path), timeout=10).status_code)
        except requests.exceptions.ConnectionError:
            out.append(0)
    return out


def test_chaos_faults_are_random_seeded_and_logged(twin):
    spec = {"rate": 0.5, "seed": 7, "actions": ["status", "reset"], "statuses": [502, 503]}
    assert _chaos(twin, "PUT", spec).status_code == 200
    first = _statuses(twin, 40)
    assert _chaos(twin, "PUT", spec).status_code == 200
    again = _statuses(twin, 40)
    assert first == again
    assert {200, 0} <= set(first) and set(first) & {502, 503} and set(first) <= {200, 0, 502, 503}
    entries = twin.admin().log()
    faulted = [e for e in entries if e.get("fault")]
    assert len(faulted) == sum(1 for s in first + again if s != 200)
    assert all(e["chaos"] for e in faulted) and {e["fault"] for e in faulted} == {"status", "reset"}
    state = _chaos(twin, "GET").json()
    assert (state["seen"], state["hits"]) == (40, sum(1 for s in again if s != 200))
    page = next(e for e in entries if e.get("fault") == "status")
    assert page["status"] in (502, 503) and page["write"] is False


def test_chaos_error_page_is_html_as_the_front_web_server_sends_it(twin):
    _chaos(twin, "PUT", {"rate": 1.0, "seed": 1, "actions": ["status"], "statuses": [503]})
    resp = requests.get(f"{twin.url}/x", verify=str(twin.tls.ca_path), timeout=10)
    assert resp.status_code == 503 and resp.headers["Content-Type"].startswith("text/html")
    assert "Service Unavailable" in resp.text


def test_chaos_lost_answer_carries_out_the_write(twin):
    _chaos(twin, "PUT", {"rate": 1.0, "seed": 3, "actions": ["lost"]})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(f"{twin.url}/landed", verify=str(twin.tls.ca_path), timeout=10)
    assert twin.backend.running["objects"] == {"landed": True}
    assert _chaos(twin, "DELETE").status_code == 200 and _chaos(twin, "GET").json() == {}
    assert requests.get(f"{twin.url}/after", verify=str(twin.tls.ca_path), timeout=10).status_code == 200
    (lost, after) = twin.admin().log()
    assert (lost["fault"], lost["chaos"], lost["write"]) == ("lost", True, True)
    assert "fault" not in after


def test_chaos_timeout_holds_the_request_then_resets(twin):
    _chaos(twin, "PUT", {"rate": 1.0, "seed": 3, "actions": ["timeout"], "timeout_s": 0.1})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{twin.url}/slow", verify=str(twin.tls.ca_path), timeout=10)
    (entry,) = twin.admin().log()
    assert (entry["fault"], entry["status"]) == ("timeout", 0)


def test_explicit_faults_go_before_chaos(twin):
    _chaos(twin, "PUT", {"rate": 1.0, "seed": 3, "actions": ["reset"]})
    twin.admin().add_fault(path="^/x$", status=409)
    assert requests.get(f"{twin.url}/x", verify=str(twin.tls.ca_path), timeout=10).status_code == 409
    assert "chaos" not in twin.admin().log()[0]


@pytest.mark.parametrize(
    "spec", [{"actions": ["explode"]}, {"rate": 2}, {"statuses": [200]}], ids=["action", "rate", "status"]
)
def test_chaos_refuses_bad_settings(twin, spec):
    resp = _chaos(twin, "PUT", spec)
    assert resp.status_code == 400 and "chaos" in resp.json()["error"]
    assert _chaos(twin, "GET").json() == {}
