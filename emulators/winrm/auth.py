"""HTTP authentication and WinRM message encryption of the twin's listener
(docs/rras.md#transport-and-message-encryption).

Negotiate/NTLM is the pure-Python acceptor of pyspnego (``spnego.server(protocol="negotiate",
options=wrapping_winrm)``): it takes raw NTLM tokens (pypsrp ``auth="ntlm"``) and SPNEGO tokens that fall
back to NTLM (``auth="negotiate"``; Kerberos would need a KDC). Its only way to learn the users' secrets is
the ``NTLM_USER_FILE`` environment variable (lines ``DOMAIN:user:password``, the domain compared exactly
with the one the client sends, the user case-insensitively), read when the context is created and when
the AUTHENTICATE message arrives. Every twin node writes its own file, and ``NtlmUsers`` points the
process-wide variable at it only around those calls, under one process-wide lock: twins in one process
(tests) never see each other's users.

SPNEGO (``Negotiate``) from pypsrp/pyspnego on a machine without Kerberos (no gssapi) offers NTLM only, and
the exchange runs as NTLM inside SPNEGO; the acceptor has no Kerberos itself (no KDC, no keytab), so a
Kerberos-only client is refused with 401 (docs/rras.md#kerberos-and-negotiate).
``ntlm_target_name`` reads the service principal an NTLMv2 AUTHENTICATE message names (MsvAvTargetName:
what pyspnego builds from ``negotiate_service``/``negotiate_hostname_override``), raw or SPNEGO-wrapped.

Authentication state is per TCP connection, as with HTTP.sys: one context per connection (keyed by the
connection's socket object, which werkzeug's request handler keeps for the life of a keep-alive
connection), and requests after the handshake carry no Authorization header.
"""

from __future__ import annotations

import base64
import os
import re
import struct
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spnego

_ENV_LOCK = threading.Lock()
ENV_VAR = "NTLM_USER_FILE"

BOUNDARY = "Encrypted Boundary"
SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{SPNEGO_PROTOCOL}";boundary="{BOUNDARY}"'


class EncryptionError(Exception):
    """A multipart/encrypted body that cannot be parsed or unsealed with the connection's context."""


class NtlmUsers:
    """The NTLM credential file of one node, and the acceptor contexts that read it.

    Lines are written for the empty domain (a bare ``automation``), ``.`` and the node's hostname
    (``RRAS1\\automation``), as Windows accepts for a local account. Users whose name or password holds a
    ``:`` or a line break cannot be written in that format; they can still use Basic.
    """

    def __init__(self, hostname: str, users: dict[str, str], directory: Path | str | None = None) -> None:
        self.hostname = hostname
        if directory is None:
            fd, name = tempfile.mkstemp(prefix="winrm-twin-ntlm-", suffix=".txt")
            os.close(fd)
            self.path = Path(name)
            self._cleanup = weakref.finalize(self, _unlink, str(self.path))
        else:
            d = Path(directory)
            d.mkdir(parents=True, exist_ok=True)
            self.path = d / "ntlm-users.txt"
        lines = []
        for user, password in users.items():
            if any(c in (user + password) for c in ":\r\n"):
                continue
            for domain in ("", ".", hostname.upper()):
                lines.append(f"{domain}:{user}:{password}")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.path.chmod(0o600)

    def _with_env(self, fn: Any, *args: Any) -> Any:
        with _ENV_LOCK:
            previous = os.environ.get(ENV_VAR)
            os.environ[ENV_VAR] = str(self.path)
            try:
                return fn(*args)
            finally:
                if previous is None:
                    os.environ.pop(ENV_VAR, None)
                else:
                    os.environ[ENV_VAR] = previous

    def acceptor(self) -> Any:
        return self._with_env(
            lambda: spnego.server(protocol="negotiate", options=spnego.NegotiateOptions.wrapping_winrm)
        )

    def step(self, context: Any, token: bytes) -> bytes | None:
        out: bytes | None = self._with_env(context.step, token)
        return out


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@dataclass
class ConnectionAuth:
    """What one TCP connection has negotiated with one node."""

    context: Any = None
    scheme: str = ""  # the Authorization scheme the client used ("Negotiate" or "NTLM")
    user: str | None = None  # set once the handshake completed

    @property
    def authenticated(self) -> bool:
        return self.user is not None


