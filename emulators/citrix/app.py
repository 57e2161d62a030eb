"""The Citrix ADC twin's HTTP layer: NITRO routes, authentication and the response envelope.

Every answer is ``{ "errorcode": 0, "message": "Done", "severity": "NONE"[, "<resource>": [...]] }`` with
NITRO's inner spacing (docs/citrix.md#response-formatting); GETs answer arrays even for one object, the bare
envelope when nothing matches (docs/citrix.md#empty-results-and-singletons), objects for singletons (nsmode,
nsfeature, nsconfig, lbparameter; docs/citrix.md#empty-results-and-singletons). Adds answer 201, updates,
deletes, binds via PUT and actions 200, binds via POST 201, bulk arrays with failures 207 (errorcode 1243,
``X-NITRO-ONERROR`` exit|continue|rollback), and appliance refusals 599 "Netscaler specific error"
(docs/citrix.md#status-and-error-codes). Paths tolerate ``//`` (the Go SDK's unbind URLs;
docs/citrix.md#methods-and-paths); GET understands ``args=``, ``filter=`` (AND, regular expressions),
``attrs=``, ``count=yes``, ``pagesize``/``pageno`` and ``bulkbindings=yes``, plus ``<parent>_binding/<name>``
summaries and ``servicegroupbindings/<sg>`` (docs/citrix.md#queries-and-binding-summaries)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from werkzeug.wrappers import Request, Response

from emulators.citrix.backend import CitrixBackend
from emulators.citrix.exceptions import NitroError
from emulators.citrix.roles import USER_BINDING
from emulators.citrix.tables import BINDINGS, KINDS, SUMMARIES, Obj

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
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # malformed input the rules above did not name (a port of "abc", a string where an object
            # belongs): NITRO answers such input with 1074 rather than failing
            log["write"] = False
            response = envelope(error=NitroError(400, 1074, f"Invalid value [{exc}]"), status=400)
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
        # tolerate // (docs/citrix.md#methods-and-paths)
        path = "/" + "/".join(p for p in request.path.split("/") if p)
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
            # as captured: the old SESSID cookie cleared, the token URL-encoded (%23%23...) on /nitro/v1
            response.headers.add(
                "Set-Cookie", "SESSID=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"
            )
            response.set_cookie(
                "NITRO_AUTH_TOKEN", quote(sessionid, safe=""), path="/nitro/v1", httponly=True, secure=True
            )
            return response
        if resource == "logout" and method == "POST":
            log["write"] = False
            self.backend.logout(self._sessionid(request))
            return envelope(200)
        user = self._authenticate(request)
        action = query.get("action")
        payload = (body or {}).get(resource) if isinstance(body, dict) else None
        # each request is authorized as the CLI command it stands for (docs/citrix.md#least-privilege-account)
        self.backend.authorize(user, method, resource, name, query, payload)
        if method == "GET":
            log["write"] = False
            return self._get(resource, name, query)
        roles = self._roles(method, resource, name, query, payload)
        if roles is not None:
            return roles
        if resource == "nsconfig" and method == "POST" and action == "save":
            # counted as a write in the twin's log like every other POST but login/logout (the brief's
            # rule): a provider that saves on a run without changes shows up as writing
            self.backend.save()
            return envelope(200)
        if resource == "nsfeature" and method == "POST" and action in ("enable", "disable"):
            self.backend.set_features(payload, action == "enable")
            return envelope(200)
        if resource == "lbparameter" and method == "PUT":
            self.backend.set_lbparameter(payload)
            return envelope(200)
        if resource == "nsmode" and method == "POST" and action in ("enable", "disable"):
            self.backend.set_modes(payload, action == "enable")
            return envelope(200)
        if resource in ("servicegroup", "server", "lbvserver") and action in ("enable", "disable"):
            if resource == "servicegroup":
                self.backend.set_member_state(payload or {}, action == "enable")
            else:
                self.backend.set_state(resource, payload, action == "enable")
            return envelope(200)
        if resource in KINDS and method == "POST" and action == "unset":
            self.backend.unset(resource, payload)
            return envelope(200)
        if resource == "systemfile":
            if method == "POST" and name is None:
                self.backend.add_file(payload)
                return envelope(201)
            if method == "DELETE" and name is not None:
                self.backend.delete_file(name, parse_args(unquote(query.get("args", ""))))
                return envelope(200)
        if resource == "sslcertkey":
            if method == "POST" and name is None and action is None:
                self.backend.add_certkey(payload)
                return envelope(201)
            if method == "PUT":
                changes: dict[str, Any] = payload if isinstance(payload, dict) else {}
                self.backend.update_certkey(str(name or changes.get("certkey")), changes)
                return envelope(200)
            if method == "DELETE" and name is not None:
                self.backend.delete_certkey(name)
                return envelope(200)
            if method == "POST" and name is None:
                self.backend.certkey_action(action, payload)
                return envelope(200)
        if resource in BINDINGS:
            if method in ("PUT", "POST") and name is None:
                return self._each(
                    request,
                    payload,
                    lambda entry: self.backend.bind(resource, entry),
                    200 if method == "PUT" else 201,
                )
            if method == "DELETE" and name is not None:
                self.backend.unbind(resource, name, parse_args(unquote(query.get("args", ""))))
                return envelope(200)
        if resource in KINDS:
            if method == "POST" and name is None and action is None:
                idempotent = query.get("idempotent") == "yes"
                # an idempotent add of an existing object updates it and still answers 201 [? unconfirmed,
                # docs/citrix.md#idempotent-adds]
                return self._each(
                    request,
                    payload,
                    lambda entry: self.backend.add(resource, entry, idempotent=idempotent),
                    201,
                )
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

    def _roles(
        self, method: str, resource: str, name: str | None, query: Any, payload: Any
    ) -> Response | None:
        """Writes of system users, command policies and their bindings (emulators/citrix/roles.py)."""
        args = parse_args(unquote(query.get("args", "")))
        if resource == "systemuser" and method == "POST" and name is None:
            self.backend.add_user(payload)
            return envelope(201)
        if resource == "systemuser" and method == "DELETE" and name is not None:
            self.backend.delete_user(name)
            return envelope(200)
        if resource == "systemcmdpolicy" and method == "POST" and name is None:
            self.backend.add_policy(payload)
            return envelope(201)
        if resource == "systemcmdpolicy" and method == "DELETE" and name is not None:
            self.backend.delete_policy(name)
            return envelope(200)
        if resource == USER_BINDING and method in ("PUT", "POST") and name is None:
            self.backend.bind_user_policy(payload)
            return envelope(200 if method == "PUT" else 201)
        if resource == USER_BINDING and method == "DELETE" and name is not None:
            self.backend.unbind_user_policy(name, args)
            return envelope(200)
        return None

    def _get(self, resource: str, name: str | None, query: Any) -> Response:
        if resource == "nsmode":
            return envelope(200, {"nsmode": self.backend.modes()})
        if resource == "nsconfig":
            return envelope(200, {"nsconfig": self.backend.nsconfig()})
        if resource == "nsfeature":
            return envelope(200, {"nsfeature": self.backend.features()})
        if resource == "lbparameter":
            return envelope(200, {"lbparameter": self.backend.lbparameter()})
        if resource == "clusterinstance":  # a stand-alone appliance: no cluster (Terraform reads this)
            return envelope(200)
        if resource == "sslvserver":
            if name is None:
                raise NitroError(400, 1095, "Required argument missing [vservername]")
            entries = self.backend.sslvserver(name)
        elif resource == "servicegroupbindings":
            if name is None:
                raise NitroError(400, 1095, "Required argument missing [servicegroupname]")
            entries = self.backend.servicegroupbindings(name)
        elif resource in SUMMARIES:
            if name is None:
                raise NitroError(400, 1095, "Required argument missing [name]")
            parent, kinds = SUMMARIES[resource]
            entries = [self.backend.binding_summary(parent, kinds, name)]
        elif resource in BINDINGS:
            if name is None:
                if query.get("bulkbindings") != "yes":
                    raise NitroError(400, 1095, "Required argument missing [name]")
                entries = self.backend.get_binding_all(resource)
            else:
                entries = self.backend.get_binding(resource, name)
        elif resource in KINDS:
            entries = self.backend.get(resource, name, parse_args(unquote(query.get("args", ""))))
        elif resource == "systemfile":
            entries = self.backend.get_files(name, parse_args(unquote(query.get("args", ""))))
        elif resource == "sslcertkey":
            entries = self.backend.get_certkeys(name)
        elif resource == "systemuser":
            entries = self.backend.get_users(name)
        elif resource == "systemcmdpolicy":
            entries = self.backend.get_policies(name)
        elif resource == USER_BINDING:
            if name is None:
                raise NitroError(400, 1095, "Required argument missing [username]")
            entries = self.backend.get_user_policies(name)
        elif resource == "systemuser_binding":
            if name is None:
                raise NitroError(400, 1095, "Required argument missing [username]")
            entries = [self.backend.user_summary(name)]
        else:
            raise NitroError(404, 1240, "Invalid nitro action or operation")
        entries = self.backend.ssl_feature_note(resource, entries)
        if "filter" in query:
            wanted = parse_args(unquote(query["filter"]))
            entries = [e for e in entries if matches(e, wanted)]
        if query.get("count") == "yes":
            return envelope(200, {resource: [{"__count": len(entries)}]})
        if "pagesize" in query:  # pageno counts from 1
            size, page = int(query["pagesize"]), int(query.get("pageno", 1))
            entries = entries[(page - 1) * size : page * size]
        if "attrs" in query:
            keep = set(query["attrs"].split(","))
            entries = [{k: v for k, v in e.items() if k in keep} for e in entries]
        return envelope(200, {resource: entries} if entries else None)

    def _each(self, request: Request, payload: Any, apply: Callable[[Any], None], status: int) -> Response:
        """One object or a bulk array. A bulk with failures answers 207 Multi Status, errorcode 1243 and
        one ``response`` entry per object tried. ``X-NITRO-ONERROR``: ``exit`` stops at the first failure
        (the default [? docs/citrix.md names the values, not the default]), ``continue`` tries every object,
        ``rollback`` undoes the whole bulk.
        """
        if not isinstance(payload, list):
            apply(payload)
            return envelope(status)
        onerror = request.headers.get("X-NITRO-ONERROR", "exit").lower()
        results: list[dict[str, Any]] = []
        failed = False
        with self.backend.lock:
            before = copy.deepcopy(self.backend.running) if onerror == "rollback" else None
            for entry in payload:
                try:
                    apply(entry)
                    results.append({"errorcode": 0, "message": "Done", "severity": "NONE"})
                except NitroError as exc:
                    failed = True
                    results.append({"errorcode": exc.errorcode, "message": exc.message, "severity": "ERROR"})
                    if onerror != "continue":
                        break
            if failed and before is not None:
                self.backend.running = before
        if not failed:
            return envelope(status)
        return envelope(207, {"response": results}, NitroError(207, 1243, "Bulk operation failed"))

    @staticmethod
    def _body(request: Request) -> Any:
        raw = request.get_data()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise NitroError(400, 1097, "Invalid JSON input") from None


def parse_args(text: str) -> Obj:
    """``args=servername:rras1,port:500`` (values URL-decoded by the caller) -> dict."""
    out: Obj = {}
    for pair in filter(None, text.split(",")):
        key, _, value = pair.partition(":")
        out[key.strip()] = value
    return out


def matches(entry: Obj, filters: Obj) -> bool:
    """``filter=`` is an AND of attribute:value pairs; values may be regular expressions."""
    for key, wanted in filters.items():
        if key not in entry or not re.fullmatch(str(wanted), str(entry[key]), re.IGNORECASE):
            return False
    return True
