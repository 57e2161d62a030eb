"""The BIG-IP twin's HTTP layer: iControl REST routes, authentication, JSON envelopes.

Thin on purpose: it authenticates (token, Basic, none), parses JSON, strips trailing slashes (f5-sdk adds
them, docs/f5.md#urls-and-selflink), dispatches to ``F5Backend`` and renders results and errors the way BIG-IP
does: 200 with the object on create, 200 with an empty body on delete (docs/f5.md#create-and-delete-answers),
JSON errors of the two families, the management httpd's HTML page for a bad Basic password
(docs/f5.md#error-bodies)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.f5.backend import VERSION, F5Backend, _LoginFailed
from emulators.f5.exceptions import F5Error, RestError
from emulators.f5.query import _self_link

JSON_TYPE = "application/json; charset=UTF-8"
HTML_401 = (
    "<html><head><title>401 F5 Authorization Required</title></head><body><h1>F5 Authorization Required</h1>"
    "<p>This server could not verify that you are authorized to access the URL requested.</p></body></html>"
)
#: paths reachable without credentials: none on a BIG-IP except the login itself
OPEN_PATHS = ("/mgmt/shared/authn/login",)
#: writes that change configuration (what "no writes on a second up" counts); token and login calls do not
CONFIG_PREFIXES = ("/mgmt/tm/", "/mgmt/shared/file-transfer/uploads/")


def _json(body: Any, status: int = 200, reason: str | None = None) -> Response:
    payload = b"" if body is None else json.dumps(body).encode()
    response = Response(payload, status=status, content_type=JSON_TYPE)
    if reason:
        response.status = f"{status} {reason}"
    return response


class F5App:
    def __init__(self, backend: F5Backend) -> None:
        self.backend = backend

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request, environ)
        return response(environ, start_response)

    def dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        path = request.path.rstrip("/") or "/"
        method = request.method.upper()
        referer = request.remote_addr or "127.0.0.1"
        log = environ.setdefault("twin.log", {})
        try:
            if path == "/mgmt/shared/authn/login" and method == "POST":
                log["write"] = False
                return _json(self.backend.login(self._body(request) or {}, referer))
            user = self._authenticate(request, path, referer)
            if path.startswith("/mgmt/shared/"):
                log["write"] = False if not path.startswith("/mgmt/shared/file-transfer/") else None
                if path.startswith("/mgmt/shared/file-transfer/uploads/") and method == "POST":
                    self.backend.authorize_upload(user, path, referer)
                return self._shared(request, method, path, user, referer)
            if not path.startswith("/mgmt/tm"):
                raise RestError(404, f"Public URI path not registered: {path}")
            tm_path = path[len("/mgmt/tm") :].lstrip("/")
            query = {k: v for k, v in request.args.items()}
            body = self._body(request) if method in ("POST", "PUT", "PATCH") else None
            coordination = request.headers.get("X-F5-REST-Coordination-Id")
            if tm_path.startswith("transaction"):
                return self._transaction(method, tm_path, body)
            if tm_path == "auth/user" or tm_path.startswith("auth/user/"):
                name = tm_path[len("auth/user") :].strip("/") or None
                return _json(self.backend.auth_users(method, name, user, body))
            # the user's roles decide before the object store sees it (docs/f5.md#least-privilege-account)
            self.backend.authorize(user, method, tm_path, body)
            if coordination and method != "GET":
                try:
                    trans_id = int(coordination)
                except ValueError:
                    raise RestError(400, f"Invalid transaction id {coordination!r}") from None
                log["write"] = False
                return _json(self.backend.enqueue(trans_id, method, tm_path, query, body))
            read_only = self._read_only(method, tm_path, query)
            if read_only is not None:
                return _json(read_only)
            status, result = self.backend.handle(method, tm_path, query, body)
            return _json(result, status)
        except _Unauthorized as exc:
            log["write"] = False
            if exc.html:
                response = Response(HTML_401, status=401, content_type="text/html; charset=iso-8859-1")
                response.status = "401 F5 Authorization Required"
                response.headers["WWW-Authenticate"] = 'Basic realm="Enterprise Manager"'
                return response
            return _json(RestError(401, exc.message).body(referer), 401)
        except _LoginFailed as exc:
            log["write"] = False
            body = {
                "code": 401,
                "message": "Authentication failed.",
                "originalRequestBody": str(exc),
                "referer": referer,
                "restOperationId": 36136900,
                "kind": ":resterrorresponse",
            }
            return _json(body, 401)
        except F5Error as exc:
            log["write"] = False
            return _json(exc.body(referer), exc.status)

    # -- helpers ---------------------------------------------------------------------------------------
    @staticmethod
    def _body(request: Request) -> Any:
        raw = request.get_data()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise F5Error(400, "Found invalid JSON body in the request.", api_error=1) from None

    def _authenticate(self, request: Request, path: str, referer: str) -> str:
        token = request.headers.get("X-F5-Auth-Token")
        if token:
            user = self.backend.token_user(token)
            if user is None:
                raise _Unauthorized("X-F5-Auth-Token does not exist.")
            return user
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _Unauthorized("", html=True) from None
            if not self.backend.check_password(user, password):
                raise _Unauthorized("", html=True)
            return user
        raise _Unauthorized(
            "Authorization failed: no user authentication header or token detected. "
            f"Uri:http://localhost:8100{path} Referrer:{referer} Sender:{referer}"
        )

    def _shared(self, request: Request, method: str, path: str, user: str, referer: str) -> Response:
        if path.startswith("/mgmt/shared/authz/tokens"):
            rest = path[len("/mgmt/shared/authz/tokens") :].strip("/")
            if not rest:
                if method != "GET":
                    raise RestError(405, "Method not allowed")
                with self.backend.lock:
                    items = [t.public() for t in self.backend.tokens.values() if t.user == user]
                return _json({"items": items, "kind": "shared:authz:tokens:authtokencollectionstate"})
            return _json(self.backend.token_op(method, rest, user, self._body(request) or {}))
        if path.startswith("/mgmt/shared/file-transfer/uploads/") and method == "POST":
            name = path.rsplit("/", 1)[1]
            content_range = request.headers.get("Content-Range", "")
            return _json(self.backend.upload(name, content_range, request.get_data()))
        if path == "/mgmt/shared/identified-devices/config/device-info" and method == "GET":
            return _json(
                {
                    "kind": "shared:resolver:device-groups:deviceinfostate",
                    "selfLink": "https://localhost/mgmt/shared/identified-devices/config/device-info",
                    "hostname": self.backend.hostname,
                    "version": VERSION,
                    "product": "BIG-IP",
                    "platformMarketingName": "BIG-IP Virtual Edition",
                    "machineId": "00000000-0000-4000-8000-000000000001",
                }
            )
        raise RestError(404, f"Public URI path not registered: {path}")

    def _read_only(self, method: str, tm_path: str, query: dict[str, str]) -> dict[str, Any] | None:
        if method != "GET":
            return None
        if tm_path == "sys":
            # f5-sdk and Ansible read the version from this selfLink: ver must be the only parameter.
            return {
                "kind": "tm:sys:syscollectionstate",
                "selfLink": f"https://localhost/mgmt/tm/sys?ver={VERSION}",
                "items": [
                    {"reference": {"link": f"https://localhost/mgmt/tm/sys/{name}?ver={VERSION}"}}
                    for name in ("config", "crypto", "file", "folder", "version")
                ],
            }
        if tm_path == "sys/version":
            return {
                "kind": "tm:sys:version:versionstats",
                "selfLink": f"https://localhost/mgmt/tm/sys/version?ver={VERSION}",
                "entries": {
                    "https://localhost/mgmt/tm/sys/version/0": {
                        "nestedStats": {
                            "entries": {
                                "Build": {"description": "0.0.4"},
                                "Edition": {"description": "Final"},
                                "Product": {"description": "BIG-IP"},
                                "Title": {"description": "Main Package"},
                                "Version": {"description": VERSION},
                            }
                        }
                    }
                },
            }
        if tm_path == "net/self":
            return {
                "kind": "tm:net:self:selfcollectionstate",
                # query options echoed like on every collection (docs/f5.md#query-options); a self IP has no
                # subcollections
                "selfLink": _self_link("https://localhost/mgmt/tm/net/self", query),
                "items": [
                    {
                        "kind": "tm:net:self:selfstate",
                        "name": "internal-self",
                        "partition": "Common",
                        "fullPath": "/Common/internal-self",
                        "address": "10.0.0.245/24",
                        "vlan": "/Common/internal",
                        "trafficGroup": "/Common/traffic-group-local-only",
                    }
                ],
            }
        if tm_path == "cm/sync-status":
            with self.backend.lock:
                return self.backend.sync_status()
        if tm_path == "cm/device-group":
            with self.backend.lock:
                return self.backend.device_groups(query)
        return None

    def _transaction(self, method: str, tm_path: str, body: Any) -> Response:
        rest = tm_path[len("transaction") :].strip("/")
        if not rest:
            if method == "POST":
                return _json(self.backend.begin())
            raise RestError(405, "Method not allowed")
        try:
            trans_id = int(rest.split("/", 1)[0])
        except ValueError:
            raise RestError(404, f"Transaction {rest} does not exist.") from None
        return _json(self.backend.transaction(method, trans_id, body))


class _Unauthorized(Exception):
    def __init__(self, message: str, *, html: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.html = html
