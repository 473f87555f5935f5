"""Grading sheets: verdicts, follow-through, rounding, diagnosis, tolerance, and reading untrusted sheets.

Expected numbers come from independent computations: Mazur's network is worked out by hand below (with
an optional rounding at every step), the blog's published numbers are typed in, and follow-through
values are computed here from the slipped value (by hand, or with `Judge.world`).
"""

from __future__ import annotations

import math
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROBLEMS
from tests.optimizer_cases import OPTIMIZER_MISTAKE_CASES, optimizer_problem_text
from tutor.errors import ProblemError, UserError
from tutor.teach.sheets import SheetError, compose_sheet, simple_entries
from tutor.teach.grader import Asked, Grader, asked_quantities, select, settings_for, template_text
from tutor.teach.judge import Judge
from tutor.teach.mistakes import CATALOGUE
from tutor.problem.loader import parse_problem
from tutor.problem.yaml_safe import Mapping, Scalar
from tutor.solver import solve

MAZUR_TEXT = (PROBLEMS / "mazur-2-2-2.yaml").read_text()


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def mazur_by_hand(rnd=lambda x: x, **given: float) -> dict[str, float]:
    """Every quantity of Mazur's step, in solution order, as a student computes it: each result rounded
    with `rnd` and the next computed from the rounded ones; `given` replaces a value (a slip)."""
    i1, i2, t1, t2, eta = 0.05, 0.10, 0.01, 0.99, 0.5
    w1, w2, w3, w4, w5, w6, w7, w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55
    b1, b2 = 0.35, 0.60
    v: dict[str, float] = {}

    def put(key: str, value: float) -> float:
        v[key] = given[key] if key in given else rnd(value)
        return v[key]

    nh1, nh2 = put("net1_1", w1 * i1 + w2 * i2 + b1), put("net1_2", w3 * i1 + w4 * i2 + b1)
    h1, h2 = put("out1_1", sigmoid(nh1)), put("out1_2", sigmoid(nh2))
    no1, no2 = put("net2_1", w5 * h1 + w6 * h2 + b2), put("net2_2", w7 * h1 + w8 * h2 + b2)
    o1, o2 = put("out2_1", sigmoid(no1)), put("out2_2", sigmoid(no2))
    e1, e2 = put("loss_1", 0.5 * (t1 - o1) ** 2), put("loss_2", 0.5 * (t2 - o2) ** 2)
    put("loss", e1 + e2)
    g1, s1 = put("dL_dout2_1", o1 - t1), put("dout_dnet2_1", o1 * (1 - o1))
    d1 = put("delta2_1", g1 * s1)
    g2, s2 = put("dL_dout2_2", o2 - t2), put("dout_dnet2_2", o2 * (1 - o2))
    d2 = put("delta2_2", g2 * s2)
    gw5, gw6 = put("dL_dw2_1_1", d1 * h1), put("dL_dw2_1_2", d1 * h2)
    gw7, gw8 = put("dL_dw2_2_1", d2 * h1), put("dL_dw2_2_2", d2 * h2)
    put("dL_db2", d1 + d2)
    gh1, sh1 = put("dL_dout1_1", d1 * w5 + d2 * w7), put("dout_dnet1_1", h1 * (1 - h1))
    dh1 = put("delta1_1", gh1 * sh1)
    gh2, sh2 = put("dL_dout1_2", d1 * w6 + d2 * w8), put("dout_dnet1_2", h2 * (1 - h2))
    dh2 = put("delta1_2", gh2 * sh2)
    gw1, gw2 = put("dL_dw1_1_1", dh1 * i1), put("dL_dw1_1_2", dh1 * i2)
    gw3, gw4 = put("dL_dw1_2_1", dh2 * i1), put("dL_dw1_2_2", dh2 * i2)
    put("dL_db1", dh1 + dh2)
    for key, old, gradient in [("new_w2_1_1", w5, gw5), ("new_w2_1_2", w6, gw6), ("new_w2_2_1", w7, gw7),
                               ("new_w2_2_2", w8, gw8), ("new_w1_1_1", w1, gw1), ("new_w1_1_2", w2, gw2),
                               ("new_w1_2_1", w3, gw3), ("new_w1_2_2", w4, gw4)]:
        put(key, old - eta * gradient)
    return v


#: Published in Matt Mazur's "A Step by Step Backpropagation Example", with the blog's labels.
BLOG = {
    "net_h1": "0.3775", "out_h1": "0.593269992", "out_h2": "0.596884378", "out_o1": "0.75136507",
    "out_o2": "0.772928465", "E_total": "0.298371109", "dE/dw5": "0.082167041", "dE/dw1": "0.000438568",
    "w5+": "0.35891648", "w6+": "0.408666186", "w7+": "0.511301270", "w8+": "0.561370121",
    "w1+": "0.149780716", "w2+": "0.19956143", "w3+": "0.24975114", "w4+": "0.29950229",
}


def asked_all(trace) -> list[Asked]:
    """Every quantity of the step, one point each (whatever the problem's `ask:` says)."""
    return [Asked(q) for q in trace.quantities]


def sheet(values: dict[str, object], fmt=repr) -> str:
    return "".join(f"{key}: {fmt(value) if isinstance(value, float) else value}\n" for key, value in values.items())


