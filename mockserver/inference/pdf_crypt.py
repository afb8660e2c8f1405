"""The PDF standard security handler, RC4 revisions 2 and 3 (ISO 32000-1 §7.6.3, algorithms 2-5).

Used both ways: the fixture writer encrypts a sample invoice with a user password, and the
reader checks a ``file_password`` and decrypts streams. AES (revision 4 with AESV2, 5 and 6) is
not implemented: such files are reported as unsupported, not misread.
"""

from __future__ import annotations

import hashlib
import struct

__all__ = ["PAD", "SecurityHandler", "owner_entry", "rc4", "user_entry"]

PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key: bytes, data: bytes) -> bytes:
    """RC4 (symmetric: the same call encrypts and decrypts)."""
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray(len(data))
    i = j = 0
    for n, byte in enumerate(data):
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out[n] = byte ^ s[(s[i] + s[j]) & 0xFF]
    return bytes(out)


def _padded(password: bytes) -> bytes:
    return (password + PAD)[:32]


def owner_entry(owner: bytes, user: bytes, revision: int, length: int) -> bytes:
    """The ``/O`` value (algorithm 3)."""
    digest = hashlib.md5(_padded(owner or user)).digest()
    if revision >= 3:
        for _ in range(50):
            digest = hashlib.md5(digest).digest()
    key = digest[:length]
    out = rc4(key, _padded(user))
    if revision >= 3:
        for i in range(1, 20):
            out = rc4(bytes(b ^ i for b in key), out)
    return out


def file_key(password: bytes, o: bytes, p: int, doc_id: bytes, revision: int, length: int) -> bytes:
    """The document key from a user password (algorithm 2)."""
    md5 = hashlib.md5(_padded(password) + o + struct.pack("<i", p) + doc_id)
    digest = md5.digest()
    if revision >= 3:
        for _ in range(50):
            digest = hashlib.md5(digest[:length]).digest()
    return digest[:length]


def user_entry(key: bytes, doc_id: bytes, revision: int) -> bytes:
    """The ``/U`` value for a document key (algorithms 4 and 5)."""
    if revision < 3:
        return rc4(key, PAD)
    out = rc4(key, hashlib.md5(PAD + doc_id).digest())
    for i in range(1, 20):
        out = rc4(bytes(b ^ i for b in key), out)
    return out + b"\x00" * 16


class SecurityHandler:
    """Decrypts a document's streams once a user password has been checked."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def open(
        cls, encrypt: dict[str, object], doc_id: bytes, password: str
    ) -> SecurityHandler | None:
        """The handler if ``password`` opens the file, else None; ValueError if unsupported."""
        filt, v, r = encrypt.get("Filter"), encrypt.get("V", 0), encrypt.get("R", 2)
        if filt != "Standard" or v not in (1, 2) or r not in (2, 3):
            raise ValueError(f"unsupported PDF encryption (filter {filt}, V {v}, R {r})")
        length_bits = encrypt.get("Length", 40)
        length = int(length_bits) // 8 if isinstance(length_bits, int) and r >= 3 else 5
        o, u, p = encrypt.get("O"), encrypt.get("U"), encrypt.get("P")
        if not isinstance(o, bytes) or not isinstance(u, bytes) or not isinstance(p, int):
            raise ValueError("malformed PDF encryption dictionary")
        key = file_key(password.encode("latin-1", "replace"), o, p, doc_id, int(r), length)
        expected = user_entry(key, doc_id, int(r))
        check = 16 if r >= 3 else 32
        return cls(key) if expected[:check] == u[:check] else None

    def decrypt(self, num: int, gen: int, data: bytes) -> bytes:
        """Decrypt one string or stream of object ``num gen`` (algorithm 1)."""
        salt = struct.pack("<i", num)[:3] + struct.pack("<i", gen)[:2]
        obj_key = hashlib.md5(self.key + salt).digest()[: min(len(self.key) + 5, 16)]
        return rc4(obj_key, data)
