"""The Kemp LoadMaster twin: the classic ``/access`` API (XML) and JSON ``/accessv2`` subset aovpn-iac uses.

``create_app()`` returns the WSGI app ``emulators.common.start_twin("kemp", ...)`` serves over HTTPS.
Seeded users (twin only, never real credentials): ``bal`` (the LoadMaster's default admin, every
permission), ``automation`` (exactly the least-privilege set: Virtual Services, Real Servers, Certificate
Creation), ``auditor`` (read-only) and ``rs-operator`` (Real Servers only); ``permissions`` replaces their
permissions (``{"user": ["vs", ...]}``, emulators.kemp.roles).
Options: ``local_networks`` (the unit's interfaces, ``10.0.0.2/16`` or ``10.0.0.0/16``;
real servers outside their networks need ``non_local=1``, the global ``nonlocalrs`` and a
non-transparent VS; default: ``emulators.kemp.network.DEFAULT_INTERFACES``, which hold every real server
of the demo stacks and tests) and ``strict_port_following`` (FollowVSID needs the same RS addresses and
persistence on both services; default on).

Extra admin routes:
  POST /_twin/renumber   close VS Index gaps, as a global change does on firmware 7.2.6x
  (docs/kemp.md#indexes-and-renumbering)
  PUT  /_twin/api        {"enabled": false}: the WUI's "Enable API Interface" checkbox
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common import TwinApp
from emulators.kemp.app import KempApp
from emulators.kemp.backend import WRITE_COMMANDS, KempBackend
from emulators.kemp.exceptions import KempError

__all__ = ["KempBackend", "KempError", "create_app"]


def _is_write(method: str, path: str, environ: dict[str, Any]) -> bool:
    """Every command is a GET (or a v2 POST) on the wire: what writes is the command name."""
    return environ.get("kemp.command") in WRITE_COMMANDS


def create_app(
    data_dir: Path | str | None = None,
    users: dict[str, str] | None = None,
    local_networks: list[str] | None = None,
    strict_port_following: bool = True,
    permissions: dict[str, list[str]] | None = None,
) -> TwinApp:
    backend = KempBackend(
        data_dir=data_dir,
        users=users,
        local_networks=local_networks,
        strict_port_following=strict_port_following,
        permissions=permissions,
    )

    def extra_admin(request: Request) -> Response | None:
        sub = request.path.rstrip("/").rsplit("/", 1)[-1]
        if sub == "renumber" and request.method == "POST":
            mapping = backend.renumber()
            return Response(json.dumps({str(k): v for k, v in mapping.items()}), mimetype="application/json")
        if sub == "api" and request.method in ("PUT", "POST"):
            enabled = bool((request.get_json(force=True) or {}).get("enabled", True))
            backend.set_api_enabled(enabled)
            return Response(json.dumps({"enabled": enabled}), mimetype="application/json")
        return None

    return TwinApp(backend, KempApp(backend), is_write=_is_write, extra_admin=extra_admin)
