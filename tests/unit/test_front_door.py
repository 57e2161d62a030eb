"""The README's front door: ``./run demo --help`` says how to use it and starts nothing; ``--stack`` picks
the stack file; everything else goes on to ``pulumi up``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.demo import parse_args

ROOT = Path(__file__).resolve().parents[2]


def _twin_pids() -> set[str]:
    return {p.name for p in (ROOT / ".twins").glob("**/*.pid")} if (ROOT / ".twins").exists() else set()


def test_demo_help_prints_usage_and_starts_nothing() -> None:
    before = _twin_pids()
    # no pulumi and no venv on the way: --help must not need the CLI or set anything up
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT / ".state" / "no-home")}
    run = subprocess.run(
        ["bash", "run", "demo", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: ./run demo [-h] [--stack NAME]")
    assert "setting up" not in run.stderr and "pulumi-cli" not in run.stderr
    assert _twin_pids() == before


def test_demo_takes_a_stack_and_passes_the_rest_to_pulumi_up() -> None:
    args, rest = parse_args(["--stack", "lab", "--diff", "--target", "urn:x"])
    assert args.stack == "lab"
    assert rest == ["--diff", "--target", "urn:x"]
    assert parse_args([])[0].stack == "local"
