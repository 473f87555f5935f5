"""sqrt(x): d sqrt(x)/dx = 1 / (2 sqrt(x)), in terms of the gate's output."""

from __future__ import annotations

import math
from typing import Sequence

from tutor.model.gates.base import Gate, GateDomainError, Part


class Sqrt(Gate):
    name = "sqrt"
    symbol = "sqrt"
    description = "the square root (x >= 0)"
    rules = ("d sqrt(x)/dx = 1 / (2 * sqrt(x))",)
    uses_output = True

    def compute(self, xs: Sequence[float]) -> float:
        if xs[0] < 0:
            raise GateDomainError(f"sqrt of a negative number is undefined (here sqrt({xs[0]:.6g}))")
        return math.sqrt(xs[0])

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        if out == 0:
            raise GateDomainError("sqrt has no derivative at 0 (1 / (2 * sqrt(0)) divides by zero)")
        return 1.0 / (2.0 * out)

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1 / (2 * ", out, ")"]
