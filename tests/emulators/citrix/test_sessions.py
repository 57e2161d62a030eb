"""Citrix twin sessions: login forms, cookies, idle expiry, logout, custom users (citrix.md,
docs/citrix.md#authentication-and-sessions)."""

from __future__ import annotations

import time

from emulators.common import start_twin
from tests.emulators.citrix.nitro import PASSWORD, USER, Nitro, done, refused


def test_sessions_login_cookie_spellings_expiry_and_bad_password(adc):
    anonymous = Nitro(adc, headers={})
    resp = anonymous("POST", "login", {"login": {"username": USER, "password": PASSWORD}})
    body = done(resp, 201)
    sessionid = body["sessionid"]
    assert sessionid.startswith("##") and "NITRO_AUTH_TOKEN=%23%23" in resp.headers["Set-Cookie"]
    set_cookie = resp.headers["Set-Cookie"].lower()
    assert "path=/nitro/v1" in set_cookie and "sessid=deleted" in set_cookie
    done(Nitro(adc, headers={})("GET", "server", cookies=resp.cookies))  # the cookie as the client got it
    for header in (
        {"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"},
        {"Cookie": f"sessionid={sessionid}"},
        {"Set-Cookie": f"NITRO_AUTH_TOKEN={sessionid}"},
    ):
        done(Nitro(adc, headers=header)("GET", "lbvserver"))
    adc.admin()._call("POST", "/_twin/expire-sessions")
    refused(Nitro(adc, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})("GET", "lbvserver"), 401, 444)
    refused(anonymous("POST", "login", {"login": {"username": USER, "password": "x"}}), 401, 354)
    refused(Nitro(adc, headers={"X-NITRO-USER": USER, "X-NITRO-PASS": "x"})("GET", "server"), 401, 354)
    assert anonymous("GET", "server").status_code == 401


def test_idle_timeout_from_login_logout_and_custom_users(tls):
    twin = start_twin("citrix", tls=tls, users={"alice": "wonder"}, roles={"alice": [("superuser", 0)]})
    try:
        anonymous = Nitro(twin, headers={})
        refused(anonymous("POST", "login", {"login": {"username": "nsroot", "password": "nsroot"}}), 401, 354)
        sessionid = done(
            anonymous("POST", "login", {"login": {"username": "alice", "password": "wonder", "timeout": 1}}),
            201,
        )["sessionid"]
        cookie = Nitro(twin, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})
        done(cookie("GET", "server"))
        time.sleep(1.3)  # idle longer than the login's own timeout
        assert "Session expired" in refused(cookie("GET", "server"), 401, 444)
        # a fresh session, then logout kills it
        sessionid = done(
            anonymous("POST", "login", {"login": {"username": "alice", "password": "wonder"}}), 201
        )["sessionid"]
        cookie = Nitro(twin, headers={"Cookie": f"NITRO_AUTH_TOKEN={sessionid}"})
        assert cookie("POST", "logout", {"logout": {}}).status_code in (200, 201)
        refused(cookie("GET", "server"), 401, 444)
        # login, logout and reads are not writes
        assert [e for e in twin.admin().log() if e["write"]] == []
    finally:
        twin.stop()
