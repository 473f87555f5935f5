"""The sum of squared errors, sum_j (t_j - o_j)^2."""

from __future__ import annotations

from tutor.model.losses.base import Array, Loss, Part


class Sse(Loss):
    name = "sse"
    description = "sum of squared errors"
    formula = "sum_j (t_j - o_j)^2"
    share_formula = "(t_j - o_j)^2"
    gradient_formula = "2 * (o_j - t_j)"

    def shares(self, o: Array, t: Array) -> Array:
        return (t - o) ** 2

    def gradient(self, o: Array, t: Array) -> Array:
        return 2.0 * (o - t)

    def share_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return ["(", t, " - ", o, ")^2"]

    def gradient_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return ["2 * (", o, " - ", t, ")"]

    def lost_factors(self, n: int) -> list[float]:
        return [0.5, 2.0]
