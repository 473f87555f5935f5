"""The trace of one step: every named quantity with its value, formula and dependencies.

Views, the quiz and the grader all walk this. Each `Quantity` carries `compute`, which recomputes its
value from the values of `depends_on` (in that order); with the true values it gives `value`, and with
a student's own earlier values it gives what follows from them.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from functools import cached_property
from typing import Iterator, Sequence

import numpy as np

from tutor.engine.step import Step
from tutor.errors import KeyLookupError, closest
from tutor.problem.validated import Problem
from tutor.trace.builder import Builder
from tutor.trace.keys import make_key
from tutor.trace.labels import Labels, describe
from tutor.trace.quantity import Entry, Part, Quantity, Term, WeightBlock, WeightRow, upstream_keys
from tutor.trace.updates import UpdateBlock, UpdateRecord

__all__ = ["Trace", "QuantityView", "Quantity", "Term", "Part", "WeightBlock", "WeightRow", "describe"]



class Trace:
    """All quantities of one step, in the order a worked solution computes them."""

    def __init__(self, problem: Problem, step: Step, history: np.ndarray | None = None, *, shown: int = 1,
                 final: list[dict[str, np.ndarray]] | None = None) -> None:
        self.problem = problem
        self.step = step
        self.history = history
        #: Which step of `history` this trace shows (1-based): `problem` is the problem as it stands then.
        self.shown = shown
        #: Each layer's parameters ("weights", "biases") after the last step of the run, when there was one.
        self.final = final
        if problem.inputs.ndim == 4:  # an input image: conv2d, pooling and flatten layers
            from tutor.trace.conv import ImageBuilder, ImageLabels

            self.labels = ImageLabels(problem)
            self._builder: Builder = ImageBuilder(problem, step, self.labels)
        else:
            self.labels = Labels(problem)
            self._builder = Builder(problem, step, self.labels)

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
        wanted = upstream_keys([self.resolve(k) for k in keys], lambda key: self._get(key).depends_on)
        return [self._get(key) for key in sorted(wanted, key=self._position.__getitem__)]

    def records(self) -> Iterator[dict]:
        """Quantities as plain dicts (key, kind, layer, index, value, depends_on), built without formulas."""
        yield from self._builder.records()

    def record_blocks(self) -> Iterator[dict | "WeightBlock" | UpdateBlock]:
        """Like `records`, but each layer's weight gradients (or updates) come as one `WeightBlock`, and an
        optimizer's quantities of each layer's weights as one `UpdateBlock`."""
        yield from self._builder.record_blocks()

    def update_records(self, block: UpdateBlock) -> Iterator[UpdateRecord]:
        """The records of an update block: (key, kind, j, i, value, depends_on), weight by weight."""
        yield from self._builder.updates.weight_records(block.layer)

    def weight_rows(self, block: "WeightBlock") -> Iterator["WeightRow"]:
        """The rows (one per neuron) of a block of weight quantities."""
        yield from self._builder.weight_rows(block)

    def update_inputs(self, q: Quantity) -> dict[str, object]:
        """For an update quantity (opt_*, new_weight, new_bias): each input of its optimizer rule, as the key
        of a quantity or a given number (the old value, lr, t, the state the step starts from)."""
        from tutor.trace.updates import rule_name

        return self._builder.updates.inputs(rule_name(q.kind), q.layer, q.j, q.i)

    def layer_values(self, layer: int) -> dict[str, np.ndarray | None]:
        """One layer's values at once, by quantity kind (net, out, dloss_dout, dout_dnet, delta a row per
        sample; grad_weight, new_weight a row per neuron; grad_bias, new_bias), read-only."""
        values = self._builder.layer_values(layer)
        return {kind: None if array is None else _read_only(array) for kind, array in values.items()}

    def weight_values(self, kind: str, layer: int) -> np.ndarray:
        """The values of one layer's grad_weight (or new_weight) quantities at once, row j for neuron j."""
        return self._builder.weight_values(kind, layer)



def _read_only(array: np.ndarray) -> np.ndarray:
    """A view of `array` that cannot be written to (a view's reader must not change the step)."""
    view = array.view()
    view.flags.writeable = False
    return view


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

