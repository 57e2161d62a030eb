"""What a person reviewing a change reads, through the real Pulumi CLI: typed preview rows, a ``--diff`` that
names the changed property alone, a compact stack output, a roll that says what it did, and warnings when a
change reaches the VPN clients.

One F5 cluster whose three RRAS nodes are served by one WinRM twin (NTLM over HTTPS, as behind the F5 in
tests/e2e/test_rras_rolling.py); the vendor switch moves it to the Citrix ADC twin (preview only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.common import start_twin
from providers.common.resources import LEGACY_TYPE, type_token
from providers.f5.resources import F5SourceAddressPersistence
from providers.rras.resources import RrasNodeRestart
from tests.e2e.devices import F5, PASSWORD, USER, Citrix, Decl
from tests.e2e.project import CliRun, Project

pytestmark = pytest.mark.e2e

STACK = "operator-view"
NODES = ("rras1", "rras2", "rras3")
CLUSTER = "vpn-ops"
PERSISTENCE = f"{CLUSTER}-persistence-ikev2"


@pytest.fixture(scope="module")
def winrm(tls: Any) -> Iterator[Any]:
    twin = start_twin("winrm", tls=tls, nodes=list(NODES))
    yield twin
    twin.stop()


def decl(view: F5 | Citrix, winrm: Any, **changes: Any) -> Decl:
    managed = [
        {
            "name": name,
            "address": f"198.51.100.8{i}",
            "management": {
                "endpoint": f"{winrm.url}/{name}/wsman",
                "user": USER,
                "passwordSecret": "rrasPassword",
                "auth": "ntlm",
                "caBundle": str(winrm.tls.ca_path),
            },
        }
        for i, name in enumerate(NODES, start=1)
    ]
    base: Decl = {
        "name": CLUSTER,
        "virtualAddress": "192.0.2.80",
        "persistenceTimeout": 1800,
        "nodes": managed,
    }
    return view.cluster(base, **changes)


def step_block(output: str, name: str) -> str:
    """The lines of ``preview --diff`` that belong to the step of the resource ``name`` (its last block: a
    refresh shows its own one first)."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == f"[urn={line.strip()[5:-1]}]"]
    starts = [i for i in starts if lines[i].endswith(f"::{name}]")]
    block = []
    for line in lines[starts[-1] + 1 :]:
        if re.match(r"\s*[~+\-]?\s*pulumi-python:|\s*[~+\-]?\s*aovpn:|Resources:|\s*--outputs:--", line):
            break
        block.append(line)
    return "\n".join(block)


@pytest.fixture(scope="module")
def first_preview(project: Project, f5: F5, winrm: Any) -> Iterator[CliRun]:
    """The preview of the stack's creation; the stack is then made, and destroyed after the module."""
    project.write_stack(STACK, [decl(f5, winrm)], f5.secrets() | {"rrasPassword": PASSWORD})
    preview = project.pulumi("preview", stack=STACK, check=True)
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    yield preview
    project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK, check=True)


@pytest.fixture
def deployed(project: Project, first_preview: CliRun) -> Project:
    return project


def test_preview_rows_say_what_each_object_is(deployed: Project, first_preview: CliRun) -> None:
    preview = first_preview
    assert LEGACY_TYPE not in preview.output, preview.output
    for token in (
        "dynamic/f5:Pool",
        "dynamic/f5:VirtualServer",
        "dynamic/rras:IpsecPolicy",
        "dynamic/f5:ConfigSave",
    ):
        assert f"pulumi-python:{token} " in preview.output, preview.output
    urns = [r["urn"] for r in deployed.checkpoint(STACK)["checkpoint"]["latest"]["resources"]]
    assert deployed.urn(STACK, PERSISTENCE, F5SourceAddressPersistence) in urns
    assert not [u for u in urns if LEGACY_TYPE in u], urns


def test_a_one_property_change_diffs_that_property_alone(deployed: Project, f5: F5, winrm: Any) -> None:
    deployed.write_stack(STACK, [decl(f5, winrm, persistenceTimeout=1200)], {})
    shown = deployed.pulumi("preview", "--diff", stack=STACK, check=True)
    block = step_block(shown.output, PERSISTENCE)
    assert "~ timeout: 1800 => 1200" in block, shown.output
    for other in ("device", "owner", "name", "partition", "revision", "match_across_services"):
        assert other not in block, block
    plan = deployed.pulumi("preview", "--json", stack=STACK, check=True).json()
    (step,) = [s for s in plan["steps"] if s["urn"].endswith(f"::{PERSISTENCE}")]
    assert step["op"] == "update" and step["diffReasons"] == ["timeout"], step
    assert set(step.get("detailedDiff") or {}) == {"timeout"}, step
    deployed.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)


