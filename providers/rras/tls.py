"""SSTP TLS hardening on a node: Schannel's server protocols and the TLS cipher-suite order, as registry
values (docs/rras.md#sstp-tls-hardening).

What Richard Hicks' Optimize-VpnServerTlsConfiguration.ps1 (v1.6.2) writes, one resource per value:
- ``SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\<protocol>\\Server``
  ``Enabled`` DWORD 0 for SSL 3.0, TLS 1.0 and TLS 1.1 (the server side of those protocols off);
- ``SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002`` ``Functions`` REG_SZ, the
  comma-separated cipher-suite order (the "SSL Cipher Suite Order" policy), whose list depends on the node's
  Windows build: ``performance`` is the script's default list, ``security`` its ``-Security`` list (AES-256
  suites first).
None of those keys exists on a fresh Windows, so a write that finds the key missing creates it first
(``New-Item -Force``, as the script does) and a read of a missing key means the value is absent.

The cipher list is chosen here, in ``check`` (so ``preview`` shows the exact list each node gets), from the
build the node reports (``CurrentBuildNumber`` under ``SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion``),
read once per node and provider process, that is once per run: the component passes only the level, which
does not depend on the node. A build the script does not know is refused at preview, naming the node.

The values take effect at the next reboot, so their revisions go to the node's restart under "Computer".
Removing them (``sstp.tlsHardening`` back to ``off``, the node or the cluster removed) does what
``rras.onRemove`` says (providers/rras/removal.py): ``keep``, the default, leaves them on the node as they are
(``off`` means "leave the node's TLS as it is"; these settings are machine-wide, every TLS server of the node
uses them, the WinRM HTTPS listener included), and the run says so; ``revert`` removes them, and they take
effect at the node's next reboot (the removal of a node reboots it; a node that stays is not rebooted).
"""

from __future__ import annotations

import threading
from typing import Any

from pulumi.dynamic import CheckResult
from pulumi.output import Unknown

from providers.common.diagnostics import warn_once
from providers.common.errors import ConfigurationError
from providers.rras.objects import RegistryValueProvider, prop
from providers.rras.session import NodeSession, RrasCommandError

CIPHER_SUITE_KEY = r"HKLM:\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002"
PROTOCOLS_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"
CURRENT_VERSION_KEY = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
#: The protocols whose server side the hardening disables.
DISABLED_PROTOCOLS = ("SSL 3.0", "TLS 1.0", "TLS 1.1")
LEVELS = ("performance", "security")

