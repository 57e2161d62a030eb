"""The drift report (ops/drift.py) built from documents the real Pulumi CLI wrote for the drift check.

The fixtures under tests/fixtures/drift/ were recorded by tests/fixtures/drift/record.py (its docstring says
how, and what was cut to keep them small): the scenario of scenario.py after a hand change on each
load-balancer twin and two on an RRAS node (drift.json, exit 7), after the repair (clean.json, exit 0), and
with a twin down (failed.json, exit 1).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.declaration_prose import PROSE
from ops import drift
from ops.consequences import ANY_KIND, NOT_IN_TABLE, RULES
from ops.drift import ABSENT, Report

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "drift"
FRAGMENTATION_ID = (
    r"rras2/HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2\EnableServerFragmentation"
)


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def report_of(record: dict[str, Any]) -> Report:
    return drift.build("drift", record["exit_code"], record["stdout"], record["stderr"])


@pytest.fixture(scope="module")
def drifted() -> Report:
    return report_of(recorded("drift.json"))


def rows(findings: list[drift.Finding]) -> set[tuple[Any, ...]]:
    return {
        (
            f.cluster,
            f.device,
            f.kind,
            f.object,
            f.state,
            c.prop,
            c.declaration,
            c.wanted,
            c.found,
            c.on_device,
        )
        for f in findings
        for c in f.changes
    }


def step_of(record: dict[str, Any], op: str, resource: str) -> dict[str, Any]:
    (step,) = [s for s in record["stdout"]["steps"] if s["op"] == op and s["urn"].endswith(f"::{resource}")]
    return step


def test_each_hand_change_is_named_by_object_property_declared_and_found_value(drifted: Report) -> None:
    assert drifted.exit_code == 7
    assert rows(drifted.drifted) == {
        (
            "vpn-f5",
            "f5 load balancer",
            "f5:VirtualServer",
            "/Common/vpn-f5_ikev2_500_vs",
            "changed",
            "source_address_translation",
            "clientAddress",
            "none",
            "automap",
            True,
        ),
        (
            "vpn-adc",
            "citrix load balancer",
            "citrix:ServiceGroup",
            "vpn-adc_ikev2_500",
            "changed",
            "usip",
            "clientAddress",
            "YES",
            "NO",
            True,
        ),
        (
            "vpn-lm",
            "kemp load balancer",
            "kemp:VirtualService",
            "192.0.2.173:500/udp",
            "changed",
            "transparent",
            "clientAddress",
            True,
            False,
            True,
        ),
        (
            "vpn-lm",
            "kemp load balancer",
            "kemp:PortFollow",
            "virtual service 192.0.2.173:4500/udp -> 500/udp",
            "deleted",
            None,
            None,
            "present",
            ABSENT,
            True,
        ),
        (
            "vpn-f5",
            "RRAS node rras2",
            "rras:IpsecPolicy",
            "rras2/ipsec-policy",
            "changed",
            "policy.DHGroup",
            "ipsec.dhGroup",
            "Group14",
            "Group2",
            True,
        ),
        (
            "vpn-f5",
            "RRAS node rras2",
            "rras:IpsecPolicy",
            "rras2/ipsec-policy",
            "changed",
            "policy.EncryptionMethod",
            "ipsec.encryptionMethod",
            "AES128",
            "AES256",
            True,
        ),
        (
            "vpn-f5",
            "RRAS node rras2",
            "rras:RegistryValue",
            FRAGMENTATION_ID,
            "changed",
            "EnableServerFragmentation",
            "ikev2Fragmentation",
            1,
            ABSENT,
            True,
        ),
    }
    urls = {f.kind: f.url for f in drifted.drifted}
    assert urls["f5:VirtualServer"].startswith("https://127.0.0.1:")
    assert urls["rras:IpsecPolicy"].endswith("/rras2/wsman")


def test_each_change_says_what_it_breaks(drifted: Report) -> None:
    breaks = {(f.kind, c.prop): c.breaks for f in drifted.drifted for c in f.changes}
    for kind in ("f5:VirtualServer", "citrix:ServiceGroup", "kemp:VirtualService"):
        prop = {"f5:VirtualServer": "source_address_translation", "citrix:ServiceGroup": "usip"}.get(
            kind, "transparent"
        )
        assert "SAs per source address" in breaks[(kind, prop)] and "809" in breaks[(kind, prop)]
    assert "500 and 4500" in breaks[("kemp:PortFollow", None)] and "809" in breaks[("kemp:PortFollow", None)]
    assert "13868" in breaks[("rras:IpsecPolicy", "policy.DHGroup")]
    assert "fragment" in breaks[("rras:RegistryValue", "EnableServerFragmentation")]
    assert NOT_IN_TABLE not in breaks.values()
    meanings = {(c.prop, c.wanted_means, c.found_means) for f in drifted.drifted for c in f.changes}
    assert ("source_address_translation", "preserved", "translated") in meanings
    assert ("usip", "preserved", "translated") in meanings


def test_what_the_devices_did_not_change_is_not_drift(drifted: Report) -> None:
    objects = {f.object for f in (*drifted.drifted, *drifted.differs)}
    assert not [o for o in objects if o.startswith("rras1")], objects
    assert not [
        f for f in (*drifted.drifted, *drifted.differs) if f.kind.endswith((":ConfigSave", ":NodeRestart"))
    ]
    # the save after the repaired objects and rras2's rolling restart follow from the repair
    assert set(drifted.follows) == {
        "vpn-f5-config-save (f5:ConfigSave)",
        "vpn-adc-config-save (citrix:ConfigSave)",
        "vpn-f5-rras2-restart (rras:NodeRestart)",
    }


def test_a_declaration_change_not_yet_applied_is_listed_apart(drifted: Report) -> None:
    assert rows(drifted.differs) == {
        (
            "vpn-f5",
            "f5 load balancer",
            "f5:SourceAddressPersistence",
            "/Common/vpn-f5_ikev2_srcaddr",
            "differs",
            "timeout",
            "persistenceTimeout",
            1200,
            1800,
            False,
        )
    }


def test_the_ipsec_policy_is_reported_field_by_field(drifted: Report) -> None:
    (policy,) = [f for f in drifted.drifted if f.kind == "rras:IpsecPolicy"]
    assert [c.prop for c in policy.changes] == ["policy.DHGroup", "policy.EncryptionMethod"]
    for rendered in (drift.text(drifted), drift.markdown(drifted)):
        lines = [line for line in rendered.splitlines() if "policy." in line]
        assert lines and not [line for line in lines if "{" in line], lines
        assert "AuthenticationTransformConstants" not in rendered  # unchanged fields are not shown


def test_the_markdown_names_place_object_property_values_and_consequence(drifted: Report) -> None:
    md = drift.markdown(drifted)
    assert md.startswith("## Drift check of stack `drift`: drift")
    assert "**cluster `vpn-f5`, f5 load balancer** (`https://127.0.0.1:" in md
    assert "ltm virtual `/Common/vpn-f5_ikev2_500_vs`, changed on the device" in md
    assert (
        "| `source_address_translation` (`clientAddress`) | `none` (preserved) | `automap` (translated) |"
        in md
    )
    assert "| `policy.DHGroup` (`ipsec.dhGroup`) | `Group14` | `Group2` |" in md
    assert "| the object | `present` | `absent` |" in md
    assert "- What it breaks: the client source address is translated" in md
    assert "`pulumi up --stack drift --refresh --yes`" in md


def test_the_json_carries_the_same_findings_for_alerting(drifted: Report) -> None:
    doc = json.loads(json.dumps(drift.as_json(drifted)))
    assert (doc["status"], doc["exit_code"], doc["repair"]) == (
        "drift",
        7,
        "pulumi up --stack drift --refresh --yes",
    )
    by_object = {f["object"]: f for f in doc["drifted"]}
    snat = by_object["/Common/vpn-f5_ikev2_500_vs"]
    assert (snat["cluster"], snat["vendor"], snat["kind"], snat["state"]) == (
        "vpn-f5",
        "f5",
        "f5:VirtualServer",
        "changed",
    )
    (change,) = snat["changes"]
    assert (change["prop"], change["wanted"], change["found"], change["declaration"]) == (
        "source_address_translation",
        "none",
        "automap",
        "clientAddress",
    )
    assert "809" in change["breaks"]
    assert by_object[FRAGMENTATION_ID]["changes"][0]["found"] is None  # absent
    assert [f["object"] for f in doc["differs"]] == ["/Common/vpn-f5_ikev2_srcaddr"]


def test_exit_codes_no_drift_drift_and_a_failed_check(drifted: Report) -> None:
    clean = report_of(recorded("clean.json"))
    assert (clean.exit_code, clean.drifted, clean.differs, clean.errors) == (0, [], [], [])
    assert "No drift" in drift.text(clean) and "Repair" not in drift.text(clean)
    assert drifted.exit_code == 7
    failed = report_of(recorded("failed.json"))
    assert failed.exit_code == 1 and failed.drifted == []
    assert [e for e in failed.errors if "cannot reach the device" in e], failed.errors
    assert "could not run" in drift.markdown(failed) and "cannot reach the device" in drift.markdown(failed)
    # an exit code 7 without a document is not taken for drift
    assert drift.build("drift", 7, None, "error: boom").exit_code == 1


def test_a_change_the_table_does_not_know_is_reported_not_skipped() -> None:
    record = copy.deepcopy(recorded("drift.json"))
    step = step_of(record, "update", "vpn-f5-virtual-ikev2-500")
    step["oldState"]["outputs"]["fallback_persistence"] = "/Common/someone_elses"
    report = report_of(record)
    (snat,) = [f for f in report.drifted if f.object == "/Common/vpn-f5_ikev2_500_vs"]
    unknown = {c.prop: c for c in snat.changes}["fallback_persistence"]
    assert (unknown.wanted, unknown.found, unknown.breaks) == ("", "/Common/someone_elses", NOT_IN_TABLE)
    assert NOT_IN_TABLE in drift.text(report) and NOT_IN_TABLE in drift.markdown(report)


def test_secrets_stay_masked_and_plumbing_is_never_printed() -> None:
    record = copy.deepcopy(recorded("drift.json"))
    step = step_of(record, "update", "vpn-adc-servicegroup-ikev2-500")
    step["oldState"]["outputs"]["usip"] = "[secret]"  # what the CLI shows of a secret value
    report = report_of(record)
    outputs = (drift.text(report), drift.markdown(report), json.dumps(drift.as_json(report)))
    for out in outputs:
        assert "[secret]" in out
        assert "__provider" not in out and "password_key" not in out and "revision" not in out
    assert "automation-pass" not in json.dumps(recorded("drift.json"))


def test_the_table_speaks_the_providers_and_the_declarations_terms() -> None:
    kinds = drift.provider_classes()
    rras_source = (ROOT / "components" / "rras.py").read_text()
    for rule in RULES:
        if rule.declaration is not None:
            assert rule.declaration in PROSE, rule
        if rule.kind == ANY_KIND:
            continue
        assert rule.kind in kinds, rule
        if rule.prop is None:
            continue
        if rule.kind == "rras:RegistryValue":
            assert f'"{rule.prop}"' in rras_source, rule  # a value name the RRAS component writes
            continue
        provider = kinds[rule.kind]
        keys = (*getattr(provider, "identity_keys", ()), *getattr(provider, "property_keys", ()))
        assert rule.prop.split(".", 1)[0] in keys, rule


def test_every_resource_kind_is_known_by_its_provider() -> None:
    tokens = set()
    for path in (ROOT / "providers").glob("*/resources.py"):
        tokens |= set(re.findall(r'module="(\w+)", name="(\w+)"', path.read_text()))
    assert {f"{m}:{n}" for m, n in tokens} == set(drift.provider_classes())
    assert drift.object_type("f5:VirtualServer") == "ltm virtual"


def test_a_missing_cli_is_a_failed_check(tmp_path: Path) -> None:
    report = drift.run_check("prod", tmp_path, {"PATH": str(tmp_path)})
    assert report.exit_code == 1 and "Pulumi CLI was not found" in report.errors[0]


def test_the_files_are_written_when_asked(tmp_path: Path, drifted: Report) -> None:
    md, js = tmp_path / "drift.md", tmp_path / "drift.json"
    drift.write(drifted, md, js)
    assert md.read_text() == drift.markdown(drifted)
    assert json.loads(js.read_text())["exit_code"] == 7


def test_a_value_the_preview_does_not_know_yet_is_not_drift() -> None:
    record = copy.deepcopy(recorded("drift.json"))
    # e.g. a registry value that takes another object's output (the SSTP certificate hash) in a preview
    step_of(record, "update", "vpn-f5-rras2-ikev2-fragmentation")["newState"]["inputs"]["value"] = (
        drift.UNKNOWN
    )
    report = report_of(record)
    assert FRAGMENTATION_ID not in {f.object for f in (*report.drifted, *report.differs)}
    assert "vpn-f5-rras2-ikev2-fragmentation (rras:RegistryValue)" in report.follows


def test_a_check_that_only_finds_an_unapplied_declaration_says_no_device_changed() -> None:
    record = copy.deepcopy(recorded("drift.json"))
    keep = "::vpn-f5-persistence-ikev2"
    record["stdout"]["steps"] = [s for s in record["stdout"]["steps"] if s["urn"].endswith(keep)]
    report = report_of(record)
    assert (report.exit_code, report.drifted, len(report.differs)) == (7, [], 1)
    assert "no object changed on a device; 1 not as declared without a change on their device" in drift.text(
        report
    )