class ConnectionTable:
    """Per-connection authentication state (one entry per node the connection talked to)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_socket: weakref.WeakKeyDictionary[Any, dict[str, ConnectionAuth]] = (
            weakref.WeakKeyDictionary()
        )
        self._by_peer: dict[tuple[str, int], dict[str, ConnectionAuth]] = {}

    def get(self, environ: dict[str, Any], node: str) -> ConnectionAuth:
        sock = environ.get("werkzeug.socket")
        with self._lock:
            if sock is not None:
                try:
                    per_node = self._by_socket.setdefault(sock, {})
                except TypeError:  # not weak-referenceable: fall back to the peer address
                    per_node = self._peer(environ)
            else:
                per_node = self._peer(environ)
            return per_node.setdefault(node, ConnectionAuth())

    def reset(self, environ: dict[str, Any], node: str) -> ConnectionAuth:
        state = self.get(environ, node)
        state.context, state.scheme, state.user = None, "", None
        return state

    def _peer(self, environ: dict[str, Any]) -> dict[str, ConnectionAuth]:
        key = (str(environ.get("REMOTE_ADDR", "")), int(environ.get("REMOTE_PORT") or 0))
        return self._by_peer.setdefault(key, {})


def ntlm_target_name(token: bytes) -> str | None:
    """The MsvAvTargetName of an NTLMv2 AUTHENTICATE message (raw, or the response token of a SPNEGO
    NegTokenResp); None for any other token or one that cannot be parsed."""
    from spnego._ntlm_raw.messages import Authenticate, AvId, NTClientChallengeV2
    from spnego._spnego import NegTokenInit, NegTokenResp, unpack_token

    try:
        if not token.startswith(b"NTLMSSP\x00"):
            outer = unpack_token(token)
            inner = None
            if isinstance(outer, NegTokenResp):
                inner = outer.response_token
            elif isinstance(outer, NegTokenInit):
                inner = outer.mech_token
            if not inner:
                return None
            token = inner
        message = unpack_token(token, unwrap=True)
        if not isinstance(message, Authenticate):
            return None
        response = message.nt_challenge_response
        if not response or len(response) <= 24:  # NTLMv1: no AV pairs
            return None
        name = NTClientChallengeV2.unpack(response[16:]).av_pairs.get(AvId.target_name)
    except Exception:  # noqa: BLE001 - not a token this helper understands
        return None
    return str(name) if name else None


def parse_authorization(header: str) -> tuple[str, str]:
    scheme, _, token = header.strip().partition(" ")
    return scheme, token.strip()


def is_encrypted(content_type: str) -> bool:
    return content_type.lower().startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))


def unwrap(context: Any, content_type: str, body: bytes) -> bytes:
    """The SOAP message inside a ``multipart/encrypted`` body (one or more parts)."""
    if context is None:
        raise EncryptionError("no security context on this connection")
    match = re.search(r'boundary\s*=\s*"?([^";]+)"?', content_type, re.I)
    protocol = re.search(r'protocol\s*=\s*"?([^";]+)"?', content_type, re.I)
    if not match or not protocol or protocol.group(1).lower() != SPNEGO_PROTOCOL.lower():
        raise EncryptionError(f"unsupported encrypted content type {content_type!r}")
    marker = b"--" + match.group(1).encode()
    end = body.rfind(marker + b"--")
    if end < 0:
        raise EncryptionError("no closing boundary")
    parts = [p for p in body[:end].split(marker + b"\r\n") if p]
    if len(parts) % 2:
        raise EncryptionError("odd number of MIME parts")
    message = b""
    for i in range(0, len(parts), 2):
        length = re.search(rb"Length=(\d+)", parts[i])
        if not length:
            raise EncryptionError("no OriginalContent length")
        payload = parts[i + 1]
        prefix = re.match(rb"\s*Content-Type:\s*application/octet-stream\r\n", payload, re.I)
        if not prefix:
            raise EncryptionError("no application/octet-stream part")
        payload = payload[prefix.end() :]
        if len(payload) < 4:
            raise EncryptionError("truncated payload")
        header_length = struct.unpack("<i", payload[:4])[0]
        header, sealed = payload[4 : 4 + header_length], payload[4 + header_length :]
        try:
            plain = context.unwrap_winrm(header, sealed)
        except Exception as exc:  # noqa: BLE001 - a bad signature or sequence number
            raise EncryptionError(f"cannot unseal: {exc}") from None
        if len(plain) != int(length.group(1)):
            raise EncryptionError("length mismatch")
        message += plain
    return message


def wrap(context: Any, message: bytes) -> bytes:
    """``message`` sealed for the client, as a ``multipart/encrypted`` body (ENCRYPTED_CONTENT_TYPE)."""
    result = context.wrap_winrm(message)
    head = (
        f"--{BOUNDARY}\r\n"
        f"\tContent-Type: {SPNEGO_PROTOCOL}\r\n"
        "\tOriginalContent: type=application/soap+xml;charset=UTF-8;"
        f"Length={len(message) + result.padding_length}\r\n"
        f"--{BOUNDARY}\r\n"
        "\tContent-Type: application/octet-stream\r\n"
    ).encode()
    sealed = struct.pack("<i", len(result.header)) + result.header + result.data
    return head + sealed + f"--{BOUNDARY}--\r\n".encode()


def b64(token: bytes) -> str:
    return base64.b64encode(token).decode()
