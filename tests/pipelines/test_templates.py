"""The pipeline templates of pipelines/ are what each platform accepts, and keep the rules pipelines/README.md
states: every job on a self-hosted runner or agent (the appliances and WinRM endpoints are on the corporate
network), every secret from the platform's secret store (never a value in the file), `up` gated by a
protected environment and holding the per-stack lock, and the same project commands on every platform.

The platforms' own schemas are the ones check-jsonschema 0.39.0 (PyPI) ships, vendored from their publishers:
GitLab's CI schema (``ci.json`` of gitlab-org/gitlab), Microsoft's Azure Pipelines schema (the
azure-pipelines-vscode ``service-schema.json``) and SchemaStore's GitHub workflow schema; the GitHub templates
are also linted by actionlint in ``./run lint``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.pipelines.templates import (
    PIPELINES,
    TEMPLATES,
    Job,
    ado_jobs,
    github_jobs,
    gitlab_jobs,
    jobs,
    load,
    project_lines,
    scripts,
)

VENV = "python3 -m venv venv && venv/bin/pip install -r requirements.txt"
SETUP = "./run setup"
LOGIN = 'pulumi login "$PULUMI_BACKEND_URL"'
PREVIEW = 'pulumi preview --stack "$STACK" --diff'
SUMMARY = 'venv/bin/python -m ops.preview_summary --stack "$STACK" --output preview-summary.md'
UP = 'pulumi up --stack "$STACK" --refresh --yes'
DRIFT = './run drift --stack "$STACK" --markdown drift.md --json drift.json'
#: What each job runs, in this order, besides the checkout and the comment/issue steps.
SEQUENCES = {
    "preview": [VENV, SETUP, LOGIN, PREVIEW, SUMMARY],
    "up": [VENV, SETUP, LOGIN, UP],
    "drift": [VENV, SETUP, LOGIN, DRIFT],
}
#: Names of values that are secrets.
SECRET_NAME = re.compile(r"PASSPHRASE|PASSWORD|SECRET|TOKEN|_KEY$", re.IGNORECASE)

SCHEMAS = {
    "gitlab": "gitlab-ci.json",
    "azure-devops": "azure-pipelines.json",
    "github": "github-workflows.json",
}


@cache
def schema(platform: str) -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    loaded: dict[str, Any] = json.loads((vendor / SCHEMAS[platform]).read_text())
    return loaded


def _gitlab_resolved(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as GitLab validates its jobs: ``extends`` merged in, the hidden jobs gone (the schema
    accepts anything under a hidden key; GitLab checks what reaches a job)."""
    resolved = {k: v for k, v in doc.items() if not k.startswith(".")}
    for name, body in doc.items():
        if isinstance(body, dict) and not name.startswith(".") and "extends" in body:
            parents = [body["extends"]] if isinstance(body["extends"], str) else body["extends"]
            merged: dict[str, Any] = {}
            for parent in parents:
                merged.update(doc[parent])
            merged.update({k: v for k, v in body.items() if k != "extends"})
            resolved[name] = merged
    return resolved


def schema_errors(platform: str, doc: Any) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema(platform))
    validator = validator_class(schema(platform))
    errors = list(validator.iter_errors(doc))
    if platform == "gitlab" and isinstance(doc, dict):
        errors += validator.iter_errors(_gitlab_resolved(doc))
    if not errors:
        return []
    best = jsonschema.exceptions.best_match(errors)
    return [f"{best.json_path}: {best.message[:400]}"]


ALL_TEMPLATES = [(platform, path) for platform, paths in TEMPLATES.items() for path in paths]


def _id(item: tuple[str, Path]) -> str:
    return f"{item[0]}/{item[1].name}"


# --- what each platform accepts -----------------------------------------------------------------------------