def grades(result) -> dict[str, str]:
    return {r.key: r.verdict for r in result.results if r.verdict != "missing"}


@pytest.fixture(scope="module")
def mazur():
    return solve(PROBLEMS / "mazur-2-2-2.yaml")


@pytest.fixture(scope="module")
def ex02():
    return solve(PROBLEMS / "ex02-3-3-2-2.yaml")


@pytest.fixture(scope="module")
def mazur_swish():
    return solve(parse_problem(MAZUR_TEXT.replace("activation: sigmoid", "activation: swish", 1), source="swish.yaml"))


@pytest.fixture(scope="module")
def grader(mazur):
    return Grader(mazur)


def mazur_with(extra: str) -> Grader:
    return Grader(solve(parse_problem(MAZUR_TEXT + extra, source="mazur-graded.yaml")))


# -- whole sheets -------------------------------------------------------------------------------------------


def test_the_hand_computed_sheet_is_all_correct(grader):
    values = mazur_by_hand()
    assert len(values) == 41
    result = grader.grade_text(sheet(values))
    assert grades(result) == {key: "correct" for key in values}
    assert (result.score, result.max_score) == (41, 41)
    assert result.problems == [] and result.error is None


def figures_written(value: float, decimals: int, old: float | None) -> int:
    """Significant figures of a value written to `decimals` (of its change, for an update), counted here."""
    units = round(abs(value - (old or 0.0)) * 10 ** decimals)
    return len(str(units)) if units else 0


def assert_rounded_sheet_accepted(trace, result, values: dict[str, float], decimals: int) -> None:
    """Every value rounded at every step is correct, except those whose digits carry fewer than 2 significant
    figures (wrong with a note saying so, and nothing else), values computed from those that are not the truth
    rounded (follow-through from them), and updates written so short that they are the old value (wrong,
    update_not_applied, with a note asking for more decimals)."""
    rows = {r.key: r for r in result.results}
    for q in trace:
        old = q.formula[0].value if q.kind in ("new_weight", "new_bias") else None
        row = rows[q.key]
        if old is not None and values[q.key] == round(old, decimals) and q.value != old:
            assert (row.verdict, row.diagnosis.id) == ("wrong", "update_not_applied"), q.key
            assert "write enough decimals to show the change" in row.judgement.note
        elif figures_written(values[q.key], decimals, None) >= 2 or values[q.key] == q.value:
            if row.verdict == "follow_through":  # computed from a value too short to count: never "correct"
                assert abs(values[q.key] - q.value) > 0.5 * 10.0 ** -decimals, q.key  # not the truth rounded
                assert row.judgement.follows_from, q.key
                for key in row.judgement.follows_from:
                    assert rows[key].verdict == "follow_through" or "significant" in rows[key].judgement.note, (q.key, key)
            else:
                assert row.verdict == "correct", (q.key, row.given, row.expected, row.verdict)
        else:
            assert (row.verdict, row.diagnosis) == ("wrong", None) and "at least 2 significant" in row.judgement.note


@pytest.mark.parametrize("decimals", [3, 4])
@pytest.mark.parametrize("mode", ["either", "precision"])
def test_rounding_at_every_step_is_accepted(mazur, decimals, mode):
    values = mazur_by_hand(lambda x: round(x, decimals))
    text = sheet(values, fmt=lambda v: f"{v:.{decimals}f}")
    result = Grader(mazur, settings_for(mazur.problem, mode=mode)).grade_text(text)
    assert_rounded_sheet_accepted(mazur, result, values, decimals)


@pytest.mark.parametrize("decimals", [3, 4])
def test_rounding_at_every_step_is_accepted_on_ex02(ex02, decimals):
    rounded: dict[str, float] = {}
    for q in ex02:  # the student's procedure: each step from their own rounded values
        rounded[q.key] = round(q.compute(*[rounded[d] for d in q.depends_on]), decimals)
    for mode in ("either", "precision"):
        grader = Grader(ex02, settings_for(ex02.problem, mode=mode), asked_all(ex02))
        result = grader.grade_text(sheet(rounded, fmt=lambda v: f"{v:.{decimals}f}"))
        assert_rounded_sheet_accepted(ex02, result, rounded, decimals)


def test_the_published_mazur_numbers_grade_as_all_correct():
    ask = "ask: [" + ", ".join(f"'{label}'" for label in BLOG) + "]\n"
    grader = mazur_with(ask)
    result = grader.grade_text("".join(f"{label}: {value}\n" for label, value in BLOG.items()))
    assert len(result.results) == 16
    assert set(grades(result).values()) == {"correct"}
    assert (result.score, result.max_score) == (16, 16)


def test_the_published_numbers_against_every_quantity(grader):
    result = grader.grade_text("".join(f"{label}: {value}\n" for label, value in BLOG.items()))
    assert set(grades(result).values()) == {"correct"} and len(grades(result)) == 16
    assert result.score == 16 and result.max_score == 41


# -- follow-through -------------------------------------------------------------------------------------------


SLIP = 3.775  # net_h1 = 0.3775 with the decimal point slipped


