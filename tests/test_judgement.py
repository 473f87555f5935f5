"""Judgement a careful TA would sign: the course texts' own numbers, updates judged by their change, zeros,
strict follow-through, diagnosis over a loose match, the quiz and the grader agreeing.

The course texts' numbers are typed in as a student would (they are the input, never the answer key);
what they should get is worked out here: the true values come from the engine, which the engine tests
check independently, and every follow-through value is recomputed here from the student's own numbers.
"""

from __future__ import annotations

import json
import math
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROBLEMS
from tutor.errors import closest
from tutor.problem.loader import parse_problem
from tutor.solver import solve
from tutor.teach.grader import Asked, Grader, settings_for
from tutor.teach.judge import Answer, Judge, Tolerance, old_value
from tutor.teach.quiz import QuizSession, select_questions, sheet_reader
from tutor.teach.sheets import SheetReader


def every_quantity(trace) -> list[Asked]:
    """Every quantity of the step, one point each (whatever the problem's `ask:` says)."""
    return [Asked(q) for q in trace.quantities]


def graded(problem: str, text: str, **options):
    trace = solve(PROBLEMS / f"{problem}.yaml")
    grader = Grader(trace, settings_for(trace.problem, **options), every_quantity(trace))
    return {r.label: r for r in grader.grade_text(text).results if r.verdict != "missing"}


def verdicts(rows) -> dict[str, tuple[str, str | None]]:
    return {label: (r.verdict, r.diagnosis.id if r.diagnosis else None) for label, r in rows.items()}


def sheet_text(values: dict[str, str]) -> str:
    return "".join(f"'{label}': {value}\n" for label, value in values.items())


# -- the course texts' numbers ------------------------------------------------------------------------------

#: Every number of Matt Mazur's post (Tutorial 6) that is a quantity of the step, as published.
MAZUR_POST = {
    "net_h1": "0.3775", "out_h1": "0.593269992", "out_h2": "0.596884378", "net_o1": "1.105905967",
    "out_o1": "0.75136507", "out_o2": "0.772928465", "E_o1": "0.274811083", "E_o2": "0.023560026",
    "E_total": "0.298371109", "dE_total/dout_o1": "0.74136507", "dout_o1/dnet_o1": "0.186815602",
    "delta_o1": "0.138498562", "dE_total/dw5": "0.082167041", "w5+": "0.35891648", "w6+": "0.408666186",
    "w7+": "0.511301270", "w8+": "0.561370121", "dE_total/dout_h1": "0.036350306",
    "dout_h1/dnet_h1": "0.241300709", "dE_total/dw1": "0.000438568", "w1+": "0.149780716",
    "w2+": "0.19956143", "w3+": "0.24975114", "w4+": "0.29950229",
}


def test_the_mazur_post_numbers_are_all_correct():
    rows = graded("mazur-2-2-2", sheet_text(MAZUR_POST))
    assert len(rows) == len(MAZUR_POST)
    assert {label: r.verdict for label, r in rows.items()} == {label: "correct" for label in MAZUR_POST}


#: The EX02 exercise's forward pass, loss and first chain-rule factors, as the text writes them.
EX02_TEXT = {
    "net_1^1": "0.49", "net_2^1": "0.53", "net_3^1": "0.39", "a_1^1": "0.49", "a_2^1": "0.53", "a_3^1": "0.39",
    "net_1^2": "0.333", "net_2^2": "0.727", "a_1^2": "0.321", "a_2^2": "0.621", "net_1^3": "0.7226",
    "net_2^3": "0.771", "a_1^3": "0.673", "a_2^3": "0.684", "L": "0.0174", "dL/da_1^3": "0.346",
    "da_1^3/dnet_1^3": "0.22", "da_1^2/dnet_1^2": "0.897", "da_1^1/dnet_1^1": "1",
}


