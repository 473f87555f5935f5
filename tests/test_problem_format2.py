"""Problem file format 2: optimizer, weight_decay, l1, schedule and a starting optimizer state."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.test_loader_fuzz import FUZZ, check_outcome, dump, places, replaced, structures
from tests.test_problem_file import BASE, at, check, error, problem


def test_format_one_file_is_plain_gradient_descent():
    p = problem(BASE)
    assert p.optimizer.name == "sgd" and not p.optimizer.regularised
    assert p.schedule.name == "constant" and p.first_step == 1 and p.optimizer_state is None
    assert p.plain_descent and p.step_rate == 0.5


def test_optimizer_with_options_and_penalties():
    p = problem(BASE + "optimizer: {name: adam, beta1: 0.8, eps: 0.001}\nweight_decay: 0.01\nl1: 0.002\n")
    assert p.optimizer.name == "adam"
    assert p.optimizer.values == {"beta1": 0.8, "beta2": 0.999, "eps": 0.001, "weight_decay": 0.01, "l1": 0.002}
    assert not p.plain_descent


def test_optimizer_by_name_and_format_two():
    p = problem("format: 2\n" + BASE + "optimizer: nadam\n")
    assert p.optimizer.values["momentum_decay"] == 0.004


def test_schedule_sets_the_rate_of_the_step():
    text = BASE + ("optimizer: momentum\nschedule: {name: inverse_time, decay: 0.5}\n"
                   "optimizer_state:\n  t: 3\n  layers:\n"
                   "    - weights: {v: [[0.1, 0.2], [0.3, 0.4]]}\n      biases: {v: 0.5}\n"
                   "    - weights: {v: [[0, 0], [0, 0]]}\n      biases: {v: [1, -2]}\n")
    p = problem(text)
    assert p.first_step == 3
    assert p.step_rate == pytest.approx(0.5 / (1 + 0.5 * 2))  # epoch t - 1 = 2
    np.testing.assert_array_equal(p.optimizer_state[0]["weights"]["v"], [[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(p.optimizer_state[0]["biases"]["v"], [0.5])  # one shared bias
    np.testing.assert_array_equal(p.optimizer_state[1]["biases"]["v"], [1, -2])


@pytest.mark.parametrize("tail,needle,field,words", [
    ("optimizer: adma\n", "adma", "optimizer", "unknown optimizer 'adma'; did you mean 'adam'?"),
    ("optimizer:\n  name: adma\n", "adma", "optimizer.name", "did you mean 'adam'?"),
    ("optimizer: {name: adam, beta_1: 0.9}\n", "beta_1", "optimizer.beta_1",
     "adam does not take 'beta_1'; did you mean 'beta1'?"),
    ("optimizer:\n  name: adam\n  beta2: 1.5\n", "1.5", "optimizer.beta2", "must be less than 1, got 1.5"),
    ("optimizer: {name: momentum, form: nycu}\n", "nycu", "optimizer.form",
     "expected one of pytorch, ema, classical, got 'nycu'"),
    ("optimizer: [adam]\n", "[adam]", "optimizer", "expected an optimizer's name"),
    ("weight_decay: -0.1\n", "-0.1", "weight_decay", "must be at least 0, got -0.1"),
    ("optimizer: {name: sgd, l1: 0.1}\nl1: 0.2\n", "l1: 0.2", "l1", "given twice"),
    ("schedule: {name: inverse_time}\n", "{name", "schedule", "inverse_time needs 'decay'"),
    ("schedule: {name: step, step_size: 2.5}\n", "2.5", "schedule.step_size", "whole number"),
    ("schedule: exponental\n", "exponental", "schedule", "did you mean 'exponential'?"),
    ("optimizer: adam\noptimizer_state: {t: 3}\n", "{t", "optimizer_state", "missing key 'layers'"),
    ("optimizer: adam\noptimizer_state: {t: 0}\n", "0}", "optimizer_state.t", "a whole number from 1"),
    ("optimizer: sgd\noptimizer_state: {t: 2, layers: []}\n", "[]", "optimizer_state.layers",
     "sgd keeps no state"),
    ("optimizer: sgd\noptimizer_state: {t: 3, epoch: 3}\n", "3}", "optimizer_state.epoch",
     "a whole number from 0 to t - 1 = 2), got 3"),
    ("optimizer: sgd\noptimizer_state: {t: 3, epoch: 1.5}\n", "1.5", "optimizer_state.epoch", "whole number"),
])
def test_bad_format_two_values_are_located(tail, needle, field, words):
    text = BASE + tail
    e = error(text)
    check(e, at(text, needle, text.count(needle) - 1), field, None, words)
    assert str(e).startswith(f"p.yaml:{e.line}:{e.column}: {field}: ")


def test_state_epoch_places_the_step_in_the_schedule():
    text = BASE + ("optimizer: sgd\nschedule: {name: step, step_size: 2, gamma: 0.5}\n"
                   "optimizer_state: {t: 7, epoch: 2}\n")
    p = problem(text)
    assert (p.first_step, p.epoch) == (7, 2) and p.step_rate == 0.5 * 0.5  # epoch 2, not t - 1 = 6
    assert problem(text.replace(", epoch: 2", "")).epoch == 6  # without it: epoch t - 1


def test_format_one_refuses_format_two_keys():
    text = "format: 1\n" + BASE + "optimizer: adam\n"
    check(error(text), at(text, "optimizer"), "optimizer", None, "needs format 2")


def test_bad_state_entries():
    head = BASE + "optimizer: adam\noptimizer_state:\n  t: 2\n  layers:\n"
    good = "    - weights: {m: [[0, 0], [0, 0]], v: [[0, 0], [0, 0]]}\n      biases: {m: 0, v: 0}\n"
    e = error(head + good + "    - weights: {m: [[0, 0], [0, 0]], v: [[0, 0], [0, -1]]}\n"
                            "      biases: {m: [0, 0], v: [0, 0]}\n")
    assert e.field == "optimizer_state.layers[1].weights.v" and "cannot be negative" in e.message
    e = error(head + good + "    - weights: {m: [[0, 0]], v: [[0, 0], [0, 0]]}\n      biases: {m: [0, 0], v: [0, 0]}\n")
    assert e.field == "optimizer_state.layers[1].weights.m" and "expected 2 rows" in e.message
    e = error(head + good + "    - weights: {m: [[0, 0], [0, 0]], vv: [[0, 0], [0, 0]]}\n      biases: {m: 0, v: 0}\n")
    assert e.field == "optimizer_state.layers[1].weights.vv" and "did you mean 'v'?" in e.message
    e = error(head + good)
    assert e.field == "optimizer_state.layers" and "expected 2 entries" in e.message
    kept = BASE + "update_biases: false\n" + "optimizer: adam\noptimizer_state:\n  t: 2\n  layers:\n" + good * 2
    e = error(kept)
    assert e.field == "optimizer_state.layers[0].biases" and "not updated" in e.message


# -- robustness: whatever a format-2 section holds, a Problem or a located ProblemError ---------------------

FORMAT2 = yaml.safe_load(BASE + "optimizer: {name: adam, beta1: 0.9}\nweight_decay: 0.01\n"
                                "schedule: {name: step, step_size: 2}\noptimizer_state:\n  t: 2\n  layers:\n"
                                "    - weights: {m: [[0, 0], [0, 0]], v: [[0, 0], [0, 0]]}\n"
                                "      biases: {m: 0, v: 0}\n"
                                "    - weights: {m: [[0, 0], [0, 0]], v: [[0, 0], [0, 0]]}\n"
                                "      biases: {m: [0, 0], v: [0, 0]}\n")
FORMAT2_PLACES = [p for p in places(FORMAT2) if p[0] in ("optimizer", "weight_decay", "l1", "schedule",
                                                          "optimizer_state")]


def test_the_format_two_fixture_loads():
    problem(yaml.safe_dump(FORMAT2, sort_keys=False))
    assert len(FORMAT2_PLACES) > 20


@FUZZ
@given(st.sampled_from(FORMAT2_PLACES), structures)
def test_format_two_with_one_value_replaced(path, value):
    check_outcome(dump(replaced(FORMAT2, path, value)))


@FUZZ
@given(st.sampled_from(["optimizer", "schedule", "optimizer_state"]),
       st.dictionaries(st.text(max_size=12) | st.integers(-2, 2), structures, max_size=5))
def test_arbitrary_optimizer_and_schedule_mappings(key, spec):
    check_outcome(dump({**FORMAT2, key: spec}))


def test_check_reports_a_bad_optimizer_with_its_place_and_exit_code_2(invoke, tmp_path):
    path = tmp_path / "hw.yaml"
    text = BASE + "optimizer:\n  name: adam\n  beta_1: 0.9\n"
    path.write_text(text)
    result = invoke("check", str(path))
    assert result.exit_code == 2
    line, column = at(text, "beta_1")
    assert f"hw.yaml:{line}:{column}: optimizer.beta_1: adam does not take 'beta_1'; did you mean 'beta1'?" in \
        result.output
    assert "Traceback" not in result.output
