"""Authentication on the BIG-IP twin: local users, login tokens and their lifetime rules.

Basic credentials are checked against the seeded users; ``POST /mgmt/shared/authn/login`` issues a token in
BIG-IP's exact reply shape; tokens live 1200 s, can be extended by PATCH up to 36000 s, and a normal user may
hold at most 100 (``admin`` excepted) (docs/f5.md#authentication, docs/f5.md#tokens). Tokens are runtime
state: a reboot drops them."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from emulators.common import TwinBackend
from emulators.f5.exceptions import RestError

Obj = dict[str, Any]
TOKEN_DEFAULT_S = 1200
TOKEN_MAX_S = 36000
TOKENS_PER_USER = 100
#: Seeded users and passwords (twin only); their roles: ``emulators.f5.roles.DEFAULT_ACCESS``.
DEFAULT_USERS = {
    "admin": "admin",
    "automation": "automation-pass",
    "reader": "reader-pass",
    "tenant": "tenant-pass",
}


@dataclass
class Token:
    token: str
    user: str
    timeout: int
    start: float
    address: str

    @property
    def expires(self) -> float:
        return self.start + self.timeout

    def public(self) -> Obj:
        start_us = int(self.start * 1_000_000)
        return {
            "token": self.token,
            "name": self.token,
            "userName": self.user,
            "authProviderName": "tmos",
            "user": {
                "link": f"https://localhost/mgmt/cm/system/authn/providers/tmos/1/users/{_uuid(self.user)}"
            },
            "groupReferences": [],
            "timeout": self.timeout,
            "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000%z", time.localtime(self.start)),
            "address": self.address,
            "partition": "[All]",
            "generation": 1,
            "lastUpdateMicros": start_us,
            "expirationMicros": start_us + self.timeout * 1_000_000,
            "kind": "shared:authz:tokens:authtokenitemstate",
            "selfLink": f"https://localhost/mgmt/shared/authz/tokens/{self.token}",
        }


def _uuid(user: str) -> str:
    digest = hashlib.sha1(user.encode(), usedforsecurity=False).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


class _LoginFailed(Exception):
    """Login refused; carries the request body with the password stripped."""


class TokenAuth(TwinBackend):
    """Users and tokens (a mixin of ``F5Backend``)."""

    users: dict[str, str]
    tokens: dict[str, Token]

    def check_password(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        return expected is not None and secrets.compare_digest(expected.encode(), password.encode())

    def login(self, body: Obj, address: str) -> Obj:
        user = str(body.get("username", ""))
        password = str(body.get("password", ""))
        if not self.check_password(user, password):
            stripped = {k: v for k, v in body.items() if k != "password"}
            stripped.update({"generation": 0, "lastUpdateMicros": 0})
            import json

            raise _LoginFailed(json.dumps(stripped))
        with self.lock:
            now = time.time()
            self._reap(now)
            if user != "admin" and sum(1 for t in self.tokens.values() if t.user == user) >= TOKENS_PER_USER:
                raise RestError(400, f"user {_uuid(user)} has reached maximum active login tokens")
            value = base64.b32encode(secrets.token_bytes(16)).decode()[:26]
            token = Token(value, user, TOKEN_DEFAULT_S, now, address)
            self.tokens[value] = token
        return {
            "username": user,
            "loginReference": {
                "link": f"https://localhost/mgmt/cm/system/authn/providers/tmos/{_uuid('tmos')}/login"
            },
            "loginProviderName": "tmos",
            "token": token.public(),
            "generation": 0,
            "lastUpdateMicros": 0,
        }

    def token_user(self, value: str) -> str | None:
        with self.lock:
            token = self.tokens.get(value)
            if token is None or token.expires <= time.time():
                return None
            return token.user

    def _reap(self, now: float) -> None:
        for value in [v for v, t in self.tokens.items() if t.expires <= now]:
            del self.tokens[value]

    def token_op(self, method: str, value: str, caller: str, body: Obj) -> Obj | None:
        with self.lock:
            token = self.tokens.get(value)
            if token is None or token.expires <= time.time():
                raise RestError(404, f"Token {value} does not exist.")
            if token.user != caller:
                raise RestError(400, "Only the owner of a token may read, change or delete it.")
            if method == "DELETE":
                del self.tokens[value]
                return token.public()
            if method == "PATCH":
                try:
                    timeout = int(str(body.get("timeout")))
                except ValueError:
                    raise RestError(400, "timeout must be a number of seconds") from None
                if timeout > TOKEN_MAX_S:
                    raise RestError(400, f"Auth-token absolute timeout ({TOKEN_MAX_S} seconds) exceeded")
                token.timeout = timeout
            return token.public()

    def expire_tokens(self) -> int:
        with self.lock:
            for token in self.tokens.values():
                token.start -= token.timeout + 1
            return len(self.tokens)