def test_the_ex02_text_numbers():
    rows = graded("ex02-3-3-2-2", sheet_text(EX02_TEXT))
    expected = {label: ("correct", None) for label in EX02_TEXT}
    # The loss uses outputs 0.573 and 0.628 that the text never computed: wrong even from its own outputs.
    o1, o2 = 0.673, 0.684
    assert rows["L"].judgement.consistent_value == pytest.approx(((0.5 - o1) ** 2 + (0.8 - o2) ** 2) / 2)
    expected["L"] = ("wrong", None)
    # dL/dy_1 = 2 (y_1 - t_1) drops the mean's 1/n over the n = 2 outputs.
    expected["dL/da_1^3"] = ("wrong", "loss_factor_dropped")
    assert verdicts(rows) == expected


#: Birzeit lecture, appendix B (MLP 2-2-1), the worked numbers as the lecture gives them.
BIRZEIT_B = {
    "out_h1": "0.618", "out_h2": "0.506", "out_o": "0.865", "E": "0.349", "dE/dout_o": "0.835",
    "dout_o/dnet_o": "0.23", "dE/dW6": "0.097", "dout_h1/dnet_h1": "0.236", "dout_h2/dnet_h2": "0.25",
    "dE/dW1": "-0.001", "dE/dW2": "-0.003", "dE/dW3": "0.009", "dE/dW4": "0.003", "W1+": "0.50001",
    "W2+": "0.10003", "W3+": "0.61991", "W4+": "0.1997", "W5+": "-0.20618", "W6+": "0.29903",
}


def test_the_birzeit_appendix_b_numbers():
    rows = graded("mlp-2-2-1", sheet_text(BIRZEIT_B), follow_through_credit=0.5)
    got = {label: r.verdict for label, r in rows.items()}
    # sigma'(net_out) is out (1 - out) = 0.865 * 0.135, not 0.23: everything computed from it follows through.
    assert got.pop("dout_o/dnet_o") == "wrong"
    for label in ["dE/dW6", "dE/dW1", "dE/dW2", "W1+", "W2+", "W3+", "W6+"]:
        assert got.pop(label) == "follow_through", label
    # dE/dW3 and dE/dW4 multiply by W3 and W4 where the inputs X1, X2 belong; W4+ = 0.2 - 0.01 * 0.003 is
    # 0.19997, not 0.1997; W5+ subtracts 0.01 * out_h1, not the gradient.
    for label in ["dE/dW3", "dE/dW4", "W4+", "W5+"]:
        assert got.pop(label) == "wrong", label
    assert set(got.values()) == {"correct"}
    # Each follow-through is the lecture's own arithmetic on its own numbers, recomputed here.
    delta_out = 0.835 * 0.23
    assert rows["dE/dW6"].judgement.consistent_value == pytest.approx(delta_out * 0.506)  # their out_h2
    assert rows["dE/dW1"].judgement.consistent_value == pytest.approx(delta_out * -0.2 * 0.236 * 0.1)
    assert rows["W6+"].judgement.consistent_value == pytest.approx(0.3 - 0.01 * 0.097)
    assert rows["W3+"].judgement.consistent_value == pytest.approx(0.62 - 0.01 * 0.009)
    # With half credit for a follow-through, W6+ earns no more than the gradient it came from.
    assert rows["W6+"].points == rows["dE/dW6"].points == 0.5


def test_the_birzeit_appendix_a_numbers_at_one_figure():
    text = sheet_text({"out_o": "0.874", "dE/dout_o": "0.844", "dout_o/dnet_o": "0.11",
                       "dE/dW1": "0.01", "dE/dW2": "0.03", "W2+": "0.1997"})
    rows = graded("perceptron-2-1", text)
    assert {r.verdict for r in rows.values()} == {"correct"}
    # The lecture's one figure is allowed by its problem file, not by the default.
    rows = graded("perceptron-2-1", text, min_figures=2)
    assert rows["dE/dW1"].verdict == "wrong" and "at least 2 significant figures" in rows["dE/dW1"].judgement.note


def test_the_birzeit_problems_keep_their_biases():
    for name in ("perceptron-2-1", "mlp-2-2-1"):
        trace = solve(PROBLEMS / f"{name}.yaml")
        assert not trace.problem.update_biases
        assert not [q for q in trace.quantities if q.kind == "new_bias"]
        assert trace.problem.grading.min_figures == 1


