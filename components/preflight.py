"""What the program checks before it registers any resource, beyond the declaration itself: the secret
config keys the declaration names, and the CA bundles it points at.

``check_clusters`` runs in ``pulumi preview`` as in ``up`` (the program runs in both), so a missing secret,
a password set in clear text or an unreadable CA file fails the preview, naming the cluster and the
field, instead of failing half-way through ``up`` with nothing but a provider's error. No message carries
a config value; a key name that looks like a secret value itself is not shown either.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi

from components.declaration import Cluster, DeclarationError, validate_clusters
from components.registry import unsupported

#: The config namespace of the project's keys (Pulumi.yaml ``name``).
NAMESPACE = "aovpn"

PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.*?)-----END CERTIFICATE-----", re.S)


def secret_references(cluster: Cluster) -> Iterator[tuple[str, str]]:
    """(field, key name) of every secret config key the cluster names."""
    yield "loadBalancer.passwordSecret", cluster.load_balancer.password_secret
    for i, node in enumerate(cluster.nodes):
        if node.management is not None:
            yield f"nodes[{i}].management.passwordSecret", node.management.password_secret
    offload = cluster.sstp.tls_offload
    if offload is not None:
        yield "sstp.tlsOffload.certificateSecret", offload.certificate_secret
        yield "sstp.tlsOffload.privateKeySecret", offload.private_key_secret


def ca_references(cluster: Cluster) -> Iterator[tuple[str, str]]:
    """(field, path) of every CA bundle the cluster names."""
    if cluster.load_balancer.ca_bundle is not None:
        yield "loadBalancer.caBundle", cluster.load_balancer.ca_bundle
    for i, node in enumerate(cluster.nodes):
        if node.management is not None and node.management.ca_bundle is not None:
            yield f"nodes[{i}].management.caBundle", node.management.ca_bundle


def looks_like_a_secret(name: str) -> bool:
    """Whether a key name might be a secret value put where its name belongs: longer than a name, or with
    letters and digits interleaved inside one word the way passwords and random strings are ("Passw0rd",
    "xK9mP2qR"), unlike names such as ``f5Password`` or ``rras1Password``."""
    if len(name) > 40 or sum(c.isdigit() for c in name) > 4:
        return True
    words = re.split(r"[_.-]|(?<=[a-z0-9])(?=[A-Z])", name)
    return any(re.search(r"[A-Za-z][0-9]+[A-Za-z]", w) or len(w) > 20 for w in words)


def secret_problems(
    clusters: list[Cluster],
    get: Callable[[str], Any] = pulumi.runtime.get_config,
    is_secret: Callable[[str], bool] = pulumi.runtime.is_config_secret,
) -> list[str]:
    """Every named secret key must be set in the stack config, as a secret."""
    problems: list[str] = []
    for cluster in clusters:
        for field, key in secret_references(cluster):
            full = f"{NAMESPACE}:{key}"
            shown = "the key it names" if looks_like_a_secret(key) else f"the key {full}"
            fix = f"`pulumi config set --secret {full}` (the value on standard input)"
            if looks_like_a_secret(key):
                fix = (
                    f"{fix.replace(full, f'{NAMESPACE}:<key>')}; passwordSecret takes the NAME of a "
                    "secret config key, and this one looks like a secret value, so it is not shown"
                )
            label = f"cluster {cluster.name!r}: {field}:"
            if get(full) in (None, ""):
                problems.append(f"{label} {shown} is not set in the stack config; set it with {fix}")
            elif not is_secret(full):
                problems.append(
                    f"{label} {shown} is set in clear text; secrets must be set with {fix}, which stores "
                    "it encrypted (the value is not used, and not shown)"
                )
    return problems


def ca_problems(clusters: list[Cluster], base: Path | None = None) -> list[str]:
    """Every CA bundle must be a readable file of PEM certificates. Relative paths resolve against the
    project directory, as the providers resolve them (their working directory, providers/common/device.py)."""
    root = base or Path(os.getcwd())
    problems: list[str] = []
    for cluster in clusters:
        for field, path in ca_references(cluster):
            resolved = Path(path) if os.path.isabs(path) else root / path
            problem = _ca_problem(resolved)
            if problem is not None:
                where = (
                    path
                    if os.path.isabs(path)
                    else f"{path} (resolved against the project directory: {resolved})"
                )
                problems.append(f"cluster {cluster.name!r}: {field}: {where} {problem}")
    return problems


def _ca_problem(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "does not exist"
    except IsADirectoryError:
        return "is a directory, not a PEM file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    blocks = list(PEM_CERT.finditer(data))
    if not blocks:
        return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for n, block in enumerate(blocks, start=1):
        try:
            der = ssl.PEM_cert_to_DER_cert(block.group(0).decode("ascii"))
            context.load_verify_locations(cadata=der)
        except (ValueError, UnicodeDecodeError, ssl.SSLError):
            return f"has a certificate (#{n}) that does not parse as an X.509 certificate"
    return None


def check_clusters(raw: Any, base: Path | None = None) -> list[Cluster]:
    """The declared clusters, or DeclarationError with every problem of every cluster: the declaration,
    what the vendors cannot provision, the secret keys and the CA bundles."""
    clusters, problems = validate_clusters(raw)
    problems += unsupported(clusters)
    problems += secret_problems(clusters)
    problems += ca_problems(clusters, base)
    if problems:
        raise DeclarationError(problems)
    return clusters


def stack_clusters(config: pulumi.Config) -> Any:
    """``aovpn:clusters`` as the stack config holds it; a value that is not JSON is a problem, not a crash."""
    try:
        return config.get_object("clusters") or []
    except ValueError:
        raise DeclarationError(["aovpn:clusters: must be a list of cluster declarations"]) from None
