"""The load-balancer vendors this version provisions: the one place that lists them.

A new vendor is its own component module (a ``LoadBalancerVendor``), its providers and its twin, plus one
entry in ``BUILT_IN`` here. ``register`` adds one at run time (a test's toy vendor does).
"""

from __future__ import annotations

from collections.abc import Iterable

from components import citrix, f5, kemp
from components.declaration import Cluster, DeclarationError
from components.vendor import LoadBalancerVendor

BUILT_IN: tuple[LoadBalancerVendor, ...] = (f5.BigIp(), citrix.NetScaler(), kemp.LoadMaster())

_VENDORS: dict[str, LoadBalancerVendor] = {}


def register(vendor: LoadBalancerVendor) -> None:
    """Make ``vendor`` available as ``loadBalancer.kind: <vendor.kind>``."""
    _VENDORS[vendor.kind] = vendor


def unregister(kind: str) -> None:
    _VENDORS.pop(kind, None)


def kinds() -> tuple[str, ...]:
    """The declarable ``loadBalancer.kind`` values, in registration order."""
    return tuple(_VENDORS)


def vendor(kind: str) -> LoadBalancerVendor:
    return _VENDORS[kind]


def check_supported(clusters: Iterable[Cluster]) -> None:
    """Refuse, before anything is sent, what the declared vendors cannot provision or express."""
    problems = unsupported(clusters)
    if problems:
        raise DeclarationError(problems)


def unsupported(clusters: Iterable[Cluster]) -> list[str]:
    """What the declared vendors cannot provision or express, each naming the cluster and field."""
    problems: list[str] = []
    for cluster in clusters:
        kind = cluster.load_balancer.kind
        found = _VENDORS.get(kind)
        if found is None:
            problems.append(
                f"cluster {cluster.name!r}: loadBalancer.kind: {kind!r} is not supported by this version "
                f"yet; supported: {', '.join(sorted(_VENDORS))}"
            )
            continue
        for protocol in cluster.protocols:
            if protocol not in found.protocols:
                able = sorted(v.kind for v in _VENDORS.values() if protocol in v.protocols)
                problems.append(
                    f"cluster {cluster.name!r}: protocols: {protocol!r} is not supported on {found.product} "
                    f"by this version yet; {protocol} is supported on: {', '.join(able)}"
                )
        problems += found.check(cluster)
    return problems


for _vendor in BUILT_IN:
    register(_vendor)
