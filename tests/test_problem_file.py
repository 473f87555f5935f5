"""The problem-file loader: valid files load with the right values, and every mistake is a located
`ProblemError` (``FILE:LINE:COL: FIELD: message``) naming what was expected and what was got."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from tutor.errors import ProblemError
from tutor.problem.loader import load_problem, parse_problem

ROOT = Path(__file__).resolve().parent.parent
MAZUR = ROOT / "problems" / "mazur-2-2-2.yaml"
EX02 = ROOT / "problems" / "ex02-3-3-2-2.yaml"

#: A 2-2-2 network, one sample; each test edits one line of it.
BASE = textwrap.dedent("""\
    inputs: [0.05, 0.10]
    targets: [0.01, 0.99]
    layers:
      - weights:
          - [0.15, 0.20]
          - [0.25, 0.30]
        biases: 0.35
        activation: sigmoid
      - weights:
          - [0.40, 0.45]
          - [0.50, 0.55]
        biases: [0.60, 0.60]
        activation: sigmoid
    loss: half_sse
    learning_rate: 0.5
    """)

#: A 2-1 network (one output neuron), for scalar targets and labels that need two outputs.
ONE_OUTPUT = textwrap.dedent("""\
    inputs: [1.0, 2.0]
    targets: 0.5
    layers:
      - weights: [[0.1, 0.2]]
        biases: 0.0
        activation: sigmoid
    loss: bce
    learning_rate: 0.1
    """)


# -- helpers ----------------------------------------------------------------------------------------


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def at(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the `nth` occurrence of `needle` in `text` (found by plain search)."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def error(text: str) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        parse_problem(text, source="p.yaml")
    return info.value


def check(e: ProblemError, where: tuple[int, int] | None, field: str | None, message: str | None = None,
          *contains: str) -> None:
    """Position, field and message of `e`, and that `str(e)` is ``p.yaml:LINE:COL: FIELD: message``."""
    assert (e.line, e.column) == (where if where else (None, None)), str(e)
    assert e.field == field, str(e)
    if message is not None:
        assert e.message == message, str(e)
    for part in contains:
        assert part in e.message, str(e)
    prefix = f"p.yaml:{where[0]}:{where[1]}" if where else "p.yaml"
    assert str(e) == (f"{prefix}: {field}: {e.message}" if field else f"{prefix}: {e.message}")


def problem(text: str):
    return parse_problem(text, source="p.yaml")


# -- valid files ------------------------------------------------------------------------------------


def test_mazur_file_loads_with_its_values_and_notation():
    p = load_problem(MAZUR)
    assert p.shape == (2, 2, 2) and not p.batch and p.samples == 1
    np.testing.assert_array_equal(p.inputs, [[0.05, 0.10]])
    np.testing.assert_array_equal(p.targets, [[0.01, 0.99]])
    np.testing.assert_array_equal(p.layers[0].weights, [[0.15, 0.20], [0.25, 0.30]])
    np.testing.assert_array_equal(p.layers[1].weights, [[0.40, 0.45], [0.50, 0.55]])
    np.testing.assert_array_equal(p.layers[0].biases, [0.35, 0.35])
    np.testing.assert_array_equal(p.layers[1].biases, [0.60, 0.60])
    assert all(layer.shared_bias for layer in p.layers)
    assert [layer.activation.name for layer in p.layers] == ["sigmoid", "sigmoid"]
    assert p.loss.name == "half_sse" and p.learning_rate == 0.5 and p.update_biases is False
    assert p.name == "Mazur 2-2-2" and p.source.startswith("Matt Mazur") and p.description
    assert p.notation.inputs == ("i1", "i2")
    assert p.notation.neurons == (("h1", "h2"), ("o1", "o2"))
    assert p.notation.weights == ((("w1", "w2"), ("w3", "w4")), (("w5", "w6"), ("w7", "w8")))
    assert p.notation.biases == (("b1",), ("b2",))
    assert p.notation.loss == "E_total" and p.notation.out == "out"
    assert p.path == str(MAZUR) and len(p.content_hash) == 16
    assert p.parameter_count == 10


def test_ex02_file_loads_three_layers_with_default_notation():
    p = load_problem(EX02)
    assert p.shape == (3, 3, 2, 2)
    assert [layer.activation.name for layer in p.layers] == ["relu", "tanh", "sigmoid"]
    assert not any(layer.shared_bias for layer in p.layers)
    np.testing.assert_array_equal(p.layers[0].biases, [0.2, 0.2, 0.1])
    np.testing.assert_array_equal(p.layers[2].weights, [[0.5, 0.1], [0.5, 0.5]])
    assert p.loss.name == "mse" and p.learning_rate == 0.01
    assert p.notation.out == "a" and p.notation.inputs == ("x_1", "x_2", "x_3")
    assert p.notation.biases[0] == ("b_1^1", "b_2^1", "b_3^1")


def test_minimal_file_gets_defaults():
    p = parse_problem(BASE)
    assert p.update_biases is True and p.labels is None and p.path is None
    assert p.name == "problem"
    assert problem(BASE).name == "p" and problem(BASE).path == "p.yaml"
    assert p.layers[0].shared_bias and not p.layers[1].shared_bias
    assert p.notation.biases == (("b^1",), ("b_1^2", "b_2^2"))


def test_batch_inputs_and_targets():
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]",
                "inputs: [[0.05, 0.10], [1, 2], [3, 4]]\ntargets: [[0.01, 0.99], [0.5, 0.5], [1, 0]]")
    p = problem(text)
    assert p.batch and p.samples == 3
    assert p.inputs.shape == (3, 2) and p.targets.shape == (3, 2)
    np.testing.assert_array_equal(p.inputs[2], [3.0, 4.0])
    np.testing.assert_array_equal(p.targets[1], [0.5, 0.5])
    assert p.inputs.dtype == float


def test_batch_of_one_sample_is_a_batch():
    p = problem(edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]", "inputs: [[0.05, 0.10]]\ntargets: [[0.01, 0.99]]"))
    assert p.batch and p.inputs.shape == (1, 2) and p.targets.shape == (1, 2)


def test_scalar_target_for_one_output():
    p = problem(ONE_OUTPUT)
    assert p.shape == (2, 1) and p.targets.shape == (1, 1) and p.targets[0, 0] == 0.5


def test_flat_batch_targets_for_one_output():
    text = edit("inputs: [1.0, 2.0]\ntargets: 0.5", "inputs: [[1, 2], [3, 4], [5, 6]]\ntargets: [0, 1, 0.5]",
                ONE_OUTPUT)
    p = problem(text)
    assert p.targets.shape == (3, 1)
    np.testing.assert_array_equal(p.targets[:, 0], [0, 1, 0.5])


def test_row_batch_targets_for_one_output():
    text = edit("inputs: [1.0, 2.0]\ntargets: 0.5", "inputs: [[1, 2], [3, 4]]\ntargets: [[0], [1]]", ONE_OUTPUT)
    np.testing.assert_array_equal(problem(text).targets, [[0.0], [1.0]])


def test_shared_biases_are_repeated_per_neuron():
    p = problem(edit("biases: [0.60, 0.60]", "biases: -1.5"))
    assert p.layers[1].shared_bias
    np.testing.assert_array_equal(p.layers[1].biases, [-1.5, -1.5])
    assert p.parameter_count == 4 + 1 + 4 + 1


@pytest.mark.parametrize("written, value", [("1e-3", 1e-3), ("1E5", 1e5), ("-2.5e+2", -250.0), ("2.5E-1", 0.25),
                                            ("+1e2", 100.0), ("3", 3.0), ("1_000", 1000.0)])
def test_number_forms_are_read_as_floats(written, value):
    p = problem(edit("learning_rate: 0.5", "learning_rate: " + written.lstrip("-")))
    assert p.learning_rate == abs(value) and isinstance(p.learning_rate, float)
    p = problem(edit("[0.15, 0.20]", f"[{written}, 0.20]"))
    assert p.layers[0].weights[0, 0] == value and p.layers[0].weights.dtype == float


def test_zero_learning_rate_is_allowed():
    assert problem(edit("learning_rate: 0.5", "learning_rate: 0")).learning_rate == 0.0


def test_activation_mapping_form_with_parameters():
    p = problem(edit("activation: sigmoid\n  - weights", "activation: {name: leaky_relu, slope: 0.2}\n  - weights"))
    act = p.layers[0].activation
    assert act.name == "leaky_relu" and act.params == {"slope": 0.2}
    assert act.forward(np.array([-1.0]))[0] == pytest.approx(-0.2)
    p = problem(edit("activation: sigmoid\n  - weights", "activation: {name: elu, alpha: 0.5}\n  - weights"))
    assert p.layers[0].activation.params == {"alpha": 0.5}
    p = problem(edit("activation: sigmoid\n  - weights", "activation: {name: leaky_relu}\n  - weights"))
    assert p.layers[0].activation.params == {"slope": 0.01}
    p = problem(edit("activation: sigmoid\n  - weights", "activation: {name: leaky_relu, slope: 0}\n  - weights"))
    assert p.layers[0].activation.params == {"slope": 0.0}


def test_labels_become_one_hot_targets():
    text = edit("targets: [0.01, 0.99]", "labels: 1")
    p = problem(text)
    assert p.labels == (1,)
    np.testing.assert_array_equal(p.targets, [[0.0, 1.0]])
    p = problem(edit("targets: [0.01, 0.99]", "labels: [0]"))
    assert p.labels == (0,)
    np.testing.assert_array_equal(p.targets, [[1.0, 0.0]])
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]", "inputs: [[0, 1], [1, 0], [1, 1]]\nlabels: [1, 0, 1]")
    p = problem(text)
    assert p.labels == (1, 0, 1)
    np.testing.assert_array_equal(p.targets, [[0, 1], [1, 0], [0, 1]])


def test_labels_with_softmax_and_cross_entropy():
    text = edit("targets: [0.01, 0.99]", "labels: 0")
    text = edit("    activation: sigmoid\nloss: half_sse", "    activation: softmax\nloss: cross_entropy", text)
    p = problem(text)
    assert p.layers[-1].activation.name == "softmax" and p.loss.name == "cross_entropy"


def test_valid_notation_forms():
    text = BASE + textwrap.dedent("""\
        notation:
          inputs: [i1, i2]
          neurons: [[h1, h2], [o1, o2]]
          weights: [[w1, w2, w3, w4], [[w5, w6], [w7, w8]]]
          biases: [b1, [b2, b3]]
          out: a
          loss: E
        """)
    n = problem(text).notation
    assert n.weights == ((("w1", "w2"), ("w3", "w4")), (("w5", "w6"), ("w7", "w8")))
    assert n.biases == (("b1",), ("b2", "b3")) and n.out == "a" and n.loss == "E"


def test_optional_text_fields():
    text = "format: 1\nname: 2-2-2 demo\nsource: 2015-03-17\ndescription: 42\n" + BASE
    p = problem(text)
    assert p.name == "2-2-2 demo" and p.source == "2015-03-17" and p.description == "42"
    assert problem("name:\n" + BASE).name == "p"


def test_merge_keys_share_settings_between_layers():
    text = edit("  - weights:\n      - [0.15", "  - &first\n    weights:\n      - [0.15")
    text = edit("  - weights:\n      - [0.40, 0.45]\n      - [0.50, 0.55]\n    biases: [0.60, 0.60]\n",
                "  - <<: *first\n    biases: [0.60, 0.60]\n", text)
    p = problem(text)
    np.testing.assert_array_equal(p.layers[1].weights, p.layers[0].weights)
    assert not p.layers[1].shared_bias and p.layers[1].activation.name == "sigmoid"


def test_load_problem_names_the_problem_after_the_file(tmp_path):
    path = tmp_path / "my-net.yaml"
    path.write_text(BASE, encoding="utf-8")
    p = load_problem(path)
    assert p.name == "my-net" and p.path == str(path)
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())  # a byte-order mark is fine
    assert load_problem(path).shape == (2, 2, 2)


# -- not a problem file at all ----------------------------------------------------------------------


def test_not_yaml():
    text = "inputs: [0.05, 0.10\ntargets: [0.01, 0.99]\n"
    e = error(text)
    assert e.message.startswith("not valid YAML: ")
    assert e.line is not None and e.column is not None and e.field is None
    e = error("loss: half_sse: mse\n")
    assert e.message.startswith("not valid YAML: ") and (e.line, e.column, e.field) == (1, 15, None)
    e = error("a: 'unclosed\n")
    assert e.message.startswith("not valid YAML: ") and e.line is not None


def test_not_a_mapping_list():
    check(error("- 1\n- 2\n"), (1, 1), None, "expected a problem (a mapping of keys to values), got a list of 2")


def test_not_a_mapping_scalar():
    check(error("hello\n"), (1, 1), None, "expected a problem (a mapping of keys to values), got the text 'hello'")
    check(error("42\n"), (1, 1), None, "expected a problem (a mapping of keys to values), got 42 (int)")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text):
    e = error(text)
    check(e, None, None, None, "the file is empty", "inputs, layers, targets, loss and learning_rate")


def test_empty_document_after_a_document_marker():
    check(error("---\n"), (2, 1), None, None, "the file is empty")


# -- keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["inputs: [0.05, 0.10]\n", "loss: half_sse\n", "learning_rate: 0.5\n"])
def test_missing_top_level_key(line):
    key = line.split(":")[0]
    check(error(edit(line, "")), (1, 1), None, f"missing key '{key}'")


def test_missing_layers():
    text = edit(BASE[BASE.index("layers:"):BASE.index("loss:")], "")
    check(error(text), (1, 1), None, "missing key 'layers'")


def test_missing_targets_mentions_labels():
    check(error(edit("targets: [0.01, 0.99]\n", "")), (1, 1), None,
          "missing key 'targets' (or 'labels' with class indices for a classifier)")


def test_missing_layer_key():
    text = edit("    biases: 0.35\n", "")
    check(error(text), at(text, "weights"), "layers[0]", "missing key 'biases'")


def test_unknown_top_level_key_suggests():
    text = edit("learning_rate: 0.5", "learning_rte: 0.5")
    check(error(text), at(text, "learning_rte"), "learning_rte", None,
          "unknown key; did you mean 'learning_rate'?", "(allowed: format, name,")


def test_unknown_layer_key_suggests():
    text = edit("  - weights:\n      - [0.40", "  - weigths:\n      - [0.40")
    check(error(text), at(text, "weigths"), "layers[1].weigths", None, "unknown key; did you mean 'weights'?",
          "(allowed: weights, biases, activation, type)")


def test_unknown_notation_key_suggests():
    text = BASE + "notation:\n  neurns: [[h1, h2], [o1, o2]]\n"
    check(error(text), at(text, "neurns"), "notation.neurns", None, "unknown key; did you mean 'neurons'?")


def test_unknown_key_without_a_close_match():
    text = BASE + "colour: blue\n"
    check(error(text), at(text, "colour"), "colour", None, "unknown key (allowed: ")


def test_key_that_is_not_text():
    text = edit("    biases: 0.35", "    biases: 0.35\n    1: 2")
    check(error(text), at(text, "1: 2"), "layers[0]", "keys must be text, got 1 (int)")


def test_duplicate_top_level_key():
    text = BASE + "loss: mse\n"
    check(error(text), at(text, "loss", 1), "loss", "duplicate key 'loss' (each key may appear once)")


def test_duplicate_layer_key():
    text = edit("    biases: [0.60, 0.60]", "    biases: [0.60, 0.60]\n    biases: 0.1")
    check(error(text), at(text, "biases", 2), "layers[1].biases", "duplicate key 'biases' (each key may appear once)")


def test_duplicate_key_in_flow_mapping():
    text = edit("activation: sigmoid\n  - weights", "activation: {name: elu, name: relu}\n  - weights")
    check(error(text), at(text, "name", 1), "layers[0].activation.name", None, "duplicate key 'name'")


# -- shapes -----------------------------------------------------------------------------------------


def test_weights_of_the_wrong_shape_exact_message():
    text = edit("      - [0.15, 0.20]\n      - [0.25, 0.30]\n",
                "      - [0.15, 0.20]\n      - [0.25, 0.30]\n      - [0.35, 0.40]\n")
    e = error(text)
    check(e, at(text, "- [0.40"), "layers[1].weights",
          "expected 2 rows (one per neuron) of 3 numbers (one per input of the layer), got 2 rows of 2")
    assert str(e).endswith("layers[1].weights: expected 2 rows (one per neuron) of 3 numbers (one per input of the "
                           "layer), got 2 rows of 2")


def test_weights_of_the_wrong_width_for_the_inputs():
    text = edit("inputs: [0.05, 0.10]", "inputs: [0.05, 0.10, 0.2]")
    check(error(text), at(text, "- [0.15"), "layers[0].weights",
          "expected 2 rows (one per neuron) of 3 numbers (one per input of the layer), got 2 rows of 2")


def test_ragged_weight_rows():
    text = edit("- [0.25, 0.30]", "- [0.25]")
    check(error(text), at(text, "[0.25]"), "layers[0].weights[1]",
          "expected 2 numbers (one per input of the layer), got 1 (rows differ in length)")


def test_ragged_input_rows():
    text = edit("inputs: [0.05, 0.10]", "inputs: [[0.05, 0.10], [1, 2, 3]]")
    check(error(text), at(text, "[1, 2, 3]"), "inputs[1]",
          "expected 2 numbers (one per input), got 3 (rows differ in length)")


def test_flat_weights_for_one_neuron_hint_to_wrap():
    text = edit("      - [0.40, 0.45]\n      - [0.50, 0.55]\n    biases: [0.60, 0.60]",
                "      [0.40, 0.45]\n    biases: 0.6")
    text = edit("targets: [0.01, 0.99]", "targets: [0.5]", text)
    check(error(text), at(text, "[0.40"), "layers[1].weights",
          "expected a list of rows (one per neuron), got a flat list of 2 numbers; for one neuron wrap it in "
          "another pair of brackets: [[0.4, 0.45]]")


def test_flat_weights_of_the_wrong_length():
    text = edit("      - [0.15, 0.20]\n      - [0.25, 0.30]\n", "      [0.15, 0.20, 0.25]\n")
    check(error(text), at(text, "0.15"), "layers[0].weights[0]",
          "expected a row of 2 numbers (one per input of the layer), got 0.15 (float)")


def test_wrong_number_of_biases():
    text = edit("biases: [0.60, 0.60]", "biases: [0.60, 0.60, 0.60]")
    check(error(text), at(text, "[0.60, 0.60, 0.60]"), "layers[1].biases",
          "expected 2 numbers (one per neuron) or a single shared number, got 3")


def test_empty_inputs():
    text = edit("inputs: [0.05, 0.10]", "inputs: []")
    check(error(text), at(text, "[]"), "inputs", "expected a list of input values, got an empty list")
    text = edit("inputs: [0.05, 0.10]", "inputs: [[]]")
    check(error(text), at(text, "[]"), "inputs[0]", "expected at least one number per sample, got an empty list")


def test_inputs_mixing_numbers_and_lists():
    text = edit("inputs: [0.05, 0.10]", "inputs: [0.05, [0.10]]")
    check(error(text), at(text, "[0.05"), "inputs", None, "mixes numbers and lists")


def test_empty_layers_list():
    text = edit(BASE[BASE.index("layers:"):BASE.index("loss:")], "layers: []\n")
    check(error(text), at(text, "[]"), "layers",
          "expected a list of layers (each with weights, biases and activation), got an empty list")


def test_layer_that_is_not_a_mapping():
    text = edit(BASE[BASE.index("  - weights:\n      - [0.40"):BASE.index("loss:")], "  - 3\n")
    check(error(text), at(text, "3\n"), "layers[1]", "expected a layer (a mapping of keys to values), got 3 (int)")


def test_empty_weights():
    text = edit("      - [0.15, 0.20]\n      - [0.25, 0.30]\n", "      []\n")
    check(error(text), at(text, "[]"), "layers[0].weights",
          "expected a list of rows (one per neuron), each a list of 2 numbers, got an empty list")
    text = edit("      - [0.15, 0.20]\n      - [0.25, 0.30]\n", "      [[]]\n")
    check(error(text), at(text, "[[]]"), "layers[0].weights",
          "expected 1 row (one per neuron) of 2 numbers (one per input of the layer), got 1 row of 0")


# -- values -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("written, got", [
    ("abc", "the text 'abc'"),
    ("'0.2'", "the text '0.2'"),
    ("true", "true (a boolean)"),
    ("yes", "true (a boolean)"),
    ("no", "false (a boolean)"),
    ("null", "nothing (null)"),
    ("~", "nothing (null)"),
    ("[0.2]", "a list"),
    ("{a: 1}", "a mapping"),
])
def test_weight_that_is_not_a_number(written, got):
    text = edit("[0.15, 0.20]", f"[0.15, {written}]")
    check(error(text), at(text, written), "layers[0].weights[0][1]", f"expected a number, got {got}")


@pytest.mark.parametrize("written, got", [(".nan", "nan"), (".NaN", "nan"), (".inf", "inf"), ("-.inf", "-inf"),
                                          ("+.inf", "inf")])
def test_input_that_is_not_finite(written, got):
    text = edit("inputs: [0.05, 0.10]", f"inputs: [0.05, {written}]")
    check(error(text), at(text, written), "inputs[1]", f"expected a number, got {got} (numbers must be finite)")


@pytest.mark.parametrize("written, got", [
    (".nan", "nan (numbers must be finite)"), ("-.inf", "-inf (numbers must be finite)"), ("fast", "the text 'fast'"),
    ("true", "true (a boolean)"), ("''", "empty text"), ("[0.5]", "a list of 1"),
])
def test_learning_rate_that_is_not_a_number(written, got):
    text = edit("learning_rate: 0.5", f"learning_rate: {written}")
    check(error(text), at(text, written), "learning_rate", f"expected a number, got {got}")


def test_number_too_large_for_a_float():
    huge = "9" * 400
    text = edit("learning_rate: 0.5", f"learning_rate: {huge}")
    check(error(text), at(text, huge), "learning_rate", None, "expected a number, got 999", "too large")
    text = edit("[0.15, 0.20]", f"[0.15, {huge}]")
    check(error(text), at(text, huge), "layers[0].weights[0][1]", None, "expected a number, got 999", "too large")


def test_shared_bias_that_is_not_a_number():
    text = edit("biases: 0.35", "biases: yes")
    check(error(text), at(text, "yes"), "layers[0].biases",
          "expected a number or a list of numbers, got true (a boolean)")
    text = edit("biases: [0.60, 0.60]", "biases: [0.60, .nan]")
    check(error(text), at(text, ".nan"), "layers[1].biases[1]", "expected a number, got nan (numbers must be finite)")


def test_unknown_activation_suggests():
    text = edit("activation: sigmoid\n  - weights", "activation: sigmod\n  - weights")
    check(error(text), at(text, "sigmod"), "layers[0].activation", None,
          "unknown activation 'sigmod'; did you mean 'sigmoid'?", "(choose from sigmoid, tanh, relu,")
    text = edit("activation: sigmoid\n  - weights", "activation: {name: rellu}\n  - weights")
    check(error(text), at(text, "rellu"), "layers[0].activation.name", None, "did you mean 'relu'?")


def test_activation_parameter_it_does_not_take():
    text = edit("activation: sigmoid\n  - weights", "activation: {name: leaky_relu, alpha: 0.2}\n  - weights")
    check(error(text), at(text, "alpha"), "layers[0].activation.alpha",
          "leaky_relu does not take 'alpha' (it takes slope)")
    text = edit("activation: sigmoid\n  - weights", "activation: {name: tanh, slope: 0.2}\n  - weights")
    check(error(text), at(text, "slope"), "layers[0].activation.slope",
          "tanh does not take 'slope' (it takes no parameters)")


def test_activation_unknown_parameter_key_suggests():
    text = edit("activation: sigmoid\n  - weights", "activation: {name: leaky_relu, slop: 0.2}\n  - weights")
    check(error(text), at(text, "slop"), "layers[0].activation.slop", None, "unknown key; did you mean 'slope'?")


def test_activation_mapping_without_a_name():
    text = edit("activation: sigmoid\n  - weights", "activation: {slope: 0.2}\n  - weights")
    check(error(text), at(text, "{slope"), "layers[0].activation", "missing key 'name'")


def test_negative_leaky_relu_slope():
    text = edit("activation: sigmoid\n  - weights", "activation: {name: leaky_relu, slope: -0.2}\n  - weights")
    check(error(text), at(text, "-0.2"), "layers[0].activation.slope", "must not be negative, got -0.2")


@pytest.mark.parametrize("alpha", ["0", "-1"])
def test_elu_alpha_must_be_positive(alpha):
    text = edit("activation: sigmoid\n  - weights", f"activation: {{name: elu, alpha: {alpha}}}\n  - weights")
    line, column = at(text, f"alpha: {alpha}")
    check(error(text), (line, column + len("alpha: ")), "layers[0].activation.alpha", f"must be positive, got {alpha}")


def test_activation_parameter_that_is_not_a_number():
    text = edit("activation: sigmoid\n  - weights", "activation: {name: elu, alpha: big}\n  - weights")
    check(error(text), at(text, "big"), "layers[0].activation.alpha", "expected a number, got the text 'big'")


@pytest.mark.parametrize("written, hint", [
    ("mse2", "mse"), ("crossentropy", "cross_entropy"), ("half-sse", "half_sse"),
])
def test_unknown_loss_suggests(written, hint):
    text = edit("loss: half_sse", f"loss: {written}")
    check(error(text), at(text, written), "loss", None, f"unknown loss '{written}'; did you mean '{hint}'?",
          "(choose from half_sse, sse, mse, bce, cross_entropy, huber)")


def test_unknown_loss_that_is_not_text():
    text = edit("loss: half_sse", "loss: 3")
    check(error(text), at(text, "3\n"), "loss", None, "unknown loss 3 (int) (choose from")


def test_softmax_in_a_hidden_layer():
    text = edit("activation: sigmoid\n  - weights", "activation: softmax\n  - weights")
    check(error(text), at(text, "softmax"), "layers[0].activation", "softmax is only allowed in the output layer")


# -- targets and labels -----------------------------------------------------------------------------


def test_targets_of_the_wrong_length():
    text = edit("targets: [0.01, 0.99]", "targets: [0.01]")
    check(error(text), at(text, "[0.01]"), "targets", "expected 2 numbers (one per output), got 1")


def test_single_number_target_for_two_outputs():
    text = edit("targets: [0.01, 0.99]", "targets: 0.5")
    check(error(text), at(text, "0.5"), "targets", "expected a list of 2 numbers (one per output), got 0.5 (float)")


def test_list_of_lists_targets_for_a_single_sample():
    text = edit("targets: [0.01, 0.99]", "targets: [[0.01, 0.99]]")
    check(error(text), at(text, "[[0.01"), "targets", None, "expected one list of numbers (one per output), got a "
                                                           "list of lists")


def test_batch_targets_with_the_wrong_number_of_rows():
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]",
                "inputs: [[0.05, 0.10], [1, 2], [3, 4]]\ntargets: [[0.01, 0.99], [0.5, 0.5]]")
    check(error(text), at(text, "[[0.01"), "targets",
          "expected 3 rows (one per sample, as in inputs) of 2 numbers (one per output), got a list of 2")


def test_batch_targets_with_rows_of_the_wrong_width():
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]",
                "inputs: [[0.05, 0.10], [1, 2]]\ntargets: [[0.01], [0.5]]")
    check(error(text), at(text, "[[0.01"), "targets",
          "expected 2 rows (one per sample) of 2 numbers (one per output), got 2 rows of 1")


def test_flat_batch_targets_of_the_wrong_length_for_one_output():
    text = edit("inputs: [1.0, 2.0]\ntargets: 0.5", "inputs: [[1, 2], [3, 4], [5, 6]]\ntargets: [0, 1]", ONE_OUTPUT)
    check(error(text), at(text, "[0, 1]"), "targets", "expected 3 numbers (one per sample), got 2")


@pytest.mark.parametrize("loss", ["bce", "cross_entropy"])
def test_targets_outside_zero_to_one(loss):
    text = edit("loss: half_sse", f"loss: {loss}")
    text = edit("targets: [0.01, 0.99]", "targets: [0.01, 1.5]", text)
    check(error(text), at(text, "1.5"), "targets[1]", f"{loss} needs targets from 0 to 1, got 1.5")
    text = edit("targets: [0.01, 1.5]", "targets: [-0.01, 0.5]", text)
    check(error(text), at(text, "-0.01"), "targets[0]", f"{loss} needs targets from 0 to 1, got -0.01")


def test_targets_outside_zero_to_one_in_a_batch():
    text = edit("loss: half_sse", "loss: bce")
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]",
                "inputs: [[0.05, 0.10], [1, 2]]\ntargets: [[0.01, 0.99], [0.5, 2]]", text)
    check(error(text), at(text, "2]]", 1), "targets[1][1]", "bce needs targets from 0 to 1, got 2")


def test_targets_outside_zero_to_one_flat_batch_one_output():
    text = edit("inputs: [1.0, 2.0]\ntargets: 0.5", "inputs: [[1, 2], [3, 4], [5, 6]]\ntargets: [0, 1, 3]", ONE_OUTPUT)
    check(error(text), at(text, "3]\n"), "targets[2]", "bce needs targets from 0 to 1, got 3")


def test_scalar_target_outside_zero_to_one():
    text = edit("targets: 0.5", "targets: 1.5", ONE_OUTPUT)
    check(error(text), at(text, "1.5"), "targets", "bce needs targets from 0 to 1, got 1.5")


def test_cross_entropy_softmax_targets_must_sum_to_one():
    softmax = edit("    activation: sigmoid\nloss: half_sse", "    activation: softmax\nloss: cross_entropy")
    assert problem(edit("targets: [0.01, 0.99]", "targets: [0.25, 0.75]", softmax)).targets.sum() == 1.0
    text = edit("targets: [0.01, 0.99]", "targets: [0.3, 0.3]", softmax)
    check(error(text), at(text, "[0.3"), "targets",
          "with a softmax output, cross_entropy targets must add up to 1 (a probability distribution), got 0.6")
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]",
                "inputs: [[0.05, 0.10], [1, 2]]\ntargets: [[0, 1], [0.5, 0.6]]", softmax)
    check(error(text), at(text, "[0.5, 0.6]"), "targets[1]", None, "must add up to 1", "got 1.1")


def test_single_softmax_output_with_a_scalar_target():
    text = edit("activation: sigmoid", "activation: softmax", edit("loss: bce", "loss: cross_entropy", ONE_OUTPUT))
    check(error(text), at(text, "0.5"), "targets", None, "must add up to 1", "got 0.5")


def test_labels_out_of_range():
    text = edit("targets: [0.01, 0.99]", "labels: 2")
    check(error(text), at(text, "2\n"), "labels",
          "class index 2 is out of range: the output layer has 2 neurons, numbered 0 to 1")
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]", "inputs: [[0, 1], [1, 0]]\nlabels: [1, -1]")
    check(error(text), at(text, "-1"), "labels[1]", None, "class index -1 is out of range")


@pytest.mark.parametrize("written, got", [("0.5", "0.5 (float)"), ("1.0", "1.0 (float)"), ("true", "true (a boolean)"),
                                          ("one", "the text 'one'")])
def test_labels_that_are_not_whole_numbers(written, got):
    text = edit("targets: [0.01, 0.99]", f"labels: {written}")
    check(error(text), at(text, written), "labels", f"expected a class index (a whole number from 0 to 1), got {got}")


def test_labels_count_must_match_samples():
    text = edit("inputs: [0.05, 0.10]\ntargets: [0.01, 0.99]", "inputs: [[0, 1], [1, 0]]\nlabels: [1]")
    check(error(text), at(text, "[1]"), "labels", "expected 2 class indices (one per sample), got 1")
    text = edit("targets: [0.01, 0.99]", "labels: [0, 1]")
    check(error(text), at(text, "[0, 1]"), "labels", "expected one class index (inputs is a single sample), got 2")


def test_both_targets_and_labels():
    text = edit("targets: [0.01, 0.99]", "targets: [0.01, 0.99]\nlabels: 1")
    check(error(text), at(text, "1\n"), "labels", "give either targets or labels (class indices), not both")


def test_labels_need_two_outputs():
    text = edit("targets: 0.5", "labels: 0", ONE_OUTPUT)
    check(error(text), at(text, "0\n"), "labels",
          "labels (class indices) need an output layer of at least 2 neurons, got 1")


# -- other top-level values -------------------------------------------------------------------------


def test_negative_learning_rate():
    text = edit("learning_rate: 0.5", "learning_rate: -0.5")
    check(error(text), at(text, "-0.5"), "learning_rate", None, "must not be negative, got -0.5")


@pytest.mark.parametrize("written, got", [("maybe", "the text 'maybe'"), ("1", "1 (int)"), ("null", "nothing (null)")])
def test_update_biases_must_be_true_or_false(written, got):
    text = BASE + f"update_biases: {written}\n"
    check(error(text), (BASE.count("\n") + 1, 16), "update_biases", f"expected true or false, got {got}")


@pytest.mark.parametrize("written", ["3", "0", "'1'", "true", "2.0"])
def test_unsupported_format(written):
    text = f"format: {written}\n" + BASE
    e = error(text)
    check(e, (1, 9), "format", None, "unsupported format version", "this version reads formats 1 and 2")
    assert error("format: 3\n" + BASE).message == "unsupported format version 3; this version reads formats 1 and 2"


def test_formats_one_and_two_are_accepted():
    assert problem("format: 1\n" + BASE).shape == (2, 2, 2)
    assert problem("format: 2\n" + BASE).optimizer.name == "sgd"


def test_name_must_be_text():
    text = "name: ''\n" + BASE
    check(error(text), (1, 7), "name", "expected text, got empty text")
    text = "name: [a, b]\n" + BASE
    check(error(text), (1, 7), "name", "expected text, got a list of 2")


# -- notation ---------------------------------------------------------------------------------------


def with_notation(body: str) -> str:
    return BASE + "notation:\n" + textwrap.indent(textwrap.dedent(body), "  ")


def test_notation_wrong_counts():
    text = with_notation("inputs: [i1]\n")
    check(error(text), at(text, "[i1]"), "notation.inputs", "expected 2 names (one per input), got 1")
    text = with_notation("neurons: [[h1, h2]]\n")
    check(error(text), at(text, "[[h1"), "notation.neurons", "expected 2 entries (one per layer), got 1")
    text = with_notation("neurons: [[h1, h2], [o1]]\n")
    check(error(text), at(text, "[o1]"), "notation.neurons[1]", "expected 2 names (one per neuron), got 1")
    text = with_notation("weights: [[w1, w2, w3], [w5, w6, w7, w8]]\n")
    check(error(text), at(text, "[w1"), "notation.weights[0]",
          "expected 4 names (2 x 2, row by row: the weights into neuron 1 first), got 3")
    text = with_notation("weights: [[w1, w2, w3, w4], [[w5, w6]]]\n")
    check(error(text), at(text, "[[w5"), "notation.weights[1]",
          "expected 2 rows of weight names (one per neuron), got 1")
    text = with_notation("biases: [b1, [b2]]\n")
    check(error(text), at(text, "[b2]"), "notation.biases[1]", "expected 2 names (one per neuron), got 1")


def test_notation_duplicate_names():
    text = with_notation("weights: [[w1, w2, w3, w4], [w5, w6, w7, w1]]\n")
    check(error(text), at(text, "w1", 1), "notation.weights[1][3]",
          "the name 'w1' is used twice (also for notation.weights[0][0]); every name must be different")
    text = with_notation("neurons: [[h1, h2], [h1, o2]]\n")
    check(error(text), at(text, "h1", 1), "notation.neurons[1][0]", None, "the name 'h1' is used twice")


def test_notation_name_clashing_with_a_default_name():
    text = with_notation("neurons: [[x_1, h2], [o1, o2]]\n")  # x_1 is the default name of the first input
    check(error(text), at(text, "x_1"), "notation.neurons[0][0]",
          "the name 'x_1' is used twice (also the default name for notation.inputs[0]); every name must be different")


def test_notation_list_for_a_shared_bias():
    text = with_notation("biases: [[b1, b1b], [b2, b3]]\n")
    check(error(text), at(text, "[b1"), "notation.biases[0]",
          "this layer has one shared bias (a single number), so give it a single name")


def test_notation_not_a_mapping():
    text = BASE + "notation: [a, b]\n"
    check(error(text), at(text, "[a, b]"), "notation",
          "expected notation (a mapping of keys to values), got a list of 2")


# -- reading the file -------------------------------------------------------------------------------


def file_error(path, **kwargs) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        load_problem(path, **kwargs)
    return info.value


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    e = file_error(path)
    assert str(e) == f"{path}: no such problem file"
    assert (e.line, e.column, e.field) == (None, None, None)


def test_directory(tmp_path):
    assert str(file_error(tmp_path)) == f"{tmp_path}: is a directory, not a problem file"


def test_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(BASE, encoding="utf-8")
    size = len(BASE.encode())
    assert str(file_error(path, max_bytes=100)) == f"{path}: problem file is {size:,} bytes; the limit is 100"
    assert load_problem(path, max_bytes=size).shape == (2, 2, 2)


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n" + BASE.encode())
    e = file_error(path)
    assert e.message == "not UTF-8 text (byte 10, 0xe9, cannot be decoded)"
    assert (e.line, e.column) == (1, 10)
    assert str(e).startswith(f"{path}:1:10: not UTF-8 text")


def test_non_utf8_bytes_on_a_later_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.encode() + "name: héé\xff\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    e = file_error(path)
    assert (e.line, e.column) == (BASE.count("\n") + 1, 10) and "cannot be decoded" in e.message


def test_nul_bytes(tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"inputs: [1, 2]\x00\n")
    e = file_error(path)
    assert e.message == "not a YAML text file (it contains NUL characters)"
    assert (e.line, e.column) == (1, 15)
    check(error(BASE + "\x00"), (BASE.count("\n") + 1, 1), None, "not a YAML text file (it contains NUL characters)")


def test_multi_document_file():
    text = BASE + "---\ninputs: [1, 2]\n"
    check(error(text), at(text, "---"), None,
          "not valid YAML: expected a single YAML document, found more than one (remove the '---' line)")


def test_python_tags_are_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    text = edit("loss: half_sse", f"loss: !!python/object/apply:os.system ['touch {marker}']")
    check(error(text), at(text, "!!python"), "loss",
          "not valid YAML: the tag !!python/object/apply:os.system is not allowed (only plain numbers, text, lists "
          "and mappings)")
    assert not marker.exists()
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    file_error(path)
    assert not marker.exists()


def test_yaml_bombs_are_refused_quickly():
    import time

    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\ninputs: *j\n"
    start = time.perf_counter()
    e = error(text)
    assert time.perf_counter() - start < 2.0
    assert e.message == "not accepted: aliases expand this document to more than 5,000,000 values"


def test_recursive_alias():
    e = error("inputs: &a [1, *a]\n")
    assert e.message == "not accepted: an alias refers to the structure that contains it"


def test_deeply_nested_text_does_not_crash():
    e = error("[" * 100_000)
    check(e, (1, 1001), None, "not accepted: nested more than 1000 levels deep")


def test_notation_name_clashing_with_a_default_weight_name():
    text = with_notation("inputs: [w_12^1, i2]\n")
    check(error(text), at(text, "w_12^1"), "notation.inputs[0]",
          "the name 'w_12^1' is used twice (also the default name for notation.weights[0][0][1]); every name must be "
          "different")


def test_flat_batch_targets_with_a_value_that_is_not_a_number():
    text = edit("inputs: [1.0, 2.0]\ntargets: 0.5", "inputs: [[1, 2], [3, 4], [5, 6]]\ntargets: [0.5, true, 1]",
                ONE_OUTPUT)
    check(error(text), at(text, "true"), "targets[1]", "expected a number, got true (a boolean)")


def test_valid_files_are_read_without_looking_up_positions(monkeypatch):
    """Positions are found by re-parsing only when there is an error to report, never on the fast path."""
    import tutor.problem.loader as module

    def forbidden(*args, **kwargs):
        raise AssertionError("a valid file must not be re-parsed to locate fields")

    monkeypatch.setattr(module, "locate", forbidden)
    monkeypatch.setattr(module, "locate_key", forbidden)
    assert load_problem(MAZUR).shape == (2, 2, 2)
    assert load_problem(EX02).shape == (3, 3, 2, 2)
    rows = "\n".join(f"      - [{', '.join(['0.01'] * 50)}]" for _ in range(20))
    text = (f"inputs: [{', '.join(['0.5'] * 50)}]\ntargets: [{', '.join(['0.1'] * 20)}]\nlayers:\n"
            f"  - weights:\n{rows}\n    biases: 0\n    activation: tanh\nloss: mse\nlearning_rate: 0.1\n")
    assert problem(text).shape == (50, 20)
