"""GELU in its exact form, net * Phi(net), with Phi the standard normal distribution function.

Phi(net) = (1 + erf(net / sqrt(2))) / 2, and the derivative is Phi(net) + net * phi(net) with the
normal density phi(net) = exp(-net^2 / 2) / sqrt(2 pi). numpy has no erf, so `math.erf` is applied
element by element (`np.frompyfunc`): exact to double precision, and fast enough for the tutor's
networks. (The tanh approximation of GELU is a different function and is not used.)
"""

from __future__ import annotations

import math

from tutor.model.activations.base import Activation, Array, Part
from tutor.model.activations.swish import PRODUCT_RULE_DROPPED
from tutor.model.component import lazy_numpy

np = lazy_numpy(globals())

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _erf(x: Array) -> Array:
    """erf elementwise, as floats of x's shape."""
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(np.asarray(x, dtype=float)), dtype=float)


def normal_cdf(x: Array) -> Array:
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2."""
    return 0.5 * (1.0 + _erf(np.asarray(x, dtype=float) / _SQRT2))


class Gelu(Activation):
    name = "gelu"
    description = "net * Phi(net), Phi the normal distribution function, exact erf form"
    target_hundredths = (5, 200)
    mistakes = (PRODUCT_RULE_DROPPED,)

    formula = "net * (1 + erf(net / sqrt(2))) / 2"
    derivative_formula = "(1 + erf(net / sqrt(2))) / 2 + net * exp(-net^2 / 2) / sqrt(2 * pi)"

    def gate(self, net: float) -> float:
        """Phi(net): the factor net is multiplied by."""
        return float(normal_cdf(net))

    def forward(self, net: Array) -> Array:
        return net * normal_cdf(net)

    def derivative(self, net: Array, out: Array) -> Array:
        return normal_cdf(net) + net * np.exp(-0.5 * net * net) / _SQRT2PI

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        return ["(1 + erf(", net, " / sqrt(2))) / 2 + ", net, " * exp(-(", net, ")^2 / 2) / sqrt(2 * pi)"]
