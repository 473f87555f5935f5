"""The quantities of convolution, pooling and flatten layers: keys, labels, formulas and dependencies.

A problem whose input is an image gets an `ImageBuilder`: its conv2d and pooling layers have quantities
indexed by channel, row and column (all 1-based), its filters by filter, channel, row and column, and its
flatten and dense layers the usual vector quantities. Keys (documented in docs/keys.md):

    net{l}_{f}_{r}_{c}  out{l}_{f}_{r}_{c}  dL_dout{l}_{f}_{r}_{c}  dout_dnet{l}_..  delta{l}_..
    dL_dw{l}_{f}_{ch}_{a}_{b}  dL_db{l}_{f}  new_w{l}_{f}_{ch}_{a}_{b}  new_b{l}_{f}  dL_dx1_{ch}_{r}_{c}

Convolution is cross-correlation: output (r, c) of filter f is the sum of w[f, ch, a, b] times the padded
input at (r * stride + a, c * stride + b). Every gradient is written as the sum it is by the chain rule,
with numbers; the text view adds the notes' picture of dL/dX as a full convolution with the rotated filter.
"""

from __future__ import annotations

import itertools
from functools import cached_property
from typing import Callable, Iterator

import numpy as np

from tutor.engine.step import Step
from tutor.model.layers import build_layer
from tutor.problem.validated import Problem
from tutor.model.activations.base import join_parts
from tutor.trace.builder import Builder, _joined
from tutor.trace.labels import Labels
from tutor.trace.quantity import Entry, Part, Quantity, Term

#: Image quantity kinds and the prefix of their keys.
PREFIX = {
    "map_net": "net", "map_out": "out", "map_dloss_dout": "dL_dout", "map_dout_dnet": "dout_dnet",
    "map_delta": "delta", "filter_grad": "dL_dw", "filter_bias_grad": "dL_db", "filter_new": "new_w",
    "filter_bias_new": "new_b", "dloss_dinput": "dL_dx",
}
#: The vector kind each image kind stands for, for the formulas the dense builder already writes.
VECTOR_KIND = {"map_net": "net", "map_out": "out", "map_dloss_dout": "dloss_dout", "map_dout_dnet": "dout_dnet",
               "map_delta": "delta"}
IMAGE_KIND = {vector: image for image, vector in VECTOR_KIND.items()}
IMAGE_LAYERS = ("conv2d", "maxpool", "avgpool")
#: Sums over a feature map are written out in full up to this many terms (a 6x6 map), elided beyond.
MAX_TERMS_IN_FULL = 36

Formula = tuple[list[Part], Callable[..., float], str, tuple[str, ...]]


def has_images(problem: Problem) -> bool:
    """Whether the problem's input is an image (its layers include conv2d, pooling or flatten)."""
    return problem.inputs.ndim == 4


def kind_of(problem: Problem, l: int) -> str:
    return getattr(problem.layers[l - 1], "kind", "dense")


def position_text(index: tuple[int, ...], channels: int) -> str:
    """``(r,c)`` for a one-channel image, ``[ch](r,c)`` otherwise (1-based)."""
    ch, r, c = index
    return f"({r},{c})" if channels == 1 else f"[{ch}]({r},{c})"


