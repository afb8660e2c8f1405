"""Large blobs as files: uploads of up to 1 GB must not sit in a dict or a SQLite row.

Both stores keep small blobs (``put_blob(key, bytes)``) where they keep everything else, and
streamed ones (``put_blob_stream``) here, one file per key under a directory: a temporary one
for the memory store, ``<database>-blobs/`` for SQLite. A file is written under a temporary
name, flushed and fsynced, then renamed into place, so a reader (or a restart) never sees half a
blob; the store records the key only after the rename, so an acknowledged upload is on disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

__all__ = ["BlobFiles"]

_CHUNK = 1 << 20


class BlobFiles:
    """Blob files under ``root`` (a private temporary directory when ``root`` is None)."""

    def __init__(
        self, root: str | os.PathLike[str] | None = None, *, durable: bool = False
    ) -> None:
        self._temporary = root is None
        self.root = Path(tempfile.mkdtemp(prefix="mockserver-blobs-") if root is None else root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.durable = durable

    def path(self, key: str) -> Path:
        """The file of ``key``: a digest, so any key (slashes, unicode) is a safe file name."""
        return self.root / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".blob")

    def write(self, key: str, source: BinaryIO) -> int:
        """Copy ``source`` to the key's file (atomically); return the number of bytes."""
        final = self.path(key)
        handle, temp = tempfile.mkstemp(dir=self.root, suffix=".part")
        size = 0
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                if self.durable:
                    os.fsync(out.fileno())
            os.replace(temp, final)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str) -> BinaryIO | None:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def sweep(self, keep: set[str]) -> int:
        """Delete files whose key is not in ``keep`` (crash leftovers); return how many."""
        wanted = {self.path(key).name for key in keep}
        removed = 0
        for entry in self.root.iterdir():
            if entry.name not in wanted:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def clear(self) -> None:
        for entry in self.root.iterdir():
            entry.unlink(missing_ok=True)

    def close(self) -> None:
        if self._temporary:
            shutil.rmtree(self.root, ignore_errors=True)
