"""Problem files with images and conv2d, pooling and flatten layers: reading, shapes and bad shapes."""

from __future__ import annotations

import functools
import operator
import textwrap

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PROBLEMS, ROOT
from tests.test_loader_fuzz import FUZZ, dump, places, replaced, scalars, structures
from tutor.errors import ProblemError
from tutor.problem.loader import parse_problem
from tutor.solver import solve

CONV = """\
inputs:
  - [1, 0, 2]
  - [2, 1, 0]
  - [0, 1, 1]
layers:
  - type: conv2d
    weights: [[1, -1], [0, 2]]
    biases: [1]
targets: [[3, 1], [5, 3]]
loss: half_sse
learning_rate: 0.1
"""


def test_one_channel_image_and_filter():
    problem = parse_problem(CONV)
    assert problem.inputs.shape == (1, 1, 3, 3)
    layer = problem.layers[0]
    assert layer.kind == "conv2d" and layer.weights.shape == (1, 1, 2, 2)
    assert layer.output_shape == (1, 2, 2) and layer.activation.name == "linear"
    np.testing.assert_array_equal(problem.targets, [[3, 1, 5, 3]])
    assert problem.shape == (9, 4)


def test_channels_pooling_flatten_dense():
    text = textwrap.dedent("""\
        inputs: [[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[0, 1, 0], [1, 0, 1], [0, 1, 0]]]
        layers:
          - type: conv2d
            weights: [[[[1, 0], [0, 1]], [[1, 1], [1, 1]]], [[[0, 1], [1, 0]], [[0, 0], [0, 1]]]]
            biases: [0, 1]
            padding: 1
            stride: 2
            activation: relu
          - {type: avgpool, size: 2}
          - {type: flatten}
          - {weights: [[1, 2]], biases: [0], activation: sigmoid}
        targets: [1]
        loss: bce
        learning_rate: 0.1
        """)
    problem = parse_problem(text)
    shapes = [layer.output_shape for layer in problem.layers[:3]]
    assert shapes == [(2, 2, 2), (2, 1, 1), (2,)]
    assert problem.layers[1].stride == 2  # the stride defaults to the window's size
    assert problem.shape == (18, 8, 2, 2, 1)


@pytest.mark.parametrize("change, where, words", [
    ({"weights": "[[1, 2, 3], [1, 2, 3], [1, 1, 1]]", "inputs": "[[1, 2], [3, 4]]"}, "layers[0]",
     "layer 1 (conv2d): the 3x3 filter is larger than the padded input (2x2: 1x2x2 with padding 0)"),
    ({"weights": "[[[[1]], [[1]]]]"}, "layers[0]",
     "the input has 1 channel (1x3x3) but the filters have 2 (1 filter of 2x1x1)"),
    ({"biases": "[1, 2]"}, "layers[0].biases", "expected 1 number (one bias per filter), got 2"),
    ({"stride": "0"}, "layers[0].stride", "expected a positive whole number, got 0 (int)"),
    ({"type": "conv"}, "layers[0].type", "unknown layer type the text 'conv'; did you mean 'conv2d'?"),
    ({"targets": "[1, 2, 3]"}, "targets", "expected 4 targets (one per output of the last layer, whose output "
                                          "is 1x2x2), got 3"),
])
def test_bad_conv_layers_are_located(change, where, words):
    text = CONV
    for key, value in change.items():
        if key == "inputs":
            text = text.replace("inputs:\n  - [1, 0, 2]\n  - [2, 1, 0]\n  - [0, 1, 1]", f"inputs: {value}")
        elif key == "targets":
            text = text.replace("targets: [[3, 1], [5, 3]]", f"targets: {value}")
        elif key in ("weights", "biases"):
            text = text.replace({"weights": "[[1, -1], [0, 2]]", "biases": "[1]"}[key], value)
        elif key == "type":
            text = text.replace("type: conv2d", f"type: {value}")
        else:
            text = text.replace("    biases: [1]\n", f"    biases: [1]\n    {key}: {value}\n")
    with pytest.raises(ProblemError) as info:
        parse_problem(text, source="p.yaml")
    assert info.value.field == where
    assert words in info.value.message
    assert info.value.line is not None


def test_dense_after_conv_needs_flatten():
    text = CONV.replace("targets: [[3, 1], [5, 3]]", "targets: [1]").replace(
        "    biases: [1]\n", "    biases: [1]\n  - {weights: [[1, 1, 1, 1]], biases: [0], activation: linear}\n")
    with pytest.raises(ProblemError) as info:
        parse_problem(text, source="p.yaml")
    assert info.value.field == "layers[1]"
    assert "layer 2 (dense) follows a 1x2x2 image from layer 1 (conv2d)" in info.value.message
    assert "flatten" in info.value.message


