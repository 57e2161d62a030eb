"""HTTP sessions for appliance APIs: TLS verified, retries with backoff for idempotent calls only."""

from __future__ import annotations

import ssl

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from providers.common.errors import ApplianceError, connection_reason, exception_chain

# Idempotent methods may be retried on transient failures (connection resets, 502/503/504).
# POST and PATCH are never retried after the request was sent: a create that reached the appliance
# but lost its answer must not be sent twice. Connection errors before sending are retried for all.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
TRANSIENT_STATUS = (502, 503, 504)
#: Connections kept open to one device: as many as the engine's default ``--parallel`` (4 per CPU) sends at
#: once on a 4-CPU runner, so concurrent calls reuse their TLS connections instead of opening new ones.
POOL_SIZE = 16


def make_session(
    *, retries: int = 4, backoff: float = 0.5, user_agent: str = "aovpn-iac"
) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        allowed_methods=IDEMPOTENT,
        status_forcelist=TRANSIENT_STATUS,
        backoff_factor=backoff,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    # Callers pass verify= on every request: requests lets REQUESTS_CA_BUNDLE from the environment
    # override a Session's own verify, but never an explicit per-request CA path.
    return session


#: What an SSLError says when the device's certificate was not accepted (the only TLS failure about trust).
_UNTRUSTED = ("certificate verify failed", "certificate_verify_failed", "hostname mismatch", "doesn't match")
#: What it says when the connection went away during the TLS exchange (a reset, an idle keep-alive
#: connection the device closed, a management daemon restarting): no answer, as a reset is.
_DROPPED = (
    "eof occurred in violation of protocol",
    "unexpected_eof_while_reading",
    "connection reset by peer",
    "tls/ssl connection has been closed",
    "bad record mac",
)


def _tls_failure(exc: requests.exceptions.SSLError) -> str:
    """``untrusted`` (the certificate or its name), ``dropped`` (the connection closed mid-exchange) or
    ``handshake`` (the two sides agreed on no protocol or cipher)."""
    chain = exception_chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or any(m in text for m in _UNTRUSTED):
        return "untrusted"
    dropped = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError)
    if any(isinstance(e, dropped) for e in chain) or any(m in text for m in _DROPPED):
        return "dropped"
    return "handshake"


def transport_error(
    device: str, obj: str, operation: str, exc: requests.RequestException, *, retried: bool
) -> ApplianceError:
    """The ApplianceError for a request that got no HTTP answer: the device's certificate not trusted or no
    TLS agreement (``code="TLS"``, never tried again), or no answer at all (``code=None``: the connection
    refused, reset, closed mid-TLS, or timed out: providers.common.retry tries again)."""
    failure = _tls_failure(exc) if isinstance(exc, requests.exceptions.SSLError) else "connection"
    if failure in ("untrusted", "handshake"):
        message = (
            f"TLS certificate verification failed ({connection_reason(exc)}); check loadBalancer.caBundle"
            if failure == "untrusted"
            else f"no TLS agreement with the device ({connection_reason(exc)})"
        )
        return ApplianceError(
            device=device, obj=obj, operation=operation, status=None, code="TLS", message=message
        )
    reason = "connection closed during the TLS exchange" if failure == "dropped" else connection_reason(exc)
    return ApplianceError(
        device=device,
        obj=obj,
        operation=operation,
        status=None,
        code=None,
        message=f"cannot reach the device ({reason})" + (", retried with backoff" if retried else ""),
    )
