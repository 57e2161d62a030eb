"""The checkpoint file, shaped like the local (``file://``) backend's ``<stack>.json`` (version 3)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .values import Props, decode_secrets, encode_secrets, normalize_numbers

DEPLOYMENT_VERSION = 3
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class ResourceState:
    urn: str
    custom: bool
    type: str
    id: str = ""
    inputs: Props = field(default_factory=dict)
    outputs: Props = field(default_factory=dict)
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    delete: bool = False
    pending_replacement: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    deleted_with: str = ""
    aliases: list[str] = field(default_factory=list)
    created: str = ""
    modified: str = ""

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_TYPE_PREFIX)

    def edges(self) -> list[str]:
        """URNs this depends on, for ordering: parent, dependencies, property deps, deletedWith, provider."""
        out = [self.parent] if self.parent else []
        out += self.dependencies
        for deps in self.property_dependencies.values():
            out += deps
        if self.deleted_with:
            out.append(self.deleted_with)
        if self.provider:
            out.append(self.provider.rsplit("::", 1)[0])
        return [u for u in out if u]

    def to_json(self, encrypt: Callable[[str], str]) -> dict[str, Any]:
        d: dict[str, Any] = {"urn": self.urn, "custom": self.custom}
        if self.delete:
            d["delete"] = True
        if self.id:
            d["id"] = self.id
        d["type"] = self.type
        if self.inputs:
            d["inputs"] = normalize_numbers(encode_secrets(self.inputs, encrypt))
        if self.outputs:
            d["outputs"] = normalize_numbers(encode_secrets(self.outputs, encrypt))
        if self.parent:
            d["parent"] = self.parent
        if self.protect:
            d["protect"] = True
        if self.dependencies:
            d["dependencies"] = list(self.dependencies)
        if self.property_dependencies:
            d["propertyDependencies"] = {k: list(v) for k, v in self.property_dependencies.items()}
        if self.provider:
            d["provider"] = self.provider
        if self.pending_replacement:
            d["pendingReplacement"] = True
        if self.additional_secret_outputs:
            d["additionalSecretOutputs"] = list(self.additional_secret_outputs)
        if self.aliases:
            d["aliases"] = list(self.aliases)
        if self.retain_on_delete:
            d["retainOnDelete"] = True
        if self.deleted_with:
            d["deletedWith"] = self.deleted_with
        if self.ignore_changes:
            d["ignoreChanges"] = list(self.ignore_changes)
        if self.replace_on_changes:
            d["replaceOnChanges"] = list(self.replace_on_changes)
        if self.created:
            d["created"] = self.created
        if self.modified:
            d["modified"] = self.modified
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], decrypt: Callable[[str], str]) -> ResourceState:
        return cls(
            urn=d["urn"],
            custom=bool(d.get("custom")),
            type=d["type"],
            id=str(d.get("id") or ""),
            inputs=decode_secrets(d.get("inputs") or {}, decrypt),
            outputs=decode_secrets(d.get("outputs") or {}, decrypt),
            parent=d.get("parent") or "",
            dependencies=list(d.get("dependencies") or []),
            property_dependencies={
                k: list(v or []) for k, v in (d.get("propertyDependencies") or {}).items()
            },
            provider=d.get("provider") or "",
            protect=bool(d.get("protect")),
            retain_on_delete=bool(d.get("retainOnDelete")),
            delete=bool(d.get("delete")),
            pending_replacement=bool(d.get("pendingReplacement")),
            ignore_changes=list(d.get("ignoreChanges") or []),
            additional_secret_outputs=list(d.get("additionalSecretOutputs") or []),
            replace_on_changes=list(d.get("replaceOnChanges") or []),
            deleted_with=d.get("deletedWith") or "",
            aliases=list(d.get("aliases") or []),
            created=d.get("created") or "",
            modified=d.get("modified") or "",
        )


def topo_sort(resources: list[ResourceState]) -> list[ResourceState]:
    """Stable topological order: a resource's parent, dependencies and provider come before it."""
    present: dict[str, int] = {}
    for r in resources:
        present[r.urn] = present.get(r.urn, 0) + 1
    emitted: dict[str, int] = {}
    remaining = list(resources)
    out: list[ResourceState] = []
    while remaining:
        progress = False
        rest: list[ResourceState] = []
        for r in remaining:
            ready = all(u == r.urn or u not in present or emitted.get(u, 0) > 0 for u in r.edges())
            if ready:
                out.append(r)
                emitted[r.urn] = emitted.get(r.urn, 0) + 1
                progress = True
            else:
                rest.append(r)
        remaining = rest
        if not progress:  # a cycle cannot happen with engine-built state; keep whatever is left in order
            out.extend(remaining)
            break
    return out


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def write_checkpoint(
    path: Path,
    stack: str,
    resources: list[ResourceState],
    secrets_state: str | None,
    encrypt: Callable[[str], str],
) -> None:
    latest: dict[str, Any] = {
        "manifest": {
            "time": now(),
            "magic": hashlib.sha256(b"tests-engine").hexdigest(),
            "version": "tests/engine (stand-in for the Pulumi CLI)",
        },
    }
    if secrets_state:
        latest["secrets_providers"] = {"type": "passphrase", "state": {"salt": secrets_state}}
    latest["resources"] = [r.to_json(encrypt) for r in topo_sort(resources)]
    doc = {"version": DEPLOYMENT_VERSION, "checkpoint": {"stack": stack, "latest": latest}}
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = path.parent.parent.parent / "meta.yaml"
    if not meta.exists():
        meta.write_text("version: 1\n")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=4) + "\n")
    os.replace(tmp, path)


def backup_checkpoint(path: Path) -> None:
    if path.exists():
        shutil.copyfile(path, path.with_suffix(".json.bak"))