class ImageLabels(Labels):
    """Display names: ``x(1,2)``, ``net^1(1,2)``, ``w^1(2,1)`` (``w^1[f,ch](a,b)`` with several), ``b^1``."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.problem = problem

    def _kind(self, l: int) -> str:
        return kind_of(self.problem, l)

    def channels(self, l: int) -> int:
        """The channels of layer l's output (l = 0: the input image)."""
        return int(self.problem.inputs.shape[1] if l == 0 else self.problem.layers[l - 1].output_shape[0])

    def image(self, l: int, index: tuple[int, ...]) -> str:
        """Layer l's output at index (l = 0: the input image)."""
        return ("x" if l == 0 else f"out^{l}") + position_text(index, self.channels(l))

    def weight_of(self, l: int, index: tuple[int, ...]) -> str:
        f, ch, a, b = index
        filters, channels = self.problem.layers[l - 1].weights.shape[:2]
        return f"w^{l}({a},{b})" if filters == channels == 1 else f"w^{l}[{f},{ch}]({a},{b})"

    def bias_of(self, l: int, f: int) -> str:
        return f"b^{l}" if self.problem.layers[l - 1].weights.shape[0] == 1 else f"b^{l}[{f}]"

    def out(self, layer: int, j: int, s: int | None = None) -> str:
        if self._kind(layer) == "flatten":
            return f"out^{layer}({j})"
        return super().out(layer, j, s)

    def target(self, j: int, s: int | None, layers: int) -> str:
        if self._kind(layers) in IMAGE_LAYERS:
            shape = self.problem.layers[-1].output_shape
            index = tuple(int(k) + 1 for k in np.unravel_index(j - 1, shape))
            return "t" + position_text(index, shape[0])
        return super().target(j, s, layers)

    def of(self, kind: str, layer: int | None, j, i: int | None, s: int | None) -> str:
        if kind == "loss" and j is not None and self._kind(len(self.problem.layers)) in IMAGE_LAYERS:
            shape = self.problem.layers[-1].output_shape
            index = tuple(int(k) + 1 for k in np.unravel_index(j - 1, shape))
            return f"{self.loss_base}" + position_text(index, shape[0])
        if kind not in PREFIX:
            return super().of(kind, layer, j, i, s)
        assert layer is not None
        loss = self.loss
        if kind == "dloss_dinput":
            return f"d{loss}/d{self.image(0, j)}"
        if kind in ("filter_grad", "filter_new"):
            w = self.weight_of(layer, j)
            return f"d{loss}/d{w}" if kind == "filter_grad" else f"{w}+"
        if kind in ("filter_bias_grad", "filter_bias_new"):
            b = self.bias_of(layer, j[0])
            return f"d{loss}/d{b}" if kind == "filter_bias_grad" else f"{b}+"
        where = position_text(j, self.channels(layer))
        return {
            "map_net": f"net^{layer}{where}", "map_out": f"out^{layer}{where}",
            "map_dloss_dout": f"d{loss}/dout^{layer}{where}", "map_dout_dnet": f"dout^{layer}/dnet^{layer}{where}",
            "map_delta": f"delta^{layer}{where}",
        }[kind]


