"""Team state in Azure Blob Storage: the real Pulumi CLI with its ``azblob://`` backend against Azurite over
HTTPS, configuring the F5 twin. ``up``, the drift check and ``destroy`` work with the state only in the
container; a second ``up`` of a stack while one runs is refused by the backend's lock before it touches a
device; a failed run releases its lock, and a stale one (a killed run) is cleared with ``pulumi cancel``.

Facts: docs/pulumi-engine.md#shared-state-backends.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.backends.cases import (
    LAB,
    LOCKED,
    ONE_UP,
    carried_out,
    device_writes,
    lock_prefix,
    logins,
    up_drift_check_and_destroy,
)
from tests.backends.conftest import CONTAINER
from tests.backends.storage import Azurite, SharedStateProject, Spawned
from tests.e2e.devices import F5

pytestmark = pytest.mark.e2e

#: Latency the F5 twin adds to every request while a first run must outlast a second one (the provider's
#: read timeout is 60 s); the latency is lifted as soon as the second run has ended.
SLOW_MS = 4000
#: Latency that keeps a run's writes under way long enough to interrupt it in the middle.
MID_RUN_MS = 1500


def lock_keys(azurite: Azurite, stack: str) -> list[str]:
    return azurite.blobs(CONTAINER, lock_prefix(stack))


def wait_for_lock(azurite: Azurite, stack: str, run: Spawned) -> str:
    """The lock blob ``run`` takes on ``stack``, once it is in the container (bounded: fails if the run ends
    first or takes no lock within two minutes)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = lock_keys(azurite, stack)
        if found:
            return found[0]
        assert run.running(), run.wait().output
        time.sleep(0.2)
    raise AssertionError(f"no lock on {stack} within 120 s")


def wait_for_a_write(f5: F5, since: int, run: Spawned) -> None:
    """Until the twin has carried out a configuration write of ``run`` (bounded, like wait_for_lock)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if carried_out(f5, since):
            return
        assert run.running(), run.wait().output
        time.sleep(0.1)
    raise AssertionError("no write reached the twin within 120 s")


def stopped_mid_run(
    project: SharedStateProject, azurite: Azurite, f5: F5, stack: str, stop: Callable[[Spawned], None]
) -> tuple[int, Spawned, str]:
    """An ``up`` of LAB on ``stack`` that ``stop`` interrupts once it holds the lock and a write of it has
    reached the twin (the twin slowed meanwhile): the log position before it, the run, its lock blob."""
    project.write_stack(stack, [f5.cluster(LAB)], f5.secrets())
    seq = f5.last_seq()
    f5.admin().set_latency(MID_RUN_MS)
    try:
        run = project.spawn("up", "--yes", "--skip-preview", stack=stack)
        lock = wait_for_lock(azurite, stack, run)
        wait_for_a_write(f5, seq, run)
        stop(run)
    finally:
        f5.admin().set_latency(0)
    return seq, run, lock


def test_up_drift_check_and_destroy_keep_the_state_in_the_container(
    azblob_project: SharedStateProject, azurite: Azurite, f5: F5
) -> None:
    up_drift_check_and_destroy(
        azblob_project,
        f5,
        "azflow",
        keys=lambda prefix: azurite.blobs(CONTAINER, prefix),
        read=lambda name: azurite.read(CONTAINER, name),
    )


def test_the_cli_verifies_azurites_certificate(azblob_project: SharedStateProject) -> None:
    """Without the CA that issued Azurite's certificate, the CLI refuses the backend: TLS is on."""
    env = azblob_project.env()
    del env["SSL_CERT_FILE"]
    refused = azblob_project.cli("login", azblob_project.backend_url, env=env)
    assert refused.exit_code != 0
    assert "x509: certificate signed by unknown authority" in refused.output, refused.output


def test_a_second_up_while_one_runs_is_refused_by_the_lock_and_nothing_is_written_twice(
    azblob_project: SharedStateProject, azurite: Azurite, f5: F5
) -> None:
    stack = "azlock"
    azblob_project.write_stack(stack, [f5.cluster(LAB)], f5.secrets())
    seq = f5.last_seq()
    f5.admin().set_latency(SLOW_MS)  # the first run's every request waits: it holds the lock a long while
    try:
        first = azblob_project.spawn("up", "--yes", "--skip-preview", stack=stack)
        lock = wait_for_lock(azurite, stack, first)
        second = azblob_project.pulumi("up", "--yes", "--skip-preview", stack=stack)
        assert first.running()  # the two runs overlapped
    finally:
        f5.admin().set_latency(0)
    done = first.wait()

    assert done.exit_code == 0, done.output
    assert second.exit_code == 1  # CLI v3.276.0; the stack's program never started
    assert LOCKED in second.output, second.output
    # the lock it names: the blob's URL and who holds it (the first CLI process)
    base, _, query = azblob_project.backend_url.partition("?")
    assert f"{base}/{lock}?{query}: created by " in second.output, second.output
    assert f"(pid {first.pid}) at " in second.output, second.output
    assert azurite.key not in second.output + done.output

    writes = device_writes(f5, seq)
    assert carried_out(f5, seq) == ONE_UP, writes
    assert all(e["status"] < 400 for e in writes), writes
    assert logins(f5, seq) == 1  # the refused run never opened a session on the appliance
    assert lock_keys(azurite, stack) == []
    azblob_project.settled(stack, f5)