def slipped_chain() -> dict[str, float]:
    """The forward chain from the slip, worked out by hand from the slipped value."""
    out_h1 = sigmoid(SLIP)
    out_h2 = sigmoid(0.25 * 0.05 + 0.30 * 0.10 + 0.35)
    net_o1 = 0.40 * out_h1 + 0.45 * out_h2 + 0.60
    out_o1 = sigmoid(net_o1)
    return {"net1_1": SLIP, "out1_1": out_h1, "net2_1": net_o1, "out2_1": out_o1, "loss_1": 0.5 * (0.01 - out_o1) ** 2}


def test_an_early_slip_is_wrong_and_what_follows_from_it_is_follow_through(grader):
    chain = slipped_chain()
    result = grader.grade_text(sheet(chain))
    assert grades(result) == {"net1_1": "wrong", "out1_1": "follow_through", "net2_1": "follow_through",
                              "out2_1": "follow_through", "loss_1": "follow_through"}
    rows = {r.key: r for r in result.results}
    assert rows["out1_1"].judgement.follows_from == ("net1_1",)
    assert rows["net2_1"].judgement.follows_from == ("out1_1",)
    assert rows["loss_1"].judgement.follows_from == ("out2_1",)
    assert rows["net2_1"].judgement.consistent_value == pytest.approx(chain["net2_1"])
    assert result.score == 4


def test_a_whole_sheet_carried_on_from_a_slip(mazur, grader):
    world = Judge(mazur).world({"net1_1": SLIP})  # everything else as it follows from the slip
    result = grader.grade_text(sheet(world))
    verdicts = grades(result)
    assert verdicts.pop("net1_1") == "wrong"
    assert set(verdicts.values()) == {"correct", "follow_through"}
    assert list(verdicts.values()).count("follow_through") >= 10
    assert result.score == 40


def test_partial_follow_through_credit(mazur):
    grader = Grader(mazur, settings_for(mazur.problem, follow_through_credit=0.5))
    result = grader.grade_text(sheet(slipped_chain()))
    points = {r.key: r.points for r in result.results if r.verdict != "missing"}
    assert points == {"net1_1": 0, "out1_1": 0.5, "net2_1": 0.5, "out2_1": 0.5, "loss_1": 0.5}
    assert result.score == 2


def test_partial_credit_from_the_problem_file():
    grader = mazur_with("grading: {follow_through_credit: 0.25}\n")
    assert grader.grade_text(sheet(slipped_chain())).score == 1


def test_follow_through_cannot_be_gamed(grader):
    chain = slipped_chain()
    # The value that would follow from the slipped out_h1, without having answered out_h1: just wrong.
    result = grader.grade_text(sheet({"net2_1": chain["net2_1"]}))
    assert grades(result) == {"net2_1": "wrong"} and result.score == 0
    # With out_h1 answered (wrongly) it is follow-through.
    result = grader.grade_text(sheet({"out1_1": chain["out1_1"], "net2_1": chain["net2_1"]}))
    assert grades(result) == {"out1_1": "wrong", "net2_1": "follow_through"}


def test_values_that_are_not_asked_are_work_and_count_for_follow_through():
    grader = mazur_with("ask: [net_o1]\n")
    chain = slipped_chain()
    result = grader.grade_text(sheet({"out1_1": chain["out1_1"], "net2_1": chain["net2_1"]}))
    assert grades(result) == {"net2_1": "follow_through"} and result.problems == []
    (work,) = result.work  # the slip, judged and shown, without points
    assert (work.key, work.verdict, work.points, work.asked.points) == ("out1_1", "wrong", 0, 0)
    assert (result.score, result.max_score) == (1, 1)


# -- diagnosis ----------------------------------------------------------------------------------------------------

I1, I2, T1, T2, ETA = 0.05, 0.10, 0.01, 0.99, 0.5
NET_O1 = 0.40 * sigmoid(0.3775) + 0.45 * sigmoid(0.3925) + 0.60
OUT_H1, OUT_O1 = sigmoid(0.3775), sigmoid(NET_O1)
OUT_O2 = sigmoid(0.50 * sigmoid(0.3775) + 0.55 * sigmoid(0.3925) + 0.60)
DELTA_O1 = (OUT_O1 - T1) * OUT_O1 * (1 - OUT_O1)
DELTA_O2 = (OUT_O2 - T2) * OUT_O2 * (1 - OUT_O2)
DW5 = DELTA_O1 * OUT_H1
# EX02 by hand: relu layer nets 0.49, 0.53, 0.39 (all positive, so a = net), then tanh.
EX02_NET1 = (0.1 * 0.3 + 0.2 * 0.5 + 0.2 * 0.8 + 0.2, 0.4 * 0.3 + 0.1 * 0.5 + 0.2 * 0.8 + 0.2,
             0.2 * 0.3 + 0.3 * 0.5 + 0.1 * 0.8 + 0.1)
EX02_NET2_2 = 0.4 * EX02_NET1[0] + 0.1 * EX02_NET1[1] + 0.2 * EX02_NET1[2] + 0.4

