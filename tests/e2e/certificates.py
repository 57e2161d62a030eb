"""Certificates for the SSTP TLS-offload tests."""

from __future__ import annotations

import datetime

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

#: ``sstp.tlsOffload`` of a declaration: the secret config keys of the certificate and its key.
TLS_OFFLOAD = {"certificateSecret": "sstpCertificate", "privateKeySecret": "sstpKey"}


def offload_secrets(pem: str, key: str) -> dict[str, str]:
    """The secret config ``TLS_OFFLOAD`` names, holding ``pem`` and ``key``."""
    return {"sstpCertificate": pem, "sstpKey": key}


def certificate(name: str, year: int) -> tuple[str, str, str]:
    """A PEM certificate and key for the SSTP name, and the certificate's SHA-256 (lower-case hex)."""
    leaf = trustme.CA().issue_cert(name, not_after=datetime.datetime(year, 1, 1, tzinfo=datetime.UTC))
    pem = leaf.cert_chain_pems[0].bytes()
    digest = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()
    return pem.decode(), leaf.private_key_pem.bytes().decode(), digest
