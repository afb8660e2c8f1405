"""Packaging promises: Docker agrees with the CLI, CI runs the README test command, layers hold."""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mockserver"


def dockerfile_instructions() -> dict[str, list[str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.setdefault(keyword.upper(), []).append(rest.strip())
    return out


def print_config(args: list[str]) -> dict[str, str]:
    result = CliRunner().invoke(cli, [*args, "--print-config"], env={})
    assert result.exit_code == 0, result.output
    rows = (line.split(None, 2) for line in result.output.splitlines())
    return {row[0]: row[1] for row in rows}


def test_docker_image_command_port_and_healthcheck_agree_with_the_cli() -> None:
    docker = dockerfile_instructions()
    command = json.loads(docker["CMD"][-1])
    assert command[:2] == ["mockserver", "serve"]
    config = print_config(command[1:])
    assert config["host"] == "0.0.0.0"
    (exposed,) = docker["EXPOSE"]
    assert config["port"] == exposed
    health = docker["HEALTHCHECK"][-1]
    assert f"http://127.0.0.1:{exposed}/_mock/health" in health
    assert docker["USER"] and docker["USER"][-1] not in ("root", "0")
    assert docker["FROM"][0].startswith("python:") and "slim" in docker["FROM"][0]
    assert any("download.pytorch.org/whl/cpu" in r and "torch==2.13.0" in r for r in docker["RUN"])


def test_health_path_in_the_image_is_a_real_route() -> None:
    from mockserver.app import create_app

    app = create_app()
    assert app.test_client().get("/_mock/health").status_code == 200
    app.extensions["mockserver"].close()


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first_block, "README needs a bash block with the set-up commands"
    return [line.split("#")[0].strip() for line in first_block.group(1).strip().splitlines()]


def test_readme_first_screen_has_exactly_serve_and_test_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("mockserver serve")
    assert commands[1] == "python -m pytest -n 2"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    last = [line for line in script if line.strip() and not line.startswith("#")][-1]
    assert shlex.split(last) == shlex.split(readme_commands()[1])
    assert 'pip install -q "torch==2.13.0"' in "\n".join(script)


def test_the_readme_test_command_starts_under_the_plugins_a_machine_brings() -> None:
    """A run of `-n 2` must get past start-up whatever pytest plugins the machine has installed.

    CI's Python carries pytest-benchmark, which warns at start-up that xdist disables it; under
    our `filterwarnings = error` that warning aborted the whole run before one test ran. With
    pytest-benchmark present, this test runs it; without, it still proves `-n 2` starts.
    """
    test = "tests/test_packaging.py::test_pyproject_declares_torch_as_a_range_never_bare"
    command = [sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", test]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


def test_pyproject_declares_torch_as_a_range_never_bare() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"torch>=\d', text) and '"torch"' not in text


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, node.module or ""]).rstrip("."))
            else:
                names.add(node.module or "")
    return names


def test_engine_imports_no_flask_and_no_vendor_code() -> None:
    forbidden = (
        "flask",
        "werkzeug",
        "mockserver.providers",
        "mockserver.control",
        "mockserver.app",
    )
    for path in (PACKAGE / "engine").rglob("*.py"):
        bad = {n for n in imports_of(path) if n.startswith(forbidden)}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_providers_never_import_each_other() -> None:
    providers = [
        p for p in (PACKAGE / "providers").iterdir() if p.is_dir() and p.name != "__pycache__"
    ]
    for provider in providers:
        others = tuple(f"mockserver.providers.{p.name}" for p in providers if p != provider)
        for path in provider.rglob("*.py"):
            bad = {n for n in imports_of(path) if others and n.startswith(others)}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_settings_reads_the_environment() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        assert "os.environ" not in path.read_text() and "getenv" not in path.read_text(), path


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_lint_and_types_are_clean(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed: pip install -e '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
