"""User roles on the BIG-IP twin: partition access per user, what each role may write, BIG-IP's refusals.

A BIG-IP user holds one role per administrative partition (``partition-access { <partition> { role <r> } }``,
or ``all-partitions`` for the roles that exist only globally) (docs/f5.md#least-privilege-account). Writes
under /mgmt/tm are checked here before the object store sees them; what a role may not do is refused the way
mcpd refuses it:

- a partition the user holds no writing role in: ``01070824:3: Write Access Denied: user (<u>) does not
  have update access to partition (<p>), check your current "update/write" partition settings``;
- a role in the partition that lacks the operation: ``01070822:3: Access Denied: user (<u>) does not have
  <create|modify|delete> access to object (<mcpd type>)``, HTTP 400, apiError 3;
- a REST-framework endpoint (the file upload) the role may not use: restjavad's 401 ``Authorization failed:
  user=https://localhost/mgmt/shared/authz/users/<u> resource=<path> verb=<METHOD> ...``.

Reads are not restricted per partition here (every role but no-access reads everything, which is what the
project's refresh and audit need); a user's own account (``GET /mgmt/tm/auth/user/<self>``) is readable by
that user, anyone else's only by the roles that manage users. The seeded users (twin only, not real
credentials) are ``admin`` (admin, all partitions), ``automation`` (the documented least role: manager of
Common), ``reader`` (guest of Common, read only) and ``tenant`` (manager of partition Tenant only).
"""

from __future__ import annotations

import hashlib
from typing import Any

from emulators.common import TwinBackend
from emulators.f5.exceptions import AlreadyExists, BadValue, F5Error, RestError
from emulators.f5.query import VERSION
from emulators.f5.types import ObjectType, split_path

Obj = dict[str, Any]
ALL_PARTITIONS = "all-partitions"

#: The role names tmsh and iControl REST take (F5 Ansible ``bigip_user`` choices; DevCentral's remote-role
#: table adds the numeric values, not modelled).
ROLES = frozenset(
    {
        "admin",
        "resource-admin",
        "user-manager",
        "auditor",
        "manager",
        "application-editor",
        "operator",
        "certificate-manager",
        "irule-manager",
        "guest",
        "web-application-security-administrator",
        "web-application-security-editor",
        "acceleration-policy-editor",
        "firewall-manager",
        "fraud-protection-manager",
        "no-access",
    }
)
#: Roles a user can only hold for all partitions at once (F5 Ansible ``bigip_user``, BigIpRest docstring).
GLOBAL_ROLES = frozenset(
    {"admin", "auditor", "no-access", "resource-admin", "web-application-security-administrator"}
)
#: Roles that read and manage other users' accounts.
USER_ADMINS = frozenset({"admin", "user-manager"})

#: The seeded users' partition access (passwords: ``emulators.f5.tokens.DEFAULT_USERS``).
DEFAULT_ACCESS: dict[str, dict[str, str]] = {
    "admin": {ALL_PARTITIONS: "admin"},
    "automation": {"Common": "manager"},
    "reader": {"Common": "guest"},
    "tenant": {"Tenant": "manager"},
}

CERTS = ("sys/crypto/cert", "sys/crypto/key", "sys/file/ssl-cert", "sys/file/ssl-key")
EVERYTHING = ("create", "modify", "delete")
#: Keys an operator may change: the admin state of a node or pool member (enable, disable, force offline).
STATUS_KEYS = frozenset({"session", "state"})

#: What each role may write in a partition it holds: (collection prefix, operations). Facts and their
#: confidence: docs/f5.md#least-privilege-account.
RIGHTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "admin": (("", EVERYTHING),),
    "resource-admin": (("", EVERYTHING),),
    # virtual servers, pools, members, nodes, custom profiles and monitors; certificates and keys [?]
    "manager": (("ltm/", EVERYTHING), *((c, EVERYTHING) for c in CERTS)),
    "certificate-manager": tuple((c, EVERYTHING) for c in CERTS),
    # modify nodes, pools and monitors, add and remove pool members (iControl UserRole enumeration)
    "application-editor": (
        ("ltm/node", ("modify",)),
        ("ltm/pool/members", EVERYTHING),
        ("ltm/pool", ("modify",)),
        ("ltm/monitor/", ("modify",)),
    ),
    # enable and disable nodes and pool members only (checked on the keys below)
    "operator": (("ltm/node", ("status",)), ("ltm/pool/members", ("status",))),
}
#: Device-wide commands: ``save sys config``, ``config-sync``, file uploads: the roles that may run them [?].
DEVICE_RIGHTS: dict[str, frozenset[str]] = {
    "save": frozenset({"admin", "resource-admin", "manager"}),
    "sync": frozenset({"admin", "resource-admin", "manager"}),
    "upload": frozenset({"admin", "resource-admin", "manager", "certificate-manager"}),
}
#: mcpd's object type names in 01070822 refusals: ``pool`` and ``pool_member`` are seen in real answers;
#: the others follow the pattern [?].
MCPD_TYPES = {
    "ltm/node": "node_address",
    "ltm/pool": "pool",
    "ltm/pool/members": "pool_member",
    "ltm/virtual": "virtual_server",
    "ltm/virtual/profiles": "virtual_server_profile",
    "sys/crypto/cert": "certificate_file_object",
    "sys/file/ssl-cert": "certificate_file_object",
    "sys/crypto/key": "certificate_key_file_object",
    "sys/file/ssl-key": "certificate_key_file_object",
    "sys/config": "sys_config",
    "cm": "device_group",
}


