"""The Pulumi resource every appliance-object provider is instantiated through, and the input shapes all
vendors share (the typed seam between components and providers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import pulumi
from pulumi.dynamic import Resource

from providers.common.device import DeviceSettings
from providers.common.resource import ApplianceObjectProvider

Opts = pulumi.ResourceOptions | None


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


class ApplianceResource(Resource):
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
