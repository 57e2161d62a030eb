"""Files and certificates on the BIG-IP twin: chunked uploads, ``install`` of certificates and keys.

``POST /mgmt/shared/file-transfer/uploads/<name>`` with ``Content-Range`` chunks lands a file in
/var/config/rest/downloads (disk, not configuration: it survives a reboot); ``sys crypto cert|key``
``install`` reads it, checks it is a PEM certificate or private key and creates the object in both of
its views (``sys/crypto/<kind>`` and ``sys/file/ssl-<kind>``) with the facts BIG-IP reports.
"""

from __future__ import annotations

import time
from typing import Any

from emulators.f5.exceptions import BadValue, F5Error, RestError
from emulators.f5.store import ObjectStore
from emulators.f5.types import qualify, split_path

Obj = dict[str, Any]


class FilesAndCertificates(ObjectStore):
    """Uploaded files and installed certificates and keys (a mixin of ``F5Backend``)."""

    files: dict[str, bytearray]

    def upload(self, filename: str, content_range: str, data: bytes) -> Obj:
        try:
            span, _, total_text = content_range.partition("/")
            start_text, _, end_text = span.partition("-")
            start, end, total = int(start_text), int(end_text), int(total_text)
        except ValueError:
            raise RestError(400, f"Invalid Content-Range header: {content_range!r}") from None
        if end - start + 1 != len(data) or end >= total:
            raise RestError(400, "Content-Range does not match the body length")
        with self.lock:
            buf = self.files.setdefault(filename, bytearray())
            if start == 0:
                buf.clear()
            if len(buf) != start:
                raise RestError(
                    400, f"Chunk starting at {start} does not follow the {len(buf)} bytes received"
                )
            buf.extend(data)
            return {
                "remainingByteCount": total - len(buf),
                "usedChunks": {"0": len(buf)},
                "totalByteCount": total,
                "localFilePath": f"/var/config/rest/downloads/{filename}",
                "temporaryFilePath": f"/var/config/rest/downloads/tmp/{filename}",
                "generation": 0,
                "lastUpdateMicros": int(time.time() * 1_000_000),
            }

    def _local_file(self, path: str) -> bytes:
        prefix = "/var/config/rest/downloads/"
        name = path.removeprefix("file://")
        if not name.startswith(prefix) or name[len(prefix) :] not in self.files:
            raise F5Error(400, f"01070712:3: File not found: {name}")
        return bytes(self.files[name[len(prefix) :]])

    def install(self, kind: str, body: Obj) -> Obj:
        """``POST sys/crypto/cert|key {"command": "install", "name", "from-local-file"}``."""
        if body.get("command") != "install":
            raise BadValue(f"'{body.get('command')}' is not a supported command for sys crypto {kind}")
        name = body.get("name")
        if not name or not body.get("from-local-file"):
            raise BadValue(f"sys crypto {kind} install needs name and from-local-file")
        full = qualify(name)
        data = self._local_file(str(body["from-local-file"]))
        facts = _cert_facts(data) if kind == "cert" else _key_facts(data)
        if facts is None:
            what = "certificate" if kind == "cert" else "key"
            raise F5Error(
                400, f"01070313:3: Error reading {what} PEM file /var/config/rest/downloads/... for {full}"
            )
        partition, short = split_path(full)
        with self.lock:
            gen = self._bump()
            # "install" replaces an object of the same name (tmsh install semantics) [?]
            obj: Obj = {"name": short, "partition": partition, "generation": gen, **facts}
            crypto, file_collection = (
                ("sys/crypto/cert", "sys/file/ssl-cert")
                if kind == "cert"
                else ("sys/crypto/key", "sys/file/ssl-key")
            )
            self.objects(crypto)[full] = obj
            self.objects(file_collection)[full] = obj
            return self.render(crypto, full, obj)


def _cert_facts(data: bytes) -> Obj | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return None
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    expires = cert.not_valid_after_utc
    public = cert.public_key()
    size = getattr(public, "key_size", 0)
    return {
        "commonName": _cn(cert.subject),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "expirationDate": int(expires.timestamp()),
        # openssl style, day padded with a space: "Jan  1 00:00:00 2031 GMT"
        "expirationString": f"{expires:%b} {expires.day:2d} {expires:%H:%M:%S %Y} GMT",
        "fingerprint": "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        "keyType": "rsa-public" if isinstance(public, rsa.RSAPublicKey) else "ec-public",
        "keySize": size,
        "serialNumber": format(cert.serial_number, "x"),
        "version": 3,
    }


def _cn(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _key_facts(data: bytes) -> Obj | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None
    size = getattr(key, "key_size", 0)
    return {
        "keyType": "rsa-private" if isinstance(key, rsa.RSAPrivateKey) else "ec-private",
        "keySize": size,
        "securityType": "normal",
    }
