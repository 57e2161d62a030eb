"""The Citrix ADC twin's HTTP layer: NITRO routes, authentication and the response envelope.

Every answer is ``{ "errorcode": 0, "message": "Done", "severity": "NONE"[, "<resource>": [...]] }``
with NITRO's inner spacing (trap 4); GETs answer arrays even for one object, the bare envelope when
nothing matches (trap 1), objects for singletons (nsmode, nsconfig; trap 2). Adds answer 201, updates,
deletes, binds and actions 200, and appliance refusals 599 "Netscaler specific error" (trap 5).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from emulators.citrix.backend import BINDINGS, KINDS, CitrixBackend, matches, parse_args
from emulators.citrix.exceptions import NitroError

PREFIX = "/nitro/v1/config"
REASONS = {599: "Netscaler specific error", 209: "X-NITRO-WARNING", 207: "Multi Status"}


def envelope(
    status: int = 200, payload: dict[str, Any] | None = None, error: NitroError | None = None
) -> Response:
    head: dict[str, Any] = (
        {"errorcode": error.errorcode, "message": error.message, "severity": "ERROR"}
        if error
        else {"errorcode": 0, "message": "Done", "severity": "NONE"}
    )
    head.update(payload or {})
    text = json.dumps(head)
    body = "{ " + text[1:-1] + " }"  # NITRO pads its braces
    response = Response(body, status=status, content_type="application/json; charset=utf-8")
    if status in REASONS:
        response.status = f"{status} {REASONS[status]}"
    return response


class CitrixApp:
    def __init__(self, backend: CitrixBackend) -> None:
        self.backend = backend

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        log = environ.setdefault("twin.log", {})
        try:
            response = self.dispatch(request, log)
        except NitroError as exc:
            log["write"] = False
            response = envelope(exc.status, error=exc)
        return response(environ, start_response)

    # -- authentication --------------------------------------------------------------------------------
    def _sessionid(self, request: Request) -> str | None:
        for name in ("NITRO_AUTH_TOKEN", "sessionid"):
            value = request.cookies.get(name)
            if value:
                return unquote(value)
        legacy = request.headers.get("Set-Cookie", "")  # the Go SDK sends its token this way
        if legacy.startswith("NITRO_AUTH_TOKEN="):
            return unquote(legacy.split("=", 1)[1].split(";", 1)[0])
        return None

    def _authenticate(self, request: Request) -> str:
        user = request.headers.get("X-NITRO-USER")
        if user is not None:
            if not self.backend.check_password(user, request.headers.get("X-NITRO-PASS", "")):
                raise NitroError(401, 354, "Invalid username or password")
            return user
        sessionid = self._sessionid(request)
        if sessionid is None:
            raise NitroError(401, 1027, "Not logged in or connection timed out")  # which code: [uncertain]
        return self.backend.session_user(sessionid)

    # -- routing -----------------------------------------------------------------------------------------
    def dispatch(self, request: Request, log: dict[str, Any]) -> Response:
        path = "/" + "/".join(p for p in request.path.split("/") if p)  # tolerate // (trap 8)
        method = request.method.upper()
        if not path.startswith(PREFIX + "/"):
            raise NitroError(404, 1240, "Invalid nitro action or operation")
        parts = path[len(PREFIX) + 1 :].split("/")
        resource, name = parts[0], (unquote(parts[1]) if len(parts) > 1 else None)
        query = request.args
        body = self._body(request) if method in ("POST", "PUT") else None
        if resource == "login" and method == "POST":
            log["write"] = False
            sessionid = self.backend.login(body)
            response = envelope(201, {"sessionid": sessionid})
            response.set_cookie("NITRO_AUTH_TOKEN", sessionid, path="/nitro/v1", httponly=True, secure=True)
            return response
        if resource == "logout" and method == "POST":
            log["write"] = False
            self.backend.logout(self._sessionid(request))
            return envelope(200)
        self._authenticate(request)
        action = query.get("action")
        payload = (body or {}).get(resource) if isinstance(body, dict) else None
        if method == "GET":
            log["write"] = False
            return self._get(resource, name, query)
        if resource == "nsconfig" and method == "POST" and action == "save":
            log["write"] = False  # persisting is not a configuration change
            self.backend.save()
            return envelope(200)
        if resource == "nsmode" and method == "POST" and action in ("enable", "disable"):
            self.backend.set_modes(payload, action == "enable")
            return envelope(200)
        if resource in ("servicegroup", "server", "lbvserver") and action in ("enable", "disable"):
            if resource == "servicegroup":
                self.backend.set_member_state(payload or {}, action == "enable")
            return envelope(200)
        if resource in BINDINGS:
            if method in ("PUT", "POST") and name is None:
                for item in payload if isinstance(payload, list) else [payload]:
                    self.backend.bind(resource, item)
                return envelope(200 if method == "PUT" else 201)
            if method == "DELETE" and name is not None:
                self.backend.unbind(resource, name, parse_args(unquote(query.get("args", ""))))
                return envelope(200)
        if resource in KINDS:
            if method == "POST" and name is None and action is None:
                for item in payload if isinstance(payload, list) else [payload]:
                    self.backend.add(resource, item, idempotent=query.get("idempotent") == "yes")
                return envelope(201)
            if method == "PUT":
                item = payload if isinstance(payload, dict) else {}
                target = name or item.get(KINDS[resource].key)
                if target is None:
                    raise NitroError(400, 1095, f"Required argument missing [{KINDS[resource].key}]")
                self.backend.update(resource, str(target), item)
                return envelope(200)
            if method == "DELETE" and name is not None:
                self.backend.delete(resource, name, parse_args(unquote(query.get("args", ""))))
                return envelope(200)
        raise NitroError(
            405 if resource in KINDS or resource in BINDINGS else 404,
            1240,
            "Invalid nitro action or operation",
        )

    def _get(self, resource: str, name: str | None, query: Any) -> Response:
        if resource == "nsmode":
            return envelope(200, {"nsmode": self.backend.modes()})
        if resource == "nsconfig":
            return envelope(200, {"nsconfig": self.backend.nsconfig()})
        if resource in BINDINGS:
            if name is None:
                raise NitroError(400, 1095, "Required argument missing [name]")
            entries = self.backend.get_binding(resource, name)
        elif resource in KINDS:
            entries = self.backend.get(resource, name, parse_args(unquote(query.get("args", ""))))
        else:
            raise NitroError(404, 1240, "Invalid nitro action or operation")
        if "filter" in query:
            wanted = parse_args(unquote(query["filter"]))
            entries = [e for e in entries if matches(e, wanted)]
        if query.get("count") == "yes":
            return envelope(200, {resource: [{"__count": len(entries)}]})
        if "attrs" in query:
            keep = set(query["attrs"].split(","))
            entries = [{k: v for k, v in e.items() if k in keep} for e in entries]
        return envelope(200, {resource: entries} if entries else None)

    @staticmethod
    def _body(request: Request) -> Any:
        raw = request.get_data()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise NitroError(400, 1097, "Invalid JSON input") from None
