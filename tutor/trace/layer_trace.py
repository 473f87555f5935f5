"""What a layer kind contributes to the trace: its quantities in solution order, with keys, labels, values,
dependencies and formulas, and the gradient with respect to its input.

A layer kind that is not dense gives its class a `tracer` (a subclass of `LayerTrace`), in its own file;
the builder asks it, never naming the kind. Entries are the builder's (kind, l, j, i, s): j is the feature
(1-based), s the sample (0-based), and i carries a parameter's name for the parameters' quantities.
The kinds standard to every layer (net, out, dloss_dout, dout_dnet, delta) keep the builder's keys and
labels; a tracer may take over the formula of some of them (`formulas`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

import numpy as np

from tutor.trace.quantity import Entry, Part, Quantity, Term

if TYPE_CHECKING:
    from tutor.trace.builder import Builder

Formula = tuple[list[Part], Callable[..., float], str]


class LayerTrace:
    """A layer's part of the trace (see the module's docstring); l is the layer (1-based)."""

    #: The layer's own quantity kinds: kind -> (key prefix, section, words for a quiz question).
    kinds: ClassVar[dict[str, tuple[str, str, str]]] = {}
    #: Standard kinds whose formula (and dependencies) the layer gives: "net" for batch norm's y.
    formulas: ClassVar[frozenset[str]] = frozenset()
    #: Parameter name -> symbol (gamma, beta), for their gradient and update quantities.
    symbols: ClassVar[dict[str, str]] = {}

    def __init__(self, builder: "Builder", l: int) -> None:
        self.b, self.l = builder, l
        self.ls = builder.step.layers[l - 1]
        self.spec = builder.p.layers[l - 1]
        self.m = builder.m
        self.features = self.spec.size
        self._updates: dict[str, Any] = {}

    # -- what the builder asks ------------------------------------------------------------------------

    def forward_entries(self) -> Iterator[Entry]:
        raise NotImplementedError

    def backward_entries(self) -> Iterator[Entry]:
        raise NotImplementedError

    def update_entries(self) -> Iterator[Entry]:
        """Each parameter's optimizer quantities and new value, feature by feature."""
        if not self.symbols:
            return
        for name in self.symbols:
            for j in range(1, self.features + 1):
                yield from self.updates(name).entries(j)

    def input_gradient(self, j: int, s: int) -> tuple[list[Part], Callable[..., float], str, tuple[str, ...]]:
        """dL/d(input j of sample s): the formula, its recomputation, a note and its dependencies."""
        raise NotImplementedError

    def owns(self, kind: str) -> bool:
        return kind in self.kinds or kind in self.formulas or self._is_update(kind)

    def key(self, kind: str, j: int, i: Any, s: int | None) -> str:
        if self._is_update(kind):
            return self.updates(i).key(kind, j)
        if kind in self.formulas:
            return self.b.key(kind, self.l, j, None, s)
        prefix = self.kinds[kind][0]
        return f"{prefix}{self.l}_{j}" + (f"@{s + 1}" if s is not None and self.b.batch else "")

    def label(self, kind: str, j: int, i: Any, s: int | None) -> str:
        """The display name; s is 1-based here, as the labels take it."""
        if self._is_update(kind):
            return self.updates(i).label(kind, j)
        if kind in self.formulas:
            return self.b.labels.of(kind, self.l, j, None, s)
        return self.own_label(kind, j, s)

    def own_label(self, kind: str, j: int, s: int | None) -> str:
        raise NotImplementedError

    def index(self, kind: str, j: int, i: Any, s: int | None) -> tuple[int, ...]:
        if kind in self.formulas:
            return self.b.index(kind, self.l, j, None, s)
        return ((s + 1,) if s is not None and self.b.batch else ()) + (j,)

    def value(self, kind: str, j: int, i: Any, s: int | None) -> float:
        if self._is_update(kind):
            return self.updates(i).value(kind, j)
        if kind in self.formulas:
            return self.b.value(kind, self.l, j, None, s)
        return float(self.values(kind)[(j - 1,) if s is None else (s, j - 1)])

    def values(self, kind: str) -> np.ndarray:
        """All values of one of the layer's own kinds: per feature, or a row per sample."""
        raise NotImplementedError

    def deps(self, kind: str, j: int, i: Any, s: int | None) -> tuple[str, ...]:
        if self._is_update(kind):
            return self.updates(i).deps(kind, j)
        return self.formula(kind, j, s)[3]

    def build(self, entry: Entry) -> Quantity:
        kind, l, j, i, s = entry
        parameter = gradient = None
        if self._is_update(kind):
            parts, compute, note = self.updates(i).formula(kind, j)
            deps = self.updates(i).deps(kind, j)
            if kind == "new_param":
                parameter, gradient = self.updates(i).parameter_terms(j)
        else:
            parts, compute, note, deps = self.formula(kind, j, s)
        return Quantity(
            key=self.key(kind, j, i, s), kind=kind, layer=l, index=self.index(kind, j, i, s),
            value=self.value(kind, j, i, s), label=self.label(kind, j, i, None if s is None else s + 1),
            formula=tuple(parts), depends_on=tuple(deps), compute=compute, note=note, j=j,
            sample=s + 1 if self.b.batch and s is not None else None, parameter=parameter, gradient=gradient,
        )

    def formula(self, kind: str, j: int, s: int | None) -> tuple[list[Part], Callable[..., float], str, tuple[str, ...]]:
        """One of the layer's quantities: formula parts, recomputation, note and dependencies."""
        raise NotImplementedError

    def describe(self, q: Quantity) -> str | None:
        """What q is, in words (quiz questions, blank sheets); None for the standard kinds' usual words."""
        if q.kind in self.kinds:
            where = f"feature {q.j}" + (f", sample {q.sample}" if q.sample is not None else "")
            return f"{self.kinds[q.kind][2]} ({where}) of layer {self.l} ({self.spec.kind})"
        if self._is_update(q.kind):
            return f"{q.label} in layer {self.l} ({self.spec.kind})"
        return None

    def show(self, view: Any, trace: Any, section: str) -> None:
        """The layer's quantities of one section (forward, backward) as a table of the text view."""
        titles = {"forward": self.spec.describe(), "backward": f"{self.spec.kind} backward"}
        view.quantity_table(trace.select(trace.layer_kinds(self.l, section), self.l),
                            f"Layer {self.l}: {titles.get(section, section)}")

    def mistake_values(self, q: Quantity, world: Any, mistake_id: str, role: str) -> list[float]:
        """What q would be under the layer's catalogued mistake `mistake_id` (`TraceMistake`), from `world`."""
        found: list[float] = []
        for mistake in getattr(type(self.ls.layer), "mistakes", ()):
            if mistake.id == mistake_id and hasattr(mistake, "wrong") and getattr(mistake, "target", None) is None:
                found += mistake.wrong(self, q, world, role)
        return found

    def at(self, world: Any, term: Term) -> float:
        """A term's value in `world` (a given number is as given)."""
        return term.value if term.key is None else float(world[term.key])

    # -- helpers for the kinds' formulas ---------------------------------------------------------------

    def own(self, kind: str, j: int, s: int | None = None) -> Term:
        """One of the layer's own quantities as a term."""
        return Term(self.own_label(kind, j, None if s is None else s + 1), self.value(kind, j, None, s),
                    self.key(kind, j, None, s))

    def standard(self, kind: str, j: int, s: int) -> Term:
        """A standard quantity (net, out, dloss_dout, delta) of this layer as a term."""
        return self.b._term(kind, self.l, j, None, s)

    def input_term(self, j: int, s: int) -> Term:
        """Input j of sample s: the previous layer's out (a given number at layer 1)."""
        return self.b._input_term(self.l, j, s)

    def updates(self, name: str):
        from tutor.trace.updates import ParameterUpdates

        if name not in self._updates:
            self._updates[name] = ParameterUpdates(self.b.p, self.b.step, self.l, name, self.symbols[name],
                                                   self.b.labels.loss)
        return self._updates[name]

    def gradient_term(self, name: str, j: int) -> Term:
        updates = self.updates(name)
        return Term(updates.label("grad_param", j), updates.value("grad_param", j), updates.key("grad_param", j))

    @staticmethod
    def _is_update(kind: str) -> bool:
        return kind.startswith("opt_") or kind in ("new_param", "grad_param")


def with_values(terms: list[Term], compute: Callable[[list[float]], float]) -> tuple[Callable[..., float], tuple[str, ...]]:
    """A recomputation from the terms that are quantities (in order), the others' numbers fixed, and their keys."""
    keys = tuple(t.key for t in terms if t.key is not None)
    fixed = [t.value if t.key is None else None for t in terms]

    def recompute(*values: float) -> float:
        supplied = iter(values)
        return float(compute([next(supplied) if v is None else v for v in fixed]))

    return recompute, keys


def joined(groups: list[list[Part]], separator: str) -> list[Part]:
    """Groups of parts joined by a separator, long sums elided in the middle (as the builder's)."""
    from tutor.trace.builder import _joined

    return _joined(groups, separator)
