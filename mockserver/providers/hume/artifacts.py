"""Build the ZIP that ``GET /v0/batch/jobs/{id}/artifacts`` returns, from the predictions array.

Hume documents only that artifacts are "a ZIP of CSV files, one per model", plus cropped faces
when ``face.save_faces`` is set; file names, folders and columns were never published
(``../shared/reference/hume-batch.md`` §9, GUESS). The layout below is therefore our design:

- ``README.txt``: one generated paragraph describing this layout and naming the CSVs present.
- ``<model>.csv`` for each model that produced at least one item, in the order ``face``,
  ``facemesh``, ``burst``, ``prosody``, ``language``, ``ner``: a header row, then one row per
  prediction item, in the order of the predictions array. The first columns identify the row:
  ``source`` (0-based index of the source in the predictions array), ``file`` (the path inside
  the source, as in the predictions), ``id`` (the group id: ``unknown``, ``face_0``, ``spk_0``).
  Then the model's own fields: face ``frame,time,prob,box_x,box_y,box_w,box_h``; facemesh none;
  burst ``begin,end``; prosody ``begin,end,text,confidence,speaker_confidence``; language
  ``text,position_begin,position_end,begin,end,confidence,speaker_confidence``; ner
  ``entity,link_word,uri,entity_confidence,support,position_begin,position_end,begin,end,
  confidence,speaker_confidence``. Then one column per emotion, named by its label, in the
  order the model's first item lists them (a label first seen in a later item is appended).
  Then, only when some item of that model carries the list, one column per label prefixed
  ``facs:``, ``descriptions:``, ``sentiment:`` and ``toxicity:``. An empty cell is a null or
  absent value (a null time interval leaves ``begin,end`` empty).
- ``errors.csv`` with columns ``source,file,message`` when any source failed as a whole
  (``file`` empty) or listed per-file errors.
- ``faces/<source index>/<file>/<frame>_<id>.png``: face crops, when the caller passes them
  (see :func:`crop_path`; the file path is sanitised so no entry can climb out on extraction).

CSVs are RFC 4180 (comma, double quotes, CRLF), UTF-8 without a BOM; numbers are written as
Python's ``str`` writes them, so ``float(cell)`` gives back the exact float. The bytes are
deterministic: fixed entry order, timestamps 1980-01-01 00:00:00, mode 0644, deflate. Each CSV
is streamed into its entry row by row, so a large job is never held twice in memory.
"""

from __future__ import annotations

import csv
import io
import stat
import textwrap
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

__all__ = ["MODEL_ORDER", "build_artifacts", "crop_path"]

#: The order of the model CSVs inside the archive.
MODEL_ORDER: tuple[str, ...] = ("face", "facemesh", "burst", "prosody", "language", "ner")

_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_EXTERNAL_ATTR = (stat.S_IFREG | 0o644) << 16
_UNIX = 3  # ZipInfo.create_system; its default depends on the host OS
_SPAN = (("begin", ("time", "begin")), ("end", ("time", "end")))
_POSITION = (("position_begin", ("position", "begin")), ("position_end", ("position", "end")))
_CONFIDENCES = (("confidence", ("confidence",)), ("speaker_confidence", ("speaker_confidence",)))
_Column = tuple[str, tuple[str, ...]]  # header, key path into the item

#: Each model's own columns, between ``source,file,id`` and the label columns.
_FIELDS: dict[str, tuple[_Column, ...]] = {
    "face": (
        ("frame", ("frame",)),
        ("time", ("time",)),
        ("prob", ("prob",)),
        ("box_x", ("box", "x")),
        ("box_y", ("box", "y")),
        ("box_w", ("box", "w")),
        ("box_h", ("box", "h")),
    ),
    "facemesh": (),
    "burst": _SPAN,
    "prosody": (*_SPAN, ("text", ("text",)), *_CONFIDENCES),
    "language": (("text", ("text",)), *_POSITION, *_SPAN, *_CONFIDENCES),
    "ner": (
        ("entity", ("entity",)),
        ("link_word", ("link_word",)),
        ("uri", ("uri",)),
        ("entity_confidence", ("entity_confidence",)),
        ("support", ("support",)),
        *_POSITION,
        *_SPAN,
        *_CONFIDENCES,
    ),
}
#: Score lists, in column order, and the prefix of their columns.
_SCORE_LISTS = (
    ("emotions", ""),
    ("facs", "facs:"),
    ("descriptions", "descriptions:"),
    ("sentiment", "sentiment:"),
    ("toxicity", "toxicity:"),
)
_IDENTITY = ("source", "file", "id")
_ERROR_HEADER = ("source", "file", "message")


