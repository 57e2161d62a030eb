"""The BIG-IP twin's state and rules: objects, references, side effects, tokens, files, transactions.

The HTTP layer (app.py) turns requests into calls of ``F5Backend.handle`` and renders what it returns
or raises. Everything that makes a BIG-IP a BIG-IP lives here (reference/f5.md, fidelity traps):

- objects per collection keyed by full path, stamped with a device-global ``generation`` (trap 10);
- built-in parents that exist from the factory and cannot be deleted (trap 6);
- references checked at write time, "in use" refusals with mcpd's codes (trap 12);
- side effects: an address-named pool member creates a node that stays behind, a virtual creates its
  virtual-address that goes away with the last virtual using it (trap 11);
- list properties replace the whole list on PATCH, read-only keys ignored on PUT (trap 9);
- tokens with their lifetime, the 36000 s ceiling and the 100-per-user cap (trap 14);
- transactions queued and applied atomically (trap 15); ``save sys config``, ``config-sync``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulators.common import TwinBackend
from emulators.f5.exceptions import AlreadyExists, BadValue, F5Error, InUse, NotFound, RestError
from emulators.f5.types import (
    PROFILE_PROTOCOLS,
    PROFILE_TYPES,
    ObjectType,
    make_types,
    member_address,
    parse_destination,
    qualify,
    split_path,
)

Obj = dict[str, Any]
VERSION = "17.1.0.1"
TOKEN_DEFAULT_S = 1200
TOKEN_MAX_S = 36000
TOKENS_PER_USER = 100
DEFAULT_USERS = {"admin": "admin", "automation": "automation-pass"}


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


@dataclass
class Transaction:
    trans_id: int
    commands: list[Obj] = field(default_factory=list)
    state: str = "STARTED"
    failure: str = ""


def _uuid(user: str) -> str:
    digest = hashlib.sha1(user.encode(), usedforsecurity=False).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


class F5Backend(TwinBackend):
    vendor = "f5"

    def __init__(
        self,
        data_dir: Path | str | None = None,
        users: dict[str, str] | None = None,
        device_groups: list[str] | None = None,
        hostname: str = "bigip1.local",
    ) -> None:
        self.types: dict[str, ObjectType] = make_types()
        self.device_group_names = list(device_groups or ["aovpn-failover"])
        self.hostname = hostname
        super().__init__(data_dir)
        self.users = dict(users or DEFAULT_USERS)
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

    # -- helpers -----------------------------------------------------------------------------------
    def objects(self, collection: str) -> dict[str, Obj]:
        result: dict[str, Obj] = self.running["objects"].setdefault(collection, {})
        return result

    def find(self, collections: tuple[str, ...], full_path: str) -> Obj | None:
        for collection in collections:
            obj = self.objects(collection).get(full_path)
            if obj is not None:
                return obj
        return None

    def _bump(self) -> int:
        self.running["generation"] = int(self.running.get("generation", 1)) + 1
        return int(self.running["generation"])

    # -- authentication ----------------------------------------------------------------------------
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

    # -- files and crypto --------------------------------------------------------------------------
    def upload(self, filename: str, content_range: str, data: bytes) -> Obj:
        try:
            span, _, total_text = content_range.partition("/")
            start_text, _, end_text = span.partition("-")
            start, end, total = int(start_text), int(end_text), int(total_text)
        except ValueError:
            raise RestError(400, f"Invalid Content-Range header: {content_range!r}") from None
        if end - start + 1 != len(data) or end >= total:
            raise RestError(400, "Content-Range does not match the body length")
        with self.lock:
            buf = self.files.setdefault(filename, bytearray())
            if start == 0:
                buf.clear()
            if len(buf) != start:
                raise RestError(
                    400, f"Chunk starting at {start} does not follow the {len(buf)} bytes received"
                )
            buf.extend(data)
            return {
                "remainingByteCount": total - len(buf),
                "usedChunks": {"0": len(buf)},
                "totalByteCount": total,
                "localFilePath": f"/var/config/rest/downloads/{filename}",
                "temporaryFilePath": f"/var/config/rest/downloads/tmp/{filename}",
                "generation": 0,
                "lastUpdateMicros": int(time.time() * 1_000_000),
            }

    def _local_file(self, path: str) -> bytes:
        prefix = "/var/config/rest/downloads/"
        name = path.removeprefix("file://")
        if not name.startswith(prefix) or name[len(prefix) :] not in self.files:
            raise F5Error(400, f"01070712:3: File not found: {name}")
        return bytes(self.files[name[len(prefix) :]])

    def install(self, kind: str, body: Obj) -> Obj:
        """``POST sys/crypto/cert|key {"command": "install", "name", "from-local-file"}``."""
        if body.get("command") != "install":
            raise BadValue(f"'{body.get('command')}' is not a supported command for sys crypto {kind}")
        name = body.get("name")
        if not name or not body.get("from-local-file"):
            raise BadValue(f"sys crypto {kind} install needs name and from-local-file")
        full = qualify(name)
        data = self._local_file(str(body["from-local-file"]))
        facts = _cert_facts(data) if kind == "cert" else _key_facts(data)
        if facts is None:
            what = "certificate" if kind == "cert" else "key"
            raise F5Error(
                400, f"01070313:3: Error reading {what} PEM file /var/config/rest/downloads/... for {full}"
            )
        partition, short = split_path(full)
        with self.lock:
            gen = self._bump()
            # "install" replaces an object of the same name (tmsh install semantics) [?]
            obj: Obj = {"name": short, "partition": partition, "generation": gen, **facts}
            crypto, file_collection = (
                ("sys/crypto/cert", "sys/file/ssl-cert")
                if kind == "cert"
                else ("sys/crypto/key", "sys/file/ssl-key")
            )
            self.objects(crypto)[full] = obj
            self.objects(file_collection)[full] = obj
            return self.render(crypto, full, obj)

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
                and not collection.endswith(("/members", "/profiles"))
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

    # -- collections and objects -------------------------------------------------------------------
    def render(self, collection: str, full: str, obj: Obj, query: dict[str, str] | None = None) -> Obj:
        spec = self.types[collection]
        out: Obj = {"kind": spec.kind}
        shown = spec.render({k: v for k, v in obj.items() if not k.startswith("_")})
        partition, name = split_path(full)
        shown["name"], shown["partition"] = name, partition
        out.update(
            {"name": name, "partition": partition, "fullPath": full, "generation": obj.get("generation", 1)}
        )
        link = f"https://localhost/mgmt/tm/{collection}/{_tilde(full)}"
        out["selfLink"] = _self_link(link, query)
        for key, value in sorted(shown.items()):
            if key not in out:
                out[key] = copy.deepcopy(value)
        for sub in spec.subcollections:
            ref: Obj = {"link": f"{link}/{sub}?ver={VERSION}", "isSubcollection": True}
            if query and query.get("expandSubcollections") == "true":
                items = self._sub_items(collection, full, obj, sub)
                if items:
                    ref["items"] = items
            out[f"{sub}Reference"] = ref
        if collection == "ltm/virtual":
            for entry in out.get("persist") or []:
                entry["nameReference"] = {
                    "link": f"https://localhost/mgmt/tm/ltm/persistence/~{entry['partition']}~{entry['name']}?ver={VERSION}"
                }
        if collection == "ltm/pool" and "monitor" not in out:
            pass
        return out

    def list_collection(self, collection: str, query: dict[str, str]) -> Obj:
        spec = self.types[collection]
        items = []
        wanted = _partition_filter(query.get("$filter"))
        for full, obj in sorted(self.objects(collection).items()):
            if wanted and split_path(full)[0] != wanted:
                continue
            items.append(self._select(self.render(collection, full, obj, query), query))
        out: Obj = {
            "kind": spec.collection_kind,
            "selfLink": _self_link(f"https://localhost/mgmt/tm/{collection}", query),
        }
        if items:  # an empty collection has no "items" key
            out["items"] = items
        return out

    def get(self, collection: str, full: str, query: dict[str, str]) -> Obj:
        obj = self.objects(collection).get(full)
        if obj is None:
            raise NotFound(self.types[collection].display, full)
        return self._select(self.render(collection, full, obj, query), query)

    @staticmethod
    def _select(obj: Obj, query: dict[str, str]) -> Obj:
        select = query.get("$select")
        if not select:
            return obj
        keep = {s.strip() for s in select.split(",")}
        return {k: v for k, v in obj.items() if k in keep}

    def _identity(self, spec: ObjectType, body: Any) -> str:
        if not isinstance(body, dict):
            raise F5Error(400, "Found invalid JSON body in the request.", api_error=1)
        name = body.get("name")
        if not name:
            raise BadValue(f"01070734:3: Configuration error: a name is required to create a {spec.display}")
        name = str(name)
        if name.startswith("/"):
            partition, short = split_path(name)
        else:
            partition, short = str(body.get("partition") or "Common"), name
        if "/" in short or "~" in short:
            raise BadValue(f'01070734:3: Configuration error: invalid name "{name}"')
        if partition != "Common" and f"/{partition}" not in self.running.get("folders", {"/Common": True}):
            raise F5Error(400, f"The requested folder (/{partition}) was not found.", api_error=26214401)
        return f"/{partition}/{short}"

    def create(self, collection: str, body: Any) -> Obj:
        spec = self.types[collection]
        full = self._identity(spec, body)
        if full in self.objects(collection) or (
            collection.startswith("ltm/monitor/")
            and self.find(tuple(c for c in self.types if c.startswith("ltm/monitor/")), full)
        ):
            raise AlreadyExists(spec.display, full, split_path(full)[0])
        clean = spec.check_keys(body, full)
        obj = copy.deepcopy(spec.defaults)
        obj.update(clean)
        obj["name"], obj["partition"] = split_path(full)[1], split_path(full)[0]
        subs = {s: obj.pop(s) for s in spec.subcollections if s in obj}
        obj = spec.normalise(self, full, obj, creating=True)
        obj["_sub"] = {s: {} for s in spec.subcollections}
        self._apply_subs(collection, full, obj, subs, creating=True)
        self._after_write(collection, full, obj)
        obj["generation"] = self._bump()
        self.objects(collection)[full] = obj
        self._side_effects_created(collection, full, obj)
        return self.render(collection, full, obj)

    def modify(self, collection: str, full: str, body: Any, *, replace: bool) -> Obj:
        spec = self.types[collection]
        current = self.objects(collection).get(full)
        if current is None:
            raise NotFound(spec.display, full)
        if current.get("_builtin"):
            raise F5Error(
                400, f"01070734:3: Configuration error: the built-in {spec.display} {full} cannot be modified"
            )
        if not isinstance(body, dict):
            raise F5Error(400, "Found invalid JSON body in the request.", api_error=1)
        clean = spec.check_keys(body, full)
        clean.pop("name", None)
        clean.pop("partition", None)
        if not clean and not replace:
            raise F5Error(400, "one or more properties must be specified", api_error=1)
        if replace:
            merged = copy.deepcopy(spec.defaults)
            for keep in ("address", "destination"):
                if keep in current and keep not in clean:
                    merged[keep] = current[keep]
        else:
            merged = {k: copy.deepcopy(v) for k, v in current.items() if not k.startswith("_")}
        if "address" in clean and "address" in current and collection == "ltm/node":
            if str(clean["address"]) != str(current["address"]):
                raise BadValue(
                    f"01070734:3: Configuration error: the address of node {full} cannot be modified"
                )
        merged.update(clean)
        merged["name"], merged["partition"] = split_path(full)[1], split_path(full)[0]
        subs = {s: merged.pop(s) for s in spec.subcollections if s in merged}
        merged = spec.normalise(self, full, merged, creating=False)
        merged["_sub"] = copy.deepcopy(current.get("_sub") or {})
        self._apply_subs(collection, full, merged, subs, creating=False)
        self._after_write(collection, full, merged)
        merged["generation"] = self._bump()
        old = self.objects(collection)[full]
        self.objects(collection)[full] = merged
        self._side_effects_modified(collection, full, old, merged)
        return self.render(collection, full, merged)

    def delete(self, collection: str, full: str) -> None:
        spec = self.types[collection]
        obj = self.objects(collection).get(full)
        if obj is None:
            raise NotFound(spec.display, full)
        if obj.get("_builtin"):
            raise F5Error(
                400, f"01070734:3: Configuration error: the built-in {spec.display} {full} cannot be deleted"
            )
        self._refuse_if_used(collection, full)
        del self.objects(collection)[full]
        if collection in ("sys/crypto/cert", "sys/file/ssl-cert"):
            self.objects("sys/crypto/cert").pop(full, None)
            self.objects("sys/file/ssl-cert").pop(full, None)
        if collection in ("sys/crypto/key", "sys/file/ssl-key"):
            self.objects("sys/crypto/key").pop(full, None)
            self.objects("sys/file/ssl-key").pop(full, None)
        self._bump()
        self._side_effects_deleted(collection, full, obj)

    def _refuse_if_used(self, collection: str, full: str) -> None:
        spec = self.types[collection]
        # sys/crypto/cert and sys/file/ssl-cert are two views of one file (same for keys)
        aliases = {
            "sys/crypto/cert": "sys/file/ssl-cert",
            "sys/file/ssl-cert": "sys/crypto/cert",
            "sys/crypto/key": "sys/file/ssl-key",
            "sys/file/ssl-key": "sys/crypto/key",
        }
        same = {collection, aliases.get(collection, collection)}
        for other_collection, objs in self.running["objects"].items():
            other_spec = self.types.get(other_collection)
            if other_spec is None:
                continue
            for other_path, other in objs.items():
                for targets, target, _role in other_spec.references(other):
                    if target == full and same & set(targets):
                        if collection.startswith("ltm/monitor/"):
                            raise F5Error(400, f"01070083:3: Monitor {full} is in use")
                        raise InUse(spec.display, full, other_spec.display, other_path)
        if collection == "ltm/node":
            node = self.objects("ltm/node")[full]
            for pool_path, pool in self.objects("ltm/pool").items():
                for member_path, member in (pool.get("_sub") or {}).get("members", {}).items():
                    node_name, _ = member_address(split_path(member_path)[1])
                    if qualify(node_name, split_path(member_path)[0]) == full or (
                        member.get("address") == node["address"] and node_name == node["address"]
                    ):
                        raise F5Error(
                            400,
                            f"01070110:3: Node address '{full}' is referenced by a member of pool "
                            f"'{pool_path}'.",
                        )
        if collection == "ltm/virtual-address":
            address = self.objects(collection)[full].get("address")
            for vs_path, vs in self.objects("ltm/virtual").items():
                if parse_destination(vs["destination"], "Common")[1] == address:
                    raise InUse("Virtual Address", full, "Virtual Server", vs_path)

    def _after_write(self, collection: str, full: str, obj: Obj) -> None:
        if collection != "ltm/virtual":
            return
        profiles = obj["_sub"].setdefault("profiles", {})
        protocol = obj["ipProtocol"]
        if not profiles:
            # With no profile named, BIG-IP attaches the protocol's default profile [?].
            default = {"udp": "/Common/udp", "tcp": "/Common/tcp"}.get(protocol, "/Common/fastL4")
            profiles[default] = {"name": split_path(default)[1], "partition": "Common", "context": "all"}
        for path in profiles:
            profile_type = next((c for c in PROFILE_TYPES if path in self.objects(c)), None)
            if profile_type is not None and protocol not in PROFILE_PROTOCOLS[profile_type]:
                raise F5Error(
                    400,
                    f"01070097:3: Virtual server {full} lists profiles incompatible with its protocol.",
                )
        if not any(
            p in self.objects(c)
            for p in profiles
            for c in ("ltm/profile/udp", "ltm/profile/tcp", "ltm/profile/fastl4")
        ):
            raise F5Error(
                400, f"01070734:3: Configuration error: Virtual server {full} must have a protocol profile."
            )

    # -- sub-collections (pool members, virtual profiles) ----------------------------------------------------
    def _sub_spec(self, collection: str, sub: str) -> ObjectType:
        return self.types[f"{collection}/{sub}"]

    def _apply_subs(
        self, collection: str, full: str, obj: Obj, subs: dict[str, Any], *, creating: bool
    ) -> None:
        """An inline list (``members``, ``profiles``) replaces the whole sub-collection (trap 9)."""
        for sub, items in subs.items():
            if items is None:
                items = []
            if not isinstance(items, list):
                raise BadValue(f"Invalid value for {sub} in /{collection}/{full}: a list is required")
            spec = self._sub_spec(collection, sub)
            new: dict[str, Obj] = {}
            for entry in items:
                entry = {"name": entry} if isinstance(entry, str) else dict(entry)
                item_full = self._identity(
                    spec, {**entry, "partition": entry.get("partition") or obj["partition"]}
                )
                existing = obj["_sub"].get(sub, {}).get(item_full)
                props = copy.deepcopy(existing) if existing else copy.deepcopy(spec.defaults)
                props.update(spec.check_keys(entry, item_full))
                props["name"], props["partition"] = split_path(item_full)[1], split_path(item_full)[0]
                new[item_full] = spec.normalise(self, item_full, props, creating=existing is None)
            obj["_sub"][sub] = new

    def _sub_items(self, collection: str, full: str, obj: Obj, sub: str) -> list[Obj]:
        spec = self._sub_spec(collection, sub)
        base = f"https://localhost/mgmt/tm/{collection}/{_tilde(full)}/{sub}"
        items = []
        for item_full, item in sorted((obj.get("_sub") or {}).get(sub, {}).items()):
            shown = spec.render({k: v for k, v in item.items() if not k.startswith("_")})
            out: Obj = {"kind": f"{self.types[collection].kind_prefix}:{sub}:{sub}state"}
            partition, name = split_path(item_full)
            out.update({"name": name, "partition": partition, "fullPath": item_full})
            out["generation"] = obj.get("generation", 1)
            out["selfLink"] = f"{base}/{_tilde(item_full)}?ver={VERSION}"
            for key, value in sorted(shown.items()):
                out.setdefault(key, copy.deepcopy(value))
            if sub == "profiles":
                profile_type = next((c for c in PROFILE_TYPES if item_full in self.objects(c)), "ltm/profile")
                out["nameReference"] = {
                    "link": f"https://localhost/mgmt/tm/{profile_type}/{_tilde(item_full)}?ver={VERSION}"
                }
            items.append(out)
        return items

    def _sub(
        self,
        method: str,
        spec: ObjectType,
        collection: str,
        full: str,
        sub: str,
        item: str | None,
        query: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        parent = self.objects(collection).get(full)
        if parent is None:
            raise NotFound(spec.display, full)
        sub_spec = self._sub_spec(collection, sub)
        members: dict[str, Obj] = parent["_sub"].setdefault(sub, {})
        if item is None:
            if method == "GET":
                items = self._sub_items(collection, full, parent, sub)
                out: Obj = {
                    "kind": f"{spec.kind_prefix}:{sub}:{sub}collectionstate",
                    "selfLink": _self_link(
                        f"https://localhost/mgmt/tm/{collection}/{_tilde(full)}/{sub}", query
                    ),
                }
                if items:
                    out["items"] = items
                return 200, out
            if method != "POST":
                raise RestError(405, f"Method {method} is not allowed")
            entry = {"name": body} if isinstance(body, str) else body
            item_full = self._identity(
                sub_spec, {**entry, "partition": (entry or {}).get("partition") or parent["partition"]}
            )
            if item_full in members:
                raise AlreadyExists(sub_spec.display, f"{full} {item_full}", parent["partition"])
            props = copy.deepcopy(sub_spec.defaults)
            props.update(sub_spec.check_keys(entry, item_full))
            props["name"], props["partition"] = split_path(item_full)[1], split_path(item_full)[0]
            new = copy.deepcopy(parent)
            new["_sub"][sub][item_full] = sub_spec.normalise(self, item_full, props, creating=True)
            self._after_write(collection, full, new)
            new["generation"] = self._bump()
            self.objects(collection)[full] = new
            self._side_effects_modified(collection, full, parent, new)
            return 200, self._one_sub(collection, full, new, sub, item_full)
        if item not in members:
            if sub == "members":
                node, port = member_address(split_path(item)[1])
                raise F5Error(
                    404,
                    f"01020036:3: The requested Pool Member ({full} {qualify(node)} {port}) was not found.",
                )
            raise NotFound(sub_spec.display, item)
        if method == "GET":
            return 200, self._one_sub(collection, full, parent, sub, item)
        new = copy.deepcopy(parent)
        if method == "DELETE":
            del new["_sub"][sub][item]
            self._after_write(collection, full, new)
            new["generation"] = self._bump()
            self.objects(collection)[full] = new
            self._side_effects_modified(collection, full, parent, new)
            return 200, None
        if method in ("PATCH", "PUT"):
            if not isinstance(body, dict):
                raise F5Error(400, "Found invalid JSON body in the request.", api_error=1)
            clean = sub_spec.check_keys(body, item)
            clean.pop("name", None)
            clean.pop("partition", None)
            if not clean and method == "PATCH":
                raise F5Error(400, "one or more properties must be specified", api_error=1)
            current = members[item]
            if method == "PUT":
                props = copy.deepcopy(sub_spec.defaults)
                props["address"] = current.get("address")
            else:
                props = copy.deepcopy(current)
            props["_address"] = current.get("address")
            props.update(clean)
            new["_sub"][sub][item] = sub_spec.normalise(self, item, props, creating=False)
            if "address" in current:
                new["_sub"][sub][item]["address"] = current["address"]
            self._after_write(collection, full, new)
            new["generation"] = self._bump()
            self.objects(collection)[full] = new
            return 200, self._one_sub(collection, full, new, sub, item)
        raise RestError(405, f"Method {method} is not allowed")

    def _one_sub(self, collection: str, full: str, obj: Obj, sub: str, item: str) -> Obj:
        for entry in self._sub_items(collection, full, obj, sub):
            if entry["fullPath"] == item:
                return entry
        raise NotFound(self._sub_spec(collection, sub).display, item)

    # -- side effects ------------------------------------------------------------------------------
    def _side_effects_created(self, collection: str, full: str, obj: Obj) -> None:
        self._side_effects_modified(collection, full, None, obj)

    def _side_effects_modified(self, collection: str, full: str, old: Obj | None, new: Obj) -> None:
        if collection == "ltm/pool":
            # An address-named member creates a node of that name, left behind when the member goes (trap 11).
            for member_path, member in new["_sub"].get("members", {}).items():
                partition, name = split_path(member_path)
                node_name, _ = member_address(name)
                node_path = qualify(node_name, partition)
                if node_name == member.get("address") and node_path not in self.objects("ltm/node"):
                    node = copy.deepcopy(self.types["ltm/node"].defaults)
                    node.update({"name": node_name, "partition": partition, "address": node_name})
                    node["_sub"] = {}
                    node["generation"] = self._bump()
                    self.objects("ltm/node")[node_path] = node
        if collection == "ltm/virtual":
            self._virtual_addresses()

    def _side_effects_deleted(self, collection: str, full: str, obj: Obj) -> None:
        if collection == "ltm/virtual":
            self._virtual_addresses()

    def _virtual_addresses(self) -> None:
        """Every virtual's address has a virtual-address object; auto-delete ones go with the last user."""
        used: dict[str, str] = {}
        for vs in self.objects("ltm/virtual").values():
            partition, address, _ = parse_destination(vs["destination"], "Common")
            used[f"/{partition}/{address}"] = address
        addresses = self.objects("ltm/virtual-address")
        for path, address in used.items():
            if path not in addresses:
                va = copy.deepcopy(self.types["ltm/virtual-address"].defaults)
                va.update({"name": split_path(path)[1], "partition": split_path(path)[0], "address": address})
                va["_sub"] = {}
                va["generation"] = self._bump()
                addresses[path] = va
        for path in [p for p, va in addresses.items() if p not in used and va.get("autoDelete") == "true"]:
            del addresses[path]

    # -- commands ----------------------------------------------------------------------------------
    def _sys_config(self, method: str, body: Any) -> tuple[int, Any]:
        if method != "POST":
            raise RestError(405, "Method not allowed")
        command = (body or {}).get("command")
        if command != "save":
            raise BadValue(f"'{command}' is not a supported command for sys config")
        self.save_config()
        return 200, {"kind": "tm:sys:config:savestate", "command": "save"}

    def _cm(self, method: str, body: Any) -> tuple[int, Any]:
        if method != "POST" or (body or {}).get("command") != "run":
            raise RestError(405, "Only 'run' is supported on /mgmt/tm/cm")
        args = str(body.get("utilCmdArgs", ""))
        words = args.split()
        if len(words) != 3 or words[:2] != ["config-sync", "to-group"]:
            raise BadValue(f"01070734:3: Configuration error: unsupported cm command '{args}'")
        group = words[2]
        groups = self.running.setdefault("device_groups", {})
        if group not in groups:
            raise F5Error(
                400, f"01070734:3: Configuration error: Device group ({group}) not found in device group sync"
            )
        self.synced[group] = int(self.running["generation"])
        self.sync_count += 1
        return 200, {"kind": "tm:cm:runstate", "command": "run", "utilCmdArgs": args}

    def sync_status(self) -> Obj:
        groups = self.running.get("device_groups", {})
        generation = int(self.running["generation"])
        pending = [g for g in groups if self.synced.get(g, 1) != generation]
        status = "Changes Pending" if pending else "In Sync"
        return {
            "kind": "tm:cm:sync-status:sync-statusstats",
            "selfLink": f"https://localhost/mgmt/tm/cm/sync-status?ver={VERSION}",
            "entries": {
                "https://localhost/mgmt/tm/cm/sync-status/0": {
                    "nestedStats": {
                        "entries": {
                            "color": {"description": "blue" if pending else "green"},
                            "status": {"description": status},
                            "summary": {
                                "description": ", ".join(f"{g} has changes pending" for g in pending)
                            },
                        }
                    }
                }
            },
        }

    def device_groups(self) -> Obj:
        items = [
            {
                "kind": "tm:cm:device-group:device-groupstate",
                "name": name,
                "partition": "Common",
                "fullPath": f"/Common/{name}",
                "type": "sync-failover",
                "selfLink": f"https://localhost/mgmt/tm/cm/device-group/~Common~{name}?ver={VERSION}",
            }
            for name in sorted(self.running.get("device_groups", {}))
        ]
        return {
            "kind": "tm:cm:device-group:device-groupcollectionstate",
            "selfLink": f"https://localhost/mgmt/tm/cm/device-group?ver={VERSION}",
            "items": items,
        }

    # -- transactions ------------------------------------------------------------------------------
    def begin(self) -> Obj:
        with self.lock:
            trans = Transaction(next(self._trans_ids))
            self.transactions[trans.trans_id] = trans
            return self._trans_body(trans)

    def _trans_body(self, trans: Transaction) -> Obj:
        return {
            "transId": trans.trans_id,
            "state": trans.state,
            "timeoutSeconds": 120,
            "asyncExecution": False,
            "validateOnly": False,
            "executionTimeout": 300,
            "executionTime": 0,
            "failureReason": trans.failure,
            "kind": "tm:transactionstate",
            "selfLink": f"https://localhost/mgmt/tm/transaction/{trans.trans_id}?ver={VERSION}",
        }

    def enqueue(self, trans_id: int, method: str, path: str, query: dict[str, str], body: Any) -> Obj:
        with self.lock:
            trans = self.transactions.get(trans_id)
            if trans is None or trans.state != "STARTED":
                raise RestError(400, f"Transaction {trans_id} does not exist or is not open.")
            command_id = len(trans.commands) + 1
            trans.commands.append({"method": method, "path": path, "query": query, "body": body})
            return {
                "method": method,
                "uri": f"https://localhost/mgmt/tm/{path}",
                "body": body,
                "evalOrder": command_id,
                "commandId": command_id,
                "kind": "tm:transaction:commandsstate",
                "selfLink": f"https://localhost/mgmt/tm/transaction/{trans_id}/commands/{command_id}?ver={VERSION}",
            }

    def transaction(self, method: str, trans_id: int, body: Any) -> Obj:
        with self.lock:
            trans = self.transactions.get(trans_id)
            if trans is None:
                raise RestError(404, f"Transaction {trans_id} does not exist.")
            if method == "GET":
                return self._trans_body(trans)
            if method == "DELETE":
                del self.transactions[trans_id]
                return self._trans_body(trans)
            if (body or {}).get("state") != "VALIDATING":
                raise BadValue('A transaction is committed with {"state": "VALIDATING"}')
            snapshot = copy.deepcopy(self.running)
            try:
                for command in trans.commands:
                    self.handle(command["method"], command["path"], command["query"], command["body"])
            except F5Error as exc:
                self.running = snapshot  # all or nothing
                trans.state, trans.failure = "FAILED", exc.message
                del self.transactions[trans_id]
                raise F5Error(exc.status, f"transaction failed:{exc.message}", exc.api_error) from None
            trans.state = "COMPLETED"
            del self.transactions[trans_id]
            return self._trans_body(trans)


