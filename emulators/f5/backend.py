"""The BIG-IP twin's state and rules: objects, references, side effects, tokens, files, transactions.

The HTTP layer (app.py) turns requests into calls of ``F5Backend.handle`` and renders what it returns or
raises. Everything that makes a BIG-IP a BIG-IP lives here (docs/f5.md#twin-fidelity-index):

- objects per collection keyed by full path, stamped with a device-global ``generation``
(docs/f5.md#the-generation-counter);
- built-in parents that exist from the factory and cannot be deleted (docs/f5.md#built-in-parents);
- references checked at write time, "in use" refusals with mcpd's codes
(docs/f5.md#references-and-in-use-refusals);
- side effects: an address-named pool member creates a node that stays behind, a virtual creates its
  virtual-address that goes away with the last virtual using it
  (docs/f5.md#implicit-nodes-and-virtual-addresses);
- list properties replace the whole list on PATCH, read-only keys ignored on PUT
(docs/f5.md#list-properties-and-read-only-keys);
- tokens with their lifetime, the 36000 s ceiling and the 100-per-user cap (docs/f5.md#tokens);
- transactions queued and applied atomically (docs/f5.md#transactions-save-and-config-sync); ``save sys
config``, ``config-sync``.

``F5Backend`` composes one mixin per concern, as moto composes its large backends: ``store`` (objects,
generations, rendering, query options, references), ``ltm`` (writes, sub-collections, side effects),
``files`` (uploads, certificates and keys), ``system`` (save, config-sync), ``transactions``,
``tokens`` (users, tokens) and ``roles`` (each user's role per partition, checked on every write,
docs/f5.md#least-privilege-account). This module keeps the state they share and routes each REST call.
"""

from __future__ import annotations

import copy
import itertools
import time
from pathlib import Path
from typing import Any

from emulators.f5.exceptions import RestError
from emulators.f5.files import FilesAndCertificates
from emulators.f5.ltm import LtmObjects
from emulators.f5.query import VERSION, _untilde
from emulators.f5.roles import ALL_PARTITIONS, DEFAULT_ACCESS, UserRoles
from emulators.f5.system import SysConfig
from emulators.f5.tables import make_types
from emulators.f5.tokens import DEFAULT_USERS, Token, TokenAuth, _LoginFailed
from emulators.f5.transactions import Transaction, Transactions
from emulators.f5.types import ObjectType

__all__ = ["VERSION", "F5Backend", "_LoginFailed"]

Obj = dict[str, Any]


class F5Backend(LtmObjects, FilesAndCertificates, SysConfig, Transactions, TokenAuth, UserRoles):
    vendor = "f5"

    def __init__(
        self,
        data_dir: Path | str | None = None,
        users: dict[str, str] | None = None,
        device_groups: list[str] | None = None,
        hostname: str = "bigip1.local",
        partition_access: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.types: dict[str, ObjectType] = make_types()
        self.device_group_names = list(device_groups or ["aovpn-failover"])
        self.hostname = hostname
        super().__init__(data_dir)
        self.users = dict(users or DEFAULT_USERS)
        #: user -> {partition or all-partitions: role}; a user without an entry has no access
        self.partition_access = {
            u: dict((partition_access or {}).get(u) or DEFAULT_ACCESS.get(u) or {ALL_PARTITIONS: "no-access"})
            for u in self.users
        }
        self.tokens: dict[str, Token] = {}
        self.files: dict[
            str, bytearray
        ] = {}  # /var/config/rest/downloads survives reboots (disk, not config)
        self.transactions: dict[int, Transaction] = {}
        self._trans_ids = itertools.count(int(time.time() * 1_000_000))
        self.sync_count = 0
        #: device group -> configuration generation last pushed to the peers (sync state, not configuration)
        self.synced: dict[str, int] = {}
        self.login_failures: dict[str, int] = {}

    # -- factory configuration ---------------------------------------------------------------------
    def factory_config(self) -> Obj:
        objects: dict[str, dict[str, Obj]] = {c: {} for c in self.types}
        for collection, spec in self.types.items():
            for name in spec.builtins:
                obj = copy.deepcopy(spec.defaults)
                obj.update({"name": name, "partition": "Common", "generation": 1, "_builtin": True})
                if collection.startswith(("ltm/monitor", "ltm/persistence", "ltm/profile")):
                    obj["defaultsFrom"] = "none"
                objects[collection][f"/Common/{name}"] = obj
        return {
            "objects": objects,
            "generation": 1,
            "device_groups": {name: {"type": "sync-failover"} for name in self.device_group_names},
        }

    def on_reboot(self) -> None:
        self.tokens.clear()
        self.transactions.clear()

    def runtime_state(self) -> Obj:
        return {
            "tokens_per_user": {u: sum(1 for t in self.tokens.values() if t.user == u) for u in self.users},
            "open_transactions": len(self.transactions),
            "files": sorted(self.files),
            "config_syncs": self.sync_count,
        }

    # -- the REST surface ------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """One iControl REST call under /mgmt/tm/ (path without that prefix and without trailing slash)."""
        with self.lock:
            if path == "sys/config":
                return self._sys_config(method, body)
            if path == "cm":
                return self._cm(method, body)
            route = self._route(path)
            if route is None:
                raise RestError(
                    404,
                    f"URI path /mgmt/tm/{path} not registered. Please verify URI is supported and wait for "
                    "/available suffix to be responsive.",
                )
            collection, full, sub, item = route
            spec = self.types[collection]
            if collection in ("sys/crypto/cert", "sys/crypto/key") and method == "POST" and full is None:
                return 200, self.install(collection.rsplit("/", 1)[1], body or {})
            if sub is None:
                if full is None:
                    if method == "GET":
                        return 200, self.list_collection(collection, query)
                    if method == "POST":
                        return 200, self.create(collection, body)
                    raise RestError(
                        405, f"Method {method} is not allowed on collection /mgmt/tm/{collection}"
                    )
                if method == "GET":
                    return 200, self.get(collection, full, query)
                if method in ("PATCH", "PUT"):
                    return 200, self.modify(collection, full, body, replace=method == "PUT")
                if method == "DELETE":
                    self.delete(collection, full)
                    return 200, None
                raise RestError(405, f"Method {method} is not allowed")
            assert full is not None  # a sub-collection always hangs off one object
            return self._sub(method, spec, collection, full, sub, item, query, body)

    def _route(self, path: str) -> tuple[str, str | None, str | None, str | None] | None:
        """``ltm/pool/~Common~p/members/~Common~1.1.1.1:80``
        -> (``ltm/pool``, ``/Common/p``, ``members``, ``/Common/1.1.1.1:80``)."""
        parts = path.split("/")
        for cut in range(len(parts), 0, -1):
            collection = "/".join(parts[:cut])
            if (
                collection in self.types
                and "/" in collection
                and not collection.endswith(("/members", "/profiles", "/policies"))
            ):
                rest = parts[cut:]
                if not rest:
                    return collection, None, None, None
                full = _untilde(rest[0])
                if len(rest) == 1:
                    return collection, full, None, None
                sub = rest[1]
                if sub not in self.types[collection].subcollections:
                    return None
                if len(rest) == 2:
                    return collection, full, sub, None
                if len(rest) == 3:
                    return collection, full, sub, _untilde(rest[2])
                return None
        return None
