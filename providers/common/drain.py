"""Draining a node on its load balancer, whatever the vendor: used by rolling RRAS restarts.

A drain spec is a plain dict made by the load-balancer component (``kind`` names the vendor, the rest
is that vendor's business). Each vendor package that supports draining has a ``drain`` module with
``set_node_enabled(spec, enabled, secrets)``; this module only dispatches, so a new vendor touches its
own package and nothing here.
"""

from __future__ import annotations

import importlib
from typing import Any

from providers.common.device import SecretConfig
from providers.common.errors import ConfigurationError


def set_node_enabled(spec: dict[str, Any], enabled: bool, secrets: SecretConfig) -> None:
    kind = str(spec.get("kind", ""))
    try:
        module = importlib.import_module(f"providers.{kind}.drain")
    except ModuleNotFoundError:
        raise ConfigurationError(f"no drain support for load balancer kind {kind!r}") from None
    module.set_node_enabled(spec, enabled, secrets)
