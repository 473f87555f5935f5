"""What a layer kind contributes to the trace: its quantities in solution order, with keys, labels, values,
dependencies and formulas, the gradient with respect to its input, its catalogued mistakes and its view.

Every layer kind but dense gives its class a `tracer` (a subclass of `LayerTrace`), in its own file; the
builder asks it and never names the kind. Entries are the builder's (kind, l, j, i, s): s is the sample
(0-based); j is the feature (1-based): a number for rows of features, a 1-based (channel, row, column)
for an image, a (channel,) for an image's per-channel quantities, a parameter's index for its quantities
(whose name is then in the place of i). The kinds standard to every layer (net, out, dloss_dout,
dout_dnet, delta; map_net, ... on images) keep the builder's keys and labels; a tracer gives the formula
of those it lists in `formulas`, and the builder the others (the activation's, the next layer's gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

import numpy as np

from tutor.trace.quantity import Entry, Part, Quantity, Term

if TYPE_CHECKING:
    from tutor.trace.builder import Builder

#: A quantity's formula parts, its recomputation from its dependencies' values, a note, and the dependencies.
Formula = tuple[list[Part], Callable[..., float], str, tuple[str, ...]]
#: The image form of each standard kind (a layer whose output is an image has these).
IMAGE_KIND = {"net": "map_net", "out": "map_out", "dloss_dout": "map_dloss_dout", "dout_dnet": "map_dout_dnet",
              "delta": "map_delta"}


@dataclass(frozen=True)
class Parameter:
    """A parameter array of a layer as the trace shows it: its symbol in keys (``w``, ``gamma``), the kinds of
    its gradient and new value, and its display name at a 1-based index."""

    name: str
    symbol: str
    grad_kind: str
    new_kind: str
    label: Callable[[tuple[int, ...]], str]


class LayerTrace:
    """A layer's part of the trace (see the module's docstring); l is the layer (1-based)."""

    #: The layer's own quantity kinds: kind -> (key prefix, section, words for a quiz question).
    kinds: ClassVar[dict[str, tuple[str, str, str]]] = {}
    #: Standard kinds whose formula (and dependencies) the layer gives: "net" for batch norm's y.
    formulas: ClassVar[frozenset[str]] = frozenset()
    #: What the layer's backward pass takes, for the mistakes that redo it: dL/dnet ("delta"), or dL/dout for
    #: a layer without an activation ("dloss_dout").
    dnet_kind: ClassVar[str] = "delta"

    def __init__(self, builder: "Builder", l: int) -> None:
        self.b, self.l = builder, l
        self.ls = builder.step.layers[l - 1]
        self.spec = builder.p.layers[l - 1]
        self.m = builder.m
        self.in_shape = tuple(self.ls.inputs.shape[1:])
        self.out_shape = tuple(self.ls.out.shape[1:])
        self._updates: dict[str, Any] = {}

    # -- shapes and positions -----------------------------------------------------------------------------

    @property
    def images_out(self) -> bool:
        """Whether the layer's output is an image (its standard quantities are map_net, map_out, ...)."""
        return len(self.out_shape) == 3

    def std(self, kind: str) -> str:
        """The standard kind `kind` as this layer has it (its image form for an image output)."""
        return IMAGE_KIND[kind] if self.images_out else kind

    def positions(self, shape: tuple[int, ...] | None = None) -> Iterator[Any]:
        """Every 1-based index of the layer's output (or of `shape`): numbers for rows, tuples for images."""
        shape = self.out_shape if shape is None else shape
        if len(shape) == 1:
            return iter(range(1, shape[0] + 1))
        return (tuple(k + 1 for k in index) for index in np.ndindex(*shape))

    @staticmethod
    def zero_based(j: Any) -> tuple[int, ...]:
        return tuple(k - 1 for k in j) if isinstance(j, tuple) else (j - 1,)

    # -- what the builder asks ------------------------------------------------------------------------

    def parameters(self) -> list[Parameter]:
        """The layer's parameters as the trace shows them (none for a layer without any)."""
        return []

    def forward_entries(self) -> Iterator[Entry]:
        raise NotImplementedError

    def backward_entries(self) -> Iterator[Entry]:
        raise NotImplementedError

    def gradient_entries(self) -> Iterator[Entry]:
        """Each parameter's gradient, entry by entry (part of the backward pass)."""
        for parameter in self.parameters():
            for index in self.positions(self.ls.params[parameter.name].shape):
                yield (parameter.grad_kind, self.l, index, parameter.name, None)

    def update_entries(self) -> Iterator[Entry]:
        """Each parameter's optimizer quantities and new value, entry by entry."""
        for parameter in self.parameters():
            if parameter.name not in self.ls.update_values:  # kept fixed (update_biases: false)
                continue
            for index in self.positions(self.ls.params[parameter.name].shape):
                yield from self.updates(parameter.name).entries(index)

    def input_gradient(self, j: Any, s: int) -> Formula:
        """dL/d(input j of sample s) (the previous layer's dL/dout, or the image's dL/dx at layer 1)."""
        raise NotImplementedError

    def owns(self, kind: str) -> bool:
        return kind in self.kinds or kind in self.formulas or self._update_kind(kind)

    def key(self, kind: str, j: Any, i: Any, s: int | None) -> str:
        if self._update_kind(kind):
            return self.updates(i).key(kind, j)
        if kind in self.formulas:
            return self.b.key(kind, self.l, j, None, s)
        return f"{self.kinds[kind][0]}{self.l}_{_index_text(j)}" + (f"@{s + 1}" if s is not None and self.b.batch else "")

    def label(self, kind: str, j: Any, i: Any, s: int | None) -> str:
        """The display name; s is 1-based here, as the labels take it."""
        if self._update_kind(kind):
            return self.updates(i).label(kind, j)
        if kind in self.formulas:
            return self.b.labels.of(kind, self.l, j, None, s)
        return self.own_label(kind, j, s)

    def own_label(self, kind: str, j: Any, s: int | None) -> str:
        raise NotImplementedError

    def index(self, kind: str, j: Any, i: Any, s: int | None) -> tuple[int, ...]:
        if kind in self.formulas:
            return self.b.index(kind, self.l, j, None, s)
        return ((s + 1,) if s is not None and self.b.batch else ()) + (tuple(j) if isinstance(j, tuple) else (j,))

    def value(self, kind: str, j: Any, i: Any, s: int | None) -> float:
        if self._update_kind(kind):
            return self.updates(i).value(kind, j)
        if kind in self.formulas:
            return self.b.value(kind, self.l, j, None, s)
        at = self.zero_based(j)
        return float(self.values(kind)[at if s is None else (s, *at)])

    def values(self, kind: str) -> np.ndarray:
        """All values of one of the layer's own kinds: per feature, or per sample."""
        raise NotImplementedError

    def deps(self, kind: str, j: Any, i: Any, s: int | None) -> tuple[str, ...]:
        if self._is_gradient(kind):
            return self.parameter_gradient(i, j)[3]
        if self._update_kind(kind):
            return self.updates(i).deps(kind, j)
        return self.formula(kind, j, s)[3]

    def build(self, entry: Entry) -> Quantity:
        kind, l, j, i, s = entry
        parameter = gradient = None
        if self._is_gradient(kind):
            parts, compute, note, deps = self.parameter_gradient(i, j)
        elif self._update_kind(kind):
            updates = self.updates(i)
            parts, compute, note = updates.formula(kind, j)
            deps = updates.deps(kind, j)
            if kind == updates.new_kind:
                parameter, gradient = updates.parameter_terms(j)
        else:
            parts, compute, note, deps = self.formula(kind, j, s)
        return Quantity(
            key=self.key(kind, j, i, s), kind=kind, layer=l, index=self.index(kind, j, i, s),
            value=self.value(kind, j, i, s), label=self.label(kind, j, i, None if s is None else s + 1),
            formula=tuple(parts), depends_on=tuple(deps), compute=compute, note=note,
            j=j if isinstance(j, int) else (j[0] if isinstance(j, tuple) and len(j) == 1 else None),
            sample=s + 1 if self.b.batch and s is not None else None, parameter=parameter, gradient=gradient,
        )

    def formula(self, kind: str, j: Any, s: int | None) -> Formula:
        """One of the layer's quantities: formula parts, recomputation, note and dependencies."""
        raise NotImplementedError

    def parameter_gradient(self, name: str, j: Any) -> Formula:
        """dL/d(parameter `name` at j), the batch mean."""
        raise NotImplementedError

    def describe(self, q: Quantity) -> str | None:
        """What q is, in words (quiz questions, blank sheets); None for the standard kinds' usual words."""
        where = _where(q, self.b.batch)
        layer = f"layer {self.l} ({self.spec.kind})"
        if q.kind in self.kinds:
            return f"{self.kinds[q.kind][2]} ({where}) of {layer}"
        if self._is_gradient(q.kind):
            return f"gradient of the loss with respect to {q.label[q.label.index('/d') + 2:]}, {layer}"
        if self._update_kind(q.kind):
            return f"{q.label} in {layer}" + (" (the value after the update)" if q.label.endswith("+") else "")
        return None

    def mistake_values(self, q: Quantity, world: Any, mistake_id: str, role: str) -> list[float]:
        """What q would be under the layer's catalogued mistake `mistake_id`, from `world`: a `TraceMistake`
        on the layer's own quantities, or a `LayerMistake` (a wrong backward pass) on its gradients."""
        from tutor.model.layers.mistake import INPUT_GRADIENT, WEIGHT_GRADIENT

        found: list[float] = []
        target = INPUT_GRADIENT if role == "input" else \
            WEIGHT_GRADIENT if any(q.kind == p.grad_kind and p.name == "weights" for p in self.parameters()) else None
        for mistake in getattr(type(self.ls.layer), "mistakes", ()):
            if mistake.id != mistake_id:
                continue
            try:  # a student's extreme value: the mistake gives nothing to compare with
                with np.errstate(all="ignore"):
                    if getattr(mistake, "target", None) is None:
                        found += mistake.wrong(self, q, world, role)
                    elif mistake.target == target:
                        found += self._backward_mistake(mistake, q, world)
            except (OverflowError, ZeroDivisionError):
                continue
        return found

    def _backward_mistake(self, mistake: Any, q: Quantity, world: Any) -> list[float]:
        """A wrong backward pass on one sample's dL/dnet and input, read from `world` (the weights' gradient: the
        mean over the samples)."""
        index = tuple(k - 1 for k in (q.index[1:] if q.sample is not None else q.index))
        samples = range(self.m) if q.sample is None and self.m > 1 else [q.sample - 1 if q.sample else 0]
        values = []
        for s in samples:
            dnet = self._world_array(world, lambda j: self.standard(self.dnet_kind, j, s), self.out_shape)
            x = self._world_array(world, lambda j: self.input_term(j, s), self.in_shape)
            wrong = mistake.wrong(self.ls.layer, dnet, x)
            if wrong is None or not np.isfinite(wrong[index]):
                return []
            values.append(float(wrong[index]))
        return [float(np.mean(values))]

    def _world_array(self, world: Any, term: Callable[[Any], Term], shape: tuple[int, ...]) -> np.ndarray:
        array = np.empty(shape)
        for index in np.ndindex(*shape):
            j = tuple(k + 1 for k in index) if len(shape) > 1 else index[0] + 1
            array[index] = self.at(world, term(j))
        return array

    def show(self, view: Any, trace: Any, section: str) -> None:
        """The layer's quantities of one section (forward, backward) as a table of the text view."""
        titles = {"forward": self.spec.describe(), "backward": f"{self.spec.kind} backward"}
        view.quantity_table(trace.select(trace.layer_kinds(self.l, section), self.l),
                            f"Layer {self.l}: {titles.get(section, section)}")

    def tables(self, section: str) -> list[tuple[tuple[str, ...], str, list[tuple[str, np.ndarray]], str]]:
        """What the image view shows of one section (forward, backward): (kinds, title, grids, note) per table,
        the note before the table, the grids (titled matrices) after it."""
        kinds = tuple(dict.fromkeys(e[0] for e in (self.forward_entries() if section == "forward" else
                                                     self.backward_entries())))
        act = self.spec.activation
        title = self.spec.describe() + (f" (out = {act.formula})" if act is not None else "")
        grids = []
        if self.images_out:
            array = self.ls.out if section == "forward" else self.ls.dloss_dout
            name = f"out^{self.l}" if section == "forward" else f"dL/dout^{self.l}"
            grids = [g for s in range(self.m) for g in channel_grids(name, array[s], s, self.b.batch)]
        what = "dL/dout" if act is None else "backward"
        return [(kinds, f"Layer {self.l}: {title}" if section == "forward" else f"Layer {self.l}: {what} ({title})",
                 grids, "")]

    def extra_views(self) -> list[tuple[str, list[list[tuple[str, np.ndarray]]]]]:
        """More of the backward pass as (note, bands of titled matrices) (none by default)."""
        return []

    def given_rows(self, fmt: Callable[[float], str]) -> list[tuple[str, str]]:
        """(what, its numbers) of what the problem gives the layer, for the problem card: its parameters and
        its settings (`settings_rows`)."""
        rows = []
        for parameter in self.parameters():
            array = self.ls.params[parameter.name]
            text = ", ".join(f"{parameter.label(tuple(k + 1 for k in index))} = {fmt(float(array[index]))}"
                             for index in np.ndindex(*array.shape))
            rows.append((parameter.name, text))
        return rows + self.settings_rows(fmt)

    def given_values(self) -> dict[str, float]:
        """The layer's parameters by display name (answers may use them by name)."""
        return {parameter.label(tuple(k + 1 for k in index)): float(self.ls.params[parameter.name][index])
                for parameter in self.parameters() for index in np.ndindex(*self.ls.params[parameter.name].shape)}

    def settings_rows(self, fmt: Callable[[float], str]) -> list[tuple[str, str]]:
        """The layer's settings for the problem card (none by default)."""
        return []

    def given_grids(self) -> list[tuple[str, np.ndarray]]:
        """Titled matrices of what the problem gives the layer (filters), shown with the input image."""
        return []

    def input_gradient_note(self) -> str:
        """How the gradient with respect to the layer's input comes from the layer's own, in words."""
        return ""

    # -- helpers for the kinds' formulas ---------------------------------------------------------------

    def at(self, world: Any, term: Term) -> float:
        """A term's value in `world` (a given number is as given)."""
        return term.value if term.key is None else float(world[term.key])

    def own(self, kind: str, j: Any, s: int | None = None) -> Term:
        """One of the layer's own quantities as a term."""
        return Term(self.own_label(kind, j, None if s is None else s + 1), self.value(kind, j, None, s),
                    self.key(kind, j, None, s))

    def standard(self, kind: str, j: Any, s: int) -> Term:
        """A standard quantity (net, out, dloss_dout, delta; given in its vector form) of this layer as a term."""
        return self.b._term(self.std(kind), self.l, j, None, s)

    def input_term(self, j: Any, s: int) -> Term:
        """Input j of sample s: the previous layer's out (a given number at layer 1)."""
        if isinstance(j, tuple):
            return self.b._image_input(self.l, self.zero_based(j), s)
        return self.b._input_term(self.l, j, s)

    def parameter_of(self, q: Quantity) -> tuple[str, Any]:
        """(the parameter's name, its index) of one of the layer's gradient or update quantities."""
        j = q.index[0] if len(q.index) == 1 else tuple(q.index)
        for parameter in self.parameters():
            if self.updates(parameter.name).key(q.kind, j) == q.key:
                return parameter.name, j
        raise KeyError(q.key)

    def updates(self, name: str):
        from tutor.trace.updates import ParameterUpdates

        if name not in self._updates:
            parameter = next(p for p in self.parameters() if p.name == name)
            self._updates[name] = ParameterUpdates(self.b, self.l, parameter)
        return self._updates[name]

    def gradient_term(self, name: str, j: Any) -> Term:
        updates = self.updates(name)
        kind = updates.grad_kind
        return Term(updates.label(kind, j), updates.value(kind, j), updates.key(kind, j))

    def _is_gradient(self, kind: str) -> bool:
        return any(kind == p.grad_kind for p in self.parameters())

    def _update_kind(self, kind: str) -> bool:
        return kind.startswith("opt_") or any(kind in (p.grad_kind, p.new_kind) for p in self.parameters())


