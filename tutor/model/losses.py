"""Loss functions for one sample, each with its gradient right beside it.

`shares(o, t)` is each output's part of the sample's loss (they add up to the loss), and
`gradient(o, t)` is dL/do for each output. Both work on arrays whose last axis is the outputs;
a batch's loss is the mean of its samples' losses (that averaging lives in the engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """One loss: per-output shares, gradient, how they are written, and which targets it allows."""

    name: str
    shares: Callable[[Array, Array], Array]
    gradient: Callable[[Array, Array], Array]
    formula: str  # the loss of one sample, in o (outputs), t (targets), n (number of outputs)
    share_formula: str  # one output's share
    gradient_formula: str  # dL/do_j
    targets_rule: str  # what targets it accepts, for messages
    target_range: tuple[float, float] | None  # inclusive bounds, or None for any finite number

    def value(self, outputs: Array, targets: Array) -> Array:
        """The loss of each sample (sum of its shares)."""
        return np.sum(self.shares(outputs, targets), axis=-1)


def _n(o: Array) -> int:
    return o.shape[-1]


def _half_sse() -> Loss:
    return Loss(
        "half_sse", lambda o, t: 0.5 * (t - o) ** 2, lambda o, t: o - t,
        "1/2 * sum_j (t_j - o_j)^2", "1/2 * (t_j - o_j)^2", "o_j - t_j", "any numbers", None,
    )


def _sse() -> Loss:
    return Loss(
        "sse", lambda o, t: (t - o) ** 2, lambda o, t: 2.0 * (o - t),
        "sum_j (t_j - o_j)^2", "(t_j - o_j)^2", "2 * (o_j - t_j)", "any numbers", None,
    )


def _mse() -> Loss:
    return Loss(
        "mse", lambda o, t: (t - o) ** 2 / _n(o), lambda o, t: 2.0 * (o - t) / _n(o),
        "1/n * sum_j (t_j - o_j)^2", "1/n * (t_j - o_j)^2", "2/n * (o_j - t_j)", "any numbers", None,
    )


def _bce_shares(o: Array, t: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(t > 0, t * np.log(o), 0.0)
        neg = np.where(t < 1, (1.0 - t) * np.log1p(-o), 0.0)
    return -(pos + neg) / _n(o)


def _bce_gradient(o: Array, t: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (o - t) / (o * (1.0 - o)) / _n(o)


def _bce() -> Loss:
    return Loss(
        "bce", _bce_shares, _bce_gradient,
        "-1/n * sum_j (t_j ln o_j + (1 - t_j) ln(1 - o_j))", "-1/n * (t_j ln o_j + (1 - t_j) ln(1 - o_j))",
        "(o_j - t_j) / (n * o_j * (1 - o_j))", "numbers from 0 to 1", (0.0, 1.0),
    )


def _ce_shares(o: Array, t: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, -t * np.log(o), 0.0)


def _ce_gradient(o: Array, t: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, -t / o, 0.0)


def _cross_entropy() -> Loss:
    return Loss(
        "cross_entropy", _ce_shares, _ce_gradient,
        "-sum_j t_j ln o_j", "-t_j ln o_j", "-t_j / o_j", "numbers from 0 to 1", (0.0, 1.0),
    )


LOSSES: dict[str, Callable[[], Loss]] = {
    "half_sse": _half_sse,
    "sse": _sse,
    "mse": _mse,
    "bce": _bce,
    "cross_entropy": _cross_entropy,
}


def make_loss(name: str) -> Loss:
    """Build a loss by name (names are checked by the loader)."""
    return LOSSES[name]()
