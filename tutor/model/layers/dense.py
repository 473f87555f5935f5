"""A fully connected layer: net = x @ W.T + b, so row j of W holds the weights into neuron j.

A shared bias (one number for the whole layer) is one parameter of shape (1,): its gradient is the sum
of the layer's deltas over its neurons, averaged over the batch like every other gradient.
"""

from __future__ import annotations

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

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        x, weights = cache
        m = x.shape[0]
        grad_weights = dnet.T @ x
        grad_biases = dnet.sum(keepdims=True).reshape(1) if self.shared_bias else dnet.sum(axis=0)
        if m != 1:  # the batch mean (dividing by 1 is exact: skipped, as training runs this thousands of times)
            grad_weights /= m
            grad_biases /= m
        return dnet @ weights, {"weights": grad_weights, "biases": grad_biases}
