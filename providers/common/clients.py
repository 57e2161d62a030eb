"""One client per device (or node) and provider process, closed when the provider host exits; and the
process's coalesced saves after deletes.

The F5, Citrix and Kemp clients and the RRAS node sessions all follow the same rule: the first resource
that needs a device opens the client, every later resource of the process reuses it (one login, one
runspace pool), and ``close()`` runs once at exit, best effort (logout, pool close). Nothing that must
happen is left to ``close()``: the engine may kill the host (docs/pulumi-engine.md).
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar

from providers.common.errors import ApplianceError
from providers.common.retry import is_transient


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


_REGISTRIES: list[PerProcess[Any]] = []


class PerProcess(Generic[C]):
    """A process-wide cache of open clients by key; ``close_all`` is registered with atexit."""

    def __init__(self) -> None:
        self._items: dict[Hashable, C] = {}
        self._lock = threading.Lock()
        atexit.register(self.close_all)
        _REGISTRIES.append(self)

    def forget_reads(self) -> None:
        with self._lock:
            items = list(self._items.values())
        for item in items:
            forget = getattr(item, "forget_reads", None)
            if callable(forget):
                forget()

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


def new_run() -> None:
    """Forget every client's per-run reads (providers.common.readcache), as a new provider process would:
    for callers that run several CLI operations' worth of provider calls in one process (tests)."""
    for registry in list(_REGISTRIES):
        registry.forget_reads()


class LoginFailures:
    """The last failed login of a client, remembered for ``memory_s``.

    Resources run concurrently: once a login has been refused, the others waiting for it get the same
    answer for a while instead of each trying again (and risking an account lockout). A transient failure
    (busy, no answer) is not remembered. Callers hold their client's lock around ``login`` and retry
    transient failures inside it (providers.common.retry.with_retries).
    """

    def __init__(self, memory_s: float = 60.0) -> None:
        self.memory_s = memory_s
        self._last: tuple[float, ApplianceError] | None = None

    def login(self, do_login: Callable[[], None]) -> None:
        if self._last and time.monotonic() - self._last[0] < self.memory_s:
            raise self._last[1]
        try:
            do_login()
        except ApplianceError as exc:
            # A refusal is remembered (trying again risks a lockout); a device that was only busy or
            # unreachable, after the caller's own retries, is not: the next resource tries afresh.
            if not is_transient(exc):
                self._last = (time.monotonic(), exc)
            raise
        self._last = None


class CoalescedSaves:
    """One save for the deletes that finish together on one device (a destroy deletes level by level,
    each level's objects in parallel), with each delete still answered only after a save that began once
    its own change was made: the save cannot be lost to the process ending, and is not repeated per
    object.

    A delete made through ``change_then_save`` counts as in progress on its device until it is answered; one
    that is done waits for those of its siblings still in progress, at most ``settle`` seconds, and then one
    save covers them all. A save that asks while another runs waits for it and then needs only one more,
    covering every change made meanwhile. The save resources (providers.common.save) ask with
    ``after_change(..., settle=0)``: they run after every object they save. One instance per process serves
    both, so that two saves of one device never run at once."""

    def __init__(self, settle: float = 1.0) -> None:
        self._settle = settle
        self._lock = threading.Condition()
        self._device_locks: dict[str, threading.Lock] = {}
        self._changing: dict[str, int] = {}  # changes in progress, per device
        self._made: dict[str, int] = {}  # changes made, per device
        self._saved: dict[str, int] = {}  # changes covered by a finished save, per device

    def change_then_save(
        self,
        device: str,
        change: Callable[[], bool],
        save: Callable[[], None],
        *,
        settle: float | None = None,
    ) -> None:
        """Run ``change`` (True when it changed the device), then return only after a save that covers it."""
        with self._lock:
            self._changing[device] = self._changing.get(device, 0) + 1
        changed = False
        try:
            changed = change()
        finally:
            with self._lock:
                self._changing[device] -= 1
                ticket = self._ticket(device) if changed else 0
                self._lock.notify_all()
        if changed:
            self._save_covering(device, ticket, save, self._settle if settle is None else settle)

    def after_change(self, device: str, save: Callable[[], None], *, settle: float | None = None) -> None:
        """Return only after a save that began once this call was made."""
        with self._lock:
            ticket = self._ticket(device)
        self._save_covering(device, ticket, save, self._settle if settle is None else settle)

    def _ticket(self, device: str) -> int:
        ticket = self._made[device] = self._made.get(device, 0) + 1
        self._device_locks.setdefault(device, threading.Lock())
        return ticket

    def _save_covering(self, device: str, ticket: int, save: Callable[[], None], settle: float) -> None:
        deadline = time.monotonic() + settle
        with self._lock:
            while self._changing.get(device, 0) > 0 and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)  # siblings still being changed: one save for them all
            device_lock = self._device_locks[device]
        with device_lock:
            with self._lock:
                if self._saved.get(device, 0) >= ticket:
                    return  # a save that began after this change has finished
                covers = self._made[device]
            save()
            with self._lock:
                self._saved[device] = max(self._saved.get(device, 0), covers)


#: The provider process's coalesced saves: after deletes (``saves_after_delete`` providers) and the save
#: resources' (providers.common.save).
DEVICE_SAVES = CoalescedSaves()
