"""Random networks of every layer kind (dense, conv2d, pooling, flatten, batchnorm, dropout), one sample or a
batch, as problem files; shared by the PyTorch agreement test and the finite-difference test."""

from __future__ import annotations

import numpy as np


def _r(rng: np.random.Generator, *shape: int, scale: float = 0.6) -> list:
    return np.round(rng.normal(0.0, scale, shape), 3).tolist()


def random_network(seed: int, *, images: bool, samples: int) -> dict:
    """A problem (as data) whose layers mix the kinds; the output is a softmax under cross-entropy."""
    rng = np.random.default_rng(seed)
    layers: list[dict] = []
    if images:
        channels, size = int(rng.integers(1, 3)), int(rng.integers(4, 6))
        inputs = _r(rng, samples, channels, size, size, scale=1.0)
        filters = int(rng.integers(1, 3))
        layers.append({"type": "conv2d", "weights": _r(rng, filters, channels, 2, 2), "biases": _r(rng, filters),
                       "activation": str(rng.choice(["linear", "tanh", "relu"]))})
        shape = [filters, size - 1, size - 1]
        if rng.random() < 0.7:
            layers.append({"type": "batchnorm", "gamma": _r(rng, filters), "beta": _r(rng, filters),
                           "activation": str(rng.choice(["linear", "relu", "tanh"]))})
        if rng.random() < 0.7:
            layers.append({"type": str(rng.choice(["maxpool", "avgpool"])), "size": 2, "stride": 1})
            shape = [filters, shape[1] - 1, shape[2] - 1]
        if rng.random() < 0.5:
            layers.append(_dropout(rng, samples, shape))
        layers.append({"type": "flatten"})
        width = int(np.prod(shape))
    else:
        width = int(rng.integers(2, 4))
        inputs = _r(rng, samples, width, scale=1.0)
    for _ in range(int(rng.integers(1, 3))):
        neurons = int(rng.integers(2, 4))
        layers.append({"weights": _r(rng, neurons, width), "biases": _r(rng, neurons),
                       "activation": "linear" if samples > 1 and rng.random() < 0.5 else "tanh"})
        width = neurons
        if samples > 1 and rng.random() < 0.7:
            layers.append({"type": "batchnorm", "gamma": _r(rng, width), "beta": _r(rng, width),
                           "activation": str(rng.choice(["relu", "sigmoid", "linear"]))})
        if rng.random() < 0.6:
            layers.append(_dropout(rng, samples, [width]))
    classes = 3
    layers.append({"weights": _r(rng, classes, width), "biases": _r(rng, classes), "activation": "softmax"})
    labels = rng.integers(0, classes, samples)
    targets = np.eye(classes)[labels].tolist()
    return {"inputs": inputs if samples > 1 else inputs[0], "targets": targets if samples > 1 else targets[0],
            "layers": layers, "loss": "cross_entropy", "learning_rate": 0.1}


def _dropout(rng: np.random.Generator, samples: int, shape: list[int]) -> dict:
    mask = (rng.random((samples, *shape)) >= 0.4).astype(int)
    return {"type": "dropout", "p": 0.4, "mask": mask.tolist() if samples > 1 else mask[0].tolist()}
