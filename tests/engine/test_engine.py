"""tests/engine proves itself against the fixture project (tests/engine/fixtures/project).

The fixture's provider (``fileprov.ItemProvider``) keeps objects as JSON files and logs every call it gets
(method, name, id, PID, which inputs were Unknown, the Python type of ``port``) to ``calls.jsonl``.
Where the real CLI's behaviour is uncertain, the test name or docstring says which reading was chosen.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine import crypto
from tests.engine.testing import REPO_ROOT, EngineResult, ensure_stack, run_engine, state_resources

PASSPHRASE = "correct horse battery staple"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "project"
PROJECT = "fixture"
ITEM = "pulumi-python:dynamic/test:Item"


def urn(stack: str, name: str, qualified: str = ITEM) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{qualified}::{name}"


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the fixture project per module; ``venv`` links to the repo's venv (as Pulumi.yaml says)."""
    dest = tmp_path_factory.mktemp("engine") / "project"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__", "stacks", ".pulumi"))
    (dest / "venv").symlink_to(REPO_ROOT / "venv")
    return dest


class Stack:
    def __init__(self, project: Path, root: Path, name: str) -> None:
        self.project = project
        self.name = name
        self.backend = root / "backend"
        self.data = root / "data"
        self.data.mkdir(parents=True)
        ensure_stack(project, name, backend_dir=self.backend, passphrase=PASSPHRASE)
        self.set_resources([])

    def run(self, *args: str, expect: int = 0) -> EngineResult:
        res = run_engine(
            [*args, "--stack", self.name], self.project, backend_dir=self.backend, passphrase=PASSPHRASE
        )
        assert res.exit_code == expect, res.output
        return res

    @property
    def stack_file(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{self.name}.yaml"

    def set_resources(self, resources: list[dict[str, Any]]) -> None:
        doc = yaml.safe_load(self.stack_file.read_text()) or {}
        cfg = doc.setdefault("config", {}) or {}
        doc["config"] = cfg
        cfg["fixture:dataDir"] = str(self.data)
        cfg["fixture:resources"] = json.dumps(resources)
        self.stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))

    def calls(self, *methods: str) -> list[dict[str, Any]]:
        path = self.data / "calls.jsonl"
        lines = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        return [c for c in lines if not methods or c["method"] in methods]

    def writes(self) -> list[tuple[str, str | None]]:
        return [(c["method"], c["name"]) for c in self.calls("create", "update", "delete")]

    def clear_calls(self) -> None:
        (self.data / "calls.jsonl").unlink(missing_ok=True)

    def state(self) -> list[dict[str, Any]]:
        return state_resources(self.backend, PROJECT, self.name)

    def state_by_urn(self) -> dict[str, dict[str, Any]]:
        return {r["urn"]: r for r in self.state() if not r.get("delete")}

    def objects(self) -> dict[str, dict[str, Any]]:
        d = self.data / "objects"
        return {p.stem: json.loads(p.read_text()) for p in d.glob("*.json")} if d.exists() else {}

    def checkpoint_text(self) -> str:
        return (self.backend / ".pulumi" / "stacks" / PROJECT / f"{self.name}.json").read_text()


