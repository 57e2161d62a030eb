"""The SSTP certificate as every vendor installs it: PEMs from secret config, named by fingerprint.

The inputs carry only the names of the two secret config keys (certificate and private key). The
device object's name is ``<stem>_<first 16 hex of the certificate's SHA-256>``, so the name says the
content: a new certificate is a new object, created before the old one is deleted (whatever references
it is switched over in between), and an existing object of that name is ours only when it holds exactly
the configured certificate (certificate objects carry no marker). ``sha256`` is recorded in the outputs;
a changed secret is a replacement even though no input changed (``content_replaces``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from providers.common.device import SecretConfig

FINGERPRINT_IN_NAME = 16


def certificate_sha256(pem: bytes) -> str:
    """SHA-256 of the certificate's DER encoding, lower-case hex (what RRAS's SHA256CertificateHash holds)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ValueError("the SSTP certificate in secret config is not a PEM X.509 certificate") from None
    return cert.fingerprint(hashes.SHA256()).hex()


def held_sha256(pem: bytes) -> str:
    """The fingerprint of a certificate read back from a device, or "" when it is not one."""
    try:
        return certificate_sha256(pem)
    except ValueError:
        return ""


def different_certificate(held: str) -> str:
    """The owner text of a certificate object of our name that holds another certificate."""
    return f"a different certificate ({held[:FINGERPRINT_IN_NAME] or 'none'})"


class FingerprintNamedCertificate:
    """Mixin of the vendors' certificate providers (before their ApplianceObjectProvider base).

    ``stem_key`` is the input key of the name stem; ``name_key`` the output key of the device name
    (None when the vendor records device paths instead). ``prepare`` stamps ``sha256`` (and the name)
    into the inputs of create and update.
    """

    _secrets: SecretConfig
    #: ApplianceObjectProvider's (the class this mixin goes before)
    _fetch_required: Callable[..., dict[str, Any]]
    stem_key: ClassVar[str] = "prefix"
    name_key: ClassVar[str | None] = None
    delete_before_replace: ClassVar[bool] = False
    #: an upload and an install, not one create the device refuses when the pair is there
    reads_before_create: ClassVar[bool] = True

    def pems(self, props: dict[str, Any]) -> tuple[bytes, bytes]:
        where = f"SSTP certificate {props[self.stem_key]}"
        cert = self._secrets.value(props["certificate_secret"], where, "<PEM certificate>").encode()
        key = self._secrets.value(props["private_key_secret"], where, "<PEM private key>").encode()
        return cert, key

    def fingerprint(self, props: dict[str, Any]) -> str:
        """The configured certificate's fingerprint."""
        return certificate_sha256(self.pems(props)[0])

    def recorded_fingerprint(self, props: dict[str, Any]) -> str:
        """The fingerprint the outputs recorded (what is installed), else the configured one."""
        return str(props.get("sha256") or self.fingerprint(props))

    def device_name(self, props: dict[str, Any], fingerprint: str) -> str:
        return f"{props[self.stem_key]}_{fingerprint[:FINGERPRINT_IN_NAME]}"

    def content_replaces(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return ["sha256"] if olds.get("sha256") != self.fingerprint(news) else []

    def prepare(self, props: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        props = dict(props)
        props["sha256"] = self.fingerprint(props)
        if self.name_key:
            props[self.name_key] = self.device_name(props, props["sha256"])
        return props

    def state_after_create(self, client: Any, props: dict[str, Any], reply: Any) -> dict[str, Any]:
        """Read back: the outputs record what the device made of the pair (its paths, expiry)."""
        return self._fetch_required(client, props)

    def update_object(
        self, client: Any, props: dict[str, Any], changed: dict[str, Any], current: dict[str, Any]
    ) -> None:
        """Nothing to change in place: another certificate is a replacement."""
