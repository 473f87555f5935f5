"""The trace of one step: every named quantity with its value, formula and dependencies.

Views, the quiz and the grader all walk this. Each `Quantity` carries `compute`, which recomputes its
value from the values of `depends_on` (in that order); with the true values it gives `value`, and with
a student's own earlier values it gives what follows from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence as SequenceABC
from functools import cached_property
from typing import Callable, Iterator, Sequence, Union

import numpy as np

from tutor.engine import Step
from tutor.errors import KeyLookupError, closest
from tutor.keys import SECTION_OF_KIND, make_key
from tutor.problem import Problem

#: Formulas with more terms than this are shown with the middle elided.
MAX_TERMS_SHOWN = 8


@dataclass(frozen=True)
class Term:
    """One number in a formula, with the symbol it stands for (and its key, when that is a quantity)."""

    symbol: str
    value: float
    key: str | None = None


Part = Union[str, Term]


@dataclass(frozen=True)
class Quantity:
    """One named quantity of a step."""

    key: str
    kind: str
    layer: int | None
    index: tuple[int, ...]
    value: float
    label: str  # in the problem's notation, e.g. "dE_total/dw5"
    formula: tuple[Part, ...]  # the right-hand side, in symbols and numbers
    depends_on: tuple[str, ...]
    compute: Callable[..., float]
    note: str = ""
    j: int | None = None  # the neuron (1-based), or the output for a loss share
    i: int | None = None  # the input of the layer, for a weight
    sample: int | None = None  # 1-based, for per-sample quantities of a batch

    @property
    def section(self) -> str:
        return SECTION_OF_KIND[self.kind]

    def symbolic(self) -> str:
        """The formula in symbols, e.g. ``w5 * out_h1 + w6 * out_h2 + b2``."""
        return "".join(p if isinstance(p, str) else p.symbol for p in self.formula)

    def substituted(self, fmt: Callable[[float], str]) -> str:
        """The formula with numbers in place of symbols; a negative number after an operator gets brackets."""
        out: list[str] = []
        for part in self.formula:
            if isinstance(part, Term):
                text = fmt(part.value)
                after_operator = bool(out) and out[-1].rstrip()[-1:] in ("*", "/", "+", "-", "^")
                out.append(f"({text})" if after_operator and text.startswith("-") else text)
            else:
                out.append(part)
        return "".join(out)


class Labels:
    """Display names of quantities in the problem's own notation."""

    def __init__(self, problem: Problem) -> None:
        self.notation = problem.notation
        self.batch = problem.batch
        self.loss = self.notation.loss
        self.loss_base = self.loss.split("_")[0] or self.loss

    def neuron(self, layer: int, j: int) -> str:
        return self.notation.neurons[layer - 1][j - 1]

    def input(self, i: int) -> str:
        return self.notation.inputs[i - 1]

    def weight(self, layer: int, j: int, i: int) -> str:
        return self.notation.weights[layer - 1][j - 1][i - 1]

    def bias(self, layer: int, j: int | None) -> str:
        names = self.notation.biases[layer - 1]
        return names[0] if j is None or len(names) == 1 else names[j - 1]

    def _s(self, sample: int | None) -> str:
        return f"@{sample}" if self.batch and sample is not None else ""

    def net(self, layer: int, j: int, s: int | None = None) -> str:
        return f"net_{self.neuron(layer, j)}{self._s(s)}"

    def out(self, layer: int, j: int, s: int | None = None) -> str:
        return f"{self.notation.out}_{self.neuron(layer, j)}{self._s(s)}"

    def layer_input(self, layer: int, i: int, s: int | None = None) -> str:
        """What enters a layer: an input for layer 1, the previous layer's out otherwise."""
        return self.input(i) + self._s(s) if layer == 1 else self.out(layer - 1, i, s)

    def target(self, j: int, s: int | None, layers: int) -> str:
        return f"t_{self.neuron(layers, j)}{self._s(s)}"

    def of(self, kind: str, layer: int | None, j: int | None, i: int | None, s: int | None) -> str:
        """The label of any quantity."""
        if kind == "loss":
            if j is None:
                return self.loss + self._s(s)
            return f"{self.loss_base}_{self.neuron(len(self.notation.neurons), j)}{self._s(s)}"
        assert layer is not None
        if kind == "net":
            return self.net(layer, j, s)
        if kind == "out":
            return self.out(layer, j, s)
        if kind == "dloss_dout":
            return f"d{self.loss}/d{self.out(layer, j, s)}"
        if kind == "dout_dnet":
            return f"d{self.out(layer, j, s)}/d{self.net(layer, j, s)}"
        if kind == "delta":
            return f"delta_{self.neuron(layer, j)}{self._s(s)}"
        if kind == "grad_weight":
            return f"d{self.loss}/d{self.weight(layer, j, i)}"
        if kind == "grad_bias":
            return f"d{self.loss}/d{self.bias(layer, j)}"
        if kind == "new_weight":
            return f"{self.weight(layer, j, i)}+"
        return f"{self.bias(layer, j)}+"


