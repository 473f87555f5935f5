"""Random sheets on random networks: exact values, rounding at every step, one early slip, and every
catalogued mistake, each judged as a careful TA would.

The networks come from `tests/netgen.py`; what each student writes is computed here, step by step from
their own earlier values, with each quantity's own formula (the engine's numbers are checked against an
independent implementation by the engine tests).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.netgen import random_spec, to_problem
from tutor.model.optimizers import make_optimizer
from tutor.model.schedules import make_schedule
from tutor.solver import solve
from tutor.teach.judge import Answer, Judge, Tolerance, old_value
from tutor.teach.mistakes import CATALOGUE
from tutor.teach.sheets import answer_from_text

#: (hidden activations + output activation, loss, layer sizes from the inputs, learning rate)
NETWORKS = [
    (["sigmoid", "sigmoid"], "half_sse", [2, 2, 2], 0.5),
    (["relu", "sigmoid"], "mse", [2, 2, 2], 0.1),
    (["tanh", "tanh", "sigmoid"], "mse", [3, 3, 2, 2], 0.01),
    (["leaky_relu", "sigmoid"], "bce", [3, 2, 1], 0.25),
    (["sigmoid", "linear"], "sse", [2, 3, 2], 0.05),
    (["softplus", "tanh", "sigmoid"], "half_sse", [2, 2, 2, 2], 0.3),
    (["swish", "sigmoid"], "half_sse", [2, 2, 2], 0.1),
]


#: Some of those networks again with an optimizer: (index into NETWORKS, the optimizer's spec).
OPTIMIZED = [
    (0, {"name": "adam", "eps": 0.01}),
    (1, {"name": "adagrad", "eps": 0.01}),
    (0, {"name": "momentum", "momentum": 0.9}),
    (5, {"name": "rmsprop", "alpha": 0.9, "eps": 0.01, "weight_decay": 0.1}),
    # the second step (the state carried), with a schedule: the state's and the rate's mistakes
    (2, {"name": "nesterov", "momentum": 0.9, "show": 2, "schedule": {"name": "exponential", "gamma": 0.9}}),
    (3, {"name": "adamw", "weight_decay": 0.1, "eps": 0.01, "show": 2}),
]
CASES = [(n, None) for n in range(len(NETWORKS))] + OPTIMIZED


def network_trace(index: int, optimizer: dict | None = None):
    """The trace of random network `index` (the same numbers each run), with an optimizer if given (its spec's
    `show`: the step shown, `schedule`: the rate's schedule)."""
    activations, loss, sizes, rate = NETWORKS[index]
    rng = np.random.default_rng(1000 + index)
    problem = to_problem(random_spec(rng, activations=activations, loss=loss, samples=1, batch=False, sizes=sizes,
                                     learning_rate=rate))
    if optimizer is None:
        return solve(problem)
    spec = {k: v for k, v in optimizer.items() if k not in ("show", "schedule")}
    problem = replace(problem, optimizer=make_optimizer(spec), schedule=make_schedule(optimizer.get("schedule")))
    show = optimizer.get("show", 1)
    return solve(problem, steps=show, show=show)


@pytest.fixture(scope="module", params=CASES,
                ids=[f"{NETWORKS[n][0][0]}-{NETWORKS[n][1]}" + (f"-{o['name']}" if o else "") for n, o in CASES])
def trace(request):
    return network_trace(*request.param)


def full(value: float) -> str:
    return f"{value:.17g}"


def significant(value: float, figures: int) -> str:
    return f"{value:#.{figures}g}"  # trailing zeros kept: 0.300 is three figures


def by_hand(trace, write) -> dict[str, str]:
    """What a student writes for every quantity, each computed from their own earlier written values."""
    texts: dict[str, str] = {}
    values: dict[str, float] = {}
    for q in trace:
        exact = q.compute(*[values[d] for d in q.depends_on])
        texts[q.key] = write(q, exact)
        values[q.key] = float(texts[q.key])
    return texts


def judged(trace, texts: dict[str, str], tolerance: Tolerance | None = None):
    judge = Judge(trace, tolerance or Tolerance())
    return {j.key: j for j in judge.judge({k: answer_from_text(k, t) for k, t in texts.items()})}


def test_exact_values_are_all_correct(trace):
    result = judged(trace, {q.key: full(q.value) for q in trace})
    assert {j.verdict for j in result.values()} == {"correct"}


@pytest.mark.parametrize("figures", [3, 4])
def test_rounding_to_significant_figures_at_every_step_is_all_correct(trace, figures):
    def write(q, exact: float) -> str:
        old = old_value(q)
        if old is None:
            return significant(exact, figures)
        change = float(significant(exact - old, figures))  # an update is rounded by its change
        places = max(0, figures - 1 - math.floor(math.log10(abs(change)))) if change else 6
        return f"{old + change:.{places}f}"

    result = judged(trace, by_hand(trace, write))
    assert {k: j.verdict for k, j in result.items() if j.verdict != "correct"} == {}


def figures_of(text: str, old: float | None) -> int:
    """Significant figures of a number written in plain decimals (of its change, for an update)."""
    places = len(text.split(".")[1]) if "." in text else 0
    units = round(abs(float(text) - (old or 0.0)) * 10 ** places)
    return len(str(units)) if units else 0


@pytest.mark.parametrize("places", [3, 4])
def test_rounding_to_decimals_at_every_step_is_accepted(trace, places):
    texts = by_hand(trace, lambda q, exact: f"{round(exact, places):.{places}f}")
    result = judged(trace, texts)
    for q in trace:
        j = result[q.key]
        old = old_value(q) if old_value(q) != q.value else None  # a zero update: judged as written
        written = float(texts[q.key])
        if old is not None and written == round(old, places):  # the update does not show at these decimals
            assert (j.verdict, j.diagnosis.id, j.follows_from) == ("wrong", "update_not_applied", ()), q.key
            assert "write enough decimals to show the change" in j.note
        elif figures_of(texts[q.key], None) >= 2 or written == q.value:
            if j.verdict == "follow_through":  # computed from a value too short to count: never "correct"
                assert abs(written - q.value) > 0.5 * 10.0 ** -places, q.key  # not the truth rounded
                assert j.follows_from, q.key
                for key in j.follows_from:
                    assert result[key].verdict == "follow_through" or "significant" in result[key].note, (q.key, key)
            else:
                assert j.verdict == "correct", (q.key, texts[q.key], q.value)
        else:  # too few digits for the quantity: said so, nothing else
            assert (j.verdict, j.diagnosis, j.follows_from) == ("wrong", None, ()), q.key
            assert "at least 2 significant figures" in j.note


@pytest.mark.parametrize("mode", ["precision", "either"])
def test_an_early_slip_is_wrong_and_everything_that_differs_after_it_is_follow_through(trace, mode):
    first = trace.quantities[0]
    slipped = first.value * 1.5 + 0.1
    values: dict[str, float] = {}
    for q in trace:
        values[q.key] = slipped if q is first else q.compute(*[values[d] for d in q.depends_on])
    result = judged(trace, {k: full(v) for k, v in values.items()}, Tolerance(mode=mode))
    assert result[first.key].verdict == "wrong"
    differing = 0
    for q in trace.quantities[1:]:
        # even within 1% of the truth ("either"), a value that follows from the slip is a follow-through
        same = math.isclose(values[q.key], q.value, rel_tol=1e-9, abs_tol=1e-15)
        assert result[q.key].verdict == ("correct" if same else "follow_through"), (q.key, values[q.key], q.value)
        differing += not same
    assert differing > 0


def test_each_catalogued_mistake_is_diagnosed_by_its_id(trace):
    judge = Judge(trace)
    truth = judge.true_values
    small = 0
    for q in trace:
        for mistake in CATALOGUE:
            for value in mistake.candidates(trace, q, truth):
                if not math.isfinite(value) or math.isclose(value, q.value, rel_tol=1e-6, abs_tol=1e-9):
                    continue
                if value == 0 and abs(q.value) < 0.5:
                    continue  # "0" has no figures: the truth rounds to it too, so it says nothing
                # the first mistake in the catalogue that gives this very value is the diagnosis
                expected = next(m.id for m in CATALOGUE
                                if any(math.isclose(c, value, rel_tol=1e-9, abs_tol=1e-15)
                                       for c in m.candidates(trace, q, truth)))
                (j,) = judge.judge({q.key: Answer(q.key, value, full(value))})
                assert (j.verdict, j.diagnosis and j.diagnosis.id) == ("wrong", expected), (q.key, mistake.id)
                small += abs(value - q.value) < 0.01 * abs(q.value)
    if trace.problem.learning_rate <= 0.05:
        assert small > 0  # mistakes whose effect is under 1% (an update's) are diagnosed too


def test_every_mistake_is_met_by_some_network():
    from tests.layer_nets import BN_DROPOUT  # batch norm's and dropout's mistakes need those layers
    from tests.test_conv_trace import image_traces  # the mistakes of layers on images need images
    from tutor.problem.loader import parse_problem

    found: set[str] = set()
    for trace in [network_trace(*case) for case in CASES] + image_traces() + [solve(parse_problem(BN_DROPOUT))]:
        truth = Judge(trace).true_values
        for q in trace:
            for mistake in CATALOGUE:
                if any(math.isfinite(c) and not math.isclose(c, q.value, rel_tol=1e-6, abs_tol=1e-9)
                       for c in mistake.candidates(trace, q, truth)):
                    found.add(mistake.id)
    assert found == {m.id for m in CATALOGUE}


MAZUR = solve(to_problem(random_spec(np.random.default_rng(7), activations=["sigmoid", "sigmoid"], loss="half_sse",
                                     samples=1, batch=False, sizes=[2, 2, 2], learning_rate=0.5)))


@settings(max_examples=200, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False), decimals=st.integers(-30, 400),
       index=st.integers(0, len(MAZUR.quantities) - 1))
