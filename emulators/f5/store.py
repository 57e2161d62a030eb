"""The BIG-IP twin's object store: objects by collection and full path, generations, rendering, references.

Objects live in the running configuration per collection, keyed by full path (``/Common/x``), each stamped
with the device-global ``generation`` of its last change (docs/f5.md#the-generation-counter); sub-collections
(pool members, virtual profiles) live inside their parent under ``_sub``. This module renders objects and
collections the way a GET answers them (kind, ``selfLink``, ``<sub>Reference`` links,
docs/f5.md#urls-and-selflink, 5, 8) with the query options BIG-IP honours on every collection and object it
serves: ``expandSubcollections=true``, ``$filter=partition eq X`` and ``$select`` (docs/f5.md#query-options,
docs/f5.md#query-options), and it finds who references an object ("in use" refusals with mcpd's codes,
docs/f5.md#references-and-in-use-refusals). The writes are in ``ltm``."""

from __future__ import annotations

import copy
from typing import Any

from emulators.common import TwinBackend
from emulators.f5.exceptions import BadValue, F5Error, InUse, NotFound
from emulators.f5.query import VERSION, _partition_filter, _self_link, _tilde, expands
from emulators.f5.types import (
    PROFILE_TYPES,
    ObjectType,
    member_address,
    parse_destination,
    qualify,
    split_path,
)

Obj = dict[str, Any]


class ObjectStore(TwinBackend):
    """Reading, rendering and reference checks over the running configuration (the base of the mixins)."""

    types: dict[str, ObjectType]

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """One iControl REST call under /mgmt/tm/; ``F5Backend`` answers it (transactions replay calls)."""
        raise NotImplementedError

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
            if expands(query):
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

    def list_subcollection(
        self, collection: str, full: str, parent: Obj, sub: str, query: dict[str, str]
    ) -> Obj:
        """``GET <object>/members`` (or ``/profiles``): a collection like any other, so the same query
        options apply to it: ``$filter=partition eq X``, ``$select`` per item, ``expandSubcollections``
        echoed in ``selfLink`` (its items have no sub-collections of their own to expand) [?]."""
        wanted = _partition_filter(query.get("$filter"))
        items = [
            self._select(entry, query)
            for entry in self._sub_items(collection, full, parent, sub)
            if not wanted or entry["partition"] == wanted
        ]
        out: Obj = {
            "kind": f"{self.types[collection].kind_prefix}:{sub}:{sub}collectionstate",
            "selfLink": _self_link(f"https://localhost/mgmt/tm/{collection}/{_tilde(full)}/{sub}", query),
        }
        if items:
            out["items"] = items
        return out

    def get_sub(
        self, collection: str, full: str, parent: Obj, sub: str, item: str, query: dict[str, str]
    ) -> Obj:
        """``GET <object>/members/~Common~m``: one sub-collection object, with any GET's query options."""
        return self._select(self._one_sub(collection, full, parent, sub, item, query), query)

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

    # -- sub-collections (pool members, virtual profiles) ----------------------------------------------------
    def _sub_spec(self, collection: str, sub: str) -> ObjectType:
        return self.types[f"{collection}/{sub}"]

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

    def _one_sub(
        self, collection: str, full: str, obj: Obj, sub: str, item: str, query: dict[str, str] | None = None
    ) -> Obj:
        for entry in self._sub_items(collection, full, obj, sub):
            if entry["fullPath"] == item:
                if query:
                    # a GET of the item itself echoes its query options like any object
                    # (docs/f5.md#requests-and-responses)
                    entry["selfLink"] = _self_link(entry["selfLink"].split("?", 1)[0], query)
                return entry
        raise NotFound(self._sub_spec(collection, sub).display, item)
