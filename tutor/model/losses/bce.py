"""Binary cross-entropy averaged over the outputs: each output is a probability of class 1."""

from __future__ import annotations

from typing import Callable

from tutor.model.activations import Activation
from tutor.model.component import lazy_numpy
from tutor.model.losses.base import Array, Loss, Part, first_trouble

np = lazy_numpy(globals())


class Bce(Loss):
    name = "bce"
    description = "binary cross-entropy, averaged over the outputs"
    formula = "-1/n * sum_j (t_j ln o_j + (1 - t_j) ln(1 - o_j))"
    share_formula = "-1/n * (t_j ln o_j + (1 - t_j) ln(1 - o_j))"
    gradient_formula = "(o_j - t_j) / (n * o_j * (1 - o_j))"
    targets_rule = "numbers from 0 to 1"
    target_range = (0.0, 1.0)
    output_range = (0.0, 1.0)
    class_targets = True

    def shares(self, o: Array, t: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = np.where(t > 0, t * np.log(o), 0.0)
            neg = np.where(t < 1, (1.0 - t) * np.log1p(-o), 0.0)
        return -(pos + neg) / o.shape[-1]

    def gradient(self, o: Array, t: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (o - t) / (o * (1.0 - o)) / o.shape[-1]

    def share_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return [f"-1/{n} * (", t, " * ln(", o, ") + (1 - ", t, ") * ln(1 - ", o, "))"]

    def gradient_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return ["(", o, " - ", t, f") / ({n} * ", o, " * (1 - ", o, "))"]

    def lost_factors(self, n: int) -> list[float]:
        return [n, 1.0 / n]

    def cancelled_delta(self, activation: Activation) -> Callable[[Array, Array], Array] | None:
        """A logistic output: dL/dnet = (out - t) / n."""
        return (lambda out, t: (out - t) / out.shape[-1]) if activation.logistic else None

    def output_trouble(self, outputs: Array, targets: Array) -> tuple[int, int, str] | None:
        bad = (outputs <= 0) | (outputs >= 1)
        return first_trouble(bad, "every output strictly between 0 and 1")

