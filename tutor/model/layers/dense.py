"""A fully connected layer: net = x @ W.T + b, so row j of W holds the weights into neuron j.

A shared bias (one number for the whole layer) is one parameter of shape (1,): its gradient is the sum
of the layer's deltas over its neurons, averaged over the batch like every other gradient.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tutor.model.activations import Activation
from tutor.model.layers.base import Layer


class Dense(Layer):
    """A dense layer with its starting weights (neurons, inputs) and biases ((neurons,) or (1,) if shared)."""

    kind = "dense"

    def __init__(self, weights: np.ndarray, biases: np.ndarray, activation: Activation,
                 shared_bias: bool = False) -> None:
        self.weights = weights
        self.biases = biases[:1].copy() if shared_bias else biases.copy()
        self.activation = activation
        self.shared_bias = shared_bias

    @classmethod
    def from_spec(cls, spec: Any) -> "Dense":
        """From a validated problem layer (weights, biases, activation, shared_bias)."""
        return cls(spec.weights, spec.biases, spec.activation, spec.shared_bias)

    def parameters(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "biases": self.biases}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (int(self.weights.shape[0]),)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, Any]:
        weights = params["weights"]
        return x @ weights.T + params["biases"], (x, weights)

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, Mapping[str, np.ndarray]]:
        x, weights = cache
        m = x.shape[0]
        grad_weights = dnet.T @ x
        if m != 1:  # the batch mean (dividing by 1 is exact: skipped, as training runs this thousands of times)
            grad_weights /= m
        return dnet @ weights, _Gradients(grad_weights, dnet, self.shared_bias)


class _Gradients(Mapping):
    """{"weights": ..., "biases": ...}, the biases' gradient summed only when first read: training with
    fixed biases (`update_biases: false`) never reads it."""

    __slots__ = ("weights", "_biases", "_dnet", "_shared")

    def __init__(self, grad_weights: np.ndarray, dnet: np.ndarray, shared_bias: bool) -> None:
        self.weights, self._biases, self._dnet, self._shared = grad_weights, None, dnet, shared_bias

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "weights":
            return self.weights
        if name != "biases":
            raise KeyError(name)
        if self._biases is None:
            dnet = self._dnet  # np.add.reduce: ndarray.sum without its Python wrapper
            grad = np.add.reduce(dnet, axis=None, keepdims=True).reshape(1) if self._shared \
                else np.add.reduce(dnet, axis=0)
            if dnet.shape[0] != 1:
                grad /= dnet.shape[0]
            self._biases = grad
        return self._biases

    def __iter__(self) -> Iterator[str]:
        return iter(("weights", "biases"))

    def __len__(self) -> int:
        return 2
