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


# -- the trace ---------------------------------------------------------------------------------------------

from tutor.trace.layer_trace import LayerTrace  # noqa: E402


class FlattenTrace(LayerTrace):
    """Entry k of the vector is the image's number at k (C-order); the gradient goes back to its place."""

    formulas = frozenset({"out"})

    def forward_entries(self):
        for s in range(self.m):
            yield from (("out", self.l, j, None, s) for j in self.positions())

    def backward_entries(self):
        for s in range(self.m):
            yield from (("dloss_dout", self.l, j, None, s) for j in self.positions())

    def formula(self, kind: str, j, s: int | None):
        index = tuple(int(k) + 1 for k in np.unravel_index(j - 1, self.in_shape))
        x = self.input_term(index, s)
        if x.key is None:
            return [x], lambda: x.value, "", ()
        return [x], lambda v: float(v), "", (x.key,)

    def input_gradient(self, j, s: int):
        flat = int(np.ravel_multi_index(tuple(k - 1 for k in j), self.in_shape)) + 1
        grad = self.standard("dloss_dout", flat, s)
        return [grad], lambda v: float(v), "", (grad.key,)

    def input_gradient_note(self) -> str:
        return "the gradient is put back into the image's shape"

    def tables(self, section: str):
        kinds = ("out",) if section == "forward" else ("dloss_dout",)
        title = f"Layer {self.l}: {self.spec.describe()}" if section == "forward" else f"Layer {self.l}: dL/dout (flatten)"
        return [(kinds, title, [], "")]

    def describe(self, q):
        entry = f"entry {q.j} of the flattened vector (layer {q.layer})" + \
            (f" (sample {q.sample})" if q.sample is not None else "")
        return entry if q.kind == "out" else f"derivative of the loss with respect to {entry}"


Flatten.tracer = FlattenTrace