def test_a_failed_run_releases_its_lock(azblob_project: SharedStateProject, azurite: Azurite, f5: F5) -> None:
    stack = "azfail"
    bad = f5.cluster(LAB, nodes=[{"name": "rras1", "address": "198.51.100.300"}])
    azblob_project.write_stack(stack, [bad], f5.secrets())
    seq = f5.last_seq()
    failed = azblob_project.pulumi("up", "--yes", "--skip-preview", stack=stack)
    assert failed.exit_code != 0
    assert "is not an IPv4 or IPv6 address" in failed.output, failed.output
    assert lock_keys(azurite, stack) == []
    assert f5.admin().log(since=seq) == []

    azblob_project.write_stack(stack, [f5.cluster(LAB)], {})  # fixed: the next run is not refused
    azblob_project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert carried_out(f5, seq) == ONE_UP
    azblob_project.settled(stack, f5)


def test_a_cancelled_run_releases_its_lock_and_the_next_up_finishes_the_work(
    azblob_project: SharedStateProject, azurite: Azurite, f5: F5
) -> None:
    """SIGINT (Ctrl-C; a pipeline's cancel where it sends SIGINT first): the CLI lets the writes under way
    finish, records them, releases the lock and exits non-zero; the next ``up`` makes only what is missing."""
    stack = "azcancel"
    seq, run, _ = stopped_mid_run(
        azblob_project, azurite, f5, stack, lambda run: os.kill(run.pid, signal.SIGINT)
    )
    cancelled = run.wait()
    assert cancelled.exit_code != 0
    assert "error: update canceled" in cancelled.output, cancelled.output
    assert lock_keys(azurite, stack) == []

    azblob_project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert carried_out(f5, seq) == ONE_UP
    azblob_project.settled(stack, f5)


def test_a_stale_lock_of_a_killed_run_is_cleared_with_pulumi_cancel(
    azblob_project: SharedStateProject, azurite: Azurite, f5: F5
) -> None:
    """SIGKILL to the CLI and its plugins mid-run (an agent that died or a job killed after its grace time):
    the lock stays and refuses every later run until ``pulumi cancel`` deletes it; the next ``up`` adopts
    what the killed run had made (by the ownership marker) and creates nothing twice."""
    stack = "azstale"
    seq, killed, lock = stopped_mid_run(azblob_project, azurite, f5, stack, Spawned.kill)
    assert killed.wait().exit_code != 0
    assert lock_keys(azurite, stack) == [lock]

    refused = azblob_project.pulumi("up", "--yes", "--skip-preview", stack=stack)
    assert refused.exit_code != 0 and LOCKED in refused.output, refused.output
    assert f"(pid {killed.pid}) at " in refused.output, refused.output
    cancel = azblob_project.pulumi("cancel", "--yes", stack=stack, check=True)
    assert f"The currently running update for '{stack}' has been canceled!" in cancel.output, cancel.output
    assert lock_keys(azurite, stack) == []

    azblob_project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert carried_out(f5, seq) == ONE_UP
    azblob_project.settled(stack, f5)


def test_a_run_killed_while_checkpoints_are_skipped_is_finished_by_the_next_up_without_duplicates(
    azblob_project: SharedStateProject, azurite: Azurite, f5: F5
) -> None:
    """``PULUMI_SKIP_CHECKPOINTS=true`` writes the state once, at the end of a run (docs/pulumi-engine.md,
    "How many calls at once"): a run killed half-way leaves no record of the objects it made. The next
    ``up`` creates them again, is told each one exists, finds the stack's marker on it and takes it over:
    every object is written once in all, and the state and the device agree afterwards."""
    stack = "azskip"
    azblob_project.backend_env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    try:
        seq, killed, _ = stopped_mid_run(azblob_project, azurite, f5, stack, Spawned.kill)
        assert killed.wait().exit_code != 0
        azblob_project.pulumi("cancel", "--yes", stack=stack, check=True)
        # the engine recorded none of what the killed run made
        recorded = azblob_project.checkpoint(stack)["checkpoint"]["latest"].get("resources") or []
        assert [r for r in recorded if r.get("custom") and "dynamic" in r["type"]] == [], recorded
        time.sleep(MID_RUN_MS / 1000 + 0.5)  # a write already on its way when the run died lands now
        made = carried_out(f5, seq)
        assert made and made != ONE_UP, made  # killed half-way: some objects made, not all

        again = f5.last_seq()
        azblob_project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
        # each object the killed run made was refused as existing and taken over, not made twice
        existing = Counter(f5.describe(e) for e in device_writes(f5, again) if e["status"] == 409)
        assert existing == made, (existing, made)
        assert carried_out(f5, seq) == ONE_UP
        azblob_project.settled(stack, f5)
    finally:
        del azblob_project.backend_env["PULUMI_SKIP_CHECKPOINTS"]
