"""The README's use-case examples, run as written (issue 9: "the examples are run by the test
suite"). A block marked ``<!-- example: NAME -->`` is extracted verbatim; :data:`EXPECTED` says
how each one must end, and a marked example without an entry fails the registry test.

Script examples run in a subprocess against one ``mockserver serve --profile fast`` with
``MOCKSERVER_URL`` set; ``pytest`` examples are written to a file and run with ``python -m
pytest`` (the plugin is registered by the package's entry point).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"<!-- example: ([\w-]+) -->\s*```(\w+)\n(.*?)```", re.S)


def examples() -> dict[str, tuple[str, str]]:
    """name -> (language, code) of every marked block in the README."""
    found = {m[1]: (m[2], m[3]) for m in _BLOCK.finditer(README.read_text(encoding="utf-8"))}
    assert found, "no marked examples in the README"
    return found


def _offline(out: str) -> None:
    assert re.fullmatch(r"job [0-9a-f-]{36}: \w[\w ]* \d\.\d\d\n", out), out
    assert "Gratitude" in out or "Joy" in out or "Admiration" in out, out


def _rehearsal(out: str) -> None:
    assert out == "200 [('ignored_retry_after', 2)]\n", out


def _ci(out: str) -> None:
    assert "1 passed" in out, out


EXPECTED: dict[str, Callable[[str], None]] = {
    "offline-dev": _offline,
    "ci-contract": _ci,
    "fault-rehearsal": _rehearsal,
}


def test_every_marked_example_is_run() -> None:
    assert sorted(examples()) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess("--profile", "fast") as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_example_runs_as_written(name: str, server: ServerProcess, tmp_path: Path) -> None:
    language, code = examples()[name]
    env = {**os.environ, "MOCKSERVER_URL": server.url}
    if language == "python" and "def test_" in code:
        script = tmp_path / f"test_{name.replace('-', '_')}.py"
        script.write_text(code, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    else:
        assert language == "python", language
        command = [sys.executable, "-c", code]
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    EXPECTED[name](done.stdout)
