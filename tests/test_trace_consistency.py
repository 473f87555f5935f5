"""The trace agrees with itself and with the engine.

Every quantity recomputes its own value from the values of its dependencies, every dependency is in
the trace and comes before it, `records()` describes the same quantities, and the fast training loop
gives the same losses as full steps applied one after another.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from tests.netgen import ACTIVATIONS, CONFIGS, DENSE_PROBLEM_FILES, LOSSES, PROBLEM_FILES, grid_spec, sample_specs, to_problem
from tutor.engine.step import Step, bias_parameters, run_step, train
from tutor.problem.validated import Problem
from tutor.problem.loader import load_problem
from tutor.solver import solve

SPECS = sample_specs()
# One cell of the gradient-check grid per activation, with the loss and shape rotating.
for _n, _act in enumerate(ACTIVATIONS):
    _loss, _config = LOSSES[_n % len(LOSSES)], list(CONFIGS)[_n % len(CONFIGS)]
    SPECS[f"grid-{_act}-{_loss}-{_config}"] = grid_spec(_act, _loss, _config, seed=1)

CASES = [pytest.param(lambda p=p: load_problem(p), id=p.name) for p in PROBLEM_FILES] + [
    pytest.param(lambda s=s: to_problem(s), id=name) for name, s in SPECS.items()
]

# A softmax layer's delta_j (without the cross-entropy shortcut) depends on dL/dout_k of every neuron k
# of the layer, so these cases check that the trace lists all of them first.
ORDER_CASES = CASES


def test_samples_cover_what_they_claim():
    problems = {name: to_problem(spec) for name, spec in SPECS.items()}
    combos = {(p.layers[-1].activation.name, p.loss.name) for p in problems.values()}
    assert ("softmax", "cross_entropy") in combos and ("softmax", "mse") in combos
    assert any(p.batch and p.samples > 1 for p in problems.values())
    assert any(p.labels is not None for p in problems.values())
    assert any(layer.shared_bias for p in problems.values() for layer in p.layers)
    assert any(not p.update_biases for p in problems.values())


@pytest.mark.parametrize("make", ORDER_CASES)
def test_dependencies_exist_and_come_earlier(make):
    trace = solve(make())
    quantities = list(trace)
    position = {q.key: n for n, q in enumerate(quantities)}
    assert len(position) == len(quantities), "keys are unique"
    late = []
    for n, q in enumerate(quantities):
        for dep in q.depends_on:
            assert dep in trace, f"{q.key} depends on {dep}, which the trace does not have"
            if position[dep] >= n:
                late.append(f"{q.key} depends on {dep}, which comes later")
    assert not late, "\n".join(late)


@pytest.mark.parametrize("make", CASES)
def test_every_quantity_recomputes_from_its_dependencies(make):
    trace = solve(make())
    bad = []
    for q in trace:
        assert all(dep in trace for dep in q.depends_on), q.key
        args = [trace[d].value for d in q.depends_on]
        again = q.compute(*args)
        if not math.isclose(again, q.value, rel_tol=1e-12, abs_tol=1e-15):
            bad.append(f"{q.key}: value {q.value!r}, recomputed {again!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("make", CASES)
def test_records_match_the_quantities(make):
    trace = solve(make())
    quantities = list(trace)
    records = list(trace.records())
    assert len(trace) == len(quantities) == len(records)
    assert trace.keys() == [r["key"] for r in records]
    for q, r in zip(quantities, records):
        assert r["key"] == q.key
        assert r["kind"] == q.kind and r["layer"] == q.layer and tuple(r["index"]) == q.index
        assert r["value"] == q.value
        assert tuple(r["depends_on"]) == q.depends_on


DENSE_CASES = [c for c in CASES if c.id not in {p.name for p in PROBLEM_FILES} - {p.name for p in DENSE_PROBLEM_FILES}]


@pytest.mark.parametrize("make", DENSE_CASES)
def test_trace_values_are_the_engine_values(make):
    problem = make()
    trace = solve(problem)
    step = run_step(problem)
    assert trace["loss"].value == step.loss
    for l, ls in enumerate(step.layers, start=1):
        for (j, i), g in np.ndenumerate(ls.grad_weights):
            assert trace[f"dL_dw{l}_{j + 1}_{i + 1}"].value == g
            assert trace[f"new_w{l}_{j + 1}_{i + 1}"].value == ls.new_weights[j, i]
        for s in range(problem.samples):
            at = f"@{s + 1}" if problem.batch else ""
            for j in range(ls.net.shape[1]):
                assert trace[f"net{l}_{j + 1}{at}"].value == ls.net[s, j]
                assert trace[f"delta{l}_{j + 1}{at}"].value == ls.delta[s, j]


# -- train against run_step ------------------------------------------------------------------------------


def _assert_same_step(a: Step, b: Step) -> None:
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.sample_losses, b.sample_losses)
    for la, lb in zip(a.layers, b.layers):
        for name in ("net", "out", "delta", "dloss_dout", "grad_weights", "grad_biases", "new_weights", "new_biases"):
            np.testing.assert_array_equal(getattr(la, name), getattr(lb, name), err_msg=name)


def _advanced(problem: Problem, step: Step) -> Problem:
    """The problem with the step's updated parameters (a shared bias spread over its layer again), at the next
    step number, starting from the optimizer state the step left."""
    layers = tuple(layer.with_params({name: value.copy() for name, value in ls.new_params.items()})
                   for layer, ls in zip(problem.layers, step.layers))
    names = problem.optimizer.state_names
    state = tuple({param: {name: values[name] for name in names} for param, values in ls.update_values.items()}
                  for ls in step.layers) if names else None
    return replace(problem, layers=layers, first_step=problem.first_step + 1, optimizer_state=state)


@pytest.mark.parametrize("make", CASES)
def test_train_one_step_is_run_step(make):
    problem = make()
    first, history = train(problem, 1)
    step = run_step(problem)
    _assert_same_step(first, step)
    assert len(history) == 2
    assert history[0] == step.loss
    assert history[1] == pytest.approx(run_step(_advanced(problem, step)).loss, rel=1e-13, abs=1e-300)


@pytest.mark.parametrize("steps", [2, 3, 7])
@pytest.mark.parametrize("make", CASES)
def test_train_history_is_repeated_run_steps(make, steps):
    problem = make()
    first, history = train(problem, steps)
    assert len(history) == steps + 1
    _assert_same_step(first, run_step(problem))
    current = problem
    for k in range(steps + 1):
        step = run_step(current)
        assert history[k] == pytest.approx(step.loss, rel=1e-12, abs=1e-300), f"history[{k}]"
        current = _advanced(current, step)
    # the parameters really move (or stay, for biases that are not updated)
    if not problem.update_biases:
        for layer, b in zip(current.layers, bias_parameters(problem)):
            assert layer.biases[0] == b[0]


def test_solve_history_is_train_history():
    problem = load_problem(PROBLEM_FILES[0])
    for steps in (1, 25):
        _, history = train(problem, steps)
        np.testing.assert_array_equal(solve(problem, steps=steps).history, history)


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.name)
def test_formula_terms_name_the_quantities_they_stand_for(path):
    from tutor.trace.trace import Term

    trace = solve(load_problem(path))
    keyed = 0
    for q in trace:
        for part in q.formula:
            if isinstance(part, Term) and part.key is not None:
                keyed += 1
                assert part.key in q.depends_on or part.key == q.key, (q.key, part.key)
                assert part.value == trace[part.key].value
                assert part.symbol == trace[part.key].label
    assert keyed > 0