@pytest.fixture
def stack(project_dir: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    name = request.node.name.replace("test_", "")[:40].replace("_", "-")
    yield Stack(project_dir, tmp_path, name)


# --------------------------------------------------------------------------------------------------- create


def test_create_then_second_up_makes_no_writes(stack: Stack) -> None:
    """up creates everything (after the CLI's own preview pass); the second up calls no Create/Update/Delete.

    Also: the state's shape (stack first, default provider with the config as inputs, "urn::id" provider
    references, component parent chain in URNs, dependencies), ints reaching the provider as floats, and
    the provider code running in the host process, which exits through SIGINT (its atexit hook runs).
    """
    stack.set_resources(
        [
            {"name": "a", "value": "1", "port": 10},
            {"name": "b", "upstream": "a", "group": "g"},
        ]
    )
    res = stack.run("up", "--yes", "--json")
    doc = res.json
    assert doc["result"] == "succeeded"
    assert doc["changeSummary"] == {"create": 4}
    assert [s["op"] for s in doc["preview"]["steps"]] == ["create"] * 4
    assert stack.writes() == [("create", "a"), ("create", "b")]
    assert {c["port_type"] for c in stack.calls() if c["name"] == "a"} == {"float"}

    # The preview pass checked but created nothing; the update pass ran in a second host process.
    program_pid = int((stack.data / "program.pid").read_text())
    host_pid = doc["hostPids"][-1]
    assert {c["pid"] for c in stack.calls("create")} == {host_pid}
    assert host_pid != program_pid and host_pid != os.getpid()
    assert (stack.data / f"atexit-{host_pid}").exists(), "host was not shut down gracefully (SIGINT)"

    state = stack.state()
    provider_urn = f"urn:pulumi:{stack.name}::{PROJECT}::pulumi:providers:pulumi-python::default"
    types = [r["type"] for r in state]
    # The checkpoint lists resources in the order their registrations completed: the stack first, every
    # resource after what it depends on (provider before its resources, parent before child). The order
    # of independent registrations (the Group and the default provider) depends on timing.
    assert types[0] == "pulumi:pulumi:Stack"
    assert sorted(types[1:]) == sorted(["fixture:index:Group", "pulumi:providers:pulumi-python", ITEM, ITEM])
    assert types.index("pulumi:providers:pulumi-python") < types.index(ITEM)
    stack_urn = f"urn:pulumi:{stack.name}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack.name}"
    assert state[0]["urn"] == stack_urn
    provider = next(r for r in state if r["type"] == "pulumi:providers:pulumi-python")
    assert provider["urn"] == provider_urn and provider["inputs"]["fixture:dataDir"] == str(stack.data)
    by_urn = {r["urn"]: r for r in state}
    a = by_urn[urn(stack.name, "a")]
    b = by_urn[urn(stack.name, "b", f"fixture:index:Group${ITEM}")]
    assert a["provider"] == f"{provider_urn}::{provider['id']}"
    assert a["id"] == "thing.a" and a["parent"] == stack_urn
    assert a["outputs"]["serial"] == 1 and a["outputs"]["port"] == 10
    assert b["parent"] == urn(stack.name, "g", "fixture:index:Group")
    assert [r["urn"] for r in state].index(b["parent"]) < [r["urn"] for r in state].index(b["urn"])
    assert b["dependencies"] == [a["urn"]] and b["propertyDependencies"]["upstream"] == [a["urn"]]
    assert b["inputs"]["upstream"] == 1
    assert doc["outputs"] == {"count": 2, "serials": {"a": 1, "b": 2}}

    stack.clear_calls()
    res = stack.run("up", "--yes", "--json")
    assert stack.writes() == []
    assert {c["method"] for c in stack.calls()} == {"check", "diff"}
    assert res.json["changeSummary"] == {"same": 4}
    out = stack.run("stack", "output", "--json").json
    assert out == {"count": 2, "serials": {"a": 1, "b": 2}}


# ------------------------------------------------------------------------------------------ update / replace


def test_update_and_replacement_orders(stack: Stack) -> None:
    """Update in place; replace create-before-delete by default (old deleted after the program); the
    provider's delete_before_replace; and the resource option winning over the provider in both directions."""
    base: list[dict[str, Any]] = [
        {"name": "u", "value": "1"},
        {"name": "cbd", "kind": "k1"},
        {"name": "dbr", "kind": "k1"},
        {"name": "force-dbr", "kind": "k1", "dbr": True},
        {"name": "force-cbd", "kind": "k1", "dbr": False},
    ]
    stack.set_resources(base)
    stack.run("up", "--skip-preview")
    stack.clear_calls()
    stack.set_resources(
        [
            {"name": "u", "value": "2"},
            {"name": "cbd", "kind": "k2"},  # provider: replace, create-before-delete
            {"name": "dbr", "kind": "natural-key"},  # provider: replace, delete-before-replace
            {"name": "force-dbr", "kind": "k2", "dbr": True},  # option says DBR, provider says CBD
            {"name": "force-cbd", "kind": "natural-key", "dbr": False},  # option says CBD, provider DBR
        ]
    )
    res = stack.run("up", "--skip-preview", "--json")
    steps = {s["name"]: s for s in res.json["steps"] if s["op"] != "delete-replaced"}
    assert sorted(s["name"] for s in res.json["steps"] if s["op"] == "delete-replaced") == [
        "cbd",
        "force-cbd",
    ]
    assert res.json["changeSummary"] == {"same": 1, "update": 1, "replace": 4}
    assert steps["u"]["op"] == "update" and steps["u"]["diffReasons"] == ["value"]
    assert steps["cbd"]["op"] == "replace" and steps["cbd"]["replaceReasons"] == ["kind"]
    assert [steps[n]["deleteBeforeReplace"] for n in ("cbd", "dbr", "force-dbr", "force-cbd")] == [
        False,
        True,
        True,
        False,
    ]

    calls = stack.calls("create", "update", "delete")
    order = [(c["method"], c["name"], c["id"]) for c in calls]
    assert ("update", "u", "thing.u") in order

    def pos(method: str, name: str) -> int:
        return next(i for i, c in enumerate(calls) if c["method"] == method and c["name"] == name)

    for name in ("dbr", "force-dbr"):
        assert pos("delete", name) < pos("create", name), order
    for name in ("cbd", "force-cbd"):
        assert pos("create", name) < pos("delete", name), order
    # create-before-delete: the old objects go after the program, i.e. after every create.
    last_create = max(i for i, c in enumerate(calls) if c["method"] == "create")
    assert pos("delete", "cbd") > last_create and pos("delete", "force-cbd") > last_create
    assert sorted(stack.objects()) == [
        "k2.cbd",
        "k2.force-dbr",
        "natural-key.dbr",
        "natural-key.force-cbd",
        "thing.u",
    ]
    ids = {r["urn"].rsplit("::", 1)[1]: r["id"] for r in stack.state() if r["type"] == ITEM}
    assert ids == {
        "u": "thing.u",
        "cbd": "k2.cbd",
        "dbr": "natural-key.dbr",
        "force-dbr": "k2.force-dbr",
        "force-cbd": "natural-key.force-cbd",
    }
    assert not any(r.get("delete") or r.get("pendingReplacement") for r in stack.state())


# -------------------------------------------------------------------------------------------------- delete


def test_removed_resources_deleted_after_program_in_reverse_dependency_order(stack: Stack) -> None:
    stack.set_resources(
        [
            {"name": "base"},
            {"name": "mid", "dependsOn": ["base"], "group": "grp"},
            {"name": "top", "upstream": "mid"},
            {"name": "keep"},
        ]
    )
    stack.run("up", "--skip-preview")
    stack.clear_calls()
    stack.set_resources([{"name": "keep"}])
    res = stack.run("up", "--skip-preview", "--json")
    deletes = [c["name"] for c in stack.calls("delete")]
    assert deletes == ["top", "mid", "base"]
    # The program's Check/Diff of "keep" came first: deletes happen after the program exits.
    methods = [c["method"] for c in stack.calls()]
    assert methods.index("delete") > methods.index("diff")
    assert res.json["changeSummary"] == {"same": 2, "delete": 4}  # 3 items + the component
    assert sorted(stack.objects()) == ["thing.keep"]
    assert {r["type"] for r in stack.state()} == {
        "pulumi:pulumi:Stack",
        "pulumi:providers:pulumi-python",
        ITEM,
    }


# ------------------------------------------------------------------------------------------------- preview


def test_preview_writes_nothing_and_shows_unknowns(stack: Stack) -> None:
    """Preview: Check only for new resources, never Create/Update/Delete, no state written,
    unknown outputs reach dependents' Check as Unknown and the stack outputs as unknown."""
    stack.set_resources([{"name": "a"}, {"name": "b", "upstream": "a"}])
    before = stack.checkpoint_text()
    res = stack.run("preview", "--json", "--diff")
    assert res.json["dryRun"] is True
    assert res.json["changeSummary"] == {"create": 3}
    assert stack.writes() == [] and stack.objects() == {}
    assert [c["method"] for c in stack.calls()] == ["check", "check"]
    assert stack.calls("check")[1]["unknown"] == ["upstream"]
    assert res.json["outputs"]["serials"] == {"a": "[unknown]", "b": "[unknown]"}
    assert stack.checkpoint_text() == before

    human = stack.run("preview", "--diff")
    assert "+ 3 to create" in human.stdout and "+ name:" in human.stdout


def test_check_failure_fails_preview_before_any_write(stack: Stack) -> None:
    stack.set_resources([{"name": "bad", "value": "invalid"}])
    res = stack.run("up", "--yes", expect=1)
    assert "must not be 'invalid'" in res.stdout + res.stderr
    assert "Updating" not in res.stdout  # the preview pass failed, so the update never started
    assert stack.writes() == []


# ------------------------------------------------------------------------------------------ drift / refresh


def test_drift_found_by_refresh_and_repaired_by_up(stack: Stack) -> None:
    """Reading chosen (engine >= 3.120): refresh classifies drift with Diff(olds=read outputs, news=old
    inputs); `preview --refresh --expect-no-changes` exits 7 when the program would then change something."""
    stack.set_resources([{"name": "a", "value": "good"}, {"name": "b", "value": "ok"}])
    stack.run("up", "--skip-preview")
    stack.run("preview", "--refresh", "--expect-no-changes")  # in sync: exit 0

    obj = stack.data / "objects" / "thing.a.json"
    obj.write_text(json.dumps({**json.loads(obj.read_text()), "value": "hand-edited"}))
    before = stack.checkpoint_text()
    res = stack.run("preview", "--refresh", "--expect-no-changes", "--json", expect=7)
    assert [s["refreshResult"] for s in res.json["refreshSteps"] if s["name"] == "a"] == ["update"]
    assert res.json["changeSummary"] == {"update": 1, "same": 2}  # refresh steps are not counted
    stack.run("refresh", "--preview-only", "--expect-no-changes", expect=7)
    assert stack.checkpoint_text() == before  # neither wrote state
    stack.run("preview", "--expect-no-changes")  # without a refresh the state still says "good"

    res = stack.run("refresh", "--yes", "--json")
    results = {s["name"]: s["refreshResult"] for s in res.json["steps"]}
    assert results == {"a": "update", "b": "same"}
    assert res.json["changeSummary"] == {"update": 1, "same": 1}
    assert stack.state_by_urn()[urn(stack.name, "a")]["outputs"]["value"] == "hand-edited"
    stack.run("preview", "--expect-no-changes", expect=7)

    stack.clear_calls()
    stack.run("up", "--skip-preview")
    assert stack.writes() == [("update", "a")]
    assert stack.objects()["thing.a"]["value"] == "good"
    stack.run("preview", "--refresh", "--expect-no-changes")

    # An object deleted by hand: refresh drops it from state, the next up creates it again.
    (stack.data / "objects" / "thing.b.json").unlink()
    res = stack.run("refresh", "--yes", "--expect-no-changes", "--json", expect=7)
    assert {s["name"]: s["refreshResult"] for s in res.json["steps"]}["b"] == "delete"
    assert urn(stack.name, "b") not in stack.state_by_urn()
    stack.clear_calls()
    stack.run("up", "--skip-preview")
    assert stack.writes() == [("create", "b")]


def test_up_expect_no_changes_applies_then_exits_7(stack: Stack) -> None:
    """Reading chosen: as in pkg/cmd/pulumi/operations/up.go, the update is applied, then exit code 7."""
    stack.set_resources([{"name": "a"}])
    stack.run("up", "--skip-preview", "--expect-no-changes", expect=7)
    assert sorted(stack.objects()) == ["thing.a"]
    stack.run("up", "--skip-preview", "--expect-no-changes")


# ------------------------------------------------------------------------------------------------- destroy


def test_destroy_runs_no_program_and_uses_provider_from_outputs(stack: Stack) -> None:
    stack.set_resources([{"name": "a"}, {"name": "b", "dependsOn": ["a"], "group": "g"}])
    stack.run("up", "--skip-preview")
    (stack.data / "program.pid").unlink()
    # Drop the pickled provider from every resource's inputs: Delete must use the copy in the outputs.
    path = stack.backend / ".pulumi" / "stacks" / PROJECT / f"{stack.name}.json"
    doc = json.loads(path.read_text())
    for r in doc["checkpoint"]["latest"]["resources"]:
        r.get("inputs", {}).pop("__provider", None)
    path.write_text(json.dumps(doc))
    stack.clear_calls()

    stack.run("destroy", expect=2)  # no --yes: refused like the CLI in non-interactive mode
    res = stack.run("destroy", "--yes", "--json")
    assert [c["name"] for c in stack.calls("delete")] == ["b", "a"]
    assert not (stack.data / "program.pid").exists()
    assert res.json["changeSummary"] == {"delete": 4}
    assert stack.state() == [] and stack.objects() == {}


# ------------------------------------------------------------------------------------------------ failures


def test_failure_mid_run_keeps_completed_steps_and_next_run_converges(stack: Stack) -> None:
    stack.set_resources([{"name": "a"}, {"name": "b", "dependsOn": ["a"]}, {"name": "c", "upstream": "b"}])
    (stack.data / "fail-create-b").touch()
    res = stack.run("up", "--skip-preview", "--json", expect=1)
    assert res.json["result"] == "failed"
    assert any("injected failure in create of b" in e for e in res.json["errors"])
    assert stack.writes() == [("create", "a"), ("create", "b")]  # c never started
    assert set(stack.state_by_urn()) >= {urn(stack.name, "a")}
    assert urn(stack.name, "b") not in stack.state_by_urn()

    # A failed update keeps the old entry.
    (stack.data / "fail-create-b").unlink()
    stack.set_resources([{"name": "a", "value": "v2"}, {"name": "b", "dependsOn": ["a"]}])
    (stack.data / "fail-update-a").touch()
    stack.run("up", "--skip-preview", expect=1)
    assert stack.state_by_urn()[urn(stack.name, "a")]["inputs"]["value"] == ""

    (stack.data / "fail-update-a").unlink()
    stack.set_resources(
        [{"name": "a", "value": "v2"}, {"name": "b", "dependsOn": ["a"]}, {"name": "c", "upstream": "b"}]
    )
    stack.clear_calls()
    stack.run("up", "--skip-preview")
    assert stack.writes() == [("update", "a"), ("create", "b"), ("create", "c")]
    stack.run("preview", "--expect-no-changes")


# ------------------------------------------------------------------------------------------------- secrets


def test_secrets_encrypted_in_stack_file_and_never_plaintext_in_checkpoint(stack: Stack) -> None:
    token = "s3cr3t-t0ken-value"
    stack.run("config", "set", "token", token, "--secret")
    stack.run("config", "set", "--path", "nested.list[1].flag", "true")
    raw = yaml.safe_load(stack.stack_file.read_text())
    assert raw["encryptionsalt"].startswith("v1:")
    assert raw["config"]["fixture:token"]["secure"].startswith("v1:")
    assert raw["config"]["fixture:nested"] == {"list": [None, {"flag": True}]}
    assert token not in stack.stack_file.read_text()
    assert stack.run("config", "get", "token").stdout.strip() == token

    stack.set_resources([{"name": "s", "secret": True}])
    res = stack.run("up", "--skip-preview", "--json")
    assert res.json["outputs"]["token"] == "[secret]"
    assert token not in stack.checkpoint_text()
    s = stack.state_by_urn()[urn(stack.name, "s")]
    assert set(s["outputs"]["secret_value"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}
    assert stack.objects()["thing.s"]["secret_value"] == token  # the provider saw plaintext
    assert stack.run("stack", "output", "--json").json["token"] == "[secret]"
    assert stack.run("stack", "output", "token", "--show-secrets").stdout.strip() == token
    bad = run_engine(
        ["preview", "--stack", stack.name], stack.project, backend_dir=stack.backend, passphrase="wrong"
    )
    assert bad.exit_code != 0 and "incorrect passphrase" in bad.stderr


def test_passphrase_scheme_matches_the_cli() -> None:
    """The secrets-manager state below was written by the Go implementation (pulumi/pulumi
    pkg/secrets/passphrase/manager_test.go) for the passphrase "password"."""
    state = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
    crypter = crypto.crypter_from_state("password", state)
    assert crypter.decrypt(crypter.encrypt("x")) == "x"
    with pytest.raises(crypto.SecretsError):
        crypto.crypter_from_state("password123", state)


# ------------------------------------------------------------------------------------------------ CLI edges


def test_cli_exit_codes_and_target(stack: Stack) -> None:
    """Exit 2 without --yes, 6 for an unknown stack; --target limits the update to the named URN."""
    stack.run("up", expect=2)
    missing = run_engine(["stack", "output", "--stack", "nope"], stack.project, backend_dir=stack.backend)
    assert missing.exit_code == 6, missing.output
    stack.set_resources([{"name": "a"}, {"name": "b"}])
    stack.run("up", "--skip-preview")
    stack.set_resources([{"name": "a", "value": "x"}, {"name": "b", "value": "x"}])
    stack.clear_calls()
    stack.run("up", "--skip-preview", "--target", urn(stack.name, "b"))
    assert stack.writes() == [("update", "b")]
