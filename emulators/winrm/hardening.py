"""IKEv2 hardening on an RRAS node: the LocalMachine certificate stores, the VPN authentication settings
(Get-/Set-VpnAuthProtocol) and the IKEv2 connection timeouts (``netsh ras ... ikev2connection``).

Persistent state (in ``running``, saved at once like every other write of the node):
  ``certificates``  the ``LocalMachine`` stores the twin models, ``Root`` and ``My``: thumbprint (SHA-1 of
                    the DER, upper-case hex) -> ``{"der": hex}``; the factory ``Root`` is empty;
  ``vpn_auth``      what Set-VpnAuthProtocol writes: ``UserAuthProtocolAccepted`` (list), ``
                    TunnelAuthProtocolsAdvertised``, ``CertificateEKUsToAccept`` (list) and the accepted root
                    (``RootCertificateNameToAccept``: the subject name and thumbprint of the certificate it
                    was given, or None). The factory values are those of Microsoft's Get-VpnAuthProtocol
                    example ({EAP, MsChapv2}, Certificates, no root) (docs/rras.md#accepted-root-certificate);
  ``registry``      ``RemoteAccess\\Parameters\\Ikev2`` idleTimeout 300 and networkBlackoutTime 1800
                    (REG_DWORD seconds, MS-RRASM), what netsh's ikev2connection context shows and sets in
                    minutes (docs/rras.md#ikev2-connection-timeouts).

The accepted root is kept by name: Get-VpnAuthProtocol answers the certificates of the Root store whose
subject is the name stored (the twin's reading of the RRAS configuration structure, which holds certificate
*names*, and of Richard Hicks' warning about old root certificates of the same name: unconfirmed,
docs/rras.md#accepted-root-certificate). It takes effect when RemoteAccess restarts (``vpn_auth`` is one
of RemoteAccess's inputs, ``hardening_inputs``).

Admin calls (in-process; ``admin_route`` serves them over HTTP where the app routes
``/_twin/root-certificates`` to it): ``add_root_certificate`` imports a certificate (a PEM or DER, or one
made here for a subject) into ``Cert:\\LocalMachine\\Root`` and returns its thumbprint;
``remove_root_certificate`` deletes one. ``last_exit_code`` is the exit code of the last native command
(``$LASTEXITCODE``).
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
#: The same key as emulators.winrm.backend.IKEV2_KEY (RemoteAccess reads it when it starts).
IKEV2_KEY = HKLM + "\\SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ikev2"
STORES = ("Root", "My")
#: Get-VpnAuthProtocol on a node nobody configured (Microsoft's example 1).
DEFAULT_VPN_AUTH: dict[str, Any] = {
    "UserAuthProtocolAccepted": ["EAP", "MsChapv2"],
    "TunnelAuthProtocolsAdvertised": "Certificates",
    "RootCertificateNameToAccept": None,
    "CertificateEKUsToAccept": [],
}
#: Accepted values of Set-VpnAuthProtocol (Microsoft Learn).
USER_AUTH_PROTOCOLS = ("EAP", "Certificate", "MsChapv2", "Chap", "PAP", "PreSharedKey")
TUNNEL_AUTH_PROTOCOLS = ("Certificates", "PreSharedKey")
#: RRAS's IKEv2 connection defaults in seconds (the RRAS console's 5 and 30 minutes; the values a configured
#: server holds: docs/rras.md#ikev2-connection-timeouts).
DEFAULT_IDLE_TIMEOUT = 300
DEFAULT_NETWORK_BLACKOUT = 1800


def make_root_certificate(subject: str, days: float = 3650) -> bytes:
    """A self-signed CA certificate (ECDSA P-256) for ``subject`` ("CN=name[, O=org]"), as DER."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    # .NET writes a name most specific part first, as RFC 4514 does
    name = x509.Name.from_rfc4514_string(",".join(part.strip() for part in subject.split(",")))
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def der_of(pem: str | bytes) -> bytes:
    """A certificate given as PEM text or DER bytes, as DER."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = pem.encode() if isinstance(pem, str) else pem
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.DER)


def _windows_name(name: Any) -> str:
    """An X.509 name as X509Certificate2.Subject shows it: most specific part first, ", " between."""
    return ", ".join(rdn.rfc4514_string() for rdn in reversed(name.rdns))


def thumbprint_of(der: bytes) -> str:
    """X509Certificate2.Thumbprint: the SHA-1 hash of the DER, upper-case hex."""
    return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - what Windows calls the thumbprint


def describe_certificate(der: bytes) -> dict[str, Any]:
    """What X509Certificate2 reports: Subject, Issuer, SerialNumber, Thumbprint, NotBefore/NotAfter (UTC)."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return {
        "subject": _windows_name(cert.subject),
        "issuer": _windows_name(cert.issuer),
        "serial_number": f"{cert.serial_number:X}".rjust(2, "0"),
        "thumbprint": thumbprint_of(der),
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
        "der": der,
    }


