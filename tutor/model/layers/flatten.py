"""Flatten: an image (C, H, W) becomes one vector, channel by channel, row by row (C-order)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.layers.base import Layer
from tutor.model.layers.windows import ShapeMismatch


@dataclass(frozen=True)
class Flatten(Layer):
    """Reshapes each sample to a vector so a dense layer can follow; it has no parameters."""

    activation: None = None
    kind: ClassVar[str] = "flatten"

    @classmethod
    def from_spec(cls, spec: Any) -> "Flatten":
        """From a validated problem layer (a flatten layer has no settings)."""
        return cls()

    takes_images: ClassVar[bool] = True

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...]) -> dict:
        """A flatten layer has no settings."""
        reader.check_keys(entry, path, ("type",), ("type",))
        return {}

    @staticmethod
    def describe_spec(spec: Any) -> str:
        return Flatten.kind

    def parameters(self) -> dict[str, np.ndarray]:
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C*H*W,) for an image (C, H, W); ShapeMismatch for what is a vector already."""
        if len(input_shape) != 3:
            raise ShapeMismatch(f"flatten takes an image (channels x height x width); its input is already a "
                                f"vector of {math.prod(input_shape)}")
        return (math.prod(input_shape),)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, tuple[int, ...]]:
        """(m, C*H*W); entry ch*H*W + r*W + c is x[ch, r, c]. The cache is the input's shape."""
        return np.asarray(x, dtype=float).reshape(x.shape[0], -1), x.shape

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The gradient reshaped back to the image."""
        return dnet.reshape(cache), {}
