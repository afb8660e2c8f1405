"""Local datasets for bulk jobs: ``{root}/{name}/{config}/{split}.jsonl`` (or ``.csv``).

The real service read a Hub dataset by name, config, split and column. Offline, a dataset is a
folder under the bundled ``fixtures/datasets`` or ``--hf-datasets``: the name may hold a slash
(``ApiInferenceTest/asr_dummy``), each config is a sub-folder, each split one JSONL or CSV file.
A config may be left out when the dataset has exactly one (or keeps its splits at the top);
``manage.py`` in api-inference-community inferred configs the same way. Parquet is not read: it
would add pyarrow (tens of MB) for a format fixtures do not need.

Audio columns hold a path, resolved against the split file's folder and then the media roots,
so a fixture dataset can point at the bundled clips instead of copying them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ...validation import load_json

__all__ = ["MAX_ROWS", "Column", "DatasetError", "open_column"]

MAX_ROWS = 100_000
MAX_FILE_BYTES = 256 << 20
SUFFIXES = (".jsonl", ".csv")


class DatasetError(Exception):
    """A dataset request that cannot be served; ``status`` 404 (missing) or 400 (bad ask)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Column:
    """One column of one split, with where it came from."""

    name: str
    config: str | None
    split: str
    column: str
    path: Path
    values: tuple[Any, ...]


def _is_dir(path: Path) -> bool:
    """``is_dir()``, False for a name the file system refuses (too long, a NUL): not there."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _safe_parts(value: str, what: str) -> tuple[str, ...]:
    parts = PurePosixPath(value).parts
    if not value or value.startswith("/") or any(p in ("..", ".", "") for p in parts):
        raise DatasetError(400, f"Invalid {what} {value!r}")
    return parts


def open_column(
    roots: Sequence[Path],
    name: str,
    config: str | None,
    split: str,
    column: str | None,
    *,
    prefer: Sequence[str] = ("text",),
) -> Column:
    """Find and read one column; ``prefer`` names the columns tried when none is given."""
    if not isinstance(name, str) or not name:
        raise DatasetError(400, "dataset_name is required")
    parts = _safe_parts(name, "dataset_name")
    if config is not None:
        _safe_parts(config, "dataset_config")
    _safe_parts(split, "dataset_split")
    folder = next((r.joinpath(*parts) for r in roots if _is_dir(r.joinpath(*parts))), None)
    if folder is None:
        raise DatasetError(404, f"Dataset {name} does not exist")
    base, used_config = _config_folder(folder, name, config)
    path = next((base / f"{split}{s}" for s in SUFFIXES if _is_file(base / f"{split}{s}")), None)
    if path is None:
        available = sorted(p.stem for p in base.iterdir() if p.suffix in SUFFIXES)
        raise DatasetError(
            404,
            f"Split {split!r} not found in dataset {name}"
            + (f" (config {used_config!r})" if used_config else "")
            + f"; available splits: {', '.join(available) or 'none'}",
        )
    rows = _read_rows(path)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    chosen = column or next((c for c in prefer if c in columns), None)
    if chosen is None and len(columns) == 1:
        chosen = columns[0]
    if chosen is None or chosen not in columns:
        wanted = repr(column) if column else "dataset_column"
        raise DatasetError(
            400,
            f"Column {wanted} not found in {name}/{split} (columns: {', '.join(columns)})"
            if column
            else f"{wanted} is required: {name}/{split} has columns {', '.join(columns)}",
        )
    return Column(name, used_config, split, chosen, path, tuple(r.get(chosen) for r in rows))


def _config_folder(folder: Path, name: str, config: str | None) -> tuple[Path, str | None]:
    configs = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if config:
        if _is_dir(folder / config):
            return folder / config, config
        if config == "default" and not configs:
            return folder, None
        raise DatasetError(
            404,
            f"Config {config!r} not found in dataset {name}; available: "
            f"{', '.join(configs) or 'default'}",
        )
    if not configs:
        return folder, None
    if len(configs) == 1:
        return folder / configs[0], configs[0]
    raise DatasetError(400, f"Dataset {name} has several configs, pick one: {', '.join(configs)}")


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DatasetError(400, f"{path.name} is larger than {MAX_FILE_BYTES >> 20} MB")
    text = path.read_text(encoding="utf-8-sig")
    rows: list[dict[str, Any]] = []
    if path.suffix == ".csv":
        rows = [dict(r) for r in csv.DictReader(io.StringIO(text))]
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = load_json(line)
            except ValueError as exc:
                raise DatasetError(400, f"{path.name} line {number}: invalid JSON: {exc}") from None
            if not isinstance(row, dict):
                raise DatasetError(400, f"{path.name} line {number}: expected a JSON object")
            rows.append(row)
    if len(rows) > MAX_ROWS:
        raise DatasetError(400, f"{path.name} has {len(rows)} rows; at most {MAX_ROWS} run")
    if not rows:
        raise DatasetError(400, f"{path.name} has no rows")
    return rows


def resolve_file(value: Any, split_file: Path, media_roots: Sequence[Path]) -> Path | None:
    """An audio cell (``"audio/happy.wav"`` or ``{"path": ...}``) -> a local file, or None."""
    if isinstance(value, dict):
        value = value.get("path")
    if not isinstance(value, str) or not value:
        return None
    try:
        parts = _safe_parts(value, "path")
    except DatasetError:
        return None
    for base in (split_file.parent, *media_roots):
        candidate = base.joinpath(*parts)
        if _is_file(candidate):
            return candidate
    return None
