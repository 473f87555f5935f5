"""The quiz, the grader and the blank sheets on computational graphs: follow-through, diagnoses, hints.

Expected values are worked out by hand here from the expressions (a slip's consequences too).
"""

from __future__ import annotations

import json
import math

import pytest

from tutor.problem.loader import parse_problem
from tutor.solver import solve
from tutor.teach.grader import Grader, template_text, asked_quantities
from tutor.teach.judge import Answer, Judge
from tutor.teach.mistakes import CATALOGUE, GRAPH_CATALOGUE

#: x feeds two gates: df/dx = y + z, the sum of what q and r send back.
FAN_OUT = """\
name: fan-out
graph:
  - q = x * y
  - r = x * z
  - f = q + r
inputs: {x: 2, y: -3, z: 4}
"""

SIGMOID = "problems/graphs/cs231n-sigmoid.yaml"


@pytest.fixture
def fan_out(tmp_path):
    path = tmp_path / "fan-out.yaml"
    path.write_text(FAN_OUT)
    return path


def judge_one(text: str, answers: dict[str, float], key: str):
    trace = solve(parse_problem(text))
    given = {k: Answer(k, v, str(v)) for k, v in answers.items()}
    return {j.key: j for j in Judge(trace).judge(given)}[key]


# -- the catalogue: each graph mistake reproduced -------------------------------------------------------------

MISTAKE_CASES = {
    # id: (graph lines, inputs, key answered, the wrong answer)
    "quotient_rule_wrong": (["q = a / b", "f = q * c"], {"a": 3, "b": 2, "c": 5}, "dq_db", 3 / 4),
    "power_rule_wrong": (["q = a^3", "f = q * c"], {"a": 2, "c": 5}, "dq_da", 3 * 2 ** 3),
    "max_gradient_to_both": (["q = max(a, b)", "f = q * c"], {"a": 2, "b": 1, "c": 5}, "dq_db", 1),
    "exp_derivative_wrong": (["q = exp(a)", "f = q * c"], {"a": 0.5, "c": 5}, "dq_da", 0.5 * math.exp(-0.5)),
    "tanh_derivative_wrong": (["q = tanh(a)", "f = q * c"], {"a": 0.5, "c": 5}, "dq_da", 1 - 0.25),
    "sigmoid_derivative_wrong": (["q = sigmoid(a)", "f = q * c"], {"a": 0.5, "c": 5}, "dq_da", 0.5 * 0.5),
    "relu_gradient_wrong": (["q = relu(a)", "f = q * c"], {"a": 1.5, "c": 5}, "dq_da", 1.5),
    "fanout_not_added": (["q = x * y", "r = x * z", "f = q + r"], {"x": 2, "y": -3, "z": 4}, "df_dx", 4),
    "upstream_gradient_omitted": (["q = a * b", "f = q * c"], {"a": 2, "b": 3, "c": 5}, "df_da", 3),
    # f = a * c: df/da = c = 5, a+ = a - 0.1 * 5
    "update_sign_flipped": (["f = a * c"], {"a": 2, "c": 5}, "new_a", 2 + 0.1 * 5),
    "learning_rate_omitted": (["f = a * c"], {"a": 2, "c": 5}, "new_a", 2 - 5),
    "update_not_applied": (["f = a * c"], {"a": 2, "c": 5}, "new_a", 2.0),  # 2.0 where a+ = 1.5
}
#: The mistakes graphs share with networks: the same wrong rule, under the same id and explanation.
SHARED = {"update_sign_flipped", "learning_rate_omitted", "update_not_applied"}


def _text(lines, inputs) -> str:
    text = "graph:\n" + "".join(f"  - {line}\n" for line in lines) + \
        "inputs: {" + ", ".join(f"{k}: {v}" for k, v in inputs.items()) + "}\n"
    return text + "parameters: [a]\nlearning_rate: 0.1\n" if "a" in inputs else text


