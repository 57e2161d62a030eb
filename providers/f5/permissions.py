"""What the BIG-IP account needs, said before anything is written and again if the device refuses a write.

The least role that does everything the project does on a BIG-IP (docs/f5.md#least-privilege-account) is
``manager`` of the stack's partition (``loadBalancer.partition``); ``resource-admin`` and ``admin`` (all
partitions) are more than enough. BIG-IP lets an account read its own user object,
``GET /mgmt/tm/auth/user/<self>``, whose ``partitionAccess`` lists the role per partition: ``require_role``
reads it once per device, account and partition per provider process (the first object's ``check``, so a
preview fails, naming the device, the account and the missing role, before any write). The read goes with
the account's Basic credentials at the same time as the token login (``F5Client.get_beside_login``), so it
adds no round trip before the first write. When the device does
not answer it (a remote LDAP/RADIUS account has no local user object, or the read is refused), nothing is
decided up front, and the first refused write says the same thing (``access_denied``): mcpd's 01070822
(the role lacks the operation) and 01070824 (no writing role in the partition), restjavad's 401
"Authorization failed: user=..." (a REST endpoint the role may not use).
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote

from providers.common.device import Device, SecretConfig
from providers.common.errors import ApplianceError, ConfigurationError, ProviderError

#: The documented least role, and the roles that include what it allows.
REQUIRED_ROLE = "manager"
SUFFICIENT_ROLES = frozenset({"admin", "resource-admin", "manager"})
ALL_PARTITIONS = "all-partitions"
#: mcpd's refusals of a write the role does not allow (docs/f5.md#least-privilege-account).
ACCESS_DENIED_CODES = frozenset({"01070822:3", "01070824:3"})
RESTJAVAD_DENIED = "Authorization failed: user="
README = 'README.md, "Least privilege: the automation accounts", "F5 BIG-IP"'
_PARTITION_IN_PATH = re.compile(r"/~([^~/]+)~")
_PARTITION_IN_MESSAGE = re.compile(r"update access to partition \(([^)]+)\)")


def needs(partition: str | None) -> str:
    where = f"partition {partition}" if partition else "the stack's partition (loadBalancer.partition)"
    return f"the role {REQUIRED_ROLE} on {where} (or resource-admin or admin on all partitions); see {README}"


class AccessDeniedError(ApplianceError):
    """The device refused a write because of the account's role; the message says which role it needs."""


class AccountPermissionError(ProviderError):
    """Found before anything was written: the account's role in the partition is not enough."""

    def __init__(self, *, device: str, account: str, partition: str, role: str | None) -> None:
        self.device, self.account, self.partition, self.role = device, account, partition, role
        has = f"has the role {role}" if role else "has no role"
        super().__init__(
            f"{device}: the account {account!r} {has} on partition {partition}, which cannot create, change "
            f"and delete this stack's objects, certificates and keys or save the configuration; nothing was "
            f"written. It needs {needs(partition)}."
        )


def is_access_denied(status: int, code: str | None, message: str) -> bool:
    return code in ACCESS_DENIED_CODES or (status == 401 and message.startswith(RESTJAVAD_DENIED))


def access_denied(
    *,
    device: str,
    obj: str,
    operation: str,
    status: int,
    code: str | None,
    message: str,
    account: str,
    url_path: str,
    body: Any,
) -> AccessDeniedError:
    """The refusal of a write, naming the device, the object and the permission the account lacks."""
    partition = _partition(url_path, body, message)
    return AccessDeniedError(
        device=device,
        obj=obj,
        operation=operation,
        status=status,
        code=code,
        message=f"{message}; the account {account!r} lacks the permission: it needs {needs(partition)}",
    )


def _partition(url_path: str, body: Any, message: str) -> str | None:
    for pattern, text in ((_PARTITION_IN_MESSAGE, message), (_PARTITION_IN_PATH, url_path)):
        found = pattern.search(text)
        if found:
            return found.group(1)
    if isinstance(body, dict):
        name = str(body.get("name") or "")
        if name.startswith("/") and name.count("/") >= 2:
            return name.split("/")[1]
        if body.get("partition"):
            return str(body["partition"])
    return None


# -- the check before anything is written --------------------------------------------------------------
_CHECKED: dict[tuple[str, str, str], AccountPermissionError | None] = {}
_LOCK = threading.Lock()


def require_role(device: Device, partition: str, secrets: SecretConfig) -> None:
    """Raise AccountPermissionError when the account's own user object shows too little for ``partition``.

    Once per device, account and partition per process; a device that does not answer the read decides
    nothing here (the first write does)."""
    key = (device.url, device.user, partition)
    with _LOCK:
        if key not in _CHECKED:
            _CHECKED[key] = _check(device, partition, secrets)
        found = _CHECKED[key]
    if found is not None:
        raise found


def _check(device: Device, partition: str, secrets: SecretConfig) -> AccountPermissionError | None:
    from providers.f5.client import client_for  # the client maps refusals with this module

    try:
        secrets.password(device)
    except ConfigurationError:
        return None  # the first request reports the missing secret
    try:
        user = client_for(device, secrets).get_beside_login(
            f"/mgmt/tm/auth/user/{quote(device.user, safe='')}", what=f"auth user {device.user}"
        )
    except ApplianceError:
        return None  # not readable (remote account, refused, unreachable): the first write tells
    if not user:
        return None
    access = {
        str(a.get("name")): str(a.get("role"))
        for a in user.get("partitionAccess") or []
        if isinstance(a, dict)
    }
    role = access.get(partition) or access.get(ALL_PARTITIONS)
    if role in SUFFICIENT_ROLES:
        return None
    return AccountPermissionError(device=device.host, account=device.user, partition=partition, role=role)
