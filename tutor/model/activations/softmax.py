"""Softmax over a layer, exp(net_j) / sum_k exp(net_k): a probability distribution, for output layers.

Its Jacobian is not diagonal (out_j depends on every net of the layer), so dL/dnet is the
Jacobian-vector product out_j * (dL/dout_j - sum_k dL/dout_k * out_k), computed by `backward`.
"""

from __future__ import annotations

from typing import Sequence

from tutor.model.activations.base import Activation, Array, Join, Part, join_parts
from tutor.model.component import lazy_numpy

np = lazy_numpy(globals())


class Softmax(Activation):
    name = "softmax"
    description = "exp(net_j) / sum_k exp(net_k), for the output layer"
    derivative_uses = "out"
    elementwise = False
    hidden_allowed = False
    distribution = True
    output_range = (0.0, 1.0)
    saturates = True

    formula = "exp(net_j) / sum_k exp(net_k)"
    derivative_formula = "out_j * ([j = k] - out_k)"

    def forward(self, net: Array) -> Array:
        shifted = np.exp(net - np.max(net, axis=-1, keepdims=True))
        return shifted / np.sum(shifted, axis=-1, keepdims=True)

    def derivative(self, net: Array, out: Array) -> Array:
        raise TypeError("softmax has no elementwise derivative; use backward (the Jacobian-vector product)")

    def derivative_parts(self, net: Part, out: Part) -> list[Part]:
        raise TypeError("softmax has no elementwise derivative")

    def backward(self, net: Array, out: Array, dout: Array) -> Array:
        return out * (dout - np.sum(dout * out, axis=-1, keepdims=True))

    def output_parts(self, nets: Sequence[Part], j: int, join: Join = join_parts) -> list[Part]:
        return ["exp(", nets[j - 1], ") / (", *join([["exp(", net, ")"] for net in nets], " + "), ")"]

    def output_value(self, nets: Sequence[float], j: int) -> float:
        return float(self.forward(np.array(nets, dtype=float))[j - 1])

    def backward_parts(self, grads: Sequence[Part], outs: Sequence[Part], j: int,
                       join: Join = join_parts) -> list[Part]:
        """dL/dnet_j as formula pieces: out_j * (dL/dout_j - (sum_k dL/dout_k * out_k))."""
        products = join([[g, " * ", o] for g, o in zip(grads, outs)], " + ")
        return [outs[j - 1], " * (", grads[j - 1], " - (", *products, "))"]

    def backward_value(self, grads: Sequence[float], outs: Sequence[float], j: int) -> float:
        """dL/dnet_j recomputed from the layer's dL/dout and out values."""
        g, o = np.array(grads), np.array(outs)
        return float(o[j - 1] * (g[j - 1] - np.dot(g, o)))

    backward_note = "softmax: dL/dnet_j = out_j * (dL/dout_j - sum_k dL/dout_k * out_k)"
