"""y = x, a name given to a value: local gradient 1."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, Part


class Copy(Gate):
    name = "copy"
    symbol = "="
    description = "x (a new name for a value)"
    rules = ("dy/dx = 1",)

    def compute(self, xs: Sequence[float]) -> float:
        return xs[0]

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        return 1.0

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        return [parts[0]]

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        return ["1"]
