"""The ``mockserver`` command: ``serve`` (and ``--print-config``), and ``check``."""

from __future__ import annotations

import json
from typing import Any

import click

from . import __version__
from .check import (
    CONTRACTS,
    DEFAULT_KEY,
    DEFAULT_MAX_EXAMPLES,
    VENDOR_CONTRACTS,
    CheckError,
    render_text,
    run_check,
)
from .settings import OPTIONS, SettingsError, load_settings

__all__ = ["main"]


def _settings_options(func: Any) -> Any:
    """Add one flag per setting, all defaulting to None so only given flags override."""
    for option in reversed(OPTIONS):
        kind: Any = {int: int, float: float}.get(option.kind, str)
        if option.choices:
            kind = click.Choice(option.choices, case_sensitive=False)
        func = click.option(
            option.flag,
            option.name,
            type=kind,
            default=None,
            help=option.help,
            envvar=None,
            show_envvar=False,
        )(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mockserver")
def cli() -> None:
    """Local emulator of cloud batch and asynchronous inference APIs."""


@cli.command()
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML config file (also MOCKSERVER_CONFIG).",
)
@_settings_options
@click.option("--print-config", is_flag=True, help="Print the effective settings and exit.")
def serve(print_config: bool, **flags: Any) -> None:
    """Serve the emulated APIs and the /_mock control API.

    Settings come from defaults < config file < MOCKSERVER_* environment < these flags.
    """
    try:
        settings = load_settings(flags)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    if print_config:
        rows = settings.describe()
        width = max(len(name) for name, _, _ in rows)
        for name, value, origin in rows:
            shown = ",".join(value) if isinstance(value, tuple) else value
            click.echo(f"{name.ljust(width)}  {shown!s:<40}  ({origin})")
        return
    from .server import serve as run_server

    run_server(settings)


@cli.command(context_settings={"max_content_width": 100})
@click.argument("url")
@click.option(
    "--contract",
    "contracts",
    multiple=True,
    type=click.Choice(CONTRACTS),
    help="A contract to check (repeatable). Default: hume, xai, huggingface, edenai.",
)
@click.option(
    "--key",
    default=DEFAULT_KEY,
    show_default=True,
    help="The API key sent, in each vendor's header (X-Hume-Api-Key, else Bearer); it is "
    "also the tenant that is reset.",
)
@click.option("--admin-token", default=None, help="The control API's admin token, if it has one.")
@click.option(
    "--max-examples",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_EXAMPLES,
    show_default=True,
    help="Fuzzed cases per operation (the coverage phase adds its own).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generation.")
@click.option(
    "--stateful/--no-stateful",
    default=True,
    show_default=True,
    help="Also chain calls through the contract's OpenAPI links.",
)
@click.option(
    "--max-time",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after this many seconds in all and report what ran (the operation under way "
    "then is left out).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(
    url: str,
    contracts: tuple[str, ...],
    key: str,
    admin_token: str | None,
    max_examples: int,
    seed: int,
    stateful: bool,
    max_time: float | None,
    as_json: bool,
) -> None:
    """Check a running server at URL against the contracts, as the test suites do.

    Sends schemathesis-generated requests (examples, coverage, fuzzing with positive and
    negative data, then chains through OpenAPI links) and holds every answer to the contract:
    no 5xx, declared status codes, content types, headers and response schemas, invalid
    requests refused, undeclared methods answered 405 with Allow. Reports per contract the
    operations exercised, the cases sent, the failures by check (operation, request, reason)
    and the declared (operation, status) pairs never reached.

    Before running it resets the key's tenant through the control API when there is one
    (POST /_mock/reset {"tenant": KEY}), so the same seed gives the same run. --contract
    control fuzzes the control API itself, which changes server-wide state (clocks, profile,
    seed, fault rules): it runs last and is followed by a full reset.

    Exit status: 0 no failures, 1 failures, 2 usage error (bad option, URL unreachable,
    schemathesis not installed).
    """
    try:
        report = run_check(
            url,
            contracts or VENDOR_CONTRACTS,
            key=key,
            admin_token=admin_token,
            max_examples=max_examples,
            seed=seed,
            stateful=stateful,
            max_time=max_time,
        )
    except CheckError as exc:
        click.echo(f"mockserver check: {exc}", err=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        click.echo("mockserver check: interrupted", err=True)
        raise SystemExit(130) from None
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_text(report))
    raise SystemExit(0 if report.ok else 1)


def main() -> None:
    cli(prog_name="mockserver")


if __name__ == "__main__":  # pragma: no cover
    main()
