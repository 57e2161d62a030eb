"""The state of a Windows Server RRAS node, and the rules its cmdlets follow.

Persistent configuration (``running``; every write is persisted at once, Windows has no "save"):
  ``vpn``       the stored IPsec configuration per tunnel type (what Set-VpnServerConfiguration writes)
                plus the server-wide port counts;
  ``registry``  registry keys (canonical ``HKEY_LOCAL_MACHINE\\...`` path) -> value name ->
                ``{"kind": "DWord"|"QWord"|"String"|"ExpandString"|"MultiString"|"Binary", "value": ...}``
                (Binary values are stored as hex strings);
  ``services``  the services the product touches, with their dependencies and start type;
  ``certificates``, ``vpn_auth``  the LocalMachine certificate stores and what Set-VpnAuthProtocol writes
                (RemoteAccess reads the latter when it starts): emulators/winrm/hardening.py.

Runtime-only state (dropped or recomputed by a reboot): every service's status, start count and the
*effective* configuration it read when it last started (docs/rras.md#when-changes-take-effect: the IPsec
policy
and the RemoteAccess/SstpSvc registry values take effect when RemoteAccess restarts, the IKEEXT values
when IKEEXT restarts), simulated connected VPN clients (dropped by a RemoteAccess/IKEEXT/RasMan
restart), the restart history, and the PSRP shells (dropped by a reboot, never by a service restart:
WinRM does not depend on RemoteAccess).
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulators.common import TwinBackend
from emulators.winrm.hardening import HardeningMixin
from emulators.winrm.sessions import SessionsMixin
from emulators.winrm.tls import TlsMixin

DEFAULT_USERS = {"Administrator": "admin-pass", "automation": "automation-pass"}

HKLM = "HKEY_LOCAL_MACHINE"
SERVICES_KEY = HKLM + "\\SYSTEM\\CurrentControlSet\\Services"
IKEV2_KEY = SERVICES_KEY + "\\RemoteAccess\\Parameters\\Ikev2"
RA_PARAMETERS_KEY = SERVICES_KEY + "\\RemoteAccess\\Parameters"
IKEEXT_KEY = SERVICES_KEY + "\\IKEEXT\\Parameters"
SSTP_KEY = SERVICES_KEY + "\\SstpSvc\\Parameters"

# Which registry keys each service reads when it starts (docs/rras.md#when-changes-take-effect,
# docs/rras.md#registry-values).
SERVICE_REGISTRY_INPUTS = {
    "RemoteAccess": (RA_PARAMETERS_KEY, IKEV2_KEY, SSTP_KEY),
    "IKEEXT": (IKEEXT_KEY,),
}

# Server-side enum values of Set-VpnServerConfiguration (docs/rras.md#accepted-values), in the documented
# order.
CRYPTO_ENUMS: dict[str, tuple[str, ...]] = {
    "EncryptionMethod": ("DES", "DES3", "AES128", "AES192", "AES256", "GCMAES128", "GCMAES256"),
    "IntegrityCheckMethod": ("MD5", "SHA1", "SHA256", "SHA384"),
    "DHGroup": ("None", "Group1", "Group2", "Group14", "ECP256", "ECP384", "Group24"),
    "CipherTransformConstants": (
        "DES",
        "DES3",
        "AES128",
        "AES192",
        "AES256",
        "GCMAES128",
        "GCMAES192",
        "GCMAES256",
        "None",
    ),
    "AuthenticationTransformConstants": (
        "MD596",
        "SHA196",
        "SHA256128",
        "GCMAES128",
        "GCMAES192",
        "GCMAES256",
        "None",
    ),
    "PfsGroup": ("None", "PFS1", "PFS2", "PFS2048", "ECP256", "ECP384", "PFSMM", "PFS24"),
}
TUNNEL_TYPES = ("IKEv2", "L2TP")
ENCRYPTION_TYPES = ("NoEncryption", "RequireEncryption", "OptionalEncryption", "MaximumEncryption")
# GCM for IKE main mode needs Windows Server 1803 or later (docs/rras.md#ranges-and-invalid-combinations)
GCM_IKE_MIN_BUILD = 17134

# "Set" parameter -> Get-VpnServerConfiguration read-back property (docs/rras.md#reading-the-policy-back).
LIFETIME_READBACK = {
    "SALifeTimeSeconds": "SALifeTime",
    "MMSALifeTimeSeconds": "MMSALifeTime",
    "SADataSizeForRenegotiationKilobytes": "SADataSizeForRenegotiation",
    "IdleDisconnectSeconds": "IdleDisconnect",
}
PORT_PARAMETERS = ("Ikev2Ports", "SstpPorts", "L2tpPorts", "GrePorts")

# What RRAS negotiates without a custom policy, by Richard Hicks' account (3DES/SHA-1/DH group 2);
# what Get reports for the crypto properties then is [unverified].
DEFAULT_CRYPTO = {
    "EncryptionMethod": "DES3",
    "IntegrityCheckMethod": "SHA1",
    "DHGroup": "Group2",
    "CipherTransformConstants": "DES3",
    "AuthenticationTransformConstants": "SHA196",
    "PfsGroup": "None",
}
DEFAULT_LIFETIMES = {
    "SALifeTime": 28800,
    "MMSALifeTime": 86400,
    "SADataSizeForRenegotiation": 102400,
    "IdleDisconnect": 300,
}

# name -> display name, services it depends on, start type.
SERVICE_DEFINITIONS: dict[str, dict[str, Any]] = {
    "RemoteAccess": {
        "display_name": "Routing and Remote Access",
        "depends_on": ["RasMan"],
        "start_type": "Automatic",
    },
    "RasMan": {
        "display_name": "Remote Access Connection Manager",
        "depends_on": ["SstpSvc"],
        "start_type": "Automatic",
    },
    "SstpSvc": {
        "display_name": "Secure Socket Tunneling Protocol Service",
        "depends_on": [],
        "start_type": "Manual",
    },
    "IKEEXT": {
        "display_name": "IKE and AuthIP IPsec Keying Modules",
        "depends_on": [],
        "start_type": "Automatic",
    },
    "WinRM": {
        "display_name": "Windows Remote Management (WS-Management)",
        "depends_on": [],
        "start_type": "Automatic",
    },
}
# Restarting one of these drops connected VPN clients.
SESSION_SERVICES = ("RemoteAccess", "RasMan", "IKEEXT")


class ServiceError(Exception):
    """A service operation failed; ``kind`` is the FullyQualifiedErrorId prefix PowerShell uses."""

    def __init__(self, kind: str, service: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.service, self.message = kind, service, message


class RegistryError(Exception):
    """``kind``: "PathNotFound", "PropertyNotFound", "PropertyExists" or "InvalidValue"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def canonical_key(path: str) -> str | None:
    """``HKLM:\\SYSTEM\\...`` / ``Registry::HKEY_LOCAL_MACHINE\\...`` -> ``HKEY_LOCAL_MACHINE\\SYSTEM\\...``.

    Returns None for anything that is not an HKLM registry path (the twin only models HKLM).
    """
    p = path.strip().replace("/", "\\")
    lower = p.lower()
    for prefix in ("microsoft.powershell.core\\registry::", "registry::"):
        if lower.startswith(prefix):
            p = p[len(prefix) :]
            lower = p.lower()
            break
    if lower.startswith("hklm:"):
        rest = p[5:]
    elif lower.startswith(HKLM.lower()):
        rest = p[len(HKLM) :]
    else:
        return None
    parts = [part for part in rest.split("\\") if part]
    if len(parts) >= 2 and parts[0].lower() == "system" and parts[1].lower() == "controlset001":
        parts[1] = "CurrentControlSet"
    return "\\".join([HKLM, *parts])


