"""Known media by content: the sidecar text of a file whose bytes a client uploads.

An upload carries bytes and at best a file name, so the sidecar rule the URL resolver uses
(``clip.txt`` beside ``clip.wav``, :meth:`engine.fetch.Resolver.sidecar`) is applied by content:
every media file with a sidecar under the media roots (the bundled samples and ``--media-dir``)
is hashed once, on first use, and a request whose bytes match gets that text. Hugging Face's ASR
and Eden AI's speech-to-text use it for transcripts, Eden's OCR for the text of a scanned page.
Anything else gets what the inference code honestly can (for audio: nothing for silence, a
marked placeholder otherwise).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from .archives import sidecar_beside

__all__ = ["AUDIO_SUFFIXES", "MEDIA_SUFFIXES", "SidecarIndex"]

log = logging.getLogger("mockserver")

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".webm", ".aac"})
#: Every kind of file a sidecar may describe: audio, images, video and documents.
MEDIA_SUFFIXES = AUDIO_SUFFIXES | frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".mp4", ".mov", ".pdf"}
)
MAX_FILES = 5000  # a media directory is a fixture folder, not a corpus
MAX_BYTES = 64 << 20  # per file


class SidecarIndex:
    """sha256 of a media file -> its sidecar text, built lazily from ``roots``."""

    def __init__(self, roots: Iterable[Path], suffixes: Iterable[str] = MEDIA_SUFFIXES) -> None:
        self.roots = [Path(r) for r in roots]
        self.suffixes = frozenset(s.lower() for s in suffixes)
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
                if path.suffix.lower() not in self.suffixes or not path.is_file():
                    continue
                seen += 1
                if seen > MAX_FILES:
                    log.warning("sidecar index: more than %d media files, rest skipped", MAX_FILES)
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