def test_bad_image_cli_exit_2(invoke, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(CONV.replace("[[1, -1], [0, 2]]", "[[[[1]], [[1]]]]"))
    result = invoke("solve", str(path))
    assert result.exit_code == 2
    assert "layers[0]: layer 1 (conv2d): the input has 1 channel" in result.output
    assert "Traceback" not in result.output


def test_image_notation_sets_only_the_loss():
    with pytest.raises(ProblemError) as info:
        parse_problem(CONV + "notation: {loss: E, inputs: [a]}\n", source="p.yaml")
    assert info.value.field == "notation.inputs" and "(allowed: loss)" in info.value.message
    assert parse_problem(CONV + "notation: {loss: E}\n").notation.loss == "E"


def test_the_docs_example_is_the_bundled_notes_problem():
    doc = (ROOT / "docs" / "problem-format.md").read_text().split("### Images")[1]
    example = parse_problem(doc.split("```yaml\n")[1].split("```")[0])
    bundled = parse_problem((PROBLEMS / "conv-3x3-2x2.yaml").read_text())
    np.testing.assert_array_equal(example.inputs, bundled.inputs)
    np.testing.assert_array_equal(example.layers[0].weights, bundled.layers[0].weights)
    np.testing.assert_array_equal(example.targets, bundled.targets)


# -- robustness: a CNN file with one value replaced or moved loads, or is refused with a located message ------

CNN = yaml.safe_load((PROBLEMS / "cnn-4x4.yaml").read_text())
CNN_PLACES = places(CNN)


def check_image_outcome(text: str) -> None:
    """A Problem whose step and trace can be built (or a ProblemError naming the file), never a traceback."""
    try:
        problem = parse_problem(text, source="fuzz.yaml")
    except ProblemError as e:
        assert e.message and str(e).startswith("fuzz.yaml"), str(e)
        if e.field is not None:
            assert e.line is not None, str(e)
        return
    try:
        trace = solve(problem)
    except ProblemError as e:  # outputs a loss cannot take (the first step checks them)
        assert e.field == "loss" and str(e).startswith("fuzz.yaml"), str(e)
        return
    assert trace.problem.targets.shape == (1, problem.shape[-1])
    assert len(trace.quantities) > 0


@FUZZ
@given(st.sampled_from(CNN_PLACES), structures | scalars | st.lists(scalars, max_size=4))
def test_cnn_with_one_value_replaced(path, value):
    check_image_outcome(dump(replaced(CNN, path, value)))


@FUZZ
@given(st.sampled_from(CNN_PLACES), st.sampled_from(CNN_PLACES))
def test_cnn_with_one_value_moved_to_another_place(source, target):
    check_image_outcome(dump(replaced(CNN, target, functools.reduce(operator.getitem, source, CNN))))


@FUZZ
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(1, 3),
       st.integers(0, 2), st.sampled_from(["maxpool", "avgpool", None]), st.integers(1, 3), st.integers(1, 3))
def test_random_shapes_load_or_name_the_mismatch(channels, height, width, kernel, stride, padding, pool, size,
                                                  pool_stride):
    layers = [{"type": "conv2d", "weights": [[[[0.5] * kernel] * kernel] * channels], "biases": [0.1],
               "stride": stride, "padding": padding, "activation": "tanh"}]
    if pool:
        layers.append({"type": pool, "size": size, "stride": pool_stride})
    data = {"inputs": [[[0.25] * width] * height] * channels, "layers": layers + [{"type": "flatten"}],
            "targets": [0.5], "loss": "half_sse", "learning_rate": 0.1}
    check_image_outcome(dump(data))


@pytest.mark.parametrize("extra", ["optimizer: adam", "weight_decay: 0.1", "schedule: {name: step, step_size: 2, gamma: 0.5}",
                                   "optimizer: {name: momentum, momentum: 0.9}"])
def test_image_problems_take_every_optimizer(extra):
    from tutor.solver import solve

    problem = parse_problem(CONV + f"format: 2\n{extra}\n", source="p.yaml")
    trace = solve(problem)
    for q in trace:  # every quantity, the filters' optimizer quantities included, recomputes from its inputs
        assert q.compute(*(trace[k].value for k in q.depends_on)) == pytest.approx(q.value, rel=1e-12, abs=1e-12)
    rules = [rule.name for rule in problem.optimizer.rules if rule.name != "new"]
    filters = problem.layers[0].weights
    for index in np.ndindex(*filters.shape):
        at = "_".join(str(k + 1) for k in index)
        assert all(f"{rule}_w1_{at}" in trace for rule in rules)
        assert trace[f"new_w1_{at}"].value == trace.step.layers[0].new_params["weights"][index]
    assert not parse_problem(CONV + "format: 2\noptimizer: sgd\n").layers[0].weights is None


def test_optimizer_state_is_only_for_dense_networks():
    with pytest.raises(ProblemError) as info:
        parse_problem(CONV + "format: 2\noptimizer: adam\noptimizer_state: {t: 2}\n", source="p.yaml")
    assert "'optimizer_state' is only available for networks of dense layers" in info.value.message
    assert info.value.line is not None


@pytest.mark.parametrize("problem, optimizer", [("cnn-4x4", None), ("cnn-4x4", "adam"),
                                                ("fish-bn-2-4-4-4-3", None)])
def test_train_agrees_with_solve_steps(invoke, tmp_path, problem, optimizer):
    """Full-batch training is `solve --steps`: the same step function, the same parameters after 3 steps
    (dropout's masks aside: the fish problem's are drawn in training, so only its shapes are compared)."""
    import json

    path = tmp_path / f"{problem}.yaml"
    lines = [line for line in (PROBLEMS / f"{problem}.yaml").read_text().splitlines() if not line.startswith("format:")]
    path.write_text("\n".join(lines) + (f"\noptimizer: {optimizer}\n" if optimizer else "\n"))
    trained = invoke("train", str(path), "--epochs", "3", "--seed", "0", "-f", "json")
    assert trained.exit_code == 0, trained.output
    solved = invoke("solve", str(path), "--steps", "3", "-f", "json")
    final, expected = json.loads(trained.stdout)["final"], json.loads(solved.stdout)["final"]
    if problem.startswith("fish-bn"):  # its dropout masks are drawn in training
        assert [sorted(layer) for layer in final["layers"]] == [sorted(layer) for layer in expected["layers"]]
        return
    assert final == expected