class HardeningMixin(TwinBackend):
    """The certificate stores, VPN authentication settings and IKEv2 timeouts of one node (see the module
    docstring); mixed into RrasBackend."""

    def __init__(self, data_dir: Path | str | None = None) -> None:
        self.last_exit_code: int | None = None
        super().__init__(data_dir)

    # -- factory ----------------------------------------------------------------------------------
    def hardening_factory(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` (the node's factory configuration) with the stores, the VPN authentication settings
        and the IKEv2 timeouts."""
        config["certificates"] = {store: {} for store in STORES}
        config["vpn_auth"] = copy.deepcopy(DEFAULT_VPN_AUTH)
        ikev2 = config.setdefault("registry", {}).setdefault(IKEV2_KEY, {})
        ikev2.setdefault("idleTimeout", {"kind": "DWord", "value": DEFAULT_IDLE_TIMEOUT})
        ikev2.setdefault("networkBlackoutTime", {"kind": "DWord", "value": DEFAULT_NETWORK_BLACKOUT})
        return config

    def hardening_inputs(self) -> dict[str, Any]:
        """What RemoteAccess reads of this state when it starts (besides the registry)."""
        return {"vpn_auth": copy.deepcopy(self.running.get("vpn_auth") or DEFAULT_VPN_AUTH)}

    # -- registry listing (Get-ChildItem of a key) --------------------------------------------------
    def subkeys(self, key: str) -> list[str]:
        """The direct subkeys of ``key`` (canonical spelling), as stored."""
        prefix = key.lower().rstrip("\\") + "\\"
        with self.lock:
            return [
                k
                for k in self.running.get("registry", {})
                if k.lower().startswith(prefix) and "\\" not in k[len(prefix) :]
            ]

    # -- certificate stores -----------------------------------------------------------------------
    def _store(self, store: str) -> dict[str, Any] | None:
        stores = self.running.setdefault("certificates", {s: {} for s in STORES})
        for name, entries in stores.items():
            if name.lower() == store.lower():
                return entries
        return None

    def store_names(self) -> list[str]:
        with self.lock:
            return list(self.running.setdefault("certificates", {s: {} for s in STORES}))

    def certificates(self, store: str) -> list[dict[str, Any]] | None:
        """The certificates of ``LocalMachine\\<store>`` in store order (None: no such store)."""
        with self.lock:
            entries = self._store(store)
            if entries is None:
                return None
            return [describe_certificate(bytes.fromhex(e["der"])) for e in entries.values()]

    def certificate(self, store: str, thumbprint: str) -> dict[str, Any] | None:
        found = [c for c in self.certificates(store) or [] if c["thumbprint"] == thumbprint.upper()]
        return found[0] if found else None

    def add_root_certificate(
        self, pem: str | bytes | None = None, *, subject: str | None = None, days: float = 3650
    ) -> str:
        """Import a certificate into ``Cert:\\LocalMachine\\Root`` (``pem``: PEM or DER; else one made here
        for ``subject``, default ``CN=Twin Root CA``); returns its thumbprint."""
        der = der_of(pem) if pem is not None else make_root_certificate(subject or "CN=Twin Root CA", days)
        thumbprint = thumbprint_of(der)
        with self.lock:
            store = self._store("Root")
            assert store is not None
            store[thumbprint] = {"der": der.hex()}
            self.save_config()
        return thumbprint

    def remove_root_certificate(self, thumbprint: str) -> bool:
        with self.lock:
            store = self._store("Root")
            assert store is not None
            removed = store.pop(thumbprint.upper(), None) is not None
            self.save_config()
            return removed

    # -- Get-/Set-VpnAuthProtocol -------------------------------------------------------------------
    def vpn_auth(self) -> dict[str, Any]:
        """The stored settings, the accepted root resolved to the Root store's certificates of that name."""
        with self.lock:
            stored = copy.deepcopy(self.running.setdefault("vpn_auth", copy.deepcopy(DEFAULT_VPN_AUTH)))
            root = stored.get("RootCertificateNameToAccept")
            accepted = []
            if root:
                accepted = [c for c in self.certificates("Root") or [] if c["subject"] == root["subject"]]
            stored["accepted_roots"] = accepted
            return stored

    def set_vpn_auth(self, changes: dict[str, Any]) -> None:
        """Store what Set-VpnAuthProtocol was given (``RootCertificateNameToAccept``: a certificate's
        description, or None to clear)."""
        with self.lock:
            stored = self.running.setdefault("vpn_auth", copy.deepcopy(DEFAULT_VPN_AUTH))
            for name, value in changes.items():
                if name == "RootCertificateNameToAccept":
                    stored[name] = (
                        {"subject": value["subject"], "thumbprint": value["thumbprint"]} if value else None
                    )
                else:
                    stored[name] = copy.deepcopy(value)
            self.save_config()

    # -- netsh ras ikev2connection ----------------------------------------------------------------
    def ikev2_connection(self) -> dict[str, int]:
        """idleTimeout and networkBlackoutTime in seconds (RRAS's defaults when a value is absent)."""
        with self.lock:
            values = self.running.get("registry", {}).get(IKEV2_KEY) or {}
            idle = (values.get("idleTimeout") or {}).get("value", DEFAULT_IDLE_TIMEOUT)
            outage = (values.get("networkBlackoutTime") or {}).get("value", DEFAULT_NETWORK_BLACKOUT)
            return {"idleTimeout": int(idle), "networkBlackoutTime": int(outage)}

    def set_ikev2_connection(self, idle_seconds: int | None, outage_seconds: int | None) -> None:
        with self.lock:
            values = self.running.setdefault("registry", {}).setdefault(IKEV2_KEY, {})
            for name, seconds in (("idleTimeout", idle_seconds), ("networkBlackoutTime", outage_seconds)):
                if seconds is not None:
                    values[name] = {"kind": "DWord", "value": int(seconds)}
            self.save_config()


def admin_route(request: Request, backend: HardeningMixin, sub: str) -> Response | None:
    """``/_twin/root-certificates``: GET the Root store, POST ``{"pem": ...}`` or ``{"subject": "CN=x"}`` to
    import one (answers its thumbprint); ``/_twin/root-certificates/<thumbprint>`` is not routed here (the
    app's routes name one segment): DELETE ``{"thumbprint": ...}`` removes one. None for other routes."""
    if sub != "root-certificates":
        return None
    method = request.method.upper()
    if method == "GET":
        found = backend.certificates("Root") or []
        return _json([{k: v for k, v in c.items() if k != "der"} for c in found])
    spec = request.get_json(force=True) or {}
    if method in ("POST", "PUT"):
        return _json(
            {"thumbprint": backend.add_root_certificate(spec.get("pem"), subject=spec.get("subject"))}
        )
    if method == "DELETE":
        return _json({"removed": backend.remove_root_certificate(str(spec.get("thumbprint", "")))})
    return None


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj, default=str), status=status, mimetype="application/json")
