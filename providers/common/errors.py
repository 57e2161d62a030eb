"""Errors the providers report: device, object, status, vendor code and message; never a secret.

The Python dynamic provider host turns an exception into a gRPC error whose details are
``traceback.format_exc()``, which the CLI prints. Users must see the appliance's answer, not a Python
stack trace, so inside the provider host (and only there) the traceback depth is set to zero: the
details then read ``providers.common.errors.ApplianceError: <message>``.
"""

from __future__ import annotations

import sys


def _in_dynamic_provider_host() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return bool(spec and spec.name in ("pulumi.dynamic.__main__", "pulumi.dynamic"))


if _in_dynamic_provider_host():
    sys.tracebacklimit = 0


class ProviderError(Exception):
    """Base of every error a provider raises on purpose."""


class ApplianceError(ProviderError):
    """The appliance refused or failed a request."""

    def __init__(
        self,
        *,
        device: str,
        obj: str,
        operation: str,
        status: int | None,
        code: str | None,
        message: str,
    ) -> None:
        self.device, self.obj, self.operation = device, obj, operation
        self.status, self.code, self.vendor_message = status, code, message
        status_text = f"HTTP {status}" if status is not None else "no response"
        code_text = f" {code}" if code else ""
        super().__init__(f"{device}: {operation} {obj} failed: {status_text}{code_text}: {message}")


def login_reply_without(credential: str, *, device: str, user: str, status: int) -> ApplianceError:
    """A login that the appliance answered with success but without the session credential."""
    return ApplianceError(
        device=device,
        obj=f"user {user}",
        operation="log in as",
        status=status,
        code=None,
        message=f"the login reply carried no {credential}",
    )


class OwnershipError(ProviderError):
    """The object exists on the appliance but belongs to someone else (another stack or a person)."""

    def __init__(self, *, device: str, obj: str, expected: str, found: str | None, action: str) -> None:
        self.device, self.obj, self.expected, self.found = device, obj, expected, found
        owner = f"marked {found!r}" if found else "not marked as managed by this project"
        super().__init__(
            f"{device}: {obj} already exists and is {owner}; refusing to {action} it because it is not "
            f"owned by {expected!r}. Rename the cluster, remove the object, or set its marker to "
            f"{expected!r} to adopt it on purpose."
        )


class ConfigurationError(ProviderError):
    """The provider is missing something it needs from stack config (for example a secret)."""


class DeviceStateError(ProviderError):
    """The appliance is not in the state a step needs: an object missing right after it was written, or
    one that must exist first (another object's target). The message names the device and the object."""

    def __init__(self, *, device: str, obj: str, problem: str) -> None:
        self.device, self.obj, self.problem = device, obj, problem
        super().__init__(f"{device}: {obj} {problem}")


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it, outermost first: urllib3's ``reason``, an exception given as the first
    argument (requests wraps that way), ``__cause__`` and ``__context__``."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        nxt = getattr(current, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nxt or current.__cause__ or current.__context__
    return chain


def connection_reason(exc: BaseException) -> str:
    """The root cause of a requests/urllib3 failure in a few words (no URL dumps, no library noise)."""
    deepest = exception_chain(exc)[-1]
    text = str(deepest)
    for marker in (
        "Connection refused",
        "timed out",
        "Name or service not known",
        "certificate verify failed",
        "Connection reset by peer",
        "No route to host",
        "Remote end closed connection",
    ):
        if marker.lower() in text.lower():
            return marker.lower() if marker != "Connection refused" else "connection refused"
    text = text.split("): ")[-1] if "): " in text else text
    return text[:200]
