"""The mockserver pytest plugin (entry point ``pytest11``: ``mockserver``).

Fixtures (all ``mockserver_*``, so they never clash with a project's own ``app`` or ``client``):

- ``mockserver_settings``: the :class:`~mockserver.settings.Settings` of the test's emulator
  (plugin defaults < ini ``mockserver_settings`` < ``--mockserver-setting`` < marker); override
  it in a conftest to build settings in code;
- ``mockserver_app``: a fresh in-process app per test (virtual frozen clock, model loaded on
  first use, no gRPC port), its runtime closed afterwards; ``mockserver_client``: its Flask
  test client;
- ``mockserver_server``: a live server on a free 127.0.0.1 port, started once per session
  (``mockserver_session_server``) and fully reset before each test that uses it; a test with a
  ``mockserver`` marker gets a server of its own with those settings;
- ``mockserver_clock``: :class:`~mockserver.testing.Clock` of the test's emulator (the server
  when the test uses ``mockserver_server``, else the in-process app);
- ``mockserver_scenario``: :class:`~mockserver.testing.Faults` for the test's emulator:
  ``mockserver_scenario("rate-limited", tenant="k")`` or ``mockserver_scenario(rules=[...])``;
  the rules it installed are removed after the test;
- ``mockserver_intercept``: the in-process app with every ``requests`` call to the vendors'
  hosts routed into it (``mockserver.testing.intercept``); yields its control handle.

Markers: ``@pytest.mark.mockserver(profile="fast", seed=7, scenario="rate-limited", ...)``
(any setting) and ``@pytest.mark.mockserver_contract(tenant="key")``, which fails the test
after its body ran when the emulator saw requests from that tenant that broke the vendor's
contract, listing each violation.

Inert unless used: importing this module loads only pytest and the standard library; nothing is
autouse; the emulator is built when a fixture asks for it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from mockserver.settings import Settings

    from .clock import Clock
    from .control import Emulator
    from .faults import Faults
    from .server import LiveServer

MARKERS = (
    "mockserver(**settings): settings of this test's emulator, any mockserver setting "
    "(profile='fast', seed=7, scenario='rate-limited', ...)",
    "mockserver_contract(tenant=None, behaviours=False): fail the test when the emulator saw "
    "requests from tenant (an API key, a list of keys, or None for anyone) that broke the "
    "vendor's contract (with behaviours=True, also the behaviour findings of /_mock/report)",
)
#: The fixtures that hold an emulator, in the order a helper picks its target.
TARGETS = ("mockserver_server", "mockserver_intercept", "mockserver_app")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "mockserver emulator")
    group.addoption(
        "--mockserver-setting",
        action="append",
        default=[],
        dest="mockserver_settings",
        metavar="NAME=VALUE",
        help="a setting of the emulators the mockserver fixtures start (repeatable)",
    )
    parser.addini(
        "mockserver_settings",
        type="linelist",
        default=[],
        help="NAME=VALUE lines: settings of the emulators the mockserver fixtures start",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    try:
        _config_layer(config)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _config_layer(config: pytest.Config) -> dict[str, str]:
    from .config import parse_assignments

    layer = parse_assignments(config.getini("mockserver_settings"), "ini mockserver_settings")
    cli = parse_assignments(config.getoption("mockserver_settings") or [], "--mockserver-setting")
    return {**layer, **cli}


def _marker_layer(node: Any) -> dict[str, Any]:  # an Item (request.node is typed Node)
    layer: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("mockserver"))):  # the closest wins
        if marker.args:
            raise pytest.UsageError("@pytest.mark.mockserver takes settings as keywords only")
        layer.update(marker.kwargs)
    return layer


def _settings(config: pytest.Config, marker: dict[str, Any]) -> Settings:
    from mockserver.settings import SettingsError

    from .config import build_settings

    try:
        return build_settings(_config_layer(config), marker)
    except SettingsError as exc:
        pytest.fail(f"mockserver settings: {exc}", pytrace=False)


# --- the emulator -------------------------------------------------------------------------------


@pytest.fixture
def mockserver_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings of this test's in-process emulator (override in a conftest to build your own)."""
    return _settings(request.config, _marker_layer(request.node))


