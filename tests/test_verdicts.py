"""Verdicts a TA signs: the update rule, follow-through from every written value (asked or not), short
values that are exactly the student's own, the decimal-places policy, echoes as written, and folder grading.

Every expected number here is recomputed with plain Python arithmetic (no engine), from the problem's
givens or the student's own values.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import PROBLEMS
from tutor.errors import ProblemError, UserError
from tutor.problem.loader import parse_problem
from tutor.solver import open_problem
from tutor.teach.gradebook import feedback_markdown, folder_lines, summarise
from tutor.teach.grader import Asked, Grader, settings_for
from tutor.teach.judge import Judge, Tolerance
from tutor.teach.sheets import answer_from_text

MAZUR = str(PROBLEMS / "mazur-2-2-2.yaml")
EX02 = str(PROBLEMS / "ex02-3-3-2-2.yaml")


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def judged(problem: str, label: str, text: str, step: int | None = None, **tolerance):
    trace = open_problem(problem, step)
    key = trace.resolve(label)
    return Judge(trace, Tolerance(**tolerance)).judge({key: answer_from_text(key, text)})[0]


def verdict(problem: str, label: str, text: str, step: int | None = None, **tolerance):
    j = judged(problem, label, text, step, **tolerance)
    return j.verdict, j.diagnosis.id if j.diagnosis else None


# -- Mazur's update by hand -------------------------------------------------------------------------------

I1, I2, T1, T2 = 0.05, 0.10, 0.01, 0.99
W = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
B1, B2, ETA = 0.35, 0.60, 0.5


def mazur_hidden_update(index: int) -> float:
    """w1..w4 after one step of Mazur's example, by hand (index 0..3)."""
    h1, h2 = sigmoid(W[0] * I1 + W[1] * I2 + B1), sigmoid(W[2] * I1 + W[3] * I2 + B1)
    o1, o2 = sigmoid(W[4] * h1 + W[5] * h2 + B2), sigmoid(W[6] * h1 + W[7] * h2 + B2)
    d1, d2 = (o1 - T1) * o1 * (1 - o1), (o2 - T2) * o2 * (1 - o2)
    dh = [(d1 * W[4] + d2 * W[6]) * h1 * (1 - h1), (d1 * W[5] + d2 * W[7]) * h2 * (1 - h2)]
    gradient = dh[index // 2] * (I1, I2)[index % 2]
    return W[index] - ETA * gradient


def test_mazur_hand_values_are_the_ones_the_rule_is_about():
    assert mazur_hidden_update(3) == pytest.approx(0.299502287, abs=1e-9)
    assert mazur_hidden_update(0) == pytest.approx(0.149780716, abs=1e-9)


@pytest.mark.parametrize(("label", "text", "expected"), [
    ("w4+", "0.2995", ("correct", None)),       # 0.299502 at 4 decimals; w4 is 0.3000 there
    ("w1+", "0.1498", ("correct", None)),       # 0.149781 at 4 decimals; w1 is 0.1500 there
    ("w4+", "0.29950", ("correct", None)),
    ("w4+", "0.30", ("wrong", "update_not_applied")),   # so is w4 = 0.30 at 2 decimals
    ("w4+", "0.3000", ("wrong", "update_not_applied")),  # the weight left as it was
    ("w4+", "0.3005", ("wrong", "update_sign_flipped")),
    ("w4+", "0.2997", ("wrong", None)),         # 0.2995 at 4 decimals, one figure of change: no allowance
])
def test_mazur_updates(label, text, expected):
    assert verdict(MAZUR, label, text) == expected
    index = int(label[1]) - 1
    true = mazur_hidden_update(index)
    places = len(text.split(".")[1])
    # the rule, by hand: right at the decimals written, and the old value at those decimals would not be
    right = abs(float(text) - true) <= 0.5 * 10 ** -places
    shows = abs(round(W[index], places) - true) > 0.5 * 10 ** -places
    assert (expected == ("correct", None)) == (right and shows)


def test_a_short_update_asks_for_more_decimals():
    j = judged(MAZUR, "w4+", "0.30")
    assert "write enough decimals to show the change" in j.note and "(0.3)" in j.note


def test_the_momentum_step_two_at_three_figures():
    trace = open_problem("mazur-momentum", 2)
    w1 = trace[trace.resolve("w1+")]
    # PyTorch's momentum, mu 0.9, lr 0.5: v2 = 0.9 g1 + g2; the old w1 is the first step's w1+
    assert w1.parameter.value == pytest.approx(mazur_hidden_update(0), abs=1e-12)
    assert round(w1.value, 6) == 0.149395 and round(w1.parameter.value, 3) == 0.150
    assert verdict("mazur-momentum", "w1+", "0.149", step=2) == ("correct", None)


def test_ex02_tiny_updates():
    # w_11^1 = 0.1, learning rate 0.01: the update is 4.7e-6
    assert verdict(EX02, "w_11^1+", "0.100005") == ("correct", None)
    assert verdict(EX02, "w_11^1+", "0.1000047") == ("correct", None)
    assert verdict(EX02, "w_11^1+", "0.100000") == ("wrong", "update_not_applied")
    assert verdict(EX02, "w_31^1+", "0.2") == ("wrong", "update_not_applied")


# -- follow-through from work that is not asked ---------------------------------------------------------

EX02_X = [0.3, 0.5, 0.8]
EX02_T = [0.5, 0.8]
EX02_W1 = [[0.1, 0.2, 0.2], [0.4, 0.1, 0.2], [0.2, 0.3, 0.1]]
EX02_B1 = [0.2, 0.2, 0.1]
EX02_W2 = [[0.1, 0.2, 0.2], [0.4, 0.1, 0.2]]
EX02_B2 = [0.1, 0.4]
EX02_W3 = [[0.5, 0.1], [0.5, 0.5]]
EX02_B3 = [0.5, 0.3]


def ex02_asked_weights(net1_1: float | None = None) -> dict[str, float]:
    """EX02's four asked weights after one step of gradient descent (MSE over the 2 outputs, lr 0.01), by
    hand, with net_1^1 replaced by `net1_1` (a student's slip) where given."""
    net1 = [sum(w * x for w, x in zip(row, EX02_X)) + b for row, b in zip(EX02_W1, EX02_B1)]
    if net1_1 is not None:
        net1[0] = net1_1
    a1 = [max(0.0, n) for n in net1]
    a2 = [math.tanh(sum(w * a for w, a in zip(row, a1)) + b) for row, b in zip(EX02_W2, EX02_B2)]
    a3 = [sigmoid(sum(w * a for w, a in zip(row, a2)) + b) for row, b in zip(EX02_W3, EX02_B3)]
    d3 = [(2 / 2) * (a - t) * a * (1 - a) for a, t in zip(a3, EX02_T)]
    d2 = [sum(d3[k] * EX02_W3[k][j] for k in range(2)) * (1 - a2[j] ** 2) for j in range(2)]
    d1 = [sum(d2[k] * EX02_W2[k][j] for k in range(2)) * (1.0 if net1[j] > 0 else 0.0) for j in range(3)]
    eta = 0.01
    return {"new_w3_2_2": EX02_W3[1][1] - eta * d3[1] * a2[1],
            "new_w2_2_1": EX02_W2[1][0] - eta * d2[1] * a1[0],
            "new_w2_2_2": EX02_W2[1][1] - eta * d2[1] * a1[1],
            "new_w1_1_1": EX02_W1[0][0] - eta * d1[0] * EX02_X[0]}


def test_the_hand_computation_is_the_engines():
    trace = open_problem(EX02)
    for key, value in ex02_asked_weights().items():
        assert trace[key].value == pytest.approx(value, rel=1e-12), key


def ex02_slip_sheet() -> str:
    return "net1_1: 0.59\n" + "".join(f"{k}: {v!r}\n" for k, v in ex02_asked_weights(0.59).items())


@pytest.mark.parametrize(("credit", "score"), [(None, 4), (0.5, 2)])
def test_ex02_weights_from_a_slip_not_asked_follow_through(credit, score):
    trace = open_problem(EX02)
    grader = Grader(trace, settings_for(trace.problem, follow_through_credit=credit))
    result = grader.grade_text(ex02_slip_sheet(), student="ana")
    assert {r.key: r.verdict for r in result.results} == {k: "follow_through" for k in ex02_asked_weights()}
    assert all(r.judgement.follows_from == ("net1_1",) for r in result.results)
    assert (result.score, result.max_score) == (score, 4)
    (work,) = result.work
    assert (work.key, work.verdict, work.points, work.asked.points) == ("net1_1", "wrong", 0, 0)
    # the slip is row 1 of W^1 read as its column: w_11 x_1 + w_21 x_2 + w_31 x_3 + b_1
    assert 0.1 * 0.3 + 0.4 * 0.5 + 0.2 * 0.8 + 0.2 == pytest.approx(0.59)
    assert work.diagnosis.id == "weight_index_swapped"
    # the truths differ from the slip's values at the student's (full) precision: not correct
    truth = ex02_asked_weights()
    assert all(abs(truth[k] - v) > 1e-9 * abs(v) for k, v in ex02_asked_weights(0.59).items())
    feedback = feedback_markdown(result, grader)
    assert "| `net1_1` | net\\_1^1 | 0.59 | wrong | work (not asked) |" in feedback
    assert "consistent with your net\\_1^1 = 0.59" in feedback
    assert result.status == "ok" and result.problems == []


def test_work_earns_points_with_score_work(invoke, tmp_path):
    trace = open_problem(EX02)
    grader = Grader(trace, settings_for(trace.problem, score_work=True))
    result = grader.grade_text(ex02_slip_sheet())
    assert (result.score, result.max_score) == (4, 5)  # four follow-throughs; net1_1 wrong, out of one more
    text = (PROBLEMS / "ex02-3-3-2-2.yaml").read_text() + "grading: {score_work: true}\n"
    problem = tmp_path / "ex02.yaml"
    problem.write_text(text)
    sheet = tmp_path / "ana.yaml"
    sheet.write_text("net1_1: 0.49\n" + "".join(f"{k}: {v!r}\n" for k, v in ex02_asked_weights().items()))
    data = json.loads(invoke("grade", str(problem), str(sheet), "-f", "json").stdout)
    assert (data["score"], data["max_score"]) == (5, 5)
    assert [(w["key"], w["verdict"], w["points"], w["max_points"]) for w in data["work"]] == [
        ("net1_1", "correct", 1, 1)]
    cli = json.loads(invoke("grade", EX02, str(sheet), "-f", "json", "--score-work").stdout)
    assert (cli["score"], cli["max_score"]) == (5, 5)


def test_a_short_value_exactly_from_the_students_own_is_follow_through():
    # out_o1 0.71 (a slip: 0.7514); dE_total/dout_o1 = 0.71 - 0.01 = 0.7 exactly, one figure, and 0.741 is
    # 0.7 at one decimal too; delta_o1 from it: 0.7 * 0.71 * (1 - 0.71)
    dloss = 0.71 - 0.01
    delta = 0.7 * (0.71 * (1 - 0.71))
    assert dloss == pytest.approx(0.7, abs=1e-15) and round(delta, 6) == 0.14413
    trace = open_problem(MAZUR)
    grader = Grader(trace, asked=[Asked(trace[k]) for k in ("out2_1", "dL_dout2_1", "delta2_1")])
    result = grader.grade_text(f"out_o1: 0.71\ndE_total/dout_o1: 0.7\ndelta_o1: {delta!r}\n")
    got = {r.key: (r.verdict, r.judgement.follows_from) for r in result.results}
    assert got == {"out2_1": ("wrong", ()), "dL_dout2_1": ("follow_through", ("out2_1",)),
                   "delta2_1": ("follow_through", ("out2_1", "dL_dout2_1"))}
    # delta_o1 from the true dout/dnet and the 0.7: within 3% of the truth, never correct
    near = 0.7 * (trace["dout_dnet2_1"].value)
    result = grader.grade_text(f"out_o1: 0.71\ndE_total/dout_o1: 0.7\ndelta_o1: {near!r}\n")
    assert {r.key: r.verdict for r in result.results}["delta2_1"] == "wrong"  # their world has 0.71 * 0.29


# -- the decimal-places policy -----------------------------------------------------------------------------

@pytest.mark.parametrize(("problem", "label", "text", "expected"), [
    (MAZUR, "out_h1", "0.5933", ("correct", None)),
    (MAZUR, "out_h1", "0.593270", ("correct", None)),
    (MAZUR, "out_h1", "0.59", ("wrong", None)),
    (MAZUR, "out_h1", "0.5932", ("wrong", None)),      # no last-digit allowance
    (MAZUR, "dE_total/dw1", "0.0004", ("correct", None)),  # no minimum of figures
    (MAZUR, "dE_total/dw1", "0.0005", ("wrong", None)),
    (MAZUR, "w4+", "0.2995", ("correct", None)),
    (MAZUR, "w4+", "0.29951", ("correct", None)),       # 0.2995 at 4 decimals
    (EX02, "w_31^1+", "0.2000", ("wrong", "update_not_applied")),
    (EX02, "w_31^1+", "0.1999997", ("correct", None)),
])
def test_the_decimals_policy(problem, label, text, expected):
    assert verdict(problem, label, text, decimals=4) == expected
    trace = open_problem(problem)
    q = trace[trace.resolve(label)]
    within = abs(float(text) - q.value) <= 0.5e-4  # the policy by hand
    assert within == (expected == ("correct", None) or expected[1] == "update_not_applied")


def test_the_decimals_policy_in_the_docs_table():
    text = (PROBLEMS.parent / "docs" / "grading.md").read_text()
    section = text.split("### A decimal-places policy")[1].split("## Work written")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")][1:]  # below the header
    assert len(rows) == 5
    problems = {"w_31^1+": EX02}
    for line in rows:
        cells = [c.strip() for c in line.split("|")[1:-1]]
        typed_part, _, quantity = cells[0].partition(" for ")
        label = quantity.removeprefix("EX02's ").split()[0]
        want, _, diagnosis = cells[1].partition(", ")
        for typed in typed_part.replace("`", "").split(", "):
            got = verdict(problems.get(label, MAZUR), label, typed, decimals=4)
            assert got == (want, diagnosis.strip("`") or None), (label, typed)


def test_decimals_in_the_problem_file_and_on_the_command_line(invoke, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text((PROBLEMS / "mazur-2-2-2.yaml").read_text() + "grading: {decimals: 4}\n")
    settings = settings_for(parse_problem(path.read_text(), source=str(path)))
    assert settings.tolerance.decimals == 4 and "to 4 decimal places" in settings.describe()
    sheet = tmp_path / "s.yaml"
    sheet.write_text("dE_total/dw1: 0.0004\nout_h1: 0.59\n")
    data = json.loads(invoke("grade", str(path), str(sheet), "-f", "json").stdout)
    assert [r["verdict"] for r in data["results"] if r["verdict"] != "missing"] == ["wrong", "correct"]
    data = json.loads(invoke("grade", MAZUR, str(sheet), "-f", "json", "--decimals", "4").stdout)
    assert [r["verdict"] for r in data["results"] if r["verdict"] != "missing"] == ["wrong", "correct"]
    data = json.loads(invoke("grade", MAZUR, str(sheet), "-f", "json").stdout)  # default: 0.0004 is one figure
    assert [r["verdict"] for r in data["results"] if r["verdict"] != "missing"] == ["correct", "wrong"]
    quiz = invoke("quiz", MAZUR, "--only", "dE_total/dw1", "--decimals", "4", "-f", "json", "--db",
                  str(tmp_path / "db.sqlite3"), input="0.0004\n")
    result = json.loads(quiz.stdout)
    assert result["results"][0]["verdict"] == "correct" and result["tolerance"]["decimals"] == 4
    refused = invoke("grade", MAZUR, str(sheet), "--decimals", "4", "--min-figures", "2")
    assert refused.exit_code == 2 and "not both" in refused.stderr


@pytest.mark.parametrize(("grading", "field", "message"), [
    ("{decimals: -1}", "grading.decimals", "a whole number from 0 to 15"),
    ("{decimals: 2.5}", "grading.decimals", "a whole number from 0 to 15"),
    ("{decimals: true}", "grading.decimals", "a whole number from 0 to 15"),
    ("{decimals: 4, tolerance: {mode: either}}", "grading.decimals", "cannot be combined with tolerance mode"),
    ("{decimals: 4, tolerance: {min_figures: 2}}", "grading.decimals", "not both"),
    ("{score_work: yes please}", "grading.score_work", "expected true or false"),
])
def test_the_grading_fields_are_validated(grading, field, message):
    text = (PROBLEMS / "mazur-2-2-2.yaml").read_text() + f"grading: {grading}\n"
    with pytest.raises(ProblemError) as caught:
        parse_problem(text, source="p.yaml")
    assert caught.value.field == field and message in caught.value.message
    assert caught.value.line is not None


def test_a_loose_mode_on_the_command_line_sets_the_files_decimals_aside():
    problem = parse_problem((PROBLEMS / "mazur-2-2-2.yaml").read_text() + "grading: {decimals: 4}\n")
    assert settings_for(problem, mode="either").tolerance.decimals is None
    assert settings_for(problem, min_figures=3).tolerance.decimals is None
    with pytest.raises(UserError, match="cannot be combined"):
        settings_for(problem, mode="either", decimals=4)


# -- echoes as written ---------------------------------------------------------------------------------------

def test_answers_are_echoed_as_written(invoke, tmp_path):
    sheet = tmp_path / "s.yaml"
    sheet.write_text("w_11^1+: 0.1000047\nw_21^2+: 0.400026\nw_22^3+: 0.5 + 0.01*0.0156104\n")
    out = invoke("grade", EX02, str(sheet), "--out", str(tmp_path / "r")).stdout
    assert " 0.1000047 " in out and " 0.100005 " in out  # given as written; expected at 6 digits
    feedback = (tmp_path / "r" / "s.md").read_text()
    assert "| 0.1000047 | correct |" in feedback
    assert "| 0.5 + 0.01\\*0.0156104 = 0.500156 | correct |" in feedback


# -- folder grading --------------------------------------------------------------------------------------------

@pytest.fixture
def folder(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "ann.yaml").write_text("net_h1: 0.3775\nw5+: 0.4410835\n")  # w5 + eta * dE/dw5
    (klass / "ben.yaml").write_text("net_h1: 0.3775\nout_h1: [0.593\nw5+ 0.35891648\nw9+: 0.4\n")
    (klass / "ivan.txt").write_text("net_h1: 0.3775\n")
    (klass / "old").mkdir()
    (klass / ".hidden.yaml").write_text("net_h1: 1\n")
    bad = "\u00e9" * 120
    (klass / "cid.yaml").write_text(f"- {bad}\n- a list, not a mapping of keys {bad}\n")
    return klass


def test_a_folder_lists_what_it_skips(invoke, folder):
    result = invoke("grade", "mazur-2-2-2", str(folder))
    assert result.exit_code == 0
    assert "skipped: ivan.txt (not .yaml/.yml)\n" in result.stderr
    assert "skipped: old (a folder; subfolders are not read)\n" in result.stderr
    assert ".hidden" not in result.stderr + result.stdout
    assert [line.split()[0] for line in result.stdout.splitlines() if line and not line.startswith(" ")][:3] == [
        "ann", "ben", "cid"]


def test_results_are_not_overwritten_without_force(invoke, folder, tmp_path):
    out = tmp_path / "results"
    assert invoke("grade", "mazur-2-2-2", str(folder), "--out", str(out)).exit_code == 0
    before = (out / "ann.md").read_text()
    (folder / "ann.yaml").write_text("net_h1: 0.3775\n")
    refused = invoke("grade", "mazur-2-2-2", str(folder), "--out", str(out))
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr == (f"error: {out}: already holds results (gradebook.csv and 3 other files); add "
                              "--force to overwrite them\n")
    assert (out / "ann.md").read_text() == before
    assert invoke("grade", "mazur-2-2-2", str(folder), "--out", str(out), "--force").exit_code == 0
    assert (out / "ann.md").read_text() != before
    one = invoke("grade", "mazur-2-2-2", str(folder / "ann.yaml"), "--out", str(out))
    assert one.exit_code == 2 and "add --force" in one.stderr  # ann.md is there
    fresh = invoke("grade", "mazur-2-2-2", str(folder / "ann.yaml"), "--out", str(tmp_path / "new"))
    assert fresh.exit_code == 0


def test_the_gradebook_status_counts_format_problems(invoke, folder, tmp_path):
    out = tmp_path / "results"
    invoke("grade", "mazur-2-2-2", str(folder), "--out", str(out))
    rows = [line.split(",") for line in (out / "gradebook.csv").read_text().splitlines()]
    # ben: line 2 is not YAML, line 3 has no colon, line 4 names no quantity
    assert {row[0]: row[-1] for row in rows[1:]} == {"ann": "ok", "ben": "format problems: 3",
                                                    "cid": "unreadable"}


@pytest.mark.parametrize("width", [60, 80])
def test_the_folder_screen_fits(runner, folder, width):
    from tutor.cli.app import app

    many = folder / "dan.yaml"  # several mistakes, for a long "most common mistakes" summary
    many.write_text("w5+: 0.4410835\nw6+: 0.45\nw1+: 0.1502193\ndE_total/dout_o1: -0.74136507\n"
                    "dout_o1/dnet_o1: 0.24\ndelta_o1: 0.2\n")
    result = runner.invoke(app, ["grade", "mazur-2-2-2", str(folder)],
                           env={"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"})
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width, [line for line in lines if len(line) > width]
    text = " ".join(result.stdout.split())
    assert "(invalid sheet: an answer sheet is a mapping" in text and "..." not in result.stdout
    assert "most common mistakes:" in lines and "update_sign_flipped (3 answers, 2 students)" in text


def test_summary_and_folder_lines_wrap():
    trace = open_problem(MAZUR)
    grader = Grader(trace)
    long = grader.invalid_sheet("x.yaml", "x", "line 1: " + "a very long reason " * 10)
    for width in (60, 80):
        lines = folder_lines([long], width)
        assert max(map(len, lines)) <= width and len(lines) > 1 and lines[1].startswith("    ")
        summary = summarise([grader.grade_text("w5+: 0.4410835\n")]).lines(width)
        assert max(map(len, summary)) <= width


def test_a_conv_bias_copied_unchanged_is_update_not_applied():
    # conv-3x3-2x2: b^1 = 1, dL/db^1 = the sum of the deltas; b^1+ = 1 - eta * that sum
    trace = open_problem(str(PROBLEMS / "conv-3x3-2x2.yaml"))
    q = trace["new_b1_1"]
    deltas = [v.value for v in trace.quantities if v.kind == "map_delta" and v.layer == 1]
    assert q.value == pytest.approx(1 - trace.problem.learning_rate * sum(deltas), rel=1e-12)
    assert verdict(str(PROBLEMS / "conv-3x3-2x2.yaml"), "b^1+", "1") == ("wrong", "update_not_applied")
    assert verdict(str(PROBLEMS / "conv-3x3-2x2.yaml"), "b^1+", f"{q.value:.2f}") == ("correct", None)


def test_the_quiz_takes_a_correctly_rounded_weight(invoke, tmp_path):
    result = invoke("quiz", MAZUR, "--only", "w4+,w1+", "-f", "json", "--db", str(tmp_path / "db.sqlite3"),
                    input="0.1498\n0.2995\n")
    data = json.loads(result.stdout)
    assert [(r["key"], r["verdict"]) for r in data["results"]] == [("new_w1_1_1", "correct"),
                                                                   ("new_w1_2_2", "correct")]
    short = invoke("quiz", MAZUR, "--only", "w4+", "--db", str(tmp_path / "db.sqlite3"), input="0.30\n0.30\n")
    text = " ".join(short.stdout.split())
    assert "[update_not_applied]" in text and "write enough decimals to show the change." in text


def test_the_quiz_summary_gives_an_update_with_its_change(invoke, db):
    """EX02's w_31^1+ = 0.2 - 0.01 * 2.66199e-05 = 0.1999997: the summary of two wrong 0.2000 says so, not 0.2."""
    result = invoke("quiz", "ex02-3-3-2-2", "--only", "w_31^1+", "--db", str(db), "--format", "plain",
                    input="0.2000\n0.2000\n")
    assert result.exit_code == 0, result.output
    assert "w_31^1+ [new_w1_3_1]: wrong, you gave 0.2000; it is 0.1999997\n" in result.stdout
