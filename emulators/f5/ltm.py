"""Writes on the BIG-IP twin: create, modify and delete of objects and of their sub-collections.

Everything a write must do the way mcpd does it (docs/f5.md#twin-fidelity-index): names and partitions
checked, unknown keys refused, list properties (``members``, ``profiles``) replacing the whole list on PATCH
and read-only keys ignored on PUT (docs/f5.md#list-properties-and-read-only-keys), built-ins undeletable
(docs/f5.md#built-in-parents), "in use" refusals (docs/f5.md#references-and-in-use-refusals), and the side
effects (docs/f5.md#implicit-nodes-and-virtual-addresses): an address-named pool member creates a node that
stays behind, a virtual creates its virtual-address that goes away with the last virtual using it."""

from __future__ import annotations

import copy
from typing import Any

from emulators.f5.exceptions import AlreadyExists, BadValue, F5Error, NotFound, RestError
from emulators.f5.store import ObjectStore
from emulators.f5.types import (
    PROFILE_PROTOCOLS,
    PROFILE_TYPES,
    ObjectType,
    member_address,
    parse_destination,
    qualify,
    split_path,
)

Obj = dict[str, Any]


class LtmObjects(ObjectStore):
    """Create, modify, delete; sub-collection writes; side effects (a mixin of ``F5Backend``)."""

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
    def _apply_subs(
        self, collection: str, full: str, obj: Obj, subs: dict[str, Any], *, creating: bool
    ) -> None:
        """An inline list (``members``, ``profiles``) replaces the whole sub-collection
        (docs/f5.md#list-properties-and-read-only-keys)."""
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
                return 200, self.list_subcollection(collection, full, parent, sub, query)
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
            return 200, self.get_sub(collection, full, parent, sub, item, query)
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

    # -- side effects ------------------------------------------------------------------------------
    def _side_effects_created(self, collection: str, full: str, obj: Obj) -> None:
        self._side_effects_modified(collection, full, None, obj)

    def _side_effects_modified(self, collection: str, full: str, old: Obj | None, new: Obj) -> None:
        if collection == "ltm/pool":
            # An address-named member creates a node of that name, left behind when the member goes
            # (docs/f5.md#implicit-nodes-and-virtual-addresses).
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
