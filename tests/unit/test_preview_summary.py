"""ops/preview_summary.py: the short summary of a ``pulumi preview`` a pipeline posts on a pull request.

The documents below have the shape ``pulumi preview --json`` (v3.276.0) gives for this project's stacks:
``steps`` with ``op``, ``urn``, ``oldState``/``newState`` (``type``, ``id``, ``parent``, ``inputs``),
``diffReasons``/``detailedDiff`` for updates and ``replaceReasons`` for replacements, ``changeSummary``, and
``diagnostics`` when the program fails. tests/pipelines/test_command_lines.py runs it on a real preview.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ops import preview_summary
from ops.preview_summary import MARKER, main, read_preview, render

STACK = "prod"
CLUSTER_URN = f"urn:pulumi:{STACK}::aovpn::aovpn:index:VpnCluster::vpn-east"


def step(
    op: str,
    name: str,
    kind: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    token = f"pulumi-python:dynamic/{kind}"
    urn = f"urn:pulumi:{STACK}::aovpn::aovpn:index:VpnCluster${token}::{name}"
    result: dict[str, Any] = {"op": op, "urn": urn, **extra}
    if new is not None:
        result["newState"] = {"urn": urn, "type": token, "parent": CLUSTER_URN, **new}
    if old is not None:
        result["oldState"] = {"urn": urn, "type": token, "parent": CLUSTER_URN, **old}
    return result


def device() -> dict[str, str]:
    return {"url": "https://bigip.corp.example", "user": "svc-aovpn", "password_key": "f5Password"}


UPDATE = step(
    "update",
    "vpn-east-persistence-ikev2",
    "f5:SourceAddressPersistence",
    old={"id": "/Common/vpn-east_ikev2_srcaddr", "inputs": {"timeout": 3600, "device": device()}},
    new={"inputs": {"timeout": 1200, "device": device()}},
    diffReasons=["timeout"],
    detailedDiff={"timeout": {"kind": "update", "inputDiff": True}},
)
REPLACE = step(
    "replace",
    "vpn-east-node-rras2",
    "f5:Node",
    old={"id": "/Common/vpn-east_rras2", "inputs": {"address": "198.51.100.12", "__provider": "[secret]"}},
    new={"inputs": {"address": "198.51.100.13", "__provider": "[secret]"}},
    replaceReasons=["address"],
    detailedDiff={},
)
# replaced because its parent is: no diff of its own, only a parent's id (unknown in a preview) differs
DEPENDENT = step(
    "replace",
    "vpn-east-pool-ikev2-500",
    "f5:Pool",
    old={
        "id": "/Common/vpn-east_ikev2_500",
        "inputs": {"parents": ["/Common/vpn-east_rras2"], "monitor": "m"},
    },
    new={"inputs": {"parents": ["04da6b54-80e4-46f7-96ec-b56ff0331ba9"], "monitor": "m"}},
    detailedDiff={},
)
CREATE = step(
    "create",
    "vpn-east-virtual-sstp",
    "f5:VirtualServer",
    new={"inputs": {"name": "vpn-east_sstp_443_vs", "device": device()}},
    detailedDiff={},
)
DELETE = step("delete", "vpn-east-node-rras3", "f5:Node", old={"id": "/Common/vpn-east_rras3", "inputs": {}})
RESTART = step(
    "update",
    "vpn-east-rras1-restart",
    "rras:NodeRestart",
    old={"id": "rras1", "inputs": {"node": "rras1", "services": {"RemoteAccess": ["a"]}}},
    new={"inputs": {"node": "rras1", "services": {"RemoteAccess": ["b"]}}},
    diffReasons=["services"],
)
REFRESH = step(
    "refresh", "vpn-east-pool-ikev2-4500", "f5:Pool", old={"id": "/Common/vpn-east_ikev2_4500"}, new={}
)
SAME_STACK = {
    "op": "same",
    "urn": f"urn:pulumi:{STACK}::aovpn::pulumi:pulumi:Stack::aovpn-{STACK}",
    "newState": {"type": "pulumi:pulumi:Stack"},
}


def document(
    *steps: dict[str, Any], same: int = 1, diagnostics: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    summary: dict[str, int] = {"same": same}
    for s in steps:
        if s["op"] not in ("same", "refresh"):
            summary[s["op"]] = summary.get(s["op"], 0) + 1
    doc: dict[str, Any] = {"config": {}, "steps": [SAME_STACK, *steps], "changeSummary": summary}
    if diagnostics is not None:
        doc["diagnostics"] = diagnostics
    return doc


def rows(text: str) -> dict[str, list[str]]:
    """The table's rows by object name: [change, device object, cluster, type, what changes]."""
    found = {}
    for line in text.splitlines():
        if line.startswith("| ") and "`" in line.split("|")[2]:
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            found[cells[1].strip("`")] = [cells[0], cells[2].strip("`"), cells[3], cells[4], cells[5]]
    return found