@pytest.mark.parametrize("template", ALL_TEMPLATES, ids=[_id(t) for t in ALL_TEMPLATES])
def test_each_template_is_valid_for_its_platform(template: tuple[str, Path]) -> None:
    platform, path = template
    doc = load(path, platform)
    assert isinstance(doc, dict), path
    assert schema_errors(platform, doc) == [], path


@pytest.mark.parametrize(
    ("platform", "name", "old", "new"),
    [
        ("gitlab", ".gitlab-ci.yml", "  resource_group: aovpn-$STACK", "  resource_groups: aovpn-$STACK"),
        ("gitlab", ".gitlab-ci.yml", "    action: start", "    action: deploy"),
        ("azure-devops", "up.yml", "    lockBehavior: sequential", "    lockBehavior: queue"),
        ("azure-devops", "up.yml", "        environment: aovpn-prod", "        environments: aovpn-prod"),
        ("azure-devops", "preview.yml", "        displayName: Summary", "        displayNam: Summary"),
        ("github", "up.yml", "      cancel-in-progress: false", "      cancel-in-progress: never"),
    ],
)
def test_the_schema_check_rejects_what_the_platform_would(
    platform: str, name: str, old: str, new: str, tmp_path: Path
) -> None:
    """A misspelt key or a value the platform does not allow, at each level, fails the check above."""
    source = next(p for p in TEMPLATES[platform] if p.name == name)
    text = source.read_text()
    assert old in text
    broken = tmp_path / name
    broken.write_text(text.replace(old, new, 1))
    assert schema_errors(platform, load(source, platform)) == []
    assert schema_errors(platform, load(broken, platform)) != []


# --- where the jobs run -------------------------------------------------------------------------------------


def test_every_github_job_runs_on_a_self_hosted_runner() -> None:
    for job in jobs("github"):
        labels = job.body["runs-on"]
        assert isinstance(labels, list) and "self-hosted" in labels, (job.path.name, job.name, labels)
    config = load(PIPELINES / "github" / "actionlint.yaml", "gitlab")
    custom = set(config["self-hosted-runner"]["labels"])
    used = {label for job in jobs("github") for label in job.body["runs-on"]} - {"self-hosted", "linux"}
    assert used <= custom, used - custom


def test_every_azure_devops_job_runs_in_a_self_hosted_agent_pool() -> None:
    for path in TEMPLATES["azure-devops"]:
        doc = load(path, "azure-devops")
        for job in ado_jobs(path):
            pool = job.body.get("pool") or job.stage.get("pool") or doc.get("pool")
            assert isinstance(pool, dict) and pool.get("name"), (path.name, job.name, pool)
            assert "vmImage" not in pool, (path.name, job.name, "a Microsoft-hosted agent")


def test_every_gitlab_job_runs_on_a_runner_with_the_corporate_tag() -> None:
    path = TEMPLATES["gitlab"][0]
    default_tags = load(path, "gitlab")["default"]["tags"]
    assert default_tags
    for job in gitlab_jobs(path):
        assert job.body.get("tags", default_tags), job.name


# --- secrets ------------------------------------------------------------------------------------------------


def _secret_values(env: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in env.items() if SECRET_NAME.search(k)}


def test_github_secrets_come_from_the_secret_store() -> None:
    for script in scripts("github"):
        for name, value in _secret_values(script.env).items():
            assert re.fullmatch(r"\$\{\{ (secrets\.[A-Z_]+|github\.token) \}\}", value), (script.job, name)
    for path in TEMPLATES["github"]:
        doc = load(path, "github")
        assert not _secret_values(doc.get("env") or {}), path.name


def test_azure_devops_secrets_are_mapped_from_secret_variables() -> None:
    """Secret variables reach a script only through its ``env:`` (Azure DevOps maps them nowhere else)."""
    for script in scripts("azure-devops"):
        for name, value in _secret_values(script.env).items():
            assert re.fullmatch(r"\$\((System\.AccessToken|[A-Z_]+)\)", value), (script.job, name)
    for path in TEMPLATES["azure-devops"]:
        doc = load(path, "azure-devops")
        defined = [v["name"] for v in doc.get("variables") or [] if "name" in v]
        assert not [n for n in defined if SECRET_NAME.search(n)], (path.name, defined)
        assert {"group": "aovpn-prod"} in doc["variables"], path.name


