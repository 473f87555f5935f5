"""The builder of a network whose input is an image (or a batch of images): quantities indexed by channel,
row and column (all 1-based), with the sample after an @ in a batch.

Each layer kind's arithmetic (its formulas, its gradient with respect to its input, its parameters'
gradients and updates) is its own (`tutor.trace.layer_trace.LayerTrace`, in the layer's file); this
builder gives the image-shaped quantities' keys, labels and values, the activations' formulas on feature
maps, and the glue between the layers. Keys (documented in docs/keys.md):

    net{l}_{f}_{r}_{c}  out{l}_{f}_{r}_{c}  dL_dout{l}_{f}_{r}_{c}  dout_dnet{l}_..  delta{l}_..  dL_dx1_{ch}_{r}_{c}

and the layers' own (``dL_dw{l}_{f}_{ch}_{a}_{b}``, ``new_b{l}_{f}``, ``mu{l}_{ch}``, ...).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from tutor.engine.step import Step
from tutor.problem.validated import Problem
from tutor.trace.builder import Builder
from tutor.trace.labels import Labels
from tutor.trace.layer_trace import IMAGE_KIND
from tutor.trace.quantity import Entry, Quantity, Term

#: Image quantity kinds and the prefix of their keys.
PREFIX = {"map_net": "net", "map_out": "out", "map_dloss_dout": "dL_dout", "map_dout_dnet": "dout_dnet",
          "map_delta": "delta", "dloss_dinput": "dL_dx"}
#: The vector kind each image kind stands for, for the formulas the dense builder already writes.
VECTOR_KIND = {image: vector for vector, image in IMAGE_KIND.items()}
#: What each image kind is, in words (quiz questions, blank sheets).
WORDS = {
    "map_net": "net input (before the activation)", "map_out": "output",
    "map_dloss_dout": "derivative of the loss with respect to the output",
    "map_dout_dnet": "derivative of the activation, dout/dnet,", "map_delta": "delta (dL/dnet)",
}


def position_text(index: tuple[int, ...], channels: int) -> str:
    """``(r,c)`` for a one-channel image, ``[ch](r,c)`` otherwise (1-based)."""
    ch, r, c = index
    return f"({r},{c})" if channels == 1 else f"[{ch}]({r},{c})"


def _image_output(problem: Problem, l: int) -> bool:
    return len(problem.layers[l - 1].output_shape) == 3


class ImageLabels(Labels):
    """Display names: ``x(1,2)``, ``net^1(1,2)``, ``out^1[2](1,2)@2``; an image made a vector: ``out^3(4)``."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.problem = problem

    def channels(self, l: int) -> int:
        """The channels of layer l's output (l = 0: the input image)."""
        return int(self.problem.inputs.shape[1] if l == 0 else self.problem.layers[l - 1].output_shape[0])

    def image(self, l: int, index: tuple[int, ...], s: int | None = None) -> str:
        """Layer l's output at index (l = 0: the input image); s is 1-based."""
        return ("x" if l == 0 else f"out^{l}") + position_text(index, self.channels(l)) + self._s(s)

    def out(self, layer: int, j: int, s: int | None = None) -> str:
        spec = self.problem.layers[layer - 1]
        if len(spec.input_shape) == 3 and len(spec.output_shape) == 1:  # an image made a vector
            return f"out^{layer}({j}){self._s(s)}"
        return super().out(layer, j, s)

    def _output_position(self, j: int) -> str:
        shape = self.problem.layers[-1].output_shape
        index = tuple(int(k) + 1 for k in np.unravel_index(j - 1, shape))
        return position_text(index, shape[0])

    def target(self, j: int, s: int | None, layers: int) -> str:
        if _image_output(self.problem, layers):
            return "t" + self._output_position(j) + self._s(s)
        return super().target(j, s, layers)

    def of(self, kind: str, layer: int | None, j, i: int | None, s: int | None) -> str:
        if kind == "loss" and j is not None and _image_output(self.problem, len(self.problem.layers)):
            return f"{self.loss_base}" + self._output_position(j) + self._s(s)
        if kind not in PREFIX:
            return super().of(kind, layer, j, i, s)
        if kind == "dloss_dinput":
            return f"d{self.loss}/d{self.image(0, j, s)}"
        where = position_text(j, self.channels(layer)) + self._s(s)
        return {
            "map_net": f"net^{layer}{where}", "map_out": f"out^{layer}{where}",
            "map_dloss_dout": f"d{self.loss}/dout^{layer}{where}",
            "map_dout_dnet": f"dout^{layer}/dnet^{layer}{where}", "map_delta": f"delta^{layer}{where}",
        }[kind]


