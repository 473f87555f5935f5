"""The quiz on a real pseudo-terminal: the installed command, a few answers, a hint, a wrong answer, Ctrl-C."""

from __future__ import annotations

import io
import os
import re
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


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _labels_and_keys() -> set[str]:
    from tutor.solver import solve

    trace = solve(str(ROOT / MAZUR))
    return {name for q in trace.quantities for name in (q.label, q.key) if len(name) > 2}


def _split_labels(lines: list[str], names: set[str]) -> list[str]:
    """Labels or keys cut in two by a line break: the end of one line and the start of the next."""
    found = []
    for line, following in zip(lines, lines[1:]):
        end, start = line.rstrip(), following.lstrip()
        for name in names:
            if any(end.endswith(name[:k]) and start.startswith(name[k:]) and not start.startswith(name)
                   for k in range(1, len(name))):
                found.append(f"{name}: {end[-20:]!r} / {start[:20]!r}")
    return found


def _session(tmp_path, width: int, args: list[str], answers: tuple[str, ...] = ()) -> str:
    """Everything a command printed on a pseudo-terminal `width` columns wide, colour codes removed.

    It runs in `tmp_path` (the progress database is a short relative path there: a path is never cut)."""
    program, prefix = _command()
    child = pexpect.spawn(program, [*prefix, *args], cwd=str(tmp_path), env=_env(tmp_path), encoding="utf-8",
                          dimensions=(24, width), timeout=60)
    child.logfile_read = io.StringIO()
    for answer in answers:
        child.expect_exact("> ")
        child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()
    return ANSI.sub("", child.logfile_read.getvalue()).replace("\r", "")


@pytest.mark.parametrize("width", [60, 80])
def test_narrow_terminal_no_line_too_long_and_no_label_split(tmp_path, width):
    answers = ("0.3775", "0.39", "hint", "hint", "hint", "0.7", "0.7", "show", "reveal", "hint", "hint", "hint",
               "hint", "skip", "skip", "0.5", "quit")
    out = _session(tmp_path, width, ["quiz", "mazur", "--db", "p.sqlite3"], answers)
    assert "Summary" in out and "Progress saved" in out and "w5 = 0.4 (h1 -> o1)" in out
    assert "(exact net_h2 = 0.3925); carry on with it." in out  # the carry-forward message, on one line
    assert out.count("i1 = 0.05, i2 = 0.1") == 2  # the givens, and again after `show`
    lines = out.split("\n")
    too_long = [line for line in lines if len(line) > width]
    assert not too_long, too_long
    assert not _split_labels(lines, _labels_and_keys())
    assert not [line for line in lines if re.search(r"\[key$", line.rstrip())]  # "[key net1_1]" stays whole


@pytest.mark.parametrize("width", [60, 80])
def test_narrow_terminal_progress_list_solve_and_help_fit(tmp_path, width):
    _session(tmp_path, width, ["quiz", "mazur", "--db", "p.sqlite3", "--limit", "2"], ("0.3775", "hint", "0.39"))
    (tmp_path / "alice.yaml").write_text("net1_1: 0.3775\nout_h1: 0.7\ndE_total/dw5: 0.082167\n")
    for args in (["progress", "--db", "p.sqlite3"], ["list"], ["solve", "mazur", "--only", "w5+"],
                 ["grade", "mazur", "alice.yaml"], ["quiz", "--help"], ["grade", "--help"]):
        out = _session(tmp_path, width, args)
        too_long = [line for line in out.split("\n") if len(line) > width]
        assert not too_long, (args, too_long)
        if args[-1] == "--help" and width == 80:
            assert "--follow-through-credit" in out or "--tolerance-mode" in out  # full names, never cut
            assert "\u2026" not in out
