"""A source (URL, upload or text) as the files it holds, and its entry in the predictions array.

Each element of ``GET /predictions`` is one source (``../shared/reference/hume-batch.md`` §7):
``{"source", "results": {"predictions", "errors"}}``, or ``{"source", "error"}`` when the
source could not be read at all (a URL with no media behind it, an upload whose archive is
corrupt or unsafe, an archive with no files). A plain file is a one-file source named after
the URL's last path segment or the upload's filename; an archive contributes one file per
member, named by its member path, with ``clip.txt`` beside ``clip.wav`` taken as the clip's
transcript (the same rule the media directory follows for URLs). Text inputs are one source
each, ``{"type": "text"}``, whose one file is called ``text`` [GUESS: the real name is unknown].
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ...engine.archives import Source as ArchiveFile
from ...engine.archives import expand, pair_sidecars
from ...engine.fetch import Resolver
from ...engine.media import Blob, Limits, MediaError, read_stream
from ...inference import InferenceUnavailable
from .predict import Crop, FileResult, Job, predict_file, predict_text
from .render import wire_source

__all__ = ["SourceOutcome", "measure_source", "source_name"]

log = logging.getLogger("mockserver.hume")
LIMITS = Limits()


@dataclass
class SourceOutcome:
    """The wire entry of one source plus the face crops its files produced (by file)."""

    wire: dict[str, Any]
    crops: list[tuple[str, Crop]] = field(default_factory=list)

    @property
    def counts(self) -> tuple[int, int]:
        """(predictions, errors) as the job's ``num_predictions``/``num_errors`` count them."""
        if "error" in self.wire:
            return 0, 1
        results = self.wire["results"]
        return len(results["predictions"]), len(results["errors"])


def source_name(item: dict[str, Any]) -> str:
    """The ``file`` of a non-archive source: URL basename, upload filename, or ``text``."""
    if item["type"] == "url":
        url = item["url"]
        if url[:5].lower() == "data:":
            return "data"
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:  # "https://[::1/x": the resolver says what is wrong with it
            return "url"
        path = unquote(parts.path)
        return posixpath.basename(path.rstrip("/")) or (host or "url")
    if item["type"] == "file":
        return str(item.get("filename") or "upload")
    return "text"


def measure_source(
    job: Job,
    item: dict[str, Any],
    *,
    resolver: Resolver,
    open_blob: Callable[[str], BinaryIO | None],
) -> SourceOutcome:
    """Read the source, run the job's models on each of its files, and shape the entry."""
    source = wire_source(item)
    if item["type"] == "text":
        return _outcome(source, [("text", _safely(lambda: predict_text(job, item["text"])))])
    try:
        with _files(item, resolver, open_blob) as files:
            results = [(f.path, _measure_file(job, f)) for f in files]
    except MediaError as exc:
        return SourceOutcome({"source": source, "error": exc.message})
    except (OSError, ValueError) as exc:
        # A source that cannot be read is that source's error: raised from a job's result, it
        # would fail every read of the job (a 500) and the scheduler would retry it forever.
        log.exception("hume: a source could not be read")
        return SourceOutcome({"source": source, "error": f"Unable to read source: {exc}"})
    return _outcome(source, results)


def _outcome(source: dict[str, Any], results: list[tuple[str, FileResult]]) -> SourceOutcome:
    predictions: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    crops: list[tuple[str, Crop]] = []
    for path, result in results:
        if result.prediction is not None:
            predictions.append({"file": path, **result.prediction})
        for message in dict.fromkeys(result.errors):
            errors.append({"message": message, "file": path})
        crops.extend((path, crop) for crop in result.crops)
    wire = {"source": source, "results": {"predictions": predictions, "errors": errors}}
    return SourceOutcome(wire, crops)


def _measure_file(job: Job, file: ArchiveFile) -> FileResult:
    return _safely(lambda: predict_file(job, file.blob, file.transcript))


def _safely(run: Callable[[], FileResult]) -> FileResult:
    """One file's failure is that file's error, never the job's (or a 500)."""
    try:
        return run()
    except InferenceUnavailable as exc:
        return FileResult(errors=[f"Inference unavailable: {exc}"])
    except Exception as exc:  # noqa: BLE001 - a decoder bug must not lose the other files
        log.exception("hume: a file could not be measured")
        return FileResult(errors=[f"Unable to process file: {type(exc).__name__}: {exc}"])


@contextlib.contextmanager
def _files(
    item: dict[str, Any], resolver: Resolver, open_blob: Callable[[str], BinaryIO | None]
) -> Iterator[list[ArchiveFile]]:
    """The files of a URL or upload source; blobs are closed when the block ends."""
    name = source_name(item)
    transcript = None
    if item["type"] == "url":
        blob = resolver.resolve(item["url"])
        transcript = resolver.sidecar(item["url"])
    else:
        handle = open_blob(item["blob"])
        if handle is None:
            raise MediaError("bad_archive", f"The upload {name!r} is no longer stored.", name=name)
        with handle:
            blob = read_stream(handle, name=name, limits=LIMITS)
    opened: list[Blob] = [blob]
    try:
        if blob.category == "archive":
            members = expand(blob, name=name, limits=LIMITS)
            opened.extend(m.blob for m in members)
            files = pair_sidecars(members)
            if not files:
                raise MediaError(
                    "bad_archive", f"The archive {name!r} contains no files.", name=name
                )
        else:
            files = [ArchiveFile(name, blob, transcript)]
        yield files
    finally:
        for each in opened:
            each.close()
