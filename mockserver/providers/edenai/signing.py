"""Eden AI's webhook signature: RSA over SHA-256 of the body, hex in ``x-edenai-signature``.

Eden signs each v2 webhook with its RSA private key and publishes the public key; the headers
are ``x-edenai-signature`` and ``x-edenai-hash-algorithm: SHA256``, and the hash is over the
JSON body serialized with ``indent=2`` (``../shared/reference/edenai-async.md`` §6). The v2
docs do not say how the signature is encoded; the v3 docs say hex and PKCS#1 v1.5, which is
what we do. We send the body exactly as it was hashed, so a receiver verifies the raw bytes,
or ``json.dumps(json.loads(body), indent=2)`` as Eden's sample does; both give the same bytes.

The key pair is ours, never Eden's: loaded from ``--eden-signing-key`` (a PEM private key),
or generated once and kept in the job store, so a server on the SQLite store keeps signing
with the same key across restarts and a receiver's saved public key stays valid. The public
half is served at ``GET /_mock/edenai/webhook-key``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ...engine.records import Delivery
from ...engine.store import JobStore

__all__ = [
    "ALGORITHM_HEADER",
    "KEY_BLOB",
    "SIGNATURE_HEADER",
    "SIGNER_NAME",
    "EdenSigner",
    "KeyRing",
    "check_key_file",
    "verify",
]

SIGNER_NAME = "edenai-rsa"
SIGNATURE_HEADER = "x-edenai-signature"
ALGORITHM_HEADER = "x-edenai-hash-algorithm"
KEY_BLOB = "_edenai/webhook-signing-key.pem"
KEY_BITS = 2048


class KeyRing:
    """The server's one signing key, loaded or made on first use (key generation takes ~0.1 s)."""

    def __init__(self, store: JobStore, path: str | None = None) -> None:
        self._store = store
        self._path = path
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = self._load()
            return self._key

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def persist(self) -> None:
        """Put a generated key back in the store after a full reset emptied it: receivers keep
        the public key they fetched, so a reset must not change it."""
        with self._lock:
            if self._key is not None and not self._path and self._store.get_blob(KEY_BLOB) is None:
                self._store.put_blob(KEY_BLOB, _pem(self._key))

    def sign(self, body: bytes) -> str:
        """Hex PKCS#1 v1.5 signature of SHA-256(``body``)."""
        return self.private_key.sign(body, padding.PKCS1v15(), hashes.SHA256()).hex()

    def _load(self) -> rsa.RSAPrivateKey:
        if self._path:
            return _private_key(Path(self._path).read_bytes(), self._path)
        stored = self._store.get_blob(KEY_BLOB)
        if stored is not None:
            return _private_key(stored, "the job store")
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        self._store.put_blob(KEY_BLOB, _pem(key))
        return key


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _private_key(pem: bytes, where: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"Eden AI signing key from {where}: not an unencrypted PEM: {exc}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"Eden AI signing key from {where}: expected an RSA key")
    return key


def check_key_file(path: str) -> str | None:
    """Settings check: None when ``path`` holds an unencrypted RSA private key in PEM."""
    try:
        _private_key(Path(path).read_bytes(), path)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except ValueError as exc:
        return str(exc)
    return None


class EdenSigner:
    """The outbox signer for Eden deliveries (registered as :data:`SIGNER_NAME`)."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def __call__(self, delivery: Delivery, body: bytes, now: float) -> dict[str, str]:
        return {SIGNATURE_HEADER: self._keys.sign(body), ALGORITHM_HEADER: "SHA256"}


def verify(public_pem: str, body: bytes, signature_hex: str) -> bool:
    """What a receiver does: True when ``signature_hex`` signs ``body`` under ``public_pem``."""
    from cryptography.exceptions import InvalidSignature

    key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(bytes.fromhex(signature_hex), body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True