MISTAKE_SHEETS = {
    "sigmoid_derivative_on_net": ("mazur", "dout_o1/dnet_o1", NET_O1 * (1 - NET_O1)),
    "tanh_derivative_on_net": ("ex02", "dout_dnet2_2", 1 - EX02_NET2_2 ** 2),
    "relu_derivative_wrong": ("ex02", "dout_dnet1_1", EX02_NET1[0]),
    "loss_factor_dropped": ("mazur", "dE_total/dout_o1", 2 * (OUT_O1 - T1)),
    "target_output_swapped": ("mazur", "dL_dout2_1", T1 - OUT_O1),
    "update_sign_flipped": ("mazur", "w5+", 0.40 + ETA * DW5),
    "learning_rate_omitted": ("mazur", "w5+", 0.40 - DW5),
    "updated_weights_in_backward": ("mazur", "dL_dout1_1",
                                    DELTA_O1 * (0.40 - ETA * DW5) + DELTA_O2 * (0.50 - ETA * DELTA_O2 * OUT_H1)),
    "single_path_only": ("mazur", "dE_total/dout_h1", DELTA_O1 * 0.40),
    "weight_index_swapped": ("mazur", "net_h1", 0.15 * I1 + 0.25 * I2 + 0.35),
    "update_not_applied": ("mazur", "w1+", "0.150000"),
    # Mazur's net with a swish hidden layer: swish'(net) taken as sigmoid(net) alone
    "product_rule_dropped": ("mazur_swish", "dout_dnet1_1", sigmoid(0.3775)),
}


def test_every_catalogued_mistake_has_a_sheet():
    from tests.test_conv_trace import CONV_MISTAKE_SHEETS  # the mistakes of layers on images
    from tests.test_layer_kinds import LAYER_MISTAKE_SHEETS  # batch norm's and dropout's

    assert set(MISTAKE_SHEETS) | set(OPTIMIZER_MISTAKE_CASES) | set(CONV_MISTAKE_SHEETS) | set(LAYER_MISTAKE_SHEETS) \
        == {m.id for m in CATALOGUE}


@pytest.mark.parametrize("mistake", sorted(OPTIMIZER_MISTAKE_CASES))
def test_each_optimizer_mistake_is_diagnosed_in_a_sheet(mistake):
    _, name, value = OPTIMIZER_MISTAKE_CASES[mistake]
    trace = solve(parse_problem(optimizer_problem_text(mistake), source="mazur-optimizer.yaml"))
    result = Grader(trace).grade_text(f"'{name}': {value!r}\n")
    (row,) = [r for r in result.results if r.verdict != "missing"]
    assert row.verdict == "wrong"
    assert row.diagnosis is not None and row.diagnosis.id == mistake
    assert row.diagnosis.explanation


def assert_diagnosed(trace, name: str, value: float, mistake: str) -> None:
    """A sheet with this one wrong answer is graded wrong and diagnosed with `mistake`."""
    result = Grader(trace, asked=asked_all(trace)).grade_text(f"'{name}': {value!r}\n")
    (row,) = [r for r in result.results if r.verdict != "missing"]
    assert row.verdict == "wrong"
    assert row.diagnosis is not None and row.diagnosis.id == mistake
    assert row.diagnosis.explanation


@pytest.mark.parametrize("mistake", sorted(MISTAKE_SHEETS))
def test_each_catalogued_mistake_is_diagnosed_by_id(mistake, request):
    problem, name, value = MISTAKE_SHEETS[mistake]
    assert_diagnosed(request.getfixturevalue(problem), name, value, mistake)


def test_a_mistake_then_carried_on_is_diagnosed_once_and_followed(grader):
    wrong_derivative = NET_O1 * (1 - NET_O1)
    delta = (OUT_O1 - T1) * wrong_derivative
    result = grader.grade_text(sheet({"dout_dnet2_1": wrong_derivative, "delta2_1": delta,
                                      "dL_dw2_1_1": delta * OUT_H1}))
    rows = {r.key: r for r in result.results}
    assert rows["dout_dnet2_1"].diagnosis.id == "sigmoid_derivative_on_net"
    assert rows["delta2_1"].verdict == rows["dL_dw2_1_1"].verdict == "follow_through"


# -- tolerance -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "text", "verdict"), [
    # 0.593269992 to 3 decimals is 0.593; to 4 it is 0.5933, so 0.5932 is off by one in the last place.
    ("precision", "0.593", "correct"),
    ("precision", "0.5932", "correct"),  # four figures: the last digit may be off by one
    ("precision", "0.5931", "wrong"),  # off by two
    ("precision", "0.5933", "correct"),
    ("precision", "0.59", "correct"),  # |0.59 - 0.59327| = 0.0033 <= 0.005: right to 2 decimals
    ("precision", "0.6", "wrong"),  # right to 1 decimal, but one significant figure is too few
    ("precision", "0.60", "wrong"),  # |0.60 - 0.59327| = 0.0067 > 0.005
    ("precision", "0.593 + 0.0002", "correct"),  # arithmetic: to 3 figures, its most precise number's
    ("precision", "0.5 + 0.0957", "wrong"),  # 0.5957: to 3 figures (0.0957 has 3) not 0.593, nor off by one
    ("either", "0.5932", "correct"),  # within 1%
    ("either", "0.5932", "correct"),  # within 1%
    ("either", "0.60", "wrong"),  # 1.1% off and 0.0067 > 0.0005
])
def test_tolerance_modes(mazur, mode, text, verdict):
    result = Grader(mazur, settings_for(mazur.problem, mode=mode)).grade_text(f"out_h1: {text}\n")
    assert grades(result) == {"out1_1": verdict}


