"""The drift report and the repair, end to end through the real Pulumi CLI.

Three clusters, one behind each load-balancer twin, the F5 one with two RRAS nodes served by one WinRM twin
(tests/fixtures/drift/scenario.py). A person changes each device by hand through its own interface (iControl
REST, NITRO, the LoadMaster's /access API, PowerShell Remoting on rras2); ``python -m ops.drift`` (what
``./run drift`` runs) exits 7 and its Markdown and JSON name each object, property, declared and found value
and what the change breaks; a plain ``up`` repairs nothing (the state still holds what the last ``up``
wrote), the merge command ``pulumi up --refresh --yes`` repairs every device, and the drift check then
exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.common import start_twin
from tests.e2e.devices import F5, PASSWORD, Citrix, Kemp
from tests.e2e.project import Project
from tests.fixtures.drift import scenario

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STACK = "drift-report"
IKEV2_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"


@pytest.fixture(scope="module")
def winrm(tls: Any) -> Iterator[Any]:
    twin = start_twin("winrm", tls=tls, nodes=list(scenario.NODES))
    yield twin
    twin.stop()


def drift_report(project: Project, out: Path) -> tuple[int, str, str, dict[str, Any]]:
    """``python -m ops.drift`` on the test's project and backend: exit code, text, Markdown, JSON."""
    md, js = out / "drift.md", out / "drift.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops.drift",
            "--stack",
            STACK,
            "--cwd",
            str(project.path),
            "--markdown",
            str(md),
            "--json",
            str(js),
        ],
        cwd=ROOT,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert md.is_file() and js.is_file(), proc.stdout + proc.stderr
    return proc.returncode, proc.stdout + proc.stderr, md.read_text(), json.loads(js.read_text())


def test_hand_changes_are_reported_and_the_merge_command_repairs_them(
    project: Project, f5: F5, adc: Citrix, kemp: Kemp, winrm: Any, tmp_path: Path
) -> None:
    project.write_stack(STACK, scenario.clusters(f5, adc, kemp, winrm), scenario.secrets(f5, adc, kemp))
    project.pulumi("up", "--yes", "--skip-preview", stack=STACK, check=True)
    scenario.change_f5(f5)
    scenario.change_adc(adc)
    scenario.change_kemp(kemp)
    scenario.change_rras(winrm)

    code, text, md, doc = drift_report(project, tmp_path)
    assert code == 7, text
    assert (
        "| `source_address_translation` (`clientAddress`) | `none` (preserved) | `automap` (translated) |"
        in md
    )
    assert "| `usip` (`clientAddress`) | `YES` (preserved) | `NO` (translated) |" in md
    assert "| `transparent` (`clientAddress`) | `true` (preserved) | `false` (translated) |" in md
    assert "| `policy.DHGroup` (`ipsec.dhGroup`) | `Group14` | `Group2` |" in md
    assert "| `EnableServerFragmentation` (`ikev2Fragmentation`) | `1` | `absent` |" in md
    assert "ltm virtual `/Common/vpn-f5_ikev2_500_vs`" in md and "RRAS node rras2" in md
    found = {
        (f["cluster"], f["kind"], f["object"], c["prop"], c["wanted"], c["found"]): c["breaks"]
        for f in doc["drifted"]
        for c in f["changes"]
    }
    assert set(found) == {
        (
            "vpn-f5",
            "f5:VirtualServer",
            "/Common/vpn-f5_ikev2_500_vs",
            "source_address_translation",
            "none",
            "automap",
        ),
        ("vpn-adc", "citrix:ServiceGroup", "vpn-adc_ikev2_500", "usip", "YES", "NO"),
        ("vpn-lm", "kemp:VirtualService", f"{scenario.LM_VIP}:500/udp", "transparent", True, False),
        (
            "vpn-lm",
            "kemp:PortFollow",
            f"virtual service {scenario.LM_VIP}:4500/udp -> 500/udp",
            None,
            "present",
            None,
        ),
        ("vpn-f5", "rras:IpsecPolicy", "rras2/ipsec-policy", "policy.DHGroup", "Group14", "Group2"),
        ("vpn-f5", "rras:IpsecPolicy", "rras2/ipsec-policy", "policy.EncryptionMethod", "AES128", "AES256"),
        (
            "vpn-f5",
            "rras:RegistryValue",
            "rras2/HKLM:\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
            "\\EnableServerFragmentation",
            "EnableServerFragmentation",
            1,
            None,
        ),
    }
    breaks = " ".join(found.values())
    assert "SAs per source address" in breaks and "809" in breaks and "13868" in breaks
    assert doc["differs"] == [] and doc["repair"] == f"pulumi up --stack {STACK} --refresh --yes"
    for out in (text, md, json.dumps(doc)):
        assert PASSWORD not in out and "__provider" not in out

    # the old merge command compares the declaration with the state, which still holds what the last up
    # wrote: it changes nothing
    since = f5.last_seq()
    project.pulumi("up", "--yes", stack=STACK, check=True)
    assert f5.writes(since) == []

    project.pulumi("up", "--refresh", "--yes", stack=STACK, check=True)  # the merge command
    vs = f5.get("/mgmt/tm/ltm/virtual/~Common~vpn-f5_ikev2_500_vs")
    assert vs["sourceAddressTranslation"]["type"] == "none"
    assert adc.get("servicegroup/vpn-adc_ikev2_500")[0]["usip"] == "YES"
    vs500, vs4500 = kemp.show_vs(500, scenario.LM_VIP), kemp.show_vs(4500, scenario.LM_VIP)
    assert vs500 is not None and vs4500 is not None
    assert vs500["Transparent"] == "Y" and vs4500["FollowVSID"] == vs500["Index"]
    running = winrm.admin()._call("GET", "nodes/rras2/state")["running"]
    assert running["vpn"]["policies"]["IKEv2"]["DHGroup"] == "Group14"
    assert running["registry"][IKEV2_KEY]["EnableServerFragmentation"] == {"kind": "DWord", "value": 1}

    code, text, md, doc = drift_report(project, tmp_path)
    assert (code, doc["status"], doc["drifted"], doc["differs"]) == (0, "no drift", [], []), text
    assert "No drift" in md
