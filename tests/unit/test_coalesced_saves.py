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


def test_saves_of_deletes_and_of_save_resources_never_run_at_once_on_one_device() -> None:
    """One instance serves the deletes (with their settle) and the save resources (``settle=0``): whichever
    asks, two saves of one device never overlap (Citrix answers a second one 293, save in progress)."""
    saves = CoalescedSaves(settle=0.01)
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most

    def save() -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        time.sleep(0.005)
        with lock:
            in_flight[0] -= 1

    threads = [
        threading.Thread(target=saves.after_change, args=("adc", save), kwargs={"settle": 0} if i % 2 else {})
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert in_flight == [0, 1]


def test_a_delete_done_first_waits_for_its_siblings_in_progress_and_one_save_covers_them() -> None:
    """Three deletes of one level start together; the first is answered by the device at once, the other two
    later: the first waits for them (well within ``settle``), so one save covers all three."""
    saves = CoalescedSaves(settle=5.0)
    started = threading.Barrier(3)
    release = threading.Event()
    calls: list[int] = []

    def change(i: int) -> bool:
        started.wait(timeout=10)
        if i:
            assert release.wait(timeout=10)  # the device is slower with these two
        return True

    threads = [
        threading.Thread(
            target=saves.change_then_save, args=("adc", lambda i=i: change(i), lambda: calls.append(1))
        )
        for i in range(3)
    ]
    for t in threads:
        t.start()
    time.sleep(0.05)  # the first is done and waiting; nothing saved yet
    assert calls == []
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert calls == [1]


def test_a_delete_that_found_nothing_saves_nothing_and_a_failed_one_no_longer_holds_the_others() -> None:
    saves = CoalescedSaves(settle=5.0)
    calls: list[int] = []
    saves.change_then_save("adc", lambda: False, lambda: calls.append(1))
    assert calls == []

    def failing() -> bool:
        raise RuntimeError("refused")

    try:
        saves.change_then_save("adc", failing, lambda: calls.append(1))
    except RuntimeError:
        pass
    assert saves._changing["adc"] == 0  # the failed one is no longer waited for
    saves.change_then_save("adc", lambda: True, lambda: calls.append(1))
    assert calls == [1]
