"""Keyed hashing of stored secrets and encryption of retrievable ones.

One master key (32 random bytes) yields two sub-keys through HKDF: an HMAC key for
the lookup hashes of every secret, and an AES-256-GCM key for values the API must
be able to show again (connection secrets, checkout tokens) and for provider keys.
Losing the master key makes every stored secret unusable: back it up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY_FILE = "master.key"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"lava-keyring-v1", info=info).derive(master)


class Keyring:
    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise ValueError("the master key must be 32 bytes (base64-encoded in LAVA_MASTER_KEY)")
        self._hmac_key = _derive(master, b"secret-hash")
        self._aead = AESGCM(_derive(master, b"secret-encrypt"))

    def hash_secret(self, secret: str) -> str:
        return hmac.new(self._hmac_key, secret.encode("utf-8"), hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: str, context: str = "") -> str:
        """AES-256-GCM of ``plaintext`` as ``v1.<base64url(nonce + sealed)>``.

        ``context`` (optional) is bound as associated data: :meth:`decrypt` must be given the
        same one, so a ciphertext copied to another row (another context) fails to open.
        """
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _aad(context))
        return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, context: str = "") -> str:
        """The plaintext of :meth:`encrypt`'s output; raises ``ValueError`` or ``InvalidTag``."""
        if not token.startswith("v1."):
            raise ValueError("unknown ciphertext version")
        raw = base64.urlsafe_b64decode(token[3:])
        return self._aead.decrypt(raw[:12], raw[12:], _aad(context)).decode("utf-8")


def _aad(context: str) -> bytes:
    return b"lava" if not context else b"lava|" + context.encode("utf-8")


def load_master_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, else the one kept in ``data_dir/master.key`` (created 0600 on first use)."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise ValueError("LAVA_MASTER_KEY must be base64 of 32 random bytes") from exc
        if len(key) != 32:
            raise ValueError("LAVA_MASTER_KEY must be base64 of 32 random bytes")
        return key
    path = data_dir / MASTER_KEY_FILE
    if path.exists():
        key = base64.b64decode(path.read_text().strip())
        if len(key) != 32:
            raise ValueError(f"{path} does not hold a 32-byte base64 key")
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return load_master_key(None, data_dir)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode("ascii") + "\n")
    return key
