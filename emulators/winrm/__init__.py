"""The twin of a Windows Server RRAS node reached over WinRM/PowerShell Remoting (pypsrp).

``create_app()`` returns the WSGI app ``emulators.common.start_twin("winrm", ...)`` serves over HTTPS;
the whole endpoint is ``POST /wsman`` with HTTP Basic authentication. Seeded users (twin only, never
real credentials): ``Administrator`` / ``admin-pass`` and ``automation`` / ``automation-pass``.

Options: ``hostname`` (the node's name, used in shell owners and faults), ``os_build`` (below 17134 GCM
IKE ciphers are refused), ``restart_seconds`` (how long a service restart takes; Receive long-polls
meanwhile), ``gcm_mismatch`` ("record": accept an asymmetric ESP GCM policy and list it under the
state's warnings; "reject": refuse it like the WMI provider would, WIN32 87).

Extra admin routes:
  GET  /_twin/services          status, start count and pending restart of every service
  PUT  /_twin/vpn-sessions      {"count": 12}: simulated connected VPN clients (a restart drops them)
  POST /_twin/service-faults    {"service": "RemoteAccess", "times": 1}: the next start(s) fail
  GET  /_twin/effective         the configuration each service read when it last started
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common import TwinApp
from emulators.winrm.backend import RrasBackend
from emulators.winrm.wsman import WinRMApp

__all__ = ["RrasBackend", "WinRMApp", "create_app"]


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
) -> TwinApp:
    backend = RrasBackend(
        data_dir=data_dir,
        users=users,
        hostname=hostname,
        os_build=os_build,
        restart_seconds=restart_seconds,
        gcm_mismatch=gcm_mismatch,
    )

    def extra_admin(request: Request) -> Response | None:
        sub = request.path.rstrip("/").rsplit("/", 1)[-1]
        if sub == "services" and request.method == "GET":
            return _json(backend.runtime_state()["services"])
        if sub == "effective" and request.method == "GET":
            return _json(backend.runtime_state()["effective"])
        if sub == "vpn-sessions" and request.method in ("PUT", "POST"):
            backend.set_vpn_sessions(int((request.get_json(force=True) or {}).get("count", 0)))
            return _json({"vpn_sessions": backend.vpn_sessions, "sessions_dropped": backend.sessions_dropped})
        if sub == "vpn-sessions" and request.method == "GET":
            return _json({"vpn_sessions": backend.vpn_sessions, "sessions_dropped": backend.sessions_dropped})
        if sub == "service-faults" and request.method == "POST":
            spec = request.get_json(force=True) or {}
            backend.add_start_fault(str(spec.get("service", "")), int(spec.get("times", 1)))
            return _json({"start_faults": backend.start_faults})
        return None

    return TwinApp(backend, WinRMApp(backend), is_write=_is_write, extra_admin=extra_admin)


def _json(obj: Any) -> Response:
    return Response(json.dumps(obj, default=str), mimetype="application/json")
