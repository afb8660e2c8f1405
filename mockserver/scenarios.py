"""Named fault scenarios: YAML files of rules in ``fixtures/scenarios/`` (or any path).

A scenario file is ``{description, mode?, rules: [...]}`` with rules in the form
``engine/faults.py`` parses (``match``, ``action``, ``times``). ``--scenario NAME`` installs one
server-wide at start-up (and again after a full reset); the control API installs one for a tenant
(``POST /_mock/faults {"scenario": NAME, "tenant": KEY}``); the ``X-Mock-Scenario`` header
applies one to a single request. A name is looked up in the bundled folder; a value with a slash
or a ``.yaml`` suffix is a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .engine.faults import FaultError, Mode, parse_rules

__all__ = ["SCENARIOS_DIR", "Scenario", "list_scenarios", "load_scenario"]

#: The bundled scenarios (``mockserver/_scenarios`` links to ``fixtures/scenarios``).
SCENARIOS_DIR = Path(__file__).with_name("_scenarios")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    mode: Mode
    #: The raw rules (parsed, hence checked, when loaded; installed from this form).
    rules: list[Any]


def _path(name: str) -> Path:
    if "/" in name or name.endswith((".yaml", ".yml")):
        return Path(name)
    return SCENARIOS_DIR / f"{name}.yaml"


def load_scenario(name: str) -> Scenario:
    """Read and check a scenario; :class:`FaultError` says what is wrong and where."""
    path = _path(name)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(list_scenarios()) or "none"
        raise FaultError(f"scenario {name!r}: no file {path} (bundled: {known})") from None
    except (OSError, yaml.YAMLError) as exc:
        raise FaultError(f"scenario {name!r}: cannot read {path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        raise FaultError(f"scenario {name!r}: expected a mapping with a 'rules' list")
    mode = raw.get("mode", "first")
    if mode not in ("first", "ordered"):
        raise FaultError(f"scenario {name!r}: mode must be first or ordered, got {mode!r}")
    try:
        parse_rules(raw["rules"])
    except FaultError as exc:
        raise FaultError(f"scenario {name!r}: {exc}") from None
    return Scenario(path.stem, str(raw.get("description", "")).strip(), mode, raw["rules"])


def list_scenarios() -> list[str]:
    if not SCENARIOS_DIR.is_dir():
        return []
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))
