"""Test helpers for clients of the emulated APIs: a pytest plugin, control helpers, interception.

- :mod:`mockserver.testing.pytest_plugin`: fixtures ``mockserver_app``, ``mockserver_client``,
  ``mockserver_server``, ``mockserver_clock``, ``mockserver_scenario``, ``mockserver_intercept``
  and the markers ``mockserver(...)`` and ``mockserver_contract(tenant=...)``;
- :func:`assert_client_clean`: fail when a client's requests broke the vendor's contract;
- :class:`Emulator`, :class:`LiveServer`, :class:`Clock`, :class:`Faults`: the control API of an
  in-process app or a live server, as Python;
- :mod:`mockserver.testing.intercept` (needs ``responses`` and ``httpx``): route clients with
  hard-coded vendor URLs into an in-process app.

Importing this package is cheap (no Flask, no torch, no HTTP client libraries): the plugin is
loaded into every pytest run once mockserver is installed, and must cost nothing there.
"""

from __future__ import annotations

from .clock import Clock
from .config import PLUGIN_DEFAULTS, build_settings
from .control import ControlError, Emulator, as_emulator
from .faults import Faults
from .findings import ClientNotClean, Finding, Report, assert_client_clean, fetch_findings
from .server import LiveServer

__all__ = [
    "PLUGIN_DEFAULTS",
    "ClientNotClean",
    "Clock",
    "ControlError",
    "Emulator",
    "Faults",
    "Finding",
    "LiveServer",
    "Report",
    "as_emulator",
    "assert_client_clean",
    "build_settings",
    "fetch_findings",
]
