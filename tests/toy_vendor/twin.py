"""The toy load balancer's twin, laid out as every twin is: a backend that owns state and rules, its own
exception, a thin HTTP layer, wrapped by the shared TwinApp (admin interface, request log, faults).

The toy API: pools with a port and members (``address:port``), addressed by name under ``/api/pools``;
HTTP Basic authentication; JSON errors ``{"code": "...", "message": "..."}``. Rules a real box would have:
names are unique (409 ``exists``), members are IP addresses with ports (400 ``invalid``), a missing pool
is 404 ``not-found``. Changes are persisted at once (no save).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common import TwinApp, TwinBackend

USERS = {"admin": "toy-pass"}


class ToyError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ToyBackend(TwinBackend):
    vendor = "toy"

    def factory_config(self) -> dict[str, Any]:
        return {"pools": {}}

    def _pools(self) -> dict[str, dict[str, Any]]:
        pools: dict[str, dict[str, Any]] = self.running["pools"]
        return pools

    def get(self, name: str) -> dict[str, Any]:
        with self.lock:
            pool = self._pools().get(name)
            if pool is None:
                raise ToyError(404, "not-found", f"pool {name} does not exist")
            return dict(pool)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            name = body.get("name")
            if not isinstance(name, str) or not name:
                raise ToyError(400, "invalid", "name is required")
            if name in self._pools():
                raise ToyError(409, "exists", f"pool {name} already exists")
            pool = {"name": name, "port": 0, "members": [], "description": ""}
            pool.update(self._checked(body))
            self._pools()[name] = pool
            return dict(pool)

    def update(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            pool = self._pools().get(name)
            if pool is None:
                raise ToyError(404, "not-found", f"pool {name} does not exist")
            pool.update(self._checked({k: v for k, v in body.items() if k != "name"}))
            return dict(pool)

    def delete(self, name: str) -> None:
        with self.lock:
            if self._pools().pop(name, None) is None:
                raise ToyError(404, "not-found", f"pool {name} does not exist")

    @staticmethod
    def _checked(body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key == "port":
                if not isinstance(value, int) or not 1 <= value <= 65535:
                    raise ToyError(400, "invalid", f"port {value!r} is not 1-65535")
            elif key == "members":
                if not isinstance(value, list):
                    raise ToyError(400, "invalid", "members must be a list")
                for member in value:
                    address, _, port = str(member).rpartition(":")
                    try:
                        ipaddress.ip_address(address)
                    except ValueError:
                        raise ToyError(400, "invalid", f"member {member!r} is not address:port") from None
                    if not port.isdigit():
                        raise ToyError(400, "invalid", f"member {member!r} is not address:port")
            elif key not in ("name", "description"):
                raise ToyError(400, "invalid", f"unknown attribute {key}")
            out[key] = value
        return out


class ToyApi:
    """The HTTP layer: routes, authentication, JSON in and out."""

    def __init__(self, backend: ToyBackend) -> None:
        self.backend = backend

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        auth = request.authorization
        if auth is None or USERS.get(auth.username or "") != auth.password:
            return _json({"code": "auth", "message": "authentication required"}, 401)
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["api", "pools"] or len(parts) > 3:
            return _json({"code": "not-found", "message": f"no such path {request.path}"}, 404)
        name = parts[2] if len(parts) == 3 else None
        try:
            if request.method == "POST" and name is None:
                return _json(self.backend.create(_body(request)), 201)
            if name is None:
                return _json({"code": "method", "message": "use /api/pools/<name>"}, 405)
            if request.method == "GET":
                return _json(self.backend.get(name))
            if request.method == "PATCH":
                return _json(self.backend.update(name, _body(request)))
            if request.method == "DELETE":
                self.backend.delete(name)
                return Response(status=204)
        except ToyError as exc:
            return _json({"code": exc.code, "message": exc.message}, exc.status)
        return _json({"code": "method", "message": f"{request.method} not allowed"}, 405)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise ToyError(400, "invalid", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ToyError(400, "invalid", "the body must be an object")
    return body


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, mimetype="application/json")


def create_app() -> TwinApp:
    backend = ToyBackend()
    return TwinApp(backend, ToyApi(backend))
