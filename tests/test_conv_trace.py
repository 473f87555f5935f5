"""The trace of problems with an input image: values, formulas, the notes' example by hand, and diagnosis.

The lab notes' example (problems/conv-3x3-2x2.yaml) is worked out by hand here: X, the filter F, the bias,
O = X cross-correlated with F plus the bias, dE/dO = O - T (half_sse, linear), dE/dF = X cross-correlated
with dE/dO, dE/dX = the full convolution of dE/dO with F rotated by 180 degrees.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from tests.conftest import PROBLEMS
from tests.test_grader import assert_diagnosed
from tutor.teach.grader import Grader
from tutor.problem.loader import parse_problem
from tutor.solver import solve
from tutor.model.layers.conv2d import rotated_full_convolution

# The notes' example, by hand.
X = [[1, 0, 2], [2, 1, 0], [0, 1, 1]]
F = [[1, -1], [0, 2]]
BIAS, ETA = 1, 0.1
O = [[1 * 1 + -1 * 0 + 0 * 2 + 2 * 1 + 1, 1 * 0 + -1 * 2 + 0 * 1 + 2 * 0 + 1],
     [1 * 2 + -1 * 1 + 0 * 0 + 2 * 1 + 1, 1 * 1 + -1 * 0 + 0 * 1 + 2 * 1 + 1]]  # [[4, -1], [4, 4]]
T = [[3, 1], [5, 3]]
D = [[O[r][c] - T[r][c] for c in range(2)] for r in range(2)]  # [[1, -2], [-1, 1]]
DF = [[sum(X[r + a][c + b] * D[r][c] for r in range(2) for c in range(2)) for b in range(2)] for a in range(2)]
ROT = [[F[1][1], F[1][0]], [F[0][1], F[0][0]]]
D_FULL = [[0, 0, 0, 0], [0, *D[0], 0], [0, *D[1], 0], [0, 0, 0, 0]]
DX = [[sum(D_FULL[r + a][c + b] * ROT[a][b] for a in range(2) for b in range(2)) for c in range(3)] for r in range(3)]


@pytest.fixture(scope="module")
def traces():
    """The two bundled image problems, solved once: the notes' example and the tiny CNN."""
    return {name: solve(PROBLEMS / f"{stem}.yaml") for name, stem in (("conv", "conv-3x3-2x2"), ("cnn", "cnn-4x4"))}


@pytest.fixture
def conv(traces):
    return traces["conv"]


@pytest.fixture
def cnn(traces):
    return traces["cnn"]


def test_notes_example_by_hand(conv):
    assert DF == [[0, -5], [1, 1]] and DX == [[1, -3, 2], [-1, 4, -5], [0, -2, 2]]  # the hand computation itself
    for r in range(2):
        for c in range(2):
            assert conv[f"net1_1_{r + 1}_{c + 1}"].value == O[r][c]
            assert conv[f"delta1_1_{r + 1}_{c + 1}"].value == D[r][c]
    for a in range(2):
        for b in range(2):
            assert conv[f"dL_dw1_1_1_{a + 1}_{b + 1}"].value == DF[a][b]
            assert conv[f"new_w1_1_1_{a + 1}_{b + 1}"].value == pytest.approx(F[a][b] - ETA * DF[a][b])
    for r in range(3):
        for c in range(3):
            assert conv[f"dL_dx1_1_{r + 1}_{c + 1}"].value == DX[r][c]
    assert conv["dL_db1_1"].value == sum(map(sum, D)) and conv["new_b1_1"].value == pytest.approx(BIAS + ETA)
    assert conv["loss"].value == sum(d * d for row in D for d in row) / 2
    assert conv["net1_1_1_1"].symbolic() == "w^1(1,1) * x(1,1) + w^1(1,2) * x(1,2) + w^1(2,1) * x(2,1) + " \
                                            "w^1(2,2) * x(2,2) + b^1"


def test_rotated_full_convolution_is_the_notes_identity(conv):
    padded, rotated, result = rotated_full_convolution(np.array(D, float), np.array(F, float), 1, 0, (3, 3))
    np.testing.assert_array_equal(padded, D_FULL)
    np.testing.assert_array_equal(rotated, ROT)
    np.testing.assert_array_equal(result, DX)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 0), (1, 1), (2, 1)])
