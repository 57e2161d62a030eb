"""The stack declaration of a cluster as the audit found it, with the fixes applied, ready for ``preview``.

``declaration`` is one ``aovpn:clusters`` entry, spelled as stacks/*.yaml spell it (camelCase): the
virtual address, the protocols and nodes found, the load balancer's connection copied (``passwordSecret``
by name, never a value) and ``loadBalancer.adopt``, the vendor's existing objects by role, so the first
``up`` takes them over instead of creating new ones. The fixes: the client address preserved; the
``baseline`` IPsec preset (``enhanced`` when every node runs build 17134 or later and used AES-GCM) where
the found policy is the default or weaker, else the found policy itself; IKEv2 fragmentation on where every
node's build has it; the persistence timeout and load-balancing method found kept.

``stack_file`` is the whole file ``--write-declaration`` writes: a comment header saying what was found and
what the declaration changes, then ``config: aovpn:clusters: [...]``. Every entry is validated with the
project's own models first (components.declaration, and what the vendor can express:
components.registry.unsupported); a declaration the project would refuse is never written
(``NotWritten`` says what failed).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from components.declaration import (
    FRAGMENTATION_MIN_BUILD,
    IPSEC_PRESETS,
    NODE_NAME_RE,
    WEAK_VALUES,
    validate_clusters,
)
from components.registry import unsupported
from ops.audit.model import FoundNode, FoundService

#: The loadBalancer fields copied from the audited block (the connection, and the vendor's own fields).
SKIP_LB = frozenset({"adopt"})
#: The secret config keys a TLS offload declaration names (set them before ``preview``).
SSTP_CERTIFICATE_SECRET, SSTP_KEY_SECRET = "sstpCertificate", "sstpPrivateKey"
_CAMEL = {
    "encryption_method": "encryptionMethod",
    "integrity_check_method": "integrityCheckMethod",
    "cipher_transform_constants": "cipherTransformConstants",
    "authentication_transform_constants": "authenticationTransformConstants",
    "dh_group": "dhGroup",
    "pfs_group": "pfsGroup",
    "sa_life_time_seconds": "saLifeTimeSeconds",
    "mm_sa_life_time_seconds": "mmSaLifeTimeSeconds",
    "sa_data_size_for_renegotiation_kilobytes": "saDataSizeForRenegotiationKilobytes",
}


class NotWritten(Exception):
    """The declaration was not written: the project would refuse it (every problem named)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the declaration was not written, the project would refuse it:\n  - " + "\n  - ".join(problems)
        )


def cluster_name(service: FoundService) -> str:
    """A cluster name for a service found without one (``vpn-192-0-2-10``), as the declaration allows it."""
    text = re.sub(r"[^a-z0-9]+", "-", f"vpn-{service.virtual_address}".lower())
    return text[:32].rstrip("-")


def _weak(policy: Mapping[str, Any] | None) -> bool:
    if not policy:
        return True
    for field, weak in WEAK_VALUES.items():
        value = policy.get(field)
        if value is None or value in weak or str(value).startswith("unknown") or value == "None":
            return True
    return False


def _preset_of(policy: Mapping[str, Any]) -> str | None:
    for name, values in IPSEC_PRESETS.items():
        if all(policy.get(_CAMEL[k]) == v for k, v in values.items()):
            return name
    return None


