"""Shared fixtures: the repository root, bundled problems and a CLI runner with stable output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
BUNDLED = sorted(PROBLEMS.glob("*.yaml"))
#: The bundled computational graphs (problems/graphs/; tests/test_graph*.py test them).
BUNDLED_GRAPHS = sorted((PROBLEMS / "graphs").glob("*.yaml"))

#: Fixed width, no colour, no terminal: output is the same on every machine.
STABLE_ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture(autouse=True)
def private_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real home: the default progress database goes under a temporary XDG_DATA_HOME."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A private progress database for one test."""
    return tmp_path / "progress.sqlite3"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner, monkeypatch: pytest.MonkeyPatch):
    """Run the CLI from the repository root with a stable environment; returns the click Result."""
    from tutor.cli.app import app

    monkeypatch.chdir(ROOT)
    for key, value in STABLE_ENV.items():
        monkeypatch.setenv(key, value)

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, env=STABLE_ENV)

    return run


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("NO_COLOR", "1")
