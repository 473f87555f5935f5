"""sigmoid(x) = 1 / (1 + exp(-x)): d sigmoid(x)/dx = out * (1 - out), in terms of the gate's output."""

from __future__ import annotations

import math
from typing import Sequence

from tutor.model.gates.base import Gate, GateMistake, Part

SIGMOID_DERIVATIVE_WRONG = GateMistake(
    "sigmoid_derivative_wrong",
    "d sigmoid(x)/dx = out * (1 - out), with out = sigmoid(x) (not x * (1 - x), nor out itself)",
    lambda xs, out, p: [xs[0] * (1.0 - xs[0]), out, 1.0 - out])


class Sigmoid(Gate):
    name = "sigmoid"
    symbol = "sigmoid"
    description = "the logistic function 1 / (1 + exp(-x))"
    rules = ("d sigmoid(x)/dx = out * (1 - out)",)
    uses_output = True
    practice = True
    mistakes = (SIGMOID_DERIVATIVE_WRONG,)

    def compute(self, xs: Sequence[float]) -> float:
        x = xs[0]
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return out * (1.0 - out)

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return [out, " * (1 - ", out, ")"]

    def awkward(self, xs: Sequence[float]) -> bool:
        return abs(xs[0]) > 2  # saturated (exp: large)
