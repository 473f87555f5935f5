"""The library's front door: from a problem (or its file) to the trace of a step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tutor.engine.step import run
from tutor.problem.validated import Problem
from tutor.problem.loader import load_problem
from tutor.trace.trace import Trace


def solve(problem: Problem | str | Path, steps: int = 1, show: int = 1) -> Trace:
    """The full trace of step `show` (the first by default), and the loss history over `steps` steps.

    `problem` is a Problem, a problem file, or the name of a bundled problem (``solve("mazur")``).

    `trace.history` holds the loss before each of the `steps` updates and after the last one
    (so `history[1]` is the loss after the first update); `trace.final` the parameters after the last.
    The optimizer's state carries from step to step; for `show` > 1, `trace.problem` is the problem as
    it stands at that step (its parameters, step number and optimizer state).
    """
    if not isinstance(problem, Problem):
        from tutor.problem.bundled import find_problem

        problem = load_problem(find_problem(str(problem)))
    if steps < 1:
        raise ValueError("steps must be at least 1")
    if not 1 <= show <= steps:
        raise ValueError(f"the step to show must be from 1 to {steps}")
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run: its loss becomes inf/nan, said in words
        result = run(problem, steps, show)
    return Trace(result.problem, result.step, result.history, shown=show, final=result.final)


def check(problem: Problem) -> Trace:
    """Every check that `solve`, `quiz` and `grade` make of a problem, so that `check` ok means they accept it.

    The loader checks the file; computing the step checks its outputs (bce and cross-entropy take their
    logarithms); the `ask:` section's names must be quantities of the problem.
    """
    from tutor.teach.grader import asked_quantities

    trace = solve(problem)
    asked_quantities(trace)
    return trace
