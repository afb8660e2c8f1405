"""Known clips by content: the sidecar transcript of an audio file whose bytes a client sends.

An ASR request carries raw bytes and no file name, so the sidecar rule the other faces use
(``clip.txt`` beside ``clip.wav``, :meth:`engine.fetch.Resolver.sidecar`) is applied by content:
every audio file with a sidecar under the media roots (the bundled samples and ``--media-dir``)
is hashed once, on first use, and a request whose bytes match gets that text. Anything else gets
what ``inference.audio_transcript`` honestly can: nothing for silence, a marked placeholder.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from ...engine.archives import sidecar_beside

__all__ = ["AUDIO_SUFFIXES", "TranscriptIndex"]

log = logging.getLogger("mockserver")

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".webm", ".aac"})
MAX_FILES = 5000  # a media directory is a fixture folder, not a corpus
MAX_BYTES = 64 << 20  # per file


class TranscriptIndex:
    """sha256 of an audio file -> its sidecar text, built lazily from ``roots``."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self._index: dict[str, str] | None = None
        self._lock = threading.Lock()

    def lookup(self, data: bytes) -> str | None:
        return self._built().get(hashlib.sha256(data).hexdigest())

    def _built(self) -> dict[str, str]:
        with self._lock:
            if self._index is None:
                self._index = self._scan()
            return self._index

    def _scan(self) -> dict[str, str]:
        index: dict[str, str] = {}
        seen = 0
        for root in self.roots:
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
                    continue
                seen += 1
                if seen > MAX_FILES:
                    log.warning(
                        "transcript index: more than %d audio files, rest skipped", MAX_FILES
                    )
                    return index
                text = sidecar_beside(path)
                if text is None:
                    continue
                try:
                    if path.stat().st_size > MAX_BYTES:
                        continue
                    index.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), text)
                except OSError:
                    continue
        return index
