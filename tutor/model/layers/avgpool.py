"""Average pooling: each output is the mean of its window; backward shares its gradient equally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.layers.base import Layer

from tutor.model.layers.windows import pool_output_shape, scatter_windows, windows


@dataclass(frozen=True)
class AvgPool(Layer):
    """Average pooling over size x size windows moved by `stride`."""

    size: int
    stride: int
    activation: None = None
    kind: ClassVar[str] = "avgpool"

    @classmethod
    def from_spec(cls, spec: Any) -> "AvgPool":
        """From a validated problem layer (its window and stride)."""
        return cls(spec.window, spec.stride)

    def parameters(self) -> dict[str, np.ndarray]:
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, Ho, Wo) for an image (C, H, W); ShapeMismatch when a window does not fit."""
        return pool_output_shape(self.kind, input_shape, self.size, self.stride)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, tuple[int, int]]:
        """The mean of each window; the cache is the input's height and width."""
        view = windows(np.asarray(x, dtype=float), self.size, self.size, self.stride)
        return view.mean(axis=(-2, -1)), x.shape[-2:]

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every input of a window gets the window's gradient divided by size * size."""
        share = dnet / (self.size * self.size)
        grad = np.broadcast_to(share[..., None, None], (*dnet.shape, self.size, self.size))
        return scatter_windows(grad, cache, self.stride), {}
