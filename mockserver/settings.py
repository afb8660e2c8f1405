"""One Settings object: defaults < TOML file < ``MOCKSERVER_*`` environment < command-line flags.

Nothing else in the package reads ``os.environ``: settings are built once, passed down, and can
differ per test. Every value remembers where it came from (``--print-config``), and a bad value
fails at start with a message naming the option, its source and the valid choices (the way vcrpy
rejects an unknown record mode).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.profiles import profile_names
from .engine.webhooks import DEFAULT_ALLOW, DEFAULT_SECRET

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["OPTIONS", "Option", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "MOCKSERVER_"


class SettingsError(ValueError):
    """A setting has a bad value; the message says which, from where, and what is valid."""


@dataclass(frozen=True)
class Option:
    """One setting: its type, valid choices and help text (shared with the CLI).

    Defaults live in one place, the :class:`Settings` dataclass.
    """

    name: str
    kind: type
    help: str
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be 0 or greater"


def _port(value: Any) -> str | None:
    return None if 0 <= value <= 65535 else "must be a port number between 0 and 65535"


def _store(value: Any) -> str | None:
    if value in ("memory", "memory://") or (
        value.startswith("sqlite:///") and len(value) > len("sqlite:///")
    ):
        return None
    return "valid forms: memory, sqlite:///PATH (relative) or sqlite:////PATH (absolute)"


def _hf_models(value: Any) -> str | None:
    """Refuse a bad ``ID=TASK[:DETAIL]`` at start-up, not when the server's worker boots."""
    from .providers.huggingface.registry import parse_entry

    for entry in value:
        try:
            parse_entry(entry)
        except ValueError as exc:
            return str(exc)
    return None


def _scenario(value: Any) -> str | None:
    """Refuse a scenario that does not load at start-up, with the reason."""
    from .engine.faults import FaultError
    from .scenarios import load_scenario

    try:
        load_scenario(str(value))
    except FaultError as exc:
        return str(exc)
    return None


