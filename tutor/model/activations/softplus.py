"""Softplus, ln(1 + exp(net)): a smooth ReLU whose derivative is the sigmoid of net."""

from __future__ import annotations

from tutor.model.activations.base import Activation, Array, Part
from tutor.model.activations.sigmoid import logistic
from tutor.model.component import lazy_numpy

np = lazy_numpy(globals())


class Softplus(Activation):
    name = "softplus"
    description = "ln(1 + exp(net)), a smooth ReLU"
    target_hundredths = (5, 200)

    formula = "ln(1 + exp(net))"
    derivative_formula = "1 / (1 + exp(-net))"

    def forward(self, net: Array) -> Array:
        return np.logaddexp(0.0, net)

    def derivative(self, net: Array, out: Array) -> Array:
        return logistic(net)

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return ["1 / (1 + exp(-", net, "))"]