def test_any_number_at_any_precision_gets_a_verdict(value, decimals, index):
    q = MAZUR.quantities[index]
    with np.errstate(all="ignore"):  # a huge answer overflows what follows from it: a verdict all the same
        (j,) = Judge(MAZUR).judge({q.key: Answer(q.key, value, f"{value!r}", decimals)})
    assert j.verdict in ("correct", "follow_through", "wrong")


def decimals_written(text: str) -> int:
    """The decimal place of the last digit written: `0.149` -> 3, `2.403e-07` -> 10."""
    mantissa, _, exponent = text.lower().partition("e")
    return (len(mantissa.split(".")[1]) if "." in mantissa else 0) - int(exponent or 0)


@pytest.mark.parametrize("figures", [3, 4])
def test_a_class_rounding_every_value_to_figures_is_right_where_the_update_shows(trace, figures):
    """Each value rounded to 3 or 4 significant figures of itself (an update too: 0.149 for 0.149395), each
    computed from the student's own rounded values: correct, except an update whose written decimals give
    back the old weight (wrong, update_not_applied, and a note asking for more decimals)."""
    texts = by_hand(trace, lambda q, exact: significant(exact, figures))
    result = judged(trace, texts)
    for q in trace:
        j, text = result[q.key], texts[q.key]
        old = old_value(q) if old_value(q) != q.value else None
        if old is not None and float(text) == round(old, decimals_written(text)):
            assert (j.verdict, j.diagnosis.id) == ("wrong", "update_not_applied"), (q.key, text)
            assert "write enough decimals to show the change" in j.note
        else:
            assert j.verdict == "correct", (q.key, text, q.value, j.note)


