"""A client of the LoadMaster classic REST API (``/access/<command>``), one per provider process and device.

Facts (docs/kemp.md#authentication-and-enabling-the-api, docs/kemp.md#classic-api-commands-and-envelopes):
HTTP Basic authentication on every request (the classic API has no sessions), commands are GETs with query
parameters whose names are case-insensitive, answers are XML ``<Response stat="200"
code="ok"><Success>[<Data>...</Data>]</Success></Response>`` or ``<Response stat="422"
code="fail"><Error>Unknown VS</Error></Response>`` with the HTTP status equal to ``stat``; a 401 is plain text
or HTML. Changes take effect (and persist) immediately: there is no save.

Retries: every command is a GET on the wire, including the ones that change the configuration, so the
urllib3 retry of idempotent methods cannot be used blindly: read commands (show*, list*, get) are
retried on connection failures and 502/503/504, write commands only when the connection failed before
the request was sent (an ``addvs`` whose answer was lost must not be sent twice).
"""

from __future__ import annotations

import threading
import time
from typing import Any
from xml.etree.ElementTree import Element

import requests
from defusedxml import ElementTree
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from providers.common.clients import PerProcess
from providers.common.device import Device, SecretConfig
from providers.common.errors import ApplianceError, ProviderError
from providers.common.http import make_session, transport_error
from providers.kemp.permissions import ACCOUNTS, ALL, SYSTEM_USER, own_permissions, refusal

TIMEOUT = (10, 60)
READ_COMMANDS = frozenset({"showvs", "listvs", "showrs", "get", "getall", "listcert", "usershow"})
LOGIN_FAILURE_MEMORY_S = 60.0


class KempClient:
    def __init__(self, device: Device, password: str) -> None:
        self.device = device
        self._auth = (device.user, password)
        self._password = password
        self._reads = make_session(user_agent="aovpn-iac (Kemp LoadMaster)")
        self._writes = make_session(user_agent="aovpn-iac (Kemp LoadMaster)")
        write_retry = Retry(total=3, connect=3, read=0, status=0, other=0, backoff_factor=0.5)
        adapter = HTTPAdapter(max_retries=write_retry, pool_connections=4, pool_maxsize=8)
        self._writes.mount("https://", adapter)
        self._writes.mount("http://", adapter)
        self._auth_failure: tuple[float, ApplianceError] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._reads.close()
        self._writes.close()

    def upload(self, command: str, params: dict[str, Any], data: bytes, *, what: str) -> Element | None:
        """A command that carries a file as its body (``addcert``): POSTed, never resent once sent."""
        return self.command(command, params, what=what, data=data)

    def command(
        self,
        command: str,
        params: dict[str, Any],
        *,
        what: str,
        ok_missing: bool = False,
        data: bytes | None = None,
    ) -> Element | None:
        """Run one command; returns the ``<Data>`` element (or ``<Success>`` when there is no data).

        With ``ok_missing``, "Unknown VS" / "Unknown RS" (422) answer None instead of raising.
        """
        with self._lock:
            if self._auth_failure and time.monotonic() - self._auth_failure[0] < LOGIN_FAILURE_MEMORY_S:
                raise self._auth_failure[1]
        session = self._reads if command in READ_COMMANDS else self._writes
        wire = {k: _wire(v) for k, v in params.items()}
        try:
            resp = session.request(
                "GET" if data is None else "POST",
                f"{self.device.url}/access/{command}",
                params=wire,
                data=data,
                headers={"Content-Type": "application/octet-stream"} if data is not None else None,
                auth=self._auth,
                verify=self.device.verify(),
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise transport_error(self.device.host, what, command, exc, retried=False) from None
        if resp.status_code == 401:
            error = ApplianceError(
                device=self.device.host,
                obj=what,
                operation=command,
                status=401,
                code=None,
                message=f"authentication failed for user {self.device.user}",
            )
            with self._lock:
                self._auth_failure = (time.monotonic(), error)
            raise error
        root = _parse(resp.content)
        if root is None:
            raise ApplianceError(
                device=self.device.host,
                obj=what,
                operation=command,
                status=resp.status_code,
                code=None,
                message=(resp.reason or "unexpected answer")
                + " (not a LoadMaster API response; is the API enabled?)",
            )
        if root.get("code") != "ok" or resp.status_code >= 400:
            message = (root.findtext("Error") or resp.reason or "failed").strip()
            if ok_missing and resp.status_code == 422 and message.lower().startswith("unknown"):
                return None
            # the account lacks a permission (docs/kemp.md#least-privilege-account)
            if resp.status_code == 403:
                raise refusal(
                    device=self.device.host,
                    obj=what,
                    command=command,
                    user=self.device.user,
                    message=message.replace(self._password, "***") if self._password else message,
                )
            raise ApplianceError(
                device=self.device.host,
                obj=what,
                operation=command,
                status=resp.status_code,
                code=root.get("stat"),
                message=message.replace(self._password, "***") if self._password else message,
            )
        success = root.find("Success")
        if success is None:
            return None
        found = success.find("Data")
        return found if found is not None else success

    def account_permissions(self) -> frozenset[str] | None:
        """This account's own permissions as the device shows them (``usershow``), asked once per device per
        process; None when the device will not say (providers/kemp/permissions.py)."""
        if self.device.user == SYSTEM_USER:
            return frozenset({ALL})

        def ask() -> frozenset[str] | None:
            try:
                data = self.command("usershow", {"user": self.device.user}, what=f"user {self.device.user}")
            except ProviderError:
                return None
            return own_permissions(data)

        return ACCOUNTS.get((self.device.url, self.device.user), ask)


def _wire(value: Any) -> str:
    """Booleans go on the wire as Y/N (docs/kemp.md#booleans); everything else as text."""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _parse(content: bytes) -> Element | None:
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return None
    return root if root.tag == "Response" else None


def fields(element: Element | None) -> dict[str, str]:
    """The simple child elements of a VS/RS element as a dict (text values, names as the device has them)."""
    if element is None:
        return {}
    return {child.tag: (child.text or "").strip() for child in element if len(child) == 0}


_CLIENTS: PerProcess[KempClient] = PerProcess()


def client_for(device: Device, secrets: SecretConfig) -> KempClient:
    return _CLIENTS.get((device.url, device.user), lambda: KempClient(device, secrets.password(device)))
