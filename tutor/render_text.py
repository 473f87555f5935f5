"""Terminal views of a trace: the worked solution, chosen derivations, and problem summaries.

Built from rich `Text` objects, never markup strings, so names such as ``w[1]`` print as typed.
`plain=True` gives ASCII tables without colour, for pasting into homework.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tutor.problem import Problem
from tutor.trace import Quantity, Trace

#: Longest table printed in full; bigger ones show their start and end.
MAX_ROWS = 40

Formatter = Callable[[float], str]


def number_formatter(digits: int) -> Formatter:
    """Format numbers to `digits` significant digits (no '-0')."""

    def fmt(value: float) -> str:
        text = f"{value:.{digits}g}"
        return "0" if text in ("-0", "-0.0") else text

    return fmt


class TextView:
    """Renders traces to a rich console, coloured or plain."""

    def __init__(self, console: Console, digits: int = 6, plain: bool = False) -> None:
        self.console = console
        self.fmt = number_formatter(digits)
        self.plain = plain
        self.box = box.ASCII if plain else box.SIMPLE_HEAD

    # -- building blocks ---------------------------------------------------------------------------

    def heading(self, text: str) -> None:
        self.console.print()
        self.console.print(Text(text, style="bold underline" if not self.plain else ""))

    def note(self, text: str) -> None:
        self.console.print(Text(text, style="dim" if not self.plain else ""))

    def table(self, title: str | None = None) -> Table:
        table = Table(box=self.box, title=Text(title) if title else None, title_justify="left",
                      show_edge=self.plain, pad_edge=False, expand=False)
        return table

    def quantity_table(self, quantities: Sequence[Quantity], title: str | None = None) -> Table:
        """quantity | formula | value, one row per quantity (long tables elided in the middle)."""
        table = self.table(title)
        table.add_column("quantity", no_wrap=True)
        table.add_column("formula", overflow="fold")
        table.add_column("value", justify="right", no_wrap=True)
        for q in _elide(quantities):
            if q is None:
                table.add_row(Text("..."), Text(f"{len(quantities) - MAX_ROWS} more rows (see --only KEY or "
                                                "--format json)"), Text(""))
                continue
            table.add_row(self.quantity_cell(q), self.formula_cell(q), Text(self.fmt(q.value)))
        return table

    def quantity_cell(self, q: Quantity) -> Text:
        cell = Text(q.label, style="bold" if not self.plain else "")
        if q.key != q.label:
            cell.append("\n" + q.key, style="dim" if not self.plain else "")
        return cell

    def formula_cell(self, q: Quantity) -> Text:
        cell = Text(q.symbolic())
        numbers = q.substituted(self.fmt)
        if numbers != q.symbolic():
            cell.append("\n= " + numbers)
        if q.note:
            cell.append("\n(" + q.note + ")", style="dim italic" if not self.plain else "")
        return cell

    # -- the worked solution -------------------------------------------------------------------------

    def solution(self, trace: Trace) -> None:
        """Everything: network, forward pass, loss, backward pass, updates and a summary."""
        self.network(trace.problem)
        if trace.problem.batch:
            self.matrix_view(trace.problem)
        self.forward(trace)
        self.loss(trace)
        self.backward(trace)
        self.updates(trace)
        self.summary(trace)

    def network(self, problem: Problem) -> None:
        lines = Text()
        title = problem.name
        if problem.path:
            title += f"  ({problem.path})"
        lines.append(title + "\n", style="bold" if not self.plain else "")
        if problem.description:
            lines.append(problem.description + "\n")
        if problem.source:
            lines.append(f"Source: {problem.source}\n")
        lines.append(self.shape_line(problem))
        self.console.print(Panel(lines, box=self.box, expand=False) if not self.plain else lines)

    def shape_line(self, problem: Problem) -> str:
        notation = problem.notation
        parts = [f"inputs {_names(notation.inputs)}"]
        for l, layer in enumerate(problem.layers, start=1):
            parts.append(f"layer {l}: {_names(notation.neurons[l - 1])} ({layer.activation.describe()})")
        samples = f"a batch of {problem.samples} samples" if problem.batch else "one sample"
        biases = "biases updated" if problem.update_biases else "biases kept"
        return (f"Network {problem.shape_text}: " + " -> ".join(parts) +
                f"\nLoss {problem.loss.name} ({problem.loss.formula}), {samples}, learning rate (eta) "
                f"{problem.learning_rate:g}, {biases}")

    def matrix_view(self, problem: Problem) -> None:
        """Shapes of every matrix of a batch step, as in the matrix (vectorised) view."""
        self.heading("Matrix view")
        table = self.table()
        for name in ("matrix", "shape", "how it is computed"):
            table.add_column(name)
        m, shape = problem.samples, problem.shape
        table.add_row("X = A0", f"({m}, {shape[0]})", "one row per sample")
        L = len(problem.layers)
        for l in range(1, L + 1):
            table.add_row(f"W{l}", f"({shape[l]}, {shape[l - 1]})", "row j: the weights into neuron j (as in the file)")
            table.add_row(f"Z{l}", f"({m}, {shape[l]})", f"A{l - 1} @ W{l}.T + b{l}")
            table.add_row(f"A{l}", f"({m}, {shape[l]})", f"{problem.layers[l - 1].activation.name}(Z{l})")
        for l in range(L, 0, -1):
            if l == L:
                how = "P - Y (softmax + cross-entropy)" if (problem.loss.name == "cross_entropy" and
                                                            not problem.layers[-1].activation.elementwise) \
                    else f"dL/dA{L} * f'(Z{L}), per sample"
            else:
                how = f"(dZ{l + 1} @ W{l + 1}) * f'(Z{l})"
            table.add_row(f"dZ{l}", f"({m}, {shape[l]})", how)
            table.add_row(f"dW{l}", f"({shape[l]}, {shape[l - 1]})", f"dZ{l}.T @ A{l - 1} / {m}")
        self.console.print(table)

    def forward(self, trace: Trace) -> None:
        self.heading("Forward pass")
        for l in range(1, len(trace.problem.layers) + 1):
            act = trace.problem.layers[l - 1].activation
            rows = [q for q in trace if q.kind in ("net", "out") and q.layer == l]
            self.console.print(self.quantity_table(rows, f"Layer {l} ({act.describe()}: out = {act.formula})"))

    def loss(self, trace: Trace) -> None:
        self.heading("Loss")
        rows = [q for q in trace if q.kind == "loss"]
        self.console.print(self.quantity_table(rows))

    def backward(self, trace: Trace) -> None:
        self.heading("Backward pass")
        problem = trace.problem
        for l in range(len(problem.layers), 0, -1):
            act = problem.layers[l - 1].activation
            rows = [q for q in trace if q.kind in ("dloss_dout", "dout_dnet", "delta") and q.layer == l]
            title = f"Layer {l}: deltas ({act.describe()}: dout/dnet = {act.derivative_formula})"
            self.console.print(self.quantity_table(rows, title))
            grads = [q for q in trace if q.kind in ("grad_weight", "grad_bias") and q.layer == l]
            self.console.print(self.quantity_table(grads, f"Layer {l}: gradients"))

    def updates(self, trace: Trace) -> None:
        problem = trace.problem
        self.heading(f"Updates (new = old - {problem.learning_rate:g} * gradient, all gradients from the old weights)")
        for l in range(len(problem.layers), 0, -1):
            table = self.table(f"Layer {l}")
            for name, justify in (("parameter", "left"), ("old", "right"), ("gradient", "right"), ("new", "right")):
                table.add_column(name, justify=justify)
            rows = [q for q in trace if q.kind in ("new_weight", "new_bias") and q.layer == l]
            for q in _elide(rows):
                if q is None:
                    table.add_row("...", "", "", f"{len(rows) - MAX_ROWS} more")
                    continue
                old, grad = q.formula[0], q.formula[-1]
                table.add_row(self.quantity_cell(q), self.fmt(old.value), self.fmt(grad.value),
                              f"{self.fmt(old.value)} -> {self.fmt(q.value)}")
            self.console.print(table)
        if not problem.update_biases:
            self.note("Biases are kept (update_biases: false); their gradients are shown above.")

    def summary(self, trace: Trace) -> None:
        self.heading("Summary")
        history = trace.history
        lines = [f"{trace.problem.notation.loss} before the update: {self.fmt(trace.loss)}"]
        if history is not None and len(history) >= 2:
            lines.append(f"{trace.problem.notation.loss} after the update:  {self.fmt(history[1])}")
        grads = [q for q in trace if q.kind == "grad_weight"]
        if grads:
            big = max(grads, key=lambda q: abs(q.value))
            lines.append(f"largest weight gradient: {big.label} = {self.fmt(big.value)}")
        self.console.print(Text("\n".join(lines)))
        if history is not None and len(history) > 2:
            self.history(history)

    def history(self, history: Sequence[float]) -> None:
        steps = len(history) - 1
        self.heading(f"Loss over {steps} steps")
        table = self.table()
        table.add_column("updates so far", justify="right")
        table.add_column("loss", justify="right")
        shown = list(range(min(steps + 1, 6)))
        tail = [k for k in (steps - 1, steps) if k not in shown and k > 0]
        for n, k in enumerate(shown + tail):
            if tail and k == tail[0] and k > shown[-1] + 1:
                table.add_row("...", "")
            table.add_row(str(k), self.fmt(history[k]))
        self.console.print(table)

    # -- chosen derivations -----------------------------------------------------------------------------

    def derivations(self, trace: Trace, keys: Iterable[str]) -> None:
        from tutor.paths import MAX_PATHS, path_sum  # only needed here

        for name in keys:
            key = trace.resolve(name)
            target = trace[key]
            self.heading(f"{target.label}  ({key})")
            self.console.print(self.quantity_table(trace.closure([key])))
            weight = _weight_of(target)
            if weight is None or target.layer is None:
                continue
            paths = path_sum(trace, target.layer, *weight)
            if not paths.expanded:
                self.note(f"{paths.count} paths lead from the loss to this weight: more than {MAX_PATHS}, so "
                          "the path-sum is not listed; the delta form above gives the same sum.")
                continue
            self.path_table(paths)

    def path_table(self, paths) -> None:
        mean = f", averaged over {paths.mean_over} samples" if paths.mean_over > 1 else ""
        noun = "path" if paths.count == 1 else "paths"
        table = self.table(f"Path-sum: {paths.label} over {paths.count} {noun}{mean}")
        table.add_column("#", justify="right")
        table.add_column("path and its product of local derivatives", overflow="fold")
        table.add_column("value", justify="right", no_wrap=True)
        for n, path in enumerate(paths.paths, start=1):
            cell = Text(" -> ".join(path.nodes))
            cell.append("\n" + " * ".join(f.symbol for f in path.factors))
            cell.append("\n= " + " * ".join(self.fmt(f.value) for f in path.factors))
            table.add_row(str(n), cell, self.fmt(path.value))
        total = f"sum{' / ' + str(paths.mean_over) if paths.mean_over > 1 else ''}"
        table.add_row("", Text(total), Text(self.fmt(paths.total), style="bold" if not self.plain else ""))
        self.console.print(table)


def _weight_of(q: Quantity) -> tuple[int, int] | None:
    if q.kind in ("grad_weight", "new_weight") and len(q.index) == 2:
        return q.index[0], q.index[1]
    return None


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{names[0]}, {names[1]}, ..., {names[-1]} ({len(names)})"


def _elide(rows: Sequence) -> list:
    if len(rows) <= MAX_ROWS:
        return list(rows)
    half = MAX_ROWS // 2
    return [*rows[:half], None, *rows[-half:]]
