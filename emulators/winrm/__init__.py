"""The twin of Windows Server RRAS nodes reached over WinRM/PowerShell Remoting (pypsrp).

``create_app()`` returns the WSGI app ``emulators.common.start_twin("winrm", ...)`` serves, over HTTPS
(``tls=<TLSMaterial>``) or plain HTTP (``tls=None``), with persistent HTTP/1.1 connections. Seeded users
(twin only, never real credentials): ``Administrator`` / ``admin-pass`` and ``automation`` /
``automation-pass``; as local accounts they may be written bare, ``.\\user`` or ``<HOSTNAME>\\user``.

Endpoints (``emulators.winrm.listener``): ``POST /wsman`` is the first (or only) node, ``POST
/<hostname>/wsman`` each node (pypsrp ``WSMan(..., path="rras2/wsman")``). Authentication: Negotiate/NTLM
(per TCP connection, with WinRM message encryption ``multipart/encrypted``) and, with ``allow_basic``, Basic.
Policy as a Windows WinRM service with its defaults (Auth/Basic=false, AllowUnencrypted=false): Basic gets
401 offering only Negotiate and Kerberos, and over plain HTTP an unsealed SOAP body gets HTTP 500; over
HTTPS NTLM works sealed or not (docs/rras.md#transport-and-message-encryption).

Options:
  ``hostname``          the node's name (one node), used in shell owners, faults and the NTLM domain
  ``nodes``             ["rras1", "rras2", ...]: several nodes in one twin, each with its own state,
                        registry, services and log; with ``data_dir`` each keeps ``<data_dir>/<hostname>/``
  ``users``             {"user": "password"} instead of the seeded users (``:`` not allowed for NTLM)
  ``allow_basic``       accept Basic (default False, as Windows; over HTTP only with ``allow_unencrypted``)
  ``allow_unencrypted`` accept unsealed messages and Basic over plain HTTP (default False, as Windows)
  ``shell_idle_timeout`` seconds a shell may sit idle when its Create asks for no IdleTimeOut (default
                        7200, Windows' IdleTimeoutMs; 60 at least); docs/rras.md#idle-shells
  ``os_build``          below 17134 GCM IKE ciphers are refused
  ``restart_seconds``   how long a service restart takes; Receive long-polls meanwhile
  ``gcm_mismatch``      "record": accept an asymmetric ESP GCM policy and list it under the state's
                        warnings; "reject": refuse it like the WMI provider would, WIN32 87
  ``readback_form``     how Get-VpnServerConfiguration and Get-Service send enum values: "uint32" (default:
                        the MOF's uint32; services' Status as strings, as over remoting) or "enum" (enum
                        objects whose ToString is the name); GET|PUT /_twin/readback-form changes it
  ``data_dir``          the saved configuration survives a twin restart; the NTLM credential file
                        (``ntlm-users.txt``, mode 0600) is written there too (else in a temporary file)
  ``jea_configuration`` "AovpnRras": the nodes also serve that JEA session configuration, built from
                        ``<jea_dir>/<name>.pssc`` and its role capabilities (emulators/winrm/jea.py);
                        ``jea_dir`` the folder (default: the project's jea/), ``jea_nodes`` the nodes that
                        serve it (default: all), ``jea_users`` the users its RoleDefinitions groups hold
                        (default: all). Microsoft.PowerShell is served as ever.

Admin routes (besides the shared ones of ``emulators.common.wsgi``: /_twin/log, /counters, /latency,
/faults, /reboot, /factory-reset, /state - which address the first node; every log entry of a WSMan
request carries "node", and "auth", "user", "encrypted", "unreachable" where they apply):
  GET  /_twin/services          status, start count and pending restart of every service (first node)
  POST /_twin/clock             {"advance": 7201}: time passes for every node's idle shells (no sleeping);
                                answers the ids of the shells it closed
  PUT  /_twin/vpn-sessions      {"count": 12}: simulated connected VPN clients (a restart drops them);
                                {"count": 12, "duration": 2.5} or {"count": 12, "spread": [0.5, 30]} or
                                {"durations": [0.5, null]}: clients that disconnect by themselves after
                                that many seconds (null: never); GET: {"vpn_sessions", "sessions_dropped"}
  POST /_twin/service-faults    {"service": "RemoteAccess", "times": 1}: the next start(s) fail
  GET  /_twin/effective         the configuration each service read when it last started
  GET|PUT /_twin/readback-form  {"form": "uint32"|"enum"}: how enum values are sent (see the option)
  GET|PUT /_twin/jea            the node's JEA configurations; {"configuration": "AovpnRras", "hide":
                                ["Restart-Service"]} narrows one, {"reset": true} restores it (jea.py)
  GET  /_twin/nodes                          [{"hostname", "path", "default", "reachable"}]
  GET  /_twin/nodes/<hostname>/state         that node's running/saved configuration and runtime state
  GET  /_twin/nodes/<hostname>/log[?since=N] the log entries of requests to that node
  DELETE /_twin/nodes/<hostname>/log         forget them
  GET  /_twin/nodes/<hostname>/services      (and /effective, GET|PUT /vpn-sessions, POST /service-faults)
  POST /_twin/nodes/<hostname>/reboot        (and /factory-reset) that node only
  PUT  /_twin/nodes/<hostname>/reachable     {"reachable": false}: requests to that node's path get their
                                             TCP connection reset, as with a host that is down or cut off
                                             (pypsrp: requests.exceptions.ConnectionError); GET reads it
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common import TwinApp
from emulators.winrm import jea
from emulators.winrm.backend import RrasBackend
from emulators.winrm.hardening import admin_route as hardening_admin_route
from emulators.winrm.listener import WinRMListener
from emulators.winrm.tls import admin_route as tls_admin_route
from emulators.winrm.wsman import DEFAULT_IDLE_SECONDS, TwinClock, WinRMApp

__all__ = ["RrasBackend", "WinRMApp", "WinRMListener", "create_app"]


def _is_write(method: str, path: str, environ: dict[str, Any]) -> bool:
    """Every request is a POST: what writes is the cmdlet a pipeline invokes (set by the WSMan layer)."""
    return bool((environ.get("twin.log") or {}).get("write"))


def create_app(
    data_dir: Path | str | None = None,
    users: dict[str, str] | None = None,
    hostname: str = "rras1",
    os_build: int = 20348,
    restart_seconds: float = 0.0,
    gcm_mismatch: str = "record",
    readback_form: str = "uint32",
    nodes: list[str] | None = None,
    allow_basic: bool = False,
    allow_unencrypted: bool = False,
    shell_idle_timeout: float = DEFAULT_IDLE_SECONDS,
    jea_configuration: str | None = None,
    jea_dir: Path | str | None = None,
    jea_nodes: list[str] | None = None,
    jea_users: list[str] | None = None,
) -> TwinApp:
    names = [str(n) for n in nodes] if nodes else [hostname]
    if len({n.lower() for n in names}) != len(names) or any(not n or "/" in n for n in names):
        raise ValueError(f"node hostnames must be unique, non-empty and without '/': {names}")
    backends = [
        RrasBackend(
            # One node keeps the data_dir itself (as before); several get one subdirectory each.
            data_dir=(Path(data_dir) / name if nodes else data_dir) if data_dir else None,
            users=users,
            hostname=name,
            os_build=os_build,
            restart_seconds=restart_seconds,
            gcm_mismatch=gcm_mismatch,
            readback_form=readback_form,
        )
        for name in names
    ]
    if jea_configuration:  # each node its own copy, so that one can be narrowed alone
        folder = Path(jea_dir) if jea_dir else Path(__file__).resolve().parents[2] / "jea"
        for b in backends:
            if jea_nodes is None or b.hostname.lower() in {n.lower() for n in jea_nodes}:
                jea.serve(b, jea.SessionConfiguration.load(folder, jea_configuration, jea_users))
    clock = TwinClock()
    apps = [WinRMApp(b, idle_timeout=float(shell_idle_timeout), clock=clock) for b in backends]
    listener = WinRMListener(apps, allow_basic=allow_basic, allow_unencrypted=allow_unencrypted)
    by_name = {b.hostname.lower(): b for b in backends}
    holder: dict[str, TwinApp] = {}

    def node_admin(request: Request, host: str, sub: str) -> Response:
        backend = by_name.get(host.lower())
        if backend is None:
            return _json({"error": f"no node {host!r}; nodes: {names}"}, 404)
        method = request.method.upper()
        if sub == "state" and method == "GET":
            return _json(backend.dump_state())
        if sub == "log" and method == "GET":
            since = int(request.args.get("since", 0))
            return _json({"entries": _node_log(holder["app"], backend.hostname, since)})
        if sub == "log" and method == "DELETE":
            twin = holder["app"]
            with twin._lock:
                twin.log[:] = [e for e in twin.log if e.get("node") != backend.hostname]
            return _json({"cleared": True})
        if sub == "reachable" and method in ("PUT", "POST"):
            reachable = bool((request.get_json(force=True) or {}).get("reachable", True))
            listener.set_reachable(backend.hostname, reachable)
            return _json({"node": backend.hostname, "reachable": reachable})
        if sub == "reachable" and method == "GET":
            return _json({"node": backend.hostname, "reachable": listener.is_reachable(backend.hostname)})
        if sub == "reboot" and method == "POST":
            backend.reboot()
            return _json({"rebooted": True, "boot_count": backend.boot_count})
        if sub == "factory-reset" and method == "POST":
            backend.factory_reset()
            return _json({"reset": True})
        return _backend_admin(request, backend, sub) or _json(
            {"error": f"no admin route {method} /nodes/{host}/{sub}"}, 404
        )

    def extra_admin(request: Request) -> Response | None:
        parts = [p for p in request.path.split("/") if p]
        while parts[:1] == ["_twin"]:  # "/_twin/nodes/..." (and "/_twin//_twin/..." from _call("/_twin/..."))
            parts = parts[1:]
        if parts == ["clock"] and request.method in ("POST", "PUT"):
            clock.advance(float((request.get_json(force=True) or {}).get("advance", 0)))
            return _json({"closed_shells": [i for a in apps for i in a.expire_idle_shells()]})
        if parts[:1] == ["nodes"]:
            if len(parts) == 1 and request.method == "GET":
                return _json(
                    {
                        "nodes": [
                            {
                                "hostname": b.hostname,
                                "path": f"/{b.hostname}/wsman",
                                "default": i == 0,
                                "reachable": listener.is_reachable(b.hostname),
                            }
                            for i, b in enumerate(backends)
                        ]
                    }
                )
            if len(parts) == 3:
                return node_admin(request, parts[1], parts[2])
            return _json({"error": f"no admin route {request.method} {request.path}"}, 404)
        # As before: the last path segment names the route.
        return _backend_admin(request, backends[0], request.path.rstrip("/").rsplit("/", 1)[-1])

    app = TwinApp(backends[0], listener, is_write=_is_write, extra_admin=extra_admin)
    app.keep_alive = True  # NTLM/Negotiate authenticates the TCP connection
    holder["app"] = app
    return app


def _backend_admin(request: Request, backend: RrasBackend, sub: str) -> Response | None:
    """The RRAS-specific routes of one node (``sub`` is what follows ``/_twin/`` or ``/_twin/nodes/<h>/``)."""
    method = request.method.upper()
    if sub == "services" and method == "GET":
        return _json(backend.runtime_state()["services"])
    if sub == "effective" and method == "GET":
        return _json(backend.runtime_state()["effective"])
    if sub == "vpn-sessions" and method in ("PUT", "POST"):
        backend.set_vpn_clients(request.get_json(force=True) or {})  # emulators/winrm/sessions.py
        return _json({"vpn_sessions": backend.vpn_sessions, "sessions_dropped": backend.sessions_dropped})
    if sub == "vpn-sessions" and method == "GET":
        return _json({"vpn_sessions": backend.vpn_sessions, "sessions_dropped": backend.sessions_dropped})
    if sub == "readback-form" and method in ("PUT", "POST"):
        form = str((request.get_json(force=True) or {}).get("form", ""))
        if form not in ("uint32", "enum"):
            return _json({"error": f"form must be 'uint32' or 'enum', not {form!r}"}, 400)
        backend.readback_form = form
    if sub == "readback-form" and method in ("GET", "PUT", "POST"):
        return _json({"node": backend.hostname, "form": backend.readback_form})
    # /_twin/sstp-certificate, tls, root-certificates, jea
    for route in (tls_admin_route, hardening_admin_route, jea.admin_route):
        answer = route(request, backend, sub)
        if answer is not None:
            return answer
    if sub == "service-faults" and method == "POST":
        spec = request.get_json(force=True) or {}
        backend.add_start_fault(str(spec.get("service", "")), int(spec.get("times", 1)))
        return _json({"start_faults": backend.start_faults})
    return None


def _node_log(app: TwinApp, hostname: str, since: int) -> list[dict[str, Any]]:
    with app._lock:
        return [e for e in app.log if e["seq"] > since and e.get("node") == hostname]


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj, default=str), status=status, mimetype="application/json")
