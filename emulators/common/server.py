"""Run a twin: a threaded HTTPS server in this process (tests) or in its own (``python -m emulators``)."""

from __future__ import annotations

import importlib
import logging
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from emulators.common.tls import TLSMaterial
from emulators.common.wsgi import TwinApp


class _QuietHandler(WSGIRequestHandler):
    """HTTP/1.1 without an access log (werkzeug answers every request with ``Connection: close``)."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        # An injected reset: never keep the connection alive for a further request.
        self.close_connection = True

    def log_error(self, format: str, *args: Any) -> None:
        logging.getLogger("emulators").debug(format, *args)


class _KeepAliveHandler(_QuietHandler):
    """Persistent HTTP/1.1 connections, for twins whose protocol depends on them (``TwinApp.keep_alive``).

    WinRM's NTLM/Negotiate authentication belongs to the TCP connection, so the connection must outlive a
    request, which werkzeug's own handler never allows. The response is buffered and always sent with a
    Content-Length; whatever the application left unread of the request body is drained before the next
    request line is read. Idle connections close after ``timeout`` seconds (HTTP.sys' default idle timeout
    is 120 s).
    """

    timeout = 120

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        raw_input = environ["wsgi.input"]
        body_stream: Any
        if environ.get("wsgi.input_terminated"):
            body_stream = raw_input  # chunked: read to its end below
        else:
            body_stream = LimitedStream(raw_input, int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = body_stream
        started: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"], started["headers"] = status, headers
            return written.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks = [*written, *result]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError) as exc:
            self.connection_dropped(exc, environ)
            return
        except Exception:  # an application bug: answer 500 and drop the connection
            logging.getLogger("emulators").exception("twin application error")
            started = {"status": "500 Internal Server Error", "headers": []}
            chunks = []
            self.close_connection = True
        try:
            while body_stream.read(65536):
                pass
        except (OSError, ValueError):
            self.close_connection = True
        body = b"".join(chunks)
        code, _, reason = str(started.get("status", "500 Internal Server Error")).partition(" ")
        self.send_response_only(int(code), reason or None)
        headers = [
            (name, value)
            for name, value in started.get("headers", [])
            if name.lower() not in ("content-length", "connection", "transfer-encoding")
        ]
        if not any(name.lower() == "server" for name, _ in headers):
            self.send_header("Server", self.version_string())
        self.send_header("Date", self.date_time_string())
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()


@dataclass
class RunningTwin:
    """A twin serving in a background thread of this process."""

    vendor: str
    app: TwinApp
    server: BaseWSGIServer
    thread: threading.Thread
    tls: TLSMaterial | None

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def backend(self) -> Any:
        return self.app.backend

    def admin(self) -> TwinAdminClient:
        return TwinAdminClient(self.url, self.tls.ca_path if self.tls else None)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def build_app(vendor: str, **options: Any) -> TwinApp:
    """Import ``emulators.<vendor>`` and build its app (each vendor package exports ``create_app``)."""
    module = importlib.import_module(f"emulators.{vendor}")
    app: TwinApp = module.create_app(**options)
    return app


def start_twin(
    vendor: str,
    *,
    tls: TLSMaterial | None,
    host: str = "127.0.0.1",
    port: int = 0,
    app: TwinApp | None = None,
    **options: Any,
) -> RunningTwin:
    """Start a twin in a daemon thread and return once it accepts connections.

    ``tls=None`` serves plain HTTP. A twin app with ``keep_alive`` set keeps HTTP/1.1 connections open.
    """
    twin_app = app or build_app(vendor, **options)
    ssl_context: ssl.SSLContext | None = tls.server_context() if tls else None
    handler = _KeepAliveHandler if getattr(twin_app, "keep_alive", False) else _QuietHandler
    server = make_server(
        host,
        port,
        twin_app,
        threaded=True,
        request_handler=handler,
        ssl_context=ssl_context,
    )
    thread = threading.Thread(target=server.serve_forever, name=f"twin-{vendor}", daemon=True)
    thread.start()
    return RunningTwin(vendor=vendor, app=twin_app, server=server, thread=thread, tls=tls)


class TwinAdminClient:
    """A tiny client of the admin interface (stdlib only, so tests and benchmarks share it)."""

    def __init__(self, base_url: str, ca_path: Path | str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()
        # The twin's CA, never "verify=False". Passed per request: requests lets REQUESTS_CA_BUNDLE
        # from the environment override a Session's own ``verify``.
        self._verify: str | bool = str(ca_path) if ca_path else True

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self._session.request(
            method, f"{self.base_url}/_twin/{path}", json=body, timeout=30, verify=self._verify
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self._call("GET", f"log?since={since}")["entries"]
        return entries

    def clear_log(self) -> None:
        self._call("DELETE", "log")

    def counters(self) -> dict[str, Any]:
        counters: dict[str, Any] = self._call("GET", "counters")
        return counters

    def writes(self) -> list[dict[str, Any]]:
        return [e for e in self.log() if e.get("write")]

    def set_latency(self, ms: float) -> None:
        self._call("PUT", "latency", {"ms": ms})

    @contextmanager
    def latency(self, ms: float) -> Iterator[None]:
        """``ms`` before every request for the block, none again after it (whatever the block raised)."""
        self.set_latency(ms)
        try:
            yield
        finally:
            self.set_latency(0)

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        fault: dict[str, Any] = self._call("POST", "faults", spec)
        return fault

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def reboot(self) -> None:
        self._call("POST", "reboot")

    def factory_reset(self) -> None:
        self._call("POST", "factory-reset")

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self._call("GET", "state")
        return state
