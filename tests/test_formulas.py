"""Every displayed formula, with its numbers substituted, evaluates to the value shown beside it.

The substituted text of each quantity (what `solve` prints after "=") is read back with the project's
expression evaluator (`evaluate(..., formulas=True)`) and compared with the quantity's value, for every
bundled problem and for random networks of every activation and loss. This catches a formula that
does not match its number, such as a derivative printed as `1` beside 0.684 or a loss's formula that
is another loss's.
"""

from __future__ import annotations

import math

import pytest

from tests.netgen import ACTIVATIONS, CONFIGS, LOSSES, PROBLEM_FILES, grid_spec, sample_specs, to_problem
from tutor.model.activations import ACTIVATIONS as REGISTERED
from tutor.model.activations.swish import Swish
from tutor.problem.loader import load_problem
from tutor.problem.validated import Problem
from tutor.solver import solve
from tutor.teach.expression import evaluate
from tutor.trace.quantity import Term

#: Formulas with an elided middle ("... (5 more terms) ...") cannot be read back; they are counted.
ELIDED = "more terms) ..."


def formula_mismatches(problem: Problem) -> tuple[list[str], int]:
    """(every quantity whose substituted formula does not evaluate to its value, how many were elided)."""
    bad: list[str] = []
    elided = 0
    for q in solve(problem):
        text = q.substituted(repr)
        if ELIDED in text:
            elided += 1
            continue
        got = evaluate(text, formulas=True, max_length=4000)
        scale = max([1.0] + [abs(p.value) for p in q.formula if isinstance(p, Term)])
        if not math.isclose(got, q.value, rel_tol=1e-9, abs_tol=1e-12 * scale):
            bad.append(f"{q.key}: {text} = {got!r}, shown {q.value!r}")
    return bad, elided


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.name)
def test_bundled_formulas_evaluate_to_their_values(path):
    assert formula_mismatches(load_problem(path)) == ([], 0)


GRID = [(a, loss, config) for n, a in enumerate(ACTIVATIONS) for loss in LOSSES
        for config in [list(CONFIGS)[(n + LOSSES.index(loss)) % len(CONFIGS)]]]


@pytest.mark.parametrize("activation, loss, config", GRID, ids=["/".join(c) for c in GRID])
def test_random_network_formulas_evaluate_to_their_values(activation, loss, config):
    bad, _ = formula_mismatches(to_problem(grid_spec(activation, loss, config)))  # a few long sums are elided
    assert bad == []


@pytest.mark.parametrize("name, spec", list(sample_specs().items()), ids=list(sample_specs()))
def test_sample_network_formulas_evaluate_to_their_values(name, spec):
    bad, _ = formula_mismatches(to_problem(spec))
    assert bad == []


class _PrintsOne(Swish):
    """A swish whose worked solution writes its derivative as a bare 1 (the mistake the check must catch)."""

    def derivative_parts(self, net, out):
        return ["1"]


def test_a_derivative_printed_as_1_beside_another_value_is_caught(monkeypatch):
    monkeypatch.setitem(REGISTERED, "swish", _PrintsOne)
    problem = to_problem(grid_spec("swish", "half_sse", "2layer-single-shared1"))
    assert isinstance(problem.layers[0].activation, _PrintsOne)
    bad, _ = formula_mismatches(problem)
    assert bad and all("dout_dnet" in line for line in bad)
    assert any(" 1 = 1.0, shown " in line for line in bad)


def test_the_evaluator_reads_the_solution_notation_only_when_asked():
    assert evaluate("1 if -0.3 > 0 else 0.1", formulas=True) == 0.1
    assert evaluate("leaky_relu(slope=0.1)(-0.3)", formulas=True) == pytest.approx(-0.03)
    assert evaluate("gelu(1)", formulas=True) == pytest.approx(0.8413447460685429)
    assert evaluate("erf(0.5)", formulas=True) == pytest.approx(0.5204998778130465)
    for text in ("1 if -0.3 > 0 else 0.1", "relu(0.3)", "erf(0.5)"):
        with pytest.raises(Exception):
            evaluate(text)
    with pytest.raises(Exception, match="whole layer"):
        evaluate("softmax(0.3)", formulas=True)
    with pytest.raises(Exception, match="must be positive"):
        evaluate("elu(alpha=-1)(0.3)", formulas=True)
