"""Start-up stays light: help and version must not import numpy or the engine."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import sys
from tutor.cli.app import app
try:
    app([{args}])
except SystemExit:
    pass
heavy = sorted(m for m in ("numpy", "yaml", "tutor.engine.step", "tutor.trace.trace") if m in sys.modules)
print("heavy=" + ",".join(heavy))
"""


def _heavy_modules_after(*args: str) -> str:
    code = PROBE.format(args=", ".join(repr(a) for a in args))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return result.stdout.strip().splitlines()[-1].removeprefix("heavy=")


def test_help_imports_no_numpy():
    assert _heavy_modules_after("--help") == ""


def test_command_help_imports_no_numpy():
    assert _heavy_modules_after("solve", "--help") == ""


def test_version_imports_no_numpy():
    assert _heavy_modules_after("--version") == ""


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "tutor", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    assert result.stdout.startswith("backprop-tutor ")


SOLVE_NEEDS_NOT = ("_hashlib", "rich.cells", "rich.console", "plotille", "matplotlib", "typer.rich_utils")


def _loaded_after(code: str) -> str:
    """Which of SOLVE_NEEDS_NOT a Python process running `code` has loaded."""
    probe = code + f"\nprint('heavy=' + ','.join(sorted(m for m in {SOLVE_NEEDS_NOT!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True,
                            env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    return result.stdout.strip().splitlines()[-1].removeprefix("heavy=")


def test_solve_loads_only_what_a_worked_solution_needs():
    """No OpenSSL for a hash `solve` never shows, no rich's unicode tables for ASCII text, no plot libraries:
    none beyond what importing the libraries themselves loads (an older numpy's random module loads OpenSSL)."""
    solving = PROBE.split("heavy =")[0].format(args="'solve', 'problems/ex02-3-3-2-2.yaml'")
    libraries = "import sys, numpy, yaml, rich, typer"
    loaded = set(filter(None, _loaded_after(solving).split(",")))
    assert loaded <= set(filter(None, _loaded_after(libraries).split(","))), loaded