def test_the_decimals_policy_on_values_rounded_at_every_step(trace):
    """Every value rounded to 4 decimals from the student's own rounded values, judged with the 4-decimals
    policy: correct, even with no significant figure left, except an update that is the old weight at 4
    decimals (update_not_applied); the exact values are all correct too."""
    texts = by_hand(trace, lambda q, exact: f"{exact:.4f}")
    result = judged(trace, texts, Tolerance(decimals=4))
    for q in trace:
        j, text = result[q.key], texts[q.key]
        old = old_value(q) if old_value(q) != q.value else None
        if old is not None and float(text) == round(old, 4):
            assert (j.verdict, j.diagnosis.id) == ("wrong", "update_not_applied"), (q.key, text)
        else:
            assert j.verdict == "correct", (q.key, text, q.value, j.note)
    exact = judged(trace, {q.key: full(q.value) for q in trace}, Tolerance(decimals=4))
    assert {j.verdict for j in exact.values()} == {"correct"}


@pytest.mark.parametrize("rounding", ["3 figures", "4 figures", "4 decimals"])
def test_a_slip_then_rounding_at_every_step(trace, rounding):
    """The first value slipped, every later one rounded (3 or 4 significant figures, or 4 decimals with the
    decimals policy) from the student's own rounded values: the slip is wrong; every later value is correct
    only when right at its precision, follow-through only when it is not, and never wrong, except an update
    whose decimals give back the old weight (update_not_applied)."""
    first = trace.quantities[0]
    policy = Tolerance(decimals=4) if rounding == "4 decimals" else Tolerance()
    figures = int(rounding[0])

    def write(q, exact: float) -> str:
        value = exact * 1.5 + 0.1 if q is first else exact
        return f"{value:.4f}" if rounding == "4 decimals" else significant(value, figures)

    texts = by_hand(trace, write)
    result = judged(trace, texts, policy)
    assert result[first.key].verdict == "wrong"
    for q in trace.quantities[1:]:
        j, text = result[q.key], texts[q.key]
        unit = 10.0 ** -decimals_written(text) if rounding != "4 decimals" else 1e-4
        off = abs(float(text) - q.value)
        old = old_value(q) if old_value(q) != q.value else None
        if old is not None and float(text) == round(old, decimals_written(text)):
            assert (j.verdict, j.diagnosis.id) == ("wrong", "update_not_applied"), (q.key, text)
        elif j.verdict == "correct":  # right at its precision, or from their own accepted (rounded) values
            own = q.compute(*[float(texts[d]) for d in q.depends_on])
            near = min(off, abs(float(text) - own))
            assert near <= 1.5 * unit * (1 + 1e-9) + 1e-12, (q.key, text, q.value, own)
            assert not j.follows_from
        else:
            assert j.verdict == "follow_through" and off > 0.5 * unit, (q.key, text, q.value, j.verdict)
