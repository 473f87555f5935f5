"""Gradient clipping before the optimizer's step, as PyTorch's clip_grad_norm_ and clip_grad_value_.

- `max_norm`: the 2-norm of every parameter's gradient together, norm = sqrt(sum of g^2 over all of them);
  each gradient is multiplied by coef = min(1, max_norm / (norm + 1e-6));
- `max_value`: each gradient entry clamped to [-max_value, max_value].
The gradients the step reports are those before clipping; the optimizer gets the clipped ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

#: What PyTorch adds to the norm before dividing (clip_grad_norm_).
NORM_EPS = 1e-6
CLIPPING_KEYS = ("max_norm", "max_value")

Grads = list[Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Clipping:
    """One of max_norm or max_value (positive)."""

    max_norm: float | None = None
    max_value: float | None = None

    def describe(self) -> str:
        return f"clip norm {self.max_norm:g}" if self.max_norm is not None else f"clip value {self.max_value:g}"


@dataclass(frozen=True)
class Clipped:
    """The clipping of one step: the norm and coefficient (max_norm), and every layer's clipped gradients."""

    clipping: Clipping
    norm: float | None
    coef: float | None
    grads: tuple[dict[str, np.ndarray], ...]


def gradient_norm(grads: Grads) -> float:
    """The 2-norm of every gradient entry of every parameter together."""
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for layer in grads for g in layer.values())))


def clip(clipping: Clipping, grads: Grads) -> Clipped:
    """The gradients after clipping (new arrays; the given ones are left as they are)."""
    if clipping.max_value is not None:
        limit = clipping.max_value
        clipped = tuple({name: np.clip(g, -limit, limit) for name, g in layer.items()} for layer in grads)
        return Clipped(clipping, None, None, clipped)
    norm = gradient_norm(grads)
    coef = min(1.0, clipping.max_norm / (norm + NORM_EPS))
    clipped = tuple({name: g * coef for name, g in layer.items()} for layer in grads)
    return Clipped(clipping, norm, coef, clipped)