def test_ex02_asks_the_four_weights_of_the_exercise():
    trace = solve(PROBLEMS / "ex02-3-3-2-2.yaml")
    grader = Grader(trace)
    assert [a.label for a in grader.asked] == ["w_22^3+", "w_21^2+", "w_22^2+", "w_11^1+"]
    assert "b^2 = (0.1, 0.4)" in trace.problem.description
    # the layer-2 biases the text computes with: tanh(0.333) and tanh(0.727)
    assert [q.value for q in trace.quantities if q.kind == "net" and q.layer == 2] == pytest.approx([0.333, 0.727])


# -- updates judged by their change ------------------------------------------------------------------------


def decimals_showing(change: float, figures: int = 2) -> int:
    """The decimals at which a change shows with `figures` significant figures."""
    return figures - 1 - math.floor(math.log10(abs(change)))


@pytest.mark.parametrize("problem", ["mazur-2-2-2", "ex02-3-3-2-2"])
def test_unchanged_and_sign_flipped_updates(problem):
    trace = solve(PROBLEMS / f"{problem}.yaml")
    grader = Grader(trace)
    for asked in grader.asked:
        q = asked.quantity
        if q.kind != "new_weight":
            continue
        old = old_value(q)
        change = q.value - old
        places = decimals_showing(change)

        def verdict(value: float, places: int = places):
            (row,) = [r for r in grader.grade_text(f"{q.key}: {value:.{places}f}\n").results if r.key == q.key]
            return row.verdict, row.diagnosis.id if row.diagnosis else None, row.judgement.note

        assert verdict(q.value)[:2] == ("correct", None), q.label
        assert verdict(old)[:2] == ("wrong", "update_not_applied"), q.label
        assert verdict(old - change)[:2] == ("wrong", "update_sign_flipped"), q.label
        # The old weight as the problem writes it: update_not_applied, never correct; where those decimals
        # cannot show the update, with a note asking for more decimals.
        written = repr(old)
        given = written.split(".")[1] if "." in written else ""
        as_given = verdict(old, len(given))
        assert as_given[:2] == ("wrong", "update_not_applied"), q.label
        hidden = abs(round(old, len(given)) - q.value) <= 0.5 * 10 ** -len(given)  # the old value passes for it
        assert ("write enough decimals to show the change" in (as_given[2] or "")) == hidden, q.label


def test_the_mazur_examples_of_the_issue():
    rows = graded("mazur-2-2-2", "w1+: 0.15\n")  # 0.149780716 is 0.15 at two decimals: so is w1 itself
    assert verdicts(rows) == {"w1+": ("wrong", "update_not_applied")}
    assert "write enough decimals to show the change" in rows["w1+"].judgement.note
    assert verdicts(graded("mazur-2-2-2", "w1+: 0.150219284\n")) == {"w1+": ("wrong", "update_sign_flipped")}
    assert verdicts(graded("mazur-2-2-2", "w1+: 0.15000\n")) == {"w1+": ("wrong", "update_not_applied")}


def test_ex02_asked_weights_copied_unchanged_score_nothing():
    trace = solve(PROBLEMS / "ex02-3-3-2-2.yaml")
    grader = Grader(trace, settings_for(trace.problem))
    copied = "".join(f"{a.key}: {old_value(a.quantity)}\n" for a in grader.asked)  # 0.5, 0.4, 0.1, 0.1
    for mode in ("precision", "either"):
        result = Grader(trace, settings_for(trace.problem, mode=mode)).grade_text(copied)
        assert result.score == 0 and {r.verdict for r in result.results} == {"wrong"}


def test_a_quiz_on_ex02_does_not_take_the_old_weight():
    trace = solve(PROBLEMS / "ex02-3-3-2-2.yaml")
    judge = Judge(trace, settings_for(trace.problem).tolerance)
    for question in select_questions(trace, focus="updates"):
        q = question.quantity
        places = decimals_showing(q.value - old_value(q))
        for typed, diagnosis in [(f"{old_value(q):.{places}f}", "update_not_applied"),
                                 (f"{2 * old_value(q) - q.value:.{places}f}", "update_sign_flipped")]:
            (judgement,) = judge.judge({q.key: Answer(q.key, float(typed), typed, places)})
            assert (judgement.verdict, judgement.diagnosis.id) == ("wrong", diagnosis), (q.label, typed)


