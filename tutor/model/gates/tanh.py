"""tanh(x): d tanh(x)/dx = 1 - tanh(x)^2, in terms of the gate's output (micrograd's tanh)."""

from __future__ import annotations

import math
from typing import Sequence

from tutor.model.gates.base import Gate, GateMistake, Part

TANH_DERIVATIVE_WRONG = GateMistake(
    "tanh_derivative_wrong",
    "d tanh(x)/dx = 1 - out^2, with out = tanh(x) (not 1 - x^2, nor 1 - out)",
    lambda xs, out, p: [1.0 - xs[0] ** 2, 1.0 - out, out * (1.0 - out)])


class Tanh(Gate):
    name = "tanh"
    symbol = "tanh"
    description = "the hyperbolic tangent"
    rules = ("d tanh(x)/dx = 1 - out^2",)
    uses_output = True
    practice = True
    mistakes = (TANH_DERIVATIVE_WRONG,)

    def compute(self, xs: Sequence[float]) -> float:
        return math.tanh(xs[0])

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0 - out * out

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1 - ", out, "^2"]

    def awkward(self, xs: Sequence[float]) -> bool:
        return abs(xs[0]) > 2  # saturated (exp: large)
