"""x ^ n with a constant exponent n: the power rule, d(x^n)/dx = n * x^(n - 1)."""

from __future__ import annotations

import math
from typing import Sequence

from tutor.model.gates.base import Gate, GateDomainError, GateMistake, Part


def _number(value: float) -> str:
    """An exponent as written: 2, not 2.0; negative ones in brackets."""
    text = f"{value:.12g}"  # 1.1 - 1 is 0.1, not 0.10000000000000009 (the exponent n - 1 of the power rule)
    return f"({text})" if value < 0 else text


def _power(x: float, n: float) -> float:
    return math.pow(x, n)


POWER_RULE_WRONG = GateMistake(
    "power_rule_wrong",
    "the power rule: d(x^n)/dx = n * x^(n - 1) (the exponent comes down as a factor and drops by one)",
    lambda xs, out, p: [xs[1] * _power(xs[0], xs[1]), _power(xs[0], xs[1] - 1), xs[1] * _power(xs[0], xs[1] + 1),
                        (xs[1] - 1) * _power(xs[0], xs[1] - 1)] if p == 0 and (xs[0] != 0 or xs[1] > 1) else [])


class Power(Gate):
    name = "pow"
    symbol = "^"
    arity = 2  # the base, and the constant exponent
    description = "x ^ n, n a constant"
    rules = ("d(x^n)/dx = n * x^(n - 1)",)
    mistakes = (POWER_RULE_WRONG,)

    def compute(self, xs: Sequence[float]) -> float:
        x, n = xs
        if x == 0 and n < 0:
            raise GateDomainError("division by zero (0 to a negative power)")
        if x < 0 and not float(n).is_integer():
            raise GateDomainError("a negative number to a fractional power is undefined")
        return _power(x, n)

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        x, n = xs
        if n == 1:
            return 1.0
        if n == 0:
            return 0.0  # x^0 is the constant 1, at 0 too (0^0 = 1, as math.pow and PyTorch have it)
        if x == 0 and n < 1:
            raise GateDomainError("the power rule's x^(n - 1) is undefined at 0")
        return n * _power(x, n - 1)

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        return [parts[0], "^", parts[1]]

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        n = float(parts[1].strip("()")) if isinstance(parts[1], str) else parts[1].value
        if n == 1:
            return ["1"]
        if n == 0:
            return ["0"]
        if n == 2:
            return ["2 * ", parts[0]]
        return [_number(n), " * ", parts[0], "^", _number(n - 1)]
