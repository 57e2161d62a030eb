"""SSTP's TLS on an RRAS node: the Schannel and cipher-suite registry keys, the Windows build the registry
reports, and the certificate RRAS binds for SSTP (Get-RemoteAccess's ``SslCertificate``).

Persistent state (in ``running``, saved at once like every other write of the node):
  ``registry``          the keys a freshly installed Windows Server has under
                        ``SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL`` (``Protocols`` and
                        ``SSL 2.0\\Client`` with DisabledByDefault 1; no ``<protocol>\\Server`` key: those are
                        made by whoever disables a protocol), ``SOFTWARE\\Policies\\Microsoft`` (no
                        ``Cryptography\\Configuration\\SSL\\00010002``: only the "SSL Cipher Suite Order"
                        policy writes it) and ``SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion``
                        (CurrentBuildNumber and the rest, from ``os_build``): docs/rras.md#sstp-tls-hardening;
  ``sstp_certificate``  the DER of the certificate SSTP uses (``{"der": hex}``, or None: none bound). The
                        factory binds a self-signed certificate for the node's name, valid a year, and writes
                        its hashes to ``SstpSvc\\Parameters`` as RRAS does (docs/rras.md#sstp-tls-offload).

Runtime-only state: what Schannel read at the last boot (the protocol keys and the cipher-suite order take
effect at a reboot: docs/rras.md#sstp-tls-hardening), so ``tls_runtime`` can say whether a reboot is pending.

Admin calls (tests use them in-process; ``admin_route`` serves them over HTTP where the app routes
``/_twin/sstp-certificate`` and ``/_twin/tls`` to it): ``set_sstp_certificate`` binds a certificate (a PEM,
or one made here for a subject and a lifetime, e.g. expiring in 10 days), ``clear_sstp_certificate`` unbinds
it, ``tls_runtime`` reports the bound certificate, the effective Schannel settings and the pending reboot.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common import TwinBackend

HKLM = "HKEY_LOCAL_MACHINE"
SCHANNEL_KEY = HKLM + "\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
PROTOCOLS_KEY = SCHANNEL_KEY + "\\Protocols"
POLICIES_KEY = HKLM + "\\SOFTWARE\\Policies\\Microsoft"
CIPHER_SUITE_KEY = POLICIES_KEY + "\\Cryptography\\Configuration\\SSL\\00010002"
CURRENT_VERSION_KEY = HKLM + "\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
SSTP_KEY = HKLM + "\\SYSTEM\\CurrentControlSet\\Services\\SstpSvc\\Parameters"

#: The factory certificate's lifetime.
FACTORY_CERTIFICATE_DAYS = 365
#: The node's clock, for the certificate dates PowerShell writes in local time (the twin's choice: UTC+1).
NODE_UTC_OFFSET = datetime.timedelta(hours=1)

# ProductName by build (the twin's choice of edition: Datacenter).
PRODUCT_NAMES = {
    9200: "Windows Server 2012 Datacenter",
    9600: "Windows Server 2012 R2 Datacenter",
    14393: "Windows Server 2016 Datacenter",
    17763: "Windows Server 2019 Datacenter",
    20348: "Windows Server 2022 Datacenter",
    26100: "Windows Server 2025 Datacenter",
}


def _value(kind: str, value: Any) -> dict[str, Any]:
    return {"kind": kind, "value": value}


def factory_keys(os_build: int) -> dict[str, dict[str, dict[str, Any]]]:
    """The TLS-related registry keys of a freshly installed node of ``os_build``."""
    modern = os_build >= 10240
    return {
        SCHANNEL_KEY: {},
        PROTOCOLS_KEY: {},
        PROTOCOLS_KEY + "\\SSL 2.0": {},
        PROTOCOLS_KEY + "\\SSL 2.0\\Client": {"DisabledByDefault": _value("DWord", 1)},
        POLICIES_KEY: {},
        CURRENT_VERSION_KEY: {
            "CurrentBuildNumber": _value("String", str(os_build)),
            "CurrentBuild": _value("String", str(os_build)),
            "CurrentVersion": _value("String", "6.3" if os_build >= 9600 else "6.2"),
            **(
                {
                    "CurrentMajorVersionNumber": _value("DWord", 10),
                    "CurrentMinorVersionNumber": _value("DWord", 0),
                }
                if modern
                else {}
            ),
            "ProductName": _value("String", PRODUCT_NAMES.get(os_build, "Windows Server Datacenter")),
            "InstallationType": _value("String", "Server"),
            "EditionID": _value("String", "ServerDatacenter"),
        },
    }


def make_certificate(subject: str, not_after: datetime.datetime, not_before: datetime.datetime) -> bytes:
    """A self-signed certificate (ECDSA P-256, server authentication) for ``subject`` ("CN=name"), as DER."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cn = subject.removeprefix("CN=").removeprefix("cn=")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def windows_name(name: Any) -> str:
    """An X.509 name as X509Certificate2.Subject shows it: most specific part first, ", " between."""
    return ", ".join(rdn.rfc4514_string() for rdn in reversed(name.rdns))


