"""Draining an RRAS node on a BIG-IP for a rolling restart: disable its pool members, later enable them.

Disabled (``session: user-disabled``, ``state: user-up``) keeps existing connections on the node while new
ones go elsewhere; enabled is ``session: user-enabled``, ``state: user-up``
(docs/f5.md#pool-members-and-admin-states). Used by the RRAS adapter through ``providers.common.drain``; these
are operations, not resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.common.device import Device, SecretConfig
from providers.f5.client import client_for, object_path, tilde_name

DISABLED = {"session": "user-disabled", "state": "user-up"}
ENABLED = {"session": "user-enabled", "state": "user-up"}


@dataclass(frozen=True)
class F5Member:
    partition: str
    pool: str
    member: str  # "<node name>:<port>"

    @property
    def path(self) -> str:
        pool = object_path("ltm/pool", self.partition, self.pool)
        return f"{pool}/members/{tilde_name(self.partition, self.member)}"

    @property
    def label(self) -> str:
        return f"member {self.member} of ltm pool /{self.partition}/{self.pool}"


class F5Drainer:
    def __init__(self, device: Device, secrets: SecretConfig) -> None:
        self.client = client_for(device, secrets)

    def set_members(self, members: list[F5Member], *, enabled: bool) -> None:
        body = ENABLED if enabled else DISABLED
        for m in members:
            self.client.call("PATCH", m.path, body, what=m.label)

    def member_sessions(self, members: list[F5Member]) -> dict[str, str]:
        """The admin session state of each member (user-enabled, user-disabled, monitor-enabled...)."""
        out: dict[str, str] = {}
        for m in members:
            obj = self.client.get(m.path, what=m.label) or {}
            out[f"{m.pool}/{m.member}"] = str(obj.get("session", "missing"))
        return out


def set_node_enabled(spec: dict[str, Any], enabled: bool, secrets: SecretConfig) -> None:
    """Drain spec (components/f5.py ``drain_targets``): device and the node's pool members."""
    members = [F5Member(m["partition"], m["pool"], m["member"]) for m in spec["members"]]
    F5Drainer(Device.from_props(spec), secrets).set_members(members, enabled=enabled)