def channel_grids(name: str, array: np.ndarray, s: int, batch: bool) -> list[tuple[str, np.ndarray]]:
    """One grid per channel of one sample's (C, H, W) array, titled ``name``, ``name[ch]``, ``name@s`` in a batch."""
    at = f"@{s + 1}" if batch else ""
    if array.shape[0] == 1:
        return [(f"{name}{at}", array[0])]
    return [(f"{name}[{ch + 1}]{at}", array[ch]) for ch in range(array.shape[0])]


def sample_and_index(q: Quantity) -> tuple[int, Any]:
    """(0-based sample, index) of a per-sample quantity: the index a number for rows, a tuple for images."""
    index = q.index[1:] if q.sample is not None else q.index
    return (q.sample - 1 if q.sample is not None else 0), (index[0] if len(index) == 1 else tuple(index))


def _index_text(j: Any) -> str:
    return "_".join(str(k) for k in j) if isinstance(j, tuple) else str(j)


def _where(q: Quantity, batch: bool) -> str:
    index = q.index[1:] if batch and q.sample is not None else q.index
    text = "feature " + ",".join(str(k) for k in index) if len(index) != 3 else \
        f"channel {index[0]}, row {index[1]}, column {index[2]}"
    return text + (f", sample {q.sample}" if q.sample is not None else "")


