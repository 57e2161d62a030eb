"""What an audit looks at, from a stack's config: every cluster of ``aovpn:clusters`` (its load balancer and
its nodes' management), and the ``aovpn:audit`` block of a stack that only says where to look:

    aovpn:audit:
      loadBalancer: {kind: f5, url: https://lb.example.com, user: audit, passwordSecret: lbPassword,
                     caBundle: ca.pem}
      nodes:                                   # optional: the nodes found behind the VIP without an
        - address: 198.51.100.11               # entry here are listed "not audited"
          name: rras1                          # optional: the name the written declaration gives it
          management: {endpoint: https://198.51.100.11:5986/wsman, user: 'CORP\\audit',
                       passwordSecret: rrasPassword, caBundle: ca.pem}

Both are validated with the declaration's own models (components/declaration.py: the vendor's LoadBalancer
model for ``loadBalancer``, Management for each node), so a bad block gets the same messages ``preview``
gives: the block, the field, what is allowed. Passwords come from the stack's secret config by the key each
``passwordSecret`` names; they stay in memory and are never printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError, ValidatorFunctionWrapHandler, field_validator

from components.declaration import (
    DeclarationError,
    LoadBalancer,
    Management,
    Str,
    _choice,
    _ip,
    _loc,
    _message,
    _Model,
    validate_clusters,
)
from components.registry import kinds, vendor

AUDIT_KEY = "aovpn:audit"
CLUSTERS_KEY = "aovpn:clusters"
NAMESPACE = "aovpn"


class AuditNode(_Model):
    """One node of ``aovpn:audit.nodes``: where it is and how to reach it."""

    address: Str
    name: Str | None = None
    management: Management

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return _ip(v)


class AuditBlock(_Model):
    """``aovpn:audit``: the load balancer to read and, optionally, how to reach the nodes behind it."""

    load_balancer: LoadBalancer
    nodes: tuple[AuditNode, ...] = ()

    @field_validator("load_balancer", mode="wrap")
    @classmethod
    def _load_balancer(cls, v: Any, handler: ValidatorFunctionWrapHandler) -> LoadBalancer:
        """The vendor's own model, as ``aovpn:clusters`` validates it (components/declaration.py)."""
        if isinstance(v, Mapping):
            try:
                kind = _choice(v.get("kind"), kinds(), "load balancer kind")
            except ValueError:
                pass
            else:
                return vendor(kind).declaration.model_validate(dict(v))
        validated: LoadBalancer = handler(v)
        return validated


@dataclass
class NodeTarget:
    address: str
    name: str | None
    #: how the audit reaches it (caBundle resolved against the project directory)
    management: Management | None
    #: the management block as the stack file has it (for the declaration writer)
    declared_management: Management | None = None


@dataclass
class Target:
    """One cluster to audit: a declared one (``declared``) or the ``aovpn:audit`` block."""

    name: str
    #: the ``loadBalancer`` block as the stack file spells it (camelCase), caBundle resolved
    lb: dict[str, Any]
    #: the declared virtual address (None: every service the load balancer has)
    virtual_address: str | None
    nodes: list[NodeTarget] = field(default_factory=list)
    declared: bool = True
    #: the declaration's ``loadBalancer`` model, for the declaration writer
    load_balancer: LoadBalancer | None = None


def _resolve(path: str | None, cwd: Path) -> str | None:
    """A caBundle relative to the project directory, as the providers (run there) read it."""
    if path is None:
        return None
    return path if os.path.isabs(path) else str((cwd / path).resolve())


def _lb_block(lb: LoadBalancer, cwd: Path) -> dict[str, Any]:
    block = lb.model_dump(by_alias=True, exclude_none=True)
    block.pop("adopt", None)
    if lb.ca_bundle is not None:
        block["caBundle"] = _resolve(lb.ca_bundle, cwd)
    return block


def _management(m: Management | None, cwd: Path) -> Management | None:
    if m is None or m.ca_bundle is None:
        return m
    return m.model_copy(update={"ca_bundle": _resolve(m.ca_bundle, cwd)})


def targets(config: Mapping[str, Any], cwd: Path) -> list[Target]:
    """The targets of a stack's config (values as ``pulumi config --json`` gives them, already decoded).
    DeclarationError names every problem of ``aovpn:clusters`` and ``aovpn:audit`` at once."""
    found: list[Target] = []
    problems: list[str] = []
    if CLUSTERS_KEY in config:
        clusters, cluster_problems = validate_clusters(config[CLUSTERS_KEY])
        problems += cluster_problems
        for c in clusters:
            found.append(
                Target(
                    name=c.name,
                    lb=_lb_block(c.load_balancer, cwd),
                    virtual_address=c.virtual_address,
                    nodes=[
                        NodeTarget(n.address, n.name, _management(n.management, cwd), n.management)
                        for n in c.nodes
                    ],
                    load_balancer=c.load_balancer,
                )
            )
    if AUDIT_KEY in config:
        raw = config[AUDIT_KEY]
        try:
            block = AuditBlock.model_validate(raw if isinstance(raw, Mapping) else {"": raw})
        except ValidationError as exc:
            item = raw if isinstance(raw, Mapping) else {}
            for err in exc.errors():
                problems.append(f"{AUDIT_KEY}: {_loc(tuple(err['loc']))}: {_message(err, item)}")
        else:
            found.append(
                Target(
                    name=AUDIT_KEY,
                    lb=_lb_block(block.load_balancer, cwd),
                    virtual_address=None,
                    nodes=[
                        NodeTarget(n.address, n.name, _management(n.management, cwd), n.management)
                        for n in block.nodes
                    ],
                    declared=False,
                    load_balancer=block.load_balancer,
                )
            )
    if problems:
        raise DeclarationError(problems)
    if not found:
        raise DeclarationError(
            [f"the stack declares neither {CLUSTERS_KEY} nor {AUDIT_KEY}: nothing to audit"]
        )
    return found


def config_values(document: Mapping[str, Any]) -> dict[str, Any]:
    """``pulumi config --json --show-secrets``'s document as key -> value (objects decoded)."""
    out: dict[str, Any] = {}
    for key, entry in document.items():
        if isinstance(entry, Mapping) and ("value" in entry or "objectValue" in entry):
            out[key] = entry["objectValue"] if "objectValue" in entry else entry.get("value")
        else:
            out[key] = entry
    return out


def secret(config: Mapping[str, Any], key: str, where: str) -> str:
    """The value of the secret config key ``key`` (``aovpn:<key>``); the value is never echoed."""
    full = key if ":" in key else f"{NAMESPACE}:{key}"
    value = config.get(full)
    if not isinstance(value, str) or not value:
        raise DeclarationError(
            [
                f"{where}: the secret config key {key!r} is not set; set it with "
                f"`pulumi config set --secret {key} <password>`"
            ]
        )
    return value
