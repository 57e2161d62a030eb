"""Saves after deletes are coalesced, and no delete is answered before a save that began after it."""

from __future__ import annotations

import threading
import time

from providers.common.clients import CoalescedSaves


def test_changes_that_arrive_during_a_save_share_the_next_one_and_each_waits_for_a_save_after_it() -> None:
    saves = CoalescedSaves(settle=0)
    device = "https://adc.example.net"
    first_save = threading.Event()
    timeline: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    calls: list[tuple[float, float]] = []

    def save() -> None:
        if not first_save.is_set():
            # the first save is slow: the four other changes are made (and wait) while it runs
            first_save.set()
            while saves._made.get(device, 0) < 5:
                time.sleep(0.001)
        start = time.monotonic()
        with lock:
            calls.append((start, 0.0))
        with lock:
            calls[-1] = (start, time.monotonic())

    def change(i: int) -> None:
        with lock:
            timeline.append(("changed", i, time.monotonic()))
        saves.after_change(device, save)
        with lock:
            timeline.append(("answered", i, time.monotonic()))

    first = threading.Thread(target=change, args=(0,))
    first.start()
    assert first_save.wait(timeout=10)
    others = [threading.Thread(target=change, args=(i,)) for i in range(1, 5)]
    for t in others:
        t.start()
    for t in (first, *others):
        t.join(timeout=10)

    assert len(calls) == 2  # one for the first change, one shared by the four that came during it
    for i in range(5):
        changed = next(ts for kind, n, ts in timeline if kind == "changed" and n == i)
        answered = next(ts for kind, n, ts in timeline if kind == "answered" and n == i)
        assert any(changed <= start and end <= answered for start, end in calls), i


def test_devices_are_saved_separately() -> None:
    saves = CoalescedSaves(settle=0)
    done: list[str] = []
    saves.after_change("a", lambda: done.append("a"))
    saves.after_change("b", lambda: done.append("b"))
    saves.after_change("a", lambda: done.append("a"))
    assert done == ["a", "b", "a"]  # one after the other: each change gets a save of its own device
