"""A NITRO REST client: one login session per provider process and device, reused, logged out at exit.

Facts (docs/citrix.md#authentication-and-sessions, docs/citrix.md#envelope-and-status-codes): ``POST
/nitro/v1/config/login`` answers 201 with the session id at the top level of the body (``##…``); later calls
carry it as ``Cookie: NITRO_AUTH_TOKEN=<id>``. An idle or killed session answers 401 with errorcode 444 (or
1027 / 352): log in again once and repeat. Every answer is an envelope ``{errorcode, message, severity[,
<resource>: [...]]}``; a missing object is 404/258, a duplicate 409/273. ``POST
/nitro/v1/config/nsconfig?action=save`` persists the running configuration (errorcode 293 while another save
runs).

Why a login session rather than per-request ``X-NITRO-USER/PASS`` headers: the password then crosses
the wire once per run instead of on every request, and the appliance authenticates once, which matters
on ADCs that authenticate against LDAP/RADIUS. The cost is one extra round trip per run (login) and
one at exit (logout).

Retries: the session (providers.common.http) retries GET, PUT and DELETE on connection failures and
502/503/504, never POST (an add whose answer was lost must not be sent twice; the next run finds the
object by name and adopts it by its marker).
"""

from __future__ import annotations

import json
import threading
import time
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import requests

from providers.citrix.permissions import NOT_AUTHORIZED, permission, refusal
from providers.common.clients import LoginFailures, PerProcess
from providers.common.device import Device, SecretConfig
from providers.common.errors import ApplianceError, login_reply_without
from providers.common.http import make_session, transport_error

BASE = "/nitro/v1/config"
TIMEOUT = (10, 60)  # connect, read (seconds)
#: errorcodes of an expired, killed or missing session: log in again and repeat once.
SESSION_GONE = frozenset({444, 1027, 352})
NO_SUCH_RESOURCE = 258
ALREADY_EXISTS = 273
SAVE_IN_PROGRESS = 293
LOGIN_FAILURE_MEMORY_S = 60.0


def resource_path(resource: str, name: str | None = None) -> str:
    """``lbvserver`` + ``vs 1`` -> ``/nitro/v1/config/lbvserver/vs%201`` (names URL-encoded)."""
    path = f"{BASE}/{resource}"
    if name is not None:
        path += "/" + quote(str(name), safe="")
    return path


def args_query(**pairs: Any) -> str:
    """``args=servername:rras1,port:500`` with each value URL-encoded (NITRO's multi-key identity)."""
    return "args=" + ",".join(f"{k}:{quote(str(v), safe='')}" for k, v in pairs.items())


