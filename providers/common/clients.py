"""One client per device (or node) and provider process, closed when the provider host exits.

The F5, Citrix and Kemp clients and the RRAS node sessions all follow the same rule: the first resource
that needs a device opens the client, every later resource of the process reuses it (one login, one
runspace pool), and ``close()`` runs once at exit (save, config-sync, logout, pool close).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


class PerProcess(Generic[C]):
    """A process-wide cache of open clients by key; ``close_all`` is registered with atexit."""

    def __init__(self) -> None:
        self._items: dict[Hashable, C] = {}
        self._lock = threading.Lock()
        atexit.register(self.close_all)

    def get(self, key: Hashable, make: Callable[[], C]) -> C:
        """The client for ``key``, made by ``make()`` the first time (under the lock: made once)."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                item = make()
                self._items[key] = item
            return item

    def close_all(self) -> None:
        with self._lock:
            items = list(self._items.values())
            self._items.clear()
        for item in items:
            item.close()
