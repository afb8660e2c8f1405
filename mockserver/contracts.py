"""The OpenAPI contracts the server serves, one YAML file per API.

The files live in the repository's top-level ``contracts/`` directory; the package reaches them
through ``mockserver/_contracts`` (a link the wheel build copies), so a checkout and an installed
package serve the same bytes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CONTRACTS_DIR", "contract_path", "list_contracts", "load_contract"]

CONTRACTS_DIR = Path(__file__).resolve().parent / "_contracts"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def contract_path(name: str) -> Path | None:
    """The file of contract ``name`` (``control`` or ``control.yaml``), if it exists."""
    stem = name[:-5] if name.endswith(".yaml") else name
    if not _NAME.match(stem):
        return None
    path = CONTRACTS_DIR / f"{stem}.yaml"
    return path if path.is_file() else None


@functools.cache
def load_contract(name: str) -> dict[str, Any]:
    path = contract_path(name)
    if path is None:
        raise FileNotFoundError(f"no contract named {name!r} in {CONTRACTS_DIR}")
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def list_contracts() -> list[dict[str, Any]]:
    """Name, title, version and path of every served contract."""
    out = []
    for path in sorted(CONTRACTS_DIR.glob("*.yaml")):
        if not _NAME.match(path.stem):  # huggingface-stream.asyncapi.yaml: not OpenAPI
            continue
        info = load_contract(path.stem).get("info", {})
        out.append(
            {
                "name": path.stem,
                "title": info.get("title"),
                "version": info.get("version"),
                "url": f"/_mock/contracts/{path.stem}",
            }
        )
    return out