def _hash_hex(seed: str, size: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[: size * 2]


class RrasBackend(SessionsMixin, TlsMixin, HardeningMixin, TwinBackend):
    """One RRAS node: IPsec policy, registry, services; see the module docstring. Its VPN clients and boots:
    emulators/winrm/sessions.py."""

    vendor = "winrm"

    def __init__(
        self,
        data_dir: Path | str | None = None,
        users: dict[str, str] | None = None,
        hostname: str = "rras1",
        os_build: int = 20348,
        restart_seconds: float = 0.0,
        gcm_mismatch: str = "record",
        readback_form: str = "uint32",
    ) -> None:
        self.hostname = hostname
        self.os_build = int(os_build)
        self.users = dict(users if users is not None else DEFAULT_USERS)
        self.restart_seconds = float(restart_seconds)
        if gcm_mismatch not in ("record", "reject"):
            raise ValueError("gcm_mismatch must be 'record' or 'reject'")
        self.gcm_mismatch = gcm_mismatch
        # How Get-VpnServerConfiguration/Get-Service send enum values: "uint32" (the MOF's type; services
        # as strings) or "enum" (enum objects whose ToString is the name): emulators/winrm/psobjects.py
        if readback_form not in ("uint32", "enum"):
            raise ValueError("readback_form must be 'uint32' or 'enum'")
        self.readback_form = readback_form
        super().__init__(data_dir)
        self.shells: dict[str, Any] = {}
        self.status: dict[str, str] = {}
        self.start_counts: dict[str, int] = {}
        self.effective: dict[str, dict[str, Any]] = {}
        self.vpn_sessions = 0
        self.sessions_dropped = 0
        self.restarts: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.start_faults: dict[str, int] = {}
        self._boot_services()

    # -- TwinBackend hooks -----------------------------------------------------------------------
    def factory_config(self) -> dict[str, Any]:
        def policy(tunnel: str) -> dict[str, Any]:
            return {
                "TunnelType": tunnel,
                "CustomPolicy": False,
                "EncryptionType": "RequireEncryption",
                **DEFAULT_CRYPTO,
                **DEFAULT_LIFETIMES,
            }

        # the TLS keys and the SSTP certificate: emulators/winrm/tls.py
        # the certificate stores, VPN authentication and IKEv2 timeouts: emulators/winrm/hardening.py
        return self.hardening_factory(
            self.tls_factory(
                {
                    "hostname": self.hostname,
                    "os_build": self.os_build,
                    "vpn": {
                        "policies": {t: policy(t) for t in TUNNEL_TYPES},
                        "ports": {"Ikev2Ports": 128, "SstpPorts": 128, "L2tpPorts": 128, "GrePorts": 128},
                    },
                    "registry": {
                        RA_PARAMETERS_KEY: {},
                        IKEV2_KEY: {},
                        IKEEXT_KEY: {},
                        SSTP_KEY: {
                            # RRAS writes both hashes of the certificate it binds for SSTP
                            # (docs/rras.md#sstp-tls-offload).
                            "SHA1CertificateHash": {
                                "kind": "Binary",
                                "value": _hash_hex("sha1:" + self.hostname, 20),
                            },
                            "SHA256CertificateHash": {
                                "kind": "Binary",
                                "value": _hash_hex("sha256:" + self.hostname, 32),
                            },
                        },
                    },
                    "services": copy.deepcopy(SERVICE_DEFINITIONS),
                }
            )
        )

    def on_reboot(self) -> None:
        for shell in list(self.shells.values()):
            close = getattr(shell, "close", None)
            if close is not None:
                close()  # long-polling Receives end at once; later requests get InvalidSelectors
        self.shells.clear()
        self._reboot_sessions()
        self._boot_services()

    def runtime_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "services": {
                    name: {
                        "status": self.status.get(name),
                        "start_count": self.start_counts.get(name, 0),
                        "pending_restart": self._pending(name),
                    }
                    for name in self.running["services"]
                },
                "effective": copy.deepcopy(self.effective),
                "pending_restart": [n for n in self.running["services"] if self._pending(n)],
                "vpn_sessions": self.vpn_sessions,
                "sessions_dropped": self.sessions_dropped,
                "restarts": copy.deepcopy(self.restarts),
                "warnings": list(self.warnings),
                "shells": len(self.shells),
                "tls": self.tls_runtime(),
            }

    # -- services ----------------------------------------------------------------------------------
    def _boot_services(self) -> None:
        with self.lock:
            self.vpn_sessions = 0
            for name in self.running["services"]:
                self.status[name] = "Running"
                self.start_counts[name] = self.start_counts.get(name, 0) + 1
                self.effective[name] = self._inputs(name)
            self.tls_boot()

    def _inputs(self, service: str) -> dict[str, Any]:
        """What ``service`` reads when it starts."""
        inputs: dict[str, Any] = {}
        for key in SERVICE_REGISTRY_INPUTS.get(service, ()):
            inputs[key] = copy.deepcopy(self.running["registry"].get(key, {}))
        if service == "RemoteAccess":
            inputs["vpn"] = copy.deepcopy(self.running["vpn"])
            inputs.update(self.hardening_inputs())
        return inputs

    def _pending(self, service: str) -> bool:
        return self.status.get(service) == "Running" and self.effective.get(service) != self._inputs(service)

    def service_names(self) -> list[str]:
        with self.lock:
            return list(self.running["services"])

    def service_info(self, name: str) -> dict[str, Any]:
        with self.lock:
            definition = self.running["services"][name]
            return {
                "name": name,
                "display_name": definition["display_name"],
                "depends_on": list(definition["depends_on"]),
                "dependents": self._dependents(name),
                "start_type": definition["start_type"],
                "status": self.status.get(name, "Stopped"),
                "start_count": self.start_counts.get(name, 0),
            }

    def _dependents(self, name: str) -> list[str]:
        return [s for s, d in self.running["services"].items() if name in d["depends_on"]]

    def _all_dependents(self, name: str) -> list[str]:
        """Transitive dependents, the farthest first (the order they must stop in)."""
        out: list[str] = []
        for dep in self._dependents(name):
            for sub in self._all_dependents(dep):
                if sub not in out:
                    out.append(sub)
            if dep not in out:
                out.append(dep)
        return out

    def describe(self, name: str) -> str:
        return f"{self.running['services'][name]['display_name']} ({name})"

    def restart_service(self, name: str, force: bool, on_wait: Callable[[str], None] | None = None) -> None:
        """Restart-Service: stop ``name`` (and, with ``force``, its running dependents), then start them.

        Raises ServiceError("ServiceHasDependentServices") without ``force`` when a dependent runs,
        ServiceError("StartServiceFailed") when an injected start fault fires.
        """
        with self.lock:
            running_dependents = self._dependents_to_stop(name, force)
            stopping = [*running_dependents, name] if self.status.get(name) == "Running" else []
            for svc in stopping:
                self.status[svc] = "StopPending"
        if stopping:
            self._wait(name, "stop", on_wait)
            with self.lock:
                for svc in stopping:
                    self.status[svc] = "Stopped"
                    self._drop_sessions(svc)
        # Restart-Service starts everything it stopped (the service itself first, then its dependents).
        to_start = [name, *reversed(running_dependents)] if stopping else [name]
        for svc in to_start:
            self._start_one(svc, on_wait)

    def stop_service(self, name: str, force: bool) -> None:
        with self.lock:
            running_dependents = self._dependents_to_stop(name, force)
            for svc in [*running_dependents, name]:
                if self.status.get(svc) == "Running":
                    self.status[svc] = "Stopped"
                    self._drop_sessions(svc)

    def _dependents_to_stop(self, name: str, force: bool) -> list[str]:
        """The running services that depend on ``name`` (under the lock); refused without ``force``."""
        running = [d for d in self._all_dependents(name) if self.status.get(d) == "Running"]
        if running and not force:
            raise ServiceError(
                "ServiceHasDependentServices",
                name,
                f"Cannot stop service '{self.describe(name)}' because it has dependent services. "
                "It can only be stopped if the Force flag is set.",
            )
        return running

    def start_service(self, name: str, on_wait: Callable[[str], None] | None = None) -> None:
        self._start_one(name, on_wait)

    def _start_one(self, name: str, on_wait: Callable[[str], None] | None) -> None:
        with self.lock:
            if self.status.get(name) == "Running":
                return
            deps = list(self.running["services"][name]["depends_on"])
        for dep in deps:  # the SCM starts what a service depends on first
            self._start_one(dep, on_wait)
        with self.lock:
            self.status[name] = "StartPending"
        self._wait(name, "start", on_wait)
        with self.lock:
            if self.start_faults.get(name, 0) > 0:
                self.start_faults[name] -= 1
                self.status[name] = "Stopped"
                raise ServiceError(
                    "StartServiceFailed",
                    name,
                    f"Service '{self.describe(name)}' cannot be started due to the following error: "
                    f"Cannot start service {name} on computer '.'.",
                )
            self.status[name] = "Running"
            self.start_counts[name] = self.start_counts.get(name, 0) + 1
            self.effective[name] = self._inputs(name)
            self.restarts.append({"service": name, "at": time.time(), "start_count": self.start_counts[name]})

    def _wait(self, name: str, what: str, on_wait: Callable[[str], None] | None) -> None:
        """Half of ``restart_seconds`` per transition; PowerShell warns every 2 s while it waits."""
        remaining = self.restart_seconds / 2.0
        waited = 0.0
        while remaining > 0:
            step = min(remaining, 2.0)
            time.sleep(step)
            remaining -= step
            waited += step
            if waited >= 2.0 and on_wait is not None:
                on_wait(f"Waiting for service '{self.describe(name)}' to {what}...")
                waited = 0.0

    def _drop_sessions(self, service: str) -> None:
        if service in SESSION_SERVICES and self.vpn_sessions:
            self.sessions_dropped += self.vpn_sessions
            self.vpn_sessions = 0

    def set_vpn_sessions(self, count: int) -> None:
        with self.lock:
            self.vpn_sessions = max(0, int(count)) if self.status.get("RemoteAccess") == "Running" else 0

    def add_start_fault(self, service: str, times: int = 1) -> None:
        with self.lock:
            if service not in self.running["services"]:
                raise ValueError(f"unknown service {service!r}")
            self.start_faults[service] = self.start_faults.get(service, 0) + int(times)

    # -- VPN server IPsec configuration -------------------------------------------------------------
    def vpn_configuration(self, tunnel: str) -> dict[str, Any]:
        """The stored configuration (docs/rras.md#when-changes-take-effect: Get reports what was stored,
        before a restart)."""
        with self.lock:
            policy = copy.deepcopy(self.running["vpn"]["policies"][tunnel])
            policy.update(self.running["vpn"]["ports"])
            return policy

    def set_vpn_configuration(self, tunnel: str, mode: str, values: dict[str, Any]) -> None:
        """``mode``: "CustomPolicy", "RevertToDefault" or "EncryptionType"; ``values`` use Set names."""
        with self.lock:
            policy = self.running["vpn"]["policies"][tunnel]
            if mode == "RevertToDefault":
                policy.update(CustomPolicy=False, **DEFAULT_CRYPTO, **DEFAULT_LIFETIMES)
            else:
                if mode == "CustomPolicy":
                    policy["CustomPolicy"] = True
                for name, value in values.items():
                    if name in CRYPTO_ENUMS or name == "EncryptionType":
                        policy[name] = value
                    elif name in LIFETIME_READBACK:
                        policy[LIFETIME_READBACK[name]] = int(value)
                    elif name in PORT_PARAMETERS:
                        self.running["vpn"]["ports"][name] = int(value)
            cipher, auth = policy["CipherTransformConstants"], policy["AuthenticationTransformConstants"]
            if (
                policy["CustomPolicy"]
                and (cipher.startswith("GCM") or auth.startswith("GCM"))
                and cipher != auth
            ):
                self.warnings.append(
                    f"{tunnel}: ESP GCM is asymmetric (CipherTransformConstants={cipher}, "
                    f"AuthenticationTransformConstants={auth}); IKE negotiation would fail"
                )
            self.save_config()

    # -- registry ---------------------------------------------------------------------------------------
    def _key(self, key: str) -> tuple[str, dict[str, Any]] | None:
        registry = self.running["registry"]
        for name, values in registry.items():
            if name.lower() == key.lower():
                return name, values
        return None

    def key_exists(self, key: str) -> bool:
        with self.lock:
            return self._key(key) is not None

    def read_key(self, key: str) -> tuple[str, dict[str, dict[str, Any]]]:
        """(the key's stored spelling, {value name: {"kind", "value"}}); RegistryError if absent."""
        with self.lock:
            found = self._key(key)
            if found is None:
                raise RegistryError("PathNotFound", key)
            return found[0], copy.deepcopy(found[1])

    def write_value(self, key: str, name: str, kind: str, value: Any, force: bool) -> dict[str, Any]:
        with self.lock:
            found = self._key(key)
            if found is None:
                raise RegistryError("PathNotFound", key)
            values = found[1]
            existing = next((n for n in values if n.lower() == name.lower()), None)
            if existing is not None and not force:
                raise RegistryError("PropertyExists", "The property already exists.")
            if existing is not None:
                del values[existing]
            values[name] = {"kind": kind, "value": value}
            self.save_config()
            return copy.deepcopy(values[name])

    def remove_value(self, key: str, name: str) -> None:
        with self.lock:
            found = self._key(key)
            if found is None:
                raise RegistryError("PathNotFound", key)
            existing = next((n for n in found[1] if n.lower() == name.lower()), None)
            if existing is None:
                raise RegistryError("PropertyNotFound", f"Property {name} does not exist at path {found[0]}.")
            del found[1][existing]
            self.save_config()

    def create_key(self, key: str) -> str:
        """New-Item on the registry provider (parents must exist unless ``-Force``: the caller checks)."""
        with self.lock:
            found = self._key(key)
            if found is not None:
                return found[0]
            self.running["registry"][key] = {}
            self.save_config()
            return key

    # -- auth ---------------------------------------------------------------------------------------------
    def check_user(self, user: str, password: str) -> str | None:
        """The canonical user name when the credentials are right (names are case-insensitive)."""
        if "\\" in user:
            domain, _, user = user.partition("\\")
            if domain.lower() not in (".", self.hostname.lower()):
                return None
        for name, secret in self.users.items():
            if name.lower() == user.lower() and secret == password:
                return name
        return None
