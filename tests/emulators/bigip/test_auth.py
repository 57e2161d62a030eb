"""The BIG-IP twin authenticates as BIG-IP does: httpd's HTML 401 for a bad Basic password, restjavad JSON
otherwise, token lifetimes and the per-user token cap (docs/f5.md#authentication)."""

from __future__ import annotations

import pytest
import requests

from tests.emulators.bigip.rest import ADMIN, Rest, ok


def test_bad_basic_password_is_an_html_401_from_httpd(f5):
    resp = requests.get(
        f"{f5.url}/mgmt/tm/ltm/pool", auth=("automation", "wrong"), verify=str(f5.tls.ca_path), timeout=10
    )
    assert resp.status_code == 401 and resp.reason == "F5 Authorization Required"
    assert resp.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        resp.json()


def test_no_credentials_and_failed_login_are_restjavad_json(f5):
    resp = requests.get(f"{f5.url}/mgmt/tm/ltm/pool", verify=str(f5.tls.ca_path), timeout=10)
    assert resp.status_code == 401
    body = resp.json()
    assert body["kind"] == ":resterrorresponse" and "no user authentication header" in body["message"]
    resp = requests.post(
        f"{f5.url}/mgmt/shared/authn/login",
        json={"username": "automation", "password": "nope", "loginProviderName": "tmos"},
        verify=str(f5.tls.ca_path),
        timeout=10,
    )
    assert resp.status_code == 401
    body = resp.json()
    assert body["message"] == "Authentication failed." and "nope" not in resp.text


def test_token_login_shape_expiry_and_lifetime_ceiling(f5):
    rest = Rest(f5)
    resp = requests.post(
        f"{f5.url}/mgmt/shared/authn/login",
        json={"username": "automation", "password": "automation-pass", "loginProviderName": "tmos"},
        verify=str(f5.tls.ca_path),
        timeout=10,
    )
    token = resp.json()["token"]
    assert "timeout" not in resp.json()  # no top-level timeout (docs/f5.md#tokens)
    assert token["timeout"] == 1200 and len(token["token"]) == 26
    assert token["expirationMicros"] - token["lastUpdateMicros"] == 1200 * 1_000_000
    patched = ok(rest("PATCH", f"/mgmt/shared/authz/tokens/{rest.token}", {"timeout": 36000}))
    assert patched["timeout"] == 36000  # a JSON number, as go-bigip requires
    too_long = rest("PATCH", f"/mgmt/shared/authz/tokens/{rest.token}", {"timeout": 36001})
    assert too_long.status_code == 400 and "36000 seconds" in too_long.json()["message"]
    # someone else's token cannot be touched
    other = Rest(f5, ADMIN)
    assert other("DELETE", f"/mgmt/shared/authz/tokens/{rest.token}").status_code == 400
    f5.admin()._call("POST", "/_twin/expire-tokens")
    resp = rest("GET", "/mgmt/tm/ltm/pool")
    assert resp.status_code == 401 and "X-F5-Auth-Token does not exist." in resp.json()["message"]


def test_a_user_has_at_most_100_tokens_admin_excepted(f5):
    sessions = [Rest(f5) for _ in range(100)]
    resp = requests.post(
        f"{f5.url}/mgmt/shared/authn/login",
        json={"username": "automation", "password": "automation-pass", "loginProviderName": "tmos"},
        verify=str(f5.tls.ca_path),
        timeout=10,
    )
    assert resp.status_code == 400 and "has reached maximum active login tokens" in resp.json()["message"]
    ok(sessions[0]("DELETE", f"/mgmt/shared/authz/tokens/{sessions[0].token}"))
    Rest(f5)  # a deleted token frees a slot
    for _ in range(101):
        Rest(f5, ADMIN)
