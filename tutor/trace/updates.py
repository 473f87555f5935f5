"""The quantities of a step's update: each optimizer rule (tutor.model.optimizers) for each parameter.

For one parameter (a weight w_ji of layer l, or a bias) every rule of the problem's optimizer is a
quantity: ``m_w2_1_1``, ``v_hat_b1``, ... and last the new value ``new_w2_1_1``. A rule's inputs are
quantities (the gradient, earlier rules) or given numbers (the old value, the learning rate, the step
number t, the state the step starts from); the formula shows both, and `compute` takes the quantities'
values in order, so a student's own numbers follow through the optimizer's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from tutor.model.optimizers.base import Rule
from tutor.problem.validated import Problem
from tutor.trace.keys import make_key
from tutor.trace.labels import Labels
from tutor.trace.quantity import Entry, Part, Term

#: The kind of the quantity a rule computes, for a weight (i given) or a bias.
NEW_KIND = {True: "new_weight", False: "new_bias"}


def rule_kind(name: str, weight: bool) -> str:
    """The quantity kind of rule `name`: ``opt_m``, or new_weight / new_bias for the new value."""
    return NEW_KIND[weight] if name == "new" else f"opt_{name}"


def rule_name(kind: str) -> str:
    """The rule a quantity kind comes from (``opt_m`` -> ``m``; new_weight and new_bias -> ``new``)."""
    return kind[4:] if kind.startswith("opt_") else "new"


@dataclass(frozen=True)
class UpdateBlock:
    """Every optimizer quantity of one layer's weights, weight by weight: most of a big network's quantities."""

    layer: int


#: One record of an update block: key, kind, j, i, value, the keys it depends on.
UpdateRecord = tuple[str, str, int, int, float, list[str]]


class UpdateQuantities:
    """Entries, values, dependencies and formulas of the update's quantities, from the step's recorded values."""

    def __init__(self, problem: Problem, step: Any, labels: Labels, key: Callable[..., str]) -> None:
        self.p = problem
        self.step = step
        self.labels = labels
        self.key = key
        self.optimizer = problem.optimizer
        self.rules: dict[str, Rule] = {rule.name: rule for rule in self.optimizer.rules}

    @property
    def detailed(self) -> bool:
        """Whether the update has quantities before the new value (anything but plain sgd)."""
        return len(self.rules) > 1

    def entries(self, l: int, j: int | None, i: int | None) -> Iterator[Entry]:
        """One parameter's quantities, in the order the optimizer computes them."""
        for name in self.rules:
            yield (rule_kind(name, i is not None), l, j, i, None)

    def weight_entries(self, l: int) -> Iterator[Entry]:
        """The quantities of every weight of layer l, weight by weight (row j, then input i)."""
        layer = self.p.layers[l - 1]
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                yield from self.entries(l, j, i)

    def weight_records(self, l: int) -> Iterator[UpdateRecord]:
        """The records of `weight_entries`, read from the arrays at once rather than entry by entry."""
        values = self._values(l, 0)
        names = list(self.rules)
        kinds = [rule_kind(name, True) for name in names]
        arrays = [values[name].tolist() for name in names]
        prefix = {name: _key_prefix(self.input_kind(name, 0), l) for name in ("grad", *names)}
        dep_prefixes = [[prefix[n] for n in self.rules[name].inputs if self.is_quantity(n)] for name in names]
        rows, cols = values["new"].shape
        for j in range(1, rows + 1):
            for i in range(1, cols + 1):
                at = f"_{j}_{i}"
                for name, kind, array, deps in zip(names, kinds, arrays, dep_prefixes):
                    yield prefix[name] + at, kind, j, i, array[j - 1][i - 1], [d + at for d in deps]

    def is_quantity(self, name: str) -> bool:
        """Whether a rule input is a quantity of the trace (else a given number)."""
        return name == "grad" or name in self.rules

    def input_kind(self, name: str, i: int | None) -> str:
        """The kind of a rule input that is a quantity: the gradient, or an earlier rule's quantity."""
        weight = i is not None
        if name == "grad":  # the gradient the optimizer takes: after clipping, when the problem clips
            kind = "grad_weight" if weight else "grad_bias"
            return kind if self.p.clipping is None else f"clipped_{kind}"
        return rule_kind(name, weight)

    def input_key(self, name: str, l: int, j: int | None, i: int | None) -> str:
        """The key of a rule input that is a quantity."""
        return self.key(self.input_kind(name, i), l, j, i, None)

    def value(self, name: str, l: int, j: int | None, i: int | None) -> float:
        """The value of rule `name` for one parameter."""
        return float(self._values(l, i)[name][_position(j, i)])

    def deps(self, name: str, l: int, j: int | None, i: int | None) -> tuple[str, ...]:
        return tuple(self.input_key(n, l, j, i) for n in self.rules[name].inputs if self.is_quantity(n))

    def inputs(self, name: str, l: int, j: int | None, i: int | None) -> dict[str, Any]:
        """Every input a rule (or a mistake on it) may read: a key for a quantity, else the given number."""
        values = self._values(l, i)
        found: dict[str, Any] = {"lr": values["lr"], "t": values["t"],
                                 "theta": float(values["theta"][_position(j, i)])}
        for state in self.optimizer.state_names:
            found[f"{state}_prev"] = float(values[f"{state}_prev"][_position(j, i)])
        found["grad"] = self.input_key("grad", l, j, i)
        for rule in self.rules:
            if rule != "new":
                found[rule] = self.input_key(rule, l, j, i)
        return found

    def formula(self, name: str, l: int, j: int | None, i: int | None,
                term: Callable[..., Term]) -> tuple[list[Part], Callable[..., float], str]:
        """The rule's formula with its terms, its recomputation from its quantities, and a note."""
        rule = self.rules[name]
        given = self.inputs(name, l, j, i)
        terms = [self._input_term(n, given[n], l, j, i, term) for n in rule.inputs]
        fixed = [None if self.is_quantity(n) else given[n] for n in rule.inputs]
        calculate = rule.compute

        def compute(*deps: float) -> float:
            supplied = iter(deps)
            with np.errstate(invalid="ignore", divide="ignore"):  # a student's negative v: the root is nan
                return float(calculate(*[next(supplied) if value is None else value for value in fixed]))

        return rule.formula(*terms), compute, ""

    def parameter_terms(self, l: int, j: int | None, i: int | None, term: Callable[..., Term]) -> tuple[Term, Term]:
        """The parameter an update quantity updates (its value before the step) and its gradient."""
        theta = float(self._values(l, i)["theta"][_position(j, i)])
        return self._input_term("theta", theta, l, j, i, term), self._input_term("grad", None, l, j, i, term)

    def _input_term(self, name: str, given: Any, l: int, j: int | None, i: int | None,
                    term: Callable[..., Term]) -> Term:
        if self.is_quantity(name):
            return term(self.input_kind(name, i), l, j, i, None)
        if name == "theta":
            return Term(self.labels.parameter(l, j, i), given)
        if name == "lr":
            return Term("eta", given)
        if name == "t":
            return Term("t", float(given))
        return Term(self.labels.optimizer_quantity(name, l, j, i), given)  # the state a step starts from

    def _values(self, l: int, i: int | None) -> dict[str, Any]:
        return self.step.layers[l - 1].update_values["weights" if i is not None else "biases"]


