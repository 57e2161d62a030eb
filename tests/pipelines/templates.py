"""The pipeline templates of pipelines/, read the way each platform reads them, and the project's own command
lines in their scripts (what tests/pipelines/test_command_lines.py runs against the twins).

A project command line is a line of a step's script (GitHub ``run:``, Azure DevOps ``bash:``/``script:``,
GitLab ``before_script:``/``script:``) that starts with ``./run ``, ``pulumi `` or
``venv/bin/python -m ops.``; the templates keep each one on a line of its own, with ``$STACK`` for the
stack and ``$PULUMI_BACKEND_URL`` for the backend, so the test runs the very text a pipeline runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"

#: The templates, per platform.
TEMPLATES: dict[str, list[Path]] = {
    "github": [PIPELINES / "github" / f"{name}.yml" for name in ("preview", "up", "drift")],
    "azure-devops": [PIPELINES / "azure-devops" / f"{name}.yml" for name in ("preview", "up", "drift")],
    "gitlab": [PIPELINES / "gitlab" / ".gitlab-ci.yml"],
}

#: How a project command line starts.
PROJECT_PREFIXES = ("./run ", "pulumi ", "venv/bin/python -m ops.")

#: GitLab's top-level keys that are not jobs.
GITLAB_GLOBAL_KEYS = frozenset(
    {"default", "include", "stages", "variables", "workflow", "spec", "image", "services", "cache"}
    | {"before_script", "after_script"}
)


def load(path: Path, platform: str) -> Any:
    """The document as the platform reads it. Azure Pipelines reads every scalar as a string (its schema
    says so: ``timeoutInMinutes: "60"``, ``always: "true"``); GitHub's ``on:`` is a key, not YAML 1.1's
    ``true``."""
    text = path.read_text()
    if platform == "azure-devops":
        return yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str/list/dict
    doc = yaml.safe_load(text)
    if platform == "github" and isinstance(doc, dict) and True in doc:
        doc["on"] = doc.pop(True)
    return doc


@dataclass
class Script:
    """One script of a job: the text a step (or a GitLab job section) runs, and the environment it sets."""

    platform: str
    path: Path
    job: str
    text: str
    env: dict[str, Any] = field(default_factory=dict)
    step: dict[str, Any] = field(default_factory=dict)

    def project_lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip().startswith(PROJECT_PREFIXES)]


@dataclass
class Job:
    """One job of a template, with what decides where, when and under which lock it runs."""

    platform: str
    path: Path
    name: str
    body: dict[str, Any]
    #: Azure DevOps: the stage holding it (lockBehavior), else empty.
    stage: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)


def github_jobs(path: Path) -> Iterator[Job]:
    doc = load(path, "github")
    for name, body in doc["jobs"].items():
        yield Job("github", path, name, body, steps=list(body.get("steps") or []))


def ado_jobs(path: Path) -> Iterator[Job]:
    doc = load(path, "azure-devops")
    stages = doc.get("stages") or [{"jobs": doc.get("jobs") or []}]
    for stage in stages:
        for body in stage.get("jobs") or []:
            name = body.get("job") or body.get("deployment")
            if "deployment" in body:
                strategy = body["strategy"]["runOnce"]
                steps = [s for hook in strategy.values() for s in hook.get("steps") or []]
            else:
                steps = list(body.get("steps") or [])
            yield Job("azure-devops", path, str(name), body, stage=stage, steps=steps)


def gitlab_jobs(path: Path, hidden: bool = False) -> Iterator[Job]:
    """The jobs with their ``extends`` merged in (one level, as the templates use it); hidden ones too when
    ``hidden``."""
    doc = load(path, "gitlab")
    for name, body in doc.items():
        if name in GITLAB_GLOBAL_KEYS or not isinstance(body, dict):
            continue
        if name.startswith(".") and not hidden:
            continue
        merged: dict[str, Any] = {}
        for parent in (
            [body["extends"]] if isinstance(body.get("extends"), str) else body.get("extends") or []
        ):
            merged.update(doc[parent])
        merged.update(body)
        yield Job("gitlab", path, name, merged)


def jobs(platform: str) -> list[Job]:
    found: list[Job] = []
    for path in TEMPLATES[platform]:
        if platform == "github":
            found += github_jobs(path)
        elif platform == "azure-devops":
            found += ado_jobs(path)
        else:
            found += gitlab_jobs(path)
    return found


def scripts(platform: str) -> list[Script]:
    """Every script of every template of ``platform``."""
    found: list[Script] = []
    for job in jobs(platform):
        if platform == "gitlab":
            for section in ("before_script", "script", "after_script"):
                for entry in job.body.get(section) or []:
                    found.append(
                        Script(
                            platform, job.path, job.name, str(entry), dict(job.body.get("variables") or {})
                        )
                    )
            continue
        for step in job.steps:
            text = step.get("run") or step.get("bash") or step.get("script")
            if text is not None:
                env = dict(job.body.get("env") or {}) | dict(step.get("env") or {})
                found.append(Script(platform, job.path, job.name, str(text), env, step))
    return found


def project_lines(platform: str | None = None) -> list[tuple[Script, str]]:
    """Every project command line (of ``platform``, or of all), with its script."""
    platforms = [platform] if platform else list(TEMPLATES)
    return [(s, line) for p in platforms for s in scripts(p) for line in s.project_lines()]
