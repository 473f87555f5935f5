"""a * b: each input's local gradient is the other input (the gate swaps its inputs, as cs231n says)."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, Part, infix


class Mul(Gate):
    name = "mul"
    symbol = "*"
    arity = 2
    description = "a * b"
    rules = ("d(a * b)/da = b", "d(a * b)/db = a")

    def compute(self, xs: Sequence[float]) -> float:
        return xs[0] * xs[1]

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return xs[1 - p]

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        return infix(parts, "*")

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return [parts[1 - p]]
