"""a + b: both local gradients are 1, so the gate passes its upstream gradient to each input unchanged."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, Part, infix


class Add(Gate):
    name = "add"
    symbol = "+"
    arity = 2
    description = "a + b"
    rules = ("d(a + b)/da = 1", "d(a + b)/db = 1")

    def compute(self, xs: Sequence[float]) -> float:
        return xs[0] + xs[1]

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        return infix(parts, "+")

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1"]