@pytest.fixture
def mockserver_app(mockserver_settings: Settings) -> Iterator[Flask]:
    """A fresh in-process emulator; its scheduler runs, its runtime is closed afterwards."""
    from mockserver.app import create_app

    app = create_app(mockserver_settings, start=True)
    try:
        yield app
    finally:
        app.extensions["mockserver"].close()


@pytest.fixture
def mockserver_client(mockserver_app: Flask) -> FlaskClient:
    """The Flask test client of ``mockserver_app``."""
    return mockserver_app.test_client()


@pytest.fixture(scope="session")
def mockserver_session_server(pytestconfig: pytest.Config) -> Iterator[LiveServer]:
    """One live server for the session (ini and command-line settings; not reset)."""
    from .server import LiveServer

    server = LiveServer(_settings(pytestconfig, {}))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def mockserver_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A live server: the session's, fully reset first; with a ``mockserver`` marker, one of the
    test's own with those settings (closed afterwards)."""
    marker = _marker_layer(request.node)
    if not marker:
        server: LiveServer = request.getfixturevalue("mockserver_session_server")
        server.reset()
        yield server
        return
    from .server import LiveServer

    with LiveServer(_settings(request.config, marker)) as own:
        yield own


@pytest.fixture
def mockserver_intercept(mockserver_app: Flask) -> Iterator[Emulator]:
    """``mockserver_app`` with every ``requests`` call to the vendors' hosts routed into it."""
    from .intercept import intercept

    with intercept(mockserver_app) as emulator:
        yield emulator


# --- helpers on whichever emulator the test uses ------------------------------------------------


def _target(request: pytest.FixtureRequest) -> Emulator:
    from .control import as_emulator

    for name in TARGETS:
        if name in request.fixturenames:
            return as_emulator(request.getfixturevalue(name))
    return as_emulator(request.getfixturevalue("mockserver_app"))


@pytest.fixture
def mockserver_clock(request: pytest.FixtureRequest) -> Clock:
    """The clock of the test's emulator (``.tenant(key)`` for one tenant's)."""
    from .clock import Clock

    return Clock(_target(request))


@pytest.fixture
def mockserver_scenario(request: pytest.FixtureRequest) -> Iterator[Faults]:
    """Install fault scenarios or rules for this test; they are removed afterwards."""
    from .faults import Faults

    faults = Faults(_target(request))
    try:
        yield faults
    finally:
        faults.remove()


# --- the contract marker ------------------------------------------------------------------------


def _tenants(marker: pytest.Mark) -> list[str | None]:
    value = marker.kwargs.get("tenant", marker.args[0] if marker.args else None)
    if value is None or isinstance(value, str):
        return [value]
    return list(value)


def _check_contract(item: pytest.Item, marker: pytest.Mark) -> None:
    from .findings import fetch_findings

    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    target = next((funcargs[name] for name in TARGETS if name in funcargs), None)
    if target is None:
        pytest.fail(
            "@pytest.mark.mockserver_contract needs the test to use an emulator fixture: "
            + ", ".join(TARGETS)
            + " or mockserver_client",
            pytrace=False,
        )
    behaviours = bool(marker.kwargs.get("behaviours", False))
    reports = (fetch_findings(target, t, behaviours=behaviours) for t in _tenants(marker))
    dirty = [r for r in reports if not r.clean]
    if dirty:
        text = "\n".join(report.text() for report in dirty)
        pytest.fail(f"mockserver_contract: the client broke the vendor contract\n{text}", False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After the test body passed, check a ``mockserver_contract`` marker's tenants (before any
    fixture is torn down, so the emulator is still there to ask)."""
    result = yield
    marker = item.get_closest_marker("mockserver_contract")
    if marker is not None:
        _check_contract(item, marker)
    return result
