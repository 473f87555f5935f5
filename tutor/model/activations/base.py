"""The activation interface: forward map, local derivative, and how both are written in a worked solution.

Every derivative is written in terms of the value a student would use by hand (`out` for sigmoid
and tanh, `net` for the piecewise ones), recorded in `derivative_uses`, so a worked solution can
show exactly which number it was evaluated on. At a kink (x = 0) the derivative of the left piece
is used: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

from tutor.model.component import Component, lazy_numpy

np = lazy_numpy(globals())

Array = Any  # a numpy array (numpy itself is imported on first use)
#: A piece of a displayed formula: text, or a term (a symbol with its value) given by the caller.
Part = Any
#: Joins groups of parts with a separator (the trace passes one that elides the middle of long sums).
Join = Callable[[Sequence[Sequence[Part]], str], list[Part]]


def join_parts(groups: Sequence[Sequence[Part]], separator: str) -> list[Part]:
    """Groups of formula parts joined with a separator."""
    parts: list[Part] = []
    for n, group in enumerate(groups):
        parts += [separator, *group] if n else list(group)
    return parts


@dataclass(frozen=True)
class ActivationMistake:
    """A catalogued wrong derivative: its stable id, a one-line explanation, and what dout/dnet becomes."""

    id: str
    explanation: str
    #: (activation, net, out) -> the value(s) dout/dnet takes under the mistake.
    wrong: Callable[["Activation", float, float], list[float]]


class Activation(Component):
    """One activation function applied to a layer's net inputs."""

    #: The value the derivative is written in: "out", "net" or "" (a constant).
    derivative_uses: ClassVar[str] = "net"
    #: False for softmax, whose Jacobian is not diagonal (each out depends on every net of the layer).
    elementwise: ClassVar[bool] = True
    #: Whether a hidden layer may use it (softmax is for output layers only).
    hidden_allowed: ClassVar[bool] = True
    #: dout/dnet = out * (1 - out): cancels the 1 / (o (1 - o)) of the log losses.
    logistic: ClassVar[bool] = False
    #: The outputs form a probability distribution (softmax): class labels are one-hot targets.
    distribution: ClassVar[bool] = False
    #: The open interval every output lies in, or None (used to tell whether a loss can take the outputs).
    output_range: ClassVar[tuple[float, float] | None] = None
    #: Properties the problem generator avoids: flat for large |net|, zero slope below 0, a kink at 0.
    saturates: ClassVar[bool] = False
    dead_below_zero: ClassVar[bool] = False
    kinked: ClassVar[bool] = False
    #: Range of targets (in hundredths) the generator draws for an output layer of this activation.
    target_hundredths: ClassVar[tuple[int, int]] = (-100, 200)
    #: Catalogued mistakes in taking this activation's derivative.
    mistakes: ClassVar[tuple[ActivationMistake, ...]] = ()

    @abstractmethod
    def forward(self, net: Array) -> Array:
        """out = f(net), elementwise (softmax: over the last axis)."""

    @abstractmethod
    def derivative(self, net: Array, out: Array) -> Array:
        """dout/dnet given (net, out), elementwise."""

    @property
    @abstractmethod
    def formula(self) -> str:
        """out in terms of net, e.g. ``max(0, net)``."""

    @property
    @abstractmethod
    def derivative_formula(self) -> str:
        """dout/dnet in terms of `derivative_uses`, e.g. ``out * (1 - out)``."""

    @abstractmethod
    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        """dout/dnet as formula pieces around the given terms for this neuron's net and out."""

    def output_parts(self, nets: Sequence[Part], j: int, join: Join = join_parts) -> list[Part]:
        """out_j as formula pieces around the layer's net terms (j is 1-based; an elementwise activation
        reads only nets[j - 1]), with `join` joining groups of parts where a sum over the layer is shown."""
        return [f"{self.describe()}(", nets[j - 1], ")"]

    def value_at(self, net: float) -> float:
        """out for one net value (elementwise activations)."""
        return float(self.forward(np.float64(net)))

    def output_value(self, nets: Sequence[float], j: int) -> float:
        """out_j recomputed from the layer's net values (only net_j for an elementwise activation)."""
        return self.value_at(nets[j - 1])

    def slope(self, used: float | None) -> float:
        """dout/dnet recomputed from the one value it is written in (None when it uses none)."""
        if self.derivative_uses == "out":
            return float(self.derivative(np.float64(np.nan), np.float64(used)))
        if self.derivative_uses == "net":
            return float(self.derivative(np.float64(used), self.forward(np.float64(used))))
        return float(self.derivative(np.float64(0.0), np.float64(0.0)))

    def backward(self, net: Array, out: Array, dout: Array) -> Array:
        """dL/dnet from dL/dout: the elementwise product (softmax overrides it with its Jacobian)."""
        return dout * self.derivative(net, out)

    # Only for activations that are not elementwise, whose delta needs the whole layer's dL/dout:
    backward_note: ClassVar[str] = ""

    def backward_parts(self, grads: Sequence[Part], outs: Sequence[Part], j: int,
                       join: Join = join_parts) -> list[Part]:
        """dL/dnet_j as formula pieces around the layer's dL/dout and out terms."""
        raise TypeError(f"{self.name} is elementwise: dL/dnet = dL/dout * dout/dnet")

    def backward_value(self, grads: Sequence[float], outs: Sequence[float], j: int) -> float:
        """dL/dnet_j recomputed from the layer's dL/dout and out values."""
        raise TypeError(f"{self.name} is elementwise: dL/dnet = dL/dout * dout/dnet")

