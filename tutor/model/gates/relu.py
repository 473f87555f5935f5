"""relu(x) = max(0, x): local gradient 1 where x > 0, else 0 (0 at the kink, as micrograd and PyTorch)."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, GateMistake, Part

RELU_GRADIENT_WRONG = GateMistake(
    "relu_gradient_wrong",
    "relu passes its upstream gradient where x > 0 (local gradient 1) and blocks it where x <= 0 (0), "
    "not the value x itself",
    lambda xs, out, p: [xs[0], 1.0, 0.0])


class Relu(Gate):
    name = "relu"
    symbol = "relu"
    description = "max(0, x)"
    rules = ("d relu(x)/dx = 1 if x > 0 else 0",)
    practice = True
    mistakes = (RELU_GRADIENT_WRONG,)

    def compute(self, xs: Sequence[float]) -> float:
        return xs[0] if xs[0] > 0 else 0.0

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0 if xs[0] > 0 else 0.0

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1 if ", parts[0], " > 0 else 0"]

    def awkward(self, xs: Sequence[float]) -> bool:
        return xs[0] <= 0.1  # dead, or at its kink
