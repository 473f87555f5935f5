"""The Huber loss (parameter `delta`, default 1): squared near the target, linear beyond delta.

Each output adds h(o_j - t_j), with h(e) = e^2 / 2 where |e| <= delta and delta * (|e| - delta / 2)
beyond; the sample's loss is the sum over its outputs (as half_sse, which it equals while every
error is within delta; PyTorch's `HuberLoss` averages over the outputs instead). dL/do_j is the
error clipped to [-delta, delta].
"""

from __future__ import annotations

from tutor.model.component import Parameter, lazy_numpy
from tutor.model.losses.base import Array, Loss, Part

np = lazy_numpy(globals())


class Huber(Loss):
    name = "huber"
    description = "squared error near the target, linear beyond delta, 1 by default"
    parameters = (Parameter("delta", 1.0, "positive"),)

    @property
    def formula(self) -> str:
        d = self.params["delta"]
        return f"sum_j h(o_j - t_j), h(e) = 1/2 * e^2 if abs(e) <= {d:g} else {d:g} * (abs(e) - {d / 2:g})"

    @property
    def share_formula(self) -> str:
        return "h(o_j - t_j)"

    @property
    def gradient_formula(self) -> str:
        d = self.params["delta"]
        return f"max(-{d:g}, min({d:g}, o_j - t_j))"

    def shares(self, o: Array, t: Array) -> Array:
        d = self.params["delta"]
        error = np.abs(o - t)
        return np.where(error <= d, 0.5 * error * error, d * (error - 0.5 * d))

    def gradient(self, o: Array, t: Array) -> Array:
        d = self.params["delta"]
        return np.clip(o - t, -d, d)

    def share_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        d = self.params["delta"]
        error = ["abs(", o, " - ", t, ")"]
        return ["1/2 * (", o, " - ", t, ")^2 if ", *error, f" <= {d:g} else {d:g} * (", *error, f" - {d / 2:g})"]

    def gradient_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        d = self.params["delta"]
        return [f"max(-{d:g}, min({d:g}, ", o, " - ", t, "))"]

    def lost_factors(self, n: int) -> list[float]:
        return [2.0, 0.5]
