"""Swish, net * sigmoid(beta * net) (parameter `beta`, default 1: then it is SiLU).

Its derivative by the product rule is s + beta * net * s * (1 - s) with s = sigmoid(beta * net),
written as s * (1 + beta * net * (1 - s)) on the net input.
"""

from __future__ import annotations

from tutor.model.activations.base import Activation, ActivationMistake, Array, Part
from tutor.model.activations.sigmoid import logistic
from tutor.model.component import Parameter

#: Shared with gelu, also net times a smooth step: the derivative needs the product rule.
PRODUCT_RULE_DROPPED = ActivationMistake(
    "product_rule_dropped",
    "swish and GELU are net * g(net): their derivative is g(net) + net * g'(net), not g(net) alone",
    lambda act, net, out: [act.gate(net)])


class Swish(Activation):
    name = "swish"
    description = "net * sigmoid(beta * net), beta 1 by default: SiLU"
    parameters = (Parameter("beta", 1.0, "positive"),)
    target_hundredths = (5, 200)
    mistakes = (PRODUCT_RULE_DROPPED,)

    def _scaled(self, net: Part) -> list[Part]:
        """beta * net, or net alone when beta is 1."""
        beta = self.params["beta"]
        return [net] if beta == 1 else [f"{beta:g} * ", net]

    @property
    def formula(self) -> str:
        return f"net * sigmoid({''.join(self._scaled('net'))})"

    @property
    def derivative_formula(self) -> str:
        s = f"sigmoid({''.join(self._scaled('net'))})"
        return f"{s} * (1 + {''.join(self._scaled('net'))} * (1 - {s}))"

    def gate(self, net: float) -> float:
        """sigmoid(beta * net): the factor net is multiplied by."""
        return float(logistic(self.params["beta"] * net))

    def forward(self, net: Array) -> Array:
        return net * logistic(self.params["beta"] * net)

    def derivative(self, net: Array, out: Array) -> Array:
        beta = self.params["beta"]
        s = logistic(beta * net)
        return s * (1.0 + beta * net * (1.0 - s))

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        s = ["sigmoid(", *self._scaled(net), ")"]
        return [*s, " * (1 + ", *self._scaled(net), " * (1 - ", *s, "))"]
