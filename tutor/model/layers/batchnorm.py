"""Batch normalization in training mode, as PyTorch's BatchNorm1d (rows of features) and BatchNorm2d (images).

Per feature j (per channel after a conv layer), over the m numbers of the batch (samples, and every
position of an image):

    mu = sum(x) / m                        var = sum((x - mu)^2) / m      (biased, as in training)
    x_hat = (x - mu) / sqrt(var + eps)     y = gamma * x_hat + beta       (then the layer's activation)

Backward, with dy = dL/dy:

    dgamma = sum(dy * x_hat)   dbeta = sum(dy)   dx_hat = dy * gamma
    dvar = sum(dx_hat * (x - mu)) * (-1/2) * (var + eps)^(-3/2)
    dmu = -sum(dx_hat) / sqrt(var + eps) + dvar * sum(-2 * (x - mu)) / m
    dx = dx_hat / sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
       = gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat))   (the compact form)

The engine's gradients flow as each sample's share scaled to the batch (dL_s/d.. summed over the samples'
losses, m_samples * dL/d..); batch norm is linear in dy, so the rules above hold as they are, and the
parameters' gradients are divided by the number of samples like every other layer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.activations import Activation
from tutor.model.layers.base import Layer
from tutor.model.layers.windows import ShapeMismatch, shape_text

EPS = 1e-5


@dataclass(frozen=True)
class BatchNormCache:
    """What backward (and the trace) needs from forward."""

    x: np.ndarray  # the layer's input (m, n) or (m, C, H, W)
    mu: np.ndarray  # (n,) or (C,)
    var: np.ndarray  # biased
    x_hat: np.ndarray  # like x
    inv_std: np.ndarray  # 1 / sqrt(var + eps)
    gamma: np.ndarray
    axes: tuple[int, ...]  # the axes each feature's statistics run over
    count: int  # how many numbers each feature's statistics take (samples x positions)


def feature_shape(x: np.ndarray) -> tuple[int, ...]:
    """How a per-feature array broadcasts against x: (1, n) for rows, (1, C, 1, 1) for images."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def statistics_axes(x: np.ndarray) -> tuple[int, ...]:
    """The axes of the batch's numbers for one feature: the samples, and an image's positions."""
    return (0,) if x.ndim == 2 else (0, *range(2, x.ndim))


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class BatchNorm(Layer):
    """gamma and beta per feature (per channel), eps, and the activation applied after y."""

    gamma: np.ndarray
    beta: np.ndarray
    eps: float = EPS
    activation: Activation | None = None
    kind: ClassVar[str] = "batchnorm"
    #: A parameter's symbol in keys and labels: new_gamma2_1, dL/dgamma^2_1.
    symbols: ClassVar[dict[str, str]] = {"gamma": "gamma", "beta": "beta"}

    @classmethod
    def from_spec(cls, spec: Any) -> "BatchNorm":
        return cls(spec.params["gamma"], spec.params["beta"], spec.settings["eps"], spec.activation)

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...]) -> dict:
        """gamma, beta (one per feature, or per channel of an image), eps (default 1e-5) and activation."""
        reader.check_keys(entry, path, ("type", "gamma", "beta", "eps", "activation"), ("type", "gamma", "beta"))
        features = shape[0]
        what = f"one per {'channel' if len(shape) == 3 else 'feature'} ({features})"
        params = {name: reader.vector(entry[name], [*path, name], features, what) for name in ("gamma", "beta")}
        eps = reader.number(entry.get("eps", EPS), [*path, "eps"], "a positive number (eps)")
        if eps <= 0:
            reader.fail([*path, "eps"], f"must be positive, got {eps:g}")
        from tutor.problem.images import elementwise_activation

        activation = elementwise_activation(reader, entry.get("activation", "linear"), [*path, "activation"], cls.kind)
        return {"params": params, "settings": {"eps": eps}, "activation": activation}

    @staticmethod
    def describe_spec(spec: Any) -> str:
        eps = spec.settings["eps"]
        return "batchnorm" + (f" eps {eps:g}" if eps != EPS else "") + f" {spec.activation.describe()}"

    def parameters(self) -> dict[str, np.ndarray]:
        return {"gamma": self.gamma, "beta": self.beta}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) not in (1, 3):
            raise ShapeMismatch(f"batchnorm takes rows of features or images, got {shape_text(input_shape)}")
        if input_shape[0] != self.gamma.size:
            unit = "channel" if len(input_shape) == 3 else "feature"
            raise ShapeMismatch(f"gamma and beta have {self.gamma.size} entries but the input has "
                                f"{input_shape[0]} {unit}s ({shape_text(input_shape)})")
        return tuple(input_shape)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, BatchNormCache]:
        """y = gamma * x_hat + beta with the batch's own mean and biased variance."""
        x = np.asarray(x, dtype=float)
        axes, shape = statistics_axes(x), feature_shape(x)
        gamma, beta = params["gamma"], params["beta"]
        mu = x.mean(axis=axes)
        var = x.var(axis=axes)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mu.reshape(shape)) * inv_std.reshape(shape)
        y = gamma.reshape(shape) * x_hat + beta.reshape(shape)
        count = x.size // x.shape[1]
        return y, BatchNormCache(x, mu, var, x_hat, inv_std, gamma, axes, count)

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dx by the chain rule through x_hat, var and mu; dgamma and dbeta as batch means."""
        parts = backward_parts(dnet, cache)
        samples = dnet.shape[0]
        return parts["dx"], {"gamma": parts["dgamma"] / samples, "beta": parts["dbeta"] / samples}


def backward_parts(dy: np.ndarray, cache: BatchNormCache) -> dict[str, np.ndarray]:
    """Every intermediate of the backward pass: dgamma, dbeta (sums), dx_hat, dvar, dmu and dx."""
    shape, axes, m = feature_shape(dy), cache.axes, cache.count
    centred = cache.x - cache.mu.reshape(shape)
    dx_hat = dy * cache.gamma.reshape(shape)
    dvar = (dx_hat * centred).sum(axis=axes) * -0.5 * cache.inv_std ** 3
    dmu = -dx_hat.sum(axis=axes) * cache.inv_std + dvar * (-2.0 * centred).sum(axis=axes) / m
    dx = dx_hat * cache.inv_std.reshape(shape) + dvar.reshape(shape) * 2.0 * centred / m + dmu.reshape(shape) / m
    return {"dgamma": (dy * cache.x_hat).sum(axis=axes), "dbeta": dy.sum(axis=axes), "dx_hat": dx_hat,
            "dvar": dvar, "dmu": dmu, "dx": dx}


def compact_dx(dy: np.ndarray, cache: BatchNormCache) -> np.ndarray:
    """dx = gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat))."""
    shape, axes, m = feature_shape(dy), cache.axes, cache.count
    scale = (cache.gamma * cache.inv_std / m).reshape(shape)
    return scale * (m * dy - dy.sum(axis=axes).reshape(shape)
                    - cache.x_hat * (dy * cache.x_hat).sum(axis=axes).reshape(shape))
