"""Deterministic names of appliance objects and Pulumi resources, derived from the cluster name."""

from __future__ import annotations


def owner_marker(project: str, stack: str) -> str:
    """The ownership marker every appliance object carries (its description / comment)."""
    return f"aovpn-iac:{project}/{stack}"


def device_object(cluster: str, *parts: str | int) -> str:
    """An appliance object name: ``vpn-east_ikev2_500`` (letters, digits, '-', '_' only)."""
    return "_".join([cluster, *(str(p) for p in parts)])


def resource_name(cluster: str, *parts: str | int) -> str:
    """A Pulumi resource name, unique in the stack: ``vpn-east-pool-ikev2-500``."""
    return "-".join([cluster, *(str(p) for p in parts)])
