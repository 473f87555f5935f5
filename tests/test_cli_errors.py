"""Command-line mistakes: one line on stderr in our own words, exit code 2, for every command.

The messages are ours (tutor/cli/options.py), not the parser library's, so a new typer or click
release cannot change what we refuse or what we say; these tests pin every kind of mistake.
"""

from __future__ import annotations

import inspect
import typing
from enum import Enum

import pytest
import typer
from hypothesis import given, strategies as st

from tutor.cli.app import app
from tutor.cli.options import OptionValueError, choice, number, whole_number

MAZUR = "mazur"


def see(command: str) -> str:
    return f" (see `backprop-tutor {command} --help`)"


MISTAKES = [
    # solve: a wrong type, out of range, an unknown option, a missing argument
    (["solve", MAZUR, "--steps", "abc"], "--steps expects a whole number of at least 1, not 'abc'"),
    (["solve", MAZUR, "--digits", "18"], "--digits expects a whole number from 1 to 17, not '18'"),
    (["solve", MAZUR, "--digits", "2.5"], "--digits expects a whole number from 1 to 17, not '2.5'"),
    (["solve", MAZUR, "-f", "xml"], "--format expects one of text, plain, json, markdown, latex, html, not 'xml'"),
    (["solve", MAZUR, "-fxml"], "--format expects one of text, plain, json, markdown, latex, html, not 'xml'"),
    (["solve", MAZUR, "--format=XML"], "--format expects one of text, plain, json, markdown, latex, html, not 'XML'"),
    (["solve", MAZUR, "--fromat", "json"], "No such option '--fromat'; did you mean '--format'?" + see("solve")),
    (["solve"], "Missing argument 'PROBLEM'" + see("solve")),
    (["solve", MAZUR, "extra"], "Unexpected extra argument 'extra'" + see("solve")),
    (["solve", MAZUR, "--steps"], "Option '--steps' needs a value" + see("solve")),
    # check
    (["check", "--strict", MAZUR], "No such option '--strict'" + see("check")),
    (["check"], "Missing argument 'PROBLEM'" + see("check")),
    # list
    (["list", "--all"], "No such option '--all'" + see("list")),
    (["list", "mazur"], "Unexpected extra argument 'mazur'" + see("list")),
    # new
    (["new", "--seed", "1e3"], "--seed expects a whole number, not '1e3'"),
    (["new", "--learning-rate", "fast"], "--learning-rate expects a number, not 'fast'"),
    (["new", "--learning-rate", "nan"], "--learning-rate expects a number, not 'nan'"),
    (["new", "--force=yes"], "Option '--force' takes no value" + see("new")),
    (["new", "-x"], "No such option '-x'" + see("new")),
    (["new", "2-2-2"], "Unexpected extra argument '2-2-2'" + see("new")),
    # grade
    (["grade", MAZUR, "a.yaml", "--relative", "0.0l"], "--relative expects a number of at least 0, not '0.0l'"),
    (["grade", MAZUR, "a.yaml", "--absolute", "-1"], "--absolute expects a number of at least 0, not '-1'"),
    (["grade", MAZUR, "a.yaml", "--min-figures", "16"], "--min-figures expects a whole number from 1 to 15, not '16'"),
    (["grade", MAZUR, "a.yaml", "--follow-through-credit", "3"],
     "--follow-through-credit expects a number from 0 to 1, not '3'"),
    (["grade", MAZUR, "a.yaml", "--tolerance-mode", "exact"],
     "--tolerance-mode expects one of precision, either, relative, absolute, not 'exact'"),
    (["grade", MAZUR, "a.yaml", "--reveals"], "No such option '--reveals'; did you mean '--reveal'?" + see("grade")),
    (["grade", MAZUR], "Missing argument 'SHEET_OR_FOLDER'" + see("grade")),
    # draw, assign, export
    (["draw", MAZUR, "--format", "jpg"], "--format expects one of svg, png, not 'jpg'"),
    (["draw", MAZUR, "--sample", "0"], "--sample expects a whole number of at least 1, not '0'"),
    (["draw"], "Missing argument 'PROBLEM'" + see("draw")),
    (["assign", MAZUR, "--out", "x"], "assign needs --roster CSV (see `backprop-tutor assign --help`)"),
    (["assign", MAZUR, "--roster", "r.csv", "--colour"], "No such option '--colour'" + see("assign")),
    (["export", "moodle"], "Missing argument 'ASSIGNMENT'" + see("export")),
    (["export", "canvas", "x"], "export writes for gradescope or moodle, not 'canvas'"),
    (["grade", MAZUR, "a.yaml", "--format", "csv"],
     "--format expects one of text, plain, json, gradescope, not 'csv'"),
    # template
    (["template", MAZUR, "--out", "x"], "No such option '--out'" + see("template")),
    (["template"], "Missing argument 'PROBLEM'" + see("template")),
    # quiz
    (["quiz", MAZUR, "--limit", "many"], "--limit expects a whole number of at least 1, not 'many'"),
    (["quiz", "--seed", "-1"], "--seed expects a whole number of at least 0, not '-1'"),
    (["quiz", MAZUR, "--focus", "weights"], "--focus expects one of all, forward, loss, backward, updates, not 'weights'"),
    (["quiz", MAZUR, "--hint"], "No such option '--hint'" + see("quiz")),
    (["quiz", MAZUR, "sheet.yaml"], "Unexpected extra argument 'sheet.yaml'" + see("quiz")),
    # progress
    (["progress", "--sessions", "all"], "--sessions expects a whole number of at least 1, not 'all'"),
    (["progress", "--sessions", "0"], "--sessions expects a whole number of at least 1, not '0'"),
    (["progress", "--reset"], "No such option '--reset'" + see("progress")),
    # train
    (["train", "--epochs", "many"], "--epochs expects a whole number of at least 0, not 'many'"),
    (["train", "--batch-size", "0"], "--batch-size expects a whole number of at least 1, not '0'"),
    (["train", "--validation", "half"], "--validation expects a number, not 'half'"),
    (["train", "--shufle"], "No such option '--shufle'; did you mean '--shuffle'?" + see("train")),
    (["train", "--no-shuffle=1"], "Option '--no-shuffle' takes no value" + see("train")),
    (["train", MAZUR, "extra"], "Unexpected extra argument 'extra'" + see("train")),
    # data
    (["data", "linear", "--n", "-5"], "--n expects a whole number of at least 1, not '-5'"),
    (["data", "linear", "--rows", "5"], "No such option '--rows'" + see("data")),
    (["data"], "Missing argument 'NAME'" + see("data")),
    # the program itself
    (["slove", MAZUR], "No such command 'slove'; did you mean 'solve'? (see `backprop-tutor --help`)"),
    (["--verbose", "solve", MAZUR], "No such option '--verbose' (see `backprop-tutor --help`)"),
]