def test_gitlab_defines_no_secret_in_the_file() -> None:
    path = TEMPLATES["gitlab"][0]
    doc = load(path, "gitlab")
    defined = set(doc.get("variables") or {})
    for job in gitlab_jobs(path, hidden=True):
        defined |= set(job.body.get("variables") or {})
    assert not [n for n in defined if SECRET_NAME.search(n)], defined


@pytest.mark.parametrize("platform", list(TEMPLATES))
def test_no_script_sets_or_shows_a_secret(platform: str) -> None:
    for script in scripts(platform):
        assert not re.search(r"\b(PULUMI_CONFIG_PASSPHRASE|AZURE_STORAGE_KEY)=", script.text), script.job
        assert "--show-secrets" not in script.text, script.job
        assert "set -x" not in script.text, script.job


# --- the environment and the lock of `up` -------------------------------------------------------------------


def _one(found: list[Job], name: str) -> Job:
    matching = [j for j in found if j.name == name]
    assert len(matching) == 1, [j.name for j in found]
    return matching[0]


def test_github_up_waits_for_the_environment_and_holds_the_stack_lock() -> None:
    up = _one(list(github_jobs(PIPELINES / "github" / "up.yml")), "up")
    assert up.body["environment"] == "aovpn-${{ matrix.stack }}"
    assert up.body["concurrency"] == {"group": "aovpn-up-${{ matrix.stack }}", "cancel-in-progress": False}
    # The preview and the drift check stay out of that group: GitHub cancels a pending run of a group when
    # another is queued, and a pending `up` must never be cancelled by a preview or a check.
    preview = _one(list(github_jobs(PIPELINES / "github" / "preview.yml")), "preview")
    drift = _one(list(github_jobs(PIPELINES / "github" / "drift.yml")), "drift")
    for other in (preview, drift):
        assert "environment" not in other.body
        assert other.body["concurrency"]["group"] != up.body["concurrency"]["group"]
    assert preview.body["concurrency"]["cancel-in-progress"] is True
    assert drift.body["concurrency"]["cancel-in-progress"] is False
    assert "steps.busy.outputs.active == '0'" in json.dumps(drift.steps)


def test_azure_devops_up_is_a_deployment_to_the_environment_with_a_sequential_lock() -> None:
    up = _one(list(ado_jobs(PIPELINES / "azure-devops" / "up.yml")), "up")
    assert "deployment" in up.body
    assert up.body["environment"] == "aovpn-prod"
    assert up.stage["lockBehavior"] == "sequential"
    # Nothing a pull request starts can reach `up`: the preview pipeline holds no deployment job.
    for name in ("preview.yml", "drift.yml"):
        for job in ado_jobs(PIPELINES / "azure-devops" / name):
            assert "deployment" not in job.body and "environment" not in job.body, (name, job.name)


def test_gitlab_up_is_a_manual_job_of_the_protected_environment_in_the_stack_resource_group() -> None:
    path = TEMPLATES["gitlab"][0]
    found = list(gitlab_jobs(path))
    up = _one(found, "up")
    assert up.body["environment"]["name"] == "aovpn-$STACK"
    assert up.body["rules"] == [
        {
            "if": '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE != "schedule"',
            "when": "manual",
        }
    ]
    assert up.body["allow_failure"] is False  # the pipeline waits for it: a blocked, not a passed, pipeline
    # GitLab queues the jobs of a resource group without cancelling any: all three share the stack's.
    for job in found:
        assert job.body["resource_group"] == "aovpn-$STACK", job.name
    for name in ("preview", "drift"):
        assert "environment" not in _one(found, name).body


