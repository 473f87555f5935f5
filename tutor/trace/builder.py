"""Builds every quantity of a step: its key, value, dependencies, formula and recomputation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Iterator

import numpy as np

from tutor.engine.step import Step
from tutor.problem.validated import Problem
from tutor.trace.keys import make_key
from tutor.trace.labels import Labels
from tutor.trace.quantity import Entry, Part, Quantity, Term, WeightBlock, WeightRow
from tutor.trace.updates import UpdateBlock, UpdateQuantities, rule_name

#: Formulas with more terms than this are shown with the middle elided.
MAX_TERMS_SHOWN = 8


class Builder:
    """Knows, for every entry, its key, value, dependencies, formula and recomputation."""

    def __init__(self, problem: Problem, step: Step, labels: Labels) -> None:
        self.p = problem
        self.step = step
        self.labels = labels
        self.m = problem.samples
        self.L = len(problem.layers)
        self.batch = problem.batch
        self.updates = UpdateQuantities(problem, step, labels, self.key)
        #: Each layer's own part of the trace (`LayerTrace`), or None for the builder's own (dense) layers.
        self.tracers = [None if ls.layer is None or type(ls.layer).tracer is None else type(ls.layer).tracer(self, l)
                        for l, ls in enumerate(step.layers, start=1)]

    @property
    def clipping(self):
        """The clipping's quantities (`tutor.trace.clipping`), or None when the problem does not clip."""
        if self.p.clipping is None:
            return None
        if not hasattr(self, "_clipping"):
            from tutor.trace.clipping import ClippingQuantities

            self._clipping = ClippingQuantities(self)
        return self._clipping

    def clipping_entries(self) -> Iterator[Entry]:
        """The clipping's entries (none without clipping), between the backward pass and the updates."""
        if self.clipping is not None:
            yield from self.clipping.entries()

    def _clips(self, kind: str) -> bool:
        return self.p.clipping is not None and kind.startswith("clip")

    def tracer(self, l: int | None):
        """Layer l's own part of the trace, or None."""
        return None if l is None else self.tracers[l - 1]

    def _owner(self, kind: str, l: int | None, *, formula: bool = False):
        """The layer tracer that owns quantities of this kind in layer l (their keys, values and labels; with
        `formula`, also a standard kind whose formula the layer gives), or None."""
        tracer = self.tracer(l)
        if tracer is None or not tracer.owns(kind) or (kind in tracer.formulas and not formula):
            return None
        return tracer

    def label(self, kind: str, l: int | None, j, i, s: int | None) -> str:
        """The display label of an entry (s 0-based), whoever owns it."""
        if self._clips(kind):
            return self.clipping.label(kind, l, j, i, s)
        owner = self._owner(kind, l)
        sample = None if s is None else s + 1
        return owner.label(kind, j, i, sample) if owner is not None else self.labels.of(kind, l, j, i, sample)

    # -- ordering -----------------------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        """Every entry in solution order."""
        for item in self.blocks():
            if isinstance(item, WeightBlock):
                layer = self.p.layers[item.layer - 1]
                for j in range(1, layer.size + 1):
                    for i in range(1, layer.fan_in + 1):
                        yield (item.kind, item.layer, j, i, None)
            elif isinstance(item, UpdateBlock):
                yield from self.updates.weight_entries(item.layer)
            else:
                yield item

    def blocks(self) -> Iterator[Entry | "WeightBlock"]:
        """Entries in solution order, with each layer's weight gradients and updates as one block."""
        samples = range(self.m)
        for l, layer in enumerate(self.p.layers, start=1):
            if self.tracer(l) is not None:
                yield from self.tracer(l).forward_entries()
                continue
            for s in samples:
                for j in range(1, layer.size + 1):
                    yield ("net", l, j, None, s)
                for j in range(1, layer.size + 1):
                    yield ("out", l, j, None, s)
        n_out = self.p.layers[-1].size
        for s in samples:
            for j in range(1, n_out + 1):
                yield ("loss", None, j, None, s)
            if self.batch:
                yield ("loss", None, None, None, s)
        yield ("loss", None, None, None, None)
        for l in range(self.L, 0, -1):
            yield from self._backward_entries(l)
        yield from self._input_gradient_entries()
        yield from self.clipping_entries()
        for l in range(self.L, 0, -1):
            yield from self._update_entries(l)

    def _input_gradient_entries(self) -> Iterator[Entry]:
        """The gradient with respect to the inputs themselves: none for rows of features (see ImageBuilder)."""
        return iter(())

    def _backward_entries(self, l: int) -> Iterator[Entry]:
        if self.tracer(l) is not None:
            yield from self.tracer(l).backward_entries()
            return
        layer = self.p.layers[l - 1]
        neurons = range(1, layer.size + 1)
        for s in range(self.m):
            if layer.activation.elementwise:  # neuron by neuron, as a worked solution goes
                for j in neurons:
                    yield ("dloss_dout", l, j, None, s)
                    yield ("dout_dnet", l, j, None, s)
                    yield ("delta", l, j, None, s)
            else:  # a softmax neuron's delta needs every dL/dout of its layer
                yield from (("dloss_dout", l, j, None, s) for j in neurons)
                yield from (("delta", l, j, None, s) for j in neurons)
        yield WeightBlock("grad_weight", l)
        for j in self._bias_indices(l):
            yield ("grad_bias", l, j, None, None)

    def _update_entries(self, l: int) -> Iterator[Entry]:
        if self.tracer(l) is not None:
            yield from self.tracer(l).update_entries()
            return
        if self.updates.detailed:  # each weight's optimizer quantities, then its new value
            yield UpdateBlock(l)
        else:
            yield WeightBlock("new_weight", l)
        if self.p.update_biases:
            for j in self._bias_indices(l):
                yield from self.updates.entries(l, j, None)

    def _bias_indices(self, l: int) -> list[int | None]:
        layer = self.p.layers[l - 1]
        return [None] if layer.shared_bias else list(range(1, layer.size + 1))

    def count(self) -> int:
        total = 0
        for item in self.blocks():
            if isinstance(item, WeightBlock):
                total += self.p.layers[item.layer - 1].weights.size
            elif isinstance(item, UpdateBlock):
                total += self.p.layers[item.layer - 1].weights.size * len(self.updates.rules)
            else:
                total += 1
        return total

    # -- key, index, value, dependencies ----------------------------------------------------------------

    def key(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> str:
        if self._clips(kind):
            return self.clipping.key(kind, l, j, i, s)
        owner = self._owner(kind, l)
        if owner is not None:
            return owner.key(kind, j, i, s)
        sample = s + 1 if self.batch and s is not None else None
        return make_key(kind, l, j, i, sample)

    def index(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> tuple[int, ...]:
        if self._clips(kind):
            return self.index(kind[len("clipped_"):], l, j, i, s) if l is not None else ()
        owner = self._owner(kind, l)
        if owner is not None:
            return owner.index(kind, j, i, s)
        parts = []
        if self.batch and s is not None:
            parts.append(s + 1)
        parts += [k for k in (j, i) if k is not None]
        return tuple(parts)

    def value(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> float:
        if self._clips(kind):
            return self.clipping.value(kind, l, j, i, s)
        owner = self._owner(kind, l)
        if owner is not None:
            return owner.value(kind, j, i, s)
        step = self.step
        if kind == "loss":
            if j is not None:
                return float(step.loss_shares[s, j - 1])
            return step.loss if s is None else float(step.sample_losses[s])
        if kind.startswith("opt_"):
            return self.updates.value(rule_name(kind), l, j, i)
        array = self.layer_values(l)[kind]
        if kind in ("grad_weight", "new_weight"):
            return float(array[j - 1, i - 1])
        if kind in ("grad_bias", "new_bias"):
            return float(array[0 if j is None else j - 1])
        return float(array[s, j - 1])

    def layer_values(self, l: int) -> dict[str, np.ndarray | None]:
        """Layer l's values by quantity kind: net, out, dloss_dout, dout_dnet (None for softmax), delta and
        dloss_dinput (dL/d of the layer's input) a row per sample; grad_weight and new_weight a row per neuron;
        grad_bias and new_bias one per neuron, or one (empty for a layer without parameters)."""
        ls = self.step.layers[l - 1]
        return {"net": ls.net, "out": ls.out, "dloss_dout": ls.dloss_dout, "dout_dnet": ls.dout_dnet,
                "delta": ls.delta, "dloss_dinput": ls.dloss_dinput, "grad_weight": ls.grad_weights,
                "grad_bias": ls.grad_biases, "new_weight": ls.new_weights, "new_bias": ls.new_biases}

    def deps(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> tuple[str, ...]:
        k = self.key
        p = self.p
        if self._clips(kind):
            return self.clipping.formula(kind, l, j, i, s)[3]
        owner = self._owner(kind, l, formula=True)
        if owner is not None:
            return owner.deps(kind, j, i, s)
        if kind == "dloss_dout" and l is not None and l < self.L and self.tracer(l + 1) is not None:
            return tuple(self.tracer(l + 1).input_gradient(j, s)[3])
        if kind == "net":
            return () if l == 1 else tuple(k("out", l - 1, q, None, s) for q in self._neurons(l - 1))
        if kind == "out":
            if p.layers[l - 1].activation.elementwise:
                return (k("net", l, j, None, s),)
            return tuple(k("net", l, q, None, s) for q in self._neurons(l))
        if kind == "loss":
            if j is not None:
                return (k("out", self.L, j, None, s),)
            if s is None and self.batch:
                return tuple(k("loss", None, None, None, t) for t in range(self.m))
            return tuple(k("loss", None, q, None, s) for q in self._neurons(self.L))
        if kind == "dloss_dout":
            if l == self.L:
                return (k("out", l, j, None, s),)
            return tuple(k("delta", l + 1, q, None, s) for q in self._neurons(l + 1))
        if kind == "dout_dnet":
            uses = p.layers[l - 1].activation.derivative_uses
            return () if not uses else (k(uses, l, j, None, s),)
        if kind == "delta":
            if p.layers[l - 1].activation.elementwise:
                return k("dloss_dout", l, j, None, s), k("dout_dnet", l, j, None, s)
            if p.loss.fuses_with(p.layers[l - 1].activation):
                return (k("out", l, j, None, s),)
            n = self._neurons(l)
            return tuple(k("dloss_dout", l, q, None, s) for q in n) + tuple(k("out", l, q, None, s) for q in n)
        if kind == "grad_weight":
            deltas = tuple(k("delta", l, j, None, t) for t in range(self.m))
            return deltas if l == 1 else deltas + tuple(k("out", l - 1, i, None, t) for t in range(self.m))
        if kind == "grad_bias":
            neurons = self._neurons(l) if j is None else [j]
            return tuple(k("delta", l, q, None, t) for t in range(self.m) for q in neurons)
        return self.updates.deps(rule_name(kind), l, j, i)  # the update's quantities

    def _neurons(self, l: int) -> range:
        return range(1, self.p.layers[l - 1].size + 1)

    def records(self) -> Iterator[dict]:
        """Plain records in solution order (see `record_blocks` for the fast form)."""
        for item in self.record_blocks():
            if isinstance(item, dict):
                yield item
                continue
            if isinstance(item, UpdateBlock):
                for key, kind, j, i, value, deps in self.updates.weight_records(item.layer):
                    yield {"key": key, "kind": kind, "layer": item.layer, "index": [j, i], "value": value,
                           "depends_on": deps}
                continue
            kind, layer = item.kind, item.layer
            for row in self.weight_rows(item):
                for i, (key, value, deps) in enumerate(zip(row.keys, row.values, row.depends_on), start=1):
                    yield {"key": key, "kind": kind, "layer": layer, "index": [row.j, i], "value": value,
                           "depends_on": list(deps)}

    def record_blocks(self) -> Iterator[dict | WeightBlock | UpdateBlock]:
        """Records as dicts, except each weight block, which `weight_rows` lists without per-entry calls, and
        each update block, which `updates.weight_records` lists."""
        for item in self.blocks():
            if isinstance(item, (WeightBlock, UpdateBlock)):
                yield item
            else:
                yield {"key": self.key(*item), "kind": item[0], "layer": item[1], "index": list(self.index(*item)),
                       "value": self.value(*item), "depends_on": list(self.deps(*item))}

    def weight_values(self, kind: str, l: int) -> np.ndarray:
        """Every grad_weight or new_weight value of layer l as an array (rows: neurons), read-only."""
        ls = self.step.layers[l - 1]
        values = (ls.grad_weights if kind == "grad_weight" else ls.new_weights).view()
        values.flags.writeable = False
        return values

    def weight_rows(self, block: "WeightBlock") -> Iterator["WeightRow"]:
        """The weights into each neuron j of a block's layer: keys, values and dependencies, i = 1, 2, ..."""
        l = block.layer
        ls = self.step.layers[l - 1]
        n, fan_in = ls.weights.shape
        values = self.weight_values(block.kind, l).tolist()
        inputs = range(1, fan_in + 1)
        at = [f"@{t + 1}" for t in range(self.m)] if self.batch else [""]
        outs = [[f"out{l - 1}_{i}{a}" for a in at] for i in inputs] if l > 1 else None
        for j in range(1, n + 1):
            grads = [f"dL_dw{l}_{j}_{i}" for i in inputs]
            if block.kind == "new_weight":  # the update takes the gradient after clipping, when the problem clips
                used = grads if self.p.clipping is None else [f"clip_{g}" for g in grads]
                yield WeightRow(j, [f"new_w{l}_{j}_{i}" for i in inputs], values[j - 1], [[g] for g in used])
                continue
            deltas = [f"delta{l}_{j}{a}" for a in at]
            deps = [deltas] * fan_in if outs is None else [deltas + o for o in outs]
            yield WeightRow(j, grads, values[j - 1], deps)

    # -- formulas and recomputation -------------------------------------------------------------------

    def build(self, entry: Entry) -> Quantity:
        kind, l, j, i, s = entry
        if self._clips(kind):
            parts, compute, note, deps = self.clipping.formula(*entry)
            return Quantity(key=self.key(*entry), kind=kind, layer=l, index=self.index(*entry),
                            value=self.value(*entry), label=self.label(*entry), formula=tuple(parts),
                            depends_on=deps, compute=compute, note=note, j=j if isinstance(j, int) else None,
                            i=i if isinstance(i, int) else None)
        owner = self._owner(kind, l, formula=True)
        if owner is not None:
            return owner.build(entry)
        parameter = gradient = None
        if kind.startswith("opt_") or kind in ("new_weight", "new_bias"):
            formula, compute, note = self.updates.formula(rule_name(kind), l, j, i, self._term)
            parameter, gradient = self.updates.parameter_terms(l, j, i, self._term)
        else:
            formula, compute, note = getattr(self, f"_{kind}")(l, j, i, s)
        return Quantity(
            key=self.key(*entry), kind=kind, layer=l, index=self.index(*entry), value=self.value(*entry),
            label=self.labels.of(kind, l, j, i, None if s is None else s + 1),
            formula=tuple(formula), depends_on=self.deps(*entry), compute=compute, note=note, j=j, i=i,
            sample=s + 1 if self.batch and s is not None else None, parameter=parameter, gradient=gradient,
        )

    def _term(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> Term:
        label = self.label(kind, l, j, i, s)
        return Term(label, self.value(kind, l, j, i, s), self.key(kind, l, j, i, s))

    def _input_term(self, l: int, i: int, s: int) -> Term:
        ls = self.step.layers[l - 1]
        key = self.key("out", l - 1, i, None, s) if l > 1 else None
        return Term(self.labels.layer_input(l, i, s + 1), float(ls.inputs[s, i - 1]), key)

    def _net(self, l, j, i, s):
        layer = self.p.layers[l - 1]
        w, b = layer.weights[j - 1], float(layer.biases[j - 1])
        products: list[list[Part]] = [
            [Term(self.labels.weight(l, j, q), float(w[q - 1])), " * ", self._input_term(l, q, s)]
            for q in range(1, layer.fan_in + 1)
        ]
        parts = _joined(products, " + ")
        parts += [" + ", Term(self.labels.bias(l, None if layer.shared_bias else j), b)]
        if l == 1:
            x = self.p.inputs[s]
            value = float(w @ x + b)
            return parts, lambda: value, ""
        return parts, lambda *outs: float(np.dot(w, outs) + b), ""

    def _out(self, l, j, i, s):
        act = self.p.layers[l - 1].activation
        nets = _LazyTerms(lambda q: self._term("net", l, q, None, s), self.p.layers[l - 1].size)
        parts = act.output_parts(nets, j, _joined)
        if act.elementwise:  # out_j depends on net_j alone
            return parts, act.value_at, ""
        return parts, lambda *v: act.output_value(v, j), ""

    def _loss(self, l, j, i, s):
        loss = self.p.loss
        if j is not None:
            return self._loss_share(j, s)
        if s is None and self.batch:
            terms = [[self._term("loss", None, None, None, t)] for t in range(self.m)]
            parts = ["(", *_joined(terms, " + "), f") / {self.m}"]
            return parts, lambda *v: float(np.mean(v)), "the batch's loss is the mean of its samples' losses"
        s0 = 0 if s is None else s
        terms = [[self._term("loss", None, q, None, s0)] for q in self._neurons(self.L)]
        return _joined(terms, " + "), lambda *v: float(np.sum(v)), f"{loss.name}: {loss.formula}"

    def _loss_share(self, j: int, s: int):
        loss = self.p.loss
        n = self.p.layers[-1].size
        o = self._term("out", self.L, j, None, s)
        t = Term(self.labels.target(j, s + 1, len(self.p.layers)), float(self.step.targets[s, j - 1]))
        parts = loss.share_parts(o, t, n)
        return parts, self._with_output(loss.shares, j, s), ""

    def _with_output(self, function, j: int, s: int) -> Callable[[float], float]:
        """Recompute function(outputs, targets)[j] with output j replaced by the given value."""
        outputs = self.step.layers[-1].out[s].reshape(-1)  # an image output: channel by channel, row by row
        targets = self.step.targets[s]

        def compute(value: float) -> float:
            o = outputs.copy()
            o[j - 1] = value
            return float(function(o, targets)[j - 1])

        return compute

    def _dloss_dout(self, l, j, i, s):
        if l == self.L:
            o = self._term("out", l, j, None, s)
            t = Term(self.labels.target(j, s + 1, self.L), float(self.step.targets[s, j - 1]))
            parts = self.p.loss.gradient_parts(o, t, self.p.layers[-1].size)
            return parts, self._with_output(self.p.loss.gradient, j, s), ""
        if self.tracer(l + 1) is not None:  # the next layer's own gradient with respect to its input
            return self.tracer(l + 1).input_gradient(j, s)[:3]
        nxt = self.p.layers[l]
        w = nxt.weights[:, j - 1]
        products = [[self._term("delta", l + 1, q, None, s), " * ", Term(self.labels.weight(l + 1, q, j),
                     float(w[q - 1]))] for q in self._neurons(l + 1)]
        note = "sum over every neuron of the next layer: delta_k * w_kj (the weights before the update)"
        return _joined(products, " + "), lambda *d: float(np.dot(d, w)), note

    def _dout_dnet(self, l, j, i, s):
        act = self.p.layers[l - 1].activation
        net_t = self._term("net", l, j, None, s)
        out_t = self._term("out", l, j, None, s)
        parts = act.derivative_parts(net_t, out_t)
        if act.derivative_uses:
            return parts, act.slope, ""
        return parts, lambda: act.slope(None), ""

    def _delta(self, l, j, i, s):
        act = self.p.layers[l - 1].activation
        if act.elementwise:
            parts = [self._term("dloss_dout", l, j, None, s), " * ", self._term("dout_dnet", l, j, None, s)]
            return parts, lambda g, d: g * d, ""
        target = float(self.step.targets[s, j - 1])
        loss = self.p.loss
        if loss.fuses_with(act):
            t = Term(self.labels.target(j, s + 1, self.L), target)
            parts = loss.fused_delta_parts(self._term("out", l, j, None, s), t)
            return parts, lambda o: float(loss.fused_delta(np.float64(o), np.float64(target))), loss.fused_note
        n = len(self._neurons(l))
        grads = [self._term("dloss_dout", l, q, None, s) for q in self._neurons(l)]
        outs = [self._term("out", l, q, None, s) for q in self._neurons(l)]
        parts = act.backward_parts(grads, outs, j, _joined)
        return parts, lambda *v: act.backward_value(v[:n], v[n:], j), act.backward_note

    def _grad_weight(self, l, j, i, s):
        m = self.m
        products = [[self._term("delta", l, j, None, t), " * ", self._input_term(l, i, t)] for t in range(m)]
        if l == 1:
            x = self.p.inputs[:, i - 1].copy()
            compute = lambda *d: float(np.dot(d, x) / m)  # noqa: E731
        else:
            compute = lambda *v: float(np.dot(v[:m], v[m:]) / m)  # noqa: E731
        return _mean_of(products, m), compute, "" if m == 1 else "the mean over the batch"

    def _grad_bias(self, l, j, i, s):
        neurons = list(self._neurons(l)) if j is None else [j]
        terms = [[self._term("delta", l, q, None, t)] for t in range(self.m) for q in neurons]
        note = "one bias shared by the layer: the sum of its neurons' deltas" if j is None else ""
        return _mean_of(terms, self.m), lambda *d: float(np.sum(d) / self.m), note


class _LazyTerms(Sequence):
    """The terms of one layer's neurons (index 0 is neuron 1), each made when first read."""

    def __init__(self, make: Callable[[int], Term], size: int) -> None:
        self.make, self.size = make, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Term:  # type: ignore[override]
        if not -self.size <= index < self.size:
            raise IndexError(index)
        return self.make(index % self.size + 1)


def _joined(groups: Sequence[Sequence[Part]], separator: str) -> list[Part]:
    """Join groups of parts with a separator, eliding the middle of long sums."""
    if len(groups) > MAX_TERMS_SHOWN:
        head, tail = groups[:3], groups[-2:]
        skipped = len(groups) - 5
        groups = [*head, [f"... ({skipped} more terms) ..."], *tail]
    parts: list[Part] = []
    for n, group in enumerate(groups):
        if n:
            parts.append(separator)
        parts.extend(group)
    return parts


def _mean_of(groups: Sequence[Sequence[Part]], m: int) -> list[Part]:
    if m == 1:
        return _joined(groups, " + ")
    return ["(", *_joined(groups, " + "), f") / {m}"]

