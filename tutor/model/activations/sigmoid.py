"""The logistic sigmoid, 1 / (1 + exp(-net)); its derivative is written on the output."""

from __future__ import annotations

from tutor.model.activations.base import Activation, ActivationMistake, Array, Part
from tutor.model.component import lazy_numpy

np = lazy_numpy(globals())


def logistic(net: Array) -> Array:
    """1 / (1 + exp(-net)) = exp(-ln(1 + exp(-net))): logaddexp never overflows and keeps full precision."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(net, dtype=float)))


class Sigmoid(Activation):
    name = "sigmoid"
    description = "1 / (1 + exp(-net)), outputs between 0 and 1"
    derivative_uses = "out"
    logistic = True
    output_range = (0.0, 1.0)
    saturates = True
    target_hundredths = (1, 99)
    mistakes = (ActivationMistake(
        "sigmoid_derivative_on_net",
        "the sigmoid's derivative was taken as net * (1 - net); it is out * (1 - out), on the output",
        lambda act, net, out: [net * (1.0 - net)]),)

    formula = "1 / (1 + exp(-net))"
    derivative_formula = "out * (1 - out)"

    def forward(self, net: Array) -> Array:
        return logistic(net)

    def derivative(self, net: Array, out: Array) -> Array:
        return out * (1.0 - out)

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return [out, " * (1 - ", out, ")"]