def test_counts_by_operation_and_one_row_per_changed_object() -> None:
    text = render(read_preview(document(UPDATE, REPLACE, DEPENDENT, CREATE, DELETE, REFRESH, same=9), STACK))
    lines = text.splitlines()
    assert lines[0] == MARKER.format(stack=STACK) == "<!-- aovpn-iac preview-summary stack=prod -->"
    assert lines[1] == "### `pulumi preview` of stack `prod`: 5 to change"
    assert "1 to create, 1 to update, 2 to replace, 1 to delete; 9 unchanged." in lines
    table = rows(text)
    # the refresh of a `preview --refresh` changes nothing, and the stack itself did not change
    assert set(table) == {
        "vpn-east-persistence-ikev2",
        "vpn-east-node-rras2",
        "vpn-east-pool-ikev2-500",
        "vpn-east-virtual-sstp",
        "vpn-east-node-rras3",
    }
    assert table["vpn-east-persistence-ikev2"] == [
        "~ update",
        "/Common/vpn-east_ikev2_srcaddr",
        "vpn-east",
        "f5:SourceAddressPersistence",
        "timeout",
    ]
    assert table["vpn-east-node-rras2"][0] == "+- replace"
    assert table["vpn-east-node-rras2"][4] == "address (forces replacement)"
    assert table["vpn-east-pool-ikev2-500"][4] == "parents"
    # a new object has no id yet: the name it will have on the device
    assert table["vpn-east-virtual-sstp"][:2] == ["+ create", "vpn-east_sstp_443_vs"]
    assert table["vpn-east-node-rras3"][:2] == ["- delete", "/Common/vpn-east_rras3"]
    # creates first, then updates, replacements, deletes
    order = [line.split("`")[1] for line in lines if line.startswith("| ") and "`" in line]
    assert order.index("vpn-east-virtual-sstp") < order.index("vpn-east-persistence-ikev2")
    assert order.index("vpn-east-node-rras2") < order.index("vpn-east-node-rras3")


def test_no_property_value_is_shown() -> None:
    text = render(read_preview(document(UPDATE, REPLACE, DEPENDENT, CREATE), STACK))
    for value in ("3600", "1200", "198.51.100.12", "198.51.100.13", "bigip.corp.example", "svc-aovpn"):
        assert value not in text
    assert "f5Password" not in text and "__provider" not in text and "[secret]" not in text


def test_a_preview_without_changes() -> None:
    text = render(read_preview(document(same=12), STACK))
    assert text.splitlines()[1] == "### `pulumi preview` of stack `prod`: no changes"
    assert "Nothing would change on any appliance or RRAS node (12 unchanged)." in text
    assert "| change |" not in text


def test_rras_restarts_are_named() -> None:
    text = render(read_preview(document(RESTART, UPDATE), STACK))
    assert (
        "**RRAS restarts:** `up` would restart 1 node(s), one at a time, each drained on the load balancer "
        "first: `vpn-east-rras1-restart`."
    ) in text
    assert render(read_preview(document(UPDATE), STACK)).count("RRAS restarts") == 0


