"""HTTP sessions for appliance APIs: TLS verified, retries with backoff for idempotent calls only."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# Idempotent methods may be retried on transient failures (connection resets, 502/503/504).
# POST and PATCH are never retried after the request was sent: a create that reached the appliance
# but lost its answer must not be sent twice. Connection errors before sending are retried for all.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
TRANSIENT_STATUS = (502, 503, 504)


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
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    # Callers pass verify= on every request: requests lets REQUESTS_CA_BUNDLE from the environment
    # override a Session's own verify, but never an explicit per-request CA path.
    return session
