"""Half the sum of squared errors, 1/2 * sum_j (t_j - o_j)^2: its gradient is simply o - t."""

from __future__ import annotations

from tutor.model.losses.base import Array, Loss, Part


class HalfSse(Loss):
    name = "half_sse"
    description = "half the sum of squared errors, gradient o - t"
    formula = "1/2 * sum_j (t_j - o_j)^2"
    share_formula = "1/2 * (t_j - o_j)^2"
    gradient_formula = "o_j - t_j"

    def shares(self, o: Array, t: Array) -> Array:
        return 0.5 * (t - o) ** 2

    def gradient(self, o: Array, t: Array) -> Array:
        return o - t

    def share_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return ["1/2 * (", t, " - ", o, ")^2"]

    def gradient_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return [o, " - ", t]

    def lost_factors(self, n: int) -> list[float]:
        return [2.0, 0.5]