class _RowWriter(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


@dataclass
class _Table:
    """What the first pass learns about one model: its label columns and row count."""

    model: str
    labels: dict[str, dict[str, None]] = field(default_factory=dict)  # list key -> ordered names
    rows: int = 0

    def header(self) -> list[str]:
        head = [*_IDENTITY, *(name for name, _ in _FIELDS[self.model])]
        for key, prefix in _SCORE_LISTS:
            head.extend(prefix + label for label in self.labels.get(key, ()))
        return head


def crop_path(source_index: int, file: str, frame: int, group_id: str, *, nth: int = 0) -> str:
    """Name a face crop ``faces/<source index>/<file>/<frame>_<id>.png`` inside the archive.

    ``file`` comes from an uploaded archive, so it is sanitised: backslashes count as
    separators, and empty, ``.`` and ``..`` segments are dropped (no leading ``/``, no
    climbing out); control characters and lone surrogates become ``_``. Slashes in
    ``group_id`` become ``_``. ``nth`` > 0 tells apart faces that share frame and id (several
    ``unknown`` faces in one frame): ``<frame>_<id>_<nth>.png``, the name
    :func:`build_artifacts` gives a repeat.
    """
    if source_index < 0 or frame < 0 or nth < 0:
        raise ValueError("crop_path: source_index, frame and nth must be >= 0")
    ident = _clean_segment(group_id.replace("/", "_").replace("\\", "_"))
    suffix = f"_{nth}" if nth else ""
    return f"faces/{source_index}/{_clean_path(file)}/{frame}_{ident}{suffix}.png"


def build_artifacts(
    predictions: Sequence[Mapping[str, Any]],
    crops: Iterable[tuple[str, bytes]] = (),
    *,
    out: BinaryIO | None = None,
) -> bytes | None:
    """Write the artifacts ZIP of a job's predictions (the exact ``/predictions`` wire array).

    ``crops`` are ``(path, png)`` pairs named with :func:`crop_path`; they are written last, in
    the order given, and consumed lazily. A name that is not a clean ``faces/...`` path raises
    ValueError; a repeated name gets ``_1``, ``_2``... before its extension. With ``out`` the
    archive goes there and None is returned; else its bytes are. A seekable ``out`` receives
    exactly the bytes the in-memory variant returns; a non-seekable one gets an equally
    deterministic archive that uses data descriptors (the zipfile module cannot seek back).
    """
    if out is None:
        buffer = io.BytesIO()
        _write(predictions, crops, buffer)
        return buffer.getvalue()
    _write(predictions, crops, out)
    return None


def _write(
    predictions: Sequence[Mapping[str, Any]], crops: Iterable[tuple[str, bytes]], out: BinaryIO
) -> None:
    """Write the entries in their fixed order: README, model CSVs, errors, crops."""
    tables = _plan(predictions)
    errors = list(_error_rows(predictions))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_info("README.txt"), _readme(tables, len(errors)).encode("utf-8"))
        for table in tables:
            with _csv_entry(archive, f"{table.model}.csv") as writer:
                writer.writerow(table.header())
                for row in _model_rows(predictions, table):
                    writer.writerow(row)
        if errors:
            with _csv_entry(archive, "errors.csv") as writer:
                writer.writerow(_ERROR_HEADER)
                for error_row in errors:
                    writer.writerow(error_row)
        _write_crops(archive, crops)


def _plan(predictions: Sequence[Mapping[str, Any]]) -> list[_Table]:
    """Collect each model's label columns (first-seen order) and rows; drop empty models."""
    tables = []
    for model in MODEL_ORDER:
        table = _Table(model)
        for _, _, _, item in _items(predictions, model):
            table.rows += 1
            for key, _ in _SCORE_LISTS:
                scores = item.get(key)
                if scores is not None:
                    names = table.labels.setdefault(key, {})
                    names.update((str(score.get("name")), None) for score in scores)
        if table.rows:
            tables.append(table)
    return tables


def _items(
    predictions: Sequence[Mapping[str, Any]], model: str
) -> Iterator[tuple[int, str, str, Mapping[str, Any]]]:
    """Yield ``(source index, file, group id, item)`` for every item of one model, in order."""
    for index, source in enumerate(predictions):
        results = source.get("results") or {}
        for prediction in results.get("predictions") or ():
            output = (prediction.get("models") or {}).get(model) or {}
            for group in output.get("grouped_predictions") or ():
                for item in group.get("predictions") or ():
                    yield index, prediction.get("file"), group.get("id"), item