class Trace:
    """All quantities of one step, in the order a worked solution computes them."""

    def __init__(self, problem: Problem, step: Step, history: np.ndarray | None = None) -> None:
        self.problem = problem
        self.step = step
        self.history = history
        self.labels = Labels(problem)
        self._builder = _Builder(problem, step, self.labels)

    @property
    def loss(self) -> float:
        return self.step.loss

    @cached_property
    def quantities(self) -> tuple[Quantity, ...]:
        """Every quantity, in solution order (built once; a big network's take a while: see `select`)."""
        return tuple(self._get(key) for key in self._position)

    @cached_property
    def _entries(self) -> list[Entry]:
        return list(self._builder.entries())

    @cached_property
    def _position(self) -> dict[str, int]:
        """Each key's place in the solution order."""
        return {self._builder.key(*entry): n for n, entry in enumerate(self._entries)}

    @cached_property
    def _built(self) -> dict[str, Quantity]:
        return {}

    def _get(self, key: str) -> Quantity:
        """The quantity with this key, built the first time it is asked for."""
        q = self._built.get(key)
        if q is None:
            q = self._built[key] = self._builder.build(self._entries[self._position[key]])
        return q

    @cached_property
    def _by_label(self) -> dict[str, str]:
        """Display labels, and the short forms courses also write: dE/dw5 for dE_total/dw5."""
        of, key = self.labels.of, self._builder.key
        labels = {of(e[0], e[1], e[2], e[3], None if e[4] is None else e[4] + 1): key(*e) for e in self._entries}
        loss, base = self.labels.loss, self.labels.loss_base
        if base != loss:
            for label, k in list(labels.items()):
                if label.startswith(f"d{loss}/"):
                    labels.setdefault(f"d{base}/" + label[len(loss) + 2:], k)
        return labels

    def __getitem__(self, key: str) -> Quantity:
        return self._get(self.resolve(key))

    def __contains__(self, key: str) -> bool:
        return key in self._position

    def __iter__(self) -> Iterator[Quantity]:
        return iter(self.quantities)

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        return list(self._position)

    def select(self, kinds: Sequence[str], layer: int | None = None) -> "QuantityView":
        """The quantities of these kinds (of one layer, if given), in solution order, built only when read."""
        entries = [e for e in self._entries if e[0] in kinds and (layer is None or e[1] == layer)]
        return QuantityView(self, [self._builder.key(*e) for e in entries])

    def key_for(self, kind: str, layer: int | None = None, j: int | None = None, i: int | None = None,
                sample: int | None = None) -> str:
        """The key of a quantity of this trace; `sample` (1-based) only matters for a batch."""
        return make_key(kind, layer, j, i, sample if self.problem.batch else None)

    def resolve(self, name: str) -> str:
        """The key for `name`, which may be a key or a display label (``w5+``, ``dE_total/dw5``)."""
        name = name.strip()
        if name in self._position:
            return name
        if name in self._by_label:
            return self._by_label[name]
        folded = {label.lower(): key for label, key in self._by_label.items()}
        folded.update({key.lower(): key for key in self._position})
        if name.lower() in folded:
            return folded[name.lower()]
        hint = closest(name, list(self._position) + list(self._by_label))
        raise KeyLookupError(f"this problem has no quantity '{name}'{hint} (see the list of keys in "
                             "`backprop-tutor solve --format json` or docs/keys.md)")

    def closure(self, keys: Sequence[str]) -> list[Quantity]:
        """`keys` and everything they depend on, in solution order."""
        wanted: set[str] = set()
        stack = [self.resolve(k) for k in keys]
        while stack:
            key = stack.pop()
            if key not in wanted:
                wanted.add(key)
                stack.extend(self._get(key).depends_on)
        return [self._get(key) for key in sorted(wanted, key=self._position.__getitem__)]

    def records(self) -> Iterator[dict]:
        """Quantities as plain dicts (key, kind, layer, index, value, depends_on), built without formulas."""
        yield from self._builder.records()

    def record_blocks(self) -> Iterator[dict | "WeightBlock"]:
        """Like `records`, but each layer's weight gradients (or updates) come as one `WeightBlock`."""
        yield from self._builder.record_blocks()

    def weight_rows(self, block: "WeightBlock") -> Iterator["WeightRow"]:
        """The rows (one per neuron) of a block of weight quantities."""
        yield from self._builder.weight_rows(block)


