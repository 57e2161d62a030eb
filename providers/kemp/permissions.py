"""What the LoadMaster account needs, checked up front where the device says, and named when it refuses.

The project's account needs exactly three LoadMaster permissions (docs/kemp.md#least-privilege-account,
README "Least privilege: the automation accounts", "Kemp LoadMaster"): Virtual Services (``vs``: the
services, their SSL and transparency settings and port following), Real Servers (``real``: the RRAS nodes
behind them, and draining them) and Certificate Creation (``certs``: the SSTP certificate and key). Reads
(``listvs``, ``showvs``, ``listcert``) need none.

Up front: ``check`` of every LoadMaster provider asks ``usershow`` for its own account, once per device per
provider process (``ACCOUNTS``), and fails the preview naming the device, the account, the object and the
missing permission, before anything is written. Only an account that may read users can answer (the WUI
shows named users without User Administration nothing but their own password screen), so for the
least-privilege account the answer is a 403 and nothing is known up front: the first write the device
refuses then fails with ``PermissionRefused``, which says the same. A device that cannot be reached, or a
missing secret, is left to the write path as before; ``bal`` (every permission) is never asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from xml.etree.ElementTree import Element

from providers.common.errors import ApplianceError, ProviderError

#: The LoadMaster's default administrator, who always has every permission.
SYSTEM_USER = "bal"
#: All Permissions.
ALL = "root"
#: API name (``usersetperms?perms=``) -> the permission's name in the WUI.
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
#: What the project needs, all together (the README's account).
LEAST_PRIVILEGE = ("vs", "real", "certs")
#: The permission each command the project sends needs (reads are not listed: they need none).
COMMAND_PERMISSIONS: dict[str, str] = {
    "addvs": "vs",
    "modvs": "vs",
    "delvs": "vs",
    "addrs": "real",
    "modrs": "real",
    "delrs": "real",
    "addcert": "certs",
    "delcert": "certs",
}
#: The permission each object type (``ApplianceObjectProvider.object_type``) needs to be written.
OBJECT_PERMISSIONS: dict[str, str] = {
    "virtual service": "vs",
    "port following": "vs",
    "real server": "real",
    "certificate": "certs",
}
README = 'README.md, "Least privilege: the automation accounts", "Kemp LoadMaster"'


def named(token: str) -> str:
    return f"{PERMISSIONS.get(token, token)} ({token})"


def hint() -> str:
    perms = ",".join(LEAST_PRIVILEGE)
    return f"the account needs perms={perms} (see {README})"


class PermissionRefused(ApplianceError):
    """The LoadMaster refused a command (403) because the account lacks the permission it needs."""

    def __init__(
        self, *, device: str, obj: str, operation: str, user: str, permission: str | None, message: str
    ) -> None:
        super().__init__(device=device, obj=obj, operation=operation, status=403, code="403", message=message)
        self.user, self.permission = user, permission
        needs = f"the permission {named(permission)}" if permission else "a permission it lacks"
        self.args = (
            f"{device}: {operation} {obj} refused: HTTP 403: {message}: the LoadMaster account {user!r} "
            f"lacks {needs}; {hint()}",
        )


class MissingPermission(ProviderError):
    """The account's own permissions, read up front, lack one an object needs: nothing was written."""

    def __init__(self, *, device: str, obj: str, user: str, permission: str, has: frozenset[str]) -> None:
        self.device, self.obj, self.user, self.permission = device, obj, user, permission
        held = ", ".join(named(p) for p in sorted(has)) or "none: read-only"
        super().__init__(
            f"{device}: {obj} needs the LoadMaster permission {named(permission)}, which the account "
            f"{user!r} lacks (it has {held}); nothing was written; {hint()}"
        )


def refusal(*, device: str, obj: str, command: str, user: str, message: str) -> PermissionRefused:
    return PermissionRefused(
        device=device,
        obj=obj,
        operation=command,
        user=user,
        permission=COMMAND_PERMISSIONS.get(command),
        message=message,
    )


def parse_perms(text: str) -> frozenset[str]:
    """``Perms`` as ``usershow`` shows it: a comma list (Kemp's PowerShell trims a trailing ", "), in API
    names or WUI names; both are read back as API names."""
    by_name = {name.lower(): token for token, name in PERMISSIONS.items()}
    tokens = set()
    for part in text.split(","):
        word = part.strip().lower()
        if word:
            tokens.add(by_name.get(word, word))
    return frozenset(tokens)


class Accounts:
    """Per (device URL, user), per process: the account's permissions as the device said, or None when the
    device would not say (asked once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], frozenset[str] | None] = {}

    def get(self, key: tuple[str, str], ask: Callable[[], frozenset[str] | None]) -> frozenset[str] | None:
        with self._lock:
            if key in self._known:
                return self._known[key]
        found = ask()
        with self._lock:
            return self._known.setdefault(key, found)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


ACCOUNTS = Accounts()


def own_permissions(data: Element | None) -> frozenset[str] | None:
    """The ``Perms`` of a ``usershow`` answer, None when it has none."""
    if data is None:
        return None
    element = data.find("User")
    perms = (element if element is not None else data).find("Perms")
    return None if perms is None else parse_perms(perms.text or "")
