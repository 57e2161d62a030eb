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
502/503/504, never POST: a failed add is raised as an ``ApplianceError`` with the status (502/503/504) or
none (no answer), and the provider base reads the object and decides (providers.common.retry). Logins are
repeated with backoff on such failures (``retry.with_retries``), a refusal is not.

Reads once per run (docs/citrix.md#collections-and-bulk-bindings): ``read_object`` answers each object from
one ``GET /config/<resource>`` of the whole collection, ``read_bindings`` the bindings of a parent from one
``GET /config/<binding>?bulkbindings=yes`` of every parent's, ``read_singleton`` a singleton (nsmode) from
one GET, per client (device and account) and provider process (providers.common.readcache). Every write
marks what it touched, so that object is read from the device itself for the rest of the run.
"""

from __future__ import annotations

import json
import threading
import time
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote, unquote

import requests

from providers.citrix.permissions import NOT_AUTHORIZED, permission, refusal
from providers.common.clients import LoginFailures, PerProcess
from providers.common.device import Device, SecretConfig
from providers.common.errors import ApplianceError, login_reply_without
from providers.common.http import IDEMPOTENT, make_session, transport_error
from providers.common.readcache import Items, ReadCache
from providers.common.retry import with_retries

BASE = "/nitro/v1/config"
TIMEOUT = (10, 60)  # connect, read (seconds)
#: errorcodes of an expired, killed or missing session: log in again and repeat once.
SESSION_GONE = frozenset({444, 1027, 352})
NO_SUCH_RESOURCE = 258
ALREADY_EXISTS = 273
SAVE_IN_PROGRESS = 293
LOGIN_FAILURE_MEMORY_S = 60.0

#: The attribute naming an object in its collection's answer.
KEY_ATTR = {
    "server": "name",
    "servicegroup": "servicegroupname",
    "lbvserver": "name",
    "lbgroup": "name",
    "lbmonitor": "monitorname",
    "sslcertkey": "certkey",
    "systemfile": "filename",
}
#: Each binding kind the providers read: the resource of its parent, the attribute naming the parent in its
#: rows (and in a bind body), and the attributes that tell one row from its siblings.
BINDING_PARENT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "servicegroup_servicegroupmember_binding": ("servicegroup", "servicegroupname", ("servername", "port")),
    "servicegroup_lbmonitor_binding": ("servicegroup", "servicegroupname", ("monitor_name",)),
    "lbmonitor_servicegroup_binding": ("lbmonitor", "monitorname", ("servicegroupname",)),
    "lbvserver_servicegroup_binding": ("lbvserver", "name", ("servicegroupname",)),
    "lbgroup_lbvserver_binding": ("lbgroup", "name", ("vservername",)),
    "sslvserver_sslcertkey_binding": ("lbvserver", "vservername", ("certkeyname",)),
}
#: The same binding seen from its other end: (the other kind, the attribute naming its parent here, the
#: attribute naming this parent there).
INVERSE_BINDING = {
    "servicegroup_lbmonitor_binding": ("lbmonitor_servicegroup_binding", "monitor_name", "servicegroupname"),
    "lbmonitor_servicegroup_binding": ("servicegroup_lbmonitor_binding", "servicegroupname", "monitor_name"),
}
#: The cache name of a parent's rows (beside each row's own name) in a binding kind's collection.
PARENT = "\x1eparent:"


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
        #: this run's collection reads (providers.common.readcache), and the binding rows it removed
        self.reads = ReadCache()
        self._unbound: set[tuple[str, str]] = set()

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
            # a busy or restarting management plane is tried again with backoff; a refusal is not
            self._login_failures.login(lambda: with_retries(self._login))

    def _relogin(self, stale: str | None) -> None:
        with self._lock:
            if self._sessionid == stale:  # another thread may already have renewed it
                self._sessionid = None
                with_retries(self._login)

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
                self.device.host, path.split("?", 1)[0], method, exc, retried=method in IDEMPOTENT
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

    # -- this run's reads ----------------------------------------------------------------------
    def read_object(self, resource: str, name: str, *, what: str, query: str = "") -> dict[str, Any] | None:
        """The object ``name`` of ``resource``, from this run's one read of the whole collection, or from
        the device itself (with ``query``: a monitor's ``args=type:``) when this run wrote it since."""
        cached, obj = self.reads.lookup(resource, str(name), lambda: self._collection(resource, what))
        if cached:
            return dict(obj) if isinstance(obj, dict) else None
        found = self.get(resource, name, query=query, what=what)
        if isinstance(found, list):
            return found[0] if found and isinstance(found[0], dict) else None
        return found if isinstance(found, dict) else None

    def read_bindings(self, binding: str, parent: str, *, what: str) -> list[dict[str, Any]]:
        """The ``binding`` rows of ``parent`` ([] for none, or no such parent), from this run's one bulk
        read of every parent's (``?bulkbindings=yes``) less the rows this run unbound, or from the device
        when this run bound one there."""
        cached, rows = self.reads.lookup(binding, PARENT + str(parent), lambda: self._bulk(binding, what))
        if not cached:
            rows = self.get(binding, parent, what=what)
        with self._lock:
            unbound = set(self._unbound)
        return [
            dict(r)
            for r in rows or []
            if isinstance(r, dict) and (binding, row_id(binding, parent, r)) not in unbound
        ]

    def read_binding(
        self, binding: str, parent: str, match: dict[str, Any], *, what: str
    ) -> dict[str, Any] | None:
        """The one ``binding`` row of ``parent`` with the ``match`` attributes, from this run's bulk read, or
        from the device when this run wrote that row."""
        cached, row = self.reads.lookup(
            binding, row_id(binding, parent, match), lambda: self._bulk(binding, what)
        )
        if cached:
            return dict(row) if isinstance(row, dict) else None
        found = self.get(binding, parent, what=what) or []
        wanted = row_id(binding, parent, match)
        return next(
            (dict(r) for r in found if isinstance(r, dict) and row_id(binding, parent, r) == wanted), None
        )

    def read_singleton(self, resource: str, *, what: str) -> Any:
        """A singleton's entry (nsmode), read once per run unless this run wrote it."""
        cached, found = self.reads.lookup(resource, "", lambda: {"": self.get(resource, what=what)})
        return found if cached else self.get(resource, what=what)

    def _collection(self, resource: str, what: str) -> Items:
        found = self.get(resource, what=f"{what} (all of {resource})") or []
        key = KEY_ATTR.get(resource, "name")
        return {str(o[key]): o for o in found if isinstance(o, dict) and key in o}

    def _bulk(self, binding: str, what: str) -> Items:
        """Every parent's rows, each under its own name and in its parent's list (``PARENT``)."""
        found = self.get(binding, query="bulkbindings=yes", what=f"{what} (all of {binding})") or []
        parent_attr = BINDING_PARENT[binding][1]
        items: Items = {}
        for row in found:
            if isinstance(row, dict) and parent_attr in row:
                parent = str(row[parent_attr])
                items.setdefault(PARENT + parent, []).append(row)
                items[row_id(binding, parent, row)] = row
        return items

    def forget_reads(self) -> None:
        self.reads.forget()
        with self._lock:
            self._unbound.clear()

    def _touched(self, method: str, resource: str, name: str | None, body: Any, query: str) -> list[Any]:
        """Mark what a write touches, so this run reads it from the device from now on: the object, or a
        binding row and (for a bind) its parent's rows, both ends of a binding; for a delete, the bindings
        the device removes with their parent. Answers the rows an unbind removes."""
        payload = body.get(resource) if isinstance(body, dict) else None
        payload = payload if isinstance(payload, dict) else {}
        if resource in BINDING_PARENT:
            values = {**_query_args(query), **payload}
            parent = name if name is not None else payload.get(BINDING_PARENT[resource][1])
            if parent is None:
                return []
            rows = [(resource, str(parent), values)]
            if resource in INVERSE_BINDING:
                other, here, there = INVERSE_BINDING[resource]
                if values.get(here) is not None:
                    rows.append((other, str(values[here]), {**values, there: parent}))
            for binding, row_parent, row_values in rows:
                self.reads.wrote(binding, row_id(binding, row_parent, row_values))
                if method != "DELETE":
                    self.reads.wrote(binding, PARENT + row_parent)
            return [(b, row_id(b, p, v)) for b, p, v in rows] if method == "DELETE" else []
        if resource == "nsmode":
            self.reads.wrote(resource, "")
            return []
        key = name if name is not None else payload.get(KEY_ATTR.get(resource, "name"))
        if key is None:
            return []
        self.reads.wrote(resource, str(key))
        if method == "DELETE":
            for binding, (parent_resource, _, _) in BINDING_PARENT.items():
                if parent_resource == resource:
                    self.reads.wrote(binding, PARENT + str(key))
        return []

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
        unbinds = self._touched(method, resource, name, body, query)
        resp, data = self.request(method, path, body)
        code = _errorcode(data)
        if unbinds and resp.status_code < 400 and (not code or code in ok_codes):
            with self._lock:
                self._unbound.update(unbinds)  # gone, or already gone (258)
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


def _query_args(query: str) -> dict[str, str]:
    """The pairs of a query's ``args=a:x,b:y`` (values URL-decoded)."""
    out: dict[str, str] = {}
    for part in query.split("&"):
        if part.startswith("args="):
            for pair in filter(None, part[len("args=") :].split(",")):
                key, _, value = pair.partition(":")
                out[key] = unquote(value)
    return out


def row_id(binding: str, parent: Any, values: dict[str, Any]) -> str:
    """One binding row's name in this run's cache: its parent and the attributes that tell it from its
    siblings, compared as NITRO values (``500`` and ``"500"`` alike)."""
    attrs = BINDING_PARENT[binding][2]
    return "\x1f".join([str(parent), *(_canonical(values.get(a)) for a in attrs)])


def _canonical(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        try:
            number = float(value)
        except ValueError:
            return str(value)
        return str(int(number)) if number.is_integer() else str(number)
    return str(value)


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
