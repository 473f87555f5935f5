"""The layer interface: forward and backward side by side, with an explicit cache between them.

A layer maps a batch of inputs to its net inputs (pre-activations); the engine applies the layer's
activation after `forward` and turns dL/dout into dL/dnet before `backward`. Shapes are per sample:
a batch adds a leading axis of m samples.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from tutor.model.activations import Activation


class Layer(ABC):
    """One layer of a network, with the parameters it starts from."""

    kind: str  # "dense", "conv2d", "maxpool", "avgpool", "flatten"
    activation: Activation | None  # applied by the engine after forward; None for pool/flatten

    @abstractmethod
    def parameters(self) -> dict[str, np.ndarray]:
        """The parameters as the step starts: "weights", "biases" as in the problem; {} for pool/flatten."""

    @abstractmethod
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one sample's net inputs, given one sample's input shape."""

    @abstractmethod
    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, Any]:
        """x: (m, *input_shape) -> (net: (m, *output_shape), cache for `backward`)."""

    @abstractmethod
    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dnet: dL_s/dnet per sample (each sample's own loss) -> (dL_s/dx per sample, name -> the
        batch-mean gradient of each parameter, shaped like the parameter)."""
