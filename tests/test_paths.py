"""The path-sum form of a weight's gradient agrees with the delta form and lists the right paths."""

from __future__ import annotations

import pytest

from tests.conftest import PROBLEMS
from tests.netgen import DENSE_PROBLEM_FILES
from tutor.trace.pathsum import MAX_PATHS, path_count, path_sum
from tutor.solver import solve


def test_ex02_w11_of_layer_1_has_the_four_paths_of_the_exercise():
    trace = solve(PROBLEMS / "ex02-3-3-2-2.yaml")
    paths = path_sum(trace, 1, 1, 1)
    assert paths.count == 4
    nodes = [" -> ".join(p.nodes) for p in paths.paths]
    # Each path goes through one output and one neuron of layer 2; an output's sigmoid only links it to
    # its own net input (the exercise's path 2 writes O_1 -> net_2^3, a slip).
    assert nodes == [
        "L -> a_1^3 -> net_1^3 -> a_1^2 -> net_1^2 -> a_1^1 -> net_1^1 -> w_11^1",
        "L -> a_2^3 -> net_2^3 -> a_1^2 -> net_1^2 -> a_1^1 -> net_1^1 -> w_11^1",
        "L -> a_1^3 -> net_1^3 -> a_2^2 -> net_2^2 -> a_1^1 -> net_1^1 -> w_11^1",
        "L -> a_2^3 -> net_2^3 -> a_2^2 -> net_2^2 -> a_1^1 -> net_1^1 -> w_11^1",
    ]
    first = paths.paths[0]
    assert [f.symbol for f in first.factors] == [
        "dL/da_1^3", "da_1^3/dnet_1^3", "w_11^3", "da_1^2/dnet_1^2", "w_11^2", "da_1^1/dnet_1^1", "x_1"]
    assert first.factors[-1].value == 0.3  # dnet_1^1/dw_11^1 = x_1


@pytest.mark.parametrize("path", DENSE_PROBLEM_FILES, ids=lambda p: p.stem)
def test_path_sum_equals_the_gradient_for_every_weight(path):
    trace = solve(path)
    for layer_index, layer in enumerate(trace.problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                paths = path_sum(trace, layer_index, j, i)
                assert paths.count == path_count(trace, layer_index)
                gradient = trace.step.layers[layer_index - 1].grad_weights[j - 1, i - 1]
                if paths.expanded:
                    assert len(paths.paths) == paths.count
                    assert paths.total == pytest.approx(gradient, rel=1e-12, abs=1e-15)


def test_softmax_with_mse_goes_through_every_output(tmp_path):
    from tutor.problem.loader import parse_problem

    problem = parse_problem(
        "inputs: [0.5, -0.2]\ntargets: [0.2, 0.3, 0.5]\nlayers:\n"
        "  - {weights: [[0.1, 0.4], [-0.3, 0.2]], biases: [0.1, 0.0], activation: tanh}\n"
        "  - {weights: [[0.2, -0.1], [0.5, 0.3], [-0.4, 0.6]], biases: [0, 0.1, 0.2], activation: softmax}\n"
        "loss: mse\nlearning_rate: 0.1\n")
    trace = solve(problem)
    paths = path_sum(trace, 1, 2, 1)
    assert paths.count == 3 * 3  # 3 neurons k of the output layer, each reached from 3 outputs m
    assert paths.total == pytest.approx(trace.step.layers[0].grad_weights[1, 0], rel=1e-12)


def test_too_many_paths_are_not_listed():
    from tutor.problem.loader import parse_problem

    width = 20
    row = "[" + ", ".join(["0.1"] * width) + "]"
    layers = "".join(f"  - {{weights: [{', '.join([row] * width)}], biases: 0.1, activation: tanh}}\n"
                     for _ in range(3))
    problem = parse_problem(f"inputs: {row}\ntargets: [{', '.join(['0.5'] * width)}]\nlayers:\n{layers}"
                            "loss: half_sse\nlearning_rate: 0.1\n")
    paths = path_sum(solve(problem), 1, 1, 1)
    assert paths.count == width * width > MAX_PATHS
    assert not paths.expanded and paths.paths == ()
