"""The end-to-end harness: the real project (Pulumi.yaml, __main__.py, components, providers) copied to a
temporary directory, stacks written there, and every operation run by the real Pulumi CLI as a
subprocess (as a pipeline runs it). The fixtures that use it are in conftest.py.

Why a subprocess rather than the Automation API: the tests assert what a pipeline sees, the exit code
(7 for ``preview --expect-no-changes`` with changes), the text a person reads, ``--json`` documents; the
Automation API drives the same CLI binary but turns exit codes into exceptions and parses the output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pulumi.dynamic import Resource

from providers.common.resources import type_token
from tests.pulumi_cli import cli_env, pulumi_bin

if TYPE_CHECKING:
    from tests.e2e.devices import DeviceView

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "e2e-passphrase"
PRODUCT = ("Pulumi.yaml", "__main__.py", "components", "providers")


@dataclass
class CliRun:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


class Project:
    """A copy of the product with its own stacks and local backend."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backend = path / ".state"
        self.home = path / ".pulumi-home"
        self.passphrase = PASSPHRASE
        self.stacks: set[str] = set()

    def env(self) -> dict[str, str]:
        return cli_env(self.backend, self.home, self.passphrase)

    def pulumi(self, *args: str, stack: str, check: bool = False, stdin: str | None = None) -> CliRun:
        """``pulumi ARGS --stack STACK --non-interactive`` in the project directory."""
        cmd = [pulumi_bin(), *args, "--stack", stack, "--non-interactive"]
        proc = subprocess.run(
            cmd,
            cwd=self.path,
            env=self.env(),
            input=stdin or "",
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        run = CliRun(list(args), proc.returncode, proc.stdout, proc.stderr)
        if check and run.exit_code != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {run.exit_code}:\n{run.output}")
        return run

    def write_stack(self, stack: str, clusters: list[dict[str, Any]], secrets: dict[str, str]) -> None:
        """Write stacks/Pulumi.<stack>.yaml with the clusters; secrets go through `config set --secret`,
        the value on standard input as a pipeline passes a PEM file (a value starting with '-' would be
        taken for a flag on the command line)."""
        stack_file = self.path / "stacks" / f"Pulumi.{stack}.yaml"
        stack_file.parent.mkdir(exist_ok=True)
        if stack not in self.stacks:
            init = self.pulumi("stack", "init", stack=stack)
            if init.exit_code != 0 and "already exists" not in init.output:
                raise AssertionError(init.output)
            self.stacks.add(stack)
        existing = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else None
        doc: dict[str, Any] = existing or {}
        doc.setdefault("config", {})["aovpn:clusters"] = clusters
        stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))
        for key, value in secrets.items():
            self.pulumi("config", "set", "--secret", f"aovpn:{key}", stack=stack, check=True, stdin=value)

    @staticmethod
    def urn(stack: str, name: str, resource: type[Resource]) -> str:
        """The URN of a cluster's appliance resource named ``name`` (a child of its VpnCluster), made by the
        resource class ``resource`` (its type token: providers/common/resources.py)."""
        return f"urn:pulumi:{stack}::aovpn::aovpn:index:VpnCluster${type_token(resource)}::{name}"

    def urn_of(self, stack: str, name: str) -> str:
        """The URN the stack's state records for the resource named ``name``."""
        found = [
            r["urn"]
            for r in self.checkpoint(stack)["checkpoint"]["latest"].get("resources") or []
            if r["urn"].rsplit("::", 1)[-1] == name
        ]
        assert len(found) == 1, (name, found)
        return str(found[0])

    def replace(self, stack: str, name: str, dependents: list[str]) -> CliRun:
        """``pulumi up --replace`` of the resource ``name``, after a preview that must plan the replacement
        of it and of every one of ``dependents`` (the objects built on it) in the same run."""
        urn = self.urn_of(stack, name)
        preview = self.pulumi("preview", "--replace", urn, "--json", stack=stack, check=True)
        plan = {(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in preview.json()["steps"]}
        for replaced in (name, *dependents):
            assert ("replace", replaced) in plan, plan
        return self.pulumi("up", "--yes", "--skip-preview", "--replace", urn, stack=stack, check=True)

    def settled(self, stack: str, device: DeviceView) -> None:
        """The next ``up`` writes nothing to ``device`` and a drift check finds nothing; then destroy."""
        since = device.last_seq()
        again = self.pulumi("up", "--yes", "--skip-preview", stack=stack, check=True)
        assert device.writes(since) == [], again.output
        assert self.pulumi("preview", "--refresh", "--expect-no-changes", stack=stack).exit_code == 0
        self.pulumi("destroy", "--yes", "--skip-preview", stack=stack, check=True)

    def stack_file(self, stack: str) -> str:
        return (self.path / "stacks" / f"Pulumi.{stack}.yaml").read_text()

    def checkpoint(self, stack: str) -> dict[str, Any]:
        path = self.backend / ".pulumi" / "stacks" / "aovpn" / f"{stack}.json"
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded


def copy_product(path: Path) -> Project:
    """The product (Pulumi.yaml, __main__.py, components, providers) copied to ``path``, with the venv."""
    path.mkdir(parents=True, exist_ok=True)
    for name in PRODUCT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, path / name)
    (path / "venv").symlink_to(ROOT / "venv")
    return Project(path)
