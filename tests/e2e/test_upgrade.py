"""A stack made by an earlier release keeps working after an upgrade of the project.

Dynamic providers are pickled into state by reference (module and class name), and ``refresh`` and
``destroy`` unpickle the copy in state, not the program's. tests/fixtures/upgrade/ holds the state of the
local demo stack (F5, Citrix ADC and LoadMaster clusters, three RRAS nodes: 20 provider classes) as the
release at commit 54b1cb4 wrote it, exported with ``pulumi stack export --show-secrets`` (its secrets are
the twins' test passwords). Against twins that hold the same objects, the current code must refresh it
(exit 0 or 7, never 1), preview it with no object of it created, deleted or replaced (every object of
that release was typed ``pulumi-python:dynamic:Resource``, which the typed resources alias:
docs/pulumi-engine.md#typed-dynamic-resources) and destroy it. A refactor that moves or renames a
provider class fails here; the mend is a compatibility name at the old import path
(docs/pulumi-engine.md, "Provider upgrades").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from components.registry import kinds
from providers.common.resources import LEGACY_TYPE
from tests.e2e.project import ROOT, Project, copy_product

pytestmark = pytest.mark.e2e

FIXTURE = ROOT / "tests" / "fixtures" / "upgrade" / "local-stack-54b1cb4.json"
LOCAL = ROOT / "stacks" / "Pulumi.local.yaml"
# The local stack's passphrase (tests/demo.py): the fixture's stack file is encrypted with it.
LOCAL_PASSPHRASE = "aovpn-local-twins"


def _ports() -> dict[str, int]:
    """The fixed ports of the local stack, by the twin that serves them (a load balancer's kind, winrm)."""
    ports: dict[str, int] = {}
    for cluster in yaml.safe_load(LOCAL.read_text())["config"]["aovpn:clusters"]:
        lb = cluster["loadBalancer"]
        ports[lb["kind"]] = int(urlsplit(lb["url"]).port or 443)
        for node in cluster["nodes"]:
            if "management" in node:
                ports["winrm"] = int(urlsplit(node["management"]["endpoint"]).port or 443)
    return ports


def _copy(path: Path, urls: dict[int, str], tls: Any) -> Project:
    project = copy_product(path)
    # the stack's caBundle is the relative .twins/tls/ca.pem
    (path / ".twins" / "tls").mkdir(parents=True)
    shutil.copy2(tls.ca_path, path / ".twins" / "tls" / "ca.pem")
    (path / "stacks").mkdir(exist_ok=True)
    (path / "stacks" / "Pulumi.local.yaml").write_text(_moved(LOCAL.read_text(), urls))
    project.passphrase = LOCAL_PASSPHRASE
    return project


def _moved(text: str, urls: dict[int, str]) -> str:
    for port, url in urls.items():
        text = text.replace(f"https://127.0.0.1:{port}", url)
    return text


def _marked(twins: dict[str, Any]) -> dict[str, int]:
    """Per load balancer: how many objects of its running configuration carry an ownership marker."""
    return {
        kind: json.dumps(twin.admin().state()["running"]).count("aovpn-iac:aovpn/local")
        for kind, twin in twins.items()
        if kind != "winrm"
    }


def test_a_stack_written_by_the_earlier_release_refreshes_and_destroys(
    tmp_path: Path, twin_factory: Any, tls: Any
) -> None:
    twins = {kind: twin_factory(kind) for kind in kinds()}
    twins["winrm"] = twin_factory("winrm", nodes=["rras1", "rras2", "rras3"])
    assert set(_marked(twins).values()) == {0}
    urls = {port: twins[kind].url for kind, port in _ports().items()}

    # The appliances as the earlier release left them: the same stack provisioned with the current code
    # in a backend of its own (same project and stack name, so the same ownership marker).
    seed = _copy(tmp_path / "seed", urls, tls)
    seed.pulumi("stack", "init", stack="local", check=True)
    seed.pulumi("up", "--yes", "--skip-preview", stack="local", check=True)
    assert all(_marked(twins).values()), _marked(twins)

    # The earlier release's state, imported as it was written (only the twins' addresses moved).
    old = _copy(tmp_path / "old", urls, tls)
    old.pulumi("stack", "init", stack="local", check=True)
    exported = tmp_path / "exported.json"
    exported.write_text(_moved(FIXTURE.read_text(), urls))
    old.pulumi("stack", "import", "--file", str(exported), stack="local", check=True)
    assert json.loads(FIXTURE.read_text())["deployment"]["manifest"]["version"]  # made by a real CLI

    drift = old.pulumi("preview", "--refresh", "--expect-no-changes", stack="local")
    assert drift.exit_code in (0, 7), drift.output
    for sign in ("Traceback", "AttributeError", "ModuleNotFoundError", "could not deserialize"):
        assert sign not in drift.output, drift.output

    # The current program against the old state: every old URN is matched through its alias, so no
    # object of the old state is created, deleted or replaced; they are at most updated. What that
    # release did not have yet (the configuration saves, the client profile) is created.
    recorded = {
        r["urn"].rsplit("::", 1)[-1] for r in json.loads(FIXTURE.read_text())["deployment"]["resources"]
    }
    plan = old.pulumi("preview", "--json", stack="local", check=True).json()
    moved = sorted(
        (step["op"], step["urn"])
        for step in plan["steps"]
        if step["op"] not in ("same", "update")
        and (step["op"] != "create" or step["urn"].rsplit("::", 1)[-1] in recorded)
    )
    assert not moved, moved
    assert not [s["urn"] for s in plan["steps"] if LEGACY_TYPE in s["urn"]], "rows still untyped"

    destroyed = old.pulumi("destroy", "--yes", "--skip-preview", stack="local")
    assert destroyed.exit_code == 0, destroyed.output
    assert set(_marked(twins).values()) == {0}, _marked(twins)
