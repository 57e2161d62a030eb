"""Users and their permissions, as the LoadMaster enforces them on every API command.

docs/kemp.md#least-privilege-account: ``bal`` (the default administrator) always has every permission; every
other local user has the default read-only access plus the permissions ("roles") given to it: Real Servers,
Virtual Services, Rules, System Backup, Certificate Creation, Intermediate Certificates, Certificate Backup,
User Administration, GEO Control, or All Permissions (``root``). A command the user's permissions do not allow
is refused with 403 (``emulators.kemp.exceptions.permission_denied``) before it runs, so nothing changes.

The API names of the permissions (``usersetperms?user=&perms=vs,real,...``) are in ``PERMISSIONS``;
``root`` and ``vs`` are confirmed by public client code, the other names are assumed [?]
(docs/kemp.md#least-privilege-account).
Which command needs which permission is ``COMMAND_PERMISSIONS``; every command not listed there is a read that
the default read-only access allows.

User commands (User Administration): ``useraddlocal``, ``userdellocal``, ``usersetperms``, ``userlist``,
``usershow`` (Kemp's PowerShell module: ``New-SecUser``, ``Remove-SecUser``, ``Set-SecUserPermission``,
``Get-SecUser``). Named users without User Administration see only their own password screen in the WUI, so
the twin refuses them ``userlist`` and ``usershow``, their own entry included [?]."""

from __future__ import annotations

import re
from typing import Any

from emulators.kemp import exceptions as err
from emulators.kemp.base import KempBase
from emulators.kemp.results import Args, Message, ParamsResult, Result
from emulators.kemp.types import OK, View

#: The default administrator: every permission, always.
SYSTEM_USER = "bal"
#: All Permissions.
ALL = "root"
#: API name -> the role's name in the WUI (System Configuration > System Administration > User Management).
PERMISSIONS: dict[str, str] = {
    ALL: "All Permissions",
    "real": "Real Servers",
    "vs": "Virtual Services",
    "rules": "Rules",
    "backup": "System Backup",
    "certs": "Certificate Creation",
    "cert3": "Intermediate Certificates",
    "certbackup": "Certificate Backup",
    "users": "User Administration",
    "geo": "GEO Control",
}
#: The permission each changing (or user-reading) command needs; ``root`` ones only All Permissions has.
COMMAND_PERMISSIONS: dict[str, str] = {
    "addvs": "vs",
    "modvs": "vs",
    "delvs": "vs",
    "addrs": "real",
    "modrs": "real",
    "delrs": "real",
    "enablers": "real",
    "disablers": "real",
    "addcert": "certs",
    "delcert": "certs",
    "backup": "backup",
    "restore": ALL,
    "set": ALL,
    "useraddlocal": "users",
    "userdellocal": "users",
    "usersetperms": "users",
    "userlist": "users",
    "usershow": "users",
}
#: docs/kemp.md#names-the-loadmaster-accepts
USER_NAME = re.compile(r"[A-Za-z0-9=~^._+#@/-]{1,64}")


class RoleMixin(KempBase):
    # -- enforcement --------------------------------------------------------------------------------
    def execute(self, command: str, params: dict[str, str], user: str = "bal", body: bytes = b"") -> Result:
        name = command.lower()
        if hasattr(self, f"_cmd_{name}"):  # an unknown command stays a 405
            self.authorize(user, name)
        return super().execute(command, params, user=user, body=body)

    def allows(self, user: str, command: str) -> bool:
        needed = COMMAND_PERMISSIONS.get(command.lower())
        if needed is None or user == SYSTEM_USER:
            return True
        with self.lock:
            granted = self.permissions.get(user, frozenset())
        return ALL in granted or needed in granted

    def authorize(self, user: str, command: str) -> None:
        if not self.allows(user, command):
            raise err.permission_denied()

    # -- user administration ---------------------------------------------------------------------------
    def _local_user(self, args: Args) -> str:
        name = (args.get("user") or "").strip()
        if not name:
            raise err.missing("user")
        if name == SYSTEM_USER or name not in self.users:
            raise err.unknown_user()
        return name

    def _user_view(self, name: str) -> View:
        perms = sorted(self.permissions.get(name, frozenset()))
        return [("Name", name), ("Perms", ",".join(perms))]

    def _cmd_useraddlocal(self, args: Args, **_: Any) -> Result:
        name = (args.get("user") or "").strip()
        if not name:
            raise err.missing("user")
        if not USER_NAME.fullmatch(name):
            raise err.invalid_username()
        if name == SYSTEM_USER or name in self.users:
            raise err.user_exists()
        nopass = (args.get("nopass") or "").strip().lower() in ("y", "yes", "1")
        password = args.get("password")
        if not password and not nopass:
            raise err.missing("password")
        with self.lock:
            self.users[name] = password or ""
            self.permissions[name] = frozenset()
        return Message(OK)

    def _cmd_userdellocal(self, args: Args, **_: Any) -> Result:
        name = self._local_user(args)
        with self.lock:
            del self.users[name]
            self.permissions.pop(name, None)
        return Message(OK)

    def _cmd_usersetperms(self, args: Args, **_: Any) -> Result:
        name = self._local_user(args)
        raw = args.get("perms")
        if raw is None:
            raise err.missing("perms")
        tokens = {t.strip().lower() for t in raw.split(",") if t.strip()}
        for token in sorted(tokens):
            if token not in PERMISSIONS:
                raise err.invalid_permission(token)
        with self.lock:
            self.permissions[name] = frozenset(tokens)
        return Message(OK)

    def _cmd_userlist(self, args: Args, **_: Any) -> Result:
        names = sorted(n for n in self.users if n != SYSTEM_USER)
        return ParamsResult([("User", [self._user_view(n) for n in names])])

    def _cmd_usershow(self, args: Args, **_: Any) -> Result:
        return ParamsResult([("User", [self._user_view(self._local_user(args))])])
