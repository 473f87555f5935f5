"""Cross-entropy, -sum_j t_j ln o_j: with a softmax output its delta is simply out - t."""

from __future__ import annotations

from typing import Callable

from tutor.model.activations import Activation
from tutor.model.component import lazy_numpy
from tutor.model.losses.base import Array, Loss, Part, first_trouble

np = lazy_numpy(globals())


class CrossEntropy(Loss):
    name = "cross_entropy"
    description = "cross-entropy, for a softmax output with class labels"
    formula = "-sum_j t_j ln o_j"
    share_formula = "-t_j ln o_j"
    gradient_formula = "-t_j / o_j"
    targets_rule = "numbers from 0 to 1"
    target_range = (0.0, 1.0)
    output_range = (0.0, 1.0)
    fused_note = "softmax + cross-entropy: dL/dnet_j = out_j - t_j (the softmax Jacobian and -t/o cancel)"

    def shares(self, o: Array, t: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t > 0, -t * np.log(o), 0.0)

    def gradient(self, o: Array, t: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t > 0, -t / o, 0.0)

    def share_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return ["-", t, " * ln(", o, ")"]

    def gradient_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        return ["-", t, " / ", o]

    def fuses_with(self, activation: Activation) -> bool:
        """A distribution output (softmax) with targets adding up to 1 (the loader checks them)."""
        return activation.distribution

    def fused_delta(self, out: Array, targets: Array) -> Array:
        return out - targets

    def fused_delta_parts(self, o: Part, t: Part) -> list[Part]:
        return [o, " - ", t]

    def cancelled_delta(self, activation: Activation) -> Callable[[Array, Array], Array] | None:
        """A logistic output: dL/dnet = -t * (1 - out)."""
        return (lambda out, t: -t * (1.0 - out)) if activation.logistic else None

    def output_trouble(self, outputs: Array, targets: Array) -> tuple[int, int, str] | None:
        return first_trouble((outputs <= 0) & (targets > 0), "a positive output wherever the target is not 0")
