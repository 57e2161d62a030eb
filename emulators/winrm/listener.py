"""The WinRM HTTP listener of the twin: routing to nodes, authentication, message encryption, reachability.

Paths: ``/wsman`` is the first (or only) node, ``/<hostname>/wsman`` each node (hostname
case-insensitive); pypsrp reaches the latter with ``WSMan(..., path="<hostname>/wsman")``.

Policy, as a Windows WinRM service with its defaults (docs/rras.md#transport-and-message-encryption):
  * schemes: ``Negotiate`` (pypsrp ``auth="negotiate"`` or ``"ntlm"``; raw NTLM tokens are accepted under
    either ``Negotiate`` or ``NTLM``; SPNEGO falls back to NTLM, docs/rras.md#kerberos-and-negotiate) and,
    only with ``allow_basic`` (Windows: Auth/Basic, false by default), ``Basic`` - and then only over HTTPS
    unless ``allow_unencrypted`` (Windows refuses Basic over HTTP while AllowUnencrypted is false). A 401
    offers ``Negotiate``, ``Kerberos`` (Kerberos itself is not implemented: no KDC) and, where allowed,
    ``Basic realm="WSMAN"``; a Basic request where Basic is off gets that same 401, without Basic among
    the offers. Wrong credentials: 401. The service principal an NTLMv2 client named (its
    MsvAvTargetName, e.g. ``HTTP/rras1.corp.example``) is logged as "spn".
  * the handshake is per TCP connection; the acceptor's last token (the SPNEGO mechListMIC) goes back in
    ``WWW-Authenticate: Negotiate <b64>`` on the 200 that ends it; later requests on the connection carry no
    Authorization header.
  * message encryption: ``multipart/encrypted`` bodies (``application/HTTP-SPNEGO-session-encrypted``) are
    unsealed with the connection's context and answered the same way, over HTTP or HTTPS. An
    unencrypted SOAP body over plain HTTP is refused with HTTP 500 and an empty body unless
    ``allow_unencrypted`` (what third-party reports describe for AllowUnencrypted=false; the exact body
    Windows sends is [unverified]). An empty POST (pypsrp's handshake request) is always fine.
  * an unreachable node (``set_reachable(host, False)``) answers nothing: the connection is reset.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable, Iterable
from typing import Any

from emulators.common.wsgi import _reset_connection
from emulators.winrm.auth import (
    ENCRYPTED_CONTENT_TYPE,
    ConnectionTable,
    EncryptionError,
    NtlmUsers,
    b64,
    is_encrypted,
    ntlm_target_name,
    parse_authorization,
    unwrap,
    wrap,
)
from emulators.winrm.wsman import WinRMApp

SERVER_HEADER = ("Server", "Microsoft-HTTPAPI/2.0")
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"


class WinRMListener:
    """WSGI app: ``POST /wsman`` and ``POST /<hostname>/wsman`` for every node's ``WinRMApp``."""

    def __init__(
        self,
        nodes: list[WinRMApp],
        *,
        allow_basic: bool = False,
        allow_unencrypted: bool = False,
    ) -> None:
        if not nodes:
            raise ValueError("a WinRM listener needs at least one node")
        self.nodes = {app.backend.hostname.lower(): app for app in nodes}
        if len(self.nodes) != len(nodes):
            raise ValueError("node hostnames must be unique")
        self.default = nodes[0]
        self.allow_basic = allow_basic
        self.allow_unencrypted = allow_unencrypted
        self.connections = ConnectionTable()
        self._lock = threading.Lock()
        self._ntlm = {
            key: NtlmUsers(app.backend.hostname, app.backend.users, app.backend.data_dir)
            for key, app in self.nodes.items()
        }
        self.unreachable: set[str] = set()

    # -- nodes ----------------------------------------------------------------------------------------------
    def node(self, hostname: str) -> WinRMApp | None:
        return self.nodes.get(hostname.lower())

    def route(self, path: str) -> WinRMApp | None:
        parts = [p for p in path.lower().split("/") if p]
        if parts == ["wsman"]:
            return self.default
        if len(parts) == 2 and parts[1] == "wsman":
            return self.nodes.get(parts[0])
        return None

    def set_reachable(self, hostname: str, reachable: bool) -> None:
        key = hostname.lower()
        if key not in self.nodes:
            raise KeyError(hostname)
        with self._lock:
            if reachable:
                self.unreachable.discard(key)
            else:
                self.unreachable.add(key)

    def is_reachable(self, hostname: str) -> bool:
        return hostname.lower() not in self.unreachable

    def ntlm_users(self, app: WinRMApp) -> NtlmUsers:
        return self._ntlm[app.backend.hostname.lower()]

    # -- WSGI -----------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        log = environ.setdefault("twin.log", {})
        log["write"] = False
        method = environ.get("REQUEST_METHOD", "GET").upper()
        app = self.route(environ.get("PATH_INFO", ""))
        if app is None:
            return _respond(start_response, "404 Not Found", b"")
        host = app.backend.hostname
        log["node"] = host
        if not self.is_reachable(host):
            # A host that is down or cut off answers nothing: the client sees the connection drop.
            log["unreachable"] = True
            log["status"] = 0
            _reset_connection(environ)
            raise ConnectionResetError(f"twin: node {host} is unreachable")
        if method != "POST":
            return _respond(start_response, "405 Method Not Allowed", b"", [("Allow", "POST")])
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        https = environ.get("wsgi.url_scheme") == "https"
        state = self.connections.get(environ, host)

        user: str | None = None
        reply_headers: list[tuple[str, str]] = []
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, token = parse_authorization(header)
            kind = scheme.lower()
            if kind == "basic":
                log["auth"] = "basic"
                if not self.allow_basic:
                    log["auth_refused"] = "basic disabled (Auth/Basic=false)"
                    return self._unauthorized(start_response, https)
                if not (https or self.allow_unencrypted):
                    log["auth_refused"] = "basic over HTTP (AllowUnencrypted=false)"
                    return self._unauthorized(start_response, https)
                user = _basic_user(app, token)
            elif kind in ("negotiate", "ntlm"):
                if state.context is None or state.authenticated or state.scheme.lower() != kind:
                    state = self.connections.reset(environ, host)
                    state.context = self.ntlm_users(app).acceptor()
                    state.scheme = scheme
                log["auth_scheme"] = scheme
                try:
                    raw = base64.b64decode(token, validate=True)
                    spn = ntlm_target_name(raw)
                    if spn is not None:
                        log["spn"] = spn
                    out = self.ntlm_users(app).step(state.context, raw)
                except Exception as exc:  # noqa: BLE001 - a bad token or wrong credentials
                    log["auth"] = kind
                    log["auth_error"] = type(exc).__name__
                    self.connections.reset(environ, host)
                    return self._unauthorized(start_response, https)
                if not state.context.complete:
                    log["auth"] = kind
                    log["auth_leg"] = True
                    return _respond(
                        start_response,
                        "401 Unauthorized",
                        b"",
                        [("WWW-Authenticate", f"{scheme} {b64(out or b'')}".rstrip())],
                    )
                log["auth"] = str(getattr(state.context, "negotiated_protocol", "") or kind)
                user = _principal_user(app, state.context.client_principal)
                if user is None:
                    self.connections.reset(environ, host)
                else:
                    state.user = user
                    if out:
                        # The acceptor's last token (SPNEGO mechListMIC) must reach the client
                        # (docs/rras.md#negotiate-authentication).
                        reply_headers.append(("WWW-Authenticate", f"{scheme} {b64(out)}"))
            else:
                log["auth"] = kind
                if kind == "kerberos":
                    log["auth_refused"] = "kerberos: the twin has no KDC to validate tickets"
        elif state.authenticated:
            user = state.user
        if user is None:
            log.setdefault("auth", "none")
            return self._unauthorized(start_response, https)
        log["user"] = user

        content_type = environ.get("CONTENT_TYPE", "")
        encrypted = is_encrypted(content_type)
        if encrypted:
            try:
                soap = unwrap(state.context if state.authenticated else None, content_type, body)
            except EncryptionError as exc:
                log["encryption_error"] = str(exc)[:200]
                return _respond(start_response, "400 Bad Request", b"", reply_headers)
            log["encrypted"] = True
        else:
            soap = body
            if soap and not https and not self.allow_unencrypted:
                log["refused"] = "unencrypted message over HTTP (AllowUnencrypted=false)"
                return _respond(start_response, "500 Internal Server Error", b"", reply_headers)

        status, xml = app.handle(environ, user, soap)
        if not xml:
            return _respond(start_response, status, b"", reply_headers)
        if encrypted:
            return _respond(
                start_response,
                status,
                wrap(state.context, xml),
                [*reply_headers, ("Content-Type", ENCRYPTED_CONTENT_TYPE)],
            )
        return _respond(start_response, status, xml, [*reply_headers, ("Content-Type", SOAP_CONTENT_TYPE)])

    def _unauthorized(self, start_response: Callable[..., Any], https: bool) -> list[bytes]:
        offers = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "Kerberos")]
        if self.allow_basic and (https or self.allow_unencrypted):
            offers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        return _respond(start_response, "401 Unauthorized", b"", offers)


def _respond(
    start_response: Callable[..., Any],
    status: str,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    all_headers = [*(headers or []), ("Content-Length", str(len(body))), SERVER_HEADER]
    start_response(status, all_headers)
    return [body]


def _basic_user(app: WinRMApp, token: str) -> str | None:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return app.backend.check_user(user, password)


def _principal_user(app: WinRMApp, principal: str | None) -> str | None:
    """The canonical name of the user NTLM authenticated (``RRAS1\\automation`` -> ``automation``)."""
    name = (principal or "").rpartition("\\")[2]
    for user in app.backend.users:
        if user.lower() == name.lower():
            return user
    return None