def test_drift_found_by_a_refresh_is_still_a_change_shown_in_full(deployed: Project, f5: F5) -> None:
    """The engine's own input diff cannot see drift (the inputs did not change): the provider says
    "changes" for it, so the drift check still fails, and the object is shown whole."""
    path = f"/mgmt/tm/ltm/persistence/source-addr/~Common~{CLUSTER}_ikev2_srcaddr"
    assert f5.send("PATCH", path, {"timeout": "600"}).ok
    drift = deployed.pulumi("preview", "--refresh", "--diff", "--expect-no-changes", stack=STACK)
    assert drift.exit_code == 7, drift.output
    block = step_block(drift.output, PERSISTENCE)
    assert "timeout" in block and "device" in block, drift.output
    assert "timeout              : 1200 => 600" in drift.output  # the refresh's own diff names the drift
    # ``up --refresh`` records the drift, so its diff (outputs 600, inputs 1200) repairs it
    deployed.pulumi("up", "--refresh", "--yes", "--skip-preview", stack=STACK, check=True)
    assert f5.persistence_timeout({"name": CLUSTER}) == 1200


def test_the_stack_output_is_compact_and_readable(deployed: Project) -> None:
    outputs = deployed.pulumi("stack", "output", "--json", stack=STACK, check=True).json()
    cluster = outputs["clusters"][CLUSTER]
    assert cluster["loadBalancer"] == "f5" and cluster["virtualAddress"] == "192.0.2.80"
    assert cluster["objectsByKind"] == {
        "f5:Node": 3,
        "f5:Pool": 2,
        "f5:SourceAddressPersistence": 1,
        "f5:VirtualServer": 2,
        "f5:ConfigSave": 1,
        "rras:IpsecPolicy": 3,
        "rras:RegistryValue": 9,  # per node: fragmentation, initial query, CRL check
        "rras:NodeRestart": 3,
    }
    assert "<CryptographySuite>" in cluster["clientProfile"]["nativeProfileXml"]
    assert "objects" not in cluster  # no list of every object's id
    assert len(json.dumps(outputs)) < 1600, len(json.dumps(outputs))


def test_a_roll_says_what_it_did_and_a_policy_change_warns_about_the_clients(
    deployed: Project, f5: F5, winrm: Any
) -> None:
    changed = decl(f5, winrm, persistenceTimeout=1200, ipsec={"dhGroup": "ECP384", "pfsGroup": "ECP384"})
    deployed.write_stack(STACK, [changed], {})
    preview = deployed.pulumi("preview", "--diff", stack=STACK, check=True)
    warning = (
        f"warning: {CLUSTER}: the IPsec policy changes "
        "(DHGroup Group14 -> ECP384, PfsGroup PFS2048 -> ECP384); "
        "clients must use the same policy or fail with error 13868"
    )
    assert preview.output.count(warning) == 1, preview.output  # one warning per cluster, not per node
    policy = step_block(preview.output, f"{CLUSTER}-rras2-ipsec-policy")
    assert '~ DHGroup : "Group14" => "ECP384"' in policy and "EncryptionMethod" not in policy, policy
    assert "device" not in policy, policy

    up = deployed.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    lines = [
        f"{node}: drained on the f5 load balancer, "
        "RemoteAccess restarted because ipsec-policy changed, enabled"
        for node in NODES
    ]
    at = [up.output.find(line) for line in lines]
    assert all(i >= 0 for i in at) and at == sorted(at), up.output  # each node's line, in roll order
    assert warning in up.output, up.output

    restarts = {
        r["urn"].rsplit("::", 1)[-1]: r["outputs"]["last_restart"]
        for r in deployed.checkpoint(STACK)["checkpoint"]["latest"]["resources"]
        if r["type"] == type_token(RrasNodeRestart)
    }
    last = restarts[f"{CLUSTER}-rras2-restart"]
    assert last["because"] == ["ipsec-policy"] and last["services"] == ["RemoteAccess"], last
    assert last["steps"] == lines[1], last


def test_a_vendor_switch_warns_that_the_virtual_address_moves(
    deployed: Project, f5: F5, adc: Citrix, winrm: Any
) -> None:
    deployed.write_stack(STACK, [decl(adc, winrm)], adc.secrets())
    preview = deployed.pulumi("preview", stack=STACK, check=True)
    assert (
        f"warning: {CLUSTER}: virtual address 192.0.2.80 moves from the f5 load balancer at {f5.url} "
        f"to the citrix one at {adc.url}"
    ) in preview.output, preview.output
    deployed.write_stack(STACK, [decl(f5, winrm, persistenceTimeout=1200)], {})