def test_relative_and_absolute_tolerances(mazur):
    relative = Grader(mazur, settings_for(mazur.problem, mode="relative", relative=0.001))
    assert grades(relative.grade_text("out_h1: 0.5935\n")) == {"out1_1": "correct"}  # 0.04% off
    assert grades(relative.grade_text("out_h1: 0.595\n")) == {"out1_1": "wrong"}  # 0.29% off
    absolute = Grader(mazur, settings_for(mazur.problem, mode="absolute", absolute=0.0001))
    assert grades(absolute.grade_text("out_h1: 0.5933\n")) == {"out1_1": "correct"}  # 0.00003 off
    assert grades(absolute.grade_text("out_h1: 0.5935\n")) == {"out1_1": "wrong"}  # 0.00023 off


def test_the_problem_sets_the_tolerance_and_the_command_line_overrides_it():
    problem = parse_problem(MAZUR_TEXT + "grading: {tolerance: {mode: relative, relative: 0.001}}\n")
    assert settings_for(problem).tolerance.mode == "relative"
    assert settings_for(problem).tolerance.relative == 0.001
    assert settings_for(problem).tolerance.absolute == 0.0005  # the default
    overridden = settings_for(problem, mode="either", relative=0.02, follow_through_credit=0.5)
    assert (overridden.tolerance.mode, overridden.tolerance.relative, overridden.follow_through_credit) == \
        ("either", 0.02, 0.5)


@pytest.mark.parametrize("options", [{"relative": math.nan}, {"absolute": -1.0}, {"follow_through_credit": 1.5},
                                     {"mode": "loose"}])
def test_bad_settings_are_user_errors(mazur, options):
    with pytest.raises(UserError):
        settings_for(mazur.problem, **options)


# -- the sheet's format ------------------------------------------------------------------------------------------


def test_strings_arithmetic_labels_and_case_are_accepted(grader):
    text = ("net_h1: '0.3775'\n"
            "NET_H2: \"0.3925\"\n"
            "out_h1: 1/(1+exp(-0.3775))\n"
            "w5+: 0.4 - 0.5*0.082167\n"
            "dE/dw5: 0.082167\n"
            "delta_o1: 1.38499e-1\n")
    result = grader.grade_text(text)
    assert grades(result) == {k: "correct" for k in ("net1_1", "net1_2", "out1_1", "delta2_1", "dL_dw2_1_1",
                                                      "new_w2_1_1")}
    assert result.problems == []


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "not a number"),
    ("'0,5'", "comma"),
    ("true", "true/false"),
    ("yes", "true/false"),
    ("2015-01-01", "date"),
    ("[0.1, 0.2]", "a list"),
    ("{a: 1}", "a mapping"),
    (".nan", "not a finite number"),
    ("nan", "not a finite number"),
    ("'-.inf'", "not a finite number"),
    ("1e400", "too large"),
    ("=1+1", "may not start with '='"),
    ("\"=1+1\"", "may not start with '='"),
    ("1/0", "division by zero"),
    ("__import__('os').system('true')", "not allowed"),
])
def test_non_numbers_are_invalid_not_wrong(grader, value, message):
    result = grader.grade_text(f"net_h1: {value}\nnet_h2: 0.3925\n")
    assert grades(result) == {"net1_1": "invalid", "net1_2": "correct"}
    (problem,) = result.problems
    assert problem.startswith("line 1: net_h1: ") and message in problem
    assert result.score == 1


def test_an_empty_value_a_null_and_an_empty_sheet_are_missing(grader):
    result = grader.grade_text("net_h1:\nnet_h2: ~\nout_h1: ''\n# a comment\n")
    assert grades(result) == {} and result.problems == [] and result.score == 0
    assert grader.grade_text("").error is None
    assert {r.verdict for r in grader.grade_text("# nothing yet\n").results} == {"missing"}


def test_unknown_keys_are_listed_with_a_suggestion_and_do_not_change_the_score(grader):
    result = grader.grade_text("net_h1: 0.3775\ndelta_01: 0.1385\nzzz: 1\n")
    assert grades(result) == {"net1_1": "correct"} and result.score == 1
    assert result.problems[0] == "line 2: unknown key 'delta_01', not graded; did you mean 'delta_o1'?"
    assert result.problems[1].startswith("line 3: unknown key 'zzz', not graded")


def test_a_duplicate_key_makes_that_key_invalid_and_the_others_are_graded(grader):
    result = grader.grade_text("net_h1: 0.3775\nnet_h2: 0.3925\nnet_h1: 0.3775\n")
    assert grades(result) == {"net1_1": "invalid", "net1_2": "correct"}
    assert result.problems == ["line 3: 'net_h1' is given twice (lines 1 and 3); give each value once"]
    result = grader.grade_text("net_h1: 0.3775\nnet1_1: 0.3775\n")  # a key and its label
    assert grades(result) == {"net1_1": "invalid"}
    assert "'net1_1' and 'net_h1' (line 1) are the same quantity" in result.problems[0]


