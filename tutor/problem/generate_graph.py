"""Fresh practice graphs (`new --graph`): a small expression with nice numbers and a fan-out, as a problem file.

`generate_graph(seed)` returns the YAML text of a graph problem that `parse_problem` accepts; the same seed
always gives the same text. The expression is drawn from shapes a course's exercises use (an add or multiply,
a nonlinearity, a value used twice so that gradients add), with leaves of one or two significant figures.
The engine then checks the draw: every value at most 50 in size, every input's gradient at most 100, and no
gate on inputs it finds awkward by hand (`Gate.awkward`: relu at or below its kink, a tie in a max, sigmoid,
tanh and exp beyond 2 in size, a division by a number below 1 in size); a draw that fails is redrawn.
"""

from __future__ import annotations

import random

from tutor.errors import UserError
from tutor.model.gates import GATES, gate

#: Shapes of expressions: {a}, {b}, {c} are the leaves, {f} a nonlinearity. Each uses some value twice.
SHAPES = (
    ("p = {a} * {b} + {c}", "q = {f}(p)", "out = q * {a}"),
    ("p = {a} + {b}", "q = p * {c}", "out = max(q, {a}) + q^2"),
    ("p = {a} * {b}", "q = p + {c}", "r = {f}(q)", "out = r * p"),
    ("p = {a} - {b}", "q = p^2 / {c}", "out = q + {a} * p"),
    ("p = {a} * {b} + {c}", "out = {f}(p) + {a} / {c}"),
    ("p = {a} * {a} + {b}", "q = {f}(p * {c})", "out = q - p"),
)
#: The nonlinearities drawn (the gates marked `practice`).
NONLINEAR = tuple(name for name, cls in GATES.items() if cls.practice)
LEAVES = (("x", "y", "z"), ("a", "b", "c"), ("u", "v", "w"))
VALUES = (-3, -2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 2.5, 3)
MAX_TRIES = 2000


def generate_graph(seed: int) -> str:
    """The text of a practice graph problem for `seed` (the same seed, the same problem)."""
    rng = random.Random(f"graph-{seed}")
    for _ in range(MAX_TRIES):
        text = _draw(rng, seed)
        if _nice(text):
            return text
    raise UserError(f"no practice graph with nice numbers was found for seed {seed}; try another seed")


def _draw(rng: random.Random, seed: int) -> str:
    names = rng.choice(LEAVES)
    shape = rng.choice(SHAPES)
    function = rng.choice(NONLINEAR)
    lines = [line.format(a=names[0], b=names[1], c=names[2], f=function) for line in shape]
    values = {name: rng.choice(VALUES) for name in names}
    graph = "\n".join(f"  - {line}" for line in lines)
    inputs = ", ".join(f"{name}: {values[name]:g}" for name in names)
    return (f"format: 2\nname: Practice graph (seed {seed})\n"
            f"description: \"A generated expression: every gate's value and every gradient by hand\"\n"
            f"source: \"backprop-tutor new --graph --seed {seed}\"\n"
            f"graph:\n{graph}\ninputs: {{{inputs}}}\n")


def _nice(text: str) -> bool:
    """Whether the engine finds the draw's numbers fit for working by hand (see the module docstring)."""
    from tutor.problem.loader import parse_problem
    from tutor.solver import solve

    try:
        trace = solve(parse_problem(text, source="<generated>"))
    except UserError:
        return False
    values = trace.values
    if any(abs(v) > 50 for v in values.values()) or set(trace.problem.inputs) - set(trace.gradients):
        return False
    for node in trace.problem.gates:
        if gate(node.op).awkward([values[o] if isinstance(o, str) else o for o in node.operands]):
            return False
    return all(abs(g) <= 100 for g in trace.gradients.values())