def test_rotated_full_convolution_sums_to_the_engine_input_gradient(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    problem = {
        "inputs": rng.integers(-3, 4, size=(2, 5, 5)).tolist(),
        "layers": [{"type": "conv2d", "weights": rng.integers(-2, 3, size=(2, 2, 3, 3)).tolist(), "biases": [0, 1],
                    "stride": stride, "padding": padding}],
        "loss": "half_sse", "learning_rate": 0.1,
    }
    side = (5 + 2 * padding - 3) // stride + 1
    problem["targets"] = rng.integers(-3, 4, size=2 * side * side).tolist()
    trace = solve(parse_problem(yaml.safe_dump(problem)))
    ls = trace.step.layers[0]
    for ch in range(2):
        total = sum(rotated_full_convolution(ls.delta[0, f], ls.weights[f, ch], stride, padding, (5, 5))[2]
                    for f in range(2))
        np.testing.assert_allclose(total, ls.dloss_dinput[0, ch], atol=1e-12)


def test_maxpool_winner_is_named_and_gradient_routed(cnn):
    assert cnn["out2_1_1_2"].note == "out^1(2,3) won"
    assert cnn["out2_1_1_2"].value == 4
    # out^1(2,3) won two overlapping windows: its gradient is the sum of theirs.
    won = cnn["dL_dout1_1_2_3"]
    assert won.depends_on == ("dL_dout2_1_1_2", "dL_dout2_1_2_2")
    assert won.value == pytest.approx(cnn["dL_dout2_1_1_2"].value + cnn["dL_dout2_1_2_2"].value)
    assert cnn["dL_dout1_1_1_2"].value == 0 and cnn["dL_dout1_1_1_2"].depends_on == ()


def test_follow_through_recomputes_from_a_students_delta(conv):
    wrong = {"delta1_1_1_1": 2.0}  # a slip; dE/dw^1(1,1) computed from it is followed
    q = conv["dL_dw1_1_1_1_1"]
    world = {k: wrong.get(k, conv[k].value) for k in q.depends_on}
    assert q.compute(*(world[k] for k in q.depends_on)) == 2 * X[0][0] + D[0][1] * X[0][1] + D[1][0] * X[1][0] + \
        D[1][1] * X[1][1]


# -- the catalogued mistakes of layers on images, each diagnosed by the grader ----------------------------------

STRIDED = {
    "inputs": [[1, 2, 0, 1], [0, 1, 3, 1], [2, 0, 1, 1], [1, 1, 0, 2]],
    "layers": [{"type": "conv2d", "weights": [[1, 2], [0, -1]], "biases": [0], "stride": 2}],
    "targets": [[0, 0], [0, 0]], "loss": "half_sse", "learning_rate": 0.1,
}
SX, SW = STRIDED["inputs"], STRIDED["layers"][0]["weights"]
SO = [[sum(SX[2 * r + a][2 * c + b] * SW[a][b] for a in range(2) for b in range(2)) for c in range(2)] for r in range(2)]
# dE/dO = O (targets 0); with the stride ignored, dE/dF(1,2) pairs O(r, c) with X(r + 1 - 1, c + 2 - 1).
STRIDE_IGNORED_DW12 = sum(SO[r][c] * SX[r][c + 1] for r in range(2) for c in range(2))

CONV_MISTAKE_SHEETS = {
    # dE/dx(1,1) with F as it is: the padded dE/dO's top-left window [[0, 0], [0, 1]] times F = 1 * F(2,2).
    "filter_not_rotated": ("conv", "dL_dx1_1_1_1", D[0][0] * F[1][1]),
    # dE/dx(1,1) from the valid convolution of dE/dO (no zeros around) with the rotated filter.
    "full_valid_confused": ("conv", "dL_dx1_1_1_1", sum(D[a][b] * ROT[a][b] for a in range(2) for b in range(2))),
    "stride_ignored_backward": ("strided", "dL_dw1_1_1_1_2", STRIDE_IGNORED_DW12),
    # out^1(1,2) won no window; sent to every input, it gets the gradients of both windows it is in.
    "maxpool_gradient_to_all": ("cnn", "dL_dout1_1_1_2", None),
}


@pytest.mark.parametrize("mistake", sorted(CONV_MISTAKE_SHEETS))
def test_each_conv_mistake_is_diagnosed_by_the_grader(mistake, conv, cnn):
    problem, key, value = CONV_MISTAKE_SHEETS[mistake]
    trace = {"conv": conv, "cnn": cnn}.get(problem) or solve(parse_problem(yaml.safe_dump(STRIDED)))
    if mistake == "maxpool_gradient_to_all":
        value = trace["dL_dout2_1_1_1"].value + trace["dL_dout2_1_1_2"].value
    assert value != pytest.approx(trace[key].value)
    assert_diagnosed(trace, key, value, mistake)


def test_a_conv_mistake_follows_the_students_own_deltas(conv):
    # The student's delta(1,1) is 3 (a slip), then dE/dx(1,1) with the filter not rotated: 3 * F(2,2).
    sheet = "'delta1_1_1_1': 3\n'dL_dx1_1_1_1': 6\n"
    rows = {r.key: r for r in Grader(conv).grade_text(sheet).results}
    assert rows["dL_dx1_1_1_1"].diagnosis is not None and rows["dL_dx1_1_1_1"].diagnosis.id == "filter_not_rotated"


# The notes' X and F in a conv layer with each activation, bias 0: net^1 = [[3, -2], [3, 3]].
NET = [[sum(X[r + a][c + b] * F[a][b] for a in range(2) for b in range(2)) for c in range(2)] for r in range(2)]
ACTIVATION_MISTAKES = {  # each mistake's own wrong rule, on the hand-computed net, at net^1(1,2) = -2
    "sigmoid": ("sigmoid_derivative_on_net", NET[0][1] * (1 - NET[0][1])),
    "tanh": ("tanh_derivative_on_net", 1 - NET[0][1] ** 2),
    "relu": ("relu_derivative_wrong", 1.0),  # the slope 1 where net < 0
    "swish": ("product_rule_dropped", 1 / (1 + math.exp(-NET[0][1]))),  # sigmoid(net) without net * sigmoid'(net)
}


def notes_conv(activation: str):
    """The notes' example with this activation on the conv layer and bias 0, solved."""
    problem = {"inputs": X, "layers": [{"type": "conv2d", "weights": F, "biases": [0], "activation": activation}],
               "targets": T, "loss": "half_sse", "learning_rate": ETA}
    return solve(parse_problem(yaml.safe_dump(problem)))


@pytest.mark.parametrize("activation", sorted(ACTIVATION_MISTAKES))
def test_activation_mistakes_on_a_conv_layer_are_diagnosed_by_the_grader(activation):
    trace = notes_conv(activation)
    assert trace["net1_1_1_2"].value == NET[0][1]
    mistake, wrong = ACTIVATION_MISTAKES[activation]
    assert wrong != pytest.approx(trace["dout_dnet1_1_1_2"].value)
    assert_diagnosed(trace, "dout_dnet1_1_1_2", wrong, mistake)
    assert_diagnosed(trace, "dout^1/dnet^1(1,2)", wrong, mistake)  # by its label too


def test_an_activation_mistake_on_a_conv_layer_follows_the_students_own_net():
    # The student's net^1(1,2) is -1 (a slip), then the sigmoid's derivative on it: -1 * (1 - -1) = -2.
    sheet = "'net1_1_1_2': -1\n'dout_dnet1_1_1_2': -2\n"
    rows = {r.key: r for r in Grader(notes_conv("sigmoid")).grade_text(sheet).results}
    assert rows["dout_dnet1_1_1_2"].diagnosis is not None
    assert rows["dout_dnet1_1_1_2"].diagnosis.id == "sigmoid_derivative_on_net"


WIDE = {
    "inputs": [[[1, 2, 0, 1, 2], [0, 1, 3, 1, 0], [2, 0, 1, 1, 1], [1, 1, 0, 2, 0], [0, 1, 2, 0, 1]],
               [[0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0]]],
    "layers": [
        {"type": "conv2d", "weights": [[[[1, 0, -1], [0, 1, 0], [1, 0, 1]], [[0, 1, 0], [1, 0, 1], [0, 1, 0]]],
                                       [[[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]], [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]]],
         "biases": [0.1, -0.2], "stride": 2, "padding": 1, "activation": "tanh"},
        {"type": "avgpool", "size": 2, "stride": 1}, {"type": "flatten"},
        {"weights": [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8]],
         "biases": [0, 0], "activation": "sigmoid"},
    ],
    "targets": [1, 0], "loss": "bce", "learning_rate": 0.5,
}


