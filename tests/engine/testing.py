"""Helpers for tests that run a Pulumi project through tests/engine (``python -m tests.engine``).

    from tests.engine.testing import run_engine, ensure_stack, read_checkpoint

    ensure_stack(project_dir, "e2e", backend_dir=tmp / "state", passphrase="pw")
    res = run_engine(["up", "--stack", "e2e", "--yes", "--json"], cwd=project_dir,
                     backend_dir=tmp / "state", passphrase="pw")
    assert res.exit_code == 0, res.output
    assert res.json["changeSummary"] == {"create": 5}

Each call is a fresh subprocess (a fresh engine, program interpreter and provider host, like the CLI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class EngineResult:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    json: Any = None  # the parsed stdout when --json/-j was passed and stdout held JSON

    @property
    def output(self) -> str:
        """Everything the command printed, for assertion messages."""
        return f"$ tests.engine {' '.join(self.args)}\n[exit {self.exit_code}]\n{self.stdout}\n{self.stderr}"

    def check(self, *allowed: int) -> EngineResult:
        """Raise AssertionError (with the output) unless the exit code is 0 or one of ``allowed``."""
        if self.exit_code not in (allowed or (0,)):
            raise AssertionError(self.output)
        return self


def engine_env(
    env: dict[str, str] | None = None,
    backend_dir: Path | None = None,
    passphrase: str | None = None,
) -> dict[str, str]:
    full = dict(os.environ)
    full.update(env or {})
    pythonpath = full.get("PYTHONPATH", "")
    full["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + pythonpath if pythonpath else "")
    if backend_dir is not None:
        full["PULUMI_BACKEND_URL"] = f"file://{Path(backend_dir).resolve()}"
    if passphrase is not None:
        full["PULUMI_CONFIG_PASSPHRASE"] = passphrase
    return full


def run_engine(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    backend_dir: Path | None = None,
    passphrase: str | None = None,
    timeout: float = 600,
) -> EngineResult:
    """Run ``python -m tests.engine *args`` in ``cwd`` (the project directory) and capture the result.

    ``env`` is merged over os.environ; ``backend_dir`` sets PULUMI_BACKEND_URL=file://<dir>; ``passphrase``
    sets PULUMI_CONFIG_PASSPHRASE. The repo root is put first on PYTHONPATH.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "tests.engine", *args],
        cwd=cwd,
        env=engine_env(env, backend_dir, passphrase),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    parsed: Any = None
    if ("--json" in args or "-j" in args) and proc.stdout.strip():
        try:
            parsed = json.loads(proc.stdout)
        except json.JSONDecodeError:
            parsed = None
    return EngineResult(list(args), proc.returncode, proc.stdout, proc.stderr, parsed)


def checkpoint_path(backend_dir: Path, project: str, stack: str) -> Path:
    return Path(backend_dir) / ".pulumi" / "stacks" / project / f"{stack}.json"


def read_checkpoint(backend_dir: Path, project: str, stack: str) -> dict[str, Any]:
    """The raw checkpoint JSON (secrets still encrypted)."""
    doc: dict[str, Any] = json.loads(checkpoint_path(backend_dir, project, stack).read_text())
    return doc


def state_resources(backend_dir: Path, project: str, stack: str) -> list[dict[str, Any]]:
    latest = read_checkpoint(backend_dir, project, stack)["checkpoint"]["latest"]
    return list(latest.get("resources") or [])


def ensure_stack(
    cwd: Path,
    stack: str,
    backend_dir: Path | None = None,
    passphrase: str | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """``stack init`` unless the stack already exists in the backend (the CLI's ``stack select --create``)."""
    res = run_engine(["stack", "init", "--stack", stack], cwd, env, backend_dir, passphrase)
    if res.exit_code != 0 and "already exists" not in res.stderr:
        raise AssertionError(res.output)
