"""Catalogued mistakes in the backward pass of a layer, owned by the layer type they belong to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

#: What a wrong rule recomputes: the gradient with respect to the layer's input (per sample, the input's
#: shape) or with respect to its weights (per sample, the weights' shape).
INPUT_GRADIENT, WEIGHT_GRADIENT = "input_gradient", "weight_gradient"


@dataclass(frozen=True)
class LayerMistake:
    """A wrong way of taking a layer's gradient: a stable id, a one-line explanation, and the wrong rule.

    `wrong(layer, dnet, x)` gets one sample's dL/dnet and input (channels first, the layer's own
    weights are the ones the step started with) and returns the whole gradient `target` under the mistake,
    NaN where the mistake gives no value, or None when the mistake cannot happen for this layer.
    """

    id: str
    explanation: str
    target: str
    wrong: Callable[[Any, np.ndarray, np.ndarray], np.ndarray | None]


@dataclass(frozen=True)
class TraceMistake:
    """A wrong way of computing one of a layer's traced quantities: a stable id, a one-line explanation, and
    the wrong rule `wrong(part, q, world, role)`, where `part` is the layer's `LayerTrace`, `role` is "own"
    for one of the layer's quantities or "input" for the gradient with respect to the layer's input (the
    previous layer's dL/dout), and `world` maps keys to the values to use (a student's own, where given).
    It returns what q would be under the mistake ([] when the mistake does not concern q or changes nothing).
    """

    id: str
    explanation: str
    wrong: Callable[[Any, Any, Any, str], list[float]]
