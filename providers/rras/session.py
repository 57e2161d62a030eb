"""PowerShell Remoting sessions to RRAS nodes: one runspace pool per node and provider process.

Every command is sent as a cmdlet with bound parameters (``add_cmdlet``/``add_parameter``); nothing from the
declaration ever becomes PowerShell source. A command fails when its pipeline fails (a terminating error) *or*
when it wrote anything to the error stream (``Write-Error`` and other non-terminating errors leave
``had_errors`` False in pypsrp, docs/rras.md#errors-and-had_errors).

Transport rules (docs/rras.md#transport-and-message-encryption): HTTPS with certificate validation against the
declared CA bundle (or the system store); plain HTTP only with message encryption (NTLM, Negotiate, Kerberos,
CredSSP); Basic only over HTTPS, and Windows has it off unless an administrator enabled it.

Kerberos and Negotiate (docs/rras.md#kerberos-and-negotiate): the service principal asked for is
``HTTP/<host>``, the host being ``kerberos_hostname`` when declared (the node's DNS name when the endpoint is
an IP address), else the endpoint's host; Kerberos by IP address without it is refused before connecting.

Session configuration (docs/rras.md#just-enough-administration): with ``configuration_name`` (the
declaration's management.configurationName) the pool connects to that configuration, the project's JEA
endpoint (jea/), instead of Microsoft.PowerShell; a node that has none of that name answers WSMan fault
2150858770.

Idle shells (docs/rras.md#idle-shells): the pool asks for an IdleTimeOut of IDLE_TIMEOUT; a node that closed
the shell answers the next request with WSMan fault 2150858843. The pool is then reopened once and the
command sent again only when it cannot have run: the fault came on the request that would have created the
pipeline (pypsrp's PowerShell still NotStarted), or the command only reads. Otherwise the error says so."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from providers.common.clients import PerProcess
from providers.common.device import SecretConfig
from providers.common.errors import ConfigurationError, ProviderError

OPERATION_TIMEOUT = 20
READ_TIMEOUT = 30
#: The IdleTimeOut the pool asks for (seconds): shells a killed provider host leaves behind are freed after
#: 15 minutes rather than the node's default 2 hours (docs/rras.md#idle-shells).
IDLE_TIMEOUT = 900
#: WSMan fault: "The request for the Windows Remote Shell with ShellId ... failed because the shell was not
#: found on the server" (idle timeout, reboot, WinRM restart).
SHELL_NOT_FOUND = 2150858843
#: The SPN service class of WinRM over HTTP(S) (docs/rras.md#kerberos-and-negotiate).
KERBEROS_SERVICE = "HTTP"
#: WSMan fault: "Cannot find the <name> session configuration in the WSMan: drive on the computer."
NO_SUCH_CONFIGURATION = 2150858770
#: Cmdlets that only read: sending one again after the shell vanished mid-command changes nothing.
READ_ONLY_VERBS = ("Get-", "Test-")


class RrasCommandError(ProviderError):
    """A command on a node failed: names the node, the command and PowerShell's error record."""

    def __init__(self, node: str, command: str, records: list[str]) -> None:
        self.node, self.command, self.records = node, command, records
        super().__init__(f"node {node}: {command} failed: " + " | ".join(records))


class RrasConnectionError(ProviderError):
    def __init__(self, node: str, endpoint: str, reason: str) -> None:
        super().__init__(f"node {node}: {reason}")


