"""Media inputs as bounded, hashed, sniffed blobs: the shared front door of every provider.

Hume takes ``urls`` and uploaded ``file`` parts, each a media file or an archive (``.zip``,
``.tar.gz``, ``.tar.bz2``, ``.tar.xz``), at most 1 GB per file; Eden AI takes ``file`` or
``file_url``. Whatever arrives, it is copied once through :func:`read_stream` (64 KiB chunks,
MD5 on the way, refused the moment it passes its limit, spilled to a temporary file past
``Limits.spool_bytes`` so memory stays flat) and typed by its bytes, never by its name.

Public API, by module::

    media     MediaError(code: ErrorCode, message, *, name=None)   .code .message .name
              Limits(max_file_bytes, max_entries, max_total_bytes, max_ratio,
                     ratio_floor, spool_bytes)
              Blob.from_bytes(data, *, name) -> Blob   .name .size .md5 .media_type
                  .category .head .in_memory  .open() -> BinaryIO  .read_bytes()  .close()
              read_stream(stream, *, name, limits) -> Blob
    sniff     sniff(head) -> str;  category(media_type) -> Category  (re-exported by media)
    archives  expand(blob, *, name, limits) -> list[Member]      Member(path, blob)
              pair_sidecars(members) -> list[Source]   Source(path, blob, transcript)
    fetch     Resolver(root=None, url_map=None, *, fetch=False, allow=None, limits=None,
                       timeout=10.0, max_seconds=300.0, lookup=system_lookup,
                       ssl_context=None).resolve(url) -> Blob
              address_problem(address, allow) -> str | None

Every refusal is a :class:`MediaError` whose ``code`` is one of :data:`ERROR_CODES`, so a
provider can map it onto its own error envelope without parsing messages. Blobs own temporary
files: whoever receives one closes it (``with blob:``), or it is removed when collected.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Literal, Protocol, TypeAlias, get_args

from .sniff import SNIFF_BYTES, Category, category, sniff

__all__ = [
    "CHUNK_BYTES",
    "ERROR_CODES",
    "ErrorCode",
    "SNIFF_BYTES",
    "Blob",
    "Category",
    "Limits",
    "MediaError",
    "Readable",
    "category",
    "human_bytes",
    "read_stream",
    "sniff",
]

CHUNK_BYTES = 64 * 1024
ErrorCode: TypeAlias = Literal[
    "too_large",
    "too_many_entries",
    "archive_too_large",
    "compression_ratio",
    "unsafe_path",
    "link_entry",
    "bad_archive",
    "unresolvable_url",
    "fetch_refused",
    "fetch_failed",
    "unsupported_url",
]
ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))


class MediaError(Exception):
    """Refuse one input with a stable machine ``code`` and a sentence a user can act on.

    ``name`` is the file, archive entry or URL concerned (None when the request as a whole is
    at fault), so a provider can report it in the vendor's per-file error shape.
    """

    def __init__(self, code: ErrorCode, message: str, *, name: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown media error code {code!r}")
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.name = name

    def __repr__(self) -> str:
        return f"MediaError({self.code!r}, {self.message!r}, name={self.name!r})"


@dataclass(frozen=True)
class Limits:
    """Bound what one input may cost; the defaults follow Hume's batch API (1 GB per file).

    ``max_ratio`` (expanded / compressed bytes) is enforced only once more than ``ratio_floor``
    bytes came out, so tiny, very compressible files (an empty transcript, a blank image) pass
    while a bomb is stopped after at most ``ratio_floor`` bytes per entry. Keep the floor at
    1 MiB or more: bzip2 decodes 900 kB blocks whole, so an entry's first block can look free.
    """

    max_file_bytes: int = 1 << 30
    max_entries: int = 10_000
    max_total_bytes: int = 4 << 30
    max_ratio: float = 200.0
    ratio_floor: int = 1 << 20
    spool_bytes: int = 8 << 20

    def __post_init__(self) -> None:
        for field in ("max_file_bytes", "max_entries", "max_total_bytes", "max_ratio"):
            if getattr(self, field) <= 0:
                raise ValueError(f"Limits.{field} must be positive")
        if self.ratio_floor < 0 or self.spool_bytes < 0:
            raise ValueError("Limits.ratio_floor and Limits.spool_bytes must not be negative")


class Readable(Protocol):
    """Anything with ``read(size)``: files, HTTP responses, zip and tar member readers."""

    def read(self, size: int = ..., /) -> bytes: ...


def human_bytes(count: int) -> str:
    """Spell a byte count the way a limit is stated ("1 GiB", "8 MiB", "300 bytes")."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            value = count / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


