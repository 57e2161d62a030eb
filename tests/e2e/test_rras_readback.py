"""The IPsec policy read back in Windows' own types, end to end, behind each load-balancer twin.

A real node sends Get-VpnServerConfiguration's crypto properties as uint32 (the MOF's type) or as enum
objects whose ToString is the name (docs/rras.md#reading-the-policy-back); the WinRM twin sends either
(``readback_form``). For each load balancer and each form, through the real Pulumi CLI: after the first
``up`` configured the nodes, a second ``up --refresh`` reads them and sends them nothing else (no Set-*,
New-/Remove-ItemProperty or Restart-Service: the twins' command logs), and a drift check finds nothing. A
provider that compared the numbers with the declared names would set the policy and restart every node on
every run. One cluster of two nodes, reached as the rolling-restart tests reach them behind that load
balancer (``DeviceView.rras``, tests/e2e/devices.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.registry import kinds
from emulators.common import TLSMaterial, start_twin
from tests.e2e.devices import PASSWORD, Decl, DeviceView, last_seq, nodes, view
from tests.e2e.project import Project
from tests.e2e.test_rras_rolling import Node, cmdlets

pytestmark = pytest.mark.e2e

FORMS = ("uint32", "enum")
NAMES = ("rras1", "rras2")
CLUSTER: Decl = {"name": "vpn-rb", "virtualAddress": "192.0.2.90"}
#: What only reads: a command that starts otherwise writes to the node (docs/rras.md#reading-the-policy-back).
WRITES = ("Set-", "New-", "Remove-", "Restart-", "Stop-", "Start-")


@dataclass
class ReadbackSite:
    device: DeviceView
    nodes: list[Node]
    twins: list[Any]
    form: str

    @property
    def stack(self) -> str:
        return f"readback-{self.device.kind}-{self.form}"

    def cluster_decl(self) -> Decl:
        managed = [
            {**n, "management": node.management()}
            for n, node in zip(nodes("198.51.100.91", "198.51.100.92"), self.nodes, strict=True)
        ]
        return self.device.cluster(CLUSTER, nodes=managed)

    def secrets(self) -> dict[str, str]:
        return self.device.secrets() | {"rrasPassword": PASSWORD}


@pytest.fixture(params=[(k, f) for k in kinds() for f in FORMS], ids=lambda p: f"{p[0]}-{p[1]}")
def site(request: pytest.FixtureRequest, tls: TLSMaterial) -> Iterator[ReadbackSite]:
    kind, form = request.param
    device = view(kind, start_twin(kind, tls=tls))
    access = device.rras
    options: dict[str, Any] = {
        "tls": tls if access.https else None,
        "readback_form": form,
        "allow_basic": access.auth == "basic",
    }
    if access.shared:
        twins = [start_twin("winrm", nodes=list(NAMES), **options)]
        reached = [Node(name, twins[0], True, access.auth) for name in NAMES]
    else:
        twins = [start_twin("winrm", hostname=name, **options) for name in NAMES]
        reached = [Node(name, t, False, access.auth) for name, t in zip(NAMES, twins, strict=True)]
    yield ReadbackSite(device, reached, twins, form)
    for twin in (device.twin, *twins):
        twin.stop()


def test_a_second_up_only_reads_and_a_drift_check_finds_nothing(project: Project, site: ReadbackSite) -> None:
    project.write_stack(site.stack, [site.cluster_decl()], site.secrets())
    project.pulumi("up", "--yes", "--skip-preview", stack=site.stack, check=True)
    for node in site.nodes:
        assert node.admin("readback-form") == {"node": node.name, "form": site.form}
        policy = node.state()["running"]["vpn"]["policies"]["IKEv2"]
        assert policy["CustomPolicy"] is True and policy["MMSALifeTime"] == 86400

    marks = [last_seq(node.twin) for node in site.nodes]
    lb_mark = site.device.last_seq()
    again = project.pulumi("up", "--yes", "--skip-preview", "--refresh", stack=site.stack, check=True)
    for node, mark in zip(site.nodes, marks, strict=True):
        sent = [c for _, line in cmdlets(node, mark) for c in line.split("; ")]
        assert "Get-VpnServerConfiguration" in sent, sent  # the policy was read back, in this form
        assert [c for c in sent if c.startswith(WRITES)] == [], again.output
    assert site.device.writes(lb_mark) == []

    drift = project.pulumi("preview", "--refresh", "--expect-no-changes", stack=site.stack)
    assert drift.exit_code == 0, drift.output
