"""TLS material for the twins: a local CA made with trustme and a server certificate it issues.

The CA is kept on disk (``<dir>/ca.pem``) so that stacks and clients can trust it across twin
restarts; nothing here ever turns certificate verification off on the client side.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TLSMaterial:
    """Paths of the CA bundle clients trust and of the server's key + chain."""

    ca_path: Path
    ca_key_path: Path
    server_pem_path: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.server_pem_path))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        return ctx

    def issue(self, *names: str) -> trustme.LeafCert:
        """Issue a further leaf certificate from the same CA (e.g. an SSTP public certificate)."""
        return self._ca().issue_cert(*names)

    def _ca(self) -> trustme.CA:
        return trustme.CA.from_pem(self.ca_path.read_bytes(), self.ca_key_path.read_bytes())


def ensure_tls(directory: Path | str) -> TLSMaterial:
    """Create (once) or load the CA and a server certificate for localhost in ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key_path, server_path = d / "ca.pem", d / "ca.key", d / "server.pem"
    if not (ca_path.exists() and ca_key_path.exists()):
        ca = trustme.CA(organization_name="aovpn-iac local twins")
        ca_key_path.write_bytes(ca.private_key_pem.bytes())
        ca_key_path.chmod(0o600)
        ca_path.write_bytes(ca.cert_pem.bytes())
        if server_path.exists():
            server_path.unlink()
    if not server_path.exists():
        ca = trustme.CA.from_pem(ca_path.read_bytes(), ca_key_path.read_bytes())
        leaf = ca.issue_cert(*SERVER_NAMES)
        leaf.private_key_and_cert_chain_pem.write_to_path(str(server_path))
        server_path.chmod(0o600)
    return TLSMaterial(ca_path=ca_path, ca_key_path=ca_key_path, server_pem_path=server_path)
