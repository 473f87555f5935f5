"""min(a, b): the gradient goes to the input that won (the smaller; the first, at a tie)."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Part
from tutor.model.gates.maximum import TO_BOTH, Max


class Min(Max):
    name = "min"
    symbol = "min"
    description = "the smaller of a and b"
    rules = ("d min(a, b)/da = 1 if a <= b else 0", "d min(a, b)/db = 1 if b < a else 0")
    mistakes = (TO_BOTH,)

    def compute(self, xs: Sequence[float]) -> float:
        return xs[0] if xs[0] <= xs[1] else xs[1]

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        won = xs[0] <= xs[1] if p == 0 else xs[1] < xs[0]
        return 1.0 if won else 0.0

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        if p == 0:
            return ["1 if ", parts[0], " <= ", parts[1], " else 0"]
        return ["1 if ", parts[1], " < ", parts[0], " else 0"]
