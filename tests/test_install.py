"""What an install brings: the default dependencies run solve, quiz, grade and train; matplotlib is the `plot`
extra; the test extra brings it (so the README's test command tests the figures); CI's oldest-versions job pins
the extra's lower bound too."""

from __future__ import annotations

import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def names(requirements: list[str]) -> set[str]:
    return {requirement.split(">")[0].split("[")[0].split("=")[0].strip().lower() for requirement in requirements}


def test_matplotlib_is_the_plot_extra_not_a_dependency():
    assert names(PROJECT["dependencies"]) == {"numpy", "pyyaml", "typer", "rich", "plotille"}
    assert names(PROJECT["optional-dependencies"]["plot"]) == {"matplotlib"}


def test_the_test_extra_brings_the_plot_extra():
    assert "backprop-tutor[plot]" in PROJECT["optional-dependencies"]["test"]


def test_the_oldest_versions_include_the_plot_extra():
    result = subprocess.run([sys.executable, str(ROOT / ".ci" / "lower_bounds.py")], capture_output=True, text=True,
                            check=True)
    pins = result.stdout.split()
    assert pins == ["numpy==1.23.2", "pyyaml==6.0.1", "typer==0.18", "rich==13.0", "plotille==5.0",
                    "matplotlib==3.7", "pytest==7.4", "hypothesis==6.80", "pexpect==4.8"]
