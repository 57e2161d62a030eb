"""The configuration save that follows a cluster's objects on a device that must be told to persist them
(F5 BIG-IP, Citrix ADC): one resource per cluster and device, after every object of it, visible in a
preview, run only when one of those objects was written, adopted or found changed (providers/common/save.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pulumi

from components.naming import resource_name
from providers.common.device import DeviceSettings
from providers.common.resources import ApplianceResource, SaveInputs

SaveResource = Callable[[str, SaveInputs, pulumi.ResourceOptions], pulumi.CustomResource]


def config_save(
    make: SaveResource,
    cluster_name: str,
    device: DeviceSettings,
    made: Mapping[str, Sequence[pulumi.CustomResource]],
    parent: pulumi.Resource,
) -> pulumi.CustomResource:
    """``make`` (the vendor's save resource) after every object the cluster ``made`` (by role): their
    revisions by resource name."""
    objects = [obj for group in made.values() for obj in group if isinstance(obj, ApplianceResource)]
    pairs = [pulumi.Output.all(obj.urn, obj.revision) for obj in objects]
    # A revision is None only for an object recorded by a version without revisions; None-valued keys
    # would be dropped from the inputs, so it is kept as "".
    revisions = pulumi.Output.all(*pairs).apply(
        lambda found: {str(urn).rsplit("::", 1)[-1]: rev or "" for urn, rev in found}
    )
    return make(
        resource_name(cluster_name, "config-save"),
        {"device": device, "revisions": revisions},
        pulumi.ResourceOptions(parent=parent, depends_on=objects),
    )
