"""The provider contract, for every vendor and object type (cases: tests/providers/contract_cases/).

Calling the provider classes directly against the real twins: create → read equals the inputs → a second
create and an update with the same inputs write nothing → a hand change shows as drift in ``read`` and
the next ``update`` repairs it → delete removes the object and a second delete is fine → an object of the
same name made by someone else is refused on create.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulators.common import RunningTwin
from providers.common.clients import new_run
from providers.common.errors import OwnershipError
from tests.providers.contract_cases import VENDOR_CASES, ContractCase, Ctx, Props, VendorCases

CASES = [
    pytest.param(vendor, case, id=f"{vendor.vendor}-{case.name.replace(' ', '_')}")
    for vendor in VENDOR_CASES
    for case in vendor.cases
]


def managed(props: Props, outs: Props) -> Props:
    """The outputs' values of the input keys (the device is the connection, not a property)."""
    return {k: outs.get(k) for k in props if k != "device"}


def outs_of(result: Any) -> Props:
    """A create, read or update result's outputs (Pulumi types them optional)."""
    assert result.outs is not None
    outs: Props = result.outs
    return outs


def wanted(props: Props) -> Props:
    return {k: v for k, v in props.items() if k != "device"}


def writes(twin: RunningTwin, since: int) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in twin.admin().log(since=since) if e.get("write")]


def last_seq(twin: RunningTwin) -> int:
    log = twin.admin().log()
    return int(log[-1]["seq"]) if log else 0


@pytest.mark.parametrize(("vendor", "case"), CASES)
def test_provider_contract(
    vendor: VendorCases, case: ContractCase, contract_ctx: Callable[[VendorCases], Ctx]
) -> None:
    ctx = contract_ctx(vendor)
    for parent_cls, parent_props in case.parents(ctx):
        ctx.provider(parent_cls).create(parent_props)
    provider = ctx.provider(case.provider)
    props = case.inputs(ctx)

    # create → read equals the inputs
    created = provider.create(dict(props))
    first = outs_of(created)
    assert managed(props, first) == wanted(props)
    read = provider.read(created.id, first)
    assert read.id == created.id
    assert managed(props, outs_of(read)) == wanted(props)
    assert not provider.diff(created.id, outs_of(read), props).changes

    # the same inputs again write nothing
    seq = last_seq(ctx.twin)
    assert outs_of(provider.create(dict(props)))["revision"] == "adopted"
    assert outs_of(provider.update(created.id, first, dict(props)))["revision"] == first["revision"]
    assert writes(ctx.twin, seq) == []

    # a hand change shows as drift (or as the object gone) and the next update repairs it
    case.hand_change(ctx, props)
    new_run()  # the refresh is a new provider process: its reads are its own
    drifted = provider.read(created.id, first)
    if drifted.id:
        assert managed(props, outs_of(drifted)) != wanted(props)
        assert provider.diff(created.id, outs_of(drifted), props).changes
    seq = last_seq(ctx.twin)
    # the engine updates what the refresh found changed, and creates again what it found gone
    repaired = outs_of(
        provider.update(created.id, drifted.outs, dict(props)) if drifted.id else provider.create(dict(props))
    )
    assert writes(ctx.twin, seq) != []
    assert repaired["revision"] != first["revision"]
    assert managed(props, outs_of(provider.read(created.id, repaired))) == wanted(props)

    if not case.deletes:
        provider.delete(created.id, repaired)
        assert provider.read(created.id, repaired).id == created.id
        return
    # delete removes it; deleting what is gone is fine and writes nothing
    provider.delete(created.id, repaired)
    assert provider.read(created.id, repaired).id == ""
    seq = last_seq(ctx.twin)
    provider.delete(created.id, repaired)
    assert writes(ctx.twin, seq) == []

    # an object of the same name that someone else made is refused
    if case.foreign is None:
        pytest.skip(f"no foreign-object check: {case.note}")
    case.foreign(ctx, props)
    with pytest.raises(OwnershipError):
        provider.create(dict(props))


@pytest.mark.parametrize("vendor", VENDOR_CASES, ids=lambda v: v.vendor)
def test_every_object_provider_of_every_vendor_has_a_case(vendor: VendorCases) -> None:
    import inspect

    from providers.common.resource import ApplianceObjectProvider

    covered = {case.provider for case in vendor.cases}
    missing = [
        f"{module.__name__}.{name}"
        for module in vendor.provider_modules
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and issubclass(cls, ApplianceObjectProvider)
        and cls.__module__ == module.__name__
        and name not in vendor.abstract
        and cls not in covered
    ]
    assert not missing
