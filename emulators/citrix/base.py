"""What every Citrix backend mixin shares: NITRO's lookup of a named object, persistency-group effects.

``CitrixBase`` sits between ``emulators.common.TwinBackend`` and the concern mixins (sessions, objects,
bindings, SSL, system) that ``emulators.citrix.backend.CitrixBackend`` composes, moto style. The
group-persistence helpers are here because both object writes (lbgroup set/unset/delete) and bindings
(lbgroup_lbvserver_binding) apply them.
"""

from __future__ import annotations

from typing import Any

from emulators.citrix.exceptions import no_such_resource, required_missing
from emulators.citrix.tables import Obj
from emulators.common import TwinBackend


class CitrixBase(TwinBackend):
    vendor = "citrix"

    def _require(self, resource: str, name: Any, arg: str) -> Obj:
        obj = self.running[resource].get(str(name)) if name is not None else None
        if obj is None:
            if name is None:
                raise required_missing(arg)
            raise no_such_resource(arg, str(name))
        return obj

    def _apply_group_persistence(self, group_name: str) -> None:
        """The group's persistence replaces its members' own (docs/citrix.md#persistency-groups) [believed on
        GET]."""
        group = self.running["lbgroup"][group_name]
        # a group without persistence (or with vserver-level persistency) leaves its members their own
        members_own = group["persistencetype"] == "NONE" or group["usevserverpersistency"] == "ENABLED"
        for binding in self.running["group_vs"]:
            if binding["name"] == group_name:
                vserver = self.running["lbvserver"][binding["vservername"]]
                if members_own:
                    own = vserver.get("_own_persistence")
                    if own:
                        vserver["persistencetype"], vserver["timeout"] = own[0], own[1]
                    continue
                vserver["persistencetype"], vserver["timeout"] = (
                    group["persistencetype"],
                    int(group["timeout"]),
                )

    def _leave_group(self, vserver_name: str) -> None:
        vserver = self.running["lbvserver"].get(vserver_name)
        if vserver is not None:
            vserver.pop("_group", None)
            own = vserver.pop("_own_persistence", None)
            if own:
                vserver["persistencetype"], vserver["timeout"] = own[0], own[1]
