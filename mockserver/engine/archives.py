"""Expand uploaded archives without trusting them, and pair media files with transcripts.

Hume's batch API accepts ``.zip``, ``.tar.gz``, ``.tar.bz2`` and ``.tar.xz`` archives and reports
each prediction's ``file`` as the member path (``faces/100.jpg``). An archive is a program its
author wrote for us to run, so :func:`expand` reads it as a stream and stops at the first sign
of abuse: too many entries, too many expanded bytes, a compression ratio that only a bomb has
(measured on the decompressed bytes, never from header sizes), paths that climb out (zip slip),
and links or devices. Nothing is ever written under a member's own name, and nested archives
are returned as members, not opened.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, BinaryIO, cast

from mockserver.engine.media import Blob, Limits, MediaError, Readable, human_bytes, read_stream

__all__ = [
    "HEADER_BYTES",
    "MEMORY_BYTES",
    "TRANSCRIPT_BYTES",
    "Member",
    "Source",
    "expand",
    "pair_sidecars",
    "sidecar_beside",
    "transcript_text",
]

HEADER_BYTES = 1 << 20  # most metadata (tar headers, long names, pax records) between members
#: Expanded bytes one archive may keep in memory; later members spill to temporary files, so
#: an archive of many small files (or one entry listed many times) costs disk, not memory.
MEMORY_BYTES = 32 << 20
TRANSCRIPT_BYTES = 1 << 20  # a larger .txt is never read as a transcript
_CD_RECORD_BYTES = 4096  # a generous ceiling on one zip central-directory record
_TARS = {"application/x-tar", "application/gzip", "application/x-bzip2", "application/x-xz"}
_DRIVE = re.compile(r"[A-Za-z]:")
# What the stdlib readers raise on bad input (NotImplementedError is a RuntimeError).
_ARCHIVE_ERRORS: tuple[type[Exception], ...] = (zipfile.BadZipFile, tarfile.TarError, zlib.error)
_ARCHIVE_ERRORS += (lzma.LZMAError, struct.error, EOFError, OSError, ValueError, RuntimeError)


@dataclass(frozen=True)
class Member:
    """One file taken out of an archive (or an input that was not an archive)."""

    path: str
    blob: Blob


@dataclass(frozen=True)
class Source:
    """One unit of inference work: a file, plus the transcript found beside it, if any."""

    path: str
    blob: Blob
    transcript: str | None = None


def expand(blob: Blob, *, name: str, limits: Limits) -> list[Member]:
    """List the files inside an archive, in archive order; a non-archive is its own member.

    The kind of archive is read from the bytes (zip; tar, plain or gzip/bzip2/xz). Directories
    are skipped; member paths come back as normalised relative POSIX paths. The caller owns the
    returned blobs (and still owns ``blob``); on any error, those made so far are closed.
    """
    if blob.media_type == "application/zip":
        expander: Callable[[_Budget, list[Member]], None] = _expand_zip
    elif blob.media_type in _TARS:
        expander = _expand_tar
    else:
        return [Member(name, blob)]
    members: list[Member] = []
    try:
        try:
            expander(_Budget(blob, name, limits), members)
        except _ARCHIVE_ERRORS as exc:
            reason = str(exc) or type(exc).__name__
            message = (
                f"Archive {name!r} could not be read ({reason});"
                " send an intact, unencrypted archive."
            )
            raise MediaError("bad_archive", message, name=name) from exc
    except BaseException:
        for member in members:
            member.blob.close()
        raise
    return members


class _Budget:
    """Count what one archive has cost so far and refuse it the moment a limit is passed."""

    def __init__(self, blob: Blob, archive: str, limits: Limits) -> None:
        self.blob = blob
        self.archive = archive
        self.limits = limits
        self.entries = 0
        self.expanded = 0  # decompressed bytes seen, whole archive
        self.consumed = 0  # compressed bytes read so far (tar streams only)
        self.header: int | None = None  # bytes read since the current header began
        self.path = ""
        self.entry_out = 0
        self.entry_in: int | None = None  # the entry's packed size, or None: measure it
        self._entry_start = 0
        self.in_memory = 0  # bytes of the members so far that are held in memory

    def count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise MediaError(
                "too_many_entries",
                f"Archive {self.archive!r} has more than {self.limits.max_entries} entries;"
                " split it into smaller archives.",
                name=self.archive,
            )

    def start_entry(self, path: str, packed: int | None) -> None:
        self.path, self.entry_out = path, 0
        self.entry_in = packed
        self._entry_start = self.consumed

    def add_raw(self, count: int) -> None:
        self.consumed += count

    def add_expanded(self, count: int) -> None:
        """Account decompressed bytes: the archive total, its ratio, the header budget."""
        self.expanded += count
        if self.expanded > self.limits.max_total_bytes:
            raise MediaError(
                "archive_too_large",
                f"Archive {self.archive!r} expands to more than"
                f" {human_bytes(self.limits.max_total_bytes)}; split it into smaller archives.",
                name=self.archive,
            )
        what = f"Archive {self.archive!r}"
        self._check_ratio(self.expanded, self.blob.size, what, self.archive)
        if self.header is not None:
            self.header += count
            if self.header > HEADER_BYTES:
                raise tarfile.TarError(f"more than {human_bytes(HEADER_BYTES)} of tar metadata")

    def add_entry(self, count: int) -> None:
        self.entry_out += count
        packed = self.entry_in if self.entry_in is not None else self.consumed - self._entry_start
        what = f"Entry {self.path!r} of archive {self.archive!r}"
        self._check_ratio(self.entry_out, packed, what, self.path)

    def add_zip_chunk(self, count: int) -> None:
        self.add_entry(count)
        self.add_expanded(count)

    def _check_ratio(self, out: int, packed: int, what: str, name: str) -> None:
        limit = self.limits.max_ratio
        if out > self.limits.ratio_floor and out > limit * max(packed, 1):
            raise MediaError(
                "compression_ratio",
                f"{what} expands more than {limit:g} times its compressed size, which only"
                " decompression bombs do; send the files uncompressed or in smaller parts.",
                name=name,
            )


class _Meter:
    """Pass reads through, reporting each chunk's size to a callback that may refuse it."""

    def __init__(self, inner: Readable, report: Callable[[int], None]) -> None:
        self._inner = inner
        self._report = report

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        self._report(len(data))
        return data


