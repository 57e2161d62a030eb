"""Citrix twin authorization: system users, command policies bound to them, and the CLI command each NITRO
request is checked as (docs/citrix.md#least-privilege-account).

The ADC authorizes every NITRO request as the CLI command it stands for (``GET /config/systemfile?args=
filelocation:/nsconfig/license`` is ``show system file -fileLocation "/nsconfig/license"``): the user's
command policies, in ascending priority, are matched against that command (regular expressions,
case-insensitive); the first that matches decides (ALLOW or DENY), none matching denies. ``nsroot`` has
every right. A refusal is HTTP 403 with errorcode 2138 "Not authorized to execute this command [<command>]"
(docs/citrix.md#least-privilege-account). Built-in policies: read-only, operator, network, sysadmin,
superuser.

Seeded here: ``automation`` bound to ``aovpn`` (the documented least-privilege policy, README.md "Citrix
ADC"), ``auditor`` bound to ``read-only``, ``other`` bound to ``other-stacks`` (only objects whose names start
with ``other``). Users, policies and bindings are readable and writable over NITRO (``systemuser``,
``systemcmdpolicy``, ``systemuser_systemcmdpolicy_binding``, ``systemuser_binding``), by whoever the policies
allow. They are kept beside the configuration, not in it [? twin simplification: on an ADC they are part of
ns.conf]: a reboot keeps them, a saved configuration does not list them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from emulators.citrix.base import CitrixBase
from emulators.citrix.exceptions import NitroError, already_exists, no_such_resource, required_missing
from emulators.citrix.tables import BINDINGS, KINDS, Obj

SUPERUSER = "nsroot"

#: The least-privilege policy README.md documents ("Least privilege: the automation accounts", "Citrix ADC"):
#: reads of the object types the project manages, their add/set/rm, the bindings, file upload and removal,
#: server enable/disable (drain), enabling USNIP, the configuration save, and reading the account's own
#: user entry and this policy (the preview's permission check). No backslash and no question mark: the CLI
#: treats both specially inside a quoted argument [? docs/citrix.md#least-privilege-account].
AOVPN_CMDSPEC = (
    "^(show (server|serviceGroup|lb (vserver|monitor|group)|ssl (certKey|vserver)|system file|ns mode)( |$)"
    "|(add|set|rm) (server|serviceGroup|lb (vserver|monitor|group)|ssl certKey) "
    "|(add|rm) system file "
    "|(bind|unbind) (serviceGroup|lb (vserver|group)|ssl vserver) "
    "|(enable|disable) server "
    "|enable ns mode USNIP$"
    "|save ns config$"
    "|show system user automation$"
    "|show system cmdPolicy aovpn$)"
)
#: Another stack's account: the same kinds of objects, but only those whose names start with ``other``, and
#: the global steps (USNIP, the save).
OTHER_CMDSPEC = (
    "^((show|add|set|rm|bind|unbind|enable|disable) "
    "(server|serviceGroup|lb (vserver|monitor|group)|ssl (certKey|vserver)|system file) other"
    "|show ns mode$|enable ns mode USNIP$|save ns config$"
    "|show system user other$|show system cmdPolicy other-stacks$)"
)

#: The built-in policies (docs/citrix.md#least-privilege-account): the documented expressions, as a
#: NetScaler 9.3 administration guide tabulates them and the ingress controller's documentation quotes
#: sysAdmin's; current builds refine them [? the exact current expressions are not confirmed].
BUILTIN = {
    "read-only": r"(^man.*)|(^show\s+(?!system)(?!ns ns.conf)(?!ns runningConfig).*)|(^stat.*)",
    "operator": r"(^man.*)|(^show\s+(?!system)(?!ns ns.conf)(?!ns runningConfig).*)|(^stat.*)"
    r"|(^set.*-accessdown.*)|(^(enable|disable) (server|service).*)",
    "network": r"^(?!shell)\S+\s+(?!system)(?!ns ns.conf)(?!ns runningConfig).*",
    "sysadmin": r"^(?!shell)(?!sftp)(?!scp)(?!batch)(?!source)(?!.*superuser)(?!.*nsroot)(?!install)"
    r"(?!show\s+system\s+(user|cmdPolicy|file))(?!(set|add|rm|create|export|kill)\s+system)"
    r"(?!(unbind|bind)\s+system\s+(user|group))(?!diff\s+ns\s+config)"
    r"(?!(set|unset|add|rm|bind|unbind|switch)\s+ns\s+partition).*",
    "superuser": ".*",
}
DEFAULT_POLICIES = {"aovpn": ("ALLOW", AOVPN_CMDSPEC), "other-stacks": ("ALLOW", OTHER_CMDSPEC)}
#: user -> [(policy, priority)]; a user without any binding may do nothing.
DEFAULT_ROLES: dict[str, list[tuple[str, int]]] = {
    "automation": [("aovpn", 100)],
    "auditor": [("read-only", 100)],
    "other": [("other-stacks", 100)],
}

#: NITRO resource -> the CLI's entity words (``lbvserver`` is ``lb vserver``).
ENTITIES = {
    "server": "server",
    "servicegroup": "serviceGroup",
    "servicegroupbindings": "serviceGroupbindings",
    "lbvserver": "lb vserver",
    "lbmonitor": "lb monitor",
    "lbgroup": "lb group",
    "lbparameter": "lb parameter",
    "sslcertkey": "ssl certKey",
    "sslvserver": "ssl vserver",
    "systemfile": "system file",
    "systemuser": "system user",
    "systemcmdpolicy": "system cmdPolicy",
    "nsconfig": "ns config",
    "nsmode": "ns mode",
    "nsfeature": "ns feature",
    "clusterinstance": "cluster instance",
}
#: Attribute naming the object in an add/set body, for resources outside KINDS and BINDINGS.
NAME_KEYS = {
    "sslcertkey": "certkey",
    "systemfile": "filename",
    "systemuser": "username",
    "systemcmdpolicy": "policyname",
    "systemuser_systemcmdpolicy_binding": "username",
}
USER_BINDING = "systemuser_systemcmdpolicy_binding"


def not_authorized(command: str) -> NitroError:
    return NitroError(403, 2138, f"Not authorized to execute this command [{command}]")


def _value(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_value(v) for v in value)
    text = str(value)
    return text if re.fullmatch(r"[\w.:@#=-]+", text) else '"' + text.replace('"', '\\"') + '"'


def _name_key(resource: str) -> str | None:
    if resource in KINDS:
        return KINDS[resource].key
    if resource in BINDINGS:
        return BINDINGS[resource][1]
    return NAME_KEYS.get(resource)


def entity(resource: str) -> str | None:
    """The CLI entity a NITRO resource belongs to (a binding: its parent's); None when unknown."""
    if resource in ENTITIES:
        return ENTITIES[resource]
    if resource.endswith("_binding"):
        return ENTITIES.get(resource.split("_", 1)[0])
    return None


def command(method: str, resource: str, name: str | None, query: Any, payload: Any) -> str | None:
    """The CLI command a NITRO request is authorized as; None for a resource the twin does not know."""
    words = entity(resource)
    if words is None:
        return None
    action = query.get("action")
    binding = resource.endswith("_binding") and resource not in ENTITIES
    if method == "GET":
        verb = "show"
    elif method == "DELETE":
        verb = "unbind" if binding else "rm"
    elif action:
        verb = str(action)
    elif binding:
        verb = "bind"
    else:
        verb = "add" if method == "POST" else "set"
    body: Obj = payload if isinstance(payload, dict) else {}
    if resource == "nsmode" and "mode" in body:
        return f"{verb} {words} {_value(body['mode'])}"
    if resource == "nsfeature" and "feature" in body:
        return f"{verb} {words} {_value(body['feature'])}"
    key = _name_key(resource)
    target = name if name is not None else (body.get(key) if key else None)
    parts = [verb, words] + ([_value(target)] if target is not None else [])
    args: Obj = {}
    for pair in filter(None, str(query.get("args", "")).split(",")):
        attr, _, value = pair.partition(":")
        args[attr] = value
    rest = {k: v for k, v in body.items() if k != key}
    positional = verb in ("bind", "unbind")
    for attr, value in {**rest, **args}.items():
        if isinstance(value, dict):
            continue
        if positional:
            parts.append(_value(value))
        elif verb == "unset":
            parts.append(f"-{attr}")
        else:
            parts.append(f"-{attr} {_value(value)}")
    return " ".join(parts)


@dataclass
class CmdPolicy:
    name: str
    action: str
    cmdspec: str
    builtin: bool = False

    def matches(self, cmd: str) -> bool:
        try:
            return re.search(self.cmdspec, cmd, re.IGNORECASE) is not None
        except re.error:  # an expression Python cannot read matches nothing here [? PCRE on the ADC]
            return False

    def render(self) -> Obj:
        out: Obj = {"policyname": self.name, "action": self.action, "cmdspec": self.cmdspec}
        if self.builtin:
            out["builtin"] = ["IMMUTABLE"]  # [? which flags the built-ins carry]
        return out


class RolesMixin(CitrixBase):
    users: dict[str, str]
    policies: dict[str, CmdPolicy]
    #: user -> {policy: priority}
    roles: dict[str, dict[str, int]]

    def init_roles(self, roles: dict[str, list[tuple[str, int]]] | None) -> None:
        self.policies = {name: CmdPolicy(name, "ALLOW", spec, builtin=True) for name, spec in BUILTIN.items()}
        for name, (action, spec) in DEFAULT_POLICIES.items():
            self.policies[name] = CmdPolicy(name, action, spec)
        chosen = DEFAULT_ROLES if roles is None else roles
        self.roles = {user: dict(bound) for user, bound in chosen.items()}

    # -- the decision ----------------------------------------------------------------------------------
    def authorize(
        self, user: str, method: str, resource: str, name: str | None, query: Any, payload: Any
    ) -> None:
        """Refuse (403/2138) a request the user's command policies do not allow."""
        if user == SUPERUSER:
            return
        if isinstance(payload, list):  # a bulk request: each object is its own command [? 403 for all]
            for entry in payload:
                self.authorize(user, method, resource, name, query, entry)
            return
        cmd = command(method, resource, name, query, payload)
        if cmd is None:
            return  # not a resource of this twin: the router answers it (404/1240)
        with self.lock:
            bound = sorted(self.roles.get(user, {}).items(), key=lambda item: item[1])
            for policy_name, _priority in bound:
                policy = self.policies.get(policy_name)
                if policy is not None and policy.matches(cmd):
                    if policy.action == "ALLOW":
                        return
                    break
        raise not_authorized(cmd)

    # -- NITRO: users ---------------------------------------------------------------------------------
    def _user_entry(self, user: str) -> Obj:
        return {
            "username": user,
            "externalauth": "DISABLED",
            "timeout": 900,
            "logging": "DISABLED",
            "maxsession": "20",
        }

    def get_users(self, name: str | None) -> list[Obj]:
        with self.lock:
            if name is not None:
                if name not in self.users:
                    raise no_such_resource("username", name)
                return [self._user_entry(name)]
            return [self._user_entry(u) for u in self.users]

    def add_user(self, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("username"):
            raise required_missing("username")
        if not body.get("password"):
            raise required_missing("password")
        user = str(body["username"])
        with self.lock:
            if user in self.users:
                raise already_exists("username", user)
            self.users[user] = str(body["password"])
            self.roles.setdefault(user, {})

    def delete_user(self, name: str) -> None:
        with self.lock:
            if name not in self.users:
                raise no_such_resource("username", name)
            if name == SUPERUSER:
                raise NitroError(599, 257, "Operation not permitted [nsroot]")  # [? the code for nsroot]
            del self.users[name]
            self.roles.pop(name, None)

    # -- NITRO: command policies ----------------------------------------------------------------------
    def get_policies(self, name: str | None) -> list[Obj]:
        with self.lock:
            if name is not None:
                if name not in self.policies:
                    raise no_such_resource("policyname", name)
                return [self.policies[name].render()]
            return [p.render() for p in self.policies.values()]

    def add_policy(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("policyname")
        for attr in ("policyname", "action", "cmdspec"):
            if not body.get(attr):
                raise required_missing(attr)
        action = str(body["action"]).upper()
        if action not in ("ALLOW", "DENY"):
            raise NitroError(400, 1074, f"Invalid value [action, value {body['action']}]")
        name = str(body["policyname"])
        with self.lock:
            if name in self.policies:
                raise already_exists("policyname", name)
            self.policies[name] = CmdPolicy(name, action, str(body["cmdspec"]))

    def delete_policy(self, name: str) -> None:
        with self.lock:
            policy = self.policies.get(name)
            if policy is None:
                raise no_such_resource("policyname", name)
            if policy.builtin:
                raise NitroError(599, 2119, "Default command policy cannot be removed")
            del self.policies[name]
            for bound in self.roles.values():
                bound.pop(name, None)

    # -- NITRO: user <-> policy bindings --------------------------------------------------------------
    def _bound(self, user: str) -> list[Obj]:
        return [
            {"username": user, "policyname": policy, "priority": priority}
            for policy, priority in sorted(self.roles.get(user, {}).items(), key=lambda item: item[1])
        ]

    def get_user_policies(self, user: str) -> list[Obj]:
        with self.lock:
            if user not in self.users:
                raise no_such_resource("username", user)
            return self._bound(user)

    def user_summary(self, user: str) -> Obj:
        """``GET /config/systemuser_binding/<user>``: the user's bindings of every kind (here: policies)."""
        with self.lock:
            if user not in self.users:
                raise no_such_resource("username", user)
            out: Obj = {"username": user}
            bound = self._bound(user)
            if bound:
                out[USER_BINDING] = bound
            return out

    def bind_user_policy(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise required_missing("username")
        for attr in ("username", "policyname"):
            if not body.get(attr):
                raise required_missing(attr)
        user, policy = str(body["username"]), str(body["policyname"])
        try:
            priority = int(body.get("priority", 0))
        except (TypeError, ValueError):
            raise NitroError(400, 1074, f"Invalid value [priority, value {body.get('priority')}]") from None
        with self.lock:
            if user not in self.users:
                raise no_such_resource("username", user)
            if policy not in self.policies:
                raise no_such_resource("policyname", policy)
            bound = self.roles.setdefault(user, {})
            if policy in bound:
                raise already_exists()
            bound[policy] = priority

    def unbind_user_policy(self, user: str, args: Obj) -> None:
        policy = args.get("policyname")
        if not policy:
            raise required_missing("policyname")
        with self.lock:
            if user not in self.users:
                raise no_such_resource("username", user)
            bound = self.roles.get(user, {})
            if policy not in bound:
                raise no_such_resource("policyname", str(policy))
            del bound[policy]
