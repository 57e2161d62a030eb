"""The project command lines of every pipeline template, run exactly as written against a stack on the twins,
so that a template cannot drift from what works.

The lines (tests/pipelines/templates.py: each script line starting with ``./run ``, ``pulumi `` or
``venv/bin/python -m ops.``) are run by bash in a copy of the project, each distinct line once, in a
pipeline's order: set-up and login, the pull request's preview and its summary, the merge's ``up``, the
scheduled drift check. What a pipeline takes from its secret store and variables comes from the environment
as it would there: ``STACK``, ``PULUMI_BACKEND_URL`` (here a local ``file://`` backend) and
``PULUMI_CONFIG_PASSPHRASE``. The stack is an F5 IKEv2 cluster on the F5 twin, declared as the end-to-end
tests declare it (tests/e2e/project.py, tests/e2e/devices.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from emulators.common import TLSMaterial, start_twin
from tests.e2e.devices import F5, PASSWORD, nodes
from tests.e2e.project import ROOT, Project, copy_product
from tests.pipelines.templates import project_lines

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STACK = "pipe"
LAB = {
    "name": "vpn-pipe",
    "virtualAddress": "192.0.2.60",
    "nodes": nodes("198.51.100.61", "198.51.100.62"),
}
#: What the pipelines run beyond the product (copy_product copies the product itself).
PIPELINE_FILES = ("run", "ops", "pulumi-cli", "requirements.txt")
#: The kind of each project command, by how it starts, in the order a pipeline runs them.
KINDS = (
    ("setup", "./run setup"),
    ("login", "pulumi login "),
    ("preview", "pulumi preview "),
    ("summary", "venv/bin/python -m ops.preview_summary "),
    ("up", "pulumi up "),
    ("drift", "./run drift "),
)


def kind_of(line: str) -> str:
    for kind, prefix in KINDS:
        if line == prefix or line.startswith(prefix):
            return kind
    raise AssertionError(f"a project command this test does not know how to run: {line!r}")


@dataclass
class Pipeline:
    """A copy of the project with a stack on the F5 twin, and the command lines of every template."""

    project: Project
    f5: F5
    lines: dict[str, list[str]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = self.project.env()  # PULUMI_BACKEND_URL (file://), PULUMI_CONFIG_PASSPHRASE, the CLI on PATH
        env["STACK"] = STACK
        return env

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        """``line`` exactly as a template has it, run by bash in the project copy."""
        return subprocess.run(
            ["bash", "-c", line],
            cwd=self.project.path,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def run_all(self, kind: str) -> list[subprocess.CompletedProcess[str]]:
        assert self.lines[kind], f"no template runs a {kind} line"
        done = []
        for line in self.lines[kind]:
            proc = self.run(line)
            assert PASSWORD not in proc.stdout + proc.stderr, line
            done.append(proc)
        return done


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, tls: TLSMaterial) -> Iterator[Pipeline]:
    twin = start_twin("f5", tls=tls)
    try:
        f5 = F5(twin)
        project = copy_product(tmp_path_factory.mktemp("pipeline"))
        for name in PIPELINE_FILES:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, project.path / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, project.path / name)
        project.write_stack(STACK, [f5.cluster(LAB)], f5.secrets())
        found = Pipeline(project, f5)
        for _, line in project_lines():
            kind = kind_of(line)
            if line not in found.lines.setdefault(kind, []):
                found.lines[kind].append(line)
        yield found
        project.pulumi("destroy", "--yes", "--skip-preview", stack=STACK)
    finally:
        twin.stop()


def test_the_templates_run_one_command_of_each_kind(pipeline: Pipeline) -> None:
    """Every platform runs the same text; a template that differs adds a line here, and is run below."""
    assert {kind: len(lines) for kind, lines in pipeline.lines.items()} == {kind: 1 for kind, _ in KINDS}


def test_setup_and_login(pipeline: Pipeline) -> None:
    for proc in pipeline.run_all("setup"):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "run: Pulumi CLI v" in proc.stderr
    for proc in pipeline.run_all("login"):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert pipeline.project.backend.resolve().as_uri() in proc.stdout + proc.stderr


def test_the_pull_request_preview_and_its_summary(pipeline: Pipeline) -> None:
    seq = pipeline.f5.last_seq()
    for proc in pipeline.run_all("preview"):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "+ 10 to create" in proc.stdout, proc.stdout
    assert pipeline.f5.writes(seq) == []  # a preview writes nothing to the appliance

    for proc in pipeline.run_all("summary"):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        summary = (pipeline.project.path / "preview-summary.md").read_text()
        assert summary.startswith(f"<!-- aovpn-iac preview-summary stack={STACK} -->\n")
        assert f"### `pulumi preview` of stack `{STACK}`: 10 to change" in summary
        assert "10 to create;" in summary
        for name in ("vpn-pipe_ikev2_500_vs", "vpn-pipe_ikev2_4500_vs", "vpn-pipe_ikev2_srcaddr"):
            assert f"| `{name}` |" in summary, summary
        assert len(summary) < 4000  # short: the JSON it summarises is tens of KB
    assert pipeline.f5.writes(seq) == []


def test_the_merge_up(pipeline: Pipeline) -> None:
    for proc in pipeline.run_all("up"):
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {"vpn-pipe_ikev2_500_vs", "vpn-pipe_ikev2_4500_vs"} <= pipeline.f5.names("ltm/virtual")
    # the summary a pull request opened now would show
    for proc in pipeline.run_all("summary"):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        summary = (pipeline.project.path / "preview-summary.md").read_text()
        assert f"### `pulumi preview` of stack `{STACK}`: no changes" in summary


def test_the_scheduled_drift_check_on_a_settled_stack(pipeline: Pipeline) -> None:
    seq = pipeline.f5.last_seq()
    for proc in pipeline.run_all("drift"):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads((pipeline.project.path / "drift.json").read_text()) is not None
        assert (pipeline.project.path / "drift.md").read_text().strip()
    assert pipeline.f5.writes(seq) == []  # the check changes nothing
