"""The ``mockserver`` command: ``serve`` (and ``--print-config``)."""

from __future__ import annotations

from typing import Any

import click

from . import __version__
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


def main() -> None:
    cli(prog_name="mockserver")


if __name__ == "__main__":  # pragma: no cover
    main()
