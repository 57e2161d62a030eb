"""Transient failures retried inside the run, writes included, never sent twice blindly.

A 502/503/504, a reset connection or a request that timed out may or may not have reached the device. A
read is simply sent again (the HTTP session's own retries, providers.common.http). A write is not: the
caller reads the object and decides (``ApplianceObjectProvider``: landed and ours, done; absent, write
again; someone else's, refuse). This module holds what both need: which failures are transient, the
backoff between attempts, a bound on the total time per request, and the attempts' story for the error
that ends them (docs/pulumi-engine.md#retries-inside-the-run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from providers.common.errors import ApplianceError

T = TypeVar("T")

#: HTTP statuses a load balancer's management plane answers while busy or restarting.
TRANSIENT_STATUS = frozenset({502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """A failure worth trying again: a busy answer, or no answer at all (a reset, a timeout, a refused
    connection while the management daemon restarts). Never a TLS failure, a refusal or a bad request."""
    if not isinstance(exc, ApplianceError):
        return False
    if exc.status is None:
        return exc.code != "TLS"
    return exc.status in TRANSIENT_STATUS


def _what(exc: ApplianceError) -> str:
    return f"HTTP {exc.status}" if exc.status is not None else (exc.vendor_message or "no response")


@dataclass
class Attempts:
    """The attempts at one request: how many, what each failure was, and whether the budget allows
    another (``total_s`` over all attempts, ``delays`` between them, the last delay repeated)."""

    total_s: float = 60.0
    delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    sleep: Callable[[float], None] = time.sleep
    failures: list[str] = field(default_factory=list)
    _start: float = field(default_factory=time.monotonic)
    _waited: float = 0.0

    def spent(self) -> float:
        """Seconds since the first attempt (at least the backoff waited)."""
        return max(time.monotonic() - self._start, self._waited)

    def another(self, exc: ApplianceError) -> bool:
        """Record ``exc``; wait and answer True when another attempt fits the budget."""
        self.failures.append(_what(exc))
        delay = self.delays[min(len(self.failures) - 1, len(self.delays) - 1)]
        if self.spent() + delay > self.total_s:
            return False
        self.sleep(delay)
        self._waited += delay
        return True

    def story(self) -> str:
        """``3 attempts in 4 s (HTTP 503, connection reset by peer, HTTP 503)``."""
        return f"{len(self.failures)} attempts in {self.spent():.0f} s ({', '.join(self.failures)})"

    def exhausted(self, exc: ApplianceError) -> ApplianceError:
        """The error that ends the attempts: the last one, saying what was tried."""
        return ApplianceError(
            device=exc.device,
            obj=exc.obj,
            operation=exc.operation,
            status=exc.status,
            code=exc.code,
            message=f"{exc.vendor_message}; gave up after {self.story()}",
        )


def with_retries(call: Callable[[], T], attempts: Attempts | None = None) -> T:
    """``call()`` again after each transient failure while the budget allows: only for requests that are
    safe to repeat as they are (reads, logins, deletes that treat missing as done)."""
    attempts = attempts or Attempts()
    while True:
        try:
            return call()
        except ApplianceError as exc:
            if not is_transient(exc):
                raise
            if not attempts.another(exc):
                raise attempts.exhausted(exc) from None
