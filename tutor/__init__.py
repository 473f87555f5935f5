"""backprop-tutor: every number of a small network's forward and backward pass, always right.

Library use (the CLI is a thin layer over this)::

    from tutor import load_problem, solve
    trace = solve("problems/mazur-2-2-2.yaml")
    trace["dL_dw2_1_1"].value        # dE_total/dw5
    trace["w5+"].substituted(str)    # display labels work too

Heavy modules (numpy) are imported on first use, so `backprop-tutor --help` starts fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["load_problem", "parse_problem", "solve", "Trace", "Problem", "UserError", "ProblemError", "__version__"]

_LAZY = {
    "load_problem": "tutor.problem.loader",
    "parse_problem": "tutor.problem.loader",
    "solve": "tutor.solver",
    "Trace": "tutor.trace.trace",
    "Problem": "tutor.problem.validated",
    "UserError": "tutor.errors",
    "ProblemError": "tutor.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tutor' has no attribute {name!r}")
