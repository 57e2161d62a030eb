"""What the ADC account may do: the CLI command each NITRO request is authorized as, the refusal the project
reports, and the permission check a preview runs before anything is written.

The ADC authorizes every NITRO request as the CLI command it stands for (``PUT /config/lbvserver/vs1`` is
``set lb vserver vs1 ...``) against the command policies bound to the account, and refuses one they do not
allow with HTTP 403, errorcode 2138 "Not authorized to execute this command [<command>]"
(docs/citrix.md#least-privilege-account). The client turns that answer into ``NotPermitted``: the device, the
object, the account and the permission (the command's verb and entity, e.g. ``add lb vserver``), pointing at
the README section that lists the policy to bind. The vendor's bracketed command is left out: it can carry an
uploaded key's content.

Preview: each Citrix provider's ``check`` names the commands its object needs (``needs``); the first check of
a run reads the account's own user entry, its policy bindings and the README's policy together, then any other
bound policies together, once per device (``systemuser``, ``systemuser_binding``, ``systemcmdpolicy``; cached
for the process), and
fails when a needed command is not allowed. When the account may not read them, is authenticated externally or
belongs to groups (whose policies the check does not read), or an expression is one Python's ``re`` cannot
compile, the check cannot tell and stays silent: the first refused write then reports the same
``NotPermitted``. Only reads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

from providers.citrix.nitro import first
from providers.common.device import Device
from providers.common.errors import ApplianceError, ProviderError
from providers.common.fields import number

#: NITRO's "Not authorized to execute this command" (NSERR_NOTAUTHORIZED).
NOT_AUTHORIZED = 2138
#: The ADC's built-in administrator: every command, whatever is bound.
SUPERUSER = "nsroot"
README_SECTION = 'README.md, "Least privilege: the automation accounts", "Citrix ADC"'
#: The command policy that README section has the administrator create and bind: read in the same round as
#: the account's bindings, before they name it, so that an account set up as documented is checked in one
#: round trip.
README_POLICY = "aovpn"

#: NITRO resource -> the CLI entity it belongs to (a binding belongs to its parent).
ENTITIES = {
    "server": "server",
    "servicegroup": "serviceGroup",
    "lbvserver": "lb vserver",
    "lbmonitor": "lb monitor",
    "lbgroup": "lb group",
    "sslcertkey": "ssl certKey",
    "sslvserver": "ssl vserver",
    "systemfile": "system file",
    "systemuser": "system user",
    "systemcmdpolicy": "system cmdPolicy",
    "nsconfig": "ns config",
    "nsmode": "ns mode",
}

#: One command an object needs and the object it is for: ("add lb vserver c1_ikev2_500_vs", "lbvserver ...").
Need = tuple[str, str]


def entity(resource: str) -> str:
    if resource in ENTITIES:
        return ENTITIES[resource]
    return ENTITIES.get(resource.split("_", 1)[0], resource)


def is_binding(resource: str) -> bool:
    return resource.endswith("_binding") and resource not in ENTITIES


def verb(method: str, resource: str, query: str = "") -> str:
    action = re.search(r"(?:^|&)action=([a-z]+)", query)
    if method == "GET":
        return "show"
    if method == "DELETE":
        return "unbind" if is_binding(resource) else "rm"
    if action:
        return action.group(1)
    if is_binding(resource):
        return "bind"
    return "add" if method == "POST" else "set"


def permission(method: str, resource: str, query: str = "", body: Any = None) -> str:
    """The permission a request needs, as a command policy names it: ``add lb vserver``, ``save ns config``,
    ``enable ns mode USNIP``."""
    words = f"{verb(method, resource, query)} {entity(resource)}"
    payload = body.get(resource) if isinstance(body, dict) else None
    if resource == "nsmode" and isinstance(payload, dict) and payload.get("mode"):
        modes = payload["mode"]
        words += " " + " ".join(str(m) for m in (modes if isinstance(modes, list) else [modes]))
    return words


def commands(resource: str, *words: str, verbs: Sequence[str] = ("show", "add", "set", "rm")) -> list[str]:
    """``show lb vserver vs1``, ``add lb vserver vs1``... for an object or binding and its identity words."""
    tail = " ".join(words)
    return [f"{v} {entity(resource)} {tail}".rstrip() for v in verbs]


class NotPermitted(ApplianceError):
    """The account may not run a command the project needs (refused by the ADC, or found by the preview)."""

    def __init__(
        self,
        *,
        device: str,
        account: str,
        obj: str,
        operation: str,
        permissions: Sequence[str],
        status: int | None,
        vendor_message: str,
    ) -> None:
        super().__init__(
            device=device,
            obj=obj,
            operation=operation,
            status=status,
            code=f"errorcode {NOT_AUTHORIZED}" if status is not None else None,
            message=vendor_message,
        )
        self.account, self.permissions = account, list(permissions)
        listed = ", ".join(f"`{p}`" for p in self.permissions)
        answer = (
            f" (HTTP {status} errorcode {NOT_AUTHORIZED}: {vendor_message})" if status is not None else ""
        )
        self.args = (
            f"{device}: {operation} {obj} is not permitted for the account {account!r}{answer}: it needs a "
            f"command policy allowing {listed}. Bind the least-privilege policy to the account: "
            f"{README_SECTION}.",
        )


def refusal(device: Device, *, obj: str, operation: str, permission_: str, status: int) -> NotPermitted:
    """The client's report of a 2138 answer (the vendor's bracketed command left out)."""
    return NotPermitted(
        device=device.host,
        account=device.user,
        obj=obj,
        operation=operation,
        permissions=[permission_],
        status=status,
        vendor_message="Not authorized to execute this command",
    )


# -- the preview's check ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grants:
    """The account's command policies in the order the ADC applies them: (priority, allow, expression)."""

    rules: tuple[tuple[float, bool, re.Pattern[str]], ...]

    def allows(self, command: str) -> bool:
        for _priority, allow, pattern in self.rules:
            if pattern.search(command):
                return allow
        return False


