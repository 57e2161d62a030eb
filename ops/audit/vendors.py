"""Which module audits a load balancer: ``ops.audit.<kind>`` for the declaration's ``loadBalancer.kind``.

Each vendor module (ops/audit/f5.py, citrix.py, kemp.py) exposes ``audit_load_balancer(lb, password)``
and registers nothing: the kind names the module. A kind whose module is not there says so plainly
(``AuditUnavailable``), never as an import traceback."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, cast

from ops.audit.model import LoadBalancerAudit

AuditFunction = Callable[[Mapping[str, Any], str], LoadBalancerAudit]
#: The package the vendor modules live in (a test may point it at its own).
PACKAGE = "ops.audit"


class AuditUnavailable(Exception):
    """This version cannot audit that kind of load balancer."""


def auditor(kind: str, package: str | None = None) -> AuditFunction:
    """The ``audit_load_balancer`` of ``<package>.<kind>``."""
    package = package or PACKAGE
    name = f"{package}.{kind}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name not in (name, package):
            raise  # the module is there but something it imports is missing: a real error
        raise AuditUnavailable(
            f"no audit for load balancers of kind {kind!r} in this version (no module {name})"
        ) from None
    found = getattr(module, "audit_load_balancer", None)
    if not callable(found):
        raise AuditUnavailable(f"module {name} has no audit_load_balancer(lb, password)")
    return cast(AuditFunction, found)


def audit_load_balancer(
    lb: Mapping[str, Any], password: str, package: str | None = None
) -> LoadBalancerAudit:
    """Audit the load balancer ``lb`` (a declaration's ``loadBalancer`` block) with its vendor's module."""
    result = auditor(str(lb.get("kind")), package)(lb, password)
    if not isinstance(result, LoadBalancerAudit):
        raise AuditUnavailable(
            f"the {lb.get('kind')} audit answered {type(result).__name__}, not a LoadBalancerAudit"
        )
    return result
