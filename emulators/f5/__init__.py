"""The F5 BIG-IP twin: the iControl REST subset aovpn-iac uses, with BIG-IP's shapes, errors and side effects.

``create_app()`` returns the WSGI app ``emulators.common.start_twin("f5", ...)`` serves over HTTPS.
Seeded users (twin only, never real credentials), each with its role per partition
(``emulators.f5.roles``): ``admin`` (admin, exempt from the token cap, as on BIG-IP), ``automation`` (manager
of Common, the documented least role; the one the local stack uses), ``reader`` (guest of Common) and
``tenant`` (manager of partition Tenant only). More users: ``POST /mgmt/tm/auth/user`` as admin.
Extra admin routes:
``POST /_twin/expire-tokens`` (every token expires now) and ``GET /_twin/tokens`` (count per user).
"""

from __future__ import annotations

from pathlib import Path

from werkzeug.wrappers import Request, Response

from emulators.common import TwinApp
from emulators.f5.app import F5App
from emulators.f5.backend import F5Backend

__all__ = ["F5Backend", "create_app"]


def create_app(
    data_dir: Path | str | None = None,
    users: dict[str, str] | None = None,
    device_groups: list[str] | None = None,
    partition_access: dict[str, dict[str, str]] | None = None,
) -> TwinApp:
    backend = F5Backend(
        data_dir=data_dir, users=users, device_groups=device_groups, partition_access=partition_access
    )

    def extra_admin(request: Request) -> Response | None:
        import json

        sub = request.path.rstrip("/").rsplit("/", 1)[-1]
        if sub == "expire-tokens" and request.method == "POST":
            return Response(json.dumps({"expired": backend.expire_tokens()}), mimetype="application/json")
        if sub == "tokens" and request.method == "GET":
            return Response(
                json.dumps(backend.runtime_state()["tokens_per_user"]), mimetype="application/json"
            )
        return None

    return TwinApp(backend, F5App(backend), extra_admin=extra_admin)
