"""A 2-D convolution layer: cross-correlation of each image with F filters, as in the lab notes.

net[f, r, c] = b[f] + sum over channels ch and filter positions (a, b) of
W[f, ch, a, b] * x_padded[ch, r*stride + a, c*stride + b]. The filter is *not* flipped (that would be the
textbook convolution); deep-learning libraries and the notes both slide it as it is.

Backward, for one sample with dL/dnet = D:
- dL/dW[f, ch] = cross-correlation of x_padded[ch] with D[f] (D spread out by the stride);
- dL/db[f] = the sum of D[f];
- dL/dx_padded[ch] = sum over f of the full convolution of D[f] (stride-dilated) with W[f, ch] rotated by
  180 degrees; the padding's border is cut off.
Both are computed here through the windows themselves (each window's gradient is D times the filter),
which is the same arithmetic written without the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.errors import plural
from tutor.model.activations import Activation
from tutor.model.layers.base import Layer
from tutor.model.layers.mistake import INPUT_GRADIENT, WEIGHT_GRADIENT, LayerMistake
from tutor.model.layers.windows import ShapeMismatch, pad, positions, scatter_windows, shape_text, windows


@dataclass(frozen=True)
class ConvCache:
    """What backward needs from forward: the input's windows and the filters used."""

    windows: np.ndarray  # (m, C, Ho, Wo, kh, kw), over the padded input
    weights: np.ndarray  # (F, C, kh, kw)
    padded_hw: tuple[int, int]


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Conv2D(Layer):
    """F filters of shape C x kh x kw, one bias per filter, a stride and zero padding."""

    weights: np.ndarray  # (F, C, kh, kw)
    biases: np.ndarray  # (F,)
    stride: int = 1
    padding: int = 0
    activation: Activation | None = None
    kind: ClassVar[str] = "conv2d"
    takes_images: ClassVar[bool] = True
    mistakes: ClassVar[tuple[LayerMistake, ...]] = ()  # filled in below, once the rules are defined

    @property
    def filters(self) -> int:
        return int(self.weights.shape[0])

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weights.shape[2]), int(self.weights.shape[3])

    @classmethod
    def from_spec(cls, spec: Any) -> "Conv2D":
        """From a validated problem layer (weights, biases, stride, padding, activation)."""
        return cls(spec.weights, spec.biases, spec.stride, spec.padding, spec.activation)

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...]) -> dict:
        """weights (filters), biases (one per filter), stride (1), padding (0), activation (linear)."""
        from tutor.problem import images

        reader.check_keys(entry, path, ("type", "weights", "biases", "stride", "padding", "activation"),
                          ("type", "weights", "biases"))
        weights = images.filters(reader, entry["weights"], [*path, "weights"])
        biases = images.filter_biases(reader, entry["biases"], [*path, "biases"], weights.shape[0])
        return {"params": {"weights": weights, "biases": biases},
                "activation": images.elementwise_activation(reader, entry.get("activation", "linear"),
                                                            [*path, "activation"], cls.kind),
                "stride": images.whole(reader, entry.get("stride", 1), [*path, "stride"], 1),
                "padding": images.whole(reader, entry.get("padding", 0), [*path, "padding"], 0)}

    @staticmethod
    def describe_spec(spec: Any) -> str:
        """``conv2d 2x2 stride 2 relu``: the filter's size, a stride or padding that is not the default."""
        _, _, rows, cols = spec.weights.shape
        extra = "".join(f" {name} {value}" for name, value in (("stride", spec.stride), ("padding", spec.padding))
                        if value != (1 if name == "stride" else 0))
        return f"{Conv2D.kind} {rows}x{cols}{extra} {spec.activation.describe()}"

    def parameters(self) -> dict[str, np.ndarray]:
        """The filters and biases as the problem gives them."""
        return {"weights": self.weights, "biases": self.biases}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(F, Ho, Wo) for an input image (C, H, W); ShapeMismatch when the filters do not fit it."""
        channels, kh, kw = (int(n) for n in self.weights.shape[1:])
        if len(input_shape) != 3:
            raise ShapeMismatch(f"conv2d needs images (channels x height x width), got inputs of shape "
                                f"{shape_text(input_shape)}")
        if input_shape[0] != channels:
            filters = "1 filter" if self.filters == 1 else f"{self.filters} filters"
            raise ShapeMismatch(f"the input has {plural(input_shape[0], 'channel')} ({shape_text(input_shape)}) "
                                f"but the filters have {channels} ({filters} of {shape_text((channels, kh, kw))})")
        height, width = (n + 2 * self.padding for n in input_shape[1:])
        if kh > height or kw > width:
            raise ShapeMismatch(f"the {kh}x{kw} filter is larger than the padded input ({height}x{width}: "
                                f"{shape_text(input_shape)} with padding {self.padding})")
        return self.filters, positions(height, kh, self.stride), positions(width, kw, self.stride)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, ConvCache]:
        """net (m, F, Ho, Wo) for images x (m, C, H, W): every window times every filter, plus the bias."""
        weights, biases = params["weights"], params["biases"]
        padded = pad(np.asarray(x, dtype=float), self.padding)
        view = windows(padded, *self.kernel, self.stride)
        net = np.einsum("mchwij,fcij->mfhw", view, weights) + biases[None, :, None, None]
        return net, ConvCache(view, weights, padded.shape[-2:])

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dL_s/dx per sample, and the batch-mean gradients of the filters and biases."""
        m = dnet.shape[0]
        dx = self.input_gradient(dnet, cache.weights, cache.padded_hw, self.stride)
        grads = {
            "weights": np.einsum("mfhw,mchwij->fcij", dnet, cache.windows) / m,
            "biases": dnet.sum(axis=(0, 2, 3)) / m,
        }
        return dx, grads

    def input_gradient(self, dnet: np.ndarray, weights: np.ndarray, padded_hw: tuple[int, int],
                       stride: int) -> np.ndarray:
        """dL/dx (m, C, H, W): each window's gradient (dnet times the filter) added back, padding cut off.

        `stride` is a parameter so that the catalogued mistake of ignoring it can reuse this.
        """
        grad_windows = np.einsum("mfhw,fcij->mchwij", dnet, weights)
        dx_padded = scatter_windows(grad_windows, padded_hw, stride)
        p = self.padding
        return dx_padded[:, :, p : dx_padded.shape[2] - p, p : dx_padded.shape[3] - p]


