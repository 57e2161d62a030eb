"""The Citrix ADC twin: the NITRO config API subset aovpn-iac uses, with NITRO's envelope, codes and types.

``create_app()`` returns the WSGI app ``emulators.common.start_twin("citrix", ...)`` serves over HTTPS.
Seeded users (twin only): ``nsroot`` (every right), ``automation`` (the documented least-privilege command
policy ``aovpn``), ``auditor`` (built-in ``read-only``) and ``other`` (objects named ``other...`` only);
``roles`` (user -> [(policy, priority)]) replaces the seeded bindings (emulators/citrix/roles.py).
Extra admin route: ``POST /_twin/expire-sessions`` (every login session idles out now).
"""

from __future__ import annotations

import json
from pathlib import Path

from werkzeug.wrappers import Request, Response

from emulators.citrix.app import CitrixApp
from emulators.citrix.backend import CitrixBackend
from emulators.common import TwinApp

__all__ = ["CitrixBackend", "create_app"]


def create_app(
    data_dir: Path | str | None = None,
    users: dict[str, str] | None = None,
    roles: dict[str, list[tuple[str, int]]] | None = None,
) -> TwinApp:
    backend = CitrixBackend(data_dir=data_dir, users=users, roles=roles)

    def extra_admin(request: Request) -> Response | None:
        if request.path.rstrip("/").endswith("/expire-sessions") and request.method == "POST":
            return Response(json.dumps({"expired": backend.expire_sessions()}), mimetype="application/json")
        return None

    def is_write(method: str, path: str, environ: dict[str, object]) -> bool:
        return method in ("POST", "PUT", "DELETE")

    return TwinApp(backend, CitrixApp(backend), is_write=is_write, extra_admin=extra_admin)