def _read_member(reader: Readable, budget: _Budget, report: Callable[[int], None]) -> Blob:
    """Copy one member through the budget, naming the archive if it is too large."""
    limits = budget.limits
    if budget.in_memory >= MEMORY_BYTES:
        limits = replace(limits, spool_bytes=0)
    try:
        blob = read_stream(_Meter(reader, report), name=budget.path, limits=limits)
        if blob.in_memory:
            budget.in_memory += blob.size
        return blob
    except MediaError as exc:
        if exc.code != "too_large":
            raise
        limit = human_bytes(budget.limits.max_file_bytes)
        message = (
            f"Entry {budget.path!r} of archive {budget.archive!r} is larger than the limit of"
            f" {limit} per file; remove it or split it."
        )
        raise MediaError("too_large", message, name=budget.path) from exc


def _safe_path(raw: str, archive: str, *, is_dir: bool) -> str:
    """Normalise an entry name to a relative POSIX path, refusing anything that could escape.

    Backslashes are read as separators (Windows tools write them), so ``..\\x`` is caught too.
    """
    name = raw.replace("\\", "/")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    problem = None
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        problem = "has control characters in its name"
    elif any("\ud800" <= c <= "\udfff" for c in name):  # surrogate-escaped bytes
        problem = "has a name that is not valid UTF-8"
    elif name.startswith("/"):
        problem = "is an absolute path"
    elif _DRIVE.match(name):
        problem = "starts with a drive letter"
    elif ".." in parts:
        problem = "uses '..' to climb out of the archive"
    elif not parts and not is_dir:
        problem = "has an empty name"
    if problem:
        raise MediaError(
            "unsafe_path",
            f"Archive {archive!r} has an entry {raw!r} that {problem}; entries must be"
            " relative paths that stay inside the archive.",
            name=raw,
        )
    return "/".join(parts)


def _refuse_link(path: str, archive: str, what: str) -> MediaError:
    return MediaError(
        "link_entry",
        f"Archive {archive!r} has an entry {path!r} that {what}; only regular files and"
        " folders are accepted.",
        name=path,
    )


# --------------------------------------------------------------------------- zip