def test_a_value_may_use_the_sheet_s_other_values_and_the_givens_by_name(mazur, grader):
    text = ("net_h1: w1*i1 + w2*i2 + b1\nout_h1: 1/(1+exp(-net_h1))\ndelta_o1: 0.1385\n"
            "dE_total/dw5: delta_o1 * out_h1\nw5+: w5 - eta*dw5_named\n").replace("dw5_named", "dE_total/dw5")
    result = grader.grade_text(text)
    assert grades(result) == {"net1_1": "correct", "out1_1": "correct", "delta2_1": "correct",
                              "dL_dw2_1_1": "correct", "new_w2_1_1": "correct"}
    rows = {r.key: r for r in result.results}
    out_h1 = 1 / (1 + math.exp(-(0.15 * 0.05 + 0.2 * 0.1 + 0.35)))
    assert rows["dL_dw2_1_1"].given == pytest.approx(0.1385 * out_h1, rel=1e-12)
    assert rows["new_w2_1_1"].given == pytest.approx(0.4 - 0.5 * 0.1385 * out_h1, rel=1e-12)
    assert result.problems == []


def test_a_named_value_after_a_slip_follows_through_and_keeps_full_precision(grader):
    result = grader.grade_text("out_h1: 0.593269992\ndelta_o1: 0.15\ndE_total/dw5: delta_o1*out_h1\n")
    assert grades(result) == {"out1_1": "correct", "delta2_1": "wrong", "dL_dw2_1_1": "follow_through"}
    # The same product rounded to 4 figures also follows; 5e-5 off it does not (judged at full precision).
    result = grader.grade_text("out_h1: 0.593269992\ndelta_o1: 0.15\ndE_total/dw5: delta_o1*out_h1 + 5e-5\n")
    assert grades(result)["dL_dw2_1_1"] == "wrong"


@pytest.mark.parametrize(("text", "invalid", "message"), [
    ("dE_total/dw5: delta_o1 * out_h1\n", "dL_dw2_1_1", "'delta_o1' has no value to use: it is not on this sheet"),
    ("delta_o1:\ndE_total/dw5: delta_o1 * 0.59\n", "dL_dw2_1_1", "'delta_o1' has no value to use: its own value on "
                                                                   "this sheet is blank"),
    ("delta_o1: abc\ndE_total/dw5: delta_o1 * 0.59\n", "dL_dw2_1_1", "its own value on this sheet is not a number"),
    ("w5+: w5+ - 0.1\n", "new_w2_1_1", "'w5+' is this value itself"),
    ("dE_total/dw5: deltao1 * 0.59\n", "dL_dw2_1_1", "'deltao1' is not a number or a known function"),
])
def test_a_name_without_a_value_is_that_key_s_format_error(grader, text, invalid, message):
    result = grader.grade_text("net_h1: 0.3775\n" + text)
    assert grades(result)["net1_1"] == "correct" and grades(result)[invalid] == "invalid"
    assert message in {r.key: r for r in result.results}[invalid].message
    assert any(message in problem for problem in result.problems)


def test_values_that_use_each_other_by_name_are_each_invalid_naming_the_cycle(grader):
    result = grader.grade_text("net_h1: 0.3775\nw5+: w5 - eta*dE_total/dw5\ndE_total/dw5: 2*w5+\nw6+: w5+ + 0.05\n")
    assert grades(result) == {"net1_1": "correct", "new_w2_1_1": "invalid", "dL_dw2_1_1": "invalid",
                              "new_w2_1_2": "invalid"}
    messages = {r.key: r.message for r in result.results if r.verdict == "invalid"}
    assert messages["new_w2_1_1"] == ("'dE_total/dw5' is worked out from this value in turn "
                                      "(a cycle: w5+ -> dE_total/dw5 -> w5+)")
    assert messages["dL_dw2_1_1"] == ("'w5+' is worked out from this value in turn "
                                      "(a cycle: dE_total/dw5 -> w5+ -> dE_total/dw5)")
    assert messages["new_w2_1_2"] == "'w5+' has no value to use: its own value on this sheet is not a number"
    assert [p.split(":")[0] for p in result.problems] == ["line 2", "line 3", "line 4"]


def test_a_value_not_asked_is_work_and_may_be_used_by_name(mazur):
    grader = Grader(mazur, asked=[Asked(mazur["w5+"])])
    result = grader.grade_text("dE_total/dw5: 0.082167\nw5+: w5 - eta*dE_total/dw5\n")
    assert grades(result) == {"new_w2_1_1": "correct"} and result.problems == []
    assert result.results[0].given == 0.40 - 0.5 * 0.082167
    assert [(r.key, r.verdict, r.points) for r in result.work] == [("dL_dw2_1_1", "correct", 0)]


_NAMES = ["net_h1", "out_h1", "delta_o1", "dE_total/dw5", "w5+", "w5", "eta", "net1_1", "zz", "E_total"]


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(_NAMES[:5] + ["E_total"]),
                       st.lists(st.one_of(st.sampled_from(_NAMES), st.sampled_from(["0.5", "2", "1e-3"])),
                                min_size=1, max_size=4).map(" * ".join) | st.sampled_from(["", "0.3775", "[1]"]),
                       max_size=6))
def test_sheets_of_names_never_crash_and_every_value_is_a_number_or_a_format_error(grader, values):
    text = "".join(f"'{key}': '{value}'\n" if value else f"'{key}':\n" for key, value in values.items())
    result = grader.grade_text(text)
    assert result.error is None
    for row in result.results:
        answer = row.judgement.answer
        assert (answer.value is None) == (row.verdict in ("missing", "invalid"))
        assert row.verdict != "invalid" or answer.error