class ImageBuilder(Builder):
    """The builder for a problem with input images: image-shaped quantities, the layers' own parts, dense layers."""

    def __init__(self, problem: Problem, step: Step, labels: ImageLabels) -> None:
        super().__init__(problem, step, labels)
        self._formulas: dict[Entry, tuple] = {}

    def shaped(self, l: int | None) -> bool:
        """Whether layer l's output is an image."""
        return l is not None and 0 < l <= self.L and _image_output(self.p, l)

    def out_shape(self, l: int) -> tuple[int, ...]:
        return tuple(self.step.layers[l - 1].out.shape[1:])

    def in_shape(self, l: int) -> tuple[int, ...]:
        return tuple(self.step.layers[l - 1].inputs.shape[1:])

    def _route(self, kind: str, l: int | None, j):
        """A vector kind asked of an image layer (by the dense builder's formulas) as its image kind."""
        if kind in IMAGE_KIND and self.shaped(l):
            if isinstance(j, int):
                j = tuple(int(k) + 1 for k in np.unravel_index(j - 1, self.out_shape(l)))
            return IMAGE_KIND[kind], j
        return kind, j

    def _flat(self, l: int, j: tuple[int, ...]) -> int:
        return int(np.ravel_multi_index(tuple(k - 1 for k in j), self.out_shape(l))) + 1

    def _input_gradient_entries(self) -> Iterator[Entry]:
        """dL/dx of every number of the input images, after the first layer's backward pass."""
        positions = [tuple(k + 1 for k in index) for index in np.ndindex(*self.in_shape(1))]
        for s in range(self.m):
            yield from (("dloss_dinput", 1, p, None, s) for p in positions)

    # -- key, index, value, label ---------------------------------------------------------------------------

    def key(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> str:
        kind, j = self._route(kind, l, j)
        if kind in PREFIX:
            sample = f"@{s + 1}" if self.batch and s is not None else ""
            return f"{PREFIX[kind]}{l}_" + "_".join(str(k) for k in j) + sample
        return super().key(kind, l, j, i, s)

    def index(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> tuple[int, ...]:
        kind, j = self._route(kind, l, j)
        if kind in PREFIX:
            return ((s + 1,) if self.batch and s is not None else ()) + tuple(j)
        return super().index(kind, l, j, i, s)

    def value(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> float:
        kind, j = self._route(kind, l, j)
        if kind not in PREFIX:
            return super().value(kind, l, j, i, s)
        ls = self.step.layers[l - 1]
        array = {"map_net": ls.net, "map_out": ls.out, "map_dloss_dout": ls.dloss_dout, "map_dout_dnet": ls.dout_dnet,
                 "map_delta": ls.delta, "dloss_dinput": ls.dloss_dinput}[kind]
        return float(array[(s or 0, *(k - 1 for k in j))])

    def label(self, kind: str, l: int | None, j, i, s: int | None) -> str:
        kind, j = self._route(kind, l, j)
        if kind in PREFIX:
            return self.labels.of(kind, l, j, i, None if s is None else s + 1)
        return super().label(kind, l, j, i, s)

    def _term(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> Term:
        kind, j = self._route(kind, l, j)
        return Term(self.label(kind, l, j, i, s), self.value(kind, l, j, i, s), self.key(kind, l, j, i, s))

    def _image_input(self, l: int, index0: tuple[int, ...], s: int) -> Term:
        """Layer l's input at a 0-based (channel, row, column) of sample s: a number of the image at layer 1
        (a given number), else the previous layer's output."""
        index = tuple(k + 1 for k in index0)
        if l == 1:
            return Term(self.labels.image(0, index, s + 1), float(self.p.inputs[(s, *index0)]))
        return self._term("map_out", l - 1, index, None, s)

    # -- dependencies and formulas ---------------------------------------------------------------------------

    def deps(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> tuple[str, ...]:
        kind, j = self._route(kind, l, j)
        if kind in PREFIX and self._owner(kind, l, formula=True) is None:
            return self._formula((kind, l, j, i, s))[3]
        return super().deps(kind, l, j, i, s)

    def build(self, entry: Entry) -> Quantity:
        kind, l, j, i, s = entry
        if kind not in PREFIX or self._owner(kind, l, formula=True) is not None:
            return super().build(entry)
        formula, compute, note, deps = self._formula(entry)
        return Quantity(
            key=self.key(*entry), kind=kind, layer=l, index=self.index(*entry), value=self.value(*entry),
            label=self.label(*entry), formula=tuple(formula), depends_on=deps, compute=compute, note=note,
            sample=s + 1 if self.batch and s is not None else None,
        )

    def _formula(self, entry: Entry):
        if entry not in self._formulas:
            self._formulas[entry] = self._make_formula(*entry)
        return self._formulas[entry]

    def _make_formula(self, kind: str, l: int, j, i, s):
        """An image quantity the builder itself gives: the activation's, the loss's, the next layer's gradient."""
        s = s or 0
        if kind == "dloss_dinput":
            return self.tracer(1).input_gradient(j, s)
        if kind == "map_dloss_dout" and l < self.L:
            return self.tracer(l + 1).input_gradient(j, s)
        vector = VECTOR_KIND[kind]
        flat = self._flat(l, j) if kind == "map_dloss_dout" else j
        if vector == "out":
            act = self.p.layers[l - 1].activation
            net = self._term("map_net", l, j, None, s)
            from tutor.trace.builder import _joined

            return act.output_parts([net], 1, _joined), act.value_at, "", (net.key,)
        parts, compute, note = getattr(super(), f"_{vector}")(l, flat, i, s)
        return parts, compute, note, super().deps(vector, l, flat, i, s)

    def describe(self, q: Quantity) -> str | None:
        """An image quantity in words (None: not one of the builder's image kinds)."""
        problem = self.p
        if q.kind == "loss" and q.j is not None and self.shaped(self.L):
            return f"the loss's share of output {self.labels._output_position(q.j)} of layer {self.L}"
        if q.kind not in PREFIX:
            return None
        index = q.index[1:] if q.sample is not None else q.index
        ch, r, c = index
        channels = problem.inputs.shape[1] if q.kind == "dloss_dinput" else problem.layers[q.layer - 1].output_shape[0]
        at = f"row {r}, column {c}" + (f" of channel {ch}" if channels > 1 else "") + \
            (f" (sample {q.sample})" if q.sample is not None else "")
        if q.kind == "dloss_dinput":
            return f"derivative of the loss with respect to the input image at {at}"
        return f"{WORDS[q.kind]} at {at}, layer {q.layer} ({problem.layers[q.layer - 1].kind})"


def image_key(trace, kind: str, l: int, index: tuple[int, ...]) -> str:
    """The key of image quantity `kind` of layer l at a quantity's index ((sample,) channel, row, column)."""
    index = tuple(index)
    s = index[0] - 1 if len(index) == 4 else 0
    return trace._builder.key(kind, l, index[-3:], None, s)
