"""The quantities of gradient clipping (`gradient_clipping:`): the norm, the coefficient, each clipped gradient.

Keys: ``clip_norm``, ``clip_coef`` (max_norm only) and ``clip_`` before each gradient's key
(``clip_dL_dw2_1_1``, ``clip_dL_dgamma2_1``); the optimizer's rules take the clipped gradients.
A clipped gradient's kind is ``clipped_`` before its gradient's kind, with the same layer and indices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

from tutor.model.clipping import NORM_EPS
from tutor.trace.quantity import Entry, Part, Term, WeightBlock

if TYPE_CHECKING:
    from tutor.trace.builder import Builder

#: The dense layers' gradient kinds (the builder's own), and where each entry's value sits: (name, index).
#: A layer kind with a tracer names its parameters' gradient kinds itself (`LayerTrace.parameters`).
GRADIENT_KINDS = {
    "grad_weight": lambda j, i: ("weights", (j - 1, i - 1)),
    "grad_bias": lambda j, i: ("biases", (0 if j is None else j - 1,)),
}
PREFIX = "clipped_"


def clipped_kind(kind: str) -> str:
    return PREFIX + kind


def is_clipped(kind: str) -> bool:
    return kind.startswith(PREFIX)


class ClippingQuantities:
    """Entries, keys, values, dependencies and formulas of one step's clipping."""

    def __init__(self, builder: "Builder") -> None:
        self.b = builder
        self.clipping = builder.p.clipping
        self.clipped = builder.step.clipped

    def gradient_entries(self) -> list[Entry]:
        """Every parameter gradient of the step, in solution order."""
        found = []
        for l in range(self.b.L, 0, -1):
            for item in self.b._backward_entries(l):
                if isinstance(item, WeightBlock):
                    layer = self.b.p.layers[l - 1]
                    found += [(item.kind, l, j, i, None) for j in range(1, layer.size + 1)
                              for i in range(1, layer.fan_in + 1)]
                elif item[0] in GRADIENT_KINDS or self._owner(item[0], l) is not None:
                    found.append(item)
        return found

    def entries(self) -> Iterator[Entry]:
        if self.clipping.max_norm is not None:
            yield ("clip_norm", None, None, None, None)
            yield ("clip_coef", None, None, None, None)
        for kind, l, j, i, s in self.gradient_entries():
            yield (clipped_kind(kind), l, j, i, s)

    def _owner(self, kind: str, l: int | None):
        """The updates of the tracer-owned parameter whose gradient kind this is, or None."""
        tracer = self.b.tracer(l)
        if tracer is None or not tracer._is_gradient(kind):
            return None
        return tracer

    def key(self, kind: str, l, j, i, s) -> str:
        if kind in ("clip_norm", "clip_coef"):
            return kind
        return "clip_" + self.b.key(kind[len(PREFIX):], l, j, i, s)

    def label(self, kind: str, l, j, i, s) -> str:
        if kind == "clip_norm":
            return "||g||"
        if kind == "clip_coef":
            return "clip_coef"
        return "clip(" + self.b.label(kind[len(PREFIX):], l, j, i, s) + ")"

    def value(self, kind: str, l, j, i, s) -> float:
        if kind == "clip_norm":
            return float(self.clipped.norm)
        if kind == "clip_coef":
            return float(self.clipped.coef)
        base = kind[len(PREFIX):]
        if base in GRADIENT_KINDS:
            name, at = GRADIENT_KINDS[base](j, i)
        else:  # a tracer's parameter: its name in the place of i
            name, at = i, (tuple(k - 1 for k in j) if isinstance(j, tuple) else (j - 1,))
        return float(self.clipped.grads[l - 1][name][at])

    def _gradient(self, kind: str, l, j, i, s) -> Term:
        return self.b._term(kind[len(PREFIX):], l, j, i, s)

    def formula(self, kind: str, l, j, i, s) -> tuple[list[Part], object, str, tuple[str, ...]]:
        if kind == "clip_norm":
            grads = [self.b._term(*e) for e in self.gradient_entries()]
            from tutor.trace.layer_trace import summed

            parts = ["sqrt(", *summed([[g, "^2"] for g in grads], " + "), ")"]
            note = "the 2-norm of every parameter's gradient together"
            return parts, lambda *g: float(np.sqrt(np.sum(np.square(g)))), note, tuple(g.key for g in grads)
        limit = Term("max_norm" if self.clipping.max_norm is not None else "max_value",
                     self.clipping.max_norm if self.clipping.max_norm is not None else self.clipping.max_value)
        if kind == "clip_coef":
            norm = Term("||g||", self.value("clip_norm", None, None, None, None), "clip_norm")
            parts = ["min(1, ", limit, " / (", norm, f" + {NORM_EPS:g}))"]
            return parts, lambda n: min(1.0, limit.value / (n + NORM_EPS)), "", ("clip_norm",)
        grad = self._gradient(kind, l, j, i, s)
        if self.clipping.max_norm is not None:
            coef = Term("clip_coef", self.value("clip_coef", None, None, None, None), "clip_coef")
            return [coef, " * ", grad], lambda c, g: c * g, "", ("clip_coef", grad.key)
        v = limit.value
        return (["clamp(", grad, ", -", limit, ", ", limit, ")"], lambda g: float(min(max(g, -v), v)), "",
                (grad.key,))

    def describe(self, q) -> str:
        """A clipping quantity in words."""
        if q.kind == "clip_norm":
            return "the 2-norm of every parameter's gradient together (gradient clipping)"
        if q.kind == "clip_coef":
            return f"the clipping coefficient, min(1, max_norm / (norm + {NORM_EPS:g}))"
        return f"the gradient {q.label[len('clip('):-1]} after gradient clipping"
