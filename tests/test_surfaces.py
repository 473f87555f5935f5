"""What a newcomer meets around the numbers: the quiz's screen, command-line messages and output details."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.conftest import ROOT

MAZUR = "problems/mazur-2-2-2.yaml"


def flat(text: str) -> str:
    return " ".join(text.split())


def lines(*answers: str) -> str:
    return "".join(a + "\n" for a in answers)


# -- the quiz's screen ------------------------------------------------------------------------------


def test_show_prints_the_network_and_givens_again(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "net_o1", "--db", str(db), input=lines("show", "q"))
    out = result.stdout
    assert out.count("w5 = 0.4 (h1 -> o1)") == 2  # at the start, and after `show`
    assert out.count("Network 2-2-2") == 2
    assert "Not a number" not in out


def test_each_weight_says_which_neurons_it_connects_also_when_generated(invoke, db):
    result = invoke("quiz", "--seed", "3", "--db", str(db), input=lines("q"))
    assert "w_11^2 = 0.55 (1^1 -> 1^2)" in flat(result.stdout)
    assert "w_12^1 = 0.05 (x_2 -> 1^1)" in flat(result.stdout)


def test_each_question_shows_the_givens_it_takes(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "net_o1,w5+", "--db", str(db), input=lines("q"))
    assert "[1/2] net input of o1 (net_o1) [key net2_1] given w5 = 0.4, w6 = 0.45, b2 = 0.6" in flat(result.stdout)


def test_focus_shows_the_upstream_values_the_first_question_rests_on(invoke, db):
    result = invoke("quiz", MAZUR, "--focus", "backward", "--db", str(db), input=lines("q"))
    out = flat(result.stdout)
    assert ("[1/22] derivative of the loss with respect to the output of o1 (dE_total/dout_o1) [key dL_dout2_1] "
            "given t_o1 = 0.01; from earlier steps out_o1 = 0.751365") in out
    review = invoke("quiz", MAZUR, "--review", "--only", "delta_o1", "--db", str(db), input=lines("q"))
    assert "from earlier steps dE_total/dout_o1 = 0.741365, dout_o1/dnet_o1 = 0.186816" in flat(review.stdout)


def test_an_upstream_value_shown_can_be_used_by_name(invoke, db):
    data = json.loads(invoke("quiz", MAZUR, "--only", "delta_o1", "--db", str(db), "-f", "json",
                             input=lines("dE_total/dout_o1 * dout_o1/dnet_o1")).stdout)
    assert data["results"][0]["verdict"] == "correct"


def test_answers_sheet_has_no_prompt_help_and_no_worked_line_for_blank_keys(invoke, db, tmp_path):
    sheet = tmp_path / "s.yaml"
    sheet.write_text("net1_1: 0.3775\nout1_1: 0.7\n")
    result = invoke("quiz", MAZUR, "--answers", str(sheet), "--db", str(db))
    out = result.stdout
    assert "Type a number" not in out and "hint" not in out
    assert out.count("Worked line:") == 1  # out_h1's wrong answer only, none for the 39 blank keys
    assert "No answer given." not in out and "(no answer)" not in out
    # The 39 blank keys: one line for the run after each answer, naming the keys.
    blank = [line for line in out.splitlines() if "left blank" in line]
    assert [line.split(" left blank")[0] for line in blank] == ["[2/41]", "[4-41/41]"]
    assert blank[0] == "[2/41] left blank: net_h2" and blank[1].startswith("[4-41/41] left blank: out_h2, net_o1, ")
    assert "2 of 41 right" not in out and "1 of 41 right" in out


def test_answers_sheet_values_may_use_the_sheet_s_own_values_by_name(invoke, db, tmp_path):
    sheet = tmp_path / "s.yaml"
    sheet.write_text("w5+: w5 - eta*dE_total/dw5\ndelta_o1: 0.1385\nout_h1: 0.593269992\n"
                     "dE_total/dw5: delta_o1 * out_h1\nw6+: w6 - eta*dE_total/dw6\n")
    result = invoke("quiz", MAZUR, "--answers", str(sheet), "--only", "out_h1,delta_o1,dE_total/dw5,w5+,w6+",
                    "--db", str(db), "-f", "json")
    rows = {r["key"]: r for r in json.loads(result.stdout)["results"]}
    assert {k: r["verdict"] for k, r in rows.items()} == {
        "out1_1": "correct", "delta2_1": "correct", "dL_dw2_1_1": "correct", "new_w2_1_1": "correct",
        "new_w2_1_2": "invalid"}
    assert rows["dL_dw2_1_1"]["answer"] == 0.1385 * 0.593269992
    assert rows["new_w2_1_2"]["error"].startswith("'dE_total/dw6' has no value to use: it is not on this sheet")
    assert "line 5: w6+: 'dE_total/dw6' has no value" in result.stderr


def test_progress_agrees_with_the_summary_and_counts_help(invoke, db, tmp_path):
    sheet = tmp_path / "s.yaml"
    sheet.write_text("net1_1: 0.3775\nnet1_2: 0.3925\nout1_1: 0.59327\nout1_2: 0.7\n")
    summary = invoke("quiz", MAZUR, "--answers", str(sheet), "--db", str(db)).stdout
    assert "3 of 41 right" in summary
    quiz = invoke("quiz", MAZUR, "--limit", "2", "--db", str(db), input=lines("hint", "0.3775", "0.5", "0.3925"))
    assert "Help: 1 answer after hints, 1 at a second try." in flat(quiz.stdout)
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    assert "nothing was saved" in invoke("quiz", MAZUR, "--answers", str(empty), "--db", str(db)).stdout
    report = invoke("progress", "--db", str(db))
    out = report.stdout
    assert "in 2 sessions" in out  # the empty sheet added none
    rows = [line.split() for line in out.splitlines() if " sheet " in line or " stdin " in line]
    assert [r[-4:] for r in rows] == [["2/2", "1", "1", "finished"], ["3/41", "0", "0", "finished"]]
    assert "in 1 sessions" not in out
    sessions = json.loads(invoke("progress", "--db", str(db), "-f", "json").stdout)["sessions"]
    assert [(s["right"], s["hinted"], s["retried"]) for s in sessions] == [(2, 1, 1), (3, 0, 0)]


def test_json_progress_counts_hints_and_retries(invoke, db):
    invoke("quiz", MAZUR, "--limit", "1", "--db", str(db), input=lines("hint", "0.5", "0.3775"))
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("SELECT tries, hints FROM answers").fetchall() == [(2, 1)]
    finally:
        connection.close()


# -- output -----------------------------------------------------------------------------------------


def test_digits_round_computed_values_only(invoke):
    out = invoke("solve", MAZUR, "--digits", "1", "-f", "plain").stdout
    assert "= 0.15 * 0.05 + 0.2 * 0.1 + 0.35" in out  # givens as written
    assert re.search(r"\| net_h1 +\| w1 \* i1 \+ w2 \* i2 \+ b1 +\| +0\.4 \|", out)  # computed, rounded
    assert "| w1+ " in out and "0.15 -> 0.1" in out  # the old weight as written, the new one rounded
    many = invoke("solve", MAZUR, "--digits", "17", "-f", "plain").stdout
    assert "0.14999999999999999" not in many and "= 0.15 * 0.05" in many


def test_a_negative_number_after_an_operator_is_bracketed_everywhere(invoke):
    out = invoke("solve", "ex02", "--only", "dL_dw1_1_1", "-f", "plain").stdout
    products = re.findall(r"= ([-0-9. *()e]+?) +\|", out)
    assert products
    for text in products:
        assert not re.search(r"[*+/-] -", text), text  # never "* -1": always "* (-1)"


def test_solve_only_with_steps_keeps_the_history(invoke):
    out = invoke("solve", MAZUR, "--only", "w5+", "--steps", "100", "-f", "plain").stdout
    assert "Loss over 100 steps" in out
    every = invoke("solve", MAZUR, "--steps", "100", "--every", "25", "-f", "plain").stdout
    shown = re.findall(r"\|\s+(\d+) \|\s+[0-9.e-]+ \|", every.split("Loss over 100 steps, every 25")[1])
    assert shown == ["0", "25", "50", "75", "100"]


def test_a_diverging_run_says_so_in_words(invoke, tmp_path):
    problem = tmp_path / "diverge.yaml"
    problem.write_text("format: 1\nname: Diverging\ninputs: [1.0, 2.0]\ntargets: 3.0\nlayers:\n"
                       "  - weights: [[0.5, 0.2]]\n    biases: [0.1]\n    activation: linear\n"
                       "loss: half_sse\nlearning_rate: 5\n")
    result = invoke("solve", str(problem), "--steps", "1000", "-f", "plain")
    assert result.exit_code == 0
    assert "The loss diverged: after update" in flat(result.stdout)
    assert "RuntimeWarning" not in result.output and " nan " not in result.stdout


def test_list_fits_the_width(invoke):
    out = invoke("list").stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "ex02-3-3-2-2" in out


@pytest.mark.parametrize("width", [60, 80])
def test_list_columns_line_up_at_60_and_80_columns(runner, monkeypatch, width):
    """Names, shapes and descriptions each start at one column; an image shape too long for its column
    ends its line whole, and every description reads back in full."""
    from tests.conftest import STABLE_ENV
    from tutor.cli.app import app
    from tutor.problem.bundled import bundled_problems
    from tutor.problem.loader import load_problem

    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["list"], env={**STABLE_ENV, "COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    starts = [k for k, line in enumerate(lines) if not line.startswith(" ")] + [len(lines)]
    expected = {path.stem: load_problem(path) for path in bundled_problems()}
    shape_columns, text_columns = set(), set()
    for begin, end in zip(starts, starts[1:]):
        first = re.match(r"(\S+)( +)(\S+)(?:( +)(.*))?$", lines[begin])
        assert first, lines[begin]
        problem = expected.pop(first[1])
        assert first[3] == problem.shape_text
        shape_columns.add(first.start(3))
        text = [first[5]] if first[5] else []
        if first[5]:
            text_columns.add(first.start(5))
        for line in lines[begin + 1:end]:
            text_columns.add(len(line) - len(line.lstrip()))
            text.append(line.strip())
        assert " ".join(text) == " ".join((problem.description or problem.name).split())
    assert not expected
    assert len(shape_columns) == 1 and len(text_columns) == 1
    assert "1x4x4-1x3x3-1x2x2-4-3" in result.stdout


# -- command-line messages ----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["solve", MAZUR, "--steps", "abc"], "error: --steps expects a whole number of at least 1, not 'abc'"),
    (["solve", MAZUR, "--steps", "0"], "error: --steps expects a whole number of at least 1, not '0'"),
    (["solve", MAZUR, "-f", "xml"], "error: --format expects one of text, plain, json, markdown, latex, html, not 'xml'"),
    (["solve"], "error: Missing argument 'PROBLEM' (see `backprop-tutor solve --help`)"),
    (["grade", MAZUR, "x.yaml", "--follow-through-credit", "3"],
     "error: --follow-through-credit expects a number from 0 to 1, not '3'"),
    (["solve", MAZUR, "--every", "5"], "error: --every needs --steps"),
])
def test_option_errors_are_one_line(invoke, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "\u256d" not in result.stderr  # no box


def test_usage_names_problem(invoke):
    for command in ("solve", "grade", "template", "check"):
        out = invoke(command, "--help").stdout
        assert "PROBLEM" in out.splitlines()[0] and "{problem}" not in out


def test_help_shows_every_option_in_full_at_80_columns(invoke):
    from typer.main import get_command

    from tutor.cli.app import app

    for name, command in get_command(app).commands.items():
        out = invoke(name, "--help").stdout
        assert max(len(line) for line in out.splitlines()) <= 80
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--"):
                    assert option in out, (name, option)


@pytest.mark.parametrize("command", [["solve", MAZUR], ["quiz", MAZUR], ["template", MAZUR]])
def test_an_empty_only_means_the_same_everywhere(invoke, command):
    result = invoke(*command, "--only", " , ", input="")
    assert result.exit_code == 2
    assert "--only needs at least one key" in result.stderr


# -- check, the Python API, bundled names ---------------------------------------------------------------


def _problem(tmp_path, extra: str = "", activation: str = "sigmoid", loss: str = "half_sse", target: str = "0.5"):
    path = tmp_path / "p.yaml"
    path.write_text(f"format: 1\nname: P\ninputs: [0.1, 0.3]\ntargets: {target}\nlayers:\n"
                    f"  - weights: [[0.5, 0.2]]\n    biases: [1.83]\n    activation: {activation}\n"
                    f"loss: {loss}\nlearning_rate: 0.01\n{extra}")
    return str(path)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"extra": "ask: [net1_1, out9_9]\n"}, "ask[1]: this problem has no quantity 'out9_9'"),
    ({"activation": "linear", "loss": "bce", "target": "1"}, "bce needs every output strictly between 0 and 1"),
    ({"activation": "tahn"}, "unknown activation 'tahn'; did you mean 'tanh'?"),
])
def test_check_makes_every_check_the_other_commands_make(invoke, tmp_path, kwargs, message):
    path = _problem(tmp_path, **kwargs)
    for command in (["check", path], ["solve", path], ["template", path]):
        result = invoke(*command)
        if command[0] == "solve" and "ask" in kwargs.get("extra", ""):
            continue  # solve shows every quantity; it does not read ask:
        assert result.exit_code == 2, command
        assert message in result.stderr, (command, result.stderr)


def test_bundled_old_name_still_works(invoke):
    result = invoke("solve", "ex02-3-3-2", "--only", "new_w1_1_1", "-f", "plain")
    assert result.exit_code == 0
    assert "w_11^1+" in result.stdout


def test_perceptron_neuron_is_not_called_out(invoke):
    out = invoke("solve", "perceptron", "-f", "plain").stdout
    assert "out_out" not in out and "dout_out" not in out and "out_o" in out


def test_mean_score_at_a_sensible_precision(invoke, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a.yaml").write_text("net1_1: 0.3775\n")
    (folder / "b.yaml").write_text("net1_1: 0.1\n")
    (folder / "c.yaml").write_text("net1_1: 0.1\n")
    out = invoke("grade", MAZUR, str(folder)).stdout
    assert "mean score: 0.33 / 41" in out


def test_names_in_the_courses_notation_work_in_answers(invoke, db):
    # EX02's labels hold a power sign: w_11^3*a_1^2 is the weight times the output, not a power of w_11.
    data = json.loads(invoke("quiz", "ex02", "--only", "out2_1,net3_1", "--db", str(db), "-f", "json",
                             input=lines("0.321214", "w_11^3*a_1^2 + w_12^3*a_2^2 + b_1^3")).stdout)
    assert [r["verdict"] for r in data["results"]] == ["correct", "correct"]
    assert data["results"][1]["answer"] == pytest.approx(0.5 * 0.321214 + 0.1 * 0.621227 + 0.5, abs=1e-6)
    help_text = flat(invoke("quiz", "ex02", "--limit", "1", "--db", str(db), input="").stdout)
    assert "by name: w_11^3*a_1^2)" in help_text


def test_carry_forward_message_says_why_an_answer_counts(mazur_trace_and_view):
    from tutor.teach.judge import Answer, Judgement
    from tutor.teach.quiz import Judged, select_questions

    trace, view, out = mazur_trace_and_view
    (question,) = select_questions(trace, only=["out_h1"])
    within = Judgement("out1_1", "correct", 0.59327, Answer("out1_1", 0.5939, "0.5939", 4))
    view(Judged(question, within, 1, True))
    chained = Judgement("out1_1", "correct", 0.59327, Answer("out1_1", 0.6, "0.6", 1), (), 0.6)
    view(Judged(question, chained, 1, True))
    exact = Judgement("out1_1", "correct", 0.59327, Answer("out1_1", 0.59327, "0.59327", 5))
    view(Judged(question, exact, 1, True))
    text = flat(out.getvalue())
    assert "Correct: 0.5939 (exact out_h1 = 0.59327); carry on with it." in text
    assert "Correct: 0.6, from your values (exact out_h1 = 0.59327)." in text
    assert "Correct: out_h1 = 0.59327." in text


@pytest.fixture
def mazur_trace_and_view():
    import io

    from tutor.solver import solve
    from tutor.views.output import PlainSink
    from tutor.views.quiz import QuizView

    out = io.StringIO()
    trace = solve(str(ROOT / MAZUR))
    return trace, QuizView(PlainSink(out, width=80), plain=True), out
