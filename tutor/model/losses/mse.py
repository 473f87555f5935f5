"""The mean squared error over the outputs, 1/n * sum_j (t_j - o_j)^2."""

from __future__ import annotations

from tutor.model.losses.base import Array, Loss, Part


class Mse(Loss):
    name = "mse"
    description = "mean squared error over the outputs"
    formula = "1/n * sum_j (t_j - o_j)^2"
    share_formula = "1/n * (t_j - o_j)^2"
    gradient_formula = "2/n * (o_j - t_j)"

    def shares(self, o: Array, t: Array) -> Array:
        return (t - o) ** 2 / o.shape[-1]

    def gradient(self, o: Array, t: Array) -> Array:
        return 2.0 * (o - t) / o.shape[-1]

    def share_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return [f"1/{n} * (", t, " - ", o, ")^2"]

    def gradient_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return [f"2/{n} * (", o, " - ", t, ")"]

    def lost_factors(self, n: int) -> list[float]:
        return [n, 0.5, 2.0, 1.0 / n]