def test_every_graph_mistake_has_a_case_and_none_is_a_network_one():
    assert set(MISTAKE_CASES) == {m.id for m in GRAPH_CATALOGUE}
    assert {m.id for m in GRAPH_CATALOGUE} & {m.id for m in CATALOGUE} == SHARED
    network = {m.id: m.explanation for m in CATALOGUE}
    assert all(m.explanation == network[m.id] for m in GRAPH_CATALOGUE if m.id in SHARED)


@pytest.mark.parametrize("mistake", list(MISTAKE_CASES))
def test_each_graph_mistake_is_diagnosed(mistake):
    lines, inputs, key, wrong = MISTAKE_CASES[mistake]
    judgement = judge_one(_text(lines, inputs), {key: wrong}, key)
    assert judgement.verdict == "wrong"
    assert judgement.diagnosis is not None and judgement.diagnosis.id == mistake


def test_a_gate_mistake_on_the_output_gate_is_diagnosed_on_its_gradient():
    """At the output's own gate the local gradient is the gradient (upstream 1): f = a / b, df/db = -a/b^2."""
    judgement = judge_one(_text(["f = a / b"], {"a": 3, "b": 2}), {"df_db": 0.75}, "df_db")
    assert judgement.diagnosis is not None and judgement.diagnosis.id == "quotient_rule_wrong"


def test_a_mistake_upstream_carries_through_the_world():
    """max's gradient sent to b too: df/db then follows from it, and is diagnosed with the same mistake."""
    judgement = judge_one(_text(["q = max(a, b)", "f = q * c"], {"a": 2, "b": 1, "c": 5}), {"df_db": 5}, "df_db")
    assert judgement.diagnosis is not None and judgement.diagnosis.id == "max_gradient_to_both"


def test_follow_through_from_a_slip_upstream():
    """exp(-1) slipped as 0.37 (right: 0.367879): its local gradient and the product follow from the slip."""
    trace = solve(SIGMOID)
    answers = {"g6": Answer("g6", 0.5, "0.5"), "dg6_dg5": Answer("dg6_dg5", 0.5, "0.5"),
               "df_dg6": Answer("df_dg6", trace["df_dg6"].value, repr(trace["df_dg6"].value)),
               "df_dg5": Answer("df_dg5", 0.5 * trace["df_dg6"].value, repr(0.5 * trace["df_dg6"].value))}
    verdicts = {j.key: j for j in Judge(trace).judge(answers)}
    assert verdicts["g6"].verdict == "wrong"
    assert verdicts["dg6_dg5"].verdict == "follow_through" and verdicts["dg6_dg5"].follows_from == ("g6",)
    assert verdicts["df_dg5"].verdict == "follow_through"


# -- grade, template and quiz through the command line ---------------------------------------------------------


