"""Average pooling: each output is the mean of its window; backward shares its gradient equally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.layers.pooling import Pooling, PoolingTrace
from tutor.model.layers.windows import scatter_windows, windows


@dataclass(frozen=True)
class AvgPool(Pooling):
    """Average pooling over size x size windows moved by `stride`."""

    kind: ClassVar[str] = "avgpool"

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, tuple[int, int]]:
        """The mean of each window; the cache is the input's height and width."""
        view = windows(np.asarray(x, dtype=float), self.size, self.size, self.stride)
        return view.mean(axis=(-2, -1)), x.shape[-2:]

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every input of a window gets the window's gradient divided by size * size."""
        share = dnet / (self.size * self.size)
        grad = np.broadcast_to(share[..., None, None], (*dnet.shape, self.size, self.size))
        return scatter_windows(grad, cache, self.stride), {}


class AvgPoolTrace(PoolingTrace):
    """The mean of the window; each input gets its windows' gradients divided by size * size."""

    def window_formula(self, window: list, keys: tuple[str, ...]):
        count = len(window)
        fixed = [t.value for t in window]
        compute = (lambda *v: float(sum(v) / count)) if keys else (lambda: float(sum(fixed) / count))
        return ["(", *self.listed(window, " + "), f") / {count}"], compute, ""

    def gradient_formula(self, terms: list):
        if not terms:
            return ["0"], lambda: 0.0, "no pooling window covers it: its gradient is 0", ()
        count = self.spec.window * self.spec.window
        parts = ["(", *self.listed(terms, " + "), f") / {count}"]
        return parts, lambda *v: float(sum(v) / count), "", tuple(t.key for t in terms)

    def input_gradient_note(self) -> str:
        return "each output's gradient is shared equally among the inputs of its window"


AvgPool.tracer = AvgPoolTrace
