"""A per-run, per-device cache of collection reads, shared by every resource of the provider process.

A refresh reads every object of a cluster; read one by one that is a request per object (and per
sub-collection), for every cluster on the device. Read through this cache, the first resource of a type
that needs the device's view loads the whole collection in one request and every other resource of that
type (in this run, on this device) is answered from it; resources that ask while the load is in flight
wait for it instead of sending their own (single-flight). The provider process lives for one CLI
operation, so the cache does too.

The client's own writes keep it honest: a write marks the object it touched, and a later read of that
object goes to the device itself (``stale``), so a decision after a failed write reads that object and
nothing else; ``forget`` drops everything (a new run).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

Items = dict[str, Any]


class _Load:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.items: Items | None = None
        self.error: BaseException | None = None


class ReadCache:
    """Collections by key (``ltm/pool``, ``servicegroup``...), each a map of object key -> raw object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loads: dict[Hashable, _Load] = {}
        self._stale: set[tuple[Hashable, str]] = set()

    def collection(self, key: Hashable, load: Callable[[], Items]) -> Items:
        """The collection ``key``, loaded by ``load()`` once per run (concurrent callers share one load;
        a failed load is not kept, so the next caller tries again)."""
        with self._lock:
            entry = self._loads.get(key)
            owner = entry is None
            if entry is None:
                entry = self._loads[key] = _Load()
        if owner:
            try:
                entry.items = load()
            except BaseException as exc:
                entry.error = exc
                with self._lock:
                    if self._loads.get(key) is entry:
                        del self._loads[key]
                raise
            finally:
                entry.done.set()
        else:
            entry.done.wait()
            if entry.error is not None:
                return self.collection(key, load)
        assert entry.items is not None
        return entry.items

    def lookup(self, key: Hashable, name: str, load: Callable[[], Items]) -> tuple[bool, Any]:
        """``(True, object or None)`` from the collection, or ``(False, None)`` when this run wrote the
        object since the collection was loaded (read it from the device instead)."""
        with self._lock:
            if (key, name) in self._stale:
                return False, None
        return True, self.collection(key, load).get(name)

    def wrote(self, key: Hashable, name: str) -> None:
        """This client changed object ``name`` of collection ``key`` (created, modified or deleted it)."""
        with self._lock:
            self._stale.add((key, name))

    def forget(self) -> None:
        with self._lock:
            self._loads.clear()
            self._stale.clear()
