"""Lines a dynamic provider shows in the CLI's output of ``preview`` and ``up``, as engine diagnostics.

The Python dynamic provider host leaves ``pulumi.log`` unconnected, but the CLI passes every resource
plugin the engine's address as its first argument; a ``LogRequest`` sent there is a real diagnostic (an
info line, or a warning counted in the run's summary) (docs/pulumi-engine.md#provider-messages). Without
an engine to send it to (tests calling providers directly), the line goes to standard error.
"""

from __future__ import annotations

import re
import sys
import threading

import grpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

_ENGINE: list[engine_pb2_grpc.EngineStub] = []
ENGINE_ADDRESS = re.compile(r"[\w.\-]+:\d+")
_TOLD: set[str] = set()
_TOLD_LOCK = threading.Lock()


def tell(message: str, *, warning: bool = False) -> None:
    """A line in the CLI's output of ``preview`` / ``up``: an engine diagnostic (warning or info) sent to
    the engine address the CLI passes every resource plugin as its first argument; the dynamic provider
    host leaves ``pulumi.log`` unconnected (docs/pulumi-engine.md#provider-messages). Standard error
    (which the CLI shows as plain info lines) when there is no engine to send it to."""
    severity = engine_pb2.WARNING if warning else engine_pb2.INFO
    try:
        with _TOLD_LOCK:
            if not _ENGINE:
                address = sys.argv[1] if len(sys.argv) > 1 else ""
                if not ENGINE_ADDRESS.fullmatch(address):
                    raise ConnectionError("no engine address")
                _ENGINE.append(engine_pb2_grpc.EngineStub(grpc.insecure_channel(address)))
        request = engine_pb2.LogRequest(severity=severity, message=message, urn="", ephemeral=False)
        _ENGINE[0].Log(request, timeout=10)
    except (ConnectionError, grpc.RpcError):
        print(("warning: " if warning else "") + message, file=sys.stderr, flush=True)


def warn_once(key: str, message: str) -> None:
    """An engine warning, once per ``key`` and provider process (the same change on several nodes, or a
    diff asked more than once in a run, warns once)."""
    with _TOLD_LOCK:
        if key in _TOLD:
            return
        _TOLD.add(key)
    tell(message, warning=True)
