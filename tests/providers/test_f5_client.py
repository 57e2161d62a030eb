"""The F5 provider's client against the F5 twin: one token reused and deleted, retries only where safe,
re-login on an expired token, errors that name device, object, status and F5 code but never a secret."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.common import ensure_tls, start_twin
from providers.common.device import Device
from providers.common.errors import ApplianceError
from providers.f5.client import F5Client

PASSWORD = "automation-pass"


@pytest.fixture
def f5(tls):
    twin = start_twin("f5", tls=tls)
    yield twin
    twin.stop()


def client(twin: Any, password: str = PASSWORD, ca: str | None = None) -> F5Client:
    device = Device(
        url=twin.url, user="automation", password_key="f5Password", ca_bundle=ca or str(twin.tls.ca_path)
    )
    return F5Client(device, password)


def requests_made(twin: Any) -> list[tuple[str, str, int]]:
    return [(e["method"], e["path"], e["status"]) for e in twin.admin().log()]


def test_one_token_for_many_calls_then_deleted_at_close_and_nothing_saved_there(f5):
    c = client(f5)
    for i in range(5):
        c.call(
            "POST", "/mgmt/tm/ltm/node", {"name": f"n{i}", "address": f"10.0.0.{i + 1}"}, what=f"node n{i}"
        )
    assert c.get("/mgmt/tm/ltm/node/~Common~n0", what="node n0")["address"] == "10.0.0.1"
    c.close()
    log = requests_made(f5)
    assert [r for r in log if r[1] == "/mgmt/shared/authn/login"] == [
        ("POST", "/mgmt/shared/authn/login", 200)
    ]
    # saving is a step of the run (ConfigSaveProvider, tests/e2e/test_config_save.py), never left to
    # the provider host's exit, which the engine may cut short
    assert not [r for r in log if r[1] == "/mgmt/tm/sys/config"]
    assert log[-1][0] == "DELETE" and log[-1][1].startswith("/mgmt/shared/authz/tokens/")
    assert f5.admin()._call("GET", "/_twin/tokens")["automation"] == 0
    assert f5.admin().state()["unsaved_changes"] is True
    c = client(f5)
    c.persist(c.device)
    assert f5.admin().state()["unsaved_changes"] is False


def test_a_read_only_run_does_not_save(f5):
    c = client(f5)
    assert c.get("/mgmt/tm/ltm/pool/~Common~none", what="pool none") is None
    c.close()
    assert not [r for r in requests_made(f5) if r[1] == "/mgmt/tm/sys/config"]


def test_idempotent_calls_are_retried_on_transient_failures(f5):
    admin = f5.admin()
    c = client(f5)
    c.call("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"}, what="node n")
    admin.clear_log()
    admin.add_fault(method="GET", path="/mgmt/tm/ltm/node/~Common~n$", status=503, times=2)
    assert c.get("/mgmt/tm/ltm/node/~Common~n", what="node n")["name"] == "n"
    assert [r[2] for r in requests_made(f5)] == [503, 503, 200]
    admin.clear_log()
    admin.add_fault(method="GET", path="/mgmt/tm/ltm/node/~Common~n$", action="reset", times=1)
    assert c.get("/mgmt/tm/ltm/node/~Common~n", what="node n")["name"] == "n"
    c.close()


def test_a_create_is_never_sent_twice(f5):
    admin = f5.admin()
    c = client(f5)
    c.get("/mgmt/tm/ltm/node", what="nodes")  # logged in
    admin.clear_log()
    admin.add_fault(method="POST", path="/mgmt/tm/ltm/node$", status=503, times=1)
    with pytest.raises(ApplianceError) as exc:
        c.call("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"}, what="ltm node /Common/n")
    assert exc.value.status == 503
    assert [r[0] for r in requests_made(f5)] == ["POST"]
    c.close()


def test_an_expired_token_is_replaced_once(f5):
    c = client(f5)
    c.get("/mgmt/tm/ltm/node", what="nodes")
    f5.admin()._call("POST", "/_twin/expire-tokens")
    f5.admin().clear_log()
    assert c.get("/mgmt/tm/ltm/node", what="nodes") is not None
    assert [(m, s) for m, _, s in requests_made(f5)] == [("GET", 401), ("POST", 200), ("GET", 200)]
    c.close()


def test_errors_carry_the_f5_code_and_never_the_password(f5):
    c = client(f5)
    c.call("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"}, what="ltm node /Common/n")
    with pytest.raises(ApplianceError) as exc:
        c.call("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"}, what="ltm node /Common/n")
    err = exc.value
    assert (err.status, err.code) == (409, "01020066:3")
    assert str(err).startswith(f"127.0.0.1:{f5.port}: create ltm node /Common/n failed: HTTP 409 01020066:3:")
    c.close()

    bad = client(f5, password="not-the-password")
    with pytest.raises(ApplianceError) as exc:
        bad.get("/mgmt/tm/ltm/node", what="nodes")
    assert exc.value.status == 401 and "authentication failed" in str(exc.value)
    assert "not-the-password" not in str(exc.value)
    # the other resources waiting on this client get the same answer without another login attempt
    f5.admin().clear_log()
    with pytest.raises(ApplianceError):
        bad.get("/mgmt/tm/ltm/pool", what="pools")
    assert requests_made(f5) == []


def test_tls_is_verified_against_the_declared_bundle(f5, tmp_path):
    other = ensure_tls(tmp_path / "other-ca")
    c = client(f5, ca=str(other.ca_path))
    with pytest.raises(ApplianceError) as exc:
        c.get("/mgmt/tm/ltm/node", what="nodes")
    assert exc.value.code == "TLS" and "caBundle" in str(exc.value)
    assert requests_made(f5) == []


def test_upload_in_chunks_lands_as_one_file(f5):
    c = client(f5)
    data = bytes(range(256)) * 5000  # 1.28 MB: three 512 KiB chunks
    assert c.upload("blob.bin", data) == "/var/config/rest/downloads/blob.bin"
    uploads = [r for r in requests_made(f5) if "file-transfer" in r[1]]
    assert len(uploads) == 3
    assert f5.backend.files["blob.bin"] == data
    c.close()


def test_a_read_beside_the_login_uses_basic_credentials_and_leaves_the_token_for_what_follows(f5):
    c = client(f5)
    user = c.get_beside_login("/mgmt/tm/auth/user/automation", what="auth user automation")
    assert user is not None and user["name"] == "automation"
    c.get("/mgmt/tm/ltm/node", what="nodes")
    made = requests_made(f5)
    assert sorted(made[:2]) == [
        ("GET", "/mgmt/tm/auth/user/automation", 200),
        ("POST", "/mgmt/shared/authn/login", 200),
    ]
    assert made[2:] == [("GET", "/mgmt/tm/ltm/node", 200)]  # the login's token, no second login
    c.close()


def test_a_wrong_password_beside_the_login_is_tried_twice_once_each_way_and_then_remembered(f5):
    bad = client(f5, password="not-the-password")
    with pytest.raises(ApplianceError) as exc:
        bad.get_beside_login("/mgmt/tm/auth/user/automation", what="auth user automation")
    assert exc.value.status == 401 and "not-the-password" not in str(exc.value)
    assert sorted(requests_made(f5)) == [
        ("GET", "/mgmt/tm/auth/user/automation", 401),
        ("POST", "/mgmt/shared/authn/login", 401),
    ]
    f5.admin().clear_log()
    with pytest.raises(ApplianceError) as exc:
        bad.call("POST", "/mgmt/tm/ltm/node", {"name": "n", "address": "10.0.0.1"}, what="ltm node /Common/n")
    assert "log in as user automation" in str(exc.value) and "authentication failed" in str(exc.value)
    assert requests_made(f5) == []  # the refused login is remembered: no third attempt
