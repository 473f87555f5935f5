"""What a newcomer meets first: every command's screen fits 60 and 80 columns, `--help` lists each command with
one whole sentence, and a mistyped problem name gets a suggestion. (The grade and quiz screens have their own
tests; `new`, `template` and `data` print files, whose lines are the file's.)"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

COMMANDS = ["solve", "draw", "check", "list", "new", "grade", "template", "assign", "export", "quiz", "progress", "train",
            "data"]


def run(runner, args: list[str], width: int):
    from tutor.cli.app import app

    return runner.invoke(app, args, env={"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"})


def help_text(args: list[str], width: int) -> str:
    """`--help` as a terminal `width` columns wide shows it (in-process, click's test runner fixes 80)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([sys.executable, "-m", "tutor", *args, "--help"], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True).stdout


def too_long(text: str, width: int) -> list[str]:
    return [line for line in text.split("\n") if len(line) > width]


@pytest.mark.parametrize("width", [60, 80])
def test_help_lists_each_command_with_one_whole_sentence(width):
    out = help_text([], width)
    listed = out.split("Commands:\n")[1].rstrip("\n").split("\n")
    assert [line.split()[0] for line in listed] == COMMANDS  # one line each
    for line in listed:
        summary = line.split(None, 1)[1]
        assert summary.endswith(".") and not summary.endswith("...") and summary.count(". ") == 0, line
    assert not too_long(out, width)


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("command", COMMANDS)
def test_every_commands_help_fits(command, width):
    assert not too_long(help_text([command], width), width)


SCREENS = {
    "solve --only": ["solve", "ex02", "--only", "new_w1_1_1,new_w2_2_1,new_w2_2_2,new_w3_2_2"],
    "solve adam": ["solve", "mazur-adam", "--steps", "3", "--show-step", "3"],
    "solve momentum --only": ["solve", "mazur-momentum", "--only", "w5+", "--steps", "2", "--show-step", "2"],
    "list": ["list"],
    "check": ["check", "mazur-2-2-2", "ex02", "fish-2-4-3", "mazur-adam-2-2-2"],
    "train": ["train", "--shape", "2-16-16-3", "--activation", "tanh", "--loss", "cross_entropy", "--data",
              "spirals", "--epochs", "30", "--optimizer", "adam", "--validation", "0.2", "--seed", "1"],
    "train problem": ["train", "mazur-adam", "--epochs", "20", "--learning-rate", "0.05"],
}


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("fmt", ["text", "plain"])
@pytest.mark.parametrize("name", list(SCREENS))
def test_every_screen_fits(runner, monkeypatch, name, fmt, width):
    monkeypatch.chdir(ROOT)
    result = run(runner, [*SCREENS[name], *([] if name in ("list", "check") else ["-f", fmt])],
                 width)
    assert result.exit_code == 0, result.output
    assert not too_long(result.stdout, width), too_long(result.stdout, width)[:3]


@pytest.mark.parametrize("width", [60, 80])
def test_progress_fits(runner, tmp_path, monkeypatch, width):
    monkeypatch.chdir(tmp_path)  # a short path: a path longer than the width is never split
    for answers in ("", "0.3775\n0.1\nquit\n"):
        if answers:
            from tutor.cli.app import app

            runner.invoke(app, ["quiz", "mazur", "--db", "p.sqlite3", "--limit", "2"], input=answers,
                          env={"COLUMNS": str(width), "NO_COLOR": "1"})
        for fmt in ("text", "plain"):
            result = run(runner, ["progress", "--db", "p.sqlite3", "-f", fmt], width)
            assert result.exit_code == 0, result.output
            assert not too_long(result.stdout, width), too_long(result.stdout, width)


@pytest.mark.parametrize("width", [60, 80])
def test_the_files_train_writes_are_listed_within_the_width(runner, tmp_path, monkeypatch, width):
    monkeypatch.chdir(tmp_path)
    pytest.importorskip("matplotlib")
    result = run(runner, ["train", "--shape", "2-3-1", "--data", "xor-easy", "--epochs", "3", "--seed", "1", "--plot",
                          "lab-report/figures-of-the-xor-run", "--save", "trained-xor-network.yaml",
                          "--checkpoint-every", "1", "-f", "plain"], width)
    assert result.exit_code == 0, result.output
    assert not too_long(result.stdout, width), too_long(result.stdout, width)
    out = result.stdout
    for name in ("learning_curve.png", "comparison.png", "decision_boundary.png", "trained-xor-network.yaml"):
        assert name in out


@pytest.mark.parametrize("name, suggestion", [("mazr-2-2-2", "mazur-2-2-2"), ("mazr", "mazur"), ("ex03", "ex02"),
                                              ("fish-2-4-4", "fish-2-4-3"), ("mazur-adma", "mazur-adam")])
@pytest.mark.parametrize("command", ["solve", "template", "quiz", "check", "train"])
def test_a_mistyped_problem_name_gets_a_suggestion(invoke, name, suggestion, command):
    result = invoke(command, name)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (f"error: {name}: no such file, and no bundled problem of that name; did "
                                             f"you mean '{suggestion}'? (see `backprop-tutor list`)")


def test_a_name_far_from_any_gets_no_suggestion(invoke):
    result = invoke("solve", "backprop")
    assert result.exit_code == 2
    assert result.stderr == "error: backprop: no such file, and no bundled problem of that name (see " \
                            "`backprop-tutor list`)\n"
