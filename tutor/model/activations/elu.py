"""The exponential linear unit: net above 0, alpha * (exp(net) - 1) below (parameter `alpha`, default 1)."""

from __future__ import annotations

from tutor.model.activations.base import Activation, Array, Part
from tutor.model.component import Parameter, lazy_numpy

np = lazy_numpy(globals())


class Elu(Activation):
    name = "elu"
    description = "net if net > 0 else alpha * (exp(net) - 1), alpha 1 by default"
    parameters = (Parameter("alpha", 1.0, "positive"),)
    kinked = True

    @property
    def formula(self) -> str:
        return f"net if net > 0 else {self.params['alpha']:g} * (exp(net) - 1)"

    @property
    def derivative_formula(self) -> str:
        return f"1 if net > 0 else {self.params['alpha']:g} * exp(net)"

    def forward(self, net: Array) -> Array:
        return np.where(net > 0, net, self.params["alpha"] * np.expm1(np.minimum(net, 0.0)))

    def derivative(self, net: Array, out: Array) -> Array:
        return np.where(net > 0, 1.0, self.params["alpha"] * np.exp(np.minimum(net, 0.0)))

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return ["1 if ", net, f" > 0 else {self.params['alpha']:g} * exp(", net, ")"]
