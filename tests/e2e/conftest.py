"""End-to-end fixtures: the real project (Pulumi.yaml, __main__.py, components, providers) copied to a
temporary directory, stacks written there, and every operation run through tests/engine in its own
processes, against twins started by the test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "e2e-passphrase"
PRODUCT = ("Pulumi.yaml", "__main__.py", "components", "providers")


@dataclass
class EngineRun:
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
        self.backend.mkdir(exist_ok=True)
        self.stacks: set[str] = set()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PULUMI_BACKEND_URL=self.backend.as_uri(),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PYTHONPATH=str(ROOT),
        )
        return env

    def engine(self, *args: str, stack: str, check: bool = False) -> EngineRun:
        cmd = [sys.executable, "-m", "tests.engine", *args, "--stack", stack, "--cwd", str(self.path)]
        proc = subprocess.run(
            cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=600, check=False
        )
        run = EngineRun(list(args), proc.returncode, proc.stdout, proc.stderr)
        if check and run.exit_code != 0:
            raise AssertionError(f"engine {' '.join(args)} exited {run.exit_code}:\n{run.output}")
        return run

    def write_stack(self, stack: str, clusters: list[dict[str, Any]], secrets: dict[str, str]) -> None:
        """Write stacks/Pulumi.<stack>.yaml with the clusters; secrets go through `config set --secret`."""
        stack_file = self.path / "stacks" / f"Pulumi.{stack}.yaml"
        stack_file.parent.mkdir(exist_ok=True)
        if stack not in self.stacks:
            init = self.engine("stack", "init", stack=stack)
            if init.exit_code != 0 and "already exists" not in init.output:
                raise AssertionError(init.output)
            self.stacks.add(stack)
        existing = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else None
        doc: dict[str, Any] = existing or {}
        doc.setdefault("config", {})["aovpn:clusters"] = clusters
        stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))
        for key, value in secrets.items():
            self.engine("config", "set", "--secret", f"aovpn:{key}", value, stack=stack, check=True)

    def stack_file(self, stack: str) -> str:
        return (self.path / "stacks" / f"Pulumi.{stack}.yaml").read_text()

    def checkpoint(self, stack: str) -> dict[str, Any]:
        path = self.backend / ".pulumi" / "stacks" / "aovpn" / f"{stack}.json"
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    path = tmp_path_factory.mktemp("project")
    for name in PRODUCT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, path / name)
    (path / "venv").symlink_to(ROOT / "venv")
    yield Project(path)
