"""The engine against published worked examples and against independent hand computations.

Mazur: Matt Mazur, "A Step by Step Backpropagation Example" (2015); his numbers are the expectations.
EX02: the course's own text has slips (it uses 0.573/0.628 in the loss), so its expectations are computed
here from scratch with plain numpy; only the course values that agree with that computation are quoted.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tutor.engine.step import run_step, train
from tutor.problem.loader import load_problem
from tutor.solver import solve

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"
MAZUR = PROBLEMS / "mazur-2-2-2.yaml"
EX02 = PROBLEMS / "ex02-3-3-2-2.yaml"

def approx(value: float, decimals: int):
    """Agreement to the published decimals: abs=5e-10 for 9 decimals, 5e-9 for 8, and so on."""
    return pytest.approx(value, abs=0.5 * 10.0 ** -decimals)


# -- Mazur 2-2-2 ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mazur():
    return solve(MAZUR)


@pytest.mark.parametrize("key, published, decimals", [
    ("net1_1", 0.3775, 9),  # net_h1 (0.3775 is exact)
    ("out1_1", 0.593269992, 9),  # out_h1
    ("out1_2", 0.596884378, 9),  # out_h2
    ("out2_1", 0.75136507, 8),  # out_o1
    ("out2_2", 0.772928465, 9),  # out_o2
    ("loss", 0.298371109, 9),  # E_total
    ("dL_dw2_1_1", 0.082167041, 9),  # dE_total/dw5
    ("dL_dw1_1_1", 0.000438568, 9),  # dE_total/dw1
    ("new_w2_1_1", 0.35891648, 8),  # w5+
    ("new_w2_1_2", 0.408666186, 9),  # w6+
    ("new_w2_2_1", 0.511301270, 9),  # w7+
    ("new_w2_2_2", 0.561370121, 9),  # w8+
    ("new_w1_1_1", 0.149780716, 9),  # w1+
    ("new_w1_1_2", 0.19956143, 8),  # w2+
    ("new_w1_2_1", 0.24975114, 8),  # w3+
    ("new_w1_2_2", 0.29950229, 8),  # w4+
])
def test_mazur_published_values(mazur, key, published, decimals):
    assert mazur[key].value == approx(published, decimals)


def test_mazur_labels_name_the_same_quantities(mazur):
    assert mazur.resolve("w5+") == "new_w2_1_1"
    assert mazur.resolve("w1+") == "new_w1_1_1"
    assert mazur.resolve("dE_total/dw5") == "dL_dw2_1_1"


def test_mazur_ten_thousand_steps():
    history = solve(MAZUR, steps=10000).history
    assert len(history) == 10001
    assert history[0] == approx(0.298371109, 9)
    assert history[9999] == approx(0.0000351085, 10)  # the error when the 10,000th step starts
    assert history[10000] == approx(0.0000351019, 10)  # after the 10,000th update
    assert np.all(np.diff(history) < 0)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_mazur_hidden_gradient_uses_the_old_output_weights(mazur):
    i1, i2, t1, t2 = 0.05, 0.10, 0.01, 0.99
    w1, w2, w3, w4, b1 = 0.15, 0.20, 0.25, 0.30, 0.35
    w5, w6, w7, w8, b2 = 0.40, 0.45, 0.50, 0.55, 0.60
    eta = 0.5
    h1 = _sigmoid(w1 * i1 + w2 * i2 + b1)
    h2 = _sigmoid(w3 * i1 + w4 * i2 + b1)
    o1 = _sigmoid(w5 * h1 + w6 * h2 + b2)
    o2 = _sigmoid(w7 * h1 + w8 * h2 + b2)
    d1 = (o1 - t1) * o1 * (1 - o1)
    d2 = (o2 - t2) * o2 * (1 - o2)

    def dE_dw1(w5_: float, w7_: float) -> float:
        return (d1 * w5_ + d2 * w7_) * h1 * (1 - h1) * i1

    with_old = dE_dw1(w5, w7)
    w5_new, w7_new = w5 - eta * d1 * h1, w7 - eta * d2 * h1
    with_new = dE_dw1(w5_new, w7_new)
    assert mazur["dL_dw1_1_1"].value == pytest.approx(with_old, rel=1e-13)
    assert with_old == approx(0.000438568, 9)
    assert abs(with_new - with_old) > 1e-6  # the new weights give a visibly different number
    assert mazur["dL_dw1_1_1"].value != pytest.approx(with_new, rel=1e-6)
    assert mazur["new_w2_1_1"].value == pytest.approx(w5_new, rel=1e-13)
    # the trace says so too: dE/dout_h1 is built from the weights before the update
    assert mazur["dL_dout1_1"].value == pytest.approx(d1 * w5 + d2 * w7, rel=1e-13)


def test_mazur_biases_are_not_updated(mazur):
    assert not any(q.kind == "new_bias" for q in mazur)
    step = mazur.step
    for ls, b in zip(step.layers, (0.35, 0.60)):
        assert ls.new_biases.tolist() == [b]


# -- EX02 3-3-2: relu, tanh, sigmoid, mse ------------------------------------------------------------------


def ex02_by_hand():
    """Forward pass, mse and one update, written from scratch (weights[j][i] is w_ji)."""
    x = np.array([0.3, 0.5, 0.8])
    t = np.array([0.5, 0.8])
    W1 = np.array([[0.1, 0.2, 0.2], [0.4, 0.1, 0.2], [0.2, 0.3, 0.1]])
    b1 = np.array([0.2, 0.2, 0.1])
    W2 = np.array([[0.1, 0.2, 0.2], [0.4, 0.1, 0.2]])
    b2 = np.array([0.1, 0.4])
    W3 = np.array([[0.5, 0.1], [0.5, 0.5]])
    b3 = np.array([0.5, 0.3])
    eta = 0.01

    z1 = np.array([sum(W1[j, i] * x[i] for i in range(3)) + b1[j] for j in range(3)])
    a1 = np.array([max(0.0, z) for z in z1])
    z2 = np.array([sum(W2[j, i] * a1[i] for i in range(3)) + b2[j] for j in range(2)])
    a2 = np.array([math.tanh(z) for z in z2])
    z3 = np.array([sum(W3[j, i] * a2[i] for i in range(2)) + b3[j] for j in range(2)])
    a3 = np.array([1.0 / (1.0 + math.exp(-z)) for z in z3])
    loss = sum((t[j] - a3[j]) ** 2 for j in range(2)) / 2

    d3 = np.array([2.0 / 2 * (a3[j] - t[j]) * a3[j] * (1 - a3[j]) for j in range(2)])
    d2 = np.array([sum(d3[k] * W3[k, j] for k in range(2)) * (1 - a2[j] ** 2) for j in range(2)])
    d1 = np.array([sum(d2[k] * W2[k, j] for k in range(2)) * (1.0 if z1[j] > 0 else 0.0) for j in range(3)])
    return {
        "z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "a3": a3, "loss": loss,
        "new_W1_11": W1[0, 0] - eta * d1[0] * x[0],
        "new_W2_21": W2[1, 0] - eta * d2[1] * a1[0],
        "new_W2_22": W2[1, 1] - eta * d2[1] * a1[1],
        "new_W3_22": W3[1, 1] - eta * d3[1] * a2[1],
        "d1": d1, "d2": d2, "d3": d3,
    }


@pytest.fixture(scope="module")
def ex02():
    return solve(EX02)


def test_ex02_forward_matches_the_hand_computation(ex02):
    hand = ex02_by_hand()
    for l, (z, a) in enumerate([("z1", "a1"), ("z2", "a2"), ("z3", "a3")], start=1):
        for j, (zj, aj) in enumerate(zip(hand[z], hand[a]), start=1):
            assert ex02[f"net{l}_{j}"].value == pytest.approx(zj, rel=1e-13), f"net{l}_{j}"
            assert ex02[f"out{l}_{j}"].value == pytest.approx(aj, rel=1e-13), f"out{l}_{j}"
    assert ex02["loss"].value == pytest.approx(hand["loss"], rel=1e-13)


def test_ex02_course_values_that_are_right(ex02):
    # Only the course's numbers that the hand computation confirms.
    hand = ex02_by_hand()
    for key, course in [("out1_1", 0.49), ("out1_2", 0.53), ("out1_3", 0.39), ("net2_1", 0.333), ("net2_2", 0.727)]:
        assert ex02[key].value == pytest.approx(course, abs=1e-12)
    assert hand["a1"].tolist() == pytest.approx([0.49, 0.53, 0.39], abs=1e-12)
    assert hand["z2"].tolist() == pytest.approx([0.333, 0.727], abs=1e-12)


def test_ex02_asked_updates(ex02):
    hand = ex02_by_hand()
    assert ex02["new_w1_1_1"].value == pytest.approx(hand["new_W1_11"], rel=1e-13)  # w11 of layer 1
    assert ex02["new_w2_2_1"].value == pytest.approx(hand["new_W2_21"], rel=1e-13)  # w21 of layer 2
    assert ex02["new_w2_2_2"].value == pytest.approx(hand["new_W2_22"], rel=1e-13)  # w22 of layer 2
    assert ex02["new_w3_2_2"].value == pytest.approx(hand["new_W3_22"], rel=1e-13)  # w22 of layer 3
    # and the deltas they come from
    for l, name in enumerate(("d1", "d2", "d3"), start=1):
        for j, d in enumerate(hand[name], start=1):
            assert ex02[f"delta{l}_{j}"].value == pytest.approx(d, rel=1e-12, abs=1e-18), f"delta{l}_{j}"


def test_ex02_slipped_course_loss_is_not_what_the_engine_gives(ex02):
    # The course's loss uses outputs 0.573 and 0.628, which do not follow from its own forward pass.
    slipped = ((0.5 - 0.573) ** 2 + (0.8 - 0.628) ** 2) / 2
    assert abs(ex02["loss"].value - slipped) > 1e-3


def test_ex02_biases_stay(ex02):
    assert not any(q.kind == "new_bias" for q in ex02)


# -- conventions -----------------------------------------------------------------------------------------


def test_run_step_leaves_the_problem_untouched():
    problem = load_problem(MAZUR)
    before = [(layer.weights.copy(), layer.biases.copy()) for layer in problem.layers]
    run_step(problem)
    train(problem, 5)
    for (w, b), layer in zip(before, problem.layers):
        assert np.array_equal(w, layer.weights) and np.array_equal(b, layer.biases)


def test_batch_gradient_is_the_mean_of_the_single_sample_gradients():
    text = """
