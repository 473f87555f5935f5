"""The quiz on a real pseudo-terminal: the installed command, a few answers, a hint, a wrong answer, Ctrl-C."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys

import pytest

from tests.conftest import ROOT

pexpect = pytest.importorskip("pexpect")

MAZUR = "problems/mazur-2-2-2.yaml"


def _command() -> tuple[str, list[str]]:
    """The installed `backprop-tutor` when it is on PATH, else `python -m tutor` (the same program)."""
    installed = shutil.which("backprop-tutor")
    return (installed, []) if installed else (sys.executable, ["-m", "tutor"])


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "TERM", "XDG_DATA_HOME")}
    return {**env, "TERM": "xterm-256color", "XDG_DATA_HOME": str(tmp_path / "xdg"), **extra}


def _spawn(tmp_path, *args: str, **env: str):
    program, prefix = _command()
    return pexpect.spawn(program, [*prefix, *args], cwd=str(ROOT), env=_env(tmp_path, **env), encoding="utf-8",
                         dimensions=(40, 120), timeout=60)


def _answers(path) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT key, answer, verdict, tries, hints FROM answers ORDER BY id").fetchall()
    finally:
        connection.close()


def test_answers_hint_wrong_answer_then_ctrl_c(tmp_path):
    db = tmp_path / "progress.sqlite3"
    child = _spawn(tmp_path, "quiz", MAZUR, "--db", str(db))
    child.expect_exact("[key net1_1]")
    child.expect_exact("> ")
    child.sendline("0.3775")
    child.expect_exact("Correct")
    child.expect_exact("[key net1_2]")
    child.expect_exact("> ")
    child.sendline("0.25*0.05 + 0.3*0.1 + 0.35")  # an expression
    child.expect_exact("Correct")
    child.expect_exact("[key out1_1]")
    child.expect_exact("> ")
    child.sendline("hint")
    child.expect_exact("sigmoid(net_h1)")
    child.expect_exact("> ")
    child.sendline("1/(1+exp(-0.3775))")
    child.expect_exact("Correct")
    child.expect_exact("[key out1_2]")
    child.expect_exact("> ")
    child.sendline("0.7")  # wrong: out_h2 is 0.5969
    child.expect_exact("Not quite")
    child.expect_exact("> ")
    child.sendintr()  # Ctrl-C at the second try's prompt
    child.expect_exact("Interrupted (Ctrl-C) after 4 of 41 questions.")
    child.expect_exact("Summary")
    child.expect_exact("3 of 4 right")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in child.before
    # Exactly the questions answered: three right, the wrong one with its single try.
    assert _answers(db) == [
        ("net1_1", "0.3775", "correct", 1, 0),
        ("net1_2", "0.25*0.05 + 0.3*0.1 + 0.35", "correct", 1, 0),
        ("out1_1", "1/(1+exp(-0.3775))", "correct", 1, 1),
        ("out1_2", "0.7", "wrong", 1, 0),
    ]
    assert not (tmp_path / "xdg").exists()  # --db was used, nothing else was written


def test_format_error_on_a_terminal_asks_again_and_ctrl_d_ends(tmp_path):
    child = _spawn(tmp_path, "quiz", MAZUR, "--only", "net_h1,net_h2")
    child.expect_exact("> ")
    child.sendline("os.system('ls')")
    child.expect_exact("Not a number")
    child.expect_exact("> ")
    child.sendline("0.3775")
    child.expect_exact("Correct")
    child.expect_exact("> ")
    child.sendeof()  # Ctrl-D
    child.expect_exact("End of input after 1 of 2 questions.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    db = tmp_path / "xdg" / "backprop-tutor" / "progress.sqlite3"
    assert _answers(db) == [("net1_1", "0.3775", "correct", 1, 0)]