def _mcpd_type(type_key: str) -> str:
    if type_key in MCPD_TYPES:
        return MCPD_TYPES[type_key]
    if type_key.startswith("ltm/monitor/"):
        return "monitor"
    if type_key.startswith("ltm/persistence/"):
        return "profile_persist"
    if type_key.startswith("ltm/profile/"):
        return "profile"
    return type_key.replace("/", "_")


class AccessDenied(F5Error):
    """01070822: the role the user holds in the partition does not allow the operation."""

    def __init__(self, user: str, operation: str, type_key: str) -> None:
        super().__init__(
            400,
            f"01070822:3: Access Denied: user ({user}) does not have {operation} access to object "
            f"({_mcpd_type(type_key)})",
        )


class WriteAccessDenied(F5Error):
    """01070824: the user holds no writing role in the object's partition (terraform-provider-bigip #333)."""

    def __init__(self, user: str, partition: str) -> None:
        super().__init__(
            400,
            f"01070824:3: Write Access Denied: user ({user}) does not have update access to partition "
            f'({partition}), check your current "update/write" partition settings',
        )


class UserRoles(TwinBackend):
    """Partition access of each user and the checks of every write (a mixin of ``F5Backend``)."""

    users: dict[str, str]
    types: dict[str, ObjectType]
    partition_access: dict[str, dict[str, str]]

    def _route(self, path: str) -> tuple[str, str | None, str | None, str | None] | None:
        raise NotImplementedError

    # -- what a user holds ------------------------------------------------------------------------
    def role_in(self, user: str, partition: str) -> str | None:
        access = self.partition_access.get(user, {})
        role = access.get(partition) or access.get(ALL_PARTITIONS)
        return None if role in (None, "no-access") else role

    def _device_right(self, user: str, right: str) -> bool:
        return any(role in DEVICE_RIGHTS[right] for role in self.partition_access.get(user, {}).values())

    # -- the checks ----------------------------------------------------------------------------------
    def authorize(self, user: str, method: str, tm_path: str, body: Any) -> None:
        """Refuse a write under /mgmt/tm/ that ``user``'s roles do not allow, as mcpd does."""
        if method in ("GET", "HEAD", "OPTIONS"):
            return
        with self.lock:
            if tm_path in ("sys/config", "cm"):
                if not self._device_right(user, "save" if tm_path == "sys/config" else "sync"):
                    raise AccessDenied(user, "modify", tm_path)
                return
            route = self._route(tm_path)
            if route is None:
                return  # the object store answers 404
            collection, full, sub, _item = route
            type_key = f"{collection}/{sub}" if sub else collection
            if full is not None:
                partition = split_path(full)[0]
            else:
                partition = _body_partition(body)
            operation = {"POST": "create", "DELETE": "delete"}.get(method, "modify")
            role = self.role_in(user, partition)
            if role is None:
                raise WriteAccessDenied(user, partition)
            if not _allows(role, type_key, operation, body):
                raise AccessDenied(user, operation, type_key)

    def authorize_upload(self, user: str, path: str, referer: str) -> None:
        """The file upload is a REST-framework endpoint: restjavad refuses it with its own 401 [?]."""
        if not self._device_right(user, "upload"):
            raise RestError(
                401,
                f"Authorization failed: user=https://localhost/mgmt/shared/authz/users/{user} "
                f"resource={path} verb=POST uri:http://localhost:8100{path} "
                f"referrer:{referer} sender:{referer}",
            )

    # -- /mgmt/tm/auth/user -----------------------------------------------------------------------------
    def auth_users(self, method: str, name: str | None, caller: str, body: Any) -> Obj | None:
        """``/mgmt/tm/auth/user[/<name>]``: a user reads its own account; user managers read and write all."""
        with self.lock:
            manages = any(r in USER_ADMINS for r in self.partition_access.get(caller, {}).values())
            if name is None:
                if method == "GET":
                    names = sorted(self.users) if manages else [caller]
                    return {
                        "kind": "tm:auth:user:usercollectionstate",
                        "selfLink": f"https://localhost/mgmt/tm/auth/user?ver={VERSION}",
                        "items": [self._render_user(n) for n in names if n in self.users],
                    }
                if method != "POST":
                    raise RestError(405, f"Method {method} is not allowed on collection /mgmt/tm/auth/user")
                if not manages:
                    raise AccessDenied(caller, "create", "user_role_partition")
                return self._create_user(body)
            if name not in self.users:
                raise F5Error(404, f"01020036:3: The requested user role partition ({name}) was not found.")
            if method == "GET":
                if name != caller and not manages:
                    raise AccessDenied(caller, "read", "user_role_partition")
                return self._render_user(name)
            if not manages:
                raise AccessDenied(
                    caller, "modify" if method != "DELETE" else "delete", "user_role_partition"
                )
            if method == "DELETE":
                if name == "admin":
                    raise BadValue("01070734:3: Configuration error: the admin user cannot be deleted")
                del self.users[name]
                self.partition_access.pop(name, None)
                return None
            if method in ("PATCH", "PUT"):
                if not isinstance(body, dict):
                    raise F5Error(400, "Found invalid JSON body in the request.", api_error=1)
                if "partitionAccess" in body:
                    if name == "admin":
                        raise BadValue(
                            "01070734:3: Configuration error: the role of the admin user cannot be changed"
                        )
                    self.partition_access[name] = _access(body["partitionAccess"])
                if body.get("password"):
                    self.users[name] = str(body["password"])
                return self._render_user(name)
            raise RestError(405, f"Method {method} is not allowed")

    def _create_user(self, body: Any) -> Obj:
        if not isinstance(body, dict) or not body.get("name"):
            raise BadValue("01070734:3: Configuration error: a name is required to create a user")
        name = str(body["name"])
        if name in self.users:
            raise AlreadyExists("user", name, "Common")
        access = _access(body.get("partitionAccess") or [{"name": ALL_PARTITIONS, "role": "no-access"}])
        self.users[name] = str(body.get("password") or "")
        self.partition_access[name] = access
        return self._render_user(name)

    def _render_user(self, name: str) -> Obj:
        digest = hashlib.sha512(f"twin:{name}:{self.users.get(name, '')}".encode()).hexdigest()[:86]
        access = []
        for partition, role in sorted(self.partition_access.get(name, {}).items()):
            entry: Obj = {"name": partition, "role": role}
            if partition != ALL_PARTITIONS:
                entry["nameReference"] = {
                    "link": f"https://localhost/mgmt/tm/auth/partition/{partition}?ver={VERSION}"
                }
            access.append(entry)
        return {
            "kind": "tm:auth:user:userstate",
            "name": name,
            "fullPath": name,
            "generation": 1,
            "selfLink": f"https://localhost/mgmt/tm/auth/user/{name}?ver={VERSION}",
            "encryptedPassword": f"$6$twin${digest}",
            "shell": "tmsh" if self.role_in(name, "Common") in ("admin", "resource-admin") else "none",
            "partitionAccess": access,
        }