@pytest.mark.parametrize(("args", "message"), MISTAKES, ids=lambda value: " ".join(value)
                         if isinstance(value, list) else "")
def test_a_mistake_is_one_line_of_ours_and_exit_code_2(invoke, args, message):
    result = invoke(*args, input="")
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def test_every_command_is_covered():
    covered = {args[0] for args, _ in MISTAKES}
    assert set(typer.main.get_command(app).commands) <= covered


def test_no_command_shows_the_help(invoke):
    result = invoke()
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: backprop-tutor [OPTIONS] COMMAND")
    assert "solve" in result.stdout and result.stderr == ""


def test_a_value_after_double_dash_is_an_argument(invoke):
    result = invoke("solve", "--", "--steps")  # a problem file named --steps
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --steps: ") and "\n" not in result.stderr.strip()


def test_the_real_program_says_the_same(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", "from tutor.cli.app import main; main()", "solve", "x",
                             "--digits", "0"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "error: --digits expects a whole number from 1 to 17, not '0'\n"


def _typed_parameters():
    """(command, parameter name, option declaration) of every number or choice option of every command."""
    for info in app.registered_commands:
        hints = typing.get_type_hints(info.callback, include_extras=True)
        for name, hint in hints.items():
            if typing.get_origin(hint) is not typing.Annotated:
                continue
            kind, *declarations = typing.get_args(hint)
            inner = [k for k in typing.get_args(kind) if k is not type(None)] or [kind]
            if inner[0] in (int, float) or inspect.isclass(inner[0]) and issubclass(inner[0], Enum):
                yield info.callback.__name__, name, declarations[0]


def test_every_number_and_choice_option_uses_our_parser():
    typed = list(_typed_parameters())
    assert len(typed) >= 20
    for command, name, declaration in typed:
        assert isinstance(declaration, typer.models.OptionInfo), (command, name)
        assert declaration.parser is not None, f"{command} {name}: declare it with tutor/cli/options.py"


HELPS = """import sys
from tutor.cli.app import app
for name in sys.argv[1:]:
    try:
        app([name, "--help"], prog_name="backprop-tutor")
    except SystemExit:
        print("\\f")
"""


def _helps(width: int, names: list[str]) -> list[str]:
    """Each command's help as the program prints it `width` columns wide (one process for them all)."""
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"}
    result = subprocess.run([sys.executable, "-c", HELPS, *names], capture_output=True, text=True, env=env,
                            check=True)
    return result.stdout.split("\f\n")[:-1]


@pytest.mark.parametrize("width", [60, 80])
def test_help_shows_every_option_with_its_metavar_and_default(width):
    commands = typer.main.get_command(app).commands
    for (name, command), out in zip(commands.items(), _helps(width, list(commands)), strict=True):
        assert out.startswith(f"Usage: backprop-tutor {name} ")
        assert "{" not in out.splitlines()[0], out.splitlines()[0]  # arguments named plainly: PROBLEM
        assert max(len(line) for line in out.splitlines()) <= width, name
        for param in command.params:
            long_name = next((opt for opt in param.opts if opt.startswith("--")), None)
            if long_name is not None:
                assert f"{long_name} {param.metavar}" in out if param.metavar else long_name in out, (name, param)
    solve_help = " ".join(_helps(width, ["solve"])[0].split())
    assert "--digits N Significant digits" in solve_help and "[default: 6]" in solve_help
    assert "A whole number from 1 to 17." in solve_help
    assert "--format text|plain|json" in solve_help and "[default: text]" in solve_help


# -- the validators themselves ---------------------------------------------------------------------------


def test_validators_return_the_values():
    assert whole_number("--n", minimum=1)("12") == 12
    assert whole_number("--n", minimum=1)(6) == 6  # a declared default
    assert number("--x", minimum=0, maximum=1)("0.25") == 0.25
    assert number("--x", minimum=0, maximum=1)("1") == 1.0
    assert choice("--f", ["text", "json"])("json") == "json"


TEXTS = st.one_of(st.text(max_size=12), st.integers(-30, 30).map(str), st.floats(allow_nan=True).map(repr))


@pytest.mark.parametrize(("parse", "expected", "kind", "low", "high"), [
    (whole_number("--steps", minimum=1, maximum=17), "--steps expects a whole number from 1 to 17", int, 1, 17),
    (number("--credit", minimum=0, maximum=1), "--credit expects a number from 0 to 1", float, 0, 1),
    (number("--rate"), "--rate expects a number", float, float("-inf"), float("inf")),
])
@given(text=TEXTS)
def test_a_number_is_in_range_or_refused_with_the_text(parse, expected, kind, low, high, text):
    try:
        value = parse(text)
    except OptionValueError as exc:
        assert str(exc) == f"{expected}, not '{text}'"
    else:
        assert isinstance(value, kind) and low <= value <= high and value == kind(text)



def test_the_tolerance_mode_option_offers_every_mode_the_judge_knows():
    from tutor.cli.app import ToleranceMode
    from tutor.problem.validated import TOLERANCE_MODES

    assert tuple(mode.value for mode in ToleranceMode) == TOLERANCE_MODES
