"""The hyperbolic tangent; its derivative is written on the output."""

from __future__ import annotations

from tutor.model.activations.base import Activation, ActivationMistake, Array, Part
from tutor.model.component import lazy_numpy

np = lazy_numpy(globals())


class Tanh(Activation):
    name = "tanh"
    description = "tanh(net), outputs between -1 and 1"
    derivative_uses = "out"
    output_range = (-1.0, 1.0)
    saturates = True
    target_hundredths = (-99, 99)
    mistakes = (ActivationMistake(
        "tanh_derivative_on_net",
        "tanh's derivative was taken as 1 - net^2; it is 1 - out^2 = 1 - tanh(net)^2",
        lambda act, net, out: [1.0 - net * net]),)

    formula = "tanh(net)"
    derivative_formula = "1 - out^2"

    def forward(self, net: Array) -> Array:
        return np.tanh(net)

    def derivative(self, net: Array, out: Array) -> Array:
        return 1.0 - out * out

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return ["1 - (", out, ")^2"]
