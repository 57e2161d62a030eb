"""The BIG-IP twin's system commands: ``save sys config`` and config-sync to a device group.

``POST sys/config {"command": "save"}`` stores the running configuration as the one a reboot comes back
with; ``POST cm {"command": "run", "utilCmdArgs": "config-sync to-group <g>"}`` marks the group in
sync; ``cm/sync-status`` and ``cm/device-group`` report it.
"""

from __future__ import annotations

from typing import Any

from emulators.common import TwinBackend
from emulators.f5.exceptions import BadValue, F5Error, RestError
from emulators.f5.query import VERSION, _self_link

Obj = dict[str, Any]


class SysConfig(TwinBackend):
    """Save and config-sync (a mixin of ``F5Backend``)."""

    sync_count: int
    #: device group -> configuration generation last pushed to the peers (sync state, not configuration)
    synced: dict[str, int]

    def _sys_config(self, method: str, body: Any) -> tuple[int, Any]:
        if method != "POST":
            raise RestError(405, "Method not allowed")
        command = (body or {}).get("command")
        if command != "save":
            raise BadValue(f"'{command}' is not a supported command for sys config")
        self.save_config()
        return 200, {"kind": "tm:sys:config:savestate", "command": "save"}

    def _cm(self, method: str, body: Any) -> tuple[int, Any]:
        if method != "POST" or (body or {}).get("command") != "run":
            raise RestError(405, "Only 'run' is supported on /mgmt/tm/cm")
        args = str(body.get("utilCmdArgs", ""))
        words = args.split()
        if len(words) != 3 or words[:2] != ["config-sync", "to-group"]:
            raise BadValue(f"01070734:3: Configuration error: unsupported cm command '{args}'")
        group = words[2]
        groups = self.running.setdefault("device_groups", {})
        if group not in groups:
            raise F5Error(
                400, f"01070734:3: Configuration error: Device group ({group}) not found in device group sync"
            )
        self.synced[group] = int(self.running["generation"])
        self.sync_count += 1
        return 200, {"kind": "tm:cm:runstate", "command": "run", "utilCmdArgs": args}

    def sync_status(self) -> Obj:
        groups = self.running.get("device_groups", {})
        generation = int(self.running["generation"])
        pending = [g for g in groups if self.synced.get(g, 1) != generation]
        status = "Changes Pending" if pending else "In Sync"
        return {
            "kind": "tm:cm:sync-status:sync-statusstats",
            "selfLink": f"https://localhost/mgmt/tm/cm/sync-status?ver={VERSION}",
            "entries": {
                "https://localhost/mgmt/tm/cm/sync-status/0": {
                    "nestedStats": {
                        "entries": {
                            "color": {"description": "blue" if pending else "green"},
                            "status": {"description": status},
                            "summary": {
                                "description": ", ".join(f"{g} has changes pending" for g in pending)
                            },
                        }
                    }
                }
            },
        }

    def device_groups(self, query: dict[str, str] | None = None) -> Obj:
        items = [
            {
                "kind": "tm:cm:device-group:device-groupstate",
                "name": name,
                "partition": "Common",
                "fullPath": f"/Common/{name}",
                "type": "sync-failover",
                "selfLink": f"https://localhost/mgmt/tm/cm/device-group/~Common~{name}?ver={VERSION}",
            }
            for name in sorted(self.running.get("device_groups", {}))
        ]
        return {
            "kind": "tm:cm:device-group:device-groupcollectionstate",
            # query options echoed like on every collection (docs/f5.md#query-options); the devices
            # subcollection of a
            # device group (devicesReference) is not modelled, so expandSubcollections has nothing to add [?]
            "selfLink": _self_link("https://localhost/mgmt/tm/cm/device-group", query),
            "items": items,
        }
