"""ln(x), the natural logarithm: d ln(x)/dx = 1 / x."""

from __future__ import annotations

import math
from typing import Sequence

from tutor.model.gates.base import Gate, GateDomainError, Part


class Ln(Gate):
    name = "ln"
    symbol = "ln"
    description = "the natural logarithm (x > 0)"
    rules = ("d ln(x)/dx = 1 / x",)

    def compute(self, xs: Sequence[float]) -> float:
        if xs[0] <= 0:
            raise GateDomainError(f"ln of a number <= 0 is undefined (here ln({xs[0]:.6g}))")
        return math.log(xs[0])

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0 / xs[0]

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1 / ", parts[0]]