class Blob:
    """The content of one file: size, MD5, sniffed type, and fresh readers on demand.

    Small content lives in memory; large content in a private temporary file that is removed
    by :meth:`close` (or when the blob is garbage collected), so a 1 GB upload never sits in
    RAM. Build one with :meth:`from_bytes` or :func:`read_stream`, not with the constructor.
    """

    def __init__(
        self,
        *,
        name: str,
        size: int,
        md5: str,
        head: bytes,
        data: bytes | None = None,
        path: str | None = None,
    ) -> None:
        if (data is None) == (path is None):
            raise ValueError("a Blob is backed by exactly one of data or path")
        self.name = name
        self.size = size
        self.md5 = md5
        self.head = head
        self.media_type = sniff(head)
        self.category: Category = category(self.media_type)
        self._data = data
        self._path = path
        self._closed = False
        self._finalizer = weakref.finalize(self, _unlink, path) if path else None

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str) -> Blob:
        """Wrap bytes already in memory (tests, small request bodies, data: URLs)."""
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return cls(name=name, size=len(data), md5=digest, head=data[:SNIFF_BYTES], data=data)

    @property
    def in_memory(self) -> bool:
        """Tell whether the content is held in memory rather than in a temporary file."""
        return self._data is not None

    def open(self) -> BinaryIO:
        """Return a new reader positioned at the start; the caller closes it."""
        if self._closed:
            raise ValueError(f"blob {self.name!r} is closed")
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self._path is not None
        return open(self._path, "rb")  # noqa: SIM115 - handed to the caller, who closes it

    def read_bytes(self) -> bytes:
        """Return the whole content; meant for small files (transcripts, tests)."""
        if self._data is not None and not self._closed:
            return self._data
        with self.open() as reader:
            return reader.read()

    def close(self) -> None:
        """Release the content (delete the temporary file); closing twice is harmless."""
        self._closed = True
        self._data = None
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> Blob:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "memory" if self._data is not None else "file"
        return f"<Blob {self.name!r} {self.size} bytes {self.media_type} in {where}>"


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class _Spool:
    """Collect chunks in memory, moving to a temporary file once past ``spool_bytes``."""

    def __init__(self, name: str, spool_bytes: int) -> None:
        self._name = name
        self._spool_bytes = spool_bytes
        self._buffer = io.BytesIO()
        self._file: BinaryIO | None = None
        self._path: str | None = None
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._head = b""
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._md5.update(chunk)
        if len(self._head) < SNIFF_BYTES:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
        if self._file is None and self.size > self._spool_bytes:
            self._roll_over()
        (self._file or self._buffer).write(chunk)

    def _roll_over(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="mockserver-media-")
        self._file = os.fdopen(fd, "wb")
        with self._buffer.getbuffer() as view:
            self._file.write(view)
        self._buffer = io.BytesIO()

    def finish(self) -> Blob:
        digest = self._md5.hexdigest()
        if self._file is None:
            data = self._buffer.getvalue()
            return Blob(name=self._name, size=self.size, md5=digest, head=self._head, data=data)
        self._file.close()
        return Blob(name=self._name, size=self.size, md5=digest, head=self._head, path=self._path)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            _unlink(self._path)


def read_stream(stream: Readable, *, name: str, limits: Limits) -> Blob:
    """Copy a stream into a :class:`Blob`, refusing it as soon as it passes the file limit.

    Never reads more than one byte past ``limits.max_file_bytes``: a client that announces a
    small body and then keeps sending is stopped as early as one that announces a huge one.
    Exceptions from ``stream`` propagate unchanged (callers wrap them in their own codes).
    """
    spool = _Spool(name, limits.spool_bytes)
    try:
        while True:
            room = limits.max_file_bytes - spool.size
            chunk = stream.read(min(CHUNK_BYTES, room + 1))
            if not chunk:
                return spool.finish()
            if len(chunk) > room:
                raise MediaError(
                    "too_large",
                    f"{name!r} is larger than the limit of {human_bytes(limits.max_file_bytes)}"
                    " per file; split it or send a smaller file.",
                    name=name,
                )
            spool.write(chunk)
    except BaseException:
        spool.abort()
        raise
