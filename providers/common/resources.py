"""The Pulumi resource every appliance-object provider is instantiated through."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from providers.common.resource import ApplianceObjectProvider


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
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        order = pulumi.ResourceOptions(delete_before_replace=provider.delete_before_replace)
        opts = pulumi.ResourceOptions.merge(order, opts)
        super().__init__(provider, name, {**props, "revision": None}, opts)
