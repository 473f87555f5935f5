"""a - b: local gradient 1 for a and -1 for b."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, Part, infix


class Sub(Gate):
    name = "sub"
    symbol = "-"
    arity = 2
    description = "a - b"
    rules = ("d(a - b)/da = 1", "d(a - b)/db = -1")

    def compute(self, xs: Sequence[float]) -> float:
        return xs[0] - xs[1]

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0 if p == 0 else -1.0

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        return infix(parts, "-")

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1" if p == 0 else "-1"]
