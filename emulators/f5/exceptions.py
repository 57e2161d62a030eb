"""The errors a BIG-IP answers with, in its two JSON families plus the management httpd's HTML 401.

docs/f5.md#error-bodies: configuration errors come from mcpd/icrd as ``{"code", "message": "<8
hex>:<severity>: text", "errorStack": [], "apiError": n}``; authentication and routing errors come from
restjavad as ``{"code", "message", "referer", "restOperationId", "kind": ":resterrorresponse"}``. A bad Basic
password is answered by httpd with an HTML page."""

from __future__ import annotations

from typing import Any


class F5Error(Exception):
    """A configuration error (icrd/mcpd family)."""

    def __init__(self, status: int, message: str, api_error: int = 3) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.api_error = api_error

    def body(self, referer: str) -> dict[str, Any]:
        return {"code": self.status, "message": self.message, "errorStack": [], "apiError": self.api_error}


class RestError(F5Error):
    """An authentication or routing error (restjavad family)."""

    def body(self, referer: str) -> dict[str, Any]:
        return {
            "code": self.status,
            "message": self.message,
            "referer": referer,
            "restOperationId": _next_operation_id(),
            "kind": ":resterrorresponse",
        }


class HttpdAuthError(Exception):
    """Bad Basic credentials: httpd's HTML 401 "F5 Authorization Required" (not JSON)."""


class NotFound(F5Error):
    def __init__(self, display: str, full_path: str) -> None:
        super().__init__(404, f"01020036:3: The requested {display} ({full_path}) was not found.")


class AlreadyExists(F5Error):
    def __init__(self, display: str, full_path: str, partition: str) -> None:
        super().__init__(
            409, f"01020066:3: The requested {display} ({full_path}) already exists in partition {partition}."
        )


class InUse(F5Error):
    """01070265: an object referenced by another cannot be deleted (K23011574)."""

    def __init__(self, display: str, full_path: str, user_display: str, user_path: str) -> None:
        super().__init__(
            400,
            f"01070265:3: The {display} ({full_path}) cannot be deleted because it is in use by a "
            f"{user_display} ({user_path}).",
        )


class Unsupported(F5Error):
    """A property the object type does not have (icrd rejects unknown JSON pairs)."""

    def __init__(self, item: str, key: str, value: Any) -> None:
        import json

        super().__init__(
            400,
            f"Found unexpected json pair at configuration item {item}. "
            f"The json pair {json.dumps(key)}:{json.dumps(value)} is not supported.",
            api_error=1,
        )


class BadValue(F5Error):
    def __init__(self, message: str) -> None:
        super().__init__(400, message, api_error=26214401)


_OPERATION_ID = [7945916]


def _next_operation_id() -> int:
    _OPERATION_ID[0] += 1
    return _OPERATION_ID[0]