def _key_prefix(kind: str, l: int) -> str:
    """A weight quantity's key without its ``_j_i``: ``m_w2``, ``dL_dw2``, ``new_w2``."""
    return make_key(kind, l, 1, 1)[: -len("_1_1")]


def _position(j: int | None, i: int | None) -> tuple[int, ...]:
    """Where one parameter sits in its array: [j, i] for a weight, [j] or [0] (shared) for a bias."""
    if i is not None:
        return (j - 1, i - 1)
    return (0 if j is None else j - 1,)


class ParameterUpdates:
    """The gradient and update quantities of one parameter array of a layer kind with a tracer (conv2d's
    filters, batch norm's gamma), entry by entry, under any optimizer.

    Keys: ``dL_d{symbol}{l}_{index}`` for the gradient (``clip_`` before it once clipped),
    ``{rule}_{symbol}{l}_{index}`` for each rule of the optimizer and ``new_{symbol}{l}_{index}`` for the new
    value; entries are (kind, l, index, name, None) with the parameter's name in the place of i.
    """

    def __init__(self, builder: Any, l: int, parameter: Any) -> None:
        problem, step = builder.p, builder.step
        self.l, self.parameter, self.loss = l, parameter, builder.labels.loss
        self.symbol, self.grad_kind, self.new_kind = parameter.symbol, parameter.grad_kind, parameter.new_kind
        self.optimizer = problem.optimizer
        self.rules: dict[str, Rule] = {rule.name: rule for rule in self.optimizer.rules}
        self.values = step.layers[l - 1].update_values.get(parameter.name)
        self.grads = step.layers[l - 1].grads[parameter.name]
        self.clipped = None if step.clipped is None else step.clipped.grads[l - 1][parameter.name]
        self.clipped_kind = f"clipped_{self.grad_kind}"

    def entries(self, j: Any) -> Iterator[Entry]:
        for rule in self.rules:
            yield (self.new_kind if rule == "new" else f"opt_{rule}", self.l, j, self.parameter.name, None)

    def rule_of(self, kind: str) -> str:
        return "new" if kind == self.new_kind else rule_name(kind)

    def _at(self, j: Any) -> tuple[int, ...]:
        return tuple(k - 1 for k in j) if isinstance(j, tuple) else (j - 1,)

    def _index(self, j: Any) -> str:
        return "_".join(str(k) for k in j) if isinstance(j, tuple) else str(j)

    def key(self, kind: str, j: Any) -> str:
        if kind == self.grad_kind:
            return f"dL_d{self.symbol}{self.l}_{self._index(j)}"
        if kind == self.clipped_kind:
            return f"clip_dL_d{self.symbol}{self.l}_{self._index(j)}"
        return f"{self.rule_of(kind)}_{self.symbol}{self.l}_{self._index(j)}"

    def label(self, kind: str, j: Any) -> str:
        name = self.parameter.label(j if isinstance(j, tuple) else (j,))
        if kind == self.grad_kind:
            return f"d{self.loss}/d{name}"
        if kind == self.clipped_kind:
            return f"clip(d{self.loss}/d{name})"
        rule = self.rule_of(kind)
        return f"{name}+" if rule == "new" else f"{rule}({name})"

    def value(self, kind: str, j: Any) -> float:
        if kind == self.grad_kind:
            return float(self.grads[self._at(j)])
        if kind == self.clipped_kind:
            return float(self.clipped[self._at(j)])
        return float(self.values[self.rule_of(kind)][self._at(j)])

    def _kind_of_input(self, name: str) -> str | None:
        if name == "grad":  # after clipping, when the problem clips
            return self.grad_kind if self.clipped is None else self.clipped_kind
        if name in self.rules:
            return self.new_kind if name == "new" else f"opt_{name}"
        return None

    def deps(self, kind: str, j: Any) -> tuple[str, ...]:
        rule = self.rules[self.rule_of(kind)]
        return tuple(self.key(k, j) for k in map(self._kind_of_input, rule.inputs) if k is not None)

    def inputs(self, kind: str, j: Any) -> dict[str, Any]:
        """Every input a rule (or a mistake on it) may read: a key for a quantity, else the given number."""
        values, at = self.values, self._at(j)
        found: dict[str, Any] = {"lr": values["lr"], "t": values["t"], "theta": float(values["theta"][at])}
        for state in self.optimizer.state_names:
            found[f"{state}_prev"] = float(values[f"{state}_prev"][at])
        found["grad"] = self.key(self._kind_of_input("grad"), j)
        for rule in self.rules:
            if rule != "new":
                found[rule] = self.key(f"opt_{rule}", j)
        return found

    def terms(self, names: Any, given: dict[str, Any], j: Any) -> list[Term]:
        name = self.parameter.label(j if isinstance(j, tuple) else (j,))
        out = []
        for n in names:
            kind = self._kind_of_input(n)
            if kind is not None:
                out.append(Term(self.label(kind, j), self.value(kind, j), self.key(kind, j)))
            elif n == "theta":
                out.append(Term(name, given[n]))
            elif n == "lr":
                out.append(Term("eta", given[n]))
            elif n == "t":
                out.append(Term("t", float(given[n])))
            else:  # the state the step starts from: m_prev(gamma^2_1); m_prev_w1_1_1_1_2 for a filter's w^1(1,2)
                symbol = f"{n}({name})" if "(" not in name else f"{n}_{self.symbol}{self.l}_{self._index(j)}"
                out.append(Term(symbol, given[n]))
        return out

    def formula(self, kind: str, j: Any) -> tuple[list[Part], Callable[..., float], str]:
        rule = self.rules[self.rule_of(kind)]
        given = self.inputs(kind, j)
        terms = self.terms(rule.inputs, given, j)
        fixed = [None if self._kind_of_input(n) is not None else given[n] for n in rule.inputs]
        calculate = rule.compute

        def compute(*deps: float) -> float:
            supplied = iter(deps)
            with np.errstate(invalid="ignore", divide="ignore"):
                return float(calculate(*[next(supplied) if value is None else value for value in fixed]))

        return rule.formula(*terms), compute, ""

    def parameter_terms(self, j: Any) -> tuple[Term, Term]:
        """The parameter (its value before the step) and the gradient its update takes, as terms."""
        given = self.inputs(self.new_kind, j)
        return tuple(self.terms(("theta", "grad"), given, j))  # type: ignore[return-value]