def with_values(terms: list[Term], compute: Callable[[list[float]], float]) -> tuple[Callable[..., float], tuple[str, ...]]:
    """A recomputation from the terms that are quantities (in order), the others' numbers fixed, and their keys."""
    keys = tuple(t.key for t in terms if t.key is not None)
    fixed = [t.value if t.key is None else None for t in terms]

    def recompute(*values: float) -> float:
        supplied = iter(values)
        try:  # a student's extreme value gives nan, not an error
            with np.errstate(all="ignore"):
                return float(compute([next(supplied) if v is None else v for v in fixed]))
        except (OverflowError, ZeroDivisionError):
            return float("nan")

    return recompute, keys


#: Sums over a window or a feature map are written out in full up to this many terms (a 6x6 map), elided beyond.
MAX_TERMS_IN_FULL = 36


def joined(groups: list[list[Part]], separator: str) -> list[Part]:
    """Groups of parts joined by a separator, long sums elided in the middle (as the builder's)."""
    from tutor.trace.builder import _joined

    return _joined(groups, separator)


def summed(groups: list[list[Part]], separator: str) -> list[Part]:
    """A sum over a window or a feature map: in full up to MAX_TERMS_IN_FULL terms, elided beyond."""
    from tutor.model.activations.base import join_parts

    return join_parts(groups, separator) if len(groups) <= MAX_TERMS_IN_FULL else joined(groups, separator)
