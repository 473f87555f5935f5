"""The gates of computational graphs, one file each, registered by name: the expression parser, the engine,
the worked solution and the grader's mistakes all take them from here (micrograd's Value operations)."""

from __future__ import annotations

from tutor.model.component import Registry
from tutor.model.gates.absolute import Abs
from tutor.model.gates.add import Add
from tutor.model.gates.base import Gate, GateDomainError, GateMistake
from tutor.model.gates.copy import Copy
from tutor.model.gates.div import Div
from tutor.model.gates.exp import Exp
from tutor.model.gates.ln import Ln
from tutor.model.gates.maximum import Max
from tutor.model.gates.minimum import Min
from tutor.model.gates.mul import Mul
from tutor.model.gates.neg import Neg
from tutor.model.gates.power import Power
from tutor.model.gates.relu import Relu
from tutor.model.gates.sigmoid import Sigmoid
from tutor.model.gates.sqrt import Sqrt
from tutor.model.gates.sub import Sub
from tutor.model.gates.tanh import Tanh

#: Name -> gate class, operators first, then the functions of the expression language.
GATES = Registry()
for _cls in (Add, Sub, Mul, Div, Power, Neg, Copy, Exp, Ln, Sqrt, Tanh, Sigmoid, Relu, Abs, Max, Min):
    GATES.register(_cls)

#: Functions an expression may call (one argument each; max and min two or more), by name.
FUNCTION_GATES = ("exp", "ln", "sqrt", "tanh", "sigmoid", "relu", "abs", "max", "min")
#: Operators by their symbol in expressions.
OPERATOR_GATES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow"}

_MADE: dict[str, Gate] = {}


def gate(name: str) -> Gate:
    """The gate of this name (gates keep no state, so one of each is shared)."""
    made = _MADE.get(name)
    if made is None:
        made = _MADE[name] = GATES[name]()
    return made


__all__ = ["FUNCTION_GATES", "GATES", "Gate", "GateDomainError", "GateMistake", "OPERATOR_GATES", "gate"]
