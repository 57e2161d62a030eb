"""How the program ends when the engine stops it: quietly, since the engine has already said why.

When a resource fails (a device refusing an account at preview, say), the engine stops the deployment,
closes its resource monitor and interrupts the program. The Pulumi language executor then tries to log
the monitor's shutdown through the engine that is gone, and is interrupted while it waits for the
program's threads, so Python would print a traceback of the SDK's own frames under the error the engine
already reported, and a second interrupt during the interpreter's shutdown prints another
(docs/pulumi-engine.md#when-the-engine-stops-the-program). ``install`` makes an interrupt end the program at
once with one line, and an engine found gone end it with one line too; any other exception keeps Python's
report.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import TracebackType

#: What gRPC calls an engine that has gone away, and the SDK's message for it.
_GONE = ("StatusCode.UNAVAILABLE", "StatusCode.CANCELLED", "Resource monitor has terminated")


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def engine_stopped(exc: BaseException) -> bool:
    """The program was interrupted by the engine, or found the engine gone, and nothing else failed."""
    chain = list(_chain(exc))
    if not chain:
        return False
    interrupted = isinstance(chain[0], KeyboardInterrupt)
    gone = any(any(sign in f"{type(e).__name__} {e}" for sign in _GONE) for e in chain)
    return (interrupted or gone) and all(
        isinstance(e, KeyboardInterrupt)
        or any(s in f"{type(e).__name__} {e}" for s in _GONE)
        or type(e).__name__ in ("RunError", "_InactiveRpcError", "_MultiThreadedRendezvous")
        for e in chain
    )


def _interrupted(_signum: int, _frame: object) -> None:
    # The engine (or a person's Ctrl-C, which the CLI handles itself) stops the program: nothing of it is
    # left to finish that the engine would wait for, so end now, before a traceback or a second interrupt.
    try:
        sys.stderr.write("the engine stopped the program (the reason is in its output above)\n")
        sys.stderr.flush()
        sys.stdout.flush()
    finally:
        os._exit(1)


def install() -> None:
    signal.signal(signal.SIGINT, _interrupted)
    previous: Callable[[type[BaseException], BaseException, TracebackType | None], object] = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if engine_stopped(exc):
            print("the engine stopped the program (the reason is in its output above)", file=sys.stderr)
            return
        previous(kind, exc, tb)

    sys.excepthook = hook
