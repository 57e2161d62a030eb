"""The Pulumi resource every appliance-object provider is instantiated through, and the input shapes all
vendors share (the typed seam between components and providers).

Every resource class names its vendor and object in its type token, ``class F5Pool(ApplianceResource,
module="f5", name="Pool")`` giving ``pulumi-python:dynamic/f5:Pool``, so a preview row says what the object
is. Stacks written before the tokens carry ``pulumi-python:dynamic:Resource`` in every URN; each resource
aliases that old type, so the engine matches the old URN and updates in place instead of replacing
(docs/pulumi-engine.md#typed-dynamic-resources).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict

import pulumi
from pulumi.dynamic import Resource, ResourceProvider

from providers.common.device import DeviceSettings
from providers.common.resource import ApplianceObjectProvider

Opts = pulumi.ResourceOptions | None

#: The type every dynamic resource had before it named its vendor and object (the SDK's default token).
LEGACY_TYPE = "pulumi-python:dynamic:Resource"


#: The pure-Python pickler's item writer as Python ships it, before any dynamic resource was serialized.
_BATCH_SETITEMS = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]


def _unwrap_sorted_pickler() -> None:
    """Undo what the SDK's serialize_provider leaves behind (docs/pulumi-engine.md#serializing-providers).

    To pickle dictionaries in a stable order, each call wraps ``pickle._Pickler._batch_setitems`` in a sorting
    function around the CURRENT one and never restores it: the wrappers nest one level per dynamic resource,
    every dictionary item passes through all of them, and near a thousand resources in one program the
    nesting exceeds Python's recursion limit. Restoring Python's own method before each serialization
    keeps the nesting at one (the SDK's own sorting wrapper, so the pickles stay deterministic)."""
    pickle._Pickler._batch_setitems = _BATCH_SETITEMS  # type: ignore[attr-defined]


def type_token(cls: type[Resource]) -> str:
    """The type token the SDK registers instances of the dynamic resource class ``cls`` under."""
    return f"pulumi-python:{cls._resource_type_name}"


class TypedResource(Resource):
    """A dynamic resource with a type token of its own that answers to LEGACY_TYPE too (an alias), so a
    stack recorded under the old token keeps its objects."""

    def __init__(
        self, provider: ResourceProvider, name: str, props: Mapping[str, Any], opts: Opts = None
    ) -> None:
        token = type_token(type(self))
        if token != LEGACY_TYPE:
            opts = pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=LEGACY_TYPE)]), opts
            )
        _unwrap_sorted_pickler()
        super().__init__(provider, name, dict(props), opts)


class ObjectInputs(TypedDict):
    """What every appliance object takes: how to reach its device, and this stack's ownership marker."""

    device: DeviceSettings
    owner: str


class SaveInputs(TypedDict):
    """A device's configuration save: the ``revision`` of each object it follows, by resource name."""

    device: DeviceSettings
    revisions: pulumi.Input[Mapping[str, str]]


class DrainSpec(TypedDict):
    """How to drain one RRAS node on its load balancer (the vendor's ``drain`` module reads the rest)."""

    kind: str
    device: DeviceSettings


class DeviceSave(TypedResource):
    """A device's configuration save (providers/common/save.py): each vendor names its ``provider_class``."""

    provider_class: ClassVar[type[ResourceProvider]]

    def __init__(self, name: str, props: SaveInputs, opts: Opts = None) -> None:
        super().__init__(self.provider_class(), name, dict(props), opts)


class ApplianceResource(TypedResource):
    """A dynamic resource with the ``revision`` output of ApplianceObjectProvider: it changes only when
    the object was written, adopted, or found changed since the state was written.

    The provider's replacement order is also set as the resource option: the engine takes the diff's
    delete-before-replace for a replacement the diff asked for, but not for one a person forces with
    ``pulumi up --replace URN``, which would otherwise create first; on an appliance the new object has
    the old one's name, so "creating" it adopts the old one and deleting the old one then removes both.
    """

    revision: pulumi.Output[str]

    def __init__(
        self,
        provider: ApplianceObjectProvider,
        name: str,
        props: Mapping[str, Any],
        opts: Opts = None,
    ) -> None:
        order = pulumi.ResourceOptions(delete_before_replace=provider.delete_before_replace)
        opts = pulumi.ResourceOptions.merge(order, opts)
        super().__init__(provider, name, {**props, "revision": None}, opts)
