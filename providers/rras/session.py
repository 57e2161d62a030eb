"""PowerShell Remoting sessions to RRAS nodes: one runspace pool per node and provider process.

Every command is sent as a cmdlet with bound parameters (``add_cmdlet``/``add_parameter``); nothing from the
declaration ever becomes PowerShell source. A command fails when its pipeline fails (a terminating error) *or*
when it wrote anything to the error stream (``Write-Error`` and other non-terminating errors leave
``had_errors`` False in pypsrp, docs/rras.md#errors-and-had_errors).

Transport rules (docs/rras.md#transport-and-message-encryption): HTTPS with certificate validation against the
declared CA bundle (or the system store); plain HTTP only with message encryption (NTLM, Kerberos, CredSSP);
Basic only over HTTPS."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from providers.common.clients import PerProcess
from providers.common.device import SecretConfig
from providers.common.errors import ConfigurationError, ProviderError

OPERATION_TIMEOUT = 20
READ_TIMEOUT = 30


class RrasCommandError(ProviderError):
    """A command on a node failed: names the node, the command and PowerShell's error record."""

    def __init__(self, node: str, command: str, records: list[str]) -> None:
        self.node, self.command, self.records = node, command, records
        super().__init__(f"node {node}: {command} failed: " + " | ".join(records))


class RrasConnectionError(ProviderError):
    def __init__(self, node: str, endpoint: str, reason: str) -> None:
        super().__init__(f"node {node}: {reason}")


def _explain(conn: NodeConnection, exc: BaseException, password: str) -> str:
    """What went wrong with the node's WinRM endpoint, in the terms the user can act on."""
    import requests
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError

    detail = _clean(exc, password)
    where = conn.endpoint
    if isinstance(exc, AuthenticationError) or (isinstance(exc, WinRMTransportError) and exc.code == 401):
        return (
            f"WinRM at {where} refused the credentials of {conn.user!r} ({conn.auth}): check the secret "
            f"{conn.password_key!r} and that the account may use PowerShell Remoting ({detail})"
        )
    if conn.auth == "kerberos" and "gssapi" in detail.lower():
        return (
            f"Kerberos is not available on this machine for {where}: install pyspnego[kerberos] and a "
            f"krb5.conf for the node's realm, or declare auth: ntlm ({detail})"
        )
    if conn.auth == "credssp" and "did not response CredSSP" in detail:
        return (
            f"WinRM at {where} does not offer CredSSP: enable it on the node "
            f"(Enable-WSManCredSSP -Role Server) or declare auth: ntlm ({detail})"
        )
    if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        trust = f"the caBundle {conn.ca_bundle}" if conn.ca_bundle else "the system's trusted CAs"
        return f"the certificate of {where} is not trusted by {trust} ({detail})"
    if isinstance(exc, WinRMTransportError):
        return f"WinRM at {where} answered HTTP {exc.code} ({detail})"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer from {where} in time ({detail})"
    return f"cannot reach {where} ({detail})"


@dataclass(frozen=True)
class NodeConnection:
    name: str
    endpoint: str
    user: str
    password_key: str
    auth: str
    ca_bundle: str | None

    @classmethod
    def from_device(cls, node: str, device: dict[str, Any]) -> NodeConnection:
        """``device`` is the node's WinRM connection: url, user, password_key, auth, ca_bundle."""
        return cls(
            name=str(node),
            endpoint=str(device["url"]),
            user=str(device["user"]),
            password_key=str(device["password_key"]),
            auth=str(device.get("auth") or "ntlm"),
            ca_bundle=device.get("ca_bundle") or None,
        )

    def wsman_kwargs(self, password: str) -> dict[str, Any]:
        parts = urlsplit(self.endpoint)
        https = parts.scheme == "https"
        if not https and self.auth == "basic":
            raise ConfigurationError(f"node {self.name}: Basic authentication is only allowed over HTTPS")
        return {
            "server": parts.hostname,
            "port": parts.port or (5986 if https else 5985),
            "path": parts.path.strip("/") or "wsman",
            "ssl": https,
            "auth": self.auth,
            "username": self.user,
            "password": password,
            # A CA bundle path or True (system store); validation is never turned off.
            "cert_validation": os.path.abspath(self.ca_bundle) if self.ca_bundle else True,
            # Over HTTP the message must be encrypted; "auto" enforces that for NTLM/Kerberos/CredSSP.
            "encryption": "auto",
            "operation_timeout": OPERATION_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
        }