def test_template_lists_every_quantity_with_its_meaning(invoke, fan_out):
    result = invoke("template", str(fan_out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "q:" in result.stdout and "df_dx_via_q:" in result.stdout
    assert any(line.startswith("df_dx:") and "gradient of the output f with respect to x (an input)" in line
               for line in lines)
    assert any(line.startswith("dq_dx:") and "local gradient of the gate q = x * y with respect to x" in line
               for line in lines)


def test_grade_diagnoses_a_fan_out_mistake_and_gives_follow_through(invoke, fan_out, tmp_path):
    """q slipped (-5, right -6): f follows from it; df/dx given as one contribution only: fan-out."""
    sheet = tmp_path / "alice.yaml"
    sheet.write_text("q: -5\nr: 8\nf: 3\ndq_dx: -3\ndf_dx_via_q: -3\ndr_dx: 4\ndf_dx_via_r: 4\ndf_dx: 4\n")
    result = invoke("grade", str(fan_out), str(sheet), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    verdicts = {r["key"]: r for r in data["results"]} if "results" in data else \
        {r["key"]: r for r in data["sheets"][0]["results"]}
    assert verdicts["q"]["verdict"] == "wrong"
    assert verdicts["f"]["verdict"] == "follow_through"
    assert verdicts["df_dx"]["verdict"] == "wrong" and verdicts["df_dx"]["diagnosis"] == "fanout_not_added"
    assert verdicts["df_dx_via_r"]["verdict"] == "correct"
    assert verdicts["df_dy"]["verdict"] == "missing"


def test_grade_text_names_the_mistake(invoke, fan_out, tmp_path):
    sheet = tmp_path / "bob.yaml"
    sheet.write_text("df_dx: -3\n")
    result = invoke("grade", str(fan_out), str(sheet), "--format", "plain")
    assert result.exit_code == 0, result.output
    assert "fanout_not_added" in result.stdout


def test_quiz_checks_an_answer_sheet(invoke, fan_out, tmp_path, db):
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text("q: -5\nr: 8\nf: 3\ndf_dx: 4\n")
    result = invoke("quiz", str(fan_out), "--answers", str(sheet), "--format", "json", "--db", str(db))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    verdicts = {r["key"]: r for r in data["results"]}
    assert verdicts["f"]["verdict"] == "follow_through" and verdicts["f"]["follows_from"] == ["q"]
    assert verdicts["df_dx"]["diagnosis"] == "fanout_not_added"
    assert data["sections"]["forward"]["asked"] == 3


def test_quiz_with_piped_answers_hints_and_names(invoke, fan_out, db):
    """Piped answers, one a line: a slip then the right value, sums and products by name, a hint."""
    answers = "\n".join(["-5", "-6",  # q: wrong, then right
                         "8",  # r
                         "q + r",  # f by name: the student's own q and r
                         "1", "1",  # df/dq, df/dr: the add gate passes its upstream 1 on
                         "hint", "z",  # dr/dx after its formula
                         "df/dr*dr/dx",  # what r sends back to x, by name
                         "quit"]) + "\n"
    result = invoke("quiz", str(fan_out), "--format", "plain", "--db", str(db), input=answers)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Correct: q = -6." in out and "Correct: f = 2." in out
    assert "Hint: dr/dx = z" in out
    assert "Correct: df/dx via r = 4." in out
    assert "Stopped (quit) after 7 of 14 questions." in out
    assert "7 of 7 right" in out


def test_quiz_limits_and_focus_on_a_graph(invoke, fan_out, db):
    result = invoke("quiz", str(fan_out), "--focus", "backward", "--limit", "2", "--format", "json", "--db",
                    str(db), input="quit\n")
    assert result.exit_code == 0, result.output


def test_asked_quantities_default_to_every_quantity():
    trace = solve(parse_problem(FAN_OUT))
    asked = asked_quantities(trace)
    assert [a.key for a in asked] == trace.keys()
    assert template_text(trace, asked).count("\n") == len(asked) + 3


def test_grader_points_with_an_ask_section(tmp_path):
    text = FAN_OUT + "ask: {q: 1, df_dx: 2, f: 1}\ngrading: {follow_through_credit: 0.5}\n"
    grader = Grader(solve(parse_problem(text)))
    result = grader.grade_text("q: -5\nf: 3\ndf_dx: 1\n")
    assert {r.key: r.points for r in result.results} == {"q": 0.0, "f": 0.5, "df_dx": 2.0}


@pytest.mark.parametrize("width", [60, 80])
def test_the_quiz_on_a_terminal_fits_and_takes_answers(tmp_path, width):
    """On a real pseudo-terminal at 60 and 80 columns: the card, a right answer, a hint, quit."""
    pexpect = pytest.importorskip("pexpect")
    import os
    import re
    import shutil
    import sys

    from tests.conftest import ROOT

    installed = shutil.which("backprop-tutor")
    program, prefix = (installed, []) if installed else (sys.executable, ["-m", "tutor"])
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "TERM", "XDG_DATA_HOME")}
    env.update({"TERM": "xterm-256color", "XDG_DATA_HOME": str(tmp_path / "xdg")})
    import io

    log = io.StringIO()
    child = pexpect.spawn(program, [*prefix, "quiz", SIGMOID, "--db", str(tmp_path / "p.sqlite3")], cwd=str(ROOT),
                          env=env, encoding="utf-8", dimensions=(40, width), timeout=60)
    child.logfile_read = log
    child.expect_exact("[key g1]")
    child.expect_exact("> ")
    child.sendline("2 * -1")
    child.expect_exact("Correct")
    child.expect_exact("[key g2]")
    child.expect_exact("> ")
    child.sendline("hint")
    child.expect_exact("w1 * x1")
    child.expect_exact("> ")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", log.getvalue())
    too_long = [line for line in text.replace("\r", "").split("\n")
                if len(line) > width and str(tmp_path) not in line]  # (a path is never split)
    assert not too_long, too_long


@pytest.mark.parametrize("name", ["cs231n-sigmoid", "micrograd-readme", "cs231n-circuit"])
def test_every_value_solve_prints_grades_as_correct(name):
    """A sheet of the values exactly as `solve` prints them (6 digits) is all correct, updates too."""
    import io

    from tutor.views.output import PlainSink
    from tutor.views.text import TextView

    trace = solve(name)
    view = TextView(PlainSink(io.StringIO(), 80), digits=6, plain=True)
    view.given_numbers(trace)
    sheet = "".join(f"{q.key}: {view.value_text(q)}\n" for q in trace.quantities)
    result = Grader(trace).grade_text(sheet)
    assert {r.verdict for r in result.results} == {"correct"}, [(r.key, r.verdict) for r in result.results
                                                                 if r.verdict != "correct"]


def test_a_slip_that_makes_a_gate_undefined_is_graded_not_a_crash(invoke, tmp_path, db):
    """g6 = -1 (true e^-1) makes the student's g7 = 1 + g6 = 0 and f = 1 / g7 a division by zero: g7 is
    follow-through, f (undefined from their values) is never; the grader and the quiz both go on."""
    sheet = tmp_path / "slip.yaml"
    sheet.write_text("g6: -1\ng7: 0\nf: 5\ndf_dg7: -3\nnew_w0: 2.1\n")
    result = invoke("grade", SIGMOID, str(sheet), "--format", "json")
    assert result.exit_code == 0, result.output
    verdicts = {r["key"]: r["verdict"] for r in json.loads(result.stdout)["results"]}
    assert (verdicts["g6"], verdicts["g7"], verdicts["f"], verdicts["df_dg7"]) == \
        ("wrong", "follow_through", "wrong", "wrong")
    assert verdicts["new_w0"] == "correct"  # 2 - 0.5 * (-0.196612) = 2.098
    quiz = invoke("quiz", SIGMOID, "--answers", str(sheet), "--format", "json", "--db", str(db))
    assert quiz.exit_code == 0, quiz.output
    assert {r["key"]: r["verdict"] for r in json.loads(quiz.stdout)["results"]}["g7"] == "follow_through"


def test_a_parameter_left_as_it_was_is_update_not_applied_not_an_upstream_mistake(tmp_path):
    """cs231n's w0 = 2 and w0+ = 2 - 0.5 * (-0.196612) = 2.098: '2.0' is w0 itself (also what exp's derivative
    taken as x exp(x - 1) would give far upstream); '2' is too short to show the change."""
    grader = Grader(solve(SIGMOID))
    for written, note in (("2.0", False), ("2.00", False), ("2", True)):
        (row,) = [r for r in grader.grade_text(f"new_w0: {written}\n").results if r.key == "new_w0"]
        assert (row.verdict, row.judgement.diagnosis.id) == ("wrong", "update_not_applied"), written
        assert (row.judgement.note is not None) == note


def test_a_contribution_is_used_by_its_label_with_spaces(fan_out):
    """`df/dx via q + df/dx via r` on a sheet is y + z = -3 + 4 = 1 (not 'df/dx' read as the value itself)."""
    grader = Grader(solve(fan_out))
    result = grader.grade_text("df/dx via q: -3\ndf/dx via r: 4\ndf/dx: df/dx via q + df/dx via r\n")
    rows = {r.key: r for r in result.results}
    assert not result.problems
    assert (rows["df_dx"].verdict, rows["df_dx"].given) == ("correct", 1.0)