def _allows(role: str | None, type_key: str, operation: str, body: Any) -> bool:
    for prefix, operations in RIGHTS.get(role or "", ()):
        if not type_key.startswith(prefix):
            continue
        if operation in operations:
            return True
        if "status" in operations and operation == "modify" and isinstance(body, dict):
            keys = set(body) - {"name", "partition"}
            return bool(keys) and keys <= STATUS_KEYS
    return False


def _body_partition(body: Any) -> str:
    if isinstance(body, dict):
        name = str(body.get("name") or "")
        if name.startswith("/") and name.count("/") >= 2:
            return split_path(name)[0]
        if body.get("partition"):
            return str(body["partition"])
    return "Common"


def _access(value: Any) -> dict[str, str]:
    """``partitionAccess`` as iControl REST takes it: ``[{"name": <partition|all-partitions>, "role"}]``."""
    if not isinstance(value, list):
        raise BadValue("01070734:3: Configuration error: partitionAccess must be a list")
    access: dict[str, str] = {}
    for entry in value:
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not entry.get("name"):
            raise BadValue(f"01070734:3: Configuration error: invalid partition access {entry!r}")
        partition, role = str(entry["name"]), str(entry["role"])
        if role in GLOBAL_ROLES and partition != ALL_PARTITIONS:
            raise BadValue(
                f"01070734:3: Configuration error: the role {role} can only be assigned to all partitions"
            )
        access[partition] = role
    if ALL_PARTITIONS in access and len(access) > 1 and access[ALL_PARTITIONS] in GLOBAL_ROLES:
        raise BadValue("01070734:3: Configuration error: a global role excludes partition roles")
    return access
