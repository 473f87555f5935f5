"""Sliding windows over images, shared by the convolution and pooling layers.

Images are channels first, a batch is (m, C, H, W). A window of size kh x kw moves by `stride` in both
directions; output position (r, c) (0-based) looks at rows r*stride .. r*stride+kh-1 and columns
c*stride .. c*stride+kw-1 of the (padded) input.
"""

from __future__ import annotations

import numpy as np


class ShapeMismatch(ValueError):
    """A layer that cannot take the shape it is given; the message names both shapes."""


def shape_text(shape: tuple[int, ...]) -> str:
    """A per-sample shape as a student writes it, e.g. ``2x3x3``."""
    return "x".join(str(n) for n in shape)


def positions(size: int, window: int, stride: int) -> int:
    """How many window positions fit along one axis of `size` numbers (the output's length)."""
    return (size - window) // stride + 1


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zeros around the last two axes of a batch of images."""
    if padding == 0:
        return x
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(padding, padding), (padding, padding)])


def windows(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """A read-only view (m, C, Ho, Wo, kh, kw): the window under each output position."""
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(-2, -1))
    return view[..., ::stride, ::stride, :, :]


def scatter_windows(grad_windows: np.ndarray, input_hw: tuple[int, int], stride: int) -> np.ndarray:
    """The adjoint of `windows`: add each window's gradient (m, C, Ho, Wo, kh, kw) back onto the input.

    One vectorised addition per position inside the window (kh * kw of them), so overlapping windows
    add up and input numbers that no window covers get 0.
    """
    m, channels, rows, cols, kh, kw = grad_windows.shape
    out = np.zeros((m, channels, *input_hw))
    for a in range(kh):
        for b in range(kw):
            out[:, :, a : a + stride * rows : stride, b : b + stride * cols : stride] += grad_windows[..., a, b]
    return out