# -- zeros and too few figures ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0", "0.000", "0.0000", "-0"])
def test_zero_is_never_right_for_a_tiny_gradient(typed):
    for problem, label in [("mazur-2-2-2", "dE_total/dw1"), ("ex02-3-3-2-2", "dL/dw_31^1")]:  # 0.00044, 2.7e-5
        row = graded(problem, f"{label}: {typed}\n")[label]
        assert (row.verdict, row.diagnosis) == ("wrong", None)
        # Where the true value rounds to zero at the decimals written, the note says why 0 is not right.
        decimals = len(typed.split(".")[1]) if "." in typed else 0
        rounds_to_zero = abs(row.expected) < 0.5 * 10 ** -decimals
        assert ("no significant figure" in (row.judgement.note or "")) == rounds_to_zero


def test_a_tiny_gradient_needs_two_figures():
    assert graded("ex02-3-3-2-2", "dL/dw_31^1: 0.00003\n")["dL/dw_31^1"].verdict == "wrong"  # one figure
    assert graded("ex02-3-3-2-2", "dL/dw_31^1: 0.000027\n")["dL/dw_31^1"].verdict == "correct"
    assert graded("mazur-2-2-2", "dE_total/dw1: 0.00044\n")["dE_total/dw1"].verdict == "correct"
    assert not Tolerance().accepts(0.0033, 0.00376615, decimals=4)  # accepted by 1% or 5e-4, never at 4 decimals


def test_an_exact_zero_is_right():
    problem = parse_problem("inputs: [1.0]\ntargets: [0.5]\nlayers:\n"
                            "  - {weights: [[-0.5]], biases: [0.1], activation: relu}\n"
                            "  - {weights: [[0.3]], biases: [0.2], activation: sigmoid}\n"
                            "loss: half_sse\nlearning_rate: 0.1\n")
    trace = solve(problem)  # net = -0.4: relu'(net) = 0, so w1's gradient is 0 and w1 does not change
    grader = Grader(trace)
    result = grader.grade_text("dout_dnet1_1: 0\ndL_dw1_1_1: 0\nnew_w1_1_1: -0.5\n")
    assert {r.key: r.verdict for r in result.results if r.verdict != "missing"} == {
        "dout_dnet1_1": "correct", "dL_dw1_1_1": "correct", "new_w1_1_1": "correct"}


def test_arithmetic_is_judged_to_its_most_precise_number():
    rows = graded("mazur-2-2-2", "w5+: '0.4 - 0.5*0.082167041'\nout_h1: '1/(1+exp(-0.3775))'\n"
                                 "dE_total/dw5: '0.7414 * 0.1868 * 0.5933'\n")
    assert {r.verdict for r in rows.values()} == {"correct"}
    rows = graded("mazur-2-2-2", "dE_total/dw5: '0.741 * 0.187 * 0.593'\n")  # 0.08217 to three figures
    assert rows["dE_total/dw5"].verdict == "correct"
    rows = graded("mazur-2-2-2", "dE_total/dw5: '0.74 * 0.19 * 0.59'\n")  # 0.0830: not 0.0822 to two figures
    assert rows["dE_total/dw5"].verdict == "wrong"


# -- diagnosis wins over a loose match, follow-through is strict -----------------------------------------------

TANH = parse_problem("inputs: [1.0]\ntargets: [0.2]\nlayers:\n"
                     "  - {weights: [[0.2904]], biases: [0.0], activation: tanh}\n"
                     "  - {weights: [[0.5]], biases: [0.1], activation: sigmoid}\n"
                     "loss: half_sse\nlearning_rate: 0.1\n")


@pytest.mark.parametrize("mode", ["precision", "either"])
def test_tanh_derivative_on_the_net_input_is_diagnosed_under_one_percent(mode):
    trace = solve(TANH)
    net = 0.2904
    assert trace["dout_dnet1_1"].value == pytest.approx(1 - math.tanh(net) ** 2)  # 0.9202
    typed = f"{1 - net ** 2:.4f}"  # 0.9157: 0.5% off
    result = Grader(trace, settings_for(TANH, mode=mode)).grade_text(f"dout_dnet1_1: {typed}\n")
    (row,) = [r for r in result.results if r.verdict != "missing"]
    assert (row.verdict, row.diagnosis.id) == ("wrong", "tanh_derivative_on_net")


