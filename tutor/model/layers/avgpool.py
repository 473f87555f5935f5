"""Average pooling: each output is the mean of its window; backward shares its gradient equally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.layers.pooling import Pooling
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
