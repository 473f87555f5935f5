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

from tutor.model.activations import Activation
from tutor.model.layers.windows import ShapeMismatch, pad, positions, scatter_windows, shape_text, windows


@dataclass(frozen=True)
class ConvCache:
    """What backward needs from forward: the input's windows and the filters used."""

    windows: np.ndarray  # (m, C, Ho, Wo, kh, kw), over the padded input
    weights: np.ndarray  # (F, C, kh, kw)
    padded_hw: tuple[int, int]


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Conv2D:
    """F filters of shape C x kh x kw, one bias per filter, a stride and zero padding."""

    weights: np.ndarray  # (F, C, kh, kw)
    biases: np.ndarray  # (F,)
    stride: int = 1
    padding: int = 0
    activation: Activation | None = None
    kind: ClassVar[str] = "conv2d"

    @property
    def filters(self) -> int:
        return int(self.weights.shape[0])

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weights.shape[2]), int(self.weights.shape[3])

    def parameters(self) -> dict[str, np.ndarray]:
        """The filters and biases as the problem gives them."""
        return {"weights": self.weights, "biases": self.biases}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(F, Ho, Wo) for an input image (C, H, W); ShapeMismatch when the filters do not fit it."""
        channels, kh, kw = (int(n) for n in self.weights.shape[1:])
        filter_text = f"{self.filters} filter(s) of {shape_text((channels, kh, kw))}"
        if len(input_shape) != 3:
            raise ShapeMismatch(f"conv2d needs images (channels x height x width), got inputs of shape "
                                f"{shape_text(input_shape)}")
        if input_shape[0] != channels:
            raise ShapeMismatch(f"the input has {input_shape[0]} channel(s) ({shape_text(input_shape)}) but "
                                f"the layer has {filter_text}")
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
        grad_windows = np.einsum("mfhw,fcij->mchwij", dnet, cache.weights)
        dx_padded = scatter_windows(grad_windows, cache.padded_hw, self.stride)
        p = self.padding
        dx = dx_padded[:, :, p : dx_padded.shape[2] - p, p : dx_padded.shape[3] - p]
        grads = {
            "weights": np.einsum("mfhw,mchwij->fcij", dnet, cache.windows) / m,
            "biases": dnet.sum(axis=(0, 2, 3)) / m,
        }
        return dx, grads