def test_follow_through_is_strict_in_every_mode():
    trace = solve(PROBLEMS / "mazur-2-2-2.yaml")
    slipped = 0.3785  # net_h1 = 0.3775, one digit slipped: 0.26% off
    out_h1 = 1 / (1 + math.exp(-slipped))  # 0.04% off the true out_h1, but right from their net_h1
    text = f"net_h1: {slipped}\nout_h1: {out_h1:.9f}\n"
    for mode in ("precision", "either", "relative"):
        rows = {r.label: r for r in Grader(trace, settings_for(trace.problem, mode=mode)).grade_text(text).results}
        assert rows["net_h1"].verdict == ("wrong" if mode == "precision" else "correct"), mode
        if mode == "precision":
            assert rows["out_h1"].verdict == "follow_through"
            assert rows["out_h1"].judgement.follows_from == ("net1_1",)


def test_a_follow_through_never_scores_above_its_source():
    rows = graded("mlp-2-2-1", sheet_text(BIRZEIT_B), follow_through_credit=0.25)
    assert max(r.points for r in rows.values() if r.verdict == "follow_through") == 0.25


# -- the quiz judges as the grader does ---------------------------------------------------------------------


SHEETS = [("mazur-2-2-2", MAZUR_POST), ("ex02-3-3-2-2", EX02_TEXT), ("mlp-2-2-1", BIRZEIT_B),
          ("mazur-2-2-2", {"net_h1": "0.3785", "out_h1": "0.59351", "w1+": "0.15000", "w5+": "0.441083520",
                           "dE_total/dw1": "0", "E_total": "0.3"}),
          # Values written with names: the sheet's own values (one of them a slip) and the givens.
          ("mazur-2-2-2", {"net_h1": "'w1*i1 + w2*i2 + b1'", "out_h1": "'1/(1+exp(-net_h1))'", "delta_o1": "0.15",
                           "dE_total/dw5": "'delta_o1 * out_h1'", "w5+": "'w5 - eta*dE_total/dw5'",
                           "w6+": "'w6 - eta*delta_o1*out_h2'", "out_h2": "0.5969",
                           "dE_total/dw6": "'delta_o1*out_h2 + 0.01'", "dE_total/dw7": "'w7+'", "w7+": "'x*2'"})]


@pytest.mark.parametrize(("problem", "values"), SHEETS, ids=[f"{p}-{n}" for n, (p, _) in enumerate(SHEETS)])
def test_the_quiz_gives_the_grader_s_verdicts(problem, values):
    trace = solve(PROBLEMS / f"{problem}.yaml")
    settings = settings_for(trace.problem)
    answers = SheetReader(trace).read_text(sheet_text(values)).answers
    grader = Grader(trace, settings, every_quantity(trace))
    expected = {r.key: (r.verdict, r.diagnosis, r.judgement.note) for r in grader.grade_answers(answers).results}
    session = QuizSession(Judge(trace, settings.tolerance), select_questions(trace), lambda event: None,
                          max_tries=1, given=answers)
    outcome = session.run(sheet_reader(answers))
    got = {r.key: (r.verdict, r.diagnosis, r.judgement.note) for r in outcome.results}
    assert got == expected


