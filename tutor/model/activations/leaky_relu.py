"""The leaky ReLU: net above 0, slope * net below (parameter `slope`, default 0.01)."""

from __future__ import annotations

from tutor.model.activations.base import Activation, Array, Part
from tutor.model.activations.relu import RELU_DERIVATIVE_WRONG
from tutor.model.component import Parameter, lazy_numpy

np = lazy_numpy(globals())


class LeakyRelu(Activation):
    name = "leaky_relu"
    description = "net if net > 0 else slope * net, slope 0.01 by default"
    parameters = (Parameter("slope", 0.01, "non-negative"),)
    dead_below_zero = True
    kinked = True
    mistakes = (RELU_DERIVATIVE_WRONG,)

    @property
    def formula(self) -> str:
        return f"net if net > 0 else {self.params['slope']:g} * net"

    @property
    def derivative_formula(self) -> str:
        return f"1 if net > 0 else {self.params['slope']:g}"

    def forward(self, net: Array) -> Array:
        return np.where(net > 0, net, self.params["slope"] * net)

    def derivative(self, net: Array, out: Array) -> Array:
        return np.where(net > 0, 1.0, self.params["slope"])

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return ["1 if ", net, f" > 0 else {self.params['slope']:g}"]
