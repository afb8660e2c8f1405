"""Media types from bytes, never from names: the magic numbers of every format we take.

A client's file name or ``Content-Type`` can say anything; the bytes cannot. :func:`sniff`
reads the first few KiB (:data:`SNIFF_BYTES`) and :func:`category` groups the result the way
providers route inputs (image, audio, video, text, archive, document).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = ["SNIFF_BYTES", "Category", "category", "sniff"]

#: How many leading bytes :func:`sniff` needs (a longer head is fine, a shorter one may be text
#: cut mid-character).
SNIFF_BYTES = 4096

Category: TypeAlias = Literal["image", "audio", "video", "text", "archive", "document", "unknown"]

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b\x08", "application/gzip"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
)
_RIFF = {b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo", b"WEBP": "image/webp"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_IMAGE_BRANDS = {b"avif": "image/avif", b"avis": "image/avif", b"heic": "image/heic"}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"pnot"}
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_ARCHIVES = {
    "application/zip",
    "application/gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-tar",
}


def sniff(head: bytes) -> str:
    """Name the media type of content from its first bytes (at least 512 for tar).

    Never looks at a file name: a ``.wav`` that is really a zip must be treated as a zip, or
    archive limits could be bypassed by renaming. Unknown content is
    ``application/octet-stream``; empty content too.
    """
    for prefix, media_type in _PREFIXES:
        if head.startswith(prefix):
            return media_type
    for check in (_riff, _iso_bmff, _ebml, _ogg, _bzip2, _tar, _bmp, _mpeg_frame, _text):
        found = check(head)
        if found:
            return found
    return "application/octet-stream"


def category(media_type: str) -> Category:
    """Group a media type into the families the providers route on."""
    family = media_type.partition("/")[0]
    if family in ("image", "audio", "video", "text"):
        return family  # type: ignore[return-value]  # narrowed by the membership test
    if media_type in _ARCHIVES:
        return "archive"
    if media_type == "application/pdf":
        return "document"
    return "unknown"


def _riff(head: bytes) -> str | None:
    return _RIFF.get(head[8:12]) if head.startswith(b"RIFF") else None


def _iso_bmff(head: bytes) -> str | None:
    """ISO base media (MP4, M4A, MOV, AVIF): an ``ftyp`` box whose major brand tells which."""
    box = head[4:8]
    if box != b"ftyp":
        size = int.from_bytes(head[:4], "big")
        return "video/quicktime" if box in _QUICKTIME_ATOMS and size not in range(2, 8) else None
    brand = head[8:12]
    if brand in _AUDIO_BRANDS:
        return "audio/mp4"
    if brand == b"qt  ":
        return "video/quicktime"
    return _IMAGE_BRANDS.get(brand, "video/mp4")


def _ebml(head: bytes) -> str | None:
    """Matroska and WebM share the EBML header; its DocType element (0x4282) tells them apart."""
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    at = head.find(b"\x42\x82", 4, 64)
    doc_type = head[at + 3 : at + 11] if at >= 0 else b""
    return "video/webm" if doc_type.startswith(b"webm") else "video/x-matroska"


def _ogg(head: bytes) -> str | None:
    if not head.startswith(b"OggS"):
        return None
    return "video/ogg" if b"\x80theora" in head[:512] else "audio/ogg"


def _bzip2(head: bytes) -> str | None:
    ok = head.startswith(b"BZh") and head[3:4].isdigit() and head[3:4] != b"0"
    return "application/x-bzip2" if ok and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90") else None


def _tar(head: bytes) -> str | None:
    return "application/x-tar" if head[257:262] == b"ustar" else None


def _bmp(head: bytes) -> str | None:
    """``BM`` alone would match text; require zero reserved bytes and a known DIB size."""
    if len(head) < 18 or not head.startswith(b"BM") or head[6:10] != b"\0\0\0\0":
        return None
    dib = int.from_bytes(head[14:18], "little")
    return "image/bmp" if dib in _BMP_HEADER_SIZES else None


def _mpeg_frame(head: bytes) -> str | None:
    """An MPEG audio frame header (11 sync bits) with a valid layer, bitrate and rate.

    Layer bits ``00`` with sync is an AAC ADTS header instead.
    """
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0b11
    if layer == 0:
        return "audio/aac" if head[1] & 0xF6 == 0xF0 else None
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    version = (head[1] >> 3) & 0b11
    return "audio/mpeg" if version != 1 and bitrate != 0xF and rate != 0b11 else None


def _text(head: bytes) -> str | None:
    """Valid UTF-8, no NUL, mostly printable; a full head may end in the middle of a character."""
    if not head or b"\0" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = exc.reason == "unexpected end of data" and len(head) >= SNIFF_BYTES
        if not cut or len(head) - exc.start > 3:
            return None
        text = head[: exc.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    readable = sum(1 for c in text if c.isprintable() or c in "\t\n\r\f")
    return "text/plain" if readable >= 0.95 * len(text) else None