class NitroClient:
    """A session to one ADC, shared by every resource of this provider process."""

    def __init__(self, device: Device, password: str) -> None:
        self.device = device
        self._password = password
        self._session = make_session(user_agent="aovpn-iac (Citrix NITRO)")
        # The session id travels in an explicit Cookie header; the appliance's Set-Cookie answers must
        # not also land in a jar (requests would then overwrite that header).
        self._session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self._sessionid: str | None = None
        self._lock = threading.Lock()
        self._login_failures = LoginFailures(LOGIN_FAILURE_MEMORY_S)
        #: Logins made by this process (the first one and any after an expired session).
        self.logins = 0

    # -- authentication ------------------------------------------------------------------------
    def _login(self) -> None:
        body = {"login": {"username": self.device.user, "password": self._password}}
        resp = self._send("POST", f"{BASE}/login", body, auth=False)
        data = _json(resp)
        if resp.status_code not in (200, 201) or _errorcode(data):
            raise self._error(resp, data, "log in as", f"user {self.device.user}")
        sessionid = data.get("sessionid") if isinstance(data, dict) else None
        if not sessionid:
            raise login_reply_without(
                "sessionid", device=self.device.host, user=self.device.user, status=resp.status_code
            )
        self._sessionid = str(sessionid)
        self.logins += 1

    def _ensure_session(self) -> None:
        with self._lock:
            if self._sessionid is not None:
                return
            self._login_failures.login(self._login)

    def _relogin(self, stale: str | None) -> None:
        with self._lock:
            if self._sessionid == stale:  # another thread may already have renewed it
                self._sessionid = None
                self._login()

    def close(self) -> None:
        """Log out, so the session does not linger until its idle timeout. Best effort at provider-host
        exit; ``save ns config`` is a step of its own (``ConfigSaveProvider``, and after each delete)."""
        if self._sessionid is None:
            self._session.close()
            return
        try:
            self._send("POST", f"{BASE}/logout", {"logout": {}}, timeout=(3, 5))
        except ApplianceError:
            pass
        finally:
            self._sessionid = None
            self._session.close()

    # -- requests ------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: bool = True,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> requests.Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and self._sessionid:
            headers["Cookie"] = f"NITRO_AUTH_TOKEN={self._sessionid}"
        try:
            return self._session.request(
                method,
                f"{self.device.url}{path}",
                data=json.dumps(body) if body is not None else None,
                headers=headers,
                verify=self.device.verify(),
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise transport_error(
                self.device.host, path.split("?", 1)[0], method, exc, retried=True
            ) from None

    def request(self, method: str, path: str, body: Any = None) -> tuple[requests.Response, Any]:
        """Send with the session (logging in first if needed, and again once if it expired)."""
        self._ensure_session()
        used = self._sessionid
        resp = self._send(method, path, body)
        data = _json(resp)
        if resp.status_code == 401 and _errorcode(data) in SESSION_GONE:
            # Refused at authentication, so nothing was applied: repeating is safe for every method.
            self._relogin(used)
            resp = self._send(method, path, body)
            data = _json(resp)
        return resp, data

    def get(self, resource: str, name: str | None = None, *, query: str = "", what: str) -> Any:
        """The resource's entry (a list for ordinary resources, a dict for singletons such as nsmode).

        ``None`` when the object (or a binding's parent) does not exist; ``[]`` for an existing parent
        without bindings (NITRO then sends the bare envelope without the resource key).
        """
        path = resource_path(resource, name) + (f"?{query}" if query else "")
        resp, data = self.request("GET", path)
        if resp.status_code == 404 or _errorcode(data) == NO_SUCH_RESOURCE:
            return None
        if resp.status_code >= 400 or _errorcode(data):
            raise self._error(resp, data, "read", what, permission("GET", resource))
        if not isinstance(data, dict):
            raise self._error(resp, data, "read", what)
        return data.get(resource, [])

    def call(
        self,
        method: str,
        resource: str,
        name: str | None = None,
        body: Any = None,
        *,
        query: str = "",
        what: str,
        operation: str,
        ok_codes: frozenset[int] = frozenset(),
    ) -> int:
        """A write; returns the NITRO errorcode (0, or one of ``ok_codes`` the caller accepts)."""
        path = resource_path(resource, name) + (f"?{query}" if query else "")
        resp, data = self.request(method, path, body)
        code = _errorcode(data)
        if code in ok_codes:
            return code
        if resp.status_code >= 400 or code:
            raise self._error(resp, data, operation, what, permission(method, resource, query, body))
        return 0

    def persist(self, device: Device) -> None:
        """Save the running configuration (the ADC has no push to peers here: HA pairs sync by themselves)."""
        self.save_config()

    def save_config(self, attempts: int = 3) -> None:
        """``save ns config``; another save in progress (293) is waited for briefly."""
        for attempt in range(attempts):
            code = self.call(
                "POST",
                "nsconfig",
                body={"nsconfig": {}},
                query="action=save",
                what="ns config",
                operation="save",
                ok_codes=frozenset({SAVE_IN_PROGRESS}) if attempt < attempts - 1 else frozenset(),
            )
            if code == 0:
                return
            time.sleep(1.0)

    def _error(
        self, resp: requests.Response, data: Any, operation: str, what: str, needs: str = ""
    ) -> ApplianceError:
        code = _errorcode(data)
        if code == NOT_AUTHORIZED and needs:
            # the account's command policies refuse it (docs/citrix.md#least-privilege-account); the vendor's
            # message quotes the whole command, which for a file upload carries the file's content
            return refusal(
                self.device, obj=what, operation=operation, permission_=needs, status=resp.status_code
            )
        message = str(data.get("message") or "") if isinstance(data, dict) else ""
        if not message:
            message = resp.reason or "non-JSON error"
        if resp.status_code == 401:
            message = f"authentication failed: {message}"
        if self._password:
            message = message.replace(self._password, "***")
        if self._sessionid:
            message = message.replace(self._sessionid, "***")
        return ApplianceError(
            device=self.device.host,
            obj=what,
            operation=operation,
            status=resp.status_code,
            code=f"errorcode {code}" if code else None,
            message=message,
        )


def _json(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _errorcode(data: Any) -> int:
    if not isinstance(data, dict):
        return 0
    try:
        return int(data.get("errorcode") or 0)
    except (TypeError, ValueError):
        return 0


# -- one client per device and process -----------------------------------------------------------
_CLIENTS: PerProcess[NitroClient] = PerProcess()
#: Log out of every ADC; also runs at provider-host exit.
close_all = _CLIENTS.close_all


def client_for(device: Device, secrets: SecretConfig) -> NitroClient:
    return _CLIENTS.get((device.url, device.user), lambda: NitroClient(device, secrets.password(device)))