class ImageBuilder(Builder):
    """The builder for a problem with an input image: conv2d, pooling and flatten layers, then dense ones."""

    def __init__(self, problem: Problem, step: Step, labels: ImageLabels) -> None:
        super().__init__(problem, step, labels)
        self._formulas: dict[Entry, Formula] = {}

    # -- shapes, positions and layer objects --------------------------------------------------------

    def kind(self, l: int) -> str:
        return kind_of(self.p, l)

    @cached_property
    def layer_objects(self) -> list:
        return [build_layer(spec) for spec in self.p.layers]

    def out_shape(self, l: int) -> tuple[int, ...]:
        return tuple(self.step.layers[l - 1].out.shape[1:])

    def in_shape(self, l: int) -> tuple[int, ...]:
        return tuple(self.step.layers[l - 1].inputs.shape[1:])

    def positions(self, shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        """Every 1-based index of an array of this shape, in reading order."""
        return (tuple(k + 1 for k in index) for index in np.ndindex(*shape))

    def _is_image(self, l: int | None) -> bool:
        return l is not None and self.kind(l) in IMAGE_LAYERS

    def _route(self, kind: str, l: int | None, j):
        """A vector kind asked of an image layer (by the dense builder's formulas) as its image kind."""
        if kind in IMAGE_KIND and self._is_image(l):
            if isinstance(j, int):
                j = tuple(int(k) + 1 for k in np.unravel_index(j - 1, self.out_shape(l)))
            return IMAGE_KIND[kind], j
        return kind, j

    # -- ordering -----------------------------------------------------------------------------------

    def blocks(self):
        """Every entry in solution order: forward, loss, backward (with dL/dx of the image last), updates."""
        for l in range(1, self.L + 1):
            yield from self._forward_entries(l)
        for j in range(1, self.p.layers[-1].size + 1):
            yield ("loss", None, j, None, 0)
        yield ("loss", None, None, None, None)
        for l in range(self.L, 0, -1):
            yield from self._backward_entries(l)
            if l == 1:
                yield from (("dloss_dinput", 1, p, None, 0) for p in self.positions(self.in_shape(1)))
        yield from self.clipping_entries()
        for l in range(self.L, 0, -1):
            yield from self._update_entries(l)

    def _forward_entries(self, l: int) -> Iterator[Entry]:
        kind, shape = self.kind(l), self.out_shape(l)
        if kind == "conv2d":
            yield from (("map_net", l, p, None, 0) for p in self.positions(shape))
        if kind in IMAGE_LAYERS:
            yield from (("map_out", l, p, None, 0) for p in self.positions(shape))
            return
        if kind == "dense":
            yield from (("net", l, j, None, 0) for j in range(1, shape[0] + 1))
        yield from (("out", l, j, None, 0) for j in range(1, shape[0] + 1))

    def _backward_entries(self, l: int) -> Iterator[Entry]:
        kind, shape = self.kind(l), self.out_shape(l)
        if kind == "dense":
            yield from super()._backward_entries(l)
        elif kind == "flatten":
            yield from (("dloss_dout", l, j, None, 0) for j in range(1, shape[0] + 1))
        elif kind in ("maxpool", "avgpool"):
            yield from (("map_dloss_dout", l, p, None, 0) for p in self.positions(shape))
        else:
            for p in self.positions(shape):
                yield from (("map_dloss_dout", l, p, None, 0), ("map_dout_dnet", l, p, None, 0),
                            ("map_delta", l, p, None, 0))
            yield from (("filter_grad", l, p, None, None) for p in self.positions(self.p.layers[l - 1].weights.shape))
            yield from (("filter_bias_grad", l, (f,), None, None) for f in range(1, shape[0] + 1))

    def _update_entries(self, l: int) -> Iterator[Entry]:
        kind = self.kind(l)
        if kind == "dense":
            yield from super()._update_entries(l)
        elif kind == "conv2d":
            yield from (("filter_new", l, p, None, None) for p in self.positions(self.p.layers[l - 1].weights.shape))
            if self.p.update_biases:
                yield from (("filter_bias_new", l, (f,), None, None) for f in range(1, self.out_shape(l)[0] + 1))

    # -- key, index, value, dependencies ----------------------------------------------------------------

    def key(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> str:
        kind, j = self._route(kind, l, j)
        if kind in PREFIX:
            return f"{PREFIX[kind]}{l}_" + "_".join(str(k) for k in j)
        return super().key(kind, l, j, i, s)

    def index(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> tuple[int, ...]:
        kind, j = self._route(kind, l, j)
        return tuple(j) if kind in PREFIX else super().index(kind, l, j, i, s)

    def value(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> float:
        kind, j = self._route(kind, l, j)
        if kind not in PREFIX:
            return super().value(kind, l, j, i, s)
        ls = self.step.layers[l - 1]
        at = tuple(k - 1 for k in j)
        if kind in ("filter_grad", "filter_new", "filter_bias_grad", "filter_bias_new"):
            array = {"filter_grad": ls.grad_weights, "filter_new": ls.new_weights, "filter_bias_grad": ls.grad_biases,
                     "filter_bias_new": ls.new_biases}[kind]
            return float(array[at])
        array = {"map_net": ls.net, "map_out": ls.out, "map_dloss_dout": ls.dloss_dout, "map_dout_dnet": ls.dout_dnet,
                 "map_delta": ls.delta, "dloss_dinput": ls.dloss_dinput}[kind]
        return float(array[(s or 0, *at)])

    def deps(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> tuple[str, ...]:
        kind, j = self._route(kind, l, j)
        if kind in ("map_dout_dnet", "map_delta"):
            return super().deps(VECTOR_KIND[kind], l, j, i, s)
        if kind == "map_dloss_dout" and l == self.L:
            return super().deps("dloss_dout", l, self._flat(l, j), i, s)
        if kind in PREFIX or (kind == "out" and self.kind(l) == "flatten"):
            return self._formula((kind, l, j, i, s))[3]
        return super().deps(kind, l, j, i, s)

    def _flat(self, l: int, j: tuple[int, ...]) -> int:
        return int(np.ravel_multi_index(tuple(k - 1 for k in j), self.out_shape(l))) + 1

    # -- formulas -----------------------------------------------------------------------------------------

    def build(self, entry: Entry) -> Quantity:
        kind, l, j, i, s = entry
        if kind not in PREFIX and not (kind == "out" and self.kind(l) == "flatten"):
            return super().build(entry)
        formula, compute, note, deps = self._formula(entry)
        update = kind in ("filter_new", "filter_bias_new")  # its formula is old - eta * gradient
        return Quantity(
            key=self.key(*entry), kind=kind, layer=l, index=self.index(*entry), value=self.value(*entry),
            label=self.labels.of(kind, l, j, i, None), formula=tuple(formula), depends_on=deps, compute=compute,
            note=note, j=j if isinstance(j, int) else j[0] if kind in ("filter_bias_grad", "filter_bias_new") else None,
            parameter=formula[0] if update else None, gradient=formula[-1] if update else None,
        )

    def _formula(self, entry: Entry) -> Formula:
        if entry not in self._formulas:
            self._formulas[entry] = self._make_formula(*entry)
        return self._formulas[entry]

    def _make_formula(self, kind: str, l: int, j, i, s) -> Formula:
        if kind in ("map_dout_dnet", "map_delta"):
            parts, compute, note = getattr(super(), f"_{VECTOR_KIND[kind]}")(l, j, i, s or 0)
            return parts, compute, note, super().deps(VECTOR_KIND[kind], l, j, i, s)
        if kind == "map_dloss_dout" and l == self.L:
            flat = self._flat(l, j)
            parts, compute, note = super()._dloss_dout(l, flat, i, s or 0)
            return parts, compute, note, super().deps("dloss_dout", l, flat, i, s)
        if kind == "map_dloss_dout":
            return self._input_gradient(l + 1, j)
        if kind == "dloss_dinput":
            return self._input_gradient(1, j)
        if kind == "out":
            return self._flatten_out(l, j)
        clipped = "clipped_" if self.p.clipping is not None else ""  # the optimizer takes the clipped gradient
        if kind == "filter_new":
            return self._update_formula(Term(self.labels.weight_of(l, j), float(self.step.layers[l - 1].weights[
                tuple(k - 1 for k in j)])), (f"{clipped}filter_grad", l, j, None, None))
        if kind == "filter_bias_new":
            return self._update_formula(Term(self.labels.bias_of(l, j[0]), float(self.step.layers[l - 1].biases[
                j[0] - 1])), (f"{clipped}filter_bias_grad", l, j, None, None))
        return getattr(self, f"_{kind}")(l, j)

    def _image_term(self, kind: str, l: int, index: tuple[int, ...]) -> Term:
        entry = (kind, l, index, None, 0)
        return Term(self.labels.of(kind, l, index, None, None), self.value(*entry), self.key(*entry))

    def _term(self, kind: str, l: int | None, j, i: int | None, s: int | None) -> Term:
        kind, j = self._route(kind, l, j)
        if kind in PREFIX:
            return self._image_term(kind, l, j)
        return super()._term(kind, l, j, i, s)

    def _input(self, l: int, index0: tuple[int, int, int]) -> Term:
        """Layer l's input at a 0-based (channel, row, column): a number of the image, or the previous output."""
        index = tuple(k + 1 for k in index0)
        if l == 1:
            return Term(self.labels.image(0, index), float(self.p.inputs[(0, *index0)]))
        return self._image_term("map_out", l - 1, index)

    def _with_inputs(self, pairs: list[tuple[list[Part], Term]], constants: list[float], offset: float = 0.0):
        """sum(constant * input) + offset, recomputed from whichever inputs are quantities."""
        keys = tuple(t.key for _, t in pairs if t.key is not None)
        fixed = [t.value if t.key is None else None for _, t in pairs]

        def compute(*values: float) -> float:
            it = iter(values)
            return float(sum(c * (next(it) if v is None else v) for c, v in zip(constants, fixed)) + offset)

        return compute, keys

    def _map_net(self, l: int, j: tuple[int, ...]) -> Formula:
        layer = self.p.layers[l - 1]
        ls = self.step.layers[l - 1]
        f, r, c = (k - 1 for k in j)
        channels, height, width = self.in_shape(l)
        groups, constants, pairs, skipped = [], [], [], 0
        for ch, a, b in itertools.product(range(channels), *(range(n) for n in ls.weights.shape[2:])):
            row, col = r * layer.stride + a - layer.padding, c * layer.stride + b - layer.padding
            if not (0 <= row < height and 0 <= col < width):
                skipped += 1
                continue
            w = Term(self.labels.weight_of(l, (f + 1, ch + 1, a + 1, b + 1)), float(ls.weights[f, ch, a, b]))
            x = self._input(l, (ch, row, col))
            groups.append([w, " * ", x])
            constants.append(w.value)
            pairs.append((groups[-1], x))
        bias = Term(self.labels.bias_of(l, f + 1), float(ls.biases[f]))
        parts = [*_sum(groups, " + "), " + ", bias] if groups else [bias]
        compute, keys = self._with_inputs(pairs, constants, bias.value)
        note = f"{skipped} products with the padding's zeros left out" if skipped else ""
        return parts, compute, note, keys

    def _map_out(self, l: int, j: tuple[int, ...]) -> Formula:
        kind = self.kind(l)
        if kind == "conv2d":
            act = self.p.layers[l - 1].activation
            net = self._image_term("map_net", l, j)
            return act.output_parts([net], 1, _joined), act.value_at, "", (net.key,)
        spec = self.p.layers[l - 1]
        ch, r, c = (k - 1 for k in j)
        window = [self._input(l, (ch, r * spec.stride + a, c * spec.stride + b))
                  for a in range(spec.window) for b in range(spec.window)]
        keys = tuple(t.key for t in window if t.key is not None)
        fixed = [t.value for t in window]
        if kind == "maxpool":
            winner = max(window, key=lambda t: t.value)  # the first of equals, as the layer picks it
            parts = ["max(", *_sum([[t] for t in window], ", "), ")"]
            compute = (lambda *v: float(max(v))) if keys else (lambda: float(max(fixed)))
            return parts, compute, f"{winner.symbol} won", keys
        count = len(window)
        parts = ["(", *_sum([[t] for t in window], " + "), f") / {count}"]
        compute = (lambda *v: float(sum(v) / count)) if keys else (lambda: float(sum(fixed) / count))
        return parts, compute, "", keys

    def _flatten_out(self, l: int, j: int) -> Formula:
        index0 = tuple(int(k) for k in np.unravel_index(j - 1, self.in_shape(l)))
        x = self._input(l, index0)
        if x.key is None:
            return [x], lambda: x.value, "", ()
        return [x], lambda v: float(v), "", (x.key,)

    def _input_gradient(self, l: int, index: tuple[int, ...]) -> Formula:
        """dL/d(layer l's input) at a 1-based index: the sum over everything that input reached."""
        kind = self.kind(l)
        if kind == "flatten":
            flat = int(np.ravel_multi_index(tuple(k - 1 for k in index), self.in_shape(l))) + 1
            grad = self._term("dloss_dout", l, flat, None, 0)
            return [grad], lambda v: float(v), "", (grad.key,)
        ch, row, col = (k - 1 for k in index)
        if kind == "conv2d":
            return self._conv_input_gradient(l, ch, row, col)
        return self._pool_input_gradient(l, ch, row, col)

    def _conv_input_gradient(self, l: int, ch: int, row: int, col: int) -> Formula:
        spec, ls = self.p.layers[l - 1], self.step.layers[l - 1]
        filters, _, kh, kw = ls.weights.shape
        out_rows, out_cols = self.out_shape(l)[1:]
        groups, weights, keys = [], [], []
        for f, a, b in itertools.product(range(filters), range(kh), range(kw)):
            r, rest_r = divmod(row + spec.padding - a, spec.stride)
            c, rest_c = divmod(col + spec.padding - b, spec.stride)
            if rest_r or rest_c or not (0 <= r < out_rows and 0 <= c < out_cols):
                continue
            delta = self._image_term("map_delta", l, (f + 1, r + 1, c + 1))
            w = Term(self.labels.weight_of(l, (f + 1, ch + 1, a + 1, b + 1)), float(ls.weights[f, ch, a, b]))
            groups.append([delta, " * ", w])
            weights.append(w.value)
            keys.append(delta.key)
        if not groups:
            return ["0"], lambda: 0.0, "no output window covers this input (the stride steps over it)", ()
        return _sum(groups, " + "), lambda *d: float(np.dot(d, weights)), "", tuple(keys)

    def _pool_input_gradient(self, l: int, ch: int, row: int, col: int) -> Formula:
        spec = self.p.layers[l - 1]
        out_rows, out_cols = self.out_shape(l)[1:]
        maxpool = spec.kind == "maxpool"
        winners = self.winners(l) if maxpool else None
        terms = []
        for r, c in itertools.product(range(out_rows), range(out_cols)):
            inside = r * spec.stride <= row < r * spec.stride + spec.window and \
                c * spec.stride <= col < c * spec.stride + spec.window
            if inside and (not maxpool or tuple(winners[ch, r, c]) == (row, col)):
                terms.append(self._image_term("map_dloss_dout", l, (ch + 1, r + 1, c + 1)))
        keys = tuple(t.key for t in terms)
        if not terms:
            why = "it won no window of the max-pool" if maxpool else "no pooling window covers it"
            return ["0"], lambda: 0.0, f"{why}: its gradient is 0", ()
        if maxpool:
            return _sum([[t] for t in terms], " + "), lambda *v: float(sum(v)), "it won these windows", keys
        count = spec.window * spec.window
        parts = ["(", *_sum([[t] for t in terms], " + "), f") / {count}"]
        return parts, lambda *v: float(sum(v) / count), "", keys

    def winners(self, l: int) -> np.ndarray:
        """(C, Ho, Wo, 2): the 0-based (row, column) of the input that won each max-pool window."""
        layer = self.layer_objects[l - 1]
        _, cache = layer.forward(self.step.layers[l - 1].inputs[:1], {})
        return layer.winner_positions(cache)[0]

    def _filter_grad(self, l: int, j: tuple[int, ...]) -> Formula:
        spec = self.p.layers[l - 1]
        f, ch, a, b = (k - 1 for k in j)
        _, out_rows, out_cols = self.out_shape(l)
        _, height, width = self.in_shape(l)
        groups, deltas, inputs = [], [], []
        for r, c in itertools.product(range(out_rows), range(out_cols)):
            row, col = r * spec.stride + a - spec.padding, c * spec.stride + b - spec.padding
            if not (0 <= row < height and 0 <= col < width):
                continue
            delta = self._image_term("map_delta", l, (f + 1, r + 1, c + 1))
            x = self._input(l, (ch, row, col))
            groups.append([delta, " * ", x])
            deltas.append(delta)
            inputs.append(x)
        note = ""
        if not groups:
            return ["0"], lambda: 0.0, "this filter entry only ever met padding zeros", ()
        keys = tuple(d.key for d in deltas) + tuple(x.key for x in inputs if x.key is not None)
        n = len(deltas)
        if l == 1:
            xs = [x.value for x in inputs]
            return _sum(groups, " + "), lambda *d: float(np.dot(d, xs)), note, keys
        return _sum(groups, " + "), lambda *v: float(np.dot(v[:n], v[n:])), note, keys

    def _filter_bias_grad(self, l: int, j: tuple[int, ...]) -> Formula:
        f = j[0]
        _, rows, cols = self.out_shape(l)
        terms = [self._image_term("map_delta", l, (f, r, c)) for r in range(1, rows + 1) for c in range(1, cols + 1)]
        note = ""
        return _sum([[t] for t in terms], " + "), lambda *d: float(sum(d)), note, tuple(t.key for t in terms)

    def _update_formula(self, old: Term, grad_entry: Entry) -> Formula:
        """new = old - eta * gradient: layers on images take plain gradient descent."""
        grad = Term(self.label(*grad_entry), self.value(*grad_entry), self.key(*grad_entry))
        rate = self.p.step_rate
        return [old, " - ", Term("eta", rate), " * ", grad], lambda g: old.value - rate * g, "", (grad.key,)


def _sum(groups, separator: str) -> list[Part]:
    """A sum over a window or a feature map: in full up to MAX_TERMS_IN_FULL terms, elided beyond."""
    return join_parts(groups, separator) if len(groups) <= MAX_TERMS_IN_FULL else _joined(groups, separator)


def describe_image(trace, q: Quantity) -> str | None:
    """What a quantity of an image problem is, in words (quiz questions, blank sheets); None: the usual words."""
    problem = trace.problem
    L = len(problem.layers)
    if q.kind == "loss" and q.j is not None and kind_of(problem, L) in IMAGE_LAYERS:
        return f"the loss's share of output {_where(q.label)} of layer {L}"
    if q.kind in ("out", "dloss_dout") and q.layer is not None and kind_of(problem, q.layer) == "flatten":
        entry = f"entry {q.j} of the flattened vector (layer {q.layer})"
        return entry if q.kind == "out" else f"derivative of the loss with respect to {entry}"
    if q.kind not in PREFIX:
        return None
    layer = f"layer {q.layer} ({kind_of(problem, q.layer)})"
    if q.kind in ("filter_grad", "filter_new"):
        f, ch, a, b = q.index
        entry = f"row {a}, column {b} of filter {f}" + (f" (input channel {ch})" if
                                                       problem.layers[q.layer - 1].weights.shape[1] > 1 else "")
        return f"gradient of the loss with respect to {entry}, {layer}" if q.kind == "filter_grad" else \
            f"{entry} of {layer} after the update"
    if q.kind in ("filter_bias_grad", "filter_bias_new"):
        bias = f"the bias of filter {q.index[0]}, {layer}"
        return f"gradient of the loss with respect to {bias}" if q.kind == "filter_bias_grad" else f"{bias} after the update"
    ch, r, c = q.index
    channels = problem.inputs.shape[1] if q.kind == "dloss_dinput" else problem.layers[q.layer - 1].output_shape[0]
    at = f"row {r}, column {c}" + (f" of channel {ch}" if channels > 1 else "")
    if q.kind == "dloss_dinput":
        return f"derivative of the loss with respect to the input image at {at}"
    words = {
        "map_net": "net input (before the activation)", "map_out": "output",
        "map_dloss_dout": "derivative of the loss with respect to the output",
        "map_dout_dnet": "derivative of the activation, dout/dnet,", "map_delta": "delta (dL/dnet)",
    }[q.kind]
    return f"{words} at {at}, {layer}"


def _where(label: str) -> str:
    """The position part of a label: ``(1,2)`` of ``E(1,2)``."""
    return label[label.index("("):] if "(" in label else label


def rotated_full_convolution(delta: np.ndarray, weights: np.ndarray, stride: int, padding: int,
                             input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notes' identity for one filter and channel: dL/dX = full convolution of delta with the rotated filter.

    Returns (delta spread out by the stride and surrounded by kernel - 1 zeros, the filter rotated by 180
    degrees, the result with the padding cut off). Sliding the rotated filter over the first, as in the forward
    pass, gives this filter's part of dL/dX for this channel; summed over the filters it is dL/dX.
    """
    kh, kw = weights.shape
    rows, cols = delta.shape
    spread = np.zeros(((rows - 1) * stride + 1, (cols - 1) * stride + 1))
    spread[::stride, ::stride] = delta
    height, width = (n + 2 * padding for n in input_hw)
    extra_rows, extra_cols = height - (spread.shape[0] + kh - 1), width - (spread.shape[1] + kw - 1)
    padded = np.pad(spread, [(kh - 1, kh - 1 + extra_rows), (kw - 1, kw - 1 + extra_cols)])
    rotated = weights[::-1, ::-1]
    view = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw))
    result = np.einsum("hwij,ij->hw", view, rotated)
    return padded, rotated, result[padding:height - padding, padding:width - padding]


def layer_mistake_values(trace, q: Quantity, world, mistake_id: str) -> list[float]:
    """What q would be if the layer whose backward pass gives it made the catalogued mistake `mistake_id`.

    q is a gradient with respect to a conv2d or pooling layer's input (dL/dx, or dL/dout of the layer
    before) or a filter gradient; the wrong rule (owned by the layer type) is applied to the world's values
    of that layer's dL/dnet and input, so a student's own earlier numbers carry through.
    """
    site = _gradient_site(trace, q)
    if site is None:
        return []
    l, target, index = site
    builder = trace._builder
    layer = builder.layer_objects[l - 1]
    owned = [m for m in getattr(layer, "mistakes", ()) if m.id == mistake_id and getattr(m, "target", None) == target]
    if not owned:
        return []
    dnet_kind = "map_delta" if builder.kind(l) == "conv2d" else "map_dloss_dout"
    dnet = _world_array(builder, world, dnet_kind, l, builder.out_shape(l))
    if l == 1:
        x = trace.problem.inputs[0]
    else:
        x = _world_array(builder, world, "map_out", l - 1, builder.out_shape(l - 1))
    values = []
    for mistake in owned:
        wrong = mistake.wrong(layer, dnet, x)
        if wrong is not None and np.isfinite(wrong[index]):
            values.append(float(wrong[index]))
    return values


def _gradient_site(trace, q: Quantity) -> tuple[int, str, tuple[int, ...]] | None:
    """(layer, "input_gradient" or "weight_gradient", 0-based index) of a gradient a layer's backward gives."""
    from tutor.model.layers.mistake import INPUT_GRADIENT, WEIGHT_GRADIENT

    if not has_images(trace.problem) or q.layer is None:
        return None
    index = tuple(k - 1 for k in q.index)
    if q.kind == "filter_grad":
        return q.layer, WEIGHT_GRADIENT, index
    if q.kind == "dloss_dinput":
        return 1, INPUT_GRADIENT, index
    if q.kind == "map_dloss_dout" and q.layer < len(trace.problem.layers) and \
            kind_of(trace.problem, q.layer + 1) in IMAGE_LAYERS:
        return q.layer + 1, INPUT_GRADIENT, index
    return None


def image_key(trace, kind: str, l: int, index: tuple[int, ...]) -> str:
    """The key of image quantity `kind` of layer l at a 1-based (channel, row, column) index."""
    return trace._builder.key(kind, l, tuple(index), None, 0)


def _world_array(builder: ImageBuilder, world, kind: str, l: int, shape: tuple[int, ...]) -> np.ndarray:
    """The world's values of one image quantity of layer l, as an array (channels first)."""
    array = np.empty(shape)
    for index in np.ndindex(*shape):
        array[index] = world[builder.key(kind, l, tuple(k + 1 for k in index), None, 0)]
    return array
