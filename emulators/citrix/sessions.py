"""Citrix twin sessions: NITRO logins, per-session idle expiry (docs/citrix.md,
docs/citrix.md#authentication-and-sessions), logout.

Runtime-only state: a reboot drops every session (``on_reboot``); ``expire_sessions`` is the admin
route that idles them all out at once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from emulators.citrix.base import CitrixBase
from emulators.citrix.exceptions import NitroError, required_missing

DEFAULT_USERS = {
    "nsroot": "nsroot",
    "automation": "automation-pass",
    "auditor": "auditor-pass",
    "other": "other-pass",
}
DEFAULT_IDLE_S = 1800


@dataclass
class Session:
    sessionid: str
    user: str
    idle: float
    last: float


class SessionsMixin(CitrixBase):
    users: dict[str, str]
    sessions: dict[str, Session]

    def on_reboot(self) -> None:
        self.sessions.clear()

    # -- authentication ------------------------------------------------------------------------------
    def check_password(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        return expected is not None and secrets.compare_digest(expected.encode(), password.encode())

    def login(self, body: Any) -> str:
        login = (body or {}).get("login") if isinstance(body, dict) else None
        if not isinstance(login, dict):
            raise required_missing("username")
        user, password = str(login.get("username", "")), str(login.get("password", ""))
        if not self.check_password(user, password):
            raise NitroError(401, 354, "Invalid username or password")
        idle = float(login.get("timeout") or DEFAULT_IDLE_S)
        sessionid = "##" + secrets.token_hex(32).upper()
        with self.lock:
            self.sessions[sessionid] = Session(sessionid, user, idle, time.monotonic())
        return sessionid

    def session_user(self, sessionid: str) -> str:
        with self.lock:
            session = self.sessions.get(sessionid)
            if session is None or time.monotonic() - session.last > session.idle:
                self.sessions.pop(sessionid, None)
                raise NitroError(401, 444, "Session expired or killed. Please login again")
            session.last = time.monotonic()
            return session.user

    def logout(self, sessionid: str | None) -> None:
        with self.lock:
            if sessionid:
                self.sessions.pop(sessionid, None)

    def expire_sessions(self) -> int:
        with self.lock:
            count = len(self.sessions)
            for session in self.sessions.values():
                session.last -= session.idle + 1
            return count