# --- triggers -----------------------------------------------------------------------------------------------


def test_triggers() -> None:
    github = {p.stem: load(p, "github")["on"] for p in TEMPLATES["github"]}
    assert set(github["preview"]) == {"pull_request"}
    assert github["up"]["push"] == {"branches": ["main"]}
    assert "schedule" in github["drift"]
    preview_job = _one(list(github_jobs(PIPELINES / "github" / "preview.yml")), "preview")
    assert preview_job.body["if"] == "github.event.pull_request.head.repo.full_name == github.repository"

    ado = {p.stem: load(p, "azure-devops") for p in TEMPLATES["azure-devops"]}
    assert ado["preview"]["trigger"] == "none"
    assert ado["up"]["pr"] == "none" and ado["up"]["trigger"]["branches"] == {"include": ["main"]}
    assert ado["drift"]["trigger"] == "none" and ado["drift"]["schedules"][0]["always"] == "true"

    found = list(gitlab_jobs(TEMPLATES["gitlab"][0]))
    assert _one(found, "preview").body["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert _one(found, "drift").body["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]


# --- the project commands -----------------------------------------------------------------------------------


def _lines(job: Job) -> list[str]:
    """The job's VENV line and project command lines, in order."""
    if job.platform == "gitlab":
        texts = [str(e) for section in ("before_script", "script") for e in job.body.get(section) or []]
    else:
        texts = [str(s.get("run") or s.get("bash") or s.get("script") or "") for s in job.steps]
    found = []
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line == VENV or line.startswith(("./run ", "pulumi ", "venv/bin/python -m ops.")):
                found.append(line)
    return found


@pytest.mark.parametrize("platform", list(TEMPLATES))
def test_each_job_runs_the_project_commands_in_order(platform: str) -> None:
    for job in jobs(platform):
        assert _lines(job) == SEQUENCES[job.name], (job.path.name, job.name)


def test_every_project_command_line_is_one_the_command_line_test_runs() -> None:
    """tests/pipelines/test_command_lines.py runs each distinct line; a new one must be taught to it."""
    known = {SETUP, LOGIN, PREVIEW, SUMMARY, UP, DRIFT}
    assert {line for _, line in project_lines()} == known


@pytest.mark.parametrize("platform", list(TEMPLATES))
def test_the_cli_directory_goes_on_path_for_the_later_steps(platform: str) -> None:
    text = "\n".join(s.text for s in scripts(platform))
    expected = {
        "github": 'bash pulumi-cli/install.sh >> "$GITHUB_PATH"',
        "azure-devops": 'echo "##vso[task.prependpath]$(bash pulumi-cli/install.sh)"',
        "gitlab": 'export PATH="$(bash pulumi-cli/install.sh):$PATH"',
    }[platform]
    assert text.count(expected) == len(jobs(platform))


@pytest.mark.parametrize("platform", list(TEMPLATES))
def test_the_drift_report_is_filed_on_drift_and_closed_without(platform: str) -> None:
    text = "\n".join(s.text for s in scripts(platform) if s.job == "drift")
    assert "Drift on stack" in text  # the one issue / work item per stack, found by its title
    if platform == "github":
        drift = _one(list(github_jobs(PIPELINES / "github" / "drift.yml")), "drift")
        conditions = [s.get("if") for s in drift.steps]
        assert "steps.drift.outputs.rc == '7'" in conditions and "steps.drift.outputs.rc == '0'" in conditions
    elif platform == "azure-devops":
        assert 'os.environ["DRIFT_RC"] == "7"' in text
    else:
        assert 'os.environ["DRIFT_RC"] == "7"' in text and '"state_event": "close"' in text
    # any exit but 0 and 7 fails the job
    assert 'if [ "$rc" -ne 0 ] && [ "$rc" -ne 7 ]; then' in text
