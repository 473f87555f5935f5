"""a / b: the quotient rule, d/da = 1 / b and d/db = -a / b^2."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, GateDomainError, GateMistake, Part, infix

QUOTIENT_RULE_WRONG = GateMistake(
    "quotient_rule_wrong",
    "the quotient rule: d(a/b)/db = -a / b^2 (the minus sign, the numerator a and the square all belong there), "
    "and d(a/b)/da = 1 / b",
    lambda xs, out, p: ([xs[0] / xs[1] ** 2, -1.0 / xs[1] ** 2, -xs[0] / xs[1], 1.0 / xs[1]] if p == 1
                        else [-xs[0] / xs[1] ** 2, xs[1], -1.0 / xs[1] ** 2]))


class Div(Gate):
    name = "div"
    symbol = "/"
    arity = 2
    description = "a / b"
    rules = ("d(a / b)/da = 1 / b", "d(a / b)/db = -a / b^2")
    mistakes = (QUOTIENT_RULE_WRONG,)

    def compute(self, xs: Sequence[float]) -> float:
        if xs[1] == 0:
            raise GateDomainError("division by zero")
        return xs[0] / xs[1]

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0 / xs[1] if p == 0 else -xs[0] / xs[1] ** 2

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        return infix(parts, "/")

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        if p == 0:
            return ["1 / ", parts[1]]
        return ["-", parts[0], " / ", parts[1], "^2"]

    def awkward(self, xs: Sequence[float]) -> bool:
        return abs(xs[1]) < 1  # a small divisor: large numbers
