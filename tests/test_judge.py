"""Judging values: tolerance modes, follow-through that cannot be gamed, and every catalogued mistake.

Expected numbers are computed here by hand from the problem's numbers (not read from the trace) wherever
a test is about the numbers; the trace is used only to wire answers in.
"""

from __future__ import annotations

import math

import pytest

from tests.conftest import PROBLEMS
from tutor.teach.judge import Answer, Judge, Tolerance, old_value
from tutor.teach.mistakes import BY_ID, CATALOGUE
from tutor.problem.loader import parse_problem
from tutor.solver import solve


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# Mazur's numbers, computed from scratch.
I1, I2, T1, T2, ETA = 0.05, 0.10, 0.01, 0.99, 0.5
NET_H1 = 0.15 * I1 + 0.20 * I2 + 0.35
NET_H2 = 0.25 * I1 + 0.30 * I2 + 0.35
OUT_H1, OUT_H2 = sigmoid(NET_H1), sigmoid(NET_H2)
NET_O1 = 0.40 * OUT_H1 + 0.45 * OUT_H2 + 0.60
NET_O2 = 0.50 * OUT_H1 + 0.55 * OUT_H2 + 0.60
OUT_O1, OUT_O2 = sigmoid(NET_O1), sigmoid(NET_O2)
DELTA_O1 = (OUT_O1 - T1) * OUT_O1 * (1 - OUT_O1)
DELTA_O2 = (OUT_O2 - T2) * OUT_O2 * (1 - OUT_O2)
DW5 = DELTA_O1 * OUT_H1


@pytest.fixture(scope="module")
def mazur():
    return solve(PROBLEMS / "mazur-2-2-2.yaml")


def answers(**values: float) -> dict[str, Answer]:
    return {key: Answer(key, value, repr(value)) for key, value in values.items()}


def verdicts(judge: Judge, given: dict[str, Answer]) -> dict[str, tuple[str, str | None]]:
    return {j.key: (j.verdict, j.diagnosis.id if j.diagnosis else None) for j in judge.judge(given)}


# -- tolerance ---------------------------------------------------------------------------------------


def test_either_mode_is_one_percent_or_5e_4():
    tol = Tolerance(mode="either")
    assert tol.accepts(0.5933, 0.593269992)
    assert tol.accepts(100.9, 100.0) and not tol.accepts(101.1, 100.0)
    assert tol.accepts(0.0004, 0.0) and not tol.accepts(0.0006, 0.0)


def test_the_default_judges_at_the_precision_given():
    tol = Tolerance()
    assert tol.mode == "precision" and tol.min_figures == 2
    assert tol.accepts(0.593, 0.593269992, decimals=3)
    assert tol.accepts(0.5933, 0.593269992, decimals=4)
    assert tol.accepts(0.5932, 0.593269992, decimals=4)  # 0.5933 with the last digit off by one
    assert not tol.accepts(0.5931, 0.593269992, decimals=4)  # off by two
    assert not tol.accepts(0.59, 0.5951, decimals=2)  # two figures: no last-digit allowance
    assert tol.accepts(0.506, 1 / (1 + 0.978), decimals=3)  # 0.50556 by hand: 0.506 (the example)
    assert not tol.accepts(0.5933, 0.593269992, decimals=None)  # no precision written: full precision
    assert tol.accepts(0.5932699921, 0.593269992107, decimals=10)
    assert not tol.accepts(100.9, 100.0, decimals=1) and not tol.accepts(0.0004, 0.0, decimals=4)


def test_relative_and_absolute_modes():
    assert Tolerance(mode="relative", relative=0.001).accepts(1.0009, 1.0)
    assert not Tolerance(mode="relative", relative=0.001).accepts(0.0004, 0.0)
    assert Tolerance(mode="absolute", absolute=1e-3).accepts(0.0009, 0.0)
    assert not Tolerance(mode="absolute", absolute=1e-3).accepts(100.5, 100.0)


# -- verdicts ------------------------------------------------------------------------------------------


def test_correct_missing_and_invalid(mazur):
    judge = Judge(mazur)
    given = {"net1_1": Answer("net1_1", 0.3775, "0.3775", 4), "out1_1": Answer("out1_1", text="x", error="not a number")}
    result = {j.key: j for j in judge.judge(given, ["net1_1", "out1_1", "out1_2"])}
    assert result["net1_1"].verdict == "correct" and result["net1_1"].expected == pytest.approx(NET_H1)
    assert result["out1_1"].verdict == "invalid"
    assert result["out1_2"].verdict == "missing"