def describe(trace: "Trace", q: Quantity) -> str:
    """What `q` is, in words and the problem's notation: "net input of h1", "w5 after the update".

    Used for quiz questions and for the comments of blank answer sheets.
    """
    labels = trace.labels
    sample = f" (sample {q.sample})" if q.sample is not None else ""
    if q.kind == "loss":
        if q.j is not None:
            output = _neuron(labels.neuron(len(trace.problem.layers), q.j))
            return f"{output}'s share of the loss{sample}"
        return f"the loss of sample {q.sample}" if q.sample is not None else "the total loss"
    neuron = _neuron(labels.neuron(q.layer, q.j)) if q.j is not None else ""
    if q.kind == "net":
        return f"net input of {neuron}{sample}"
    if q.kind == "out":
        return f"output of {neuron}{sample}"
    if q.kind == "dloss_dout":
        return f"derivative of the loss with respect to the output of {neuron}{sample}"
    if q.kind == "dout_dnet":
        return f"derivative of {neuron}'s activation, dout/dnet{sample}"
    if q.kind == "delta":
        return f"delta of {neuron}, the loss's derivative with respect to its net input{sample}"
    if q.kind in ("grad_weight", "new_weight"):
        weight = labels.weight(q.layer, q.j, q.i)
        source = labels.input(q.i) if q.layer == 1 else _neuron(labels.neuron(q.layer - 1, q.i))
        if q.kind == "new_weight":
            return f"{weight} after the update ({source} -> {neuron})"
        return f"gradient of the loss with respect to {weight} ({source} -> {neuron})"
    bias = labels.bias(q.layer, q.j)
    if q.kind == "new_bias":
        return f"{bias} after the update"
    return f"gradient of the loss with respect to {bias}"


def _neuron(name: str) -> str:
    """A neuron's name in a sentence: ``h1``, or ``neuron 2^1`` for the default notation's bare indices."""
    return f"neuron {name}" if name[:1].isdigit() else name


Entry = tuple  # (kind, layer, j, i, s): s is the 0-based sample, j and i are 1-based


class QuantityView(SequenceABC):
    """Some of a trace's quantities, in solution order; each is built when first read."""

    def __init__(self, trace: Trace, keys: list[str]) -> None:
        self.trace = trace
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self.trace[key] for key in self.keys[index]]
        return self.trace[self.keys[index]]


@dataclass(frozen=True)
class WeightRow:
    """The weights into neuron j of one layer: their keys, values and dependencies, for i = 1, 2, ..."""

    j: int
    keys: list[str]
    values: list[float]
    depends_on: list[list[str]]