class _LoginFailed(Exception):
    """Login refused; carries the request body with the password stripped."""


def _tilde(full: str) -> str:
    return full.replace("/", "~")


def _untilde(segment: str) -> str:
    from urllib.parse import unquote

    text = unquote(segment)
    if text.startswith("~"):
        return text.replace("~", "/")
    return f"/Common/{text}"


def _self_link(link: str, query: dict[str, str] | None) -> str:
    """selfLink echoes the request's query options before ``ver`` (reference/f5.md §3)."""
    from urllib.parse import quote

    extra = "".join(
        f"{quote(k, safe='$')}={quote(v, safe='')}&" for k, v in (query or {}).items() if k != "ver"
    )
    return f"{link}?{extra}ver={VERSION}"


def _partition_filter(value: str | None) -> str | None:
    if not value:
        return None
    words = value.replace("+", " ").split()
    if len(words) == 3 and words[0] == "partition" and words[1] == "eq":
        return words[2].strip("'\"")
    raise BadValue(f"Unsupported $filter: {value}")


def _cert_facts(data: bytes) -> Obj | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    expires = cert.not_valid_after_utc
    public = cert.public_key()
    size = getattr(public, "key_size", 0)
    return {
        "commonName": _cn(cert.subject),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "expirationDate": int(expires.timestamp()),
        # openssl style, day padded with a space: "Jan  1 00:00:00 2031 GMT"
        "expirationString": f"{expires:%b} {expires.day:2d} {expires:%H:%M:%S %Y} GMT",
        "fingerprint": "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        "keyType": "rsa-public" if isinstance(public, rsa.RSAPublicKey) else "ec-public",
        "keySize": size,
        "serialNumber": format(cert.serial_number, "x"),
        "version": 3,
    }


def _cn(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _key_facts(data: bytes) -> Obj | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None
    size = getattr(key, "key_size", 0)
    return {
        "keyType": "rsa-private" if isinstance(key, rsa.RSAPrivateKey) else "ec-private",
        "keySize": size,
        "securityType": "normal",
    }
