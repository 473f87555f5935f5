"""The rectified linear unit, max(0, net); its slope is 0 at the kink."""

from __future__ import annotations

from tutor.model.activations.base import Activation, ActivationMistake, Array, Part
from tutor.model.component import lazy_numpy

np = lazy_numpy(globals())

#: Shared with leaky_relu: the value itself taken as the slope, or a constant slope.
RELU_DERIVATIVE_WRONG = ActivationMistake(
    "relu_derivative_wrong",
    "ReLU's derivative is 1 where net > 0 and 0 where net <= 0 (not the net or output value itself)",
    lambda act, net, out: [net, out, 1.0, 0.0])


class Relu(Activation):
    name = "relu"
    description = "max(0, net)"
    output_range = None
    dead_below_zero = True
    kinked = True
    target_hundredths = (5, 200)
    mistakes = (RELU_DERIVATIVE_WRONG,)

    formula = "max(0, net)"
    derivative_formula = "1 if net > 0 else 0"

    def forward(self, net: Array) -> Array:
        return np.maximum(net, 0.0)

    def derivative(self, net: Array, out: Array) -> Array:
        return (net > 0).astype(float)

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return ["1 if ", net, " > 0 else 0"]