@pytest.mark.parametrize("fmt", ["plain", "text"])
def test_grids_fit_80_columns(invoke, tmp_path, fmt):
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(WIDE))
    result = invoke("solve", str(path), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "delta^1[1] full columns 1-6" in result.stdout  # a 9-column grid split to fit
    assert "w^1[2,2] rotated" in result.stdout and "= dL/dx[2]" in result.stdout


def test_json_layers_of_an_image_problem(invoke):
    result = invoke("solve", "problems/cnn-4x4.yaml", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    layers = data["layers"]
    assert [layer["kind"] for layer in layers] == ["conv2d", "maxpool", "flatten", "dense"]
    assert [np.shape(layer["out"]) for layer in layers] == [(1, 3, 3), (1, 2, 2), (4,), (3,)]
    assert [np.shape(layer["dloss_dinput"]) for layer in layers] == [(1, 4, 4), (1, 3, 3), (1, 2, 2), (4,)]
    for layer in layers:
        has_parameters = layer["kind"] in ("conv2d", "dense")
        assert all((key in layer) == has_parameters for key in ("grad_weights", "grad_biases", "new_weights",
                                                                 "new_biases"))
    assert np.shape(layers[0]["grad_weights"]) == (1, 1, 2, 2) and np.shape(layers[0]["new_biases"]) == (1,)
    values = {q["key"]: q["value"] for q in data["quantities"]}
    for r in range(4):
        for c in range(4):
            assert layers[0]["dloss_dinput"][0][r][c] == values[f"dL_dx1_1_{r + 1}_{c + 1}"]
    # a layer's dL/d(input) is the previous layer's dL/dout, in its shape
    assert layers[1]["dloss_dinput"] == layers[0]["dloss_dout"]
    assert layers[3]["dloss_dinput"] == layers[2]["dloss_dout"]


def test_only_takes_labels_with_commas(invoke):
    from tutor.trace.keys import split_keys

    assert split_keys("dE/dw^1(2,1),dE/dx(3,3), w[1,2]+ ,net1_1") == ["dE/dw^1(2,1)", "dE/dx(3,3)", "w[1,2]+", "net1_1"]
    result = invoke("solve", "problems/conv-3x3-2x2.yaml", "--format", "json", "--only", "dE/dw^1(2,1),dE/dx(3,3)")
    assert result.exit_code == 0, result.output
    assert [q["key"] for q in json.loads(result.stdout)["quantities"]] == ["dL_dw1_1_1_2_1", "dL_dx1_1_3_3"]


def image_traces() -> list:
    """The bundled image problems, the stride-2 one above and a wider CNN, solved (for the judgement tests)."""
    return [solve(PROBLEMS / "conv-3x3-2x2.yaml"), solve(PROBLEMS / "cnn-4x4.yaml"),
            solve(parse_problem(yaml.safe_dump(STRIDED))), solve(parse_problem(yaml.safe_dump(WIDE)))]


@pytest.mark.parametrize("index", range(4))
def test_each_mistake_on_images_is_diagnosed_by_its_id(index):
    """Every value a catalogued mistake gives on an image problem, written with all its figures, is judged
    wrong and diagnosed with the first mistake of the catalogue that gives it."""
    from tutor.teach.judge import Answer, Judge
    from tutor.teach.mistakes import CATALOGUE

    trace = image_traces()[index]
    judge = Judge(trace)
    truth = judge.true_values
    checked = set()
    for q in trace:
        candidates = {m.id: m.candidates(trace, q, truth) for m in CATALOGUE}
        wrong = [v for values in candidates.values() for v in values
                 if np.isfinite(v) and v != pytest.approx(q.value, rel=1e-6, abs=1e-9)]
        for value in wrong:
            first = next(i for i, values in candidates.items() if any(v == pytest.approx(value, rel=1e-9, abs=1e-15)
                                                                      for v in values))
            (j,) = judge.judge({q.key: Answer(q.key, value, f"{value:#.17g}")})
            assert (j.verdict, j.diagnosis and j.diagnosis.id) == ("wrong", first), (q.key, value)
            checked.add(first)
    assert checked  # each problem shows some mistakes


def test_a_later_step_of_an_image_problem(invoke):
    from tutor.engine.step import train

    _, history = train(solve(PROBLEMS / "cnn-4x4.yaml").problem, 3)
    result = invoke("solve", "problems/cnn-4x4.yaml", "--format", "plain", "--steps", "3", "--show-step", "2")
    assert result.exit_code == 0, result.output
    summary = result.stdout.split("Summary")[1]
    assert f"L before the update: {history[1]:.6g}" in summary and f"L after the update:  {history[2]:.6g}" in summary
    data = json.loads(invoke("solve", "problems/cnn-4x4.yaml", "--format", "json", "--steps", "3").stdout)
    assert [sorted(layer) for layer in data["final"]["layers"]] == [["biases", "weights"], [], [], ["biases", "weights"]]
