"""Saving the configuration is a step of the run (F5 ``save sys config``, Citrix ``save ns config``):
after the objects of the device, shown by a preview, taken only when an object was written, and never
left to how the provider process ends. Proven against the F5 and Citrix twins, whose reboot returns to the
saved configuration: what a run changed survives, also when the answer to a write was lost, and also for
objects the run deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.devices import PASSWORD, DeviceView, nodes, saving_kinds, view
from tests.e2e.project import Project

pytestmark = pytest.mark.e2e

SAVE = {"name": "vpn-save", "virtualAddress": "192.0.2.70", "nodes": nodes("198.51.100.71", "198.51.100.72")}


def decl(device: DeviceView, timeout: int) -> dict[str, Any]:
    return device.cluster(SAVE, persistenceTimeout=timeout)


@pytest.fixture(params=saving_kinds())
def device(request: pytest.FixtureRequest, twin_factory: Any) -> DeviceView:
    """A fresh twin, for each load balancer that saves its configuration."""
    return view(request.param, twin_factory(request.param))


def test_the_save_is_a_step_after_the_objects_and_only_when_something_was_written(
    project: Project, device: DeviceView
) -> None:
    stack = f"save-{device.kind}"
    project.write_stack(stack, [decl(device, 1800)], device.secrets())

    preview = project.pulumi("preview", "--json", stack=stack, check=True)
    plan = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in preview.json()["steps"]}
    assert plan["vpn-save-config-save"] == "create", plan

    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    log = device.admin().log()
    save_at = [i for i, e in enumerate(log) if (e["method"], e["path"]) == device.save[:2]]
    object_writes = [i for i, e in enumerate(log) if e.get("write") and i not in save_at]
    assert len(save_at) == 1 and object_writes and max(object_writes) < save_at[0], log
    assert device.admin().state()["unsaved_changes"] is False

    seq = device.last_seq()
    again = project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert device.saves(seq) == 0, again.output  # nothing written: nothing saved
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)


def test_a_write_whose_answer_was_lost_is_saved_by_the_next_up_and_survives_a_reboot(
    project: Project, device: DeviceView
) -> None:
    stack = f"lost-{device.kind}"
    project.write_stack(stack, [decl(device, 1800)], device.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)

    method, path = device.persistence_write
    device.admin().add_fault(method=method, path=path, action="lost")
    project.write_stack(stack, [decl(device, 3600)], {})
    seq = device.last_seq()
    first = project.pulumi("up", "--yes", "--skip-preview", stack=stack)
    assert "Traceback" not in first.output and PASSWORD not in first.output
    assert device.persistence_timeout(SAVE) == 3600  # the device carried the write out
    if first.exit_code == 0:
        # the client read the object back after the lost answer, found the write done, and the run
        # went on to the save
        assert device.saves(seq) == 1, first.output
    else:
        # the run stopped at the lost answer, before the save: the change is not saved yet ...
        assert device.admin().state()["unsaved_changes"] is True
        seq = device.last_seq()
        project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
        # ... and the next up has nothing left to write, yet saves it
        written = [(e["method"], e["path"]) for e in device.admin().log(since=seq) if e.get("write")]
        assert written == [device.save[:2]]
    assert device.admin().state()["unsaved_changes"] is False
    device.admin().reboot()
    assert device.persistence_timeout(SAVE) == 3600
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)


def test_objects_a_run_deletes_stay_deleted_after_a_reboot(project: Project, device: DeviceView) -> None:
    stack = f"gone-{device.kind}"
    before = device.saved()
    project.write_stack(stack, [decl(device, 1800)], device.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert device.persistence_timeout(SAVE) == 1800

    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
    assert device.admin().state()["unsaved_changes"] is False
    device.admin().reboot()
    assert device.persistence_timeout(SAVE) is None
    assert device.saved() == before