def test_a_long_chain_of_names_is_worked_out_without_recursion(mazur):
    # Every quantity given as a name of the next one's (a chain through the whole sheet, last to first).
    keys = mazur.keys()
    text = "".join(f"{key}: {later} + 0\n" for key, later in zip(keys, keys[1:])) + f"{keys[-1]}: 0.5\n"
    result = Grader(mazur, asked=asked_all(mazur)).grade_text(text)
    assert {r.given for r in result.results} == {0.5}


def test_a_sheet_of_garbage_is_invalid_as_a_whole(grader, tmp_path):
    for name, content in [("binary.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\xff"), ("list.yaml", b"- 1\n- 2\n"),
                          ("scalar.yaml", b"just some words\n"), ("broken.yaml", b"a: [1, 2\nb: }\n"),
                          ("nul.yaml", b"a: 1\x00\n"), ("two.yaml", b"a: 1\n---\nb: 2\n")]:
        path = tmp_path / name
        path.write_bytes(content)
        result = grader.grade_file(path)
        assert result.error, name
        assert {r.verdict for r in result.results} == {"invalid"}
        assert result.score == 0 and result.max_score == 41
        assert result.problems == [result.error]


def test_a_hostile_sheet_is_invalid_and_nothing_is_executed(grader, tmp_path):
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    for text in [f'net_h1: !!python/object/apply:os.system ["touch {marker}"]\n',
                 f'!!python/object/apply:os.system ["touch {marker}"]\n',
                 f'notes: {{deep: [!!python/object/apply:os.system ["touch {marker}"]]}}\nnet_h1: 0.3775\n',
                 "net_h1: !!python/name:os.system\n",
                 "net_h1: !custom 0.3775\n"]:
        result = grader.grade_text(text, source="hostile.yaml")
        assert result.error is not None and "is not allowed" in result.error, text
        assert {r.verdict for r in result.results} == {"invalid"}
    assert not marker.exists()


def test_an_alias_bomb_is_refused_quickly(grader):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        previous, name = chr(ord("a") + n - 1), chr(ord("a") + n)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    start = time.perf_counter()
    result = grader.grade_text("\n".join(lines) + "\nnet_h1: 0.3775\n")
    assert time.perf_counter() - start < 1.0
    assert result.error is not None and "aliases expand" in result.error
    assert grader.grade_text("a: &a [*a]\n").error == \
        "line 1: not accepted: an alias refers to the structure that contains it"


def test_too_big_and_too_deep_sheets_are_refused(grader, tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("net_h1: 0.3775\n" + "# padding\n" * 30_000)
    result = grader.grade_file(big)
    assert result.error is not None and "the limit is 262,144" in result.error
    assert {r.verdict for r in result.results} == {"invalid"}
    assert grader.grade_text("a: " + "[" * 5000 + "]" * 5000 + "\n").error == \
        "line 1: not accepted: nested more than 1000 levels deep"
    deep_but_allowed = grader.grade_text("net_h1: &x " + "[" * 999 + "]" * 999 + "\n")  # 1000 levels with the mapping
    assert deep_but_allowed.error is None
    assert deep_but_allowed.problems == ["line 1: net_h1: expected a number, got a list"]


# -- reading simple sheets without the YAML parser ---------------------------------------------------------------


def yaml_entries(text: str) -> list[tuple[str, int, str | None]] | None:
    """What the YAML path reads: (key, line, value text) of plain scalars, or None if it is something else."""
    try:
        root = compose_sheet(text)
    except SheetError:
        return None
    if root is None:
        return []
    if not isinstance(root, Mapping):
        return None
    entries = []
    for key, value in root.pairs:
        if not isinstance(value, Scalar) or not value.plain or not key.plain:
            return None
        entries.append((key.text, key.line, value.text or None))
    return entries


FRAGMENTS = ["net1_1", "w5+", "dE/dw5", "a_1^2", "x", "1e", ":", ": ", " ", "\t", "0.5", "-0.25", "+.5e-3", "12",
             "#", " # c", "-", "--", "'", '"', "[", "{", "&a", "*a", "!", "%", "@", "?", "|", ">", "=", ",", "\r",
             "...", "---", "~", "null", "1-2", "2015-01-01", ".nan", "0x1F"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join), max_size=5).map("\n".join))
def test_simple_sheets_read_exactly_as_yaml_reads_them(text):
    simple = simple_entries(text)
    if simple is None:
        return  # read by the YAML parser anyway
    expected = yaml_entries(text)
    assert expected is not None, text
    assert [(k, line, v or None) for k, line, v in simple] == expected, text


def test_the_common_sheet_shapes_take_the_simple_path():
    assert simple_entries("net1_1: 0.3775\nw5+: 0.358916  # from step 3\ndE/dw5:\n\n# end\n") == [
        ("net1_1", 1, "0.3775"), ("w5+", 2, "0.358916"), ("dE/dw5", 3, None)]
    for text in ["a: 'x'\n", "a: 1 + 2\n", "  a: 1\n", "a: [1]\n", "a: 1#x\n", "a:1\n"]:
        assert simple_entries(text) is None, text


