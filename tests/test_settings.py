"""Settings precedence, validation and the CLI that exposes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import cli
from mockserver.settings import OPTIONS, Settings, SettingsError, load_settings


def test_defaults_are_the_embedded_loopback_in_memory_instant_server() -> None:
    s = load_settings({}, env={})
    assert (s.host, s.port, s.store, s.profile, s.clock) == (
        "127.0.0.1",
        8000,
        "memory",
        "instant",
        "system",
    )
    assert set(s.origins.values()) == {"default"}
    assert s == Settings()


def test_precedence_is_defaults_file_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('[mockserver]\nport = 9001\nprofile = "fast"\nseed = 3\nthreads = 4\n')
    env = {
        "MOCKSERVER_CONFIG": str(config),
        "MOCKSERVER_PROFILE": "realistic",
        "MOCKSERVER_SEED": "5",
    }
    s = load_settings({"seed": 9}, env=env)
    assert (s.port, s.profile, s.seed, s.threads, s.host) == (9001, "realistic", 9, 4, "127.0.0.1")
    assert s.origins["port"] == f"file {config}"
    assert s.origins["profile"] == "env MOCKSERVER_PROFILE"
    assert s.origins["seed"] == "flag --seed"
    assert s.origins["host"] == "default"


def test_top_level_keys_in_the_file_work_too(tmp_path: Path) -> None:
    config = tmp_path / "m.toml"
    config.write_text('store = "sqlite:///x.db"\nwebhook_allow = ["127.0.0.1", "receiver.test"]\n')
    s = load_settings({"config": str(config)}, env={})
    assert s.store == "sqlite:///x.db" and s.webhook_allow == ("127.0.0.1", "receiver.test")


def test_list_settings_split_on_commas_from_env() -> None:
    s = load_settings({}, env={"MOCKSERVER_WEBHOOK_ALLOW": "127.0.0.1, *.internal.test"})
    assert s.webhook_allow == ("127.0.0.1", "*.internal.test")


def test_hf_models_keep_labels_split_by_bars_from_env() -> None:
    env = {"MOCKSERVER_HF_MODELS": "acme/a=text-classification:bad|good, acme/b=feature-extraction"}
    s = load_settings({}, env=env)
    assert s.hf_models == ("acme/a=text-classification:bad|good", "acme/b=feature-extraction")


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (
            {"profile": "slow"},
            {},
            "invalid value 'slow' for profile (from flag --profile): "
            "valid choices: instant, fast, realistic, manual",
        ),
        ({}, {"MOCKSERVER_PORT": "http"}, "for port (from env MOCKSERVER_PORT): expected int"),
        ({"port": 70000}, {}, "between 0 and 65535"),
        ({"store": "postgres://db"}, {}, "valid forms: memory, sqlite:///PATH"),
        ({"device": "tpu"}, {}, "valid choices: auto, cpu, cuda"),
        ({"journal_size": 0}, {}, "must be greater than 0"),
        ({"webhook_backoff": "soon"}, {}, "expected float"),
        ({"seed": 1.5}, {}, "expected int"),
        ({"hf_zero_shot": "dict"}, {}, "valid choices: auto, legacy, list"),
        ({"hf_cold_start": -1}, {}, "must be 0 or greater"),
    ],
)
def test_bad_values_fail_naming_the_source_and_the_valid_choices(
    flags: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(flags, env=env)
    assert message in str(info.value)


def test_bad_config_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file not found"):
        load_settings({"config": str(tmp_path / "missing.toml")}, env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({"config": str(broken)}, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 1\n")
    with pytest.raises(SettingsError, match="unknown setting.*prot; valid: host, port"):
        load_settings({"config": str(unknown)}, env={})


def test_replace_validates_too() -> None:
    assert Settings().replace(profile="MANUAL").profile == "manual"
    with pytest.raises(SettingsError):
        Settings().replace(clock="sundial")


def test_every_option_is_a_settings_field_and_a_cli_flag() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    for option in OPTIONS:
        assert hasattr(Settings(), option.name)
        assert option.flag in result.output


def test_print_config_shows_values_and_origins() -> None:
    result = CliRunner().invoke(
        cli, ["serve", "--print-config", "--port", "9100"], env={"MOCKSERVER_PROFILE": "manual"}
    )
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "9100" in lines["port"] and "(flag --port)" in lines["port"]
    assert "manual" in lines["profile"] and "(env MOCKSERVER_PROFILE)" in lines["profile"]
    assert "(default)" in lines["host"]
    assert "whsec_…" in lines["webhook_secret"]  # secrets are masked


def test_a_bad_value_stops_the_cli_with_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["serve"], env={"MOCKSERVER_STORE": "mongo://x"})
    assert result.exit_code == 2 and "valid forms: memory" in result.output


def test_version_and_module_entry_point() -> None:
    import subprocess
    import sys

    from mockserver import __version__

    out = subprocess.run(
        [sys.executable, "-m", "mockserver", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and __version__ in out.stdout


def test_webhook_concurrency_and_log_size_reach_the_outbox_and_the_store() -> None:
    from mockserver.runtime import Runtime

    runtime = Runtime.build(load_settings({"webhook_concurrency": "3", "webhook_log_size": "7"}))
    try:
        assert runtime.outbox._workers.size == 3
        assert runtime.store.delivery_history == 7  # type: ignore[attr-defined]
    finally:
        runtime.close()
