"""The identity, out = net, with slope 1 (a regression output)."""

from __future__ import annotations

from tutor.model.activations.base import Activation, Array, Part
from tutor.model.component import lazy_numpy

np = lazy_numpy(globals())


class Linear(Activation):
    name = "linear"
    description = "the identity, out = net"
    derivative_uses = ""

    formula = "net"
    derivative_formula = "1"

    def forward(self, net: Array) -> Array:
        return np.array(net, dtype=float, copy=True)

    def derivative(self, net: Array, out: Array) -> Array:
        return np.ones_like(net)

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return ["1"]
