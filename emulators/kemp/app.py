"""The LoadMaster twin's HTTP layer: ``/access/<command>`` (XML) and ``POST /accessv2`` (JSON).

Thin on purpose: it checks that the API is enabled (404 HTML page otherwise), authenticates (Basic or
``apikey``; v2: ``apikey`` wins over ``apiuser``/``apipass``), collects parameters (query string and
form body, names lower-cased), asks ``KempBackend`` and renders the result:

* XML ``<?xml version="1.0" encoding="ISO-8859-1"?>`` + ``<Response stat="200" code="ok"><Success>...``
  with the HTTP status equal to ``stat`` (docs/kemp.md#status-codes-and-error-texts) and Y/N booleans
  (docs/kemp.md#booleans);
* JSON ``{"code": 200, ..., "status": "ok"}`` with VS fields flattened beside ``code``/``status``,
  ``Rs`` always a list, booleans true/false and the string-typed numbers of docs/kemp.md#json-api-v2;
* 401 is a plain ``Unauthorized`` text (v1) or an HTML page (v2), never XML/JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from emulators.kemp.backend import (
    BinaryResult,
    KempBackend,
    Message,
    Result,
    RSResult,
    View,
    VSListResult,
    VSResult,
)
from emulators.kemp.exceptions import KempError

XML_TYPE = "text/xml; charset=ISO-8859-1"
XML_DECLARATION = '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
NOT_FOUND_HTML = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head><title>404 Not Found</title></head>'
    "<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n"
)
UNAUTHORIZED_HTML = (
    "<html><head><title>401 Unauthorized</title></head><body><h1>Unauthorized</h1></body></html>\n"
)


# -- rendering ------------------------------------------------------------------------------------------
def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return escape(str(value))


def _xml_fields(view: View) -> str:
    parts: list[str] = []
    for name, value in view:
        if isinstance(value, list):
            parts.extend(f"<{name}>{_xml_fields(child)}</{name}>" for child in value)
        else:
            parts.append(f"<{name}>{_xml_value(value)}</{name}>")
    return "".join(parts)


def _xml_response(status: int, inner: str) -> Response:
    code = "ok" if status == 200 else "fail"
    text = f'{XML_DECLARATION}<Response stat="{status}" code="{code}">{inner}</Response>\n'
    return Response(text.encode("iso-8859-1", "xmlcharrefreplace"), status=status, content_type=XML_TYPE)


def render_xml(result: Result) -> Response:
    if isinstance(result, BinaryResult):
        return Response(
            result.payload,
            content_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{result.filename}"'},
        )
    if isinstance(result, Message):
        return _xml_response(200, f"<Success>{escape(result.text)}</Success>")
    if isinstance(result, VSResult):
        data = _xml_fields(result.view)
    elif isinstance(result, VSListResult):
        data = "".join(f"<VS>{_xml_fields(view)}</VS>" for view in result.views)
    elif isinstance(result, RSResult):
        data = f"<Rs>{_xml_fields(result.view)}</Rs>"
    else:
        data = _xml_fields(result.values)
    return _xml_response(200, f"<Success><Data>{data}</Data></Success>")


def xml_error(exc: KempError) -> Response:
    return _xml_response(exc.status, f"<Error>{escape(exc.message)}</Error>")


def _json_fields(view: View) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in view:
        out[name] = [_json_fields(child) for child in value] if isinstance(value, list) else value
    return out


def _json_response(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def render_json(result: Result) -> Response:
    body: dict[str, Any] = {"code": 200}
    if isinstance(result, BinaryResult):
        body["data"] = base64.b64encode(result.payload).decode()
    elif isinstance(result, Message):
        body["message"] = result.text
    elif isinstance(result, VSResult):
        body.update(_json_fields(result.view))
    elif isinstance(result, VSListResult):
        body["VS"] = [_json_fields(view) for view in result.views]
    elif isinstance(result, RSResult):
        body["Rs"] = [_json_fields(result.view)]
    else:
        keys = [value for name, value in result.values if name == "key"]
        if keys and all(name == "key" for name, _ in result.values):
            body["apikeys"] = keys
        else:
            body.update(dict(result.values))
    body["status"] = "ok"
    return _json_response(body, 200)


def json_error(exc: KempError) -> Response:
    return _json_response({"code": exc.status, "message": exc.message, "status": "fail"}, exc.status)


def _json_param(value: Any) -> str:
    """v2 inputs may be strings, numbers or JSON booleans (docs/kemp.md#json-api-v2)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return str(value)


# -- the WSGI app ---------------------------------------------------------------------------------------
class KempApp:
    def __init__(self, backend: KempBackend) -> None:
        self.backend = backend

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request, environ)
        return response(environ, start_response)

    def dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        path = request.path.rstrip("/")
        if path == "/accessv2":
            if not self.backend.api_enabled:
                return Response(NOT_FOUND_HTML, status=404, content_type="text/html")
            return self._v2(request, environ)
        if path.startswith("/access/"):
            if not self.backend.api_enabled:
                return Response(NOT_FOUND_HTML, status=404, content_type="text/html")
            return self._v1(request, path[len("/access/") :], environ)
        return Response(NOT_FOUND_HTML, status=404, content_type="text/html")

    # -- classic API ------------------------------------------------------------------------------------
    def _v1(self, request: Request, command: str, environ: dict[str, Any]) -> Response:
        command = command.lower()
        environ["kemp.command"] = command
        environ.setdefault("twin.log", {})["command"] = command
        params: dict[str, str] = {}
        raw_body = command in ("restore", "addcert")  # these carry a file, not a form
        sources = [request.args] if raw_body else [request.args, request.form]
        # GET query or form-encoded POST body (docs/kemp.md#authentication-and-enabling-the-api)
        for source in sources:
            for key, value in source.items(multi=True):
                params[key.lower()] = value
        apikey = params.pop("apikey", None)
        user = self._v1_user(request, apikey)
        if user is None:
            return Response(
                "Unauthorized",
                status=401,
                content_type="text/plain",
                headers={"WWW-Authenticate": 'Basic realm="LoadMaster"'},
            )
        body = request.get_data() if raw_body else b""
        try:
            return render_xml(self.backend.execute(command, params, user=user, body=body))
        except KempError as exc:
            return xml_error(exc)

    def _v1_user(self, request: Request, apikey: str | None) -> str | None:
        if apikey:
            return self.backend.check_apikey(apikey)
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        if not sep or not self.backend.check_password(user, password):
            return None
        return user

    # -- JSON API v2 ----------------------------------------------------------------------------------
    def _v2(self, request: Request, environ: dict[str, Any]) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if request.method == "GET":
            body = {**{k: v for k, v in request.args.items()}, **body}
        command = str(body.get("cmd") or "").strip().lower()
        environ["kemp.command"] = command
        environ.setdefault("twin.log", {})["command"] = command
        user = self._v2_user(body)
        if user is None:
            return Response(UNAUTHORIZED_HTML, status=401, content_type="text/html")
        params = {
            str(k).lower(): _json_param(v)
            for k, v in body.items()
            if str(k).lower() not in ("cmd", "apikey", "apiuser", "apipass")
        }
        try:
            if not command:
                raise KempError(400, "cmd: String Value missing")
            return render_json(self.backend.execute(command.replace(".", "/"), params, user=user))
        except KempError as exc:
            return json_error(exc)

    def _v2_user(self, body: dict[str, Any]) -> str | None:
        apikey = body.get("apikey")
        if apikey:  # apikey wins when both are present (docs/kemp.md#authentication-and-enabling-the-api)
            return self.backend.check_apikey(str(apikey))
        user, password = body.get("apiuser"), body.get("apipass")
        if user is None or password is None:
            return None
        return str(user) if self.backend.check_password(str(user), str(password)) else None