def _expand_zip(budget: _Budget, members: list[Member]) -> None:
    """Read a zip's central directory (size checked first), then each entry as a stream."""
    with budget.blob.open() as raw:
        _check_zip_directory(raw, budget)
        with zipfile.ZipFile(raw) as archive:
            infos = archive.infolist()
            for _ in infos:
                budget.count_entry()
            for info in infos:
                mode = info.external_attr >> 16
                is_dir = info.is_dir() or stat.S_ISDIR(mode)
                path = _safe_path(info.filename, budget.archive, is_dir=is_dir)
                if is_dir:
                    continue
                if stat.S_ISLNK(mode):
                    raise _refuse_link(path, budget.archive, "is a symbolic link")
                if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                    raise _refuse_link(path, budget.archive, "is a device, FIFO or socket")
                if info.flag_bits & 0x1:
                    raise zipfile.BadZipFile(f"entry {path!r} is encrypted")
                budget.start_entry(path, min(info.compress_size, budget.blob.size))
                with archive.open(info) as reader:
                    members.append(Member(path, _read_member(reader, budget, budget.add_zip_chunk)))


def _check_zip_directory(raw: BinaryIO, budget: _Budget) -> None:
    """Refuse a central directory too big for ``max_entries`` before zipfile loads it all.

    ``zipfile`` parses the whole directory into objects up front; a 1 GB archive of empty
    entries would cost many GB of memory before any per-entry check could run.
    """
    found = _zip_directory(raw, budget.blob.size)
    if found is None:
        return  # no end record we can read: zipfile will say what is wrong
    entries, directory_bytes = found
    limit = budget.limits.max_entries
    if entries > limit or directory_bytes > limit * _CD_RECORD_BYTES:
        raise MediaError(
            "too_many_entries",
            f"Archive {budget.archive!r} has more than {limit} entries;"
            " split it into smaller archives.",
            name=budget.archive,
        )


def _zip_directory(raw: BinaryIO, size: int) -> tuple[int, int] | None:
    """Read (entry count, central directory size) from the end records, zip64 included."""
    tail_size = min(size, 22 + 0xFFFF)
    raw.seek(size - tail_size)
    tail = raw.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory_bytes = struct.unpack("<10xHL6x", tail[at : at + 22])
    if entries != 0xFFFF and directory_bytes != 0xFFFFFFFF:
        return entries, directory_bytes
    locator = tail[at - 20 : at] if at >= 20 else b""
    if not locator.startswith(b"PK\x06\x07"):
        return entries, directory_bytes
    (offset,) = struct.unpack("<8xQ4x", locator)
    raw.seek(offset)
    record = raw.read(56)
    if len(record) < 56 or not record.startswith(b"PK\x06\x06"):
        return None
    entries64, directory64 = struct.unpack("<32xQQ8x", record)
    return entries64, directory64


# --------------------------------------------------------------------------- tar


def _expand_tar(budget: _Budget, members: list[Member]) -> None:
    """Stream a (compressed) tar once, front to back, metering both sides of the decompressor."""
    with ExitStack() as stack:
        raw = stack.enter_context(budget.blob.open())
        packed = _Meter(raw, budget.add_raw)
        plain = _decompressor(budget.blob.media_type, packed)
        if plain is not packed:
            stack.callback(cast(IO[bytes], plain).close)
        stream = cast(IO[bytes], _Meter(plain, budget.add_expanded))
        budget.header = 0
        archive = stack.enter_context(tarfile.open(fileobj=stream, mode="r|"))
        while (info := _next_header(archive, budget)) is not None:
            budget.count_entry()
            path = _safe_path(info.name, budget.archive, is_dir=info.isdir())
            if info.isdir():
                continue
            _check_tar_type(info, path, budget.archive)
            budget.start_entry(path, None)
            reader = archive.extractfile(info)
            assert reader is not None  # a regular member always has a reader
            with reader:
                members.append(Member(path, _read_member(reader, budget, budget.add_entry)))


def _decompressor(media_type: str, packed: _Meter) -> Readable:
    source = cast(IO[bytes], packed)
    if media_type == "application/gzip":
        return gzip.GzipFile(fileobj=source, mode="rb")
    if media_type == "application/x-bzip2":
        return bz2.BZ2File(source)
    if media_type == "application/x-xz":
        return lzma.LZMAFile(source)
    return packed