# -- catalogued mistakes: each gets one sample's dnet (F, Ho, Wo) and input (C, H, W) ----------------------


def _one(array: np.ndarray) -> np.ndarray:
    return array[None]


def _padded_hw(layer: Conv2D, x: np.ndarray) -> tuple[int, int]:
    return x.shape[-2] + 2 * layer.padding, x.shape[-1] + 2 * layer.padding


def _filter_not_rotated(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dx as the full convolution of dL/dnet with the filter as it is (not rotated by 180 degrees)."""
    flipped = layer.weights[:, :, ::-1, ::-1]
    if np.array_equal(flipped, layer.weights):
        return None
    return layer.input_gradient(_one(dnet), flipped, _padded_hw(layer, x), layer.stride)[0]


def _input_gradient_valid(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dx as the *valid* convolution of dL/dnet with the rotated filter (no zeros around dL/dnet).

    Only the top-left (Ho - kh + 1) x (Wo - kw + 1) corner of the padded input gets a value; NaN elsewhere.
    """
    kh, kw = layer.kernel
    rows, cols = dnet.shape[1] - kh + 1, dnet.shape[2] - kw + 1
    if rows < 1 or cols < 1:
        return None
    rotated = layer.weights[:, :, ::-1, ::-1]
    view = windows(_one(dnet), kh, kw, 1)[0]  # (F, rows, cols, kh, kw)
    valid = np.einsum("fhwij,fcij->chw", view, rotated)
    out = np.full((x.shape[0], *_padded_hw(layer, x)), np.nan)
    out[:, :rows, :cols] = valid
    p = layer.padding
    return out[:, p : out.shape[1] - p, p : out.shape[2] - p]


def _filter_gradient_full(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dW as the *full* convolution of the input with dL/dnet: read where the filter's entries sit."""
    rows, cols = dnet.shape[1:]
    padded = pad(_one(x), layer.padding)[0]
    around = np.pad(padded, [(0, 0), (rows - 1, rows - 1), (cols - 1, cols - 1)])
    full = np.einsum("chwij,fij->fchw", windows(around[None], rows, cols, 1)[0], dnet)
    kh, kw = layer.kernel
    return full[:, :, :kh, :kw]


def _stride_ignored_input(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dx with dL/dnet not spread out by the stride (as if the stride were 1)."""
    if layer.stride == 1:
        return None
    return layer.input_gradient(_one(dnet), layer.weights, _padded_hw(layer, x), 1)[0]


def _stride_ignored_filter(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dW pairing output (r, c) with input window (r, c) at stride 1."""
    if layer.stride == 1:
        return None
    rows, cols = dnet.shape[1:]
    view = windows(pad(_one(x), layer.padding), *layer.kernel, 1)[0, :, :rows, :cols]
    return np.einsum("chwij,fhw->fcij", view, dnet)


FULL_VALID = ("dL/dX needs the full convolution (dL/dO padded with kernel - 1 zeros) and dL/dF the valid "
              "one; the two were swapped")
STRIDE_IGNORED = ("with a stride, output (r, c) comes from the window at (r * stride, c * stride); the "
                  "backward pass paired it with the window at (r, c)")

Conv2D.mistakes = (
    LayerMistake("filter_not_rotated",
                 "dL/dX is the full convolution of dL/dO with the filter rotated by 180 degrees; the filter "
                 "was used as it is", INPUT_GRADIENT, _filter_not_rotated),
    LayerMistake("full_valid_confused",
                 FULL_VALID, INPUT_GRADIENT, _input_gradient_valid),
    LayerMistake("full_valid_confused",
                 FULL_VALID, WEIGHT_GRADIENT, _filter_gradient_full),
    LayerMistake("stride_ignored_backward",
                 STRIDE_IGNORED, INPUT_GRADIENT, _stride_ignored_input),
    LayerMistake("stride_ignored_backward",
                 STRIDE_IGNORED, WEIGHT_GRADIENT, _stride_ignored_filter),
)