inputs: [[0.1, -0.4], [0.7, 0.2], [-0.3, 0.9]]
targets: [[0.2, 0.9], [0.6, 0.1], [0.3, 0.3]]
layers:
  - {weights: [[0.3, -0.2], [0.5, 0.1], [-0.6, 0.4]], biases: [0.1, -0.2, 0.05], activation: tanh}
  - {weights: [[0.2, -0.5, 0.7], [0.4, 0.3, -0.1]], biases: 0.2, activation: sigmoid}
loss: half_sse
learning_rate: 0.5
"""
    from tutor.problem.loader import parse_problem

    batch = run_step(parse_problem(text))
    singles = []
    for s in range(3):
        lines = text.replace("inputs: [[0.1, -0.4], [0.7, 0.2], [-0.3, 0.9]]",
                             f"inputs: {[[0.1, -0.4], [0.7, 0.2], [-0.3, 0.9]][s]}")
        lines = lines.replace("targets: [[0.2, 0.9], [0.6, 0.1], [0.3, 0.3]]",
                              f"targets: {[[0.2, 0.9], [0.6, 0.1], [0.3, 0.3]][s]}")
        singles.append(run_step(parse_problem(lines)))
    for l in range(2):
        mean_w = np.mean([st.layers[l].grad_weights for st in singles], axis=0)
        mean_b = np.mean([st.layers[l].grad_biases for st in singles], axis=0)
        np.testing.assert_allclose(batch.layers[l].grad_weights, mean_w, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(batch.layers[l].grad_biases, mean_b, rtol=1e-13, atol=1e-16)
        for s in range(3):
            np.testing.assert_allclose(batch.layers[l].delta[s], singles[s].layers[l].delta[0], rtol=1e-13)
    assert batch.loss == pytest.approx(np.mean([st.loss for st in singles]), rel=1e-14)


@pytest.mark.parametrize("target, rate", [(1.0, 1000), (0.0, 20000)])
def test_training_through_a_saturated_sigmoid_output_stays_finite(target, rate):
    # A large learning rate drives the sigmoid output to exactly 1.0 (or 0.0) after one update. There
    # bce's dL/dout is 0/0 and dout/dnet is 0; their product used to be NaN and poison every later
    # weight. The cancelled form gives the limit, (o - t) / n.
    from tutor.problem.loader import parse_problem

    problem = parse_problem(f"""
inputs: [1.0, -1.0]
targets: [{target}]
layers:
  - {{weights: [[0.5, -0.5], [0.3, 0.2]], biases: [0.1, -0.1], activation: tanh}}
  - {{weights: [[0.6, -0.4]], biases: [0.0], activation: sigmoid}}
loss: bce
learning_rate: {rate}
""")
    _, history = train(problem, 6)
    assert np.all(np.isfinite(history)), history
    assert history[-1] == pytest.approx(0.0, abs=1e-12)


def test_unsaturated_deltas_are_the_plain_chain_rule_product():
    # The saturation guard changes nothing else: delta is exactly dL/dout * dout/dnet.
    from tests.netgen import grid_spec, to_problem

    for loss in ("bce", "cross_entropy"):
        step = run_step(to_problem(grid_spec("sigmoid", loss, "3layer-batch3")))
        for ls in step.layers:
            np.testing.assert_array_equal(ls.delta, ls.dloss_dout * ls.dout_dnet)