def ipsec(nodes: Sequence[FoundNode]) -> tuple[dict[str, Any], str]:
    """The ``ipsec`` block and what was done, in words."""
    read = [n for n in nodes if n.windows_build is not None or n.ipsec is not None or n.computer_name]
    policies = [n.ipsec for n in read]
    gcm_ok = bool(read) and all((n.windows_build or 0) >= FRAGMENTATION_MIN_BUILD for n in read)
    used_gcm = any(str((p or {}).get("encryptionMethod", "")).startswith("GCM") for p in policies)
    first = policies[0] if policies else None
    same = all(p == first for p in policies)
    if first is not None and same and not _weak(first):
        preset = _preset_of(first)
        if preset is not None:
            return {"preset": preset}, f"ipsec: the nodes' policy, the {preset} preset, kept"
        return {"preset": "baseline", **dict(first)}, "ipsec: the nodes' custom policy kept"
    preset = "enhanced" if gcm_ok and used_gcm else "baseline"
    if not read:
        why = "no node was read"
    elif not same:
        why = "the nodes' policies differ"
    elif first is None:
        why = "the nodes run the default policy (3DES / SHA-1 / DH group 2)"
    else:
        why = "the nodes' policy is weaker than the baseline"
    return {"preset": preset}, f"ipsec: {why}; declared the {preset} preset (a RemoteAccess restart per node)"


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _vendor_node_names(service: FoundService) -> dict[str, str]:
    """Per node address, the name the vendor's ``node:<name>`` roles give it (they come in the order of
    ``node_addresses``); {} when the roles name nodes by address, or not one per node."""
    named = [k.removeprefix("node:") for k in service.objects if k.startswith("node:")]
    named = [n for n in named if not _is_address(n)]
    if len(named) != len(service.node_addresses):
        return {}
    return dict(zip(service.node_addresses, named, strict=True))


def _node_names(
    addresses: Sequence[str], by_address: Mapping[str, FoundNode], vendor_names: Mapping[str, str]
) -> list[str]:
    """Per address: the declared name, else the computer name, else the vendor's, else rras<i>."""
    names: list[str] = []
    for i, address in enumerate(addresses, start=1):
        node = by_address.get(address)
        candidates = [node.name, node.computer_name] if node else []
        candidates.append(vendor_names.get(address))
        taken = {n.lower() for n in names}
        chosen = next(
            (str(c) for c in candidates if c and NODE_NAME_RE.match(str(c)) and str(c).lower() not in taken),
            None,
        )
        names.append(chosen or f"rras{i}")
    return names


def adopt(service: FoundService, names: Mapping[str, str]) -> dict[str, str]:
    """``loadBalancer.adopt``: the vendor's objects by role, a ``node:<name>`` role renamed to the node's
    name in the declaration (``names``: per address)."""
    vendor_names = {v: k for k, v in _vendor_node_names(service).items()}
    out: dict[str, str] = {}
    for role, obj in service.objects.items():
        address = vendor_names.get(role.removeprefix("node:")) if role.startswith("node:") else None
        out[f"node:{names[address]}" if address is not None and address in names else role] = obj
    return out


def declaration(
    service: FoundService, nodes: Sequence[FoundNode], lb: Mapping[str, Any], name: str
) -> dict[str, Any]:
    """The ``aovpn:clusters`` entry for ``service`` (see the module docstring)."""
    entry, _ = declaration_with_notes(service, nodes, lb, name)
    return entry


