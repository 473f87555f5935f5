"""One walk of a trace for every document format: its quantities grouped by section and layer, each with
its label, formula, substituted numbers and value as text, ready to be written as Markdown, LaTeX or HTML."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from tutor.trace.trace import Quantity, Trace
from tutor.views.output import PlainSink
from tutor.views.text import TextView, as_written, number_formatter

SECTION_TITLES = {"forward": "Forward pass", "loss": "Loss", "backward": "Backward pass", "updates": "Updates"}


@dataclass(frozen=True)
class Line:
    """One quantity of a worked solution: label = formula = numbers = value (numbers None when the formula has
    no symbol to substitute)."""

    key: str
    label: str
    formula: str
    numbers: str | None
    value: str
    note: str


@dataclass(frozen=True)
class Group:
    """Consecutive quantities of one section and layer."""

    section: str
    layer: int | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Document:
    """A worked solution, as every format writes it."""

    title: str
    intro: tuple[str, ...]  # description, source and the network in words
    groups: tuple[Group, ...]
    summary: tuple[str, ...]
    trace: Trace


def build_document(trace: Trace, keys: Sequence[str] = (), digits: int = 6) -> Document:
    """The worked solution of `trace` (only the derivations of `keys` and what they need, if given)."""
    fmt = number_formatter(digits)
    given = as_written if trace.shown == 1 else fmt
    quantities: Iterable[Quantity] = trace.closure(list(keys)) if keys else trace.quantities
    problem = trace.problem
    view = TextView(PlainSink(io.StringIO(), 80), digits)
    view.given_numbers(trace)  # values as `solve` prints them: copied onto a sheet, each is graded right
    intro = [line for line in (problem.description, problem.source and f"Source: {problem.source}") if line]
    intro += _network_lines(trace, view)
    title = problem.name or "Worked solution"
    if trace.shown > 1:
        title += f", step {trace.shown}"
    name = trace.output if getattr(trace, "is_graph", False) else problem.notation.loss
    summary = [f"{name} = {view.value_text(trace[trace.output])}" if getattr(trace, "is_graph", False)
               else f"{name} before the update: {view.loss_text(trace.loss)}"]
    if trace.history is not None and len(trace.history) > trace.shown:
        summary.append(f"{name} after the update: {view.loss_text(trace.history[trace.shown])}")
    return Document(title, tuple(intro), tuple(_groups(quantities, fmt, given, view.value_text)), tuple(summary),
                    trace)


def _network_lines(trace: Trace, view: TextView) -> list[str]:
    """What is computed, in words: a network's layers and loss, an image network's summary, or a graph's
    gates, inputs and output."""
    problem = trace.problem
    if getattr(trace, "is_graph", False):
        from tutor.views.graph import GraphSolution

        return [GraphSolution(view, trace).given_line().replace("\u00a0", " ")]
    if problem.inputs.ndim == 4:
        return [f"Network {problem.summary()}"]
    return view.shape_line(problem).split("\n")


def _groups(quantities: Iterable[Quantity], fmt, given, value) -> list[Group]:
    groups: list[Group] = []
    current: list[Line] = []
    where: tuple[str, int | None] | None = None
    for q in quantities:
        place = (q.section, None if q.section == "loss" else q.layer)
        if place != where and current:
            groups.append(_group(where, current))
            current = []
        where = place
        current.append(quantity_line(q, fmt, given, value(q)))
    if current and where is not None:
        groups.append(_group(where, current))
    return groups


def _group(where: tuple[str, int | None], lines: list[Line]) -> Group:
    section, layer = where
    return Group(section, layer, tuple(lines))


def quantity_line(q: Quantity, fmt, given, value: str) -> Line:
    """label = formula = numbers = value, as text in the trace's notation (`value` as `solve` prints it)."""
    formula = q.symbolic()
    numbers = q.substituted(fmt, given)
    return Line(q.key, q.label, formula, None if numbers in (formula, value) else numbers, value, q.note)


def headed(document: Document) -> Iterator[tuple[str | None, Group]]:
    """Each group with its section's title where a new section starts (None within a section)."""
    current = None
    for group in document.groups:
        title = SECTION_TITLES[group.section]
        yield (title if title != current else None), group
        current = title
