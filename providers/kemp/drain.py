"""Draining an RRAS node on a LoadMaster for a rolling restart: its real servers off, later on again.

``modrs Enable=N`` per virtual service stops new connections to that real server (docs/kemp.md#real-servers).
The drain spec comes from components/kemp.py ``drain_targets``."""

from __future__ import annotations

from typing import Any

from providers.common.device import Device, SecretConfig
from providers.kemp.client import client_for
from providers.kemp.objects import vs_label, vs_params


def set_node_enabled(spec: dict[str, Any], enabled: bool, secrets: SecretConfig) -> None:
    client = client_for(Device.from_props(spec), secrets)
    for rs in spec["real_servers"]:
        params = {**vs_params(rs["vs"]), "rs": rs["address"], "rsport": rs["port"], "Enable": enabled}
        client.command(
            "modrs", params, what=f"real server {rs['address']}:{rs['port']} of {vs_label(rs['vs'])}"
        )
