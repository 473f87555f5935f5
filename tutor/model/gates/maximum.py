"""max(a, b): the gradient goes to the input that won (the first, at a tie); the other gets none."""

from __future__ import annotations

from typing import Sequence

from tutor.model.gates.base import Gate, GateMistake, Part

#: Shared with min: the gradient routed to every input rather than to the winner only.
TO_BOTH = GateMistake(
    "max_gradient_to_both",
    "max (and min) routes its upstream gradient to the input that won only: the other input's local gradient "
    "is 0, not 1",
    lambda xs, out, p: [1.0])


class Max(Gate):
    name = "max"
    symbol = "max"
    arity = 2
    description = "the larger of a and b"
    rules = ("d max(a, b)/da = 1 if a >= b else 0", "d max(a, b)/db = 1 if b > a else 0")
    mistakes = (TO_BOTH,)

    def compute(self, xs: Sequence[float]) -> float:
        return xs[0] if xs[0] >= xs[1] else xs[1]

    def local(self, xs: Sequence[float], out: float, p: int) -> float:
        won = xs[0] >= xs[1] if p == 0 else xs[1] > xs[0]
        return 1.0 if won else 0.0

    def formula(self, parts: Sequence[Part]) -> list[Part]:
        return [f"{self.name}(", parts[0], ", ", parts[1], ")"]

    def local_parts(self, parts: Sequence[Part], out: Part, p: int) -> list[Part]:
        if p == 0:
            return ["1 if ", parts[0], " >= ", parts[1], " else 0"]
        return ["1 if ", parts[1], " > ", parts[0], " else 0"]

    def awkward(self, xs: Sequence[float]) -> bool:
        return abs(xs[0] - xs[1]) < 0.1  # (nearly) a tie