def test_an_early_slip_is_followed_through(mazur):
    judge = Judge(mazur)
    slipped_out_h1 = 0.9  # instead of 0.5933
    net_o1 = 0.40 * slipped_out_h1 + 0.45 * OUT_H2 + 0.60
    out_o1 = sigmoid(net_o1)
    result = {j.key: j for j in judge.judge(answers(out1_1=slipped_out_h1, net2_1=net_o1, out2_1=out_o1))}
    assert result["out1_1"].verdict == "wrong"
    assert result["net2_1"].verdict == "follow_through"
    assert result["net2_1"].follows_from == ("out1_1",)
    assert result["net2_1"].consistent_value == pytest.approx(net_o1)
    assert result["out2_1"].verdict == "follow_through"
    assert result["out2_1"].follows_from == ("net2_1",)


def test_follow_through_passes_through_unanswered_steps(mazur):
    judge = Judge(mazur)
    slipped_out_h1 = 0.9
    out_o1 = sigmoid(0.40 * slipped_out_h1 + 0.45 * OUT_H2 + 0.60)  # net_o1 not written down
    result = {j.key: j for j in judge.judge(answers(out1_1=slipped_out_h1, out2_1=out_o1))}
    assert result["out2_1"].verdict == "follow_through"
    assert result["out2_1"].follows_from == ("out1_1",)


def test_follow_through_cannot_be_gamed(mazur):
    judge = Judge(mazur)
    # The value that would follow from out_h1 = 0.9, without having answered out_h1: just wrong.
    net_o1 = 0.40 * 0.9 + 0.45 * OUT_H2 + 0.60
    assert verdicts(judge, answers(net2_1=net_o1)) == {"net2_1": ("wrong", None)}


def test_rounding_at_every_step_is_accepted(mazur):
    judge = Judge(mazur)
    rounded: dict[str, float] = {}
    for q in mazur:  # the student's computation, rounding every result to 4 significant figures
        exact = q.compute(*[rounded[d] for d in q.depends_on])
        old = old_value(q)
        rounded[q.key] = old + float(f"{exact - old:.4g}") if old is not None else float(f"{exact:.4g}")
    result = judge.judge({k: Answer(k, v, repr(v)) for k, v in rounded.items()})
    assert {j.verdict for j in result} == {"correct"}


# -- the catalogue -------------------------------------------------------------------------------------


def test_catalogue_ids_are_stable_and_explained():
    assert [m.id for m in CATALOGUE] == [
        "sigmoid_derivative_on_net", "tanh_derivative_on_net", "relu_derivative_wrong", "product_rule_dropped",
        "loss_factor_dropped",
        "target_output_swapped", "filter_not_rotated", "full_valid_confused", "stride_ignored_backward",
        "maxpool_gradient_to_all", "update_sign_flipped", "learning_rate_omitted", "update_not_applied",
        "updated_weights_in_backward",
        "single_path_only", "weight_index_swapped", "bias_correction_omitted", "epsilon_inside_sqrt",
        "beta_swapped", "adagrad_accumulates_g", "momentum_convention_mixed", "momentum_convention_other",
        "bias_correction_wrong_t", "second_moment_not_squared", "velocity_not_carried",
        "nesterov_lookahead_ignored", "nesterov_lookahead_old_velocity", "weight_decay_sign_flipped",
        "weight_decay_omitted", "weight_decay_halved", "adamw_decay_in_gradient", "previous_step_values",
        "schedule_wrong_epoch",
    ]
    assert all(m.explanation and not m.explanation.endswith(".") for m in CATALOGUE)


MAZUR_MISTAKES = {
    "sigmoid_derivative_on_net": ("dout_dnet2_1", NET_O1 * (1 - NET_O1)),
    "loss_factor_dropped": ("dL_dout2_1", 2 * (OUT_O1 - T1)),
    "target_output_swapped": ("dL_dout2_1", T1 - OUT_O1),
    "update_sign_flipped": ("new_w2_1_1", 0.40 + ETA * DW5),
    "learning_rate_omitted": ("new_w2_1_1", 0.40 - DW5),
    "updated_weights_in_backward": ("dL_dout1_1",
                                    DELTA_O1 * (0.40 - ETA * DW5) + DELTA_O2 * (0.50 - ETA * DELTA_O2 * OUT_H1)),
    "single_path_only": ("dL_dout1_1", DELTA_O1 * 0.40),
    "weight_index_swapped": ("net1_1", 0.15 * I1 + 0.25 * I2 + 0.35),
}