def test_typed_answers_with_names_get_the_verdicts_of_the_same_sheet():
    """Typed at the prompt, a name is the student's own earlier value; on a sheet, the sheet's value."""
    trace = solve(PROBLEMS / "mazur-2-2-2.yaml")
    typed = {"net_h1": "w1*i1 + w2*i2 + b1", "out_h1": "1/(1+exp(-net_h1))", "out_h2": "0.5969",
             "delta_o1": "0.1385", "dE_total/dw5": "delta_o1 * out_h1", "dE_total/dw6": "delta_o1*out_h2 + 0.001",
             "w5+": "w5 - eta*dE_total/dw5", "w6+": "w6 - eta * delta_o1 * out_h2"}
    settings = settings_for(trace.problem)
    asked = [a for a in every_quantity(trace) if a.label in typed]
    sheet = Grader(trace, settings, asked).grade_text(sheet_text({k: f"'{v}'" for k, v in typed.items()}))
    expected = {r.key: (r.verdict, r.diagnosis) for r in sheet.results}
    questions = select_questions(trace, only=list(typed))
    session = QuizSession(Judge(trace, settings.tolerance), questions, lambda event: None, max_tries=1)
    outcome = session.run(lambda question: typed[question.label])
    assert {r.key: (r.verdict, r.diagnosis) for r in outcome.results} == expected
    assert expected["dL_dw2_1_1"][0] == "correct" and expected["dL_dw2_1_2"][0] == "wrong"
    # w6+ from the true gradient, not from the student's own (wrong) one: wrong as well.
    assert [r.verdict for r in sheet.results].count("correct") == 6 and expected["new_w2_1_2"][0] == "wrong"


def test_the_quiz_command_honours_the_problem_s_grading_section(invoke, db):
    def verdict(*options: str) -> str:
        result = invoke("quiz", "perceptron-2-1", "--only", "dE/dW1", "--db", str(db), "--format", "json",
                        *options, input="0.01\n0.01\n")
        return json.loads(result.stdout)["results"][0]["verdict"]

    assert verdict() == "correct"  # one figure, as the problem file allows
    assert verdict("--min-figures", "2") == "wrong"


# -- recording, sheets, suggestions, --only ----------------------------------------------------------------


def test_a_diagnosis_followed_by_a_right_second_try_is_recorded(invoke, db):
    wrong = f"{0.40 + 0.5 * 0.082167041:.6f}"  # w5+ with the update's sign flipped
    result = invoke("quiz", "mazur-2-2-2", "--only", "w5+", "--db", str(db), "--format", "json",
                    input=f"{wrong}\n0.358916\n")
    data = json.loads(result.stdout)
    (only,) = data["results"]
    assert (only["verdict"], only["tries"], only["diagnoses"]) == ("correct", 2, ["update_sign_flipped"])
    assert data["mistakes"][0]["id"] == "update_sign_flipped"
    connection = sqlite3.connect(db)
    try:
        (diagnosis,) = connection.execute("SELECT diagnosis FROM answers").fetchone()
    finally:
        connection.close()
    assert diagnosis == "update_sign_flipped"
    report = json.loads(invoke("progress", "--db", str(db), "--format", "json").stdout)
    assert {"id": "update_sign_flipped", "count": 1} in report["mistakes"]


def test_a_malformed_line_spoils_only_its_own_key(tmp_path):
    trace = solve(PROBLEMS / "mazur-2-2-2.yaml")
    path = tmp_path / "sheet.yaml"
    path.write_text("net_h1: 0.3775\nout_h1: [0.593\nw5+ 0.35891648\nw6+: 0.408666186\n")
    result = Grader(trace).grade_file(path)
    assert result.error is None and result.status == "format problems: 2"
    assert {r.key: r.verdict for r in result.results if r.verdict != "missing"} == {
        "net1_1": "correct", "out1_1": "invalid", "new_w2_1_1": "invalid", "new_w2_1_2": "correct"}
    assert [p.split(":")[0] for p in result.problems] == ["line 2", "line 3"]


def test_gradebook_status(tmp_path, invoke):
    folder = tmp_path / "class"
    folder.mkdir()
    sheets = {"ann": "net_h1: 0.3775\n", "ben": "# nothing yet\nnet_h1:\n", "cid": "{{{ not yaml\n",
              "dee": "net_h1: 0.3775\nout_h1: [0.593\nw5+ 0.35891648\nw9+: 0.4\n"}
    for student, text in sheets.items():
        (folder / f"{student}.yaml").write_text(text)
    out = tmp_path / "out"
    invoke("grade", "mazur-2-2-2", str(folder), "--out", str(out))
    rows = [line.split(",") for line in (out / "gradebook.csv").read_text().splitlines()]
    assert rows[0][-1] == "status"
    assert {row[0]: row[-1] for row in rows[1:]} == {"ann": "ok", "ben": "empty", "cid": "unreadable",
                                                    "dee": "format problems: 3"}