class NodeSession:
    """One runspace pool to one node, opened on first use, reused by every resource of the process."""

    def __init__(self, conn: NodeConnection, password: str) -> None:
        self.conn = conn
        self._password = password
        self._lock = threading.Lock()
        self._wsman: Any = None
        self._pool: Any = None
        self.commands = 0

    def _open(self) -> Any:
        from pypsrp.powershell import RunspacePool
        from pypsrp.wsman import WSMan

        if self._pool is None:
            try:
                self._wsman = WSMan(**self.conn.wsman_kwargs(self._password))
                pool = RunspacePool(self._wsman)
                pool.open()
            except ProviderError:
                raise
            except Exception as exc:  # noqa: BLE001 - any transport/auth failure, reported by node
                raise RrasConnectionError(
                    self.conn.name, self.conn.endpoint, _explain(self.conn, exc, self._password)
                ) from None
            self._pool = pool
        return self._pool

    def invoke(
        self, cmdlet: str, parameters: dict[str, Any] | None = None, switches: tuple[str, ...] = ()
    ) -> list[Any]:
        """Run one cmdlet with bound parameters; raise RrasCommandError on any error record."""
        from pypsrp.powershell import PowerShell

        with self._lock:
            pool = self._open()
            ps = PowerShell(pool)
            ps.add_cmdlet(cmdlet)
            for name, value in (parameters or {}).items():
                ps.add_parameter(name, value)
            for name in switches:
                ps.add_parameter(name)
            try:
                output: list[Any] = ps.invoke()
            except Exception as exc:  # noqa: BLE001 - transport failure mid-command
                self._pool = None
                raise RrasConnectionError(
                    self.conn.name, self.conn.endpoint, _explain(self.conn, exc, self._password)
                ) from None
            self.commands += 1
            if ps.had_errors or ps.streams.error:
                records = [_record(r) for r in ps.streams.error] or [f"pipeline state {ps.state}"]
                raise RrasCommandError(self.conn.name, _describe(cmdlet, parameters, switches), records)
            return output

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                pool.close()
            except Exception:  # noqa: BLE001,S110 - best effort at exit
                pass


def _describe(cmdlet: str, parameters: dict[str, Any] | None, switches: tuple[str, ...]) -> str:
    parts = [cmdlet]
    for name, value in (parameters or {}).items():
        shown = f"<{len(value)} bytes>" if isinstance(value, bytes | bytearray) else repr(value)
        parts.append(f"-{name} {shown}")
    parts.extend(f"-{s}" for s in switches)
    return " ".join(parts)


def _record(record: Any) -> str:
    """PowerShell's error record as PowerShell shows it: message, FullyQualifiedErrorId, category info."""
    text = getattr(record, "details_message", None) or str(record)
    fqid = getattr(record, "fq_error", None)
    category = getattr(record, "message", None)  # ErrorCategory_Message, e.g. "InvalidArgument: (:) [...]"
    extra = "; ".join(str(x) for x in (f"FullyQualifiedErrorId: {fqid}" if fqid else None, category) if x)
    return f"{text} ({extra})" if extra else text


def _clean(exc: BaseException, password: str) -> str:
    text = str(exc) or type(exc).__name__
    if password:
        text = text.replace(password, "***")
    return text[:400]


_SESSIONS: PerProcess[NodeSession] = PerProcess()


def session_for(conn: NodeConnection, secrets: SecretConfig) -> NodeSession:
    def make() -> NodeSession:
        return NodeSession(conn, secrets.value(conn.password_key, f"node {conn.name}", "<password>"))

    return _SESSIONS.get((conn.endpoint, conn.user), make)
