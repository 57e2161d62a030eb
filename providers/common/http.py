"""HTTP sessions for appliance APIs: TLS verified, retries with backoff for idempotent calls only."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from providers.common.errors import ApplianceError, connection_reason

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


def transport_error(
    device: str, obj: str, operation: str, exc: requests.RequestException, *, retried: bool
) -> ApplianceError:
    """The ApplianceError for a request that got no HTTP answer: TLS verification or the connection."""
    if isinstance(exc, requests.exceptions.SSLError):
        return ApplianceError(
            device=device,
            obj=obj,
            operation=operation,
            status=None,
            code="TLS",
            message=(
                f"TLS certificate verification failed ({connection_reason(exc)}); check loadBalancer.caBundle"
            ),
        )
    return ApplianceError(
        device=device,
        obj=obj,
        operation=operation,
        status=None,
        code=None,
        message=f"cannot reach the device ({connection_reason(exc)})"
        + (", retried with backoff" if retried else ""),
    )
