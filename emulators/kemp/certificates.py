"""Certificates for SSL acceleration: addcert / listcert / delcert.

A Virtual Service names installed certificates in CertFile (``emulators.kemp.virtual_services``,
docs/kemp.md#ssl-acceleration-and-certificates); a certificate in use cannot be deleted."""

from __future__ import annotations

from typing import Any

from emulators.kemp import exceptions as err
from emulators.kemp.base import KempBase
from emulators.kemp.exceptions import KempError
from emulators.kemp.results import Args, Message, ParamsResult, Result
from emulators.kemp.types import OK


class CertificateMixin(KempBase):
    # -- certificates (SSL acceleration) ----------------------------------------------------------------
    # POST /access/addcert?cert=<name>[&replace=1] with the PEM certificate and private key as the body;
    # GET /access/listcert; GET /access/delcert?cert=<name> (command names as Kemp's certificate tooling
    # uses them; the reply shapes and error texts are assumed).
    def _certs(self) -> dict[str, dict[str, Any]]:
        certs: dict[str, dict[str, Any]] = self.running.setdefault("certs", {})
        return certs

    def _cmd_addcert(self, args: Args, body: bytes = b"", **_: Any) -> Result:
        name = (args.get("cert") or "").strip()
        if not name:
            raise err.missing("cert")
        replace = (args.get("replace") or "0").strip() in ("1", "y", "yes")
        if name in self._certs() and not replace:
            raise KempError(422, "Certificate already exists")  # assumed text
        facts = _pem_bundle(body)
        if facts is None:
            raise KempError(422, "Invalid certificate or key")  # assumed text
        self._certs()[name] = facts
        return Message(OK)

    def _cmd_listcert(self, args: Args, **_: Any) -> Result:
        return ParamsResult(
            [("cert", [[("name", name), ("type", c["type"])]]) for name, c in sorted(self._certs().items())]
        )

    def _cmd_delcert(self, args: Args, **_: Any) -> Result:
        name = (args.get("cert") or "").strip()
        if not name:
            raise err.missing("cert")
        if name not in self._certs():
            raise KempError(422, "Unknown certificate")  # assumed text
        if any(name in str(vs.get("CertFile", "")).split() for vs in self._vs_list()):
            raise KempError(422, "Certificate is in use by a Virtual Service")  # assumed text
        del self._certs()[name]
        return Message(OK)


def _pem_bundle(body: bytes) -> dict[str, Any] | None:
    """A PEM certificate and its private key in one body: the facts kept of it, or None if unusable."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        cert = x509.load_pem_x509_certificate(body)
        key = serialization.load_pem_private_key(body, password=None)
    except (ValueError, TypeError):
        return None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if key.public_key().public_bytes(pem, public) != cert.public_key().public_bytes(pem, public):
        return None
    return {
        "type": "RSA" if isinstance(key, rsa.RSAPrivateKey) else "EC",
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }
