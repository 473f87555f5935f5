"""On a real (pseudo-)terminal `solve` is coloured, unless NO_COLOR is set; the installed command runs."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from tests.conftest import ROOT

pexpect = pytest.importorskip("pexpect")


def _run_in_pty(args: list[str], env: dict[str, str]) -> str:
    child = pexpect.spawn(sys.executable, ["-m", "tutor", *args], cwd=str(ROOT), env=env, encoding="utf-8",
                          dimensions=(40, 100), timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return child.before


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "TERM")}
    return {**env, "TERM": "xterm-256color", **extra}


def test_colour_on_a_terminal():
    out = _run_in_pty(["solve", "mazur-2-2-2"], _env())
    assert "\x1b[" in out
    assert "Forward pass" in out


def test_no_colour_with_no_color():
    out = _run_in_pty(["solve", "mazur-2-2-2"], _env(NO_COLOR="1"))
    assert "\x1b[" not in out
    assert "Forward pass" in out


def test_terminal_width_is_used():
    out = _run_in_pty(["solve", "mazur-2-2-2", "-f", "plain"], _env())
    widest = max(len(line.rstrip("\r")) for line in out.splitlines())
    assert widest <= 100  # never wider than the terminal


@pytest.mark.skipif(shutil.which("backprop-tutor") is None, reason="the package is not installed")
def test_installed_command_runs():
    child = pexpect.spawn("backprop-tutor", ["--version"], env=_env(), encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "backprop-tutor" in child.before