def _offered_schemes(exc: BaseException) -> str | None:
    """The WWW-Authenticate of the 401 behind a pypsrp AuthenticationError (raised while handling the
    requests HTTPError, so it is the exception's ``__context__``); None when unknown."""
    response = getattr(exc.__context__, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    return str(headers.get("WWW-Authenticate", ""))


def _kerberos_problem(conn: NodeConnection, detail: str) -> str | None:
    """Which part of Kerberos is missing, from pyspnego's/GSSAPI's error text; None if it is not Kerberos."""
    text = detail.lower()
    where = conn.endpoint
    library_missing = "gssapi" in text and ("no module" in text or "requires" in text)
    if library_missing or "kerberos is not available" in text:
        return (
            f"Kerberos is not available on this machine for {where}: the Python gssapi library with krb5 "
            f"support is missing (install pyspnego[kerberos] and the MIT krb5 library), or declare auth: "
            f"negotiate (which falls back to NTLM) or ntlm ({detail})"
        )
    if any(
        m in text
        for m in ("server not found in kerberos database", "s_principal_unknown", "unknown server principal")
    ):
        return (
            f"the Kerberos realm has no service principal {conn.spn}: set management.kerberosHostname to "
            f"the node's DNS name as registered in Active Directory (setspn -L <node>) ({detail})"
        )
    if any(
        m in text
        for m in (
            "no kerberos credentials",
            "credentials cache",
            "cannot find kdc",
            "cannot contact any kdc",
            "default realm",
            "cannot resolve network address for kdc",
            "no credentials were supplied",
        )
    ):
        return (
            f"no Kerberos ticket for {conn.user!r} to reach {where}: the KDC of the user's realm could not "
            f"be asked (check krb5.conf: default_realm and the realm's kdc) and no ticket is cached (kinit "
            f"{conn.user}) ({detail})"
        )
    return None


def _explain(conn: NodeConnection, exc: BaseException, password: str) -> str:
    """What went wrong with the node's WinRM endpoint, in the terms the user can act on."""
    import requests
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError

    detail = _clean(exc, password)
    where = conn.endpoint
    if conn.configuration_name and isinstance(exc, WSManFaultError) and exc.code == NO_SUCH_CONFIGURATION:
        return (
            f"WinRM at {where} has no session configuration {conn.configuration_name!r} "
            "(management.configurationName): register the project's JEA endpoint on the node (jea/README.md) "
            f"or leave configurationName out ({detail})"
        )
    if conn.auth in ("kerberos", "negotiate"):
        problem = _kerberos_problem(conn, detail)
        if problem is not None:
            return problem
    if isinstance(exc, AuthenticationError) or (isinstance(exc, WinRMTransportError) and exc.code == 401):
        offered = _offered_schemes(exc)
        if conn.auth == "basic" and offered is not None and "basic" not in offered.lower():
            return (
                f"Basic authentication is disabled on the WinRM service at {where} (it offers "
                f"{offered or 'no scheme'}): enable it on the node (Set-Item WSMan:\\localhost\\Service"
                f"\\Auth\\Basic $true) or declare auth: ntlm, negotiate or kerberos"
            )
        return (
            f"WinRM at {where} refused the credentials of {conn.user!r} ({conn.auth}): check the secret "
            f"{conn.password_key!r} and that the account may use PowerShell Remoting ({detail})"
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
    #: The node's DNS name for its Kerberos service principal when the endpoint names it by IP address.
    kerberos_hostname: str | None = None
    #: The session configuration to connect to (a JEA endpoint); None: Microsoft.PowerShell.
    configuration_name: str | None = None

    @classmethod
    def from_device(cls, node: str, device: dict[str, Any]) -> NodeConnection:
        """``device`` is the node's WinRM connection: url, user, password_key, auth, ca_bundle and,
        for kerberos/negotiate, kerberos_hostname; configuration_name when declared."""
        return cls(
            name=str(node),
            endpoint=str(device["url"]),
            user=str(device["user"]),
            password_key=str(device["password_key"]),
            auth=str(device.get("auth") or "ntlm"),
            ca_bundle=device.get("ca_bundle") or None,
            kerberos_hostname=device.get("kerberos_hostname") or None,
            configuration_name=device.get("configuration_name") or None,
        )

    @property
    def spn(self) -> str:
        """The service principal Kerberos (or Negotiate trying Kerberos) asks a ticket for."""
        return f"{KERBEROS_SERVICE}/{self.kerberos_hostname or urlsplit(self.endpoint).hostname or ''}"

    def check_kerberos(self) -> None:
        """Refuse, before any request, what cannot work with ``auth: kerberos``: an endpoint given by IP
        address without kerberosHostname (no SPN names an address), or no Kerberos library here."""
        if self.auth != "kerberos":
            return
        host = urlsplit(self.endpoint).hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            if not self.kerberos_hostname:
                raise ConfigurationError(
                    f"node {self.name}: Kerberos needs the node's DNS name for its service principal "
                    f"{KERBEROS_SERVICE}/<name>, but the endpoint names it by IP address {host}: set "
                    "management.kerberosHostname, or declare auth: negotiate (which falls back to NTLM)"
                )
        if importlib.util.find_spec("gssapi") is None:
            raise RrasConnectionError(
                self.name,
                self.endpoint,
                f"Kerberos is not available on this machine for {self.endpoint}: the Python gssapi library "
                "with krb5 support is missing (install pyspnego[kerberos] and the MIT krb5 library, and a "
                "krb5.conf for the node's realm), or declare auth: negotiate (which falls back to NTLM) "
                "or ntlm",
            )

    def wsman_kwargs(self, password: str) -> dict[str, Any]:
        parts = urlsplit(self.endpoint)
        https = parts.scheme == "https"
        if not https and self.auth == "basic":
            raise ConfigurationError(f"node {self.name}: Basic authentication is only allowed over HTTPS")
        spnego: dict[str, Any] = {}
        if self.auth in ("kerberos", "negotiate"):
            # pypsrp's own default SPN service class is "host"; WinRM's is HTTP.
            spnego["negotiate_service"] = KERBEROS_SERVICE
            if self.kerberos_hostname:
                spnego["negotiate_hostname_override"] = self.kerberos_hostname
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
            **spnego,
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
        #: how often a pool whose shell the node had closed was opened again
        self.reopens = 0

    def _open(self) -> Any:
        from pypsrp.powershell import DEFAULT_CONFIGURATION_NAME, RunspacePool
        from pypsrp.wsman import WSMan

        if self._pool is None:
            try:
                self.conn.check_kerberos()
                self._wsman = WSMan(**self.conn.wsman_kwargs(self._password))
                name = self.conn.configuration_name or DEFAULT_CONFIGURATION_NAME  # Microsoft.PowerShell
                pool = RunspacePool(self._wsman, configuration_name=name, idle_timeout=IDLE_TIMEOUT)
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
        """Run one cmdlet with bound parameters; raise RrasCommandError on any error record.

        A pool whose shell the node closed (idle timeout, reboot) is reopened once, and the command sent
        again only if it cannot have run or only reads (docs/rras.md#idle-shells)."""

        def command(ps: Any) -> None:
            ps.add_cmdlet(cmdlet)
            for name, value in (parameters or {}).items():
                ps.add_parameter(name, value)
            for name in switches:
                ps.add_parameter(name)

        return self._run(command, _describe(cmdlet, parameters, switches), cmdlet.startswith(READ_ONLY_VERBS))

    def invoke_script(self, script: str, parameters: dict[str, Any], label: str) -> list[Any]:
        """Run a FIXED script text (a module constant with a param() block, never text built from input)
        with its values bound as parameters; a write, so it is sent again only if it cannot have started.
        ``label`` names it in errors."""

        def command(ps: Any) -> None:
            ps.add_script(script)
            for name, value in parameters.items():
                ps.add_parameter(name, value)

        return self._run(command, label, read_only=False)

    def _run(self, command: Callable[[Any], None], label: str, read_only: bool) -> list[Any]:
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.powershell import PowerShell

        with self._lock:
            for attempt in (1, 2):
                pool = self._open()
                ps = PowerShell(pool)
                command(ps)
                try:
                    output: list[Any] = ps.invoke()
                except Exception as exc:  # noqa: BLE001 - transport failure mid-command
                    self._discard()  # the node no longer knows the shell, or the connection broke
                    if not _shell_gone(exc):
                        raise RrasConnectionError(
                            self.conn.name, self.conn.endpoint, _explain(self.conn, exc, self._password)
                        ) from None
                    started = ps.state != PSInvocationState.NOT_STARTED
                    if attempt == 1 and (not started or read_only):
                        self.reopens += 1
                        continue
                    raise RrasConnectionError(
                        self.conn.name,
                        self.conn.endpoint,
                        f"WinRM at {self.conn.endpoint} closed the PowerShell session (its shell no longer "
                        "exists: idle timeout, reboot or WinRM restart) "
                        + (
                            f"while {label} was running: it may have run, so it was not sent again; run "
                            "the operation again to converge"
                            if started
                            else "again right after it was reopened"
                        )
                        + f" ({_clean(exc, self._password)})",
                    ) from None
                break
            self.commands += 1
            if ps.had_errors or ps.streams.error:
                records = [_record(r) for r in ps.streams.error] or [f"pipeline state {ps.state}"]
                raise RrasCommandError(self.conn.name, label, records)
            return output

    def _discard(self) -> None:
        """Forget the pool without closing its shell (gone, or unreachable) and drop its connections."""
        self._pool = None
        wsman, self._wsman = self._wsman, None
        if wsman is not None:
            try:
                wsman.close()
            except Exception:  # noqa: BLE001,S110 - only sockets to let go of
                pass

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                pool.close()
            except Exception:  # noqa: BLE001,S110 - best effort at exit
                pass


def _shell_gone(exc: BaseException) -> bool:
    from pypsrp.exceptions import WSManFaultError

    return isinstance(exc, WSManFaultError) and exc.code == SHELL_NOT_FOUND


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

    return _SESSIONS.get((conn.endpoint, conn.user, conn.configuration_name), make)
