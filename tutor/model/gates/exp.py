"""exp(x): its own derivative, d exp(x)/dx = exp(x), the gate's output."""

from __future__ import annotations

import math
from typing import Sequence

from tutor.model.gates.base import Gate, GateMistake, Part

EXP_DERIVATIVE_WRONG = GateMistake(
    "exp_derivative_wrong",
    "d exp(x)/dx = exp(x), the gate's own output (not x * exp(x - 1), nor x)",
    lambda xs, out, p: [xs[0] * math.exp(xs[0] - 1), xs[0], 1.0])


class Exp(Gate):
    name = "exp"
    symbol = "exp"
    description = "e to the power x"
    rules = ("d exp(x)/dx = exp(x)",)
    uses_output = True
    practice = True
    mistakes = (EXP_DERIVATIVE_WRONG,)

    def compute(self, xs: Sequence[float]) -> float:
        return math.exp(xs[0])

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return out

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return [out]

    def awkward(self, xs: Sequence[float]) -> bool:
        return abs(xs[0]) > 2  # saturated (exp: large)
