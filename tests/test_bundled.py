"""Every bundled problem is valid, names its source, and solves to finite numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import BUNDLED, BUNDLED_GRAPHS
from tutor.problem.bundled import bundled_problems, find_problem
from tutor.errors import UserError
from tutor.problem.loader import load_problem
from tutor.solver import solve


def test_the_issue_list_is_bundled():
    names = {p.stem for p in BUNDLED}
    assert {"mazur-2-2-2", "ex02-3-3-2-2", "perceptron-2-1", "mlp-2-2-1"} <= names
    problems = [load_problem(p) for p in BUNDLED]
    assert any(p.layers[-1].activation.name == "softmax" and p.loss.name == "cross_entropy" and p.samples >= 3
               and p.layers[-1].size >= 3 for p in problems)
    assert any(len(p.layers) >= 3 for p in problems)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_problem_is_complete(path):
    problem = load_problem(path)
    assert problem.name and problem.description and problem.source
    trace = solve(problem)
    assert all(np.isfinite(q.value) for q in trace)


def test_bundled_problems_are_found_by_name_and_prefix():
    assert [p.stem for p in bundled_problems()] == [p.stem for p in BUNDLED + BUNDLED_GRAPHS]
    assert find_problem("mazur-2-2-2").stem == "mazur-2-2-2"
    assert find_problem("ex02").stem == "ex02-3-3-2-2"
    assert find_problem("ex02-3-3-2").stem == "ex02-3-3-2-2"  # its former name
    assert find_problem("mazur").stem == "mazur-2-2-2"  # its name without the shape, beside mazur-adam-2-2-2
    assert find_problem("mazur-adam").stem == "mazur-adam-2-2-2"


def test_bundled_names_say_what_they_are():
    for path in BUNDLED:
        problem = load_problem(path)
        if problem.inputs.ndim == 4:  # an image: its height x width (cnn-4x4, conv-3x3-2x2)
            assert "x".join(str(n) for n in problem.inputs.shape[2:]) in path.stem, path.stem
        else:
            assert path.stem.endswith(problem.shape_text), path.stem  # ex02-3-3-2-2 is a 3-3-2-2 network
        neurons = [name for layer in problem.notation.neurons for name in layer]
        assert "out" not in neurons  # no out_out, dout_out/dnet_out


def test_the_python_api_takes_bundled_names():
    assert solve("mazur").loss == pytest.approx(0.298371108760003)
    assert solve("ex02-3-3-2").problem.shape_text == "3-3-2-2"
    with pytest.raises(UserError, match="could mean several"):
        find_problem("m")  # mazur-2-2-2 and mlp-2-2-1
