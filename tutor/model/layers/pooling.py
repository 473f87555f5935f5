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


# -- the trace ---------------------------------------------------------------------------------------------

import itertools  # noqa: E402

from tutor.trace.layer_trace import LayerTrace, summed  # noqa: E402


class PoolingTrace(LayerTrace):
    """Each output from its window (the kinds say how: `window_formula`), and each input's gradient from the
    outputs whose windows it is in (`input_share`)."""

    formulas = frozenset({"map_out"})
    dnet_kind = "dloss_dout"  # no activation: backward takes dL/dout

    def forward_entries(self):
        for s in range(self.m):
            yield from (("map_out", self.l, p, None, s) for p in self.positions())

    def backward_entries(self):
        for s in range(self.m):
            yield from (("map_dloss_dout", self.l, p, None, s) for p in self.positions())

    def window(self, j, s: int) -> list:
        """The input terms of output j's window, in reading order."""
        ch, r, c = (k - 1 for k in j)
        size, stride = self.spec.window, self.spec.stride
        return [self.input_term((ch + 1, r * stride + a + 1, c * stride + b + 1), s)
                for a in range(size) for b in range(size)]

    def formula(self, kind: str, j, s: int | None):
        window = self.window(j, s)
        keys = tuple(t.key for t in window if t.key is not None)
        parts, compute, note = self.window_formula(window, keys)
        return parts, compute, note, keys

    def window_formula(self, window: list, keys: tuple[str, ...]):
        """(parts, compute, note) of an output from its window's terms."""
        raise NotImplementedError

    def covering(self, ch: int, row: int, col: int, s: int) -> list[tuple[int, int]]:
        """The (r, c) of every output whose window holds input (ch, row, col) (0-based)."""
        size, stride = self.spec.window, self.spec.stride
        out_rows, out_cols = self.out_shape[1:]
        return [(r, c) for r, c in itertools.product(range(out_rows), range(out_cols))
                if r * stride <= row < r * stride + size and c * stride <= col < c * stride + size]

    def input_gradient(self, j, s: int):
        ch, row, col = (k - 1 for k in j)
        terms = [self.standard("dloss_dout", (ch + 1, r + 1, c + 1), s)
                 for r, c in self.input_share(ch, row, col, s)]
        return self.gradient_formula(terms)

    def input_share(self, ch: int, row: int, col: int, s: int) -> list[tuple[int, int]]:
        """The outputs whose gradient input (ch, row, col) of sample s gets a share of."""
        return self.covering(ch, row, col, s)

    def gradient_formula(self, terms: list):
        raise NotImplementedError

    @staticmethod
    def listed(terms: list, separator: str) -> list:
        return summed([[t] for t in terms], separator)