# -- what is asked, and blank sheets -------------------------------------------------------------------------------


def test_ask_selects_keys_and_points_in_solution_order():
    grader = mazur_with("ask: {w5+: 2, net_h1: 1, dE/dw5: 1.5}\n")
    assert [(a.key, a.points) for a in grader.asked] == [("net1_1", 1), ("dL_dw2_1_1", 1.5), ("new_w2_1_1", 2)]
    result = grader.grade_text("w5+: 0.358916\ndE/dw5: 0.082167\n")
    assert (result.score, result.max_score) == (3.5, 4.5)


def test_an_unknown_name_in_ask_is_a_located_problem_file_error(tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(MAZUR_TEXT + "ask:\n  - w5+\n  - w9+\n")
    trace = solve(path)
    with pytest.raises(ProblemError) as info:
        asked_quantities(trace)
    lines = MAZUR_TEXT.count("\n")
    assert str(info.value).startswith(f"{path}:{lines + 3}:5: ask[1]: this problem has no quantity 'w9+'")
    path.write_text(MAZUR_TEXT + "ask: {w5+: 1, new_w2_1_1: 2}\n")
    with pytest.raises(ProblemError, match=r"ask.new_w2_1_1: 'new_w2_1_1' and 'w5\+' are the same quantity"):
        asked_quantities(solve(path))


def test_the_template_is_a_valid_blank_sheet(mazur, grader):
    text = template_text(mazur, grader.asked)
    assert "new_w2_1_1:     # w5+ : w5 after the update (h1 -> o1)\n" in text
    assert "out1_1:         # out_h1 : output of h1\n" in text
    result = grader.grade_text(text)
    assert {r.verdict for r in result.results} == {"missing"} and result.problems == []
    keys = [line.split(":")[0] for line in text.splitlines() if not line.startswith("#")]
    assert keys == mazur.keys()


def test_the_template_of_a_subset(mazur, grader):
    chosen = select(grader.asked, mazur, ["w5+", "net1_1"])
    text = template_text(mazur, chosen)
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith("#")] == ["net1_1", "new_w2_1_1"]
    with pytest.raises(UserError, match="no quantity 'w9"):
        select(grader.asked, mazur, ["w9+"])
    with pytest.raises(UserError, match="not asked"):
        select(mazur_with("ask: [w5+]\n").asked, mazur, ["w6+"])


@pytest.mark.parametrize(("extra", "message"), [
    ("ask: []\n", "ask: expected a list of the keys students must answer"),
    ("ask: 3\n", "ask: expected a list of the keys students must answer (one point each) or a mapping"),
    ("ask: [w5+, w5+]\n", "ask[1]: 'w5+' is listed twice"),
    ("ask: {w5+: 0}\n", "ask.w5+: expected the points for w5+ (a positive number), got 0 (int)"),
    ("ask: {w5+: true}\n", "ask.w5+: expected the points for w5+ (a positive number), got true (a boolean)"),
    ("grading: 1\n", "grading: expected grading settings"),
    ("grading: {tolerence: {}}\n", "grading.tolerence: unknown key; did you mean 'tolerance'?"),
    ("grading: {tolerance: {mode: precison}}\n",
     "unknown tolerance mode the text 'precison'; did you mean 'precision'?"),
    ("grading: {tolerance: {relative: -0.1}}\n", "grading.tolerance.relative: must not be negative"),
    ("grading: {tolerance: {absolute: .nan}}\n", "grading.tolerance.absolute: expected an absolute tolerance"),
    ("grading: {follow_through_credit: 1.5}\n", "grading.follow_through_credit: expected a number from 0 to 1"),
])
def test_ask_and_grading_are_validated_with_their_position(extra, message):
    with pytest.raises(ProblemError) as info:
        parse_problem(MAZUR_TEXT + extra, source="hw.yaml")
    text = str(info.value)
    assert text.startswith(f"hw.yaml:{MAZUR_TEXT.count(chr(10)) + 1}:") and message in text


def test_ask_and_grading_are_stored_on_the_problem():
    problem = parse_problem(MAZUR_TEXT + "ask: [w5+, out_h1]\ngrading:\n  tolerance: {mode: precision}\n"
                            "  follow_through_credit: 0.5\n")
    assert problem.ask == (("w5+", 1.0), ("out_h1", 1.0))
    assert (problem.grading.mode, problem.grading.relative, problem.grading.follow_through_credit) == \
        ("precision", None, 0.5)
    plain = parse_problem(MAZUR_TEXT)
    assert plain.ask is None and plain.grading.mode is None


def test_an_extreme_value_on_a_sheet_is_judged_without_numpy_warnings(invoke, tmp_path):
    """out_h2 = -1e300 overflows out * (1 - out) in the student's world: judged wrong, nothing on stderr."""
    import json
    import warnings

    sheet = tmp_path / "huge.yaml"
    sheet.write_text("out_h2: -1e300\nnet_o1: 1e300\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail here
        result = invoke("grade", "mazur-adam-2-2-2", str(sheet), "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    verdicts = {r["key"]: r["verdict"] for r in json.loads(result.stdout)["results"]}
    assert verdicts["out1_2"] == verdicts["net2_1"] == "wrong"
