"""Saving the configuration is a step of the run (F5 ``save sys config``, Citrix ``save ns config``):
after the objects of the device, shown by a preview, taken only when an object was written, and never
left to how the provider process ends. Proven against the F5 and Citrix twins, whose reboot returns to the
saved configuration: what a run changed survives, also when the answer to a write was lost, and also for
objects the run deleted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

USER, PASSWORD = "automation", "automation-pass"


@dataclass(frozen=True)
class Vendor:
    kind: str
    #: the persistence object's update, as the provider sends it (method, path pattern)
    persistence_write: tuple[str, str]
    #: the save request (method, path, query)
    save: tuple[str, str, str]
    #: reads the persistence timeout (seconds) as the device has it, or None when the object is absent
    timeout: Callable[[Any], int | None]


def _f5_timeout(twin: Any) -> int | None:
    resp = requests.get(
        f"{twin.url}/mgmt/tm/ltm/persistence/source-addr/~Common~vpn-save_ikev2_srcaddr",
        auth=(USER, PASSWORD),
        verify=str(twin.tls.ca_path),
        timeout=30,
    )
    return int(resp.json()["timeout"]) if resp.status_code == 200 else None


def _citrix_timeout(twin: Any) -> int | None:
    resp = requests.get(
        f"{twin.url}/nitro/v1/config/lbgroup/vpn-save_ikev2_persist",
        headers={"X-NITRO-USER": USER, "X-NITRO-PASS": PASSWORD},
        verify=str(twin.tls.ca_path),
        timeout=30,
    )
    return int(resp.json()["lbgroup"][0]["timeout"]) * 60 if resp.status_code == 200 else None


VENDORS = {
    "f5": Vendor(
        "f5",
        ("PATCH", r"/ltm/persistence/source-addr/"),
        ("POST", "/mgmt/tm/sys/config", ""),
        _f5_timeout,
    ),
    "citrix": Vendor(
        "citrix",
        ("PUT", r"/nitro/v1/config/lbgroup"),
        ("POST", "/nitro/v1/config/nsconfig", "action=save"),
        _citrix_timeout,
    ),
}


def decl(twin: Any, vendor: Vendor, timeout: int) -> dict[str, Any]:
    return {
        "name": "vpn-save",
        "protocols": ["ikev2"],
        "virtualAddress": "192.0.2.70",
        "nodes": [
            {"name": "rras1", "address": "198.51.100.71"},
            {"name": "rras2", "address": "198.51.100.72"},
        ],
        "loadBalancer": {
            "kind": vendor.kind,
            "url": twin.url,
            "user": USER,
            "passwordSecret": "lbPassword",
            "caBundle": str(twin.tls.ca_path),
        },
        "persistenceTimeout": timeout,
    }


def saves(twin: Any, vendor: Vendor, since: int = 0) -> int:
    method, path, query = vendor.save
    return sum(
        1
        for e in twin.admin().log(since=since)
        if (e["method"], e["path"], e.get("query", "")) == (method, path, query) and e["status"] == 200
    )


def _without_generation(value: Any) -> Any:
    """The saved configuration less BIG-IP's change counter (it counts every change, undone or not)."""
    if isinstance(value, dict):
        return {k: _without_generation(v) for k, v in value.items() if k != "generation"}
    if isinstance(value, list):
        return [_without_generation(v) for v in value]
    return value


def last_seq(twin: Any) -> int:
    entries = twin.admin().log()
    return entries[-1]["seq"] if entries else 0


@pytest.fixture(params=sorted(VENDORS))
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return VENDORS[request.param]


def test_the_save_is_a_step_after_the_objects_and_only_when_something_was_written(
    project: Project, twin_factory: Any, vendor: Vendor
) -> None:
    twin = twin_factory(vendor.kind)
    stack = f"save-{vendor.kind}"
    project.write_stack(stack, [decl(twin, vendor, 1800)], {"lbPassword": PASSWORD})

    preview = project.pulumi("preview", "--json", stack=stack, check=True)
    plan = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in preview.json()["steps"]}
    assert plan["vpn-save-config-save"] == "create", plan

    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    log = twin.admin().log()
    save_at = [i for i, e in enumerate(log) if (e["method"], e["path"]) == vendor.save[:2]]
    object_writes = [i for i, e in enumerate(log) if e.get("write") and i not in save_at]
    assert len(save_at) == 1 and object_writes and max(object_writes) < save_at[0], log
    assert twin.admin().state()["unsaved_changes"] is False

    seq = last_seq(twin)
    again = project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert saves(twin, vendor, seq) == 0, again.output  # nothing written: nothing saved
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)


def test_a_write_whose_answer_was_lost_is_saved_by_the_next_up_and_survives_a_reboot(
    project: Project, twin_factory: Any, vendor: Vendor
) -> None:
    twin = twin_factory(vendor.kind)
    stack = f"lost-{vendor.kind}"
    project.write_stack(stack, [decl(twin, vendor, 1800)], {"lbPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)

    method, path = vendor.persistence_write
    twin.admin().add_fault(method=method, path=path, action="lost")
    project.write_stack(stack, [decl(twin, vendor, 3600)], {})
    seq = last_seq(twin)
    first = project.pulumi("up", "--yes", "--skip-preview", stack=stack)
    assert "Traceback" not in first.output and PASSWORD not in first.output
    assert vendor.timeout(twin) == 3600  # the device carried the write out
    if first.exit_code == 0:
        # the client read the object back after the lost answer, found the write done, and the run
        # went on to the save
        assert saves(twin, vendor, seq) == 1, first.output
    else:
        # the run stopped at the lost answer, before the save: the change is not saved yet ...
        assert twin.admin().state()["unsaved_changes"] is True
        seq = last_seq(twin)
        project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
        # ... and the next up has nothing left to write, yet saves it
        written = [(e["method"], e["path"]) for e in twin.admin().log(since=seq) if e.get("write")]
        assert written == [vendor.save[:2]]
    assert twin.admin().state()["unsaved_changes"] is False
    twin.admin().reboot()
    assert vendor.timeout(twin) == 3600
    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)


def test_objects_a_run_deletes_stay_deleted_after_a_reboot(
    project: Project, twin_factory: Any, vendor: Vendor
) -> None:
    twin = twin_factory(vendor.kind)
    stack = f"gone-{vendor.kind}"
    before = _without_generation(twin.admin().state()["saved"])
    project.write_stack(stack, [decl(twin, vendor, 1800)], {"lbPassword": PASSWORD})
    project.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
    assert vendor.timeout(twin) == 1800

    project.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)
    assert twin.admin().state()["unsaved_changes"] is False
    twin.admin().reboot()
    assert vendor.timeout(twin) is None
    assert _without_generation(twin.admin().state()["saved"]) == before
