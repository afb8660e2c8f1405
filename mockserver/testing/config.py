"""Settings for emulators started by tests: plugin defaults < ini < command line < marker.

The defaults differ from ``mockserver serve`` where a test needs them to: a frozen virtual clock
(a test decides when time passes, so runs repeat), the model loaded on first use (a test that
never runs inference never pays for it) and no gRPC port (a fixed port would collide between
parallel runs). Environment variables are not read: a test's emulator is configured by the test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.settings import Settings

__all__ = ["PLUGIN_DEFAULTS", "build_settings", "parse_assignments"]

PLUGIN_DEFAULTS: Mapping[str, Any] = {
    "clock": "virtual",
    "model_load": "lazy",
    "grpc": "off",
    "log_level": "warning",
}


def parse_assignments(lines: Iterable[str], source: str) -> dict[str, str]:
    """``name=value`` strings (ini lines, ``--mockserver-setting``) to a dict; a line without
    ``=`` is a ``ValueError`` that names ``source``."""
    out: dict[str, str] = {}
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{source}: expected NAME=VALUE, got {text!r}")
        out[name.strip().replace("-", "_")] = value.strip()
    return out


def build_settings(*layers: Mapping[str, Any]) -> Settings:
    """Settings from the plugin defaults and ``layers`` (later wins), each value validated as
    ``mockserver serve`` validates it (``SettingsError`` names the option and valid values)."""
    from mockserver.settings import OPTIONS, Settings, SettingsError

    valid = {option.name for option in OPTIONS}
    merged: dict[str, Any] = dict(PLUGIN_DEFAULTS)
    for layer in layers:
        merged.update(layer)
    unknown = sorted(set(merged) - valid)
    if unknown:
        raise SettingsError(
            f"unknown mockserver setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
        )
    return Settings().replace(**merged)