def declaration_with_notes(
    service: FoundService, nodes: Sequence[FoundNode], lb: Mapping[str, Any], name: str
) -> tuple[dict[str, Any], list[str]]:
    """The entry, and one line per thing found or changed (the stack file's header)."""
    notes: list[str] = []
    by_address = {n.address: n for n in nodes}
    addresses = sorted(
        {*service.node_addresses, *(n.address for n in nodes)}, key=lambda a: ipaddress.ip_address(a)
    )
    names = _node_names(addresses, by_address, _vendor_node_names(service))
    managed = [by_address[a].management if a in by_address else None for a in addresses]
    with_management = bool(managed) and all(m is not None for m in managed)
    if any(managed) and not with_management:
        missing = ", ".join(a for a, m in zip(addresses, managed, strict=True) if m is None)
        notes.append(
            f"nodes: management left out for every node: it is not known for {missing} (declare it for all "
            "of them to have the project configure the nodes)"
        )
    decl_nodes: list[dict[str, Any]] = []
    for node_name, address, management in zip(names, addresses, managed, strict=True):
        item: dict[str, Any] = {"name": node_name, "address": address}
        if with_management and management is not None:
            item["management"] = dict(management)
        decl_nodes.append(item)
    protocols = [p for p in ("ikev2", "sstp") if p in service.protocols]
    block = {k: v for k, v in lb.items() if k not in SKIP_LB and v is not None}
    block["adopt"] = adopt(service, dict(zip(addresses, names, strict=True)))
    entry: dict[str, Any] = {
        "name": name,
        "protocols": protocols,
        "virtualAddress": service.virtual_address,
        "nodes": decl_nodes,
        "loadBalancer": block,
        "clientAddress": "preserved",
    }
    notes.append(
        f"found {service.vendor} service {service.virtual_address} ({', '.join(protocols)}) with nodes "
        f"{', '.join(addresses) or 'none'}; adopts {len(service.objects)} existing object(s): "
        + (", ".join(f"{k}={v}" for k, v in sorted(service.objects.items())) or "none")
    )
    if service.client_address == "translated":
        notes.append(
            "clientAddress: found translated, declared preserved (the nodes must route back through the load "
            "balancer; where they cannot, declare clientAddress: translated and the SA-limit workaround "
            "ikeNumEstablishedForInitialQuery: 50000)"
        )
    if service.persistence_timeout is not None:
        entry["persistenceTimeout"] = service.persistence_timeout
    if service.load_balancing_method is not None:
        entry["loadBalancingMethod"] = service.load_balancing_method
    read = [n for n in nodes if n.windows_build is not None or n.computer_name or n.ipsec is not None]
    if "ikev2" in protocols:
        entry["ipsec"], why = ipsec(nodes)
        notes.append(why)
        old = [n for n in read if n.windows_build is not None and n.windows_build < FRAGMENTATION_MIN_BUILD]
        entry["ikev2Fragmentation"] = not old
        if old:
            notes.append(
                "ikev2Fragmentation: false, "
                + ", ".join(f"{n.address} runs build {n.windows_build}" for n in old)
                + f" (fragmentation needs {FRAGMENTATION_MIN_BUILD})"
            )
        elif any(n.ikev2_fragmentation is not True for n in read):
            notes.append("ikev2Fragmentation: true (found off on some node)")
    if "sstp" in protocols and service.offload_certificate_sha256:
        offload: dict[str, Any] = {
            "certificateSecret": SSTP_CERTIFICATE_SECRET,
            "privateKeySecret": SSTP_KEY_SECRET,
        }
        if service.offload_reencrypt:
            offload["reencrypt"] = True
        entry["sstp"] = {"tlsOffload": offload}
        notes.append(
            f"sstp.tlsOffload: the load balancer offloads TLS; set the secrets {SSTP_CERTIFICATE_SECRET} and "
            f"{SSTP_KEY_SECRET} to its certificate and key (PEM) before preview"
        )
    return entry, notes


def check(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the project would refuse in ``entries`` (the declaration's models, then the vendors)."""
    clusters, problems = validate_clusters([dict(e) for e in entries])
    if not problems:
        problems = unsupported(clusters)
    return problems


HEADER = (
    "# Written by `./run audit --write-declaration` (ops/audit/declaration.py): the cluster(s) as the audit\n"
    "# found them, with the fixes applied. loadBalancer.adopt names the existing objects the first `up`\n"
    "# takes over. Passwords are not here: set each passwordSecret with `pulumi config set --secret`.\n"
)


def stack_file(stack: str, entries: Sequence[Mapping[str, Any]], notes: Sequence[str]) -> str:
    """The stack file's text; NotWritten when the project would refuse a declaration."""
    problems = check(entries)
    if problems:
        raise NotWritten(problems)
    lines = [HEADER.rstrip("\n"), f"# Audit of stack {stack}:"]
    lines += [f"#   - {n}" for n in notes]
    body = yaml.safe_dump({"config": {"aovpn:clusters": [dict(e) for e in entries]}}, sort_keys=False)
    return "\n".join(lines) + "\n" + body