def _model_rows(predictions: Sequence[Mapping[str, Any]], table: _Table) -> Iterator[list[str]]:
    """Yield one CSV row per item of the table's model, cells in header order."""
    columns = _FIELDS[table.model]
    for index, file, group_id, item in _items(predictions, table.model):
        row = [str(index), _cell(file), _cell(group_id)]
        row.extend(_cell(_dig(item, path)) for _, path in columns)
        for key, _ in _SCORE_LISTS:
            labels = table.labels.get(key)
            if labels:
                scores = {str(s.get("name")): s.get("score") for s in item.get(key) or ()}
                row.extend(_cell(scores.get(label)) for label in labels)
        yield row


def _error_rows(predictions: Sequence[Mapping[str, Any]]) -> Iterator[list[str]]:
    """Yield ``source,file,message`` for source-level failures and per-file errors, in order."""
    for index, source in enumerate(predictions):
        if source.get("error") is not None:
            yield [str(index), "", _cell(source["error"])]
        results = source.get("results") or {}
        for error in results.get("errors") or ():
            yield [str(index), _cell(error.get("file")), _cell(error.get("message"))]


def _dig(item: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """Follow keys into nested objects; a missing or null step gives None."""
    value: Any = item
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _cell(value: Any) -> str:
    """Render one value: empty for null, ``str`` for numbers (exact for floats)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _readme(tables: Sequence[_Table], errors: int) -> str:
    """Write the archive's one-paragraph README, naming the CSVs present."""
    files = [f"{t.model}.csv ({_rows(t.rows)})" for t in tables]
    if errors:
        files.append(f"errors.csv ({_rows(errors)})")
    present = ", ".join(files) if files else "none (the job produced no predictions or errors)"
    text = (
        "Artifacts of a Hume Expression Measurement batch job, written by mockserver, an "
        "emulator; Hume never documented this archive's layout, so it is the emulator's own "
        f"design. CSV files: {present}. Each model CSV (UTF-8, RFC 4180, CRLF line ends) has a "
        "header row and one row per prediction item: source (0-based index into the "
        "predictions array), file (path inside that source), id (group id), the model's own "
        "fields (time intervals as begin,end), one column per emotion label, then columns "
        "prefixed facs:, descriptions:, sentiment: and toxicity: where the model produced "
        "those lists; an empty cell means null. errors.csv, when present, has "
        "source,file,message (file empty when a whole source failed). Saved face crops are "
        "PNG files under faces/<source index>/<file>/<frame>_<id>.png."
    )
    return textwrap.fill(text, width=78) + "\n"


def _rows(n: int) -> str:
    """Count rows in words: ``1 row``, ``2 rows``."""
    return f"{n} row" if n == 1 else f"{n} rows"


def _info(name: str) -> zipfile.ZipInfo:
    """Make a ZipInfo with the fixed time, mode, host system and compression."""
    info = zipfile.ZipInfo(name, date_time=_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _UNIX
    info.external_attr = _EXTERNAL_ATTR
    return info


@contextmanager
def _csv_entry(archive: zipfile.ZipFile, name: str) -> Iterator[_RowWriter]:
    """Open one archive entry for streaming CSV rows (UTF-8, no BOM, CRLF).

    JSON lets a client send lone surrogates, which UTF-8 cannot carry: they become ``?``
    rather than failing the whole archive halfway.
    """
    with (
        archive.open(_info(name), "w") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as text,
    ):
        yield csv.writer(text, lineterminator="\r\n")


def _write_crops(archive: zipfile.ZipFile, crops: Iterable[tuple[str, bytes]]) -> None:
    """Add face crops in the given order, refusing unclean names and renaming repeats."""
    used: set[str] = set()
    for name, data in crops:
        if not name.startswith("faces/") or _clean_path(name) != name:
            raise ValueError(f"crop name {name!r} is not a clean faces/... path; use crop_path")
        unique, n = name, 0
        while unique in used:
            n += 1
            stem, dot, ext = name.rpartition(".")
            unique = f"{stem}_{n}.{ext}" if dot else f"{name}_{n}"
        used.add(unique)
        archive.writestr(_info(unique), data)


def _clean_path(path: str) -> str:
    """Make an untrusted path relative and flat of tricks: see :func:`crop_path`."""
    segments = path.replace("\\", "/").split("/")
    kept = [_clean_segment(s) for s in segments if s not in ("", ".", "..")]
    return "/".join(kept) or "_"


def _clean_segment(segment: str) -> str:
    """Replace control characters and lone surrogates (tar names decode to them) with ``_``."""
    return "".join("_" if _unfit(ord(c)) else c for c in segment)


def _unfit(code: int) -> bool:
    """Tell whether a code point has no place in an archive member name."""
    return code < 32 or code == 127 or 0xD800 <= code <= 0xDFFF
