"""Pulumi's passphrase secrets provider, byte-compatible with the CLI.

Facts taken from the Pulumi source (sdk/go/common/resource/config/crypt.go and
pkg/secrets/passphrase/manager.go):

- key = PBKDF2-HMAC-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes); salt is 8 random bytes;
- a value is AES-256-GCM with a 12-byte random nonce, no associated data, written
  ``v1:<base64 nonce>:<base64 ciphertext+tag>`` (standard base64 with padding);
- the secrets-manager state (``encryptionsalt:`` in the stack file, ``secrets_providers.state.salt`` in the
  checkpoint) is ``v1:<base64 salt>:`` followed by the encryption of the string ``pulumi``, which is how a
  wrong passphrase is detected;
- the passphrase comes from PULUMI_CONFIG_PASSPHRASE, or the file named by PULUMI_CONFIG_PASSPHRASE_FILE.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

ITERATIONS = 1_000_000


class SecretsError(Exception):
    pass


_key_cache: dict[tuple[str, bytes], bytes] = {}
_key_lock = threading.Lock()


def _derive(passphrase: str, salt: bytes) -> bytes:
    with _key_lock:
        cached = _key_cache.get((passphrase, salt))
        if cached is None:
            kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=ITERATIONS)
            cached = kdf.derive(passphrase.encode())
            _key_cache[(passphrase, salt)] = cached
        return cached


def passphrase_from_env(env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    if "PULUMI_CONFIG_PASSPHRASE" in env:
        return env["PULUMI_CONFIG_PASSPHRASE"]
    path = env.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if path:
        return Path(path).read_text()
    return None


class Crypter:
    def __init__(self, key: bytes) -> None:
        self._aes = AESGCM(key)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aes.encrypt(nonce, plaintext.encode(), None)
        return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"

    def decrypt(self, value: str) -> str:
        parts = value.split(":")
        if len(parts) != 3:
            raise SecretsError("bad value")
        if parts[0] != "v1":
            raise SecretsError("unknown value version")
        try:
            nonce = base64.b64decode(parts[1], validate=True)
            sealed = base64.b64decode(parts[2], validate=True)
        except ValueError as exc:
            raise SecretsError(f"bad value: {exc}") from None
        if len(nonce) != 12:
            raise SecretsError("bad value: nonce size is incorrect")
        try:
            return self._aes.decrypt(nonce, sealed, None).decode()
        except InvalidTag:
            raise SecretsError("failed to decrypt: message authentication failed") from None


def crypter_from_state(passphrase: str, state: str) -> Crypter:
    """``state`` is ``v1:<salt>:v1:<nonce>:<ct>``; the passphrase is checked against the embedded "pulumi"."""
    parts = state.split(":", 2)
    if len(parts) != 3 or parts[0] != "v1":
        raise SecretsError("malformed state value" if len(parts) != 3 else "unknown state version")
    salt = base64.b64decode(parts[1])
    crypter = Crypter(_derive(passphrase, salt))
    try:
        ok = crypter.decrypt(parts[2]) == "pulumi"
    except SecretsError:
        ok = False
    if not ok:
        raise SecretsError("incorrect passphrase")
    return crypter


def new_state(passphrase: str) -> tuple[str, Crypter]:
    salt = os.urandom(8)
    crypter = Crypter(_derive(passphrase, salt))
    return f"v1:{base64.b64encode(salt).decode()}:{crypter.encrypt('pulumi')}", crypter
