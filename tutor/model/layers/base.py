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

    kind: str  # the `type:` of the problem file; registered in tutor.model.layers.LAYERS
    activation: Activation | None  # applied by the engine after forward; None for pool/flatten
    #: A parameter's symbol in keys and labels (dL_dw1_1_1, new_gamma2_1): name -> symbol.
    symbols: dict[str, str] = {"weights": "w", "biases": "b"}
    #: The layer's part of the trace (`tutor.trace.layer_trace.LayerTrace`); None: the builder's own (dense,
    #: and the image layers' builder).
    tracer: Any = None
    #: Whether the layer takes images (the problem's inputs are then images).
    takes_images: bool = False
    #: Whether `read` also takes the number of samples (a layer with a per-sample setting, such as a mask).
    reads_samples: bool = False

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...]) -> dict:
        """The layer's fields from its entry in the problem file (the loader's `reader` reports bad ones, in
        place): "params" (name -> array), "activation", and the kind's settings."""
        raise NotImplementedError(cls.kind)

    @staticmethod
    def describe_spec(spec: Any) -> str:
        """The kind with its settings, as the summary and the worked solution show it."""
        raise NotImplementedError

    def in_training(self, rng: np.random.Generator) -> "Layer":
        """The layer as `train` runs it (dropout draws its masks from `rng`); most layers are the same."""
        return self

    def in_prediction(self) -> "Layer":
        """The layer as predictions run it (dropout off); most layers are the same."""
        return self

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
        """dnet: dL_s/dnet per sample (each sample's own loss; with a layer that couples the samples, such as
        batch norm, the sum over every sample's loss: m * dL/dnet) -> (the same of x, name -> the
        batch-mean gradient of each parameter, shaped like the parameter)."""
