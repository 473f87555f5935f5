"""Activation functions, each with its local derivative right beside it.

Every derivative is written in terms of the value a student would use by hand (`out` for sigmoid
and tanh, `net` for the piecewise ones), recorded in `derivative_uses`, so a worked solution can
show exactly which number it was evaluated on. At a kink (x = 0) the derivative of the left piece
is used: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """One activation function: forward map, derivative, and how both are written."""

    name: str
    forward: Callable[[Array], Array]
    #: d out / d net, given (net, out); elementwise. None for softmax, whose Jacobian is not diagonal.
    derivative: Callable[[Array, Array], Array] | None
    formula: str  # out in terms of net
    derivative_formula: str  # d out / d net, in terms of `derivative_uses`
    derivative_uses: str  # "out", "net" or "" (a constant)
    params: dict[str, float] = field(default_factory=dict)

    @property
    def elementwise(self) -> bool:
        return self.derivative is not None

    def describe(self) -> str:
        """The name with its parameters, e.g. ``leaky_relu(slope=0.1)``."""
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({inner})"


def _sigmoid(net: Array) -> Array:
    # 1 / (1 + exp(-net)) = exp(-ln(1 + exp(-net))): logaddexp never overflows and keeps full precision.
    return np.exp(-np.logaddexp(0.0, -np.asarray(net, dtype=float)))


def _softmax(net: Array) -> Array:
    shifted = np.exp(net - np.max(net, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def _softplus(net: Array) -> Array:
    return np.logaddexp(0.0, net)


def sigmoid() -> Activation:
    return Activation(
        "sigmoid", _sigmoid, lambda net, out: out * (1.0 - out),
        "1 / (1 + exp(-net))", "out * (1 - out)", "out",
    )


def tanh() -> Activation:
    return Activation(
        "tanh", np.tanh, lambda net, out: 1.0 - out * out,
        "tanh(net)", "1 - out^2", "out",
    )


def relu() -> Activation:
    return Activation(
        "relu", lambda net: np.maximum(net, 0.0), lambda net, out: (net > 0).astype(float),
        "max(0, net)", "1 if net > 0 else 0", "net",
    )


def leaky_relu(slope: float = 0.01) -> Activation:
    return Activation(
        "leaky_relu",
        lambda net: np.where(net > 0, net, slope * net),
        lambda net, out: np.where(net > 0, 1.0, slope),
        f"net if net > 0 else {slope:g} * net", f"1 if net > 0 else {slope:g}", "net", {"slope": slope},
    )


def linear() -> Activation:
    return Activation(
        "linear", lambda net: np.array(net, dtype=float, copy=True), lambda net, out: np.ones_like(net),
        "net", "1", "",
    )


def elu(alpha: float = 1.0) -> Activation:
    return Activation(
        "elu",
        lambda net: np.where(net > 0, net, alpha * np.expm1(np.minimum(net, 0.0))),
        lambda net, out: np.where(net > 0, 1.0, alpha * np.exp(np.minimum(net, 0.0))),
        f"net if net > 0 else {alpha:g} * (exp(net) - 1)", f"1 if net > 0 else {alpha:g} * exp(net)", "net",
        {"alpha": alpha},
    )


def softplus() -> Activation:
    return Activation(
        "softplus", _softplus, lambda net, out: _sigmoid(net),
        "ln(1 + exp(net))", "1 / (1 + exp(-net))", "net",
    )


def softmax() -> Activation:
    return Activation(
        "softmax", _softmax, None,
        "exp(net_j) / sum_k exp(net_k)", "out_j * ([j = k] - out_k)", "out",
    )


#: Name -> (factory, parameters it takes with their defaults).
ACTIVATIONS: dict[str, tuple[Callable[..., Activation], dict[str, float]]] = {
    "sigmoid": (sigmoid, {}),
    "tanh": (tanh, {}),
    "relu": (relu, {}),
    "leaky_relu": (leaky_relu, {"slope": 0.01}),
    "linear": (linear, {}),
    "elu": (elu, {"alpha": 1.0}),
    "softplus": (softplus, {}),
    "softmax": (softmax, {}),
}


def make_activation(name: str, **params: float) -> Activation:
    """Build an activation by name; `params` must be among the ones it takes (checked by the loader)."""
    factory, defaults = ACTIVATIONS[name]
    return factory(**{**defaults, **params})