def test_grade_only_grades_a_subset_and_keeps_follow_through(tmp_path, invoke):
    path = tmp_path / "sheet.yaml"
    path.write_text(f"net_h1: 3.775\nout_h1: {1 / (1 + math.exp(-3.775)):.6f}\nnet_o1: 0.3\n")
    data = json.loads(invoke("grade", "mazur-2-2-2", str(path), "--only", "out_h1,net_o1", "-f", "json").stdout)
    assert [(r["key"], r["verdict"]) for r in data["results"]] == [("out1_1", "follow_through"),
                                                                    ("net2_1", "wrong")]
    assert data["max_score"] == 2 and data["problems"] == []
    assert invoke("grade", "mazur-2-2-2", str(path), "--only", "nothing").exit_code == 2


def test_unknown_names_are_only_suggested_when_close():
    trace = solve(PROBLEMS / "ex02-3-3-2-2.yaml")
    choices = [*trace.keys(), *(q.label for q in trace.quantities)]
    assert closest("dL/dy_1", choices) == ""
    assert closest("dL/da_1^4", choices) == "; did you mean 'dL/da_1^3'?"
    assert closest("learning_rte", ["learning_rate"]) == "; did you mean 'learning_rate'?"
    assert closest("tahn", ["tanh", "sigmoid"]) == "; did you mean 'tanh'?"
    reader = SheetReader(trace)
    assert reader.read_text("dL/dy_1: 0.346\n").problems == [
        "line 1: unknown key 'dL/dy_1', not graded; `backprop-tutor template PROBLEM` lists the keys"]


@pytest.mark.parametrize(("value", "message"), [
    ("0", "a whole number from 1 to 15, got 0"), ("2.5", "got 2.5"), ("true", "got true"), ("16", "got 16")])
def test_min_figures_in_the_problem_file_is_checked(value, message):
    from tutor.errors import ProblemError

    text = (PROBLEMS / "mazur-2-2-2.yaml").read_text() + f"grading: {{tolerance: {{min_figures: {value}}}}}\n"
    with pytest.raises(ProblemError) as caught:
        parse_problem(text, source="p.yaml")
    assert caught.value.field == "grading.tolerance.min_figures" and message in caught.value.message


MAZUR_GRADER = Grader(solve(PROBLEMS / "mazur-2-2-2.yaml"))
SHEET_LINE = st.one_of(
    st.text(alphabet="abnetw_ho1+:[]{}'\"#-. 0123456789", max_size=20),
    st.sampled_from(["net_h1: 0.3775", "out_h1: [0.59", "w5+ 0.3589", "'w6+: 0.4", "E_total: 0.2984", "- 1"]))


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(SHEET_LINE, max_size=8))
def test_any_sheet_is_graded_line_by_line_without_error(lines):
    result = MAZUR_GRADER.grade_text("\n".join(lines) + "\n")
    assert len(result.results) == 41
    if result.error is None:
        assert result.status in ("ok", "empty", f"format problems: {len(result.problems)}")
    else:
        assert result.status == "unreadable" and {r.verdict for r in result.results} == {"invalid"}


def test_the_worked_examples_in_the_grading_doc_hold():
    """Every row of the example tables in docs/grading.md, graded against Mazur's problem."""
    text = (PROBLEMS.parent / "docs" / "grading.md").read_text()
    section = text.split("## How a value is judged")[1].split("### Other modes")[0]
    labels = {"out_h1": "out_h1", "dE_total/dw1": "dE_total/dw1", "w1+": "w1+"}
    checked = 0
    label = None
    for line in section.splitlines():
        if line.startswith("| ") and " = " in line.split("|")[1]:
            label = labels[line.split("|")[1].split("=")[0].strip()]
            continue
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if label is None or len(cells) != 3 or not cells[0].startswith("`"):
            continue
        verdict, _, diagnosis = cells[1].partition(", ")
        for typed in cells[0].replace("`", "").split(", "):
            row = graded("mazur-2-2-2", f"{label}: {typed}\n")[label]
            assert (row.verdict, row.diagnosis.id if row.diagnosis else "") == (verdict, diagnosis.strip("`")), \
                (label, typed)
            checked += 1
    assert checked == 18
