"""An iControl REST client: one token per provider process and device, reused, deleted at exit.

Facts (docs/f5.md#tokens): token login at /mgmt/shared/authn/login, header X-F5-Auth-Token, 1200 s default
lifetime, 100 active tokens per user (so tokens are reused and deleted, never leaked), an expired token
answers 401 "X-F5-Auth-Token does not exist." (re-login once and repeat), creates return 200 with the object,
deletes 200 with an empty body, errors come in two JSON families plus an HTML 401."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests

from providers.common.clients import LoginFailures, PerProcess
from providers.common.device import Device, SecretConfig
from providers.common.errors import ApplianceError, ConfigurationError, connection_reason, login_reply_without
from providers.common.http import IDEMPOTENT, make_session, transport_error
from providers.common.readcache import Items, ReadCache
from providers.common.retry import with_retries
from providers.f5.permissions import access_denied, is_access_denied

#: A BIG-IP partition or device-group name as this project declares them: one token, nothing a tmsh
#: argument string could read as more (docs/f5.md#names-the-big-ip-accepts).
OBJECT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")

F5_CODE = re.compile(r"^\s*([0-9a-fA-F]{8}:\d+):\s*(.*)$", re.S)
TIMEOUT = (10, 60)  # connect, read (seconds)
RENEW_MARGIN_S = 60
LOGIN_FAILURE_MEMORY_S = 60.0
#: How a request authenticates (``F5Client._send``).
Credentials = Literal["token", "none", "basic"]


def tilde_name(partition: str, name: str) -> str:
    """Common + x -> ``~Common~x``, the URL form of /Common/x (names URL-escaped, ':' and '.' kept)."""
    return f"~{quote(partition, safe='')}~{quote(name, safe=':.')}"


def object_path(collection: str, partition: str, name: str) -> str:
    """``ltm/pool`` + Common + x -> ``/mgmt/tm/ltm/pool/~Common~x``."""
    return f"/mgmt/tm/{collection}/{tilde_name(partition, name)}"


def full_path(partition: str, name: str) -> str:
    return f"/{partition}/{name}"


class F5Client:
    """A token-authenticated session to one BIG-IP, shared by every resource of this process."""

    def __init__(self, device: Device, password: str) -> None:
        self.device = device
        self._password = password
        self._session = make_session(user_agent="aovpn-iac (F5 iControl REST)")
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()
        self._login_failures = LoginFailures(LOGIN_FAILURE_MEMORY_S)
        #: this run's collection reads (providers.common.readcache)
        self.reads = ReadCache()

    # -- authentication ------------------------------------------------------------------------
    def _login(self) -> None:
        body = {"username": self.device.user, "password": self._password, "loginProviderName": "tmos"}
        resp = self._send("POST", "/mgmt/shared/authn/login", body, credentials="none")
        if resp.status_code != 200:
            raise self._error(resp, "log in as", f"user {self.device.user}")
        token = resp.json().get("token") or {}
        self._token = token.get("token")
        if not self._token:
            raise login_reply_without(
                "token", device=self.device.host, user=self.device.user, status=resp.status_code
            )
        lifetime = float(token.get("timeout") or 1200)
        self._token_expires = time.monotonic() + lifetime

    def _needs_login(self) -> bool:
        """No token yet, or one about to expire (the caller holds the lock)."""
        return self._token is None or time.monotonic() > self._token_expires - RENEW_MARGIN_S

    def _ensure_token(self) -> None:
        with self._lock:
            if self._needs_login():
                # a busy or restarting management plane is tried again with backoff; a refusal is not
                self._login_failures.login(lambda: with_retries(self._login))

    def _login_beside(self) -> None:
        """The token login, run beside a Basic read (``get_beside_login``). A refusal is remembered by
        ``LoginFailures`` and raised to the first request that needs the token; nothing is raised here."""
        try:
            self._ensure_token()
        except ApplianceError:
            pass

    def close(self) -> None:
        """Delete the token, so it does not count against BIG-IP's 100-token cap after the run.

        Best effort at provider-host exit. Saving and config-sync are not done here: they are steps of
        their own (``ConfigSaveProvider``, and after each delete), since the engine may kill the host.
        """
        token, self._token = self._token, None
        if not token:
            return
        try:
            self._session.delete(
                f"{self.device.url}/mgmt/shared/authz/tokens/{token}",
                headers={"X-F5-Auth-Token": token},
                verify=self.device.verify(),
                timeout=(3, 5),
            )
        except requests.RequestException:
            pass
        finally:
            self._session.close()

    # -- requests ------------------------------------------------------------------------------
    def _send(
        self, method: str, path: str, body: Any = None, *, credentials: Credentials = "token"
    ) -> requests.Response:
        """One request with ``credentials``: the run's token (once there is one), none (the login itself)
        or the account's Basic credentials (``get_beside_login``)."""
        headers = {"Content-Type": "application/json"}
        basic = credentials == "basic"
        if credentials == "token" and self._token:
            headers["X-F5-Auth-Token"] = self._token
        try:
            return self._session.request(
                method,
                f"{self.device.url}{path}",
                json=body,
                headers=headers,
                auth=(self.device.user, self._password) if basic else None,
                verify=self.device.verify(),
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise transport_error(self.device.host, path, method, exc, retried=method in IDEMPOTENT) from None

    def request(self, method: str, path: str, body: Any = None, *, what: str = "") -> requests.Response:
        self._ensure_token()
        resp = self._send(method, path, body)
        if resp.status_code == 401 and "X-F5-Auth-Token does not exist" in resp.text:
            with self._lock:
                self._login()
            resp = self._send(method, path, body)
        return resp

    def get(self, path: str, *, what: str) -> dict[str, Any] | None:
        return self._answer(self.request("GET", path, what=what), what)

    def get_beside_login(self, path: str, *, what: str) -> dict[str, Any] | None:
        """A read sent together with the token login instead of after it: with the account's Basic
        credentials (docs/f5.md#basic-authentication) while the login runs on another thread, so that the
        read before the first write (providers/f5/permissions.py) costs no round trip of its own. An
        ordinary read once there is a token."""
        with self._lock:
            needs_login = self._needs_login()
        if not needs_login:
            return self.get(path, what=what)
        login = threading.Thread(target=self._login_beside, name="f5-login", daemon=True)
        login.start()
        try:
            resp = self._send("GET", path, credentials="basic")
        finally:
            login.join()
        return self._answer(resp, what)

    def _answer(self, resp: requests.Response, what: str) -> dict[str, Any] | None:
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._error(resp, "read", what)
        data: dict[str, Any] = resp.json()
        return data

    # -- this run's reads ----------------------------------------------------------------------
    def read_object(self, collection: str, partition: str, name: str, *, what: str) -> dict[str, Any] | None:
        """One object of ``collection`` (``ltm/pool``), from this run's single read of the whole collection
        with its sub-collections inline (``expandSubcollections=true``, docs/f5.md#query-options), or
        from the device itself when this run wrote it since."""
        cached, obj = self.reads.lookup(
            collection, full_path(partition, name), lambda: self._collection(collection, what)
        )
        if cached:
            return dict(obj) if obj is not None else None
        return self.get(object_path(collection, partition, name) + "?expandSubcollections=true", what=what)

    def _collection(self, collection: str, what: str) -> Items:
        data = self.get(
            f"/mgmt/tm/{collection}?expandSubcollections=true", what=f"{what} (all of {collection})"
        )
        items = (data or {}).get("items") or []
        return {
            str(o.get("fullPath") or full_path(o.get("partition", "Common"), o["name"])): o for o in items
        }

    def forget_reads(self) -> None:
        self.reads.forget()

    def _wrote(self, path: str, body: Any) -> None:
        """Mark the object a write touched, so this run reads it from the device from now on."""
        parts = path.split("?", 1)[0].removeprefix("/mgmt/tm/").split("/")
        named = [i for i, part in enumerate(parts) if part.startswith("~")]
        if named:
            i = named[0]
            collection, name = "/".join(parts[:i]), parts[i].replace("~", "/")
            from urllib.parse import unquote

            self.reads.wrote(collection, unquote(name))
        elif isinstance(body, dict) and "name" in body:
            partition = str(body.get("partition") or "Common")
            name = str(body["name"])
            self.reads.wrote("/".join(parts), name if name.startswith("/") else full_path(partition, name))

    def call(self, method: str, path: str, body: Any = None, *, what: str, ok_missing: bool = False) -> Any:
        if method != "GET":
            self._wrote(path, body)
        resp = self.request(method, path, body, what=what)
        if ok_missing and resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            verb = {"POST": "create", "PATCH": "modify", "PUT": "replace", "DELETE": "delete"}.get(
                method, method
            )
            raise self._error(resp, verb, what)
        return resp.json() if resp.content else None

    def upload(self, filename: str, data: bytes) -> str:
        """Upload a file in Content-Range chunks; returns its path on the BIG-IP (docs/f5.md#file-upload)."""
        self._ensure_token()
        total, chunk = len(data), 512 * 1024
        for start in range(0, max(total, 1), chunk):
            part = data[start : start + chunk]
            end = start + len(part) - 1
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{end}/{total}",
                "X-F5-Auth-Token": self._token or "",
            }
            try:
                resp = self._session.post(
                    f"{self.device.url}/mgmt/shared/file-transfer/uploads/{quote(filename, safe='')}",
                    data=part,
                    headers=headers,
                    verify=self.device.verify(),
                    timeout=TIMEOUT,
                )
            except requests.RequestException as exc:
                raise ApplianceError(
                    device=self.device.host,
                    obj=f"file {filename}",
                    operation="upload",
                    status=None,
                    code=None,
                    message=connection_reason(exc),
                ) from None
            if resp.status_code >= 400:
                raise self._error(resp, "upload", f"file {filename}")
        return f"/var/config/rest/downloads/{filename}"

    def save_config(self) -> None:
        self.call("POST", "/mgmt/tm/sys/config", {"command": "save"}, what="sys config")

    def persist(self, device: Device) -> None:
        """Save the running configuration, then push it to the device's HA group when it has one."""
        self.save_config()
        if device.sync_group:
            self.sync_to_group(device.sync_group)

    def sync_to_group(self, group: str) -> None:
        """``config-sync to-group`` (docs/f5.md#transactions-save-and-config-sync): push this device's
        configuration to its HA peers. iControl REST takes it as a tmsh argument string, so the group is
        sent only when it is one name token of BIG-IP object-name syntax (docs/f5.md#names-the-big-ip-accepts;
        the declaration refuses anything else at preview)."""
        if not OBJECT_NAME_RE.match(group):
            raise ConfigurationError("the HA device group is not a BIG-IP object name; nothing was synced")
        self.call(
            "POST",
            "/mgmt/tm/cm",
            {"command": "run", "utilCmdArgs": f"config-sync to-group {group}"},
            what=f"device group {group}",
        )

    def _error(self, resp: requests.Response, operation: str, what: str) -> ApplianceError:
        code: str | None = None
        message = ""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or "")
            match = F5_CODE.match(message)
            if match:
                code, message = match.group(1), match.group(2).strip()
        else:
            # The management httpd answers bad Basic credentials with HTML (docs/f5.md#basic-authentication).
            message = resp.reason or "non-JSON error"
        if is_access_denied(resp.status_code, code, message):
            # The account's role does not allow this (docs/f5.md#least-privilege-account): say what it needs.
            return access_denied(
                device=self.device.host,
                obj=what,
                operation=operation,
                status=resp.status_code,
                code=code,
                message=self._redact(message),
                account=self.device.user,
                url_path=urlsplit(resp.request.url or "").path if resp.request is not None else "",
                body=_request_body(resp),
            )
        if resp.status_code == 401:
            message = f"authentication failed: {message}" if message else "authentication failed"
        message = self._redact(message)
        return ApplianceError(
            device=self.device.host,
            obj=what,
            operation=operation,
            status=resp.status_code,
            code=code,
            message=message or resp.reason or "error",
        )

    def _redact(self, message: str) -> str:
        message = message.replace(self._password, "***") if self._password else message
        return message.replace(self._token, "***") if self._token else message


def _request_body(resp: requests.Response) -> Any:
    raw = resp.request.body if resp.request is not None else None
    if not raw or not isinstance(raw, bytes | str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


# -- one client per device and process -----------------------------------------------------------
_CLIENTS: PerProcess[F5Client] = PerProcess()


def client_for(device: Device, secrets: SecretConfig) -> F5Client:
    return _CLIENTS.get((device.url, device.user), lambda: F5Client(device, secrets.password(device)))