@dataclass(frozen=True)
class WeightBlock:
    """All grad_weight (or new_weight) entries of one layer, row by row: most of a big network's quantities."""

    kind: str
    layer: int


class _Builder:
    """Knows, for every entry, its key, value, dependencies, formula and recomputation."""

    def __init__(self, problem: Problem, step: Step, labels: Labels) -> None:
        self.p = problem
        self.step = step
        self.labels = labels
        self.m = problem.samples
        self.L = len(problem.layers)
        self.batch = problem.batch

    # -- ordering -----------------------------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        """Every entry in solution order."""
        for item in self.blocks():
            if isinstance(item, WeightBlock):
                layer = self.p.layers[item.layer - 1]
                for j in range(1, layer.size + 1):
                    for i in range(1, layer.fan_in + 1):
                        yield (item.kind, item.layer, j, i, None)
            else:
                yield item

    def blocks(self) -> Iterator[Entry | "WeightBlock"]:
        """Entries in solution order, with each layer's weight gradients and updates as one block."""
        samples = range(self.m)
        for l, layer in enumerate(self.p.layers, start=1):
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
        for l in range(self.L, 0, -1):
            yield from self._update_entries(l)

    def _backward_entries(self, l: int) -> Iterator[Entry]:
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
        yield WeightBlock("new_weight", l)
        if self.p.update_biases:
            for j in self._bias_indices(l):
                yield ("new_bias", l, j, None, None)

    def _bias_indices(self, l: int) -> list[int | None]:
        layer = self.p.layers[l - 1]
        return [None] if layer.shared_bias else list(range(1, layer.size + 1))

    def count(self) -> int:
        total = 0
        for item in self.blocks():
            total += self.p.layers[item.layer - 1].weights.size if isinstance(item, WeightBlock) else 1
        return total

    # -- key, index, value, dependencies ----------------------------------------------------------------

    def key(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> str:
        sample = s + 1 if self.batch and s is not None else None
        return make_key(kind, l, j, i, sample)

    def index(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> tuple[int, ...]:
        parts = []
        if self.batch and s is not None:
            parts.append(s + 1)
        parts += [k for k in (j, i) if k is not None]
        return tuple(parts)

    def value(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> float:
        step = self.step
        if kind == "loss":
            if j is not None:
                return float(step.loss_shares[s, j - 1])
            return step.loss if s is None else float(step.sample_losses[s])
        ls = step.layers[l - 1]
        if kind in ("grad_weight", "new_weight"):
            return float((ls.grad_weights if kind == "grad_weight" else ls.new_weights)[j - 1, i - 1])
        if kind in ("grad_bias", "new_bias"):
            array = ls.grad_biases if kind == "grad_bias" else ls.new_biases
            return float(array[0 if j is None else j - 1])
        array = {"net": ls.net, "out": ls.out, "dloss_dout": ls.dloss_dout, "dout_dnet": ls.dout_dnet,
                 "delta": ls.delta}[kind]
        return float(array[s, j - 1])

    def deps(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> tuple[str, ...]:
        k = self.key
        p = self.p
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
            if p.loss.name == "cross_entropy":
                return (k("out", l, j, None, s),)
            n = self._neurons(l)
            return tuple(k("dloss_dout", l, q, None, s) for q in n) + tuple(k("out", l, q, None, s) for q in n)
        if kind == "grad_weight":
            deltas = tuple(k("delta", l, j, None, t) for t in range(self.m))
            return deltas if l == 1 else deltas + tuple(k("out", l - 1, i, None, t) for t in range(self.m))
        if kind == "grad_bias":
            neurons = self._neurons(l) if j is None else [j]
            return tuple(k("delta", l, q, None, t) for t in range(self.m) for q in neurons)
        if kind == "new_weight":
            return (k("grad_weight", l, j, i, None),)
        return (k("grad_bias", l, j, None, None),)

    def _neurons(self, l: int) -> range:
        return range(1, self.p.layers[l - 1].size + 1)

    def records(self) -> Iterator[dict]:
        """Plain records in solution order (see `record_blocks` for the fast form)."""
        for item in self.record_blocks():
            if isinstance(item, dict):
                yield item
                continue
            kind, layer = item.kind, item.layer
            for row in self.weight_rows(item):
                for i, (key, value, deps) in enumerate(zip(row.keys, row.values, row.depends_on), start=1):
                    yield {"key": key, "kind": kind, "layer": layer, "index": [row.j, i], "value": value,
                           "depends_on": list(deps)}

    def record_blocks(self) -> Iterator[dict | "WeightBlock"]:
        """Records as dicts, except each weight block, which `weight_rows` lists without per-entry calls."""
        for item in self.blocks():
            if isinstance(item, WeightBlock):
                yield item
            else:
                yield {"key": self.key(*item), "kind": item[0], "layer": item[1], "index": list(self.index(*item)),
                       "value": self.value(*item), "depends_on": list(self.deps(*item))}

    def weight_rows(self, block: "WeightBlock") -> Iterator["WeightRow"]:
        """The weights into each neuron j of a block's layer: keys, values and dependencies, i = 1, 2, ..."""
        l = block.layer
        ls = self.step.layers[l - 1]
        n, fan_in = ls.weights.shape
        values = (ls.grad_weights if block.kind == "grad_weight" else ls.new_weights).tolist()
        inputs = range(1, fan_in + 1)
        at = [f"@{t + 1}" for t in range(self.m)] if self.batch else [""]
        outs = [[f"out{l - 1}_{i}{a}" for a in at] for i in inputs] if l > 1 else None
        for j in range(1, n + 1):
            grads = [f"dL_dw{l}_{j}_{i}" for i in inputs]
            if block.kind == "new_weight":
                yield WeightRow(j, [f"new_w{l}_{j}_{i}" for i in inputs], values[j - 1], [[g] for g in grads])
                continue
            deltas = [f"delta{l}_{j}{a}" for a in at]
            deps = [deltas] * fan_in if outs is None else [deltas + o for o in outs]
            yield WeightRow(j, grads, values[j - 1], deps)

    # -- formulas and recomputation -------------------------------------------------------------------

    def build(self, entry: Entry) -> Quantity:
        kind, l, j, i, s = entry
        formula, compute, note = getattr(self, f"_{kind}")(l, j, i, s)
        return Quantity(
            key=self.key(*entry), kind=kind, layer=l, index=self.index(*entry), value=self.value(*entry),
            label=self.labels.of(kind, l, j, i, None if s is None else s + 1),
            formula=tuple(formula), depends_on=self.deps(*entry), compute=compute, note=note, j=j, i=i,
            sample=s + 1 if self.batch and s is not None else None,
        )

    def _term(self, kind: str, l: int | None, j: int | None, i: int | None, s: int | None) -> Term:
        label = self.labels.of(kind, l, j, i, None if s is None else s + 1)
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
        if act.elementwise:
            net = self._term("net", l, j, None, s)
            return [f"{act.describe()}(", net, ")"], lambda v: float(act.forward(np.float64(v))), ""
        nets = [self._term("net", l, q, None, s) for q in self._neurons(l)]
        parts = ["exp(", nets[j - 1], ") / (", *_joined([["exp(", t, ")"] for t in nets], " + "), ")"]
        return parts, lambda *v: float(act.forward(np.array(v, dtype=float))[j - 1]), ""

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
        parts = _share_formula(loss.name, o, t, n)
        return parts, self._with_output(loss.shares, j, s), ""

    def _with_output(self, function, j: int, s: int) -> Callable[[float], float]:
        """Recompute function(outputs, targets)[j] with output j replaced by the given value."""
        outputs = self.step.layers[-1].out[s].copy()
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
            parts = _gradient_formula(self.p.loss.name, o, t, self.p.layers[-1].size)
            return parts, self._with_output(self.p.loss.gradient, j, s), ""
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
        parts = _derivative_formula(act.name, act.params, net_t, out_t)
        if act.derivative_uses == "out":
            return parts, lambda o: float(act.derivative(np.float64(np.nan), np.float64(o))), ""
        if act.derivative_uses == "net":
            return parts, lambda v: float(act.derivative(np.float64(v), act.forward(np.float64(v)))), ""
        return parts, lambda: 1.0, ""

    def _delta(self, l, j, i, s):
        act = self.p.layers[l - 1].activation
        if act.elementwise:
            parts = [self._term("dloss_dout", l, j, None, s), " * ", self._term("dout_dnet", l, j, None, s)]
            return parts, lambda g, d: g * d, ""
        target = float(self.step.targets[s, j - 1])
        if self.p.loss.name == "cross_entropy":
            t = Term(self.labels.target(j, s + 1, self.L), target)
            note = "softmax + cross-entropy: dL/dnet_j = out_j - t_j (the softmax Jacobian and -t/o cancel)"
            return [self._term("out", l, j, None, s), " - ", t], lambda o: o - target, note
        n = len(self._neurons(l))
        grads = [self._term("dloss_dout", l, q, None, s) for q in self._neurons(l)]
        outs = [self._term("out", l, q, None, s) for q in self._neurons(l)]
        parts = [outs[j - 1], " * (", grads[j - 1], " - (",
                 *_joined([[g, " * ", o] for g, o in zip(grads, outs)], " + "), "))"]

        def compute(*v: float) -> float:
            g, o = np.array(v[:n]), np.array(v[n:])
            return float(o[j - 1] * (g[j - 1] - np.dot(g, o)))

        return parts, compute, "softmax: dL/dnet_j = out_j * (dL/dout_j - sum_k dL/dout_k * out_k)"

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

    def _new_weight(self, l, j, i, s):
        old = float(self.step.layers[l - 1].weights[j - 1, i - 1])
        return self._update(Term(self.labels.weight(l, j, i), old), self._term("grad_weight", l, j, i, None))

    def _new_bias(self, l, j, i, s):
        old = float(self.step.layers[l - 1].biases[0 if j is None else j - 1])
        return self._update(Term(self.labels.bias(l, j), old), self._term("grad_bias", l, j, None, None))

    def _update(self, old: Term, grad: Term):
        rate = self.p.learning_rate
        parts = [old, " - ", Term("eta", rate), " * ", grad]
        return parts, lambda g: old.value - rate * g, ""


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


def _share_formula(loss: str, o: Term, t: Term, n: int) -> list[Part]:
    if loss == "half_sse":
        return ["1/2 * (", t, " - ", o, ")^2"]
    if loss == "sse":
        return ["(", t, " - ", o, ")^2"]
    if loss == "mse":
        return [f"1/{n} * (", t, " - ", o, ")^2"]
    if loss == "bce":
        return [f"-1/{n} * (", t, " * ln(", o, ") + (1 - ", t, ") * ln(1 - ", o, "))"]
    return ["-", t, " * ln(", o, ")"]


def _gradient_formula(loss: str, o: Term, t: Term, n: int) -> list[Part]:
    if loss == "half_sse":
        return [o, " - ", t]
    if loss == "sse":
        return ["2 * (", o, " - ", t, ")"]
    if loss == "mse":
        return [f"2/{n} * (", o, " - ", t, ")"]
    if loss == "bce":
        return ["(", o, " - ", t, f") / ({n} * ", o, " * (1 - ", o, "))"]
    return ["-", t, " / ", o]


def _derivative_formula(name: str, params: dict[str, float], net: Term, out: Term) -> list[Part]:
    if name == "sigmoid":
        return [out, " * (1 - ", out, ")"]
    if name == "tanh":
        return ["1 - (", out, ")^2"]
    if name == "relu":
        return ["1 if ", net, " > 0 else 0"]
    if name == "leaky_relu":
        return ["1 if ", net, f" > 0 else {params['slope']:g}"]
    if name == "elu":
        return ["1 if ", net, f" > 0 else {params['alpha']:g} * exp(", net, ")"]
    if name == "softplus":
        return ["1 / (1 + exp(-", net, "))"]
    return ["1"]
