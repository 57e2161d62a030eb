"""What the benchmark reads off a twin's request log, a stack's state and a twin's own state: pure functions
(tests/unit/test_bench.py runs them on synthetic input).

A log entry is what ``emulators/common/wsgi.py`` records: ``method``, ``path``, ``query``, ``status``,
``write``, ``t`` ([start, end] on the twin's monotonic clock, the start before the injected latency) and,
for an injected fault, ``fault`` (and ``chaos`` when the chaos mode drew it).
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

Entry = dict[str, Any]

#: Per vendor: the login request (method, path suffix); Kemp authenticates every request (Basic), no login.
LOGIN = {"f5": ("POST", "/mgmt/shared/authn/login"), "citrix": ("POST", "/nitro/v1/config/login")}
#: Per vendor: the configuration save (method, path, query parameters it carries); Kemp has no save step.
SAVE: dict[str, tuple[str, str, dict[str, str]]] = {
    "f5": ("POST", "/mgmt/tm/sys/config", {}),
    "citrix": ("POST", "/nitro/v1/config/nsconfig", {"action": "save"}),
}
#: Kemp /access commands: the verb prefixes and suffixes around the object type a command is about.
_KEMP_VERBS = ("show", "list", "add", "del", "mod")


def is_login(vendor: str, entry: Entry) -> bool:
    method, path = LOGIN.get(vendor, ("", "\0"))
    return bool(entry["method"] == method and entry["path"] == path)


def is_save(vendor: str, entry: Entry) -> bool:
    if vendor not in SAVE:
        return False
    method, path, params = SAVE[vendor]
    if (entry["method"], entry["path"]) != (method, path) or entry.get("status") != 200:
        return False
    query = dict(parse_qsl(entry.get("query", "")))
    if vendor == "f5":
        # BIG-IP: POST /mgmt/tm/sys/config {"command": "save"}; the body is not logged, and the project sends
        # nothing else to this path.
        return True
    return all(query.get(k) == v for k, v in params.items())


def is_session(vendor: str, entry: Entry) -> bool:
    """Login, logout and token requests: per device and run, not per object."""
    path = entry["path"]
    if vendor == "f5":
        return path.startswith("/mgmt/shared/")
    if vendor == "citrix":
        return path in ("/nitro/v1/config/login", "/nitro/v1/config/logout")
    return False


def object_type(vendor: str, entry: Entry) -> str:
    """The appliance object type a request is about (its collection), for 'requests per type'."""
    path = entry["path"]
    if vendor == "f5":
        parts = [p for p in path.removeprefix("/mgmt/tm/").split("/") if p]
        kept: list[str] = []
        for part in parts:
            if part.startswith("~"):
                break  # the object's name; what follows is one of its sub-collections: the same type
            kept.append(part)
        return "/".join(kept)
    if vendor == "citrix":
        rest = path.removeprefix("/nitro/v1/")
        kind, _, tail = rest.partition("/")
        resource = tail.split("/", 1)[0]
        return resource if kind == "config" else f"{kind}/{resource}"
    if vendor == "kemp":
        command = path.removeprefix("/access/").split("/", 1)[0]
        for verb in _KEMP_VERBS:
            if command.startswith(verb) and len(command) > len(verb):
                return command[len(verb) :]
            if command.endswith(verb) and len(command) > len(verb):
                return command[: -len(verb)]
        return command
    return path


def counts(vendor: str, entries: list[Entry]) -> dict[str, Any]:
    """Requests, writes, reads, logins, saves, injected faults, and requests per object type (session requests
    aside) with the largest of them."""
    per_type = Counter(object_type(vendor, e) for e in entries if not is_session(vendor, e))
    top = per_type.most_common(1)
    return {
        "requests": len(entries),
        "writes": sum(1 for e in entries if e.get("write")),
        "reads": sum(1 for e in entries if not e.get("write")),
        "logins": sum(1 for e in entries if is_login(vendor, e)),
        "saves": sum(1 for e in entries if is_save(vendor, e)),
        "faults": sum(1 for e in entries if e.get("fault")),
        "per_type": dict(sorted(per_type.items())),
        "max_per_type": top[0][1] if top else 0,
        "max_type": top[0][0] if top else None,
    }


def spread(entries: Iterable[Entry]) -> float:
    """Seconds from the first request's arrival to the last one's answer (0 without requests)."""
    spans = [e["t"] for e in entries if "t" in e]
    if not spans:
        return 0.0
    return float(max(end for _, end in spans) - min(start for start, _ in spans))


def rounds(entries: list[Entry], latency_s: float) -> float | None:
    """The spread of request times divided by the injected latency: how many latencies one after the other
    the operation waited (each request waits one latency at least); None without latency."""
    if latency_s <= 0:
        return None
    return spread(entries) / latency_s


def chain(entries: Iterable[Entry]) -> int:
    """The longest sequence of requests each starting after the previous one was answered: the sequential
    request rounds, whatever the time between them (the CLI and the program's own work)."""
    spans = sorted((float(e["t"][0]), float(e["t"][1])) for e in entries if "t" in e)
    done: list[tuple[float, int]] = []  # (end, chain length ending there), released once a later one starts
    best_released = 0
    longest = 0
    for start, end in spans:
        while done and done[0][0] <= start:
            best_released = max(best_released, heapq.heappop(done)[1])
        length = best_released + 1
        longest = max(longest, length)
        heapq.heappush(done, (end, length))
    return longest


def most_in_flight(entries: Iterable[Entry]) -> int:
    """The most requests the twin held at one moment (arrived, not yet answered)."""
    spans = [e["t"] for e in entries if "t" in e]
    # (time, +1 arrival / -1 answer), sorted so that an answer comes before an arrival at the same instant
    edges = sorted([(float(start), 1) for start, _ in spans] + [(float(end), -1) for _, end in spans])
    held = most = 0
    for _, step in edges:
        held += step
        most = max(most, held)
    return most


def custom_resources(checkpoint: dict[str, Any]) -> list[dict[str, Any]]:
    """The appliance objects of a stack's state: its custom resources less the providers."""
    resources = checkpoint.get("checkpoint", {}).get("latest", {}).get("resources") or []
    return [r for r in resources if r.get("custom") and not r["type"].startswith("pulumi:providers:")]


def depth(checkpoint: dict[str, Any]) -> int:
    """The dependency depth of the object graph: the most objects on one chain of dependencies (declared and
    through inputs; a dependency on a component stands for every object under it)."""
    resources = checkpoint.get("checkpoint", {}).get("latest", {}).get("resources") or []
    custom = {r["urn"] for r in custom_resources(checkpoint)}
    children: dict[str, list[str]] = {}
    for r in resources:
        if r.get("parent"):
            children.setdefault(r["parent"], []).append(r["urn"])

    def objects_under(urn: str, seen: set[str]) -> set[str]:
        if urn in seen:
            return set()
        seen.add(urn)
        if urn in custom:
            return {urn}
        found: set[str] = set()
        for child in children.get(urn, []):
            found |= objects_under(child, seen)
        return found

    deps: dict[str, set[str]] = {}
    for r in resources:
        if r["urn"] not in custom:
            continue
        named = set(r.get("dependencies") or [])
        for urns in (r.get("propertyDependencies") or {}).values():
            named.update(urns)
        deps[r["urn"]] = (
            set().union(*(objects_under(u, set()) for u in named)) - {r["urn"]} if named else set()
        )
    memo: dict[str, int] = {}

    def level(urn: str, path: frozenset[str]) -> int:
        if urn in memo:
            return memo[urn]
        below = [level(d, path | {urn}) for d in deps.get(urn, set()) if d in deps and d not in path]
        memo[urn] = 1 + max(below, default=0)
        return memo[urn]

    return max((level(u, frozenset()) for u in deps), default=0)


def inventory(vendor: str, state: dict[str, Any]) -> Counter[str]:
    """Every configuration object of a twin's running configuration (``GET /_twin/state``), as a multiset of
    keys naming it (what identifies it on the appliance, not its attributes), built-in objects included."""
    running = state.get("running", state)
    found: Counter[str] = Counter()
    if vendor == "f5":
        for collection, objects in (running.get("objects") or {}).items():
            for full_path, obj in objects.items():
                found[f"{collection} {full_path}"] += 1
                for sub, items in (obj.get("_sub") or {}).items():
                    names = items.keys() if isinstance(items, dict) else [_identity(i) for i in items]
                    for name in names:
                        found[f"{collection} {full_path}/{sub} {name}"] += 1
    elif vendor == "citrix":
        for resource, objects in running.items():
            if isinstance(objects, dict):
                for name in objects:
                    found[f"{resource} {name}"] += 1
            elif isinstance(objects, list):
                for item in objects:
                    found[f"{resource} {_identity(item)}"] += 1
    elif vendor == "kemp":
        for vs in running.get("vs") or []:
            key = f"{vs['VSAddress']}:{vs['VSPort']}/{vs['Protocol']}"
            found[f"vs {key}"] += 1
            for rs in vs.get("Rs") or []:
                found[f"rs {key} {rs['Addr']}:{rs['Port']}"] += 1
        for cert in running.get("certs") or []:
            found[f"cert {_identity(cert)}"] += 1
    else:
        raise LookupError(f"no inventory of a {vendor!r} twin's state")
    return found


def _identity(item: Any) -> str:
    """A list item's key: all of it (bindings have no name; what they bind is what identifies them)."""
    return json.dumps(item, sort_keys=True, default=str) if isinstance(item, dict) else str(item)


def duplicates_and_orphans(clean: Counter[str], after: Counter[str]) -> tuple[list[str], list[str]]:
    """Objects on the device a clean run does not make (a state cannot know them: duplicates or leftovers),
    and objects a clean run makes that the device lacks (the state has them: orphans)."""
    duplicates = sorted((after - clean).elements())
    orphans = sorted((clean - after).elements())
    return duplicates, orphans
