"""System: authentication (users, API keys, the API switch), global parameters, backup / restore, network.

Global parameters are ``get`` / ``set`` / ``getall`` (booleans shown as yes/no, ``version`` read-only); API
keys belong to the user who added them; ``backup`` is a gzip of the configuration and ``restore`` takes it
back by type bitmask (1 base, 2 VS; docs/kemp.md#configuration-persistence). ``showiface`` lists the unit's
interfaces (``emulators.kemp.network``)."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
from typing import Any

from emulators.kemp import exceptions as err
from emulators.kemp.base import KempBase
from emulators.kemp.exceptions import KempError
from emulators.kemp.results import Args, BinaryResult, Message, ParamsResult, Result, parse_bool, parse_int
from emulators.kemp.types import BOOLEAN_GLOBALS, READ_ONLY_GLOBALS, VERSION


class SystemMixin(KempBase):
    # -- authentication ----------------------------------------------------------------------------
    @property
    def api_enabled(self) -> bool:
        with self.lock:
            return bool(self.running["globals"].get("enableapi", "yes") == "yes")

    def set_api_enabled(self, enabled: bool) -> None:
        """What the WUI's "Enable API Interface" checkbox does (twin admin only)."""
        with self.lock:
            self.running["globals"]["enableapi"] = "yes" if enabled else "no"
            self._commit()

    def check_password(self, user: str, password: str) -> bool:
        expected = self.users.get(user)
        if not expected:  # unknown, or a certificate-only user (useraddlocal nopass): no password login
            return False
        return secrets.compare_digest(expected.encode(), password.encode())

    def check_apikey(self, key: str) -> str | None:
        with self.lock:
            user = self.running["apikeys"].get(key)
            return str(user) if user is not None else None

    # -- global parameters ------------------------------------------------------------------------------
    def _cmd_get(self, args: Args, **_: Any) -> Result:
        name = (args.get("param") or "").strip().lower()
        if not name:
            raise err.missing("param")
        globals_: dict[str, str] = self.running["globals"]
        if name not in globals_:
            raise err.unknown_parameter()
        return ParamsResult([(name, globals_[name])])

    def _cmd_getall(self, args: Args, **_: Any) -> Result:
        return ParamsResult(sorted(self.running["globals"].items()))

    def _cmd_set(self, args: Args, **_: Any) -> Result:
        name = (args.get("param") or "").strip().lower()
        if not name:
            raise err.missing("param")
        value = args.get("value")
        if value is None:
            raise err.missing("value")
        globals_: dict[str, str] = self.running["globals"]
        if name not in globals_:
            raise err.unknown_parameter()
        if name in READ_ONLY_GLOBALS:
            raise err.read_only_parameter()
        if name in BOOLEAN_GLOBALS:
            value = "yes" if parse_bool(name, value) else "no"
        globals_[name] = value
        return Message()

    # -- API keys ------------------------------------------------------------------------------------
    def _cmd_addapikey(self, args: Args, user: str = "bal", **_: Any) -> Result:
        key = secrets.token_urlsafe(24)
        self.running["apikeys"][key] = user
        return ParamsResult([("key", key)])

    def _cmd_listapikeys(self, args: Args, user: str = "bal", **_: Any) -> Result:
        keys = [k for k, owner in self.running["apikeys"].items() if owner == user]
        return ParamsResult([("key", k) for k in keys])

    def _cmd_delapikey(self, args: Args, user: str = "bal", **_: Any) -> Result:
        key = args.get("key") or args.get("apikey")
        if not key:
            raise err.missing("key")
        if self.running["apikeys"].get(key) != user:
            raise KempError(422, "Unknown API key")  # assumed text
        del self.running["apikeys"][key]
        return Message()

    # -- backup / restore -------------------------------------------------------------------------------
    def _cmd_backup(self, args: Args, **_: Any) -> Result:
        config = {
            "globals": self.running["globals"],
            "vs": self.running["vs"],
            "next_rs_index": self.running["next_rs_index"],
        }
        return BinaryResult(gzip.compress(json.dumps(config, sort_keys=True).encode()))

    def _cmd_restore(self, args: Args, body: bytes = b"", **_: Any) -> Result:
        kind_raw = args.get("type")
        if not kind_raw:
            raise err.missing("type")
        kind = parse_int("type", kind_raw, (1, 15))
        data = args.get("data")
        payload = base64.b64decode(data) if data else body
        try:
            config = json.loads(gzip.decompress(payload))
        except (OSError, ValueError):
            raise KempError(422, "Invalid backup file") from None  # assumed text
        if kind & 1:
            restored = dict(config["globals"])
            restored["version"] = VERSION
            self.running["globals"] = restored
        if kind & 2:
            self.running["vs"] = config["vs"]
            self.running["next_rs_index"] = max(self.running["next_rs_index"], config["next_rs_index"])
        return Message()

    # -- network interfaces -------------------------------------------------------------------------
    def _cmd_showiface(self, args: Args, **_: Any) -> Result:
        """Every interface, or the one with ``interface=<Id>`` (read-only in the twin)."""
        raw = (args.get("interface") or "").strip()
        if not raw:
            return ParamsResult([("Interface", [iface.view() for iface in self.interfaces])])
        found = next((i for i in self.interfaces if raw.isdigit() and i.index == int(raw)), None)
        if found is None:
            raise err.invalid_value("interface")
        return ParamsResult(found.view())