def read_grants(client: Any, device: Device) -> Grants | None:
    """The account's own policies, or None when they cannot be known from here (see the module docstring).

    One round trip after the login for an account set up as the README says: the user entry, its bindings
    and the README's policy together; a second one only for bound policies of other names, together (the
    least-privilege policy lets the account read its own policy by name, not the collection)."""
    if device.user == SUPERUSER:
        return None
    user_what = f"system user {device.user}"
    with futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="citrix-grants") as pool:

        def policy(name: str) -> futures.Future[Any]:
            return pool.submit(client.get, "systemcmdpolicy", name, what=f"system cmdPolicy {name}")

        user_read = pool.submit(client.get, "systemuser", device.user, what=user_what)
        summary_read = pool.submit(client.get, "systemuser_binding", device.user, what=user_what)
        # ahead of the bindings; its answer counts only if they name it (a refusal or a miss otherwise tells
        # nothing: the account may have a policy of another name), and the pool's exit waits for it
        ahead = {README_POLICY: policy(README_POLICY)}
        try:
            user = first(user_read.result())
            summary = first(summary_read.result())
            if user is None or str(user.get("externalauth", "ENABLED")).upper() != "DISABLED":
                return None  # not a local account, or one whose groups may come from LDAP/RADIUS at login
            if summary is None or summary.get("systemuser_systemgroup_binding"):
                return None
            bound = [
                b for b in summary.get("systemuser_systemcmdpolicy_binding") or [] if isinstance(b, dict)
            ]
            names = [str(b.get("policyname")) for b in bound]
            policies = [ahead.pop(name) if name in ahead else policy(name) for name in names]
            rules: list[tuple[float, bool, re.Pattern[str]]] = []
            for binding, read in zip(bound, policies, strict=True):
                found = first(read.result())
                if found is None:
                    continue
                pattern = re.compile(str(found.get("cmdspec", "")), re.IGNORECASE)
                allow = str(found.get("action", "")).upper() == "ALLOW"
                rules.append((float(number(binding.get("priority")) or 0), allow, pattern))
        except (ProviderError, re.error):
            return None  # not readable by this account (2138), unreachable, or an expression re cannot read
    return Grants(tuple(sorted(rules, key=lambda rule: rule[0])))


class _Cache:
    """The grants of each (device, account), read at most once per provider process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._device_locks: dict[tuple[str, str], threading.Lock] = {}
        self._grants: dict[tuple[str, str], Grants | None] = {}

    def get(self, device: Device, read: Callable[[], Grants | None]) -> Grants | None:
        key = (device.url, device.user)
        with self._lock:
            lock = self._device_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._grants:
                self._grants[key] = read()
            return self._grants[key]

    def forget(self) -> None:
        with self._lock:
            self._grants.clear()


GRANTS = _Cache()


def require(client_of: Callable[[Device], Any], props: dict[str, Any], needs: Sequence[Need]) -> None:
    """Fail (``NotPermitted``) when the account's policies, as far as they can be read, refuse a need."""
    needs = [need for need in needs if all(isinstance(part, str) for part in need)]
    if not needs:
        return
    try:
        device = Device.from_props(props)
    except (KeyError, TypeError):
        return
    grants = GRANTS.get(device, lambda: _read(client_of, device))
    if grants is None:
        return
    missing = [(command, obj) for command, obj in needs if not grants.allows(command)]
    if missing:
        raise NotPermitted(
            device=device.host,
            account=device.user,
            obj=missing[0][1],
            operation="manage",
            permissions=[command for command, _ in missing],
            status=None,
            vendor_message="",
        )


def _read(client_of: Callable[[Device], Any], device: Device) -> Grants | None:
    try:
        client = client_of(device)
    except ProviderError:
        return None
    return read_grants(client, device)
