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


#: A batch of three through a linear layer, batch norm + ReLU (eps 0.1, so that leaving it out shows),
#: dropout and a softmax output; worked by hand below (`by_hand`).
BN_DROPOUT = """\
inputs: [[0.5, 1.0], [1.5, -0.5], [-1.0, 0.5]]
labels: [0, 1, 1]
layers:
  - weights: [[0.4, -0.3], [0.2, 0.6]]
    biases: [0.1, -0.1]
    activation: linear
  - type: batchnorm
    gamma: [1.5, 0.8]
    beta: [0.1, -0.2]
    eps: 0.1
    activation: relu
  - type: dropout
    p: 0.25
    mask: [[1, 0], [1, 1], [0, 1]]
  - weights: [[0.7, -0.4], [-0.3, 0.5]]
    biases: [0.0, 0.1]
    activation: softmax
loss: cross_entropy
learning_rate: 0.1
"""


def by_hand() -> dict[str, np.ndarray]:
    """BN_DROPOUT's forward and backward pass written out with numpy, line by line (an independent check)."""
    x = np.array([[0.5, 1.0], [1.5, -0.5], [-1.0, 0.5]])
    y_true = np.eye(2)[[0, 1, 1]]
    w1, b1 = np.array([[0.4, -0.3], [0.2, 0.6]]), np.array([0.1, -0.1])
    gamma, beta, eps = np.array([1.5, 0.8]), np.array([0.1, -0.2]), 0.1
    mask, p = np.array([[1, 0], [1, 1], [0, 1]], float), 0.25
    w4, b4 = np.array([[0.7, -0.4], [-0.3, 0.5]]), np.array([0.0, 0.1])
    m = 3
    z1 = x @ w1.T + b1
    mu = z1.sum(axis=0) / m
    var = ((z1 - mu) ** 2).sum(axis=0) / m
    x_hat = (z1 - mu) / np.sqrt(var + eps)
    y = gamma * x_hat + beta
    a2 = np.maximum(y, 0)
    a3 = a2 * mask / (1 - p)
    z4 = a3 @ w4.T + b4
    e = np.exp(z4 - z4.max(axis=1, keepdims=True))
    prob = e / e.sum(axis=1, keepdims=True)
    delta4 = prob - y_true  # each sample's own dL/dz
    da3 = delta4 @ w4
    da2 = da3 * mask / (1 - p)
    dy = da2 * (y > 0)
    dx_hat = dy * gamma
    dvar = (dx_hat * (z1 - mu)).sum(axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = -dx_hat.sum(axis=0) / np.sqrt(var + eps)
    dz1 = dx_hat / np.sqrt(var + eps) + dvar * 2 * (z1 - mu) / m + dmu / m
    return {"z1": z1, "mu": mu, "var": var, "eps": np.array(eps), "x_hat": x_hat, "y": y, "a2": a2, "a3": a3,
            "da3": da3, "da2": da2, "dx_hat": dx_hat, "dvar": dvar, "dmu": dmu, "dz1": dz1, "mask": mask,
            "p": np.array(p), "gamma": gamma}


#: Two two-channel images through two filters, average pooling, dropout on the feature maps, flatten and a
#: dense output under momentum with gradient clipping by value.
IMAGES_AVGPOOL = """\
inputs:
  - - [[1, 0, 2], [0, 1, 1], [2, 1, 0]]
    - [[0, 1, 0], [1, 0, 2], [1, 1, 1]]
  - - [[0, 2, 1], [1, 0, 0], [1, 1, 2]]
    - [[1, 0, 1], [0, 2, 1], [0, 1, 0]]
targets: [[0.5], [-0.5]]
layers:
  - type: conv2d
    weights: [[[[0.5, -0.2], [0.1, 0.3]], [[0.2, 0.1], [-0.3, 0.4]]],
              [[[-0.1, 0.2], [0.4, -0.2]], [[0.3, -0.1], [0.2, 0.1]]]]
    biases: [0.1, -0.1]
    activation: tanh
  - type: avgpool
    size: 2
    stride: 1
  - type: dropout
    p: 0.5
    mask: [[[[1]], [[0]]], [[[1]], [[1]]]]
  - type: flatten
  - weights: [[0.6, -0.4]]
    biases: [0.05]
    activation: linear
loss: half_sse
learning_rate: 0.1
optimizer: {name: momentum, momentum: 0.9}
gradient_clipping: {max_value: 0.05}
"""