#: The cipher-suite lists of Optimize-VpnServerTlsConfiguration.ps1 v1.6.2, per Windows family and level.
CIPHER_SUITES: dict[str, dict[str, tuple[str, ...]]] = {
    "2012": {
        "performance": (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256_P256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256_P256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA_P256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256_P256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA_P256",
        ),
        "security": (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384_P384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256_P256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384_P384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256_P256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA_P256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA_P256",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256_P256",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA_P256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA_P256",
        ),
    },
    "2016": {
        "performance": ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "security": (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
    },
    "2019": {
        "performance": (
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        "security": (
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
    },
}
#: The builds the script recognises, and the list each gets: 2012/2012 R2 (any 6.x), 2016 and SAC 1803,
#: 2019 and SAC 1903/1909, 2022, 2025 (the script uses the 2019 lists for all of the latter).
FAMILY_OF_BUILD: dict[int, str] = {
    9200: "2012",
    9600: "2012",
    14393: "2016",
    17134: "2016",
    17763: "2019",
    18362: "2019",
    18363: "2019",
    20348: "2019",
    26100: "2019",
}


def cipher_suite_order(build: int, level: str, node: str = "the node") -> str:
    """The ``Functions`` value for ``level`` on Windows ``build``; ConfigurationError for a build the field's
    script has no list for."""
    if level not in LEVELS:
        raise ConfigurationError(
            f"{node}: unknown TLS hardening level {level!r} (one of {', '.join(LEVELS)})"
        )
    family = FAMILY_OF_BUILD.get(int(build))
    if family is None:
        known = ", ".join(str(b) for b in sorted(FAMILY_OF_BUILD))
        raise ConfigurationError(
            f"{node}: Windows build {build} has no known SSTP cipher-suite list (known builds: {known}; "
            "docs/rras.md#sstp-tls-hardening); set sstp.tlsHardening: off for its cluster, or configure the "
            "node's TLS by hand"
        )
    return ",".join(CIPHER_SUITES[family][level])


_BUILDS: dict[str, int] = {}
_BUILD_LOCKS: dict[str, threading.Lock] = {}
_LOCK = threading.Lock()


def windows_build(session: NodeSession) -> int:
    """The node's Windows build (CurrentBuildNumber), read once per node endpoint and provider process."""
    key = session.conn.endpoint
    with _LOCK:
        lock = _BUILD_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key not in _BUILDS:
            out = session.invoke(
                "Get-ItemProperty", {"Path": CURRENT_VERSION_KEY, "Name": "CurrentBuildNumber"}
            )
            value = prop(out[0], "CurrentBuildNumber") if out else None
            try:
                _BUILDS[key] = int(str(value).strip())
            except ValueError:
                raise ConfigurationError(
                    f"node {session.conn.name}: cannot read its Windows build (CurrentBuildNumber under "
                    f"{CURRENT_VERSION_KEY} is {value!r})"
                ) from None
        return _BUILDS[key]


def path_not_found(exc: RrasCommandError) -> bool:
    """Whether the command failed only because the registry key does not exist."""
    return bool(exc.records) and all("PathNotFound," in record for record in exc.records)


class TlsRegistryValueProvider(RegistryValueProvider):
    """A Schannel or cipher-suite-order registry value (see the module docstring).

    Inputs as RegistryValueProvider's, and for the cipher-suite order ``cipher_suites`` (the level) instead
    of a ``value``: ``check`` sets the value from the level and the node's build."""

    object_type = "TLS registry value"
    carried_keys = ("kind", "keep_on_delete", "cipher_suites")  # type: ignore[assignment]

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        level = news.get("cipher_suites")
        known = not any(isinstance(news.get(k), Unknown) for k in ("device", "node", "cipher_suites"))
        if level and known:
            build = windows_build(self.client_for(news))
            news = {**news, "value": cipher_suite_order(build, str(level), f"node {news['node']}")}
        return super().check(olds, news)

    def fetch(self, client: NodeSession, props: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return super().fetch(client, props)
        except RrasCommandError as exc:
            if not path_not_found(exc):
                raise
        return {
            "node": props["node"],
            "path": props["path"],
            "name": props["name"],
            "owner": self.owner_of(props),
            "ensure": "absent",
            "value": None,
        }

    def _write(self, client: NodeSession, props: dict[str, Any]) -> None:
        try:
            super()._write(client, props)
        except RrasCommandError as exc:
            if props.get("ensure", "present") != "present" or not path_not_found(exc):
                raise
            # nothing was written: the key is missing; make it (and its parents), as the script does
            client.invoke("New-Item", {"Path": props["path"]}, switches=("Force",))
            super()._write(client, props)

    def delete_object(self, client: NodeSession, props: dict[str, Any]) -> None:
        """``rras.onRemove: revert``: the value is removed (Windows' default), in effect after a reboot."""
        super().delete_object(client, props)
        warn_once(
            f"tls reverted {props['node']}",
            f"node {props['node']}: its SSTP TLS hardening values are removed (rras.onRemove: revert); "
            "Windows' default protocols and cipher-suite order take effect when the node next reboots: "
            "right after this when the node or its cluster leaves the stack (its removal reboots it, "
            "drained), at its next reboot when only sstp.tlsHardening went back to off "
            "(docs/rras.md#sstp-tls-hardening)",
        )