def _next_header(archive: tarfile.TarFile, budget: _Budget) -> tarfile.TarInfo | None:
    """Read the next member header, counting its bytes against the metadata budget.

    tarfile reads GNU long names and pax records whole into memory, so they are capped.
    """
    budget.header = 0
    info = archive.next()
    budget.header = None
    return info


def _check_tar_type(info: tarfile.TarInfo, path: str, archive: str) -> None:
    if info.issym():
        raise _refuse_link(path, archive, f"is a symbolic link to {info.linkname!r}")
    if info.islnk():
        raise _refuse_link(path, archive, f"is a hard link to {info.linkname!r}")
    if info.ischr() or info.isblk() or info.isfifo():
        raise _refuse_link(path, archive, "is a device or FIFO")
    if not info.isreg():
        raise _refuse_link(path, archive, "is not a regular file")
    if info.issparse():
        raise tarfile.TarError(f"entry {path!r} is a sparse file, which is not supported")


# --------------------------------------------------------------------------- sidecars


def pair_sidecars(members: Iterable[Member]) -> list[Source]:
    """Attach ``clip.txt`` to ``clip.wav`` as its transcript; keep everything else as is.

    Rules: a sidecar is a member whose name ends in ``.txt`` (any case) and whose bytes are
    UTF-8 text (or empty), at most ``TRANSCRIPT_BYTES``. An audio or video member pairs with
    the earliest unused sidecar in the same folder whose stem (name without its last suffix)
    is equal, case-sensitively: ``Clip.wav`` does not take ``clip.txt``, but ``clip.TXT`` is a
    sidecar of ``clip.wav``. Media are served in archive order, so with ``clip.wav`` and
    ``clip.mp4`` the first takes ``clip.txt`` and the second gets no transcript (or the next
    sidecar). A paired sidecar is consumed; an unpaired one stays a source of its own. The
    transcript is the text stripped of a BOM and surrounding whitespace (None if empty).
    Order is kept; blobs are not closed (the caller still owns the members).
    """
    items = list(members)
    sidecars: dict[tuple[str, str], list[int]] = {}
    texts: dict[int, str] = {}
    for index, member in enumerate(items):
        text = _sidecar_text(member)
        if text is not None:
            texts[index] = text
            sidecars.setdefault(_folder_and_stem(member.path), []).append(index)
    consumed: set[int] = set()
    paired: dict[int, str | None] = {}
    for index, member in enumerate(items):
        if member.blob.category not in ("audio", "video"):
            continue
        candidates = sidecars.get(_folder_and_stem(member.path), [])
        partner = next((i for i in candidates if i not in consumed and i != index), None)
        if partner is not None:
            consumed.add(partner)
            paired[index] = texts[partner] or None
    return [
        Source(member.path, member.blob, paired.get(index))
        for index, member in enumerate(items)
        if index not in consumed
    ]


def _sidecar_text(member: Member) -> str | None:
    """Return a sidecar's stripped text, or None when the member cannot be a sidecar."""
    blob = member.blob
    if not member.path.lower().endswith(".txt") or blob.size > TRANSCRIPT_BYTES:
        return None
    if blob.size and blob.category != "text":
        return None
    return transcript_text(blob.read_bytes())


def sidecar_beside(path: Path) -> str | None:
    """The transcript in ``clip.txt`` (or ``.TXT``) beside a local file ``clip.wav``; None
    without one, or when it is too large or not UTF-8 text."""
    for suffix in (".txt", ".TXT"):
        candidate = path.with_suffix(suffix)
        if candidate == path:
            continue
        try:
            if candidate.is_file():
                if candidate.stat().st_size > TRANSCRIPT_BYTES:
                    return None
                return transcript_text(candidate.read_bytes()) or None
        except OSError:
            return None
    return None


def transcript_text(data: bytes) -> str | None:
    """A sidecar's transcript: UTF-8 without a BOM, stripped; None when not UTF-8 text.

    One rule for archive members and for files beside a media URL's local file
    (:meth:`fetch.Resolver.sidecar`).
    """
    try:
        return data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return None


def _folder_and_stem(path: str) -> tuple[str, str]:
    folder, _, filename = path.rpartition("/")
    stem, dot, _ = filename.rpartition(".")
    return folder, stem if dot and stem else filename