def certificate_info(der: bytes) -> dict[str, Any]:
    """What X509Certificate2 reports of the certificate: Subject, Issuer, SerialNumber, Thumbprint (SHA-1,
    upper-case hex), NotBefore and NotAfter (UTC), and both hashes RRAS records."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return {
        "subject": windows_name(cert.subject),
        "issuer": windows_name(cert.issuer),
        "serial_number": f"{cert.serial_number:X}".rjust(2, "0"),
        "thumbprint": hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - X509Certificate2.Thumbprint
        "sha256": hashlib.sha256(der).hexdigest(),
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
    }


def _der_of(pem: str | bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = pem.encode() if isinstance(pem, str) else pem
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.DER)


def _json_info(info: dict[str, Any] | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime.datetime) else v) for k, v in info.items()}


class TlsMixin(TwinBackend):
    """The TLS state of one node (see the module docstring); mixed into RrasBackend."""

    # Set by RrasBackend before TwinBackend.__init__ builds the factory configuration.
    hostname: str
    os_build: int

    def __init__(self, data_dir: Path | str | None = None) -> None:
        self._tls_boot: dict[str, Any] = {}
        super().__init__(data_dir)

    # -- factory and boot -------------------------------------------------------------------------
    def tls_factory(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` (the node's factory configuration) with the TLS keys and the factory certificate."""
        registry = config.setdefault("registry", {})
        for key, values in factory_keys(self.os_build).items():
            registry.setdefault(key, values)
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        der = make_certificate(
            f"CN={self.hostname}",
            not_after=now + datetime.timedelta(days=FACTORY_CERTIFICATE_DAYS),
            not_before=now - datetime.timedelta(days=1),
        )
        config["sstp_certificate"] = {"der": der.hex()}
        if SSTP_KEY in registry:
            registry[SSTP_KEY].update(self._hash_values(der))
        return config

    @staticmethod
    def _hash_values(der: bytes) -> dict[str, dict[str, Any]]:
        return {
            "SHA1CertificateHash": _value("Binary", hashlib.sha1(der).hexdigest()),  # noqa: S324
            "SHA256CertificateHash": _value("Binary", hashlib.sha256(der).hexdigest()),
        }

    def _tls_keys(self) -> dict[str, Any]:
        """The registry keys Schannel reads at boot (protocols, cipher-suite order), as stored now."""
        registry = self.running.get("registry", {})
        wanted = (PROTOCOLS_KEY.lower(), CIPHER_SUITE_KEY.lower())
        return {
            key: copy.deepcopy(values)
            for key, values in registry.items()
            if key.lower() == wanted[1] or key.lower().startswith(wanted[0])
        }

    def tls_boot(self) -> None:
        """A (re)boot: Schannel reads its protocol settings and the cipher-suite order."""
        with self.lock:
            self._tls_boot = self._tls_keys()

    def tls_runtime(self) -> dict[str, Any]:
        with self.lock:
            return {
                "sstp_certificate": _public(self.sstp_certificate()),
                "effective": copy.deepcopy(self._tls_boot),
                "pending_reboot": self._tls_keys() != self._tls_boot,
            }

    # -- the SSTP certificate ---------------------------------------------------------------------
    def sstp_certificate_der(self) -> bytes | None:
        with self.lock:
            bound = self.running.get("sstp_certificate")
            return bytes.fromhex(bound["der"]) if bound else None

    def sstp_certificate(self) -> dict[str, Any] | None:
        der = self.sstp_certificate_der()
        return {**certificate_info(der), "der": der} if der else None

    def set_sstp_certificate(
        self,
        pem: str | bytes | None = None,
        *,
        subject: str | None = None,
        days: float | None = None,
        not_after: datetime.datetime | None = None,
    ) -> dict[str, Any]:
        """Bind a certificate for SSTP: ``pem`` (PEM or DER), or one made here for ``subject`` (default
        CN=<hostname>) expiring at ``not_after`` or in ``days`` days (past dates make an expired one). As
        RRAS does when an administrator picks the certificate, both hashes go to SstpSvc\\Parameters, unless
        the hash is configured by the administrator (TLS offload). Returns what X509Certificate2 reports."""
        if pem is not None:
            der = _der_of(pem)
        else:
            now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
            end = not_after or now + datetime.timedelta(
                days=FACTORY_CERTIFICATE_DAYS if days is None else days
            )
            der = make_certificate(
                subject or f"CN={self.hostname}",
                not_after=end,
                not_before=min(now, end) - datetime.timedelta(days=1),
            )
        with self.lock:
            self.running["sstp_certificate"] = {"der": der.hex()}
            sstp = self.running.get("registry", {}).get(SSTP_KEY)
            if sstp is not None and (sstp.get("isHashConfiguredByAdmin") or {}).get("value") != 1:
                sstp.update(self._hash_values(der))
            self.save_config()
        info = certificate_info(der)
        return {**info, "der": der}

    def clear_sstp_certificate(self) -> None:
        with self.lock:
            self.running["sstp_certificate"] = None
            self.save_config()

    def remote_access(self) -> dict[str, Any]:
        """What Get-RemoteAccess reports of a VPN-only node: the SSTP certificate and whether SSTP listens
        on plain HTTP (SstpSvc\\Parameters UseHttps 0, docs/rras.md#sstp-tls-offload)."""
        with self.lock:
            sstp = self.running.get("registry", {}).get(SSTP_KEY) or {}
            use_https = (sstp.get("UseHttps") or {}).get("value")
        return {"certificate": self.sstp_certificate(), "use_http": use_https == 0}


def admin_route(request: Request, backend: TlsMixin, sub: str) -> Response | None:
    """``/_twin/sstp-certificate``: GET what is bound, PUT ``{"pem": ...}`` or ``{"subject": "CN=x", "days":
    10}`` to bind one, DELETE to unbind; ``/_twin/tls``: GET ``tls_runtime``. None for other routes."""
    method = request.method.upper()
    if sub == "sstp-certificate":
        if method == "GET":
            return _json(_public(backend.sstp_certificate()))
        if method in ("PUT", "POST"):
            spec = request.get_json(force=True) or {}
            made = backend.set_sstp_certificate(
                spec.get("pem"), subject=spec.get("subject"), days=spec.get("days")
            )
            return _json(_public(made))
        if method == "DELETE":
            backend.clear_sstp_certificate()
            return _json({"cleared": True})
    if sub == "tls" and method == "GET":
        return _json(backend.tls_runtime())
    return None


def _public(info: dict[str, Any] | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return _json_info({k: v for k, v in info.items() if k != "der"})


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj, default=str), status=status, mimetype="application/json")