def test_a_failed_preview_says_so_with_its_errors_and_warnings() -> None:
    diagnostics = [
        {
            "message": "error: invalid cluster declaration:\n"
            "  - cluster 'vpn-east': ipsec.dhGroup: Group2 is weak",
            "severity": "error",
        },
        {"message": "error: an unhandled error occurred: program exited with code 1\n", "severity": "error"},
        {"message": "warning: the IPsec policy changes: redeploy the client profile", "severity": "warning"},
        {"message": "some progress", "severity": "info"},
    ]
    preview = read_preview(document(diagnostics=diagnostics), STACK)
    assert preview.failed
    text = render(preview)
    assert text.splitlines()[1] == "### `pulumi preview` of stack `prod` failed"
    errors = text.split("**Errors**")[1].split("**Warnings**")[0]
    assert "cluster 'vpn-east': ipsec.dhGroup: Group2 is weak" in errors
    assert "error:" not in errors
    assert "the IPsec policy changes: redeploy the client profile" in text.split("**Warnings**")[1]
    assert "some progress" not in text


def test_long_plans_are_cut_to_the_row_limit() -> None:
    many = [
        step("create", f"vpn-east-node-n{i:03}", "f5:Node", new={"inputs": {"name": f"n{i}"}})
        for i in range(preview_summary.MAX_ROWS + 7)
    ]
    text = render(read_preview(document(*many), STACK))
    assert len(rows(text)) == preview_summary.MAX_ROWS
    assert "... and 7 more (see the job log)." in text


def test_main_reads_a_saved_document_and_writes_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "preview.json"
    saved.write_text(json.dumps(document(UPDATE)))
    out = tmp_path / "summary.md"
    assert main(["--stack", STACK, "--input", str(saved), "--output", str(out)]) == 0
    assert out.read_text() == render(read_preview(document(UPDATE), STACK))
    assert capsys.readouterr().out == out.read_text()

    failed = tmp_path / "failed.json"
    failed.write_text(json.dumps(document(diagnostics=[{"message": "error: boom", "severity": "error"}])))
    assert main(["--stack", STACK, "--input", str(failed), "--output", str(out)]) == 1
    assert "boom" in out.read_text()

    (tmp_path / "bad.json").write_text("not json")
    assert main(["--stack", STACK, "--input", str(tmp_path / "bad.json"), "--output", str(out)]) == 2


def _fake_pulumi(tmp_path: Path, stdout: str, code: int, stderr: str = "") -> Path:
    """A `pulumi` on PATH that records its arguments and answers with ``stdout`` and ``code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "answer.json").write_text(stdout)
    (tmp_path / "answer.err").write_text(stderr)
    script = bin_dir / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{tmp_path}/argv"\n'
        f'cat "{tmp_path}/answer.json"\n'
        f'cat "{tmp_path}/answer.err" >&2\n'
        f"exit {code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_without_input_it_runs_the_preview_of_the_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_pulumi(tmp_path, json.dumps(document(UPDATE)), 0)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "summary.md"
    assert main(["--stack", STACK, "--output", str(out)]) == 0
    assert (tmp_path / "argv").read_text().split() == [
        "preview",
        "--stack",
        STACK,
        "--json",
        "--non-interactive",
    ]
    assert "vpn-east-persistence-ikev2" in out.read_text()


def test_a_preview_that_fails_before_any_document_is_summarised_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_pulumi(tmp_path, "", 255, stderr="error: no stack named 'prod' found")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "summary.md"
    assert main(["--stack", STACK, "--output", str(out)]) == 1
    text = out.read_text()
    assert "failed" in text.splitlines()[1] and "no stack named 'prod' found" in text


def test_without_a_pulumi_on_path_the_summary_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "summary.md"
    assert main(["--stack", STACK, "--output", str(out)]) == 1
    assert "no `pulumi` on PATH" in out.read_text()
