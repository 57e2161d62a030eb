"""The admin interface and request accounting every twin shares.

``TwinApp`` wraps a vendor's WSGI application. Requests under ``/_twin/`` are the twin's own admin
interface and are neither logged nor subject to faults; every other request is logged (method, path,
status, whether it was a write, ``t``: [start, end] on this process's monotonic clock, the start taken
before the injected latency), counted, delayed by the injected latency and matched against the
injected faults, then against the random faults of the chaos mode.

Admin interface (JSON):
  GET    /_twin/log[?since=SEQ]  request log entries
  DELETE /_twin/log              clear the log and the counters
  GET    /_twin/counters         totals by method, status, write/read and "METHOD path"
  PUT    /_twin/latency          {"ms": 50}: added before every request
  POST   /_twin/faults           {"method", "path" (regex), "action": "status"|"reset"|"timeout"|"lost",
                                  "status", "body", "content_type", "times" (default 1), "skip"}
                                 ("lost": the request is carried out, then the connection is reset
                                 instead of answering: a write whose answer never arrived)
  DELETE /_twin/faults           remove every fault
  PUT    /_twin/chaos            {"rate": 0.2, "seed": N, "actions": ["status", "reset", "timeout", "lost"],
                                  "statuses": [502, 503], "timeout_s": 2}: from now on each request that
                                 no explicit fault takes is, with probability ``rate`` (drawn from a
                                 random generator seeded with ``seed``), answered with one of ``actions``
                                 picked at random: a 502/503 (an HTML error page, as the front web server
                                 sends it), a reset, a timeout (``timeout_s`` without an answer, then a
                                 reset) or "lost" (carried out, then reset); logged with "fault" and
                                 "chaos": true
  GET    /_twin/chaos            the chaos settings and how many requests it took; {} when off
  DELETE /_twin/chaos            chaos off
  POST   /_twin/reboot           back to the saved configuration, sessions dropped
  POST   /_twin/factory-reset    back to factory defaults (tests only)
  GET    /_twin/state            running and saved configuration, runtime state
A vendor app may add its own admin routes with ``extra_admin``.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common.backend import TwinBackend

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_PREFIX = "/_twin"


@dataclass
class Fault:
    id: int
    action: str
    method: str | None = None
    path: str | None = None
    status: int = 503
    body: Any = None
    content_type: str = "application/json"
    times: int = 1
    skip: int = 0
    seconds: float = 30.0
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self._pattern is not None and not self._pattern.search(path):
            return False
        return True

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "times": self.times,
            "skip": self.skip,
            "hits": self.hits,
        }


#: The fault actions a chaos mode may pick from.
CHAOS_ACTIONS = ("status", "reset", "timeout", "lost")


@dataclass
class Chaos:
    """Seeded random faults: a fraction ``rate`` of the requests, each with an action drawn at random."""

    rate: float
    seed: int
    actions: tuple[str, ...] = CHAOS_ACTIONS
    statuses: tuple[int, ...] = (502, 503)
    timeout_s: float = 2.0
    hits: int = 0
    seen: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Chaos:
        rate = float(spec.get("rate", 0.2))
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"chaos rate {rate} is not between 0 and 1")
        actions = tuple(spec.get("actions") or CHAOS_ACTIONS)
        unknown = [a for a in actions if a not in CHAOS_ACTIONS]
        if unknown:
            raise ValueError(f"unknown chaos actions {unknown}: use {', '.join(CHAOS_ACTIONS)}")
        statuses = tuple(int(s) for s in spec.get("statuses") or (502, 503))
        if any(not 400 <= s <= 599 for s in statuses):
            raise ValueError(f"chaos statuses {list(statuses)} must be HTTP error codes (400-599)")
        seed = int(spec.get("seed", 0))
        chaos = cls(
            rate=rate,
            seed=seed,
            actions=actions,
            statuses=statuses,
            timeout_s=min(max(float(spec.get("timeout_s", 2.0)), 0.0), 120.0),
        )
        chaos._random.seed(seed)
        return chaos

    def draw(self) -> Fault | None:
        """The fault for the next request, or None (the caller holds the app's lock)."""
        self.seen += 1
        if self._random.random() >= self.rate:
            return None
        self.hits += 1
        action = self._random.choice(self.actions)
        status = self._random.choice(self.statuses)
        return Fault(
            id=0,
            action=action,
            status=status,
            body=_error_page(status),
            content_type="text/html; charset=iso-8859-1",
            seconds=self.timeout_s,
        )

    def public(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seed": self.seed,
            "actions": list(self.actions),
            "statuses": list(self.statuses),
            "timeout_s": self.timeout_s,
            "seen": self.seen,
            "hits": self.hits,
        }


class TwinApp:
    """Wraps a vendor WSGI app with the shared admin interface, logging, latency and faults.

    ``keep_alive``: serve persistent HTTP/1.1 connections (emulators.common.server); off by default.
    """

    keep_alive = False

    def __init__(
        self,
        backend: TwinBackend,
        vendor_app: WSGIApp,
        *,
        is_write: Callable[[str, str, dict[str, Any]], bool] | None = None,
        extra_admin: Callable[[Request], Response | None] | None = None,
    ) -> None:
        self.backend = backend
        self.vendor_app = vendor_app
        self.is_write = is_write or (lambda method, path, environ: method in WRITE_METHODS)
        self.extra_admin = extra_admin
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._fault_ids = itertools.count(1)
        self.log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.latency_ms = 0.0
        self.chaos: Chaos | None = None

    # -- WSGI ------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self._admin(environ, start_response)
        return self._serve(environ, start_response)

    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        started = time.monotonic()
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        environ["twin.log"] = {}
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "ts": time.time(),
            "t": [started, started],
            "client_port": _int(environ.get("REMOTE_PORT")),
        }
        fault = self._take_fault(method, path)
        if fault is not None and fault.id == 0:
            entry["chaos"] = True
        if fault is not None and fault.action == "lost":
            entry["fault"] = fault.action
            self._run_vendor(environ, lambda *_args, **_kw: None, method, path, entry)
            _reset_connection(environ)
            raise ConnectionResetError("twin: injected connection reset after the request was carried out")
        if fault is not None:
            entry["fault"] = fault.action
            if fault.action in ("reset", "timeout"):
                if fault.action == "timeout":
                    time.sleep(fault.seconds)
                entry["status"] = 0
                entry["write"] = False
                self._record(entry)
                _reset_connection(environ)
                raise ConnectionResetError("twin: injected connection reset")
            body = fault.body
            payload = (
                json.dumps(body).encode()
                if not isinstance(body, str | bytes)
                else (body.encode() if isinstance(body, str) else body)
            )
            if body is None:
                payload = b""
            start_response(
                f"{fault.status} {_reason(fault.status)}",
                [("Content-Type", fault.content_type), ("Content-Length", str(len(payload)))],
            )
            entry["status"] = fault.status
            entry["write"] = False
            self._record(entry)
            return [payload]

        return self._run_vendor(environ, start_response, method, path, entry)

    def _run_vendor(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        method: str,
        path: str,
        entry: dict[str, Any],
    ) -> list[bytes]:
        status_holder: dict[str, int] = {}

        def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            code_text, _, reason = status.partition(" ")
            code = int(code_text)
            status_holder["status"] = code
            # The appliances answer with the standard reason phrase ("409 Conflict"); werkzeug spells it
            # upper-case ("409 CONFLICT"), and clients that switch on the exact string would be misled.
            # A phrase of the vendor's own (BIG-IP httpd's "F5 Authorization Required") is kept.
            if reason == _reason(code).upper():
                status = f"{code} {_reason(code)}"
            return start_response(status, headers, exc_info)

        try:
            result = self.vendor_app(environ, _start_response)
            body_chunks = list(result)
            close = getattr(result, "close", None)
            if close:
                close()
        finally:
            extra = environ.get("twin.log") or {}
            entry["status"] = status_holder.get("status", 500)
            write = extra.pop("write", None)
            if write is None:
                write = self.is_write(method, path, environ) and entry["status"] < 400
            entry["write"] = bool(write)
            entry.update(extra)
            self._record(entry)
        return body_chunks

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if "t" in entry:
                entry["t"][1] = time.monotonic()
            entry["seq"] = next(self._seq)
            self.log.append(entry)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        """The explicit fault this request matches, else the chaos mode's draw (its fault has id 0)."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.hits += 1
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
            if self.chaos is not None:
                return self.chaos.draw()
        return None

    # -- admin -----------------------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        with self._lock:
            entries = list(self.log)
        return {
            "total": len(entries),
            "writes": sum(1 for e in entries if e.get("write")),
            "reads": sum(1 for e in entries if not e.get("write")),
            "by_method": dict(Counter(e["method"] for e in entries)),
            "by_status": {str(k): v for k, v in Counter(e.get("status", 0) for e in entries).items()},
            "by_request": dict(Counter(f"{e['method']} {e['path']}" for e in entries)),
        }

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        action = spec.get("action", "status")
        if action not in ("status", "reset", "timeout", "lost"):
            raise ValueError(f"unknown fault action {action!r}: use status, reset, timeout or lost")
        with self._lock:
            fault = Fault(
                id=next(self._fault_ids),
                action=action,
                method=spec.get("method"),
                path=spec.get("path"),
                status=int(spec.get("status", 503)),
                body=spec.get("body"),
                content_type=spec.get("content_type", "application/json"),
                times=int(spec.get("times", 1)),
                skip=int(spec.get("skip", 0)),
                seconds=min(float(spec.get("seconds", 30.0)), 120.0),
            )
            if fault.path:
                fault._pattern = re.compile(fault.path)
            self.faults.append(fault)
        return fault

    def _admin(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._admin_response(request)
        return response(environ, start_response)

    def _admin_response(self, request: Request) -> Response:
        sub = request.path[len(ADMIN_PREFIX) :].strip("/")
        method = request.method.upper()
        try:
            if self.extra_admin is not None:
                custom = self.extra_admin(request)
                if custom is not None:
                    return custom
            if sub == "log" and method == "GET":
                since = int(request.args.get("since", 0))
                with self._lock:
                    entries = [e for e in self.log if e["seq"] > since]
                return _json({"entries": entries})
            if sub == "log" and method == "DELETE":
                with self._lock:
                    self.log.clear()
                return _json({"cleared": True})
            if sub == "counters" and method == "GET":
                return _json(self.counters())
            if sub == "latency" and method in ("PUT", "POST"):
                self.latency_ms = float((request.get_json(force=True) or {}).get("ms", 0))
                return _json({"ms": self.latency_ms})
            if sub == "latency" and method == "GET":
                return _json({"ms": self.latency_ms})
            if sub == "faults" and method == "POST":
                fault = self.add_fault(request.get_json(force=True) or {})
                return _json(fault.public())
            if sub == "faults" and method == "GET":
                with self._lock:
                    return _json({"faults": [f.public() for f in self.faults]})
            if sub == "faults" and method == "DELETE":
                with self._lock:
                    self.faults.clear()
                return _json({"cleared": True})
            if sub == "chaos" and method in ("PUT", "POST"):
                chaos = Chaos.from_spec(request.get_json(force=True) or {})
                with self._lock:
                    self.chaos = chaos
                return _json(chaos.public())
            if sub == "chaos" and method == "GET":
                with self._lock:
                    return _json(self.chaos.public() if self.chaos is not None else {})
            if sub == "chaos" and method == "DELETE":
                with self._lock:
                    self.chaos = None
                return _json({"cleared": True})
            if sub == "reboot" and method == "POST":
                self.backend.reboot()
                return _json({"rebooted": True, "boot_count": self.backend.boot_count})
            if sub == "factory-reset" and method == "POST":
                self.backend.factory_reset()
                return _json({"reset": True})
            if sub == "state" and method == "GET":
                return _json(self.backend.dump_state())
        except (ValueError, re.error) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"error": f"no admin route {method} /{sub}"}, 404)


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj, default=str), status=status, mimetype="application/json")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error_page(status: int) -> str:
    """The HTML error page a front web server (Apache httpd on BIG-IP and ADC) sends for ``status``."""
    reason = _reason(status)
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n'
        f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>\n"
    )


def _reset_connection(environ: dict[str, Any]) -> None:
    """Abort the TCP connection with an RST, as a flaky appliance or middlebox does."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        # SO_LINGER with a zero timeout makes the server's close() send RST; the request handler
        # (emulators.common.server) closes the connection once the app raises ConnectionResetError.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
