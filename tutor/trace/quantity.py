"""The pieces of a trace: a quantity (key, value, formula, dependencies) and the terms of its formula."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

from tutor.trace.keys import SECTION_OF_KIND



@dataclass(frozen=True)
class Term:
    """One number in a formula, with the symbol it stands for (and its key, when that is a quantity).

    A term without a key is a number given in the problem file (a weight, bias, input, target or the
    learning rate); views print those as written rather than rounded.
    """

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
    #: For an update quantity (an optimizer rule or the new value): the parameter it updates, with its value
    #: before the step (a given number), and the gradient of the loss with respect to it (a quantity).
    parameter: Term | None = None
    gradient: Term | None = None

    @property
    def section(self) -> str:
        return SECTION_OF_KIND[self.kind]

    def symbolic(self) -> str:
        """The formula in symbols, e.g. ``w5 * out_h1 + w6 * out_h2 + b2``."""
        return symbolic(self.formula)

    def substituted(self, fmt: Callable[[float], str], given: Callable[[float], str] | None = None) -> str:
        """The formula with numbers in place of symbols; a negative number after an operator gets brackets.

        `given` formats the numbers given in the problem file (terms without a key), `fmt` the others.
        """
        return substituted(self.formula, fmt, given)


def symbolic(parts: Sequence[Part]) -> str:
    """Formula parts in symbols."""
    return "".join(p if isinstance(p, str) else p.symbol for p in parts)


def substituted(parts: Sequence[Part], fmt: Callable[[float], str], given: Callable[[float], str] | None = None) -> str:
    """Formula parts with numbers in place of symbols (see `Quantity.substituted`); a negative base of a power
    gets brackets too (``(-7)^2``)."""
    out: list[str] = []
    for n, part in enumerate(parts):
        if isinstance(part, Term):
            text = (given if given is not None and part.key is None else fmt)(part.value)
            after_operator = bool(out) and out[-1].rstrip()[-1:] in ("*", "/", "+", "-", "^")
            base = n + 1 < len(parts) and isinstance(parts[n + 1], str) and parts[n + 1].startswith("^")
            out.append(operand(text) if after_operator or base else text)
        else:
            out.append(part)
    return "".join(out)


def upstream_keys(keys: Sequence[str], depends_on: Callable[[str], Sequence[str]]) -> set[str]:
    """`keys` and every key they depend on, directly or not (`depends_on(key)` gives a key's own)."""
    wanted: set[str] = set()
    stack = list(keys)
    while stack:
        key = stack.pop()
        if key not in wanted:
            wanted.add(key)
            stack.extend(depends_on(key))
    return wanted


def operand(text: str) -> str:
    """A number written after an operator: in brackets when negative (``0.5 * (-1)``), the one way everywhere."""
    return f"({text})" if text.startswith("-") else text


Entry = tuple  # (kind, layer, j, i, s): s is the 0-based sample, j and i are 1-based


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

