"""A program with more dynamic resources than Python's recursion limit registers every one of them.

The SDK's serialize_provider wraps the pure-Python pickler's item writer around the current one on every
dynamic resource and never restores it (docs/pulumi-engine.md#serializing-providers); TypedResource restores
Python's own writer before each, so the nesting stays at one however many resources a stack has.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ResourceProvider

from providers.common.resources import TypedResource


class _Provider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("id", props)


class _Many(TypedResource, module="test", name="Many"):
    def __init__(self, name: str) -> None:
        super().__init__(_Provider(), name, {"n": name})


def _nesting() -> int:
    """How many sorting wrappers sit around Python's own _batch_setitems now."""
    depth, fn = 0, pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    while fn.__closure__:
        inner = [c.cell_contents for c in fn.__closure__ if callable(c.cell_contents)]
        if not inner:
            break
        depth, fn = depth + 1, inner[0]
    return depth


@pulumi.runtime.test
def test_more_resources_than_the_recursion_limit_serialize_with_one_wrapper(mocks: Any) -> None:
    count = sys.getrecursionlimit() + 200
    made = [_Many(f"r{i}") for i in range(count)]
    assert len(made) == count
    assert _nesting() == 1
