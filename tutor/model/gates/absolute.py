"""abs(x): local gradient the sign of x (1, -1, and 0 at 0, as PyTorch)."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, Part


class Abs(Gate):
    name = "abs"
    symbol = "abs"
    description = "the absolute value"
    rules = ("d abs(x)/dx = 1 if x > 0, -1 if x < 0, 0 at 0",)

    def compute(self, xs: Sequence[float]) -> float:
        return abs(xs[0])

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0 if xs[0] > 0 else -1.0 if xs[0] < 0 else 0.0

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1 if ", parts[0], " > 0 else (-1 if ", parts[0], " < 0 else 0)"]

    def awkward(self, xs: Sequence[float]) -> bool:
        return abs(xs[0]) < 0.1  # at its kink
