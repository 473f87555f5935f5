"""What max and average pooling share: a square window, a stride, no parameters and no activation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.layers.base import Layer
from tutor.model.layers.windows import ShapeMismatch, positions, shape_text


@dataclass(frozen=True)
class Pooling(Layer):
    """A pooling layer over size x size windows moved by `stride` (the kinds differ in forward and backward)."""

    size: int
    stride: int
    activation: None = None

    @classmethod
    def from_spec(cls, spec: Any) -> "Pooling":
        """From a validated problem layer (its window and stride)."""
        return cls(spec.window, spec.stride)

    takes_images: ClassVar[bool] = True

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...]) -> dict:
        """size (the window's side) and stride (default: the size)."""
        from tutor.problem import images

        reader.check_keys(entry, path, ("type", "size", "stride"), ("type", "size"))
        size = images.whole(reader, entry["size"], [*path, "size"], 1)
        return {"window": size, "stride": images.whole(reader, entry.get("stride", size), [*path, "stride"], 1)}

    @classmethod
    def describe_spec(cls, spec: Any) -> str:
        """``maxpool 2``, with the stride when it is not the window's side."""
        return f"{cls.kind} {spec.window}" + (f" stride {spec.stride}" if spec.stride != spec.window else "")

    def parameters(self) -> dict[str, np.ndarray]:
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, Ho, Wo) for an image (C, H, W); ShapeMismatch when a window does not fit."""
        if len(input_shape) != 3:
            raise ShapeMismatch(f"{self.kind} needs images (channels x height x width), got inputs of shape "
                                f"{shape_text(input_shape)}")
        channels, height, width = input_shape
        if self.size > height or self.size > width:
            raise ShapeMismatch(f"the {self.size}x{self.size} window is larger than the input "
                                f"({shape_text(input_shape)})")
        return channels, positions(height, self.size, self.stride), positions(width, self.size, self.stride)
