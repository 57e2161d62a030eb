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
the request was sent (an ``addvs`` whose answer was lost must not be sent twice). A write that fails
transiently raises an ApplianceError with the status (502/503/504) or none (no answer), so the provider
base reads and decides (providers/common/retry.py).

Reads once per run (docs/kemp.md#request-economy): every virtual service, with its real servers, comes from
one ``listvs`` per run (``reads``, providers.common.readcache), and a write's own answer keeps that view
current: ``addvs``/``modvs`` answer the whole service, ``addrs`` the real server it added, ``delvs`` and
``delrs`` say the object is gone. A write that answers nothing usable (``modrs``) marks its service, which is
then read from the device itself (``showvs``) once more.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
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
from providers.common.readcache import Items, ReadCache
from providers.common.retry import TRANSIENT_STATUS
from providers.kemp.permissions import ACCOUNTS, ALL, SYSTEM_USER, own_permissions, refusal

TIMEOUT = (10, 60)
READ_COMMANDS = frozenset({"showvs", "listvs", "showrs", "get", "getall", "listcert", "usershow"})
LOGIN_FAILURE_MEMORY_S = 60.0
#: the read cache's collections: every virtual service (``listvs``), every certificate (``listcert``)
SERVICES, CERTIFICATES = "listvs", "listcert"
#: A virtual service as this client keeps it: its simple fields as text, its real servers' under "Rs".
VsView = dict[str, Any]


def vs_key(address: Any, port: Any, protocol: Any) -> str:
    """A virtual service's (address, port, protocol) triplet as one key, the way both sides spell it."""
    return f"{str(address).strip()}:{str(port).strip()}/{str(protocol).strip().lower()}"


def _params_key(params: dict[str, Any]) -> str | None:
    if not {"vs", "port", "prot"} <= params.keys():
        return None
    return vs_key(params["vs"], params["port"], params["prot"])


def vs_view(element: Element) -> VsView:
    """A ``<VS>`` (listvs) or ``<Data>`` (showvs, addvs, modvs) element as a VsView."""
    view: VsView = fields(element)
    view["Rs"] = [fields(rs) for rs in element.findall("Rs")]
    return view


def _view_key(view: VsView) -> str | None:
    if not all(view.get(k) for k in ("VSAddress", "VSPort", "Protocol")):
        return None
    return vs_key(view["VSAddress"], view["VSPort"], view["Protocol"])


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
        #: this run's collection reads (providers.common.readcache)
        self.reads = ReadCache()
        #: services as this run's own writes (or direct reads since) left them; None: deleted. Ahead of
        #: ``reads``, which holds the run's first listvs.
        self._views: dict[str, VsView | None] = {}
        self._views_lock = threading.Lock()
        #: bumped by every forget; per service, by the start and the end of every write on it: a read that
        #: raced a write on a service is not kept for that service
        self._generation = 0
        self._writes_on: Counter[str] = Counter()
        #: writes in flight per service, and the services two writes overlapped on (their whole-service
        #: answers may come back out of order: such a service is read again rather than trusted)
        self._in_flight: Counter[str] = Counter()
        self._overlapped: set[str] = set()
        #: the run's listvs once loaded (the dict ``reads`` holds), and the services marked since
        self._listed: Items | None = None
        self._marked: set[str] = set()

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

        With ``ok_missing``, "Unknown VS" / "Unknown RS" (422) answer None instead of raising. A write keeps
        this run's reads current with its answer (the module docstring)."""
        if command in READ_COMMANDS:
            return self._send(command, params, what=what, ok_missing=ok_missing, data=data)
        key = _params_key(params)
        self._begin_write(key)
        answered = False
        reply: Element | None = None
        try:
            reply = self._send(command, params, what=what, ok_missing=ok_missing, data=data)
            answered = True
        finally:
            self._end_write(command, params, key, reply if answered else None, answered)
        return reply

    def _send(
        self,
        command: str,
        params: dict[str, Any],
        *,
        what: str,
        ok_missing: bool = False,
        data: bytes | None = None,
    ) -> Element | None:
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
            # reads went through the session's retries with backoff; a write is never resent once sent
            raise transport_error(
                self.device.host, what, command, exc, retried=command in READ_COMMANDS
            ) from None
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
        if root is None and resp.status_code in TRANSIENT_STATUS:
            # the management web server is busy or restarting (an HTML page, not an API answer)
            raise ApplianceError(
                device=self.device.host,
                obj=what,
                operation=command,
                status=resp.status_code,
                code=None,
                message=f"the LoadMaster is busy ({resp.reason or 'no reason given'})"
                + (", retried with backoff" if command in READ_COMMANDS else ""),
            )
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

    # -- this run's reads ----------------------------------------------------------------------------
    def virtual_service(self, address: Any, port: Any, protocol: Any, *, what: str) -> VsView | None:
        """The virtual service (a copy; None when there is none) as this run knows it: from its own writes'
        answers, else from the run's one ``listvs``, else (a service this run changed without an answer
        that shows it) from the device itself."""
        key = vs_key(address, port, protocol)
        with self._views_lock:
            if key in self._views:
                return copy.deepcopy(self._views[key])
            generation = (self._generation, self._writes_on[key])
        cached, view = self.reads.lookup(SERVICES, key, lambda: self._list_services(what))
        if cached:
            listed: VsView | None = view
            return copy.deepcopy(listed)
        params = {"vs": address, "port": port, "prot": protocol}
        data = self._send("showvs", params, what=what, ok_missing=True)
        found = None if data is None else vs_view(data)
        with self._views_lock:
            if (self._generation, self._writes_on[key]) == generation:
                self._views[key] = copy.deepcopy(found)
        return found

    def _list_services(self, what: str) -> Items:
        with self._views_lock:
            generation, writes_on = self._generation, Counter(self._writes_on)
        data = self._send("listvs", {}, what=f"{what} (all virtual services)")
        items: Items = {}
        for element in data.findall("VS") if data is not None else []:
            view = vs_view(element)
            key = _view_key(view)
            if key is not None:
                items[key] = view
        with self._views_lock:
            if self._generation == generation:
                self._listed = items
                # a service written while the list was on its way may be shown before or after the write
                for key, count in self._writes_on.items():
                    if writes_on[key] != count:
                        self._marked.add(key)
                        self.reads.wrote(SERVICES, key)
        return items

    def certificate_names(self, *, what: str) -> set[str]:
        """The installed certificates' names: one ``listcert`` per run, again after this run changed one."""
        cached, names = self.reads.lookup(CERTIFICATES, "*", lambda: {"*": self._list_certificates(what)})
        return set(names) if cached else self._list_certificates(what)

    def _list_certificates(self, what: str) -> set[str]:
        data = self._send("listcert", {}, what=what)
        return {str(c.findtext("name")) for c in data.findall("cert")} if data is not None else set()

    def forget_reads(self) -> None:
        """Forget everything this run read or was answered (a new run: providers.common.clients.new_run)."""
        with self._views_lock:
            self._views.clear()
            self.reads.forget()
            self._listed = None
            self._marked.clear()
            self._generation += 1

    def _begin_write(self, key: str | None) -> None:
        with self._views_lock:
            if key is not None:
                self._writes_on[key] += 1
                self._in_flight[key] += 1
                if self._in_flight[key] > 1:
                    self._overlapped.add(key)

    def _end_write(
        self, command: str, params: dict[str, Any], key: str | None, reply: Element | None, answered: bool
    ) -> None:
        with self._views_lock:
            if key is not None:
                self._writes_on[key] += 1
            if command in ("addcert", "delcert"):
                self.reads.wrote(CERTIFICATES, "*")
            if key is None:
                return
            self._in_flight[key] -= 1
            overlapped = key in self._overlapped
            if self._in_flight[key] <= 0:
                del self._in_flight[key]
                self._overlapped.discard(key)
            if not answered:
                self._stale(key)  # failed or unanswered: what the device has now is not known
            elif command in ("addvs", "modvs") and reply is not None and not overlapped:
                view = vs_view(reply)
                if _view_key(view) == key:
                    self._views[key] = view
                else:
                    self._stale(key)
            elif command == "delvs":
                deleted = self._current(key)
                self._views[key] = None
                if deleted is not None:
                    # a service that followed this one follows nothing now (docs/kemp.md#port-following)
                    self._stale_followers(str(deleted.get("Index", "")))
            elif command in ("addrs", "delrs"):
                self._apply_rs(command, params, key, reply)
            else:
                self._stale(key)

    def _apply_rs(self, command: str, params: dict[str, Any], key: str, reply: Element | None) -> None:
        """``addrs`` answers the new real server; ``delrs`` (or "Unknown RS") says it is gone."""
        view = self._current(key)
        if view is None:
            self._stale(key)
            return
        address, port = str(params.get("rs", "")), str(params.get("rsport", ""))
        others = [rs for rs in view["Rs"] if (rs.get("Addr"), rs.get("Port")) != (address, port)]
        if command == "addrs":
            element = reply.find("Rs") if reply is not None else None
            if element is None:
                self._stale(key)
                return
            others.append(fields(element))
        view["Rs"] = others
        self._views[key] = view

    def _current(self, key: str) -> VsView | None:
        """The service as this run knows it without a request (caller holds ``_views_lock``): from the
        writes' answers, or from the listvs when it was loaded and nothing marked the service since."""
        if key in self._views:
            return copy.deepcopy(self._views[key])
        if self._listed is None or key in self._marked:
            return None
        view = self._listed.get(key)
        return copy.deepcopy(view) if view is not None else None

    def _stale(self, key: str) -> None:
        self._views.pop(key, None)
        self._marked.add(key)
        self.reads.wrote(SERVICES, key)

    def _stale_followers(self, index: str) -> None:
        if not index:
            return
        known = [k for k, v in self._views.items() if v is not None and v.get("FollowVSID") == index]
        loaded = self._listed or {}
        listed = [k for k, v in loaded.items() if k not in self._views and v.get("FollowVSID") == index]
        for key in {*known, *listed}:
            self._stale(key)

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