@pytest.mark.parametrize("mistake", sorted(MAZUR_MISTAKES))
def test_each_mazur_mistake_is_diagnosed(mazur, mistake):
    key, value = MAZUR_MISTAKES[mistake]
    assert verdicts(Judge(mazur), answers(**{key: value})) == {key: ("wrong", mistake)}


def test_a_mistake_in_an_unwritten_step_is_found_downstream(mazur):
    # dE/dw5 computed with sigma'(net) = net(1 - net) in the (not written down) delta.
    value = (OUT_O1 - T1) * NET_O1 * (1 - NET_O1) * OUT_H1
    assert verdicts(Judge(mazur), answers(dL_dw2_1_1=value)) == {"dL_dw2_1_1": ("wrong", "sigmoid_derivative_on_net")}


def test_loss_factor_on_the_total_loss(mazur):
    total = 0.5 * ((T1 - OUT_O1) ** 2 + (T2 - OUT_O2) ** 2)
    assert verdicts(Judge(mazur), answers(loss=2 * total)) == {"loss": ("wrong", "loss_factor_dropped")}


def test_tanh_and_relu_mistakes_on_ex02():
    trace = solve(PROBLEMS / "ex02-3-3-2-2.yaml")
    net_2_2 = 0.4 * 0.49 + 0.1 * 0.53 + 0.2 * 0.39 + 0.4  # 0.727 (at 0.333, 1 - net^2 is within 1% of the truth)
    assert verdicts(Judge(trace), answers(dout_dnet2_2=1 - net_2_2 ** 2)) == {
        "dout_dnet2_2": ("wrong", "tanh_derivative_on_net")}
    assert verdicts(Judge(trace), answers(dout_dnet1_1=0.49)) == {"dout_dnet1_1": ("wrong", "relu_derivative_wrong")}


def test_relu_derivative_for_a_negative_net():
    problem = parse_problem("inputs: [1.0]\ntargets: [0.5]\nlayers:\n"
                            "  - {weights: [[-0.5]], biases: [0.1], activation: relu}\n"
                            "  - {weights: [[0.3]], biases: [0.2], activation: sigmoid}\n"
                            "loss: half_sse\nlearning_rate: 0.1\n")
    trace = solve(problem)  # net = -0.4: relu'(net) = 0; a student who writes 1 made the mistake
    assert verdicts(Judge(trace), answers(dout_dnet1_1=1.0)) == {"dout_dnet1_1": ("wrong", "relu_derivative_wrong")}


def test_weight_index_swapped_in_a_gradient():
    trace = solve(PROBLEMS / "mazur-2-2-2.yaml")
    # dE/dw6 (h2 -> o1) written as delta_o2 * out_h1 (the indices of w_ji read the other way round)
    assert verdicts(Judge(trace), answers(dL_dw2_1_2=DELTA_O2 * OUT_H1)) == {
        "dL_dw2_1_2": ("wrong", "weight_index_swapped")}


def test_batch_gradient_without_the_mean_is_a_loss_factor_mistake():
    trace = solve(PROBLEMS / "fish-2-4-3.yaml")
    key = "dL_dw2_1_1"
    total = sum(trace.step.layers[1].delta[s, 0] * trace.step.layers[1].inputs[s, 0] for s in range(4))
    assert verdicts(Judge(trace), answers(**{key: float(total)})) == {key: ("wrong", "loss_factor_dropped")}


def test_an_unexplained_wrong_answer_has_no_diagnosis(mazur):
    assert verdicts(Judge(mazur), answers(net1_1=12.34)) == {"net1_1": ("wrong", None)}


def test_by_id_covers_the_catalogue():
    assert set(BY_ID) == {m.id for m in CATALOGUE}


def test_a_mistake_on_the_true_inputs_is_found_even_after_a_slip(mazur):
    # out_h1 slipped (so their net_o1 differs), but sigma'(net_o1) was then taken on the true net_o1
    slipped_net_o1 = 0.40 * 0.9 + 0.45 * OUT_H2 + 0.60
    given = answers(out1_1=0.9, net2_1=slipped_net_o1, dout_dnet2_1=NET_O1 * (1 - NET_O1))
    assert verdicts(Judge(mazur), given)["dout_dnet2_1"] == ("wrong", "sigmoid_derivative_on_net")
