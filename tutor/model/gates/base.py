"""The gate interface: one operation of a computational graph, its value and its local derivatives, side by side.

A gate takes operands: values of other nodes, or constants written in the expression (the 2 of ``x^2``,
the 1 of ``1 + exp(-x)``). `value` is the forward formula; `local(xs, out, p)` is d out / d xs[p], the
local gradient with respect to operand p, written in the numbers a student uses by hand (the inputs, or
the gate's own output where that is simpler: exp, sigmoid, tanh, sqrt). Each has its formula pieces, so a
worked solution shows the rule with numbers, and a gate owns the catalogued mistakes made with its rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

#: A piece of a formula: text, or a term (a symbol with its value) given by the caller.
Part = Any


class GateDomainError(ValueError):
    """A gate applied where it is undefined (ln of a number <= 0, division by zero, ...): the message says which."""


@dataclass(frozen=True)
class GateMistake:
    """A catalogued wrong local gradient: its stable id, a one-line explanation, and what the gradient becomes.

    `wrong(xs, out, p)` gives the value(s) d out / d xs[p] takes under the mistake (empty where it does not apply).
    """

    id: str
    explanation: str
    wrong: Callable[[Sequence[float], float, int], list[float]]


class Gate:
    """One operation: its name in the expression language, how it is shown, its value and local derivatives."""

    #: The name written in expressions (a function) or the operation's name (an operator).
    name: ClassVar[str]
    #: How the operation column of the forward table shows it: ``+``, ``*``, ``exp``.
    symbol: ClassVar[str]
    #: Operands it takes.
    arity: ClassVar[int] = 1
    #: One line for docs.
    description: ClassVar[str]
    #: Its local gradient with respect to each operand, in symbols (for docs and the worked solution's notes).
    rules: ClassVar[tuple[str, ...]]
    #: Whether a local derivative uses the gate's own output (exp: d out/dx = out).
    uses_output: ClassVar[bool] = False
    #: A nonlinearity `new --graph` may draw for a practice expression.
    practice: ClassVar[bool] = False
    #: Catalogued mistakes in taking its local gradient.
    mistakes: ClassVar[tuple[GateMistake, ...]] = ()

    def value(self, xs: Sequence[float]) -> float:
        """The forward value; raises GateDomainError where the operation is undefined."""
        try:
            result = self.compute(xs)
        except (OverflowError, ZeroDivisionError):
            raise GateDomainError(f"{self.symbol} overflows") from None
        if not math.isfinite(result):
            raise GateDomainError(f"{self.symbol} is too large")
        return result

    def compute(self, xs: Sequence[float]) -> float:
        raise NotImplementedError

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        """d out / d xs[p]."""
        raise NotImplementedError

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        """The forward formula as pieces around the operands' parts."""
        return [f"{self.name}(", parts[0], ")"]

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        """d out / d operand p as formula pieces (text, and the operands' or output's parts)."""
        raise NotImplementedError

    def awkward(self, xs: Sequence[float]) -> bool:
        """Whether these inputs are unfit for a practice problem worked by hand (a kink, a tie, saturation)."""
        return False

    def mistake(self, mistake_id: str) -> GateMistake | None:
        return next((m for m in self.mistakes if m.id == mistake_id), None)


def infix(parts: Sequence[Part], operator: str) -> list[Part]:
    """``a op b``."""
    return [parts[0], f" {operator} ", parts[1]]
