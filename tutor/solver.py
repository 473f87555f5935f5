"""The library's front door: from a problem (or its file) to the trace of a step."""

from __future__ import annotations

from pathlib import Path

from tutor.engine.step import train
from tutor.problem.validated import Problem
from tutor.problem.loader import load_problem
from tutor.trace.trace import Trace


def solve(problem: Problem | str | Path, steps: int = 1) -> Trace:
    """The full trace of the first gradient-descent step, and the loss history over `steps` steps.

    `trace.history` holds the loss before each of the `steps` updates and after the last one
    (so `history[1]` is the loss after the first update).
    """
    if not isinstance(problem, Problem):
        problem = load_problem(problem)
    if steps < 1:
        raise ValueError("steps must be at least 1")
    first, history = train(problem, steps)
    return Trace(problem, first, history)
