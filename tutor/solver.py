"""The library's front door: from a problem (or its file) to the trace of a step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tutor.engine.step import run
from tutor.errors import UserError
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
    if isinstance(problem, (str, Path)):
        from tutor.problem.bundled import find_problem

        problem = load_problem(find_problem(str(problem)))
    if steps < 1:
        raise ValueError("steps must be at least 1")
    if not 1 <= show <= steps:
        raise ValueError(f"the step to show must be from 1 to {steps}")
    if not isinstance(problem, Problem):  # a computational graph (tutor/problem/graph.py)
        from tutor.engine.graph import run as run_graph
        from tutor.trace.graph import GraphTrace

        graph = run_graph(problem, steps, show)
        trace = GraphTrace(graph.problem, graph.step, graph.history, shown=show, final=graph.final)
        trace.quantities  # noqa: B018  (built now: a name that clashes with a key is refused before any output)
        return trace
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run: its loss becomes inf/nan, said in words
        result = run(problem, steps, show)
    return Trace(result.problem, result.step, result.history, shown=show, final=result.final)


def open_problem(problem: Problem | str | Path, step: int | None = None, steps: int | None = None) -> Trace:
    """The trace every command works on: step `step` (default the first) of a run of `steps` steps (default:
    up to that step), the optimizer's state carried from the earlier steps (`--show-step`/`--step K`).

    A step beyond the run is a `UserError` (the command-line options' mistake, named as such).
    """
    run_steps = steps or step or 1
    if step is not None and not 1 <= step <= run_steps:
        raise UserError(f"--show-step must be from 1 to --steps ({run_steps}), got {step}")
    return solve(problem, steps=run_steps, show=step or 1)


def check(problem: Problem) -> Trace:
    """Every check that `solve`, `quiz` and `grade` make of a problem, so that `check` ok means they accept it.

    The loader checks the file; computing the step checks its outputs (bce and cross-entropy take their
    logarithms); the `ask:` section's names must be quantities of the problem.
    """
    from tutor.teach.grader import asked_quantities

    trace = solve(problem)
    asked_quantities(trace)
    return trace
