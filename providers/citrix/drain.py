"""Draining an RRAS node on a Citrix ADC for a rolling restart: its server disabled, later enabled again.

``POST /config/server?action=disable`` with ``graceful: YES`` takes the server out of every service group it
is a member of while letting established connections finish (docs/citrix.md#servers-and-drain);
``action=enable`` puts it back. The drain spec comes from components/citrix.py ``drain_targets``."""

from __future__ import annotations

from typing import Any

from providers.citrix.client import client_for
from providers.common.device import Device, SecretConfig


def set_node_enabled(spec: dict[str, Any], enabled: bool, secrets: SecretConfig) -> None:
    client = client_for(Device.from_props(spec), secrets)
    body: dict[str, Any] = {"name": spec["server"]}
    if not enabled:
        body["graceful"] = "YES"
    client.call(
        "POST",
        "server",
        body={"server": body},
        query=f"action={'enable' if enabled else 'disable'}",
        what=f"server {spec['server']}",
        operation="enable" if enabled else "disable",
    )