def _eden_key(value: Any) -> str | None:
    """Refuse an unreadable or non-RSA webhook signing key at start-up."""
    from .providers.edenai.signing import check_key_file

    return check_key_file(str(value))


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "Address to bind (loopback by default)."),
    Option("port", int, "HTTP port (0 picks a free one).", check=_port),
    Option("store", str, "Job store: memory or sqlite:///PATH.", check=_store),
    Option("profile", str, "Lifecycle profile.", choices=tuple(profile_names())),
    Option("seed", int, "Seed for ids, lifecycle plans and fault dice."),
    Option("device", str, "Inference device.", choices=("auto", "cpu", "cuda")),
    Option(
        "model_load",
        str,
        "background: load the model right after start-up; lazy: on first use.",
        choices=("background", "lazy"),
    ),
    Option("inference_batch", int, "Largest dynamic batch of texts.", check=_positive),
    Option(
        "inference_wait_ms",
        float,
        "How long a batch waits for more texts (milliseconds).",
        check=_non_negative,
    ),
    Option("inference_threads", int, "torch CPU threads for inference.", check=_positive),
    Option(
        "media_dir",
        str,
        "Directory of local files that media URLs resolve to (default: the bundled samples).",
    ),
    Option("media_map", str, "JSON file mapping media URLs to local file paths."),
    Option(
        "media_fetch",
        str,
        "on: fetch unresolved media URLs from hosts in media_allow; off: never.",
        choices=("off", "on"),
    ),
    Option("media_allow", list, "Hosts media fetches may reach (comma-separated)."),
    Option(
        "clock",
        str,
        "system: real time (advance/set still work); virtual: frozen until advanced.",
        choices=("system", "virtual"),
    ),
    Option(
        "log_level",
        str,
        "Log level.",
        choices=("debug", "info", "warning", "error", "critical"),
    ),
    Option(
        "api_keys",
        list,
        "API keys the vendor faces accept (comma-separated); empty: any non-empty key.",
    ),
    Option("admin_token", str, "If set, the control API requires this bearer token."),
    Option("journal_size", int, "Request journal capacity (oldest dropped).", check=_positive),
    Option(
        "validation",
        str,
        "Client requests against the contracts: strict (refuse a violation with the vendor's "
        "400), warn (serve it and record it), off (serve it, record nothing).",
        choices=("strict", "warn", "off"),
    ),
    Option(
        "advised_poll_interval",
        float,
        "Seconds between status polls below which /_mock/report calls a client's polling fast.",
        check=_non_negative,
    ),
    Option("threads", int, "Most connections served at once (one thread each).", check=_positive),
    Option(
        "webhook_allow",
        list,
        "Hosts webhooks may reach: IP networks, names, *.suffix (comma-separated).",
    ),
    Option("webhook_secret", str, "Standard Webhooks signing secret (whsec_...)."),
    Option("webhook_max_attempts", int, "Delivery attempts before giving up.", check=_positive),
    Option("webhook_backoff", float, "First retry delay in seconds (doubles).", check=_positive),
    Option("webhook_backoff_cap", float, "Longest retry delay in seconds.", check=_positive),
    Option("webhook_timeout", float, "Per-attempt timeout in seconds.", check=_positive),
    Option(
        "webhook_concurrency",
        int,
        "Webhook URLs delivered to at once (one at a time per URL).",
        check=_positive,
    ),
    Option(
        "webhook_log_size",
        int,
        "Finished webhook deliveries the memory store keeps (pending ones always).",
        check=_positive,
    ),
    Option(
        "grpc",
        str,
        "xAI gRPC BatchMgmt server: auto (on when xai-sdk is installed), on, off.",
        choices=("auto", "on", "off"),
    ),
    Option("grpc_port", int, "gRPC port on the same host (0 picks a free one).", check=_port),
    Option(
        "xai_time_format",
        str,
        "REST timestamps of xAI batches: date (YYYY-MM-DD, as live) or rfc3339.",
        choices=("date", "rfc3339"),
    ),
    Option("xai_models", list, "Models xAI batches accept (comma-separated); empty: built-in."),
    Option(
        "hf_models",
        list,
        "Extra Hugging Face models: ID=TASK[:DETAIL] (comma-separated; labels split by |).",
        check=_hf_models,
    ),
    Option(
        "hf_zero_shot",
        str,
        "Zero-shot body shape: auto (legacy on /models, list on /hf-inference and for "
        "huggingface_hub clients), legacy ({sequence,labels,scores}) or list ([{label,score}]).",
        choices=("auto", "legacy", "list"),
    ),
    Option(
        "hf_cold_start",
        float,
        "Seconds a Hugging Face model 'loads' on first use (503 estimated_time); 0: warm.",
        check=_non_negative,
    ),
    Option("hf_datasets", str, "Directory of local datasets for bulk jobs (default: bundled)."),
    Option("hf_bulk_dir", str, "Where bulk job output datasets are written (default: temp)."),
    Option(
        "scenario",
        str,
        "Fault scenario installed server-wide at start-up: a bundled name "
        "(fixtures/scenarios) or a YAML path.",
        check=_scenario,
    ),
    Option(
        "fault_header",
        str,
        "on: every response a fault rule touched names the rule in X-Mock-Fault.",
        choices=("off", "on"),
    ),
    Option(
        "eden_final_status",
        str,
        "Eden AI per-provider final_status words: edenai (succeeded/failed, as live) or spec "
        "(the spec's literal sucess/fail).",
        choices=("edenai", "spec"),
    ),
    Option(
        "eden_list_state",
        str,
        "Eden AI job lists: refreshed (a job's state as of its last GET or webhook, as live) "
        "or live (the engine's state now).",
        choices=("refreshed", "live"),
    ),
    Option(
        "eden_signing_key",
        str,
        "PEM RSA private key that signs Eden AI webhooks (default: generated, kept in the store).",
        check=_eden_key,
    ),
)
_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The effective configuration; ``origins`` maps each name to where its value came from."""

    host: str = "127.0.0.1"
    port: int = 8000
    store: str = "memory"
    profile: str = "instant"
    seed: int = 0
    device: str = "auto"
    model_load: str = "background"
    inference_batch: int = 64
    inference_wait_ms: float = 2.0
    inference_threads: int = 1
    media_dir: str | None = None
    media_map: str | None = None
    media_fetch: str = "off"
    media_allow: tuple[str, ...] = ()
    clock: str = "system"
    log_level: str = "info"
    api_keys: tuple[str, ...] = ()
    admin_token: str | None = None
    journal_size: int = 1000
    validation: str = "strict"
    advised_poll_interval: float = 1.0
    threads: int = 256
    webhook_allow: tuple[str, ...] = DEFAULT_ALLOW
    webhook_secret: str = DEFAULT_SECRET
    webhook_max_attempts: int = 8
    webhook_backoff: float = 1.0
    webhook_backoff_cap: float = 300.0
    webhook_timeout: float = 5.0
    webhook_concurrency: int = 8
    webhook_log_size: int = 10_000
    grpc: str = "auto"
    grpc_port: int = 50051
    xai_time_format: str = "date"
    xai_models: tuple[str, ...] = ()
    hf_models: tuple[str, ...] = ()
    hf_zero_shot: str = "auto"
    hf_cold_start: float = 0.0
    hf_datasets: str | None = None
    hf_bulk_dir: str | None = None
    scenario: str | None = None
    fault_header: str = "off"
    eden_final_status: str = "edenai"
    eden_list_state: str = "refreshed"
    eden_signing_key: str | None = None
    config: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    def replace(self, **changes: Any) -> Settings:
        """A copy with validated changes (tests use this instead of building from scratch)."""
        values = {name: _convert(_BY_NAME[name], v, "replace") for name, v in changes.items()}
        origins = {**self.origins, **dict.fromkeys(changes, "replace")}
        return dataclasses.replace(self, **values, origins=origins)

    def describe(self) -> list[tuple[str, Any, str]]:
        """(name, value, origin) for every option, secrets masked."""
        rows = []
        for option in OPTIONS:
            value = getattr(self, option.name)
            if option.name in ("admin_token", "webhook_secret") and value:
                value = value[:6] + "…" if option.name == "webhook_secret" else "***"
            if option.name == "api_keys" and value:
                value = tuple(k[:4] + "…" for k in value)
            rows.append((option.name, value, self.origins.get(option.name, "default")))
        return rows


def _convert(option: Option, raw: Any, origin: str) -> Any:
    """Parse and validate one value; strings (env, flags) are parsed by the option's type."""

    def fail(why: str) -> SettingsError:
        return SettingsError(f"invalid value {raw!r} for {option.name} (from {origin}): {why}")

    value: Any = raw
    try:
        if raw is None:
            return None
        if option.kind is list:
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            value = tuple(str(i).strip() for i in items if str(i).strip())
        elif option.kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            value = int(raw)
        elif option.kind is float:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
        else:
            value = str(raw)
    except (TypeError, ValueError):
        raise fail(f"expected {option.kind.__name__}") from None
    if option.choices is not None:
        value = value.lower()
        if value not in option.choices:
            raise fail("valid choices: " + ", ".join(option.choices))
    if option.check is not None and (why := option.check(value)) is not None:
        raise fail(why)
    return value


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    table = data.get("mockserver", data)
    if not isinstance(table, dict):
        raise SettingsError(f"config file {path}: [mockserver] must be a table")
    unknown = sorted(set(table) - set(_BY_NAME))
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"valid: {', '.join(_BY_NAME)}"
        )
    return dict(table)


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from defaults, the config file, the environment and ``flags``.

    ``flags`` holds only the options given on the command line (``None`` values are ignored);
    ``config`` (a path) may come from flags or ``MOCKSERVER_CONFIG``. ``env`` defaults to
    ``os.environ`` (the one place the package reads it).
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    defaults = Settings()
    values: dict[str, Any] = {o.name: getattr(defaults, o.name) for o in OPTIONS}
    origins: dict[str, str] = dict.fromkeys(values, "default")

    config = flags.pop("config", None) or env.get(ENV_PREFIX + "CONFIG") or None
    layers: list[tuple[Mapping[str, Any], Callable[[Option], str]]] = []
    if config:
        config = str(Path(config))
        layers.append((_read_file(config), lambda o: f"file {config}"))
    layers.append(({o.name: env[o.env] for o in OPTIONS if o.env in env}, lambda o: f"env {o.env}"))
    layers.append((flags, lambda o: f"flag {o.flag}"))
    for layer, describe in layers:
        for name, raw in layer.items():
            option = _BY_NAME.get(name)
            if option is None:
                raise SettingsError(f"unknown setting {name!r}; valid: {', '.join(_BY_NAME)}")
            values[name] = _convert(option, raw, describe(option))
            origins[name] = describe(option)
    values["webhook_allow"] = tuple(values["webhook_allow"])
    return Settings(**values, config=config, origins=origins)
