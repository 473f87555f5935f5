"""Terminal views of a trace: the worked solution and chosen derivations.

Views produce styled lines (never rich markup strings, so names such as ``w[1]`` print as typed) and
hand them to a sink from `tutor.views.output`. `plain=True` gives framed ASCII tables without colour, for
pasting into homework.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Iterable, Sequence

import numpy as np

from tutor.views.layout import Cell, Column, cell, paragraph, render_table
from tutor.views.output import PlainSink, RichSink
from tutor.problem.validated import Layer, Problem
from tutor.trace.keys import UPDATE_KINDS
from tutor.trace.quantity import Term, operand, substituted, symbolic
from tutor.trace.trace import Quantity, Trace

#: Longest table printed in full; bigger ones show their start and end.
MAX_ROWS = 40

Formatter = Callable[[float], str]

QUANTITY_COLUMNS = [Column("quantity"), Column("formula", wrap=True), Column("value", justify="right")]


def shortest_digits(value: float) -> int:
    """Significant digits of the shortest text that reads back as `value` exactly (0.15 -> 2, 150.0 -> 3)."""
    mantissa = repr(float(value)).lstrip("-").split("e")[0]
    whole, _, fraction = mantissa.partition(".")
    fraction = fraction.rstrip("0")
    return max(1, len((whole + fraction).lstrip("0")) if fraction else len(whole.lstrip("0")))


def number_formatter(digits: int) -> Formatter:
    """Format numbers to `digits` significant digits (no '-0'), never with more digits than the number has.

    So `--digits 17` prints 0.15 as ``0.15``, not ``0.14999999999999999``.
    """

    def fmt(value: float) -> str:
        if not math.isfinite(value):
            return f"{value}"
        text = f"{value:.{min(digits, shortest_digits(value))}g}"
        return "0" if text in ("-0", "-0.0") else text

    return fmt


def value_text(value: float, digits: int, figures: int = 2) -> str:
    """`value` to `digits` significant digits; a value that is not exact keeps at least `figures` of them,
    trailing zeros included (0.500000 for 0.5000001, which a grader would not take as 0.5; but -0.06 for
    -0.06000000000000001, exact to a grader's full precision of 1e-9)."""
    text = number_formatter(digits)(value)
    if _figures_of(text) < figures and math.isfinite(value) and abs(float(text) - value) > 1e-9 * abs(value):
        text = f"{value:#.{digits}g}".rstrip(".")
    return text


def update_text(value: float, old: float, digits: int, figures: int = 2) -> str:
    """An updated weight or bias to `digits` significant digits, or more until its change shows: until the old
    value, written to the same decimals, would not pass for it (`0.2 -> 0.19999973`, not `0.2 -> 0.2`)."""
    for more in range(digits, 18):
        text = value_text(value, more, figures)
        unit = 10.0 ** -_decimals_of(text)
        if abs(round(old / unit) * unit - value) >= 0.5 * unit * (1 - 1e-9):
            return text
    return repr(value)


def _decimals_of(text: str) -> int:
    """The decimal place of the last digit of a formatted number (`1.5e-05` -> 6, `120` -> 0)."""
    mantissa, _, exponent = text.lower().partition("e")
    fraction = mantissa.partition(".")[2]
    return len(fraction) - int(exponent or 0)


def as_written(value: float) -> str:
    """A number given in the problem file, as it was written there (never rounded by --digits)."""
    return number_formatter(17)(value)


#: The most significant digits a number written by hand has; a given number with more was written by a
#: program (a saved file's full-precision weights) and obeys --digits like a computed one.
HAND_WRITTEN_DIGITS = 10


def given_formatter(digits: int) -> Formatter:
    """Given numbers: as written (0.15, 0.125 at any --digits), unless written to more than
    HAND_WRITTEN_DIGITS figures (0.22055969253310245), which are rounded to `digits` as computed ones are."""
    rounded = number_formatter(digits)

    def fmt(value: float) -> str:
        return as_written(value) if shortest_digits(value) <= HAND_WRITTEN_DIGITS else rounded(value)

    return fmt


class TextView:
    """Renders traces as styled lines to a sink (coloured on a terminal, plain elsewhere)."""

    def __init__(self, sink: PlainSink | RichSink, digits: int = 6, plain: bool = False) -> None:
        self.sink = sink
        self.digits = digits
        self.fmt = number_formatter(digits)
        self.given = given_formatter(digits)  # numbers given in the problem file print as written
        self.plain = plain
        self.marked: frozenset[str] = frozenset()  # keys the problem's `ask:` names: marked `(asked)` in tables
        self.figures_wanted = 2  # the fewest significant figures a printed value that is not exact shows

    def style(self, name: str) -> str:
        """A rich style, or none at all in plain output."""
        return "" if self.plain else name

    # -- building blocks ---------------------------------------------------------------------------

    def heading(self, text: str) -> None:
        self.sink.write([[], *paragraph(text, self.sink.width, self.style("bold underline"))])

    def note(self, text: str) -> None:
        self.sink.write(paragraph(text, self.sink.width, self.style("dim")))

    def lines(self, text: str, style: str = "") -> None:
        self.sink.write(paragraph(text, self.sink.width, style))

    def print_table(self, columns: list[Column], rows: list[list[Cell]], title: str = "") -> None:
        self.sink.write(render_table(columns, rows, self.sink.width, ascii_only=self.plain, title=title,
                                     header_style=self.style("bold"), rule="─" if self.sink.unicode else "-"))

    def quantity_table(self, quantities: Sequence[Quantity], title: str = "") -> None:
        """quantity | formula | value, one row per quantity (long tables elided in the middle)."""
        rows = []
        for q in _elide(quantities):
            if q is None:
                more = f"{len(quantities) - MAX_ROWS} more rows (see --only KEY or --format json)"
                rows.append([cell("..."), cell(more), cell("")])
            else:
                rows.append([self.quantity_cell(q), self.formula_cell(q), cell(self.value_text(q))])
        self.print_table(QUANTITY_COLUMNS, rows, title)

    def value_text(self, q: Quantity) -> str:
        """A quantity's value as `solve` prints it: copied onto a sheet as printed, it is graded right. An
        update shows its change; a value that is not exact keeps the figures a grader asks for (0.500000,
        not 0.5, for 0.5000001)."""
        old = q.parameter.value if q.kind in UPDATE_KINDS and q.parameter is not None else None
        if old is not None and old != q.value:
            return update_text(q.value, old, self.digits, self.figures_wanted)
        return value_text(q.value, self.digits, self.figures_wanted)

    def quantity_cell(self, q: Quantity) -> Cell:
        lines: Cell = [(q.label, self.style("bold"))]
        if q.key != q.label:
            lines.append((q.key, self.style("dim")))
        if q.key in self.marked:
            lines.append(("(asked)", self.style("bold yellow")))
        return lines

    def formula_cell(self, q: Quantity) -> Cell:
        symbolic = q.symbolic()
        numbers = q.substituted(self.fmt, self.given)
        lines: Cell = [(symbolic, "")]
        if numbers != symbolic:
            lines.append(("= " + numbers, ""))
        if q.note:
            lines.append(("(" + q.note + ")", self.style("dim italic")))
        return lines

    # -- the worked solution -------------------------------------------------------------------------

    def solution(self, trace: Trace, every: int | None = None) -> None:
        """Everything: network, forward pass, loss, backward pass, updates and a summary; the quantities the
        problem asks are marked `(asked)`, and their values close the summary."""
        self.given_numbers(trace)
        self.marked = frozenset(asked_keys(trace))
        if getattr(trace, "is_graph", False):  # a computational graph: gate by gate
            from tutor.views.graph import GraphSolution

            return GraphSolution(self, trace).solution(every)
        if trace.problem.images:  # input images: image-shaped quantities, grids
            from tutor.views.image import image_solution

            return image_solution(self, trace, every)
        self.network(trace.problem)
        if trace.problem.batch and trace.dense_only:
            self.matrix_view(trace.problem)
        self.forward(trace)
        self.loss(trace)
        self.backward(trace)
        self.clipping(trace)
        self.updates(trace)
        self.summary(trace, every)

    def clipping(self, trace: Trace) -> None:
        """The gradient clipping's quantities (norm, coefficient, clipped gradients), when the problem clips."""
        if trace.problem.clipping is None:
            return
        self.heading(f"Gradient clipping ({trace.problem.clipping.describe()}), before the update")
        self.quantity_table(trace.select(("clip_norm", "clip_coef", "clipped")))

    def network(self, problem: Problem) -> None:
        self.lines(problem.name + (f"  ({problem.path})" if problem.path else ""), self.style("bold"))
        lines = [line for line in (problem.description, problem.source and f"Source: {problem.source}") if line]
        self.lines("\n".join([*lines, self.shape_line(problem)]))

    def shape_line(self, problem: Problem) -> str:
        notation = problem.notation
        parts = [f"inputs {_names(notation.inputs)}"]
        for l, layer in enumerate(problem.layers, start=1):
            what = layer.activation.describe() if isinstance(layer, Layer) else layer.describe()
            parts.append(f"layer {l}: {_names(notation.neurons[l - 1])} ({what})")
        samples = f"a batch of {problem.samples} samples" if problem.batch else "one sample"
        biases = "biases updated" if problem.update_biases else "biases kept"
        line = (f"Network {problem.shape_text}: " + " -> ".join(parts) +
                f"\nLoss {problem.loss.name} ({problem.loss.formula}), {samples}, learning rate (eta) "
                f"{given_formatter(self.digits)(problem.learning_rate)}, {biases}")
        if problem.clipping is not None:
            line += f"\nGradient clipping: {problem.clipping.describe()} (before the optimizer's step)"
        if not problem.plain_descent:
            line += f"\nOptimizer {problem.optimizer.describe()}, schedule {problem.schedule.describe()}, step t = " \
                    f"{problem.first_step}"
        return line

    def matrix_view(self, problem: Problem) -> None:
        """Shapes of every matrix of a batch step, as in the matrix (vectorised) view."""
        self.heading("Matrix view")
        m, shape, L = problem.samples, problem.shape, len(problem.layers)
        rows = [[cell("X = A0"), cell(f"({m}, {shape[0]})"), cell("one row per sample")]]
        for l in range(1, L + 1):
            rows.append([cell(f"W{l}"), cell(f"({shape[l]}, {shape[l - 1]})"),
                         cell("row j: the weights into neuron j (as in the file)")])
            rows.append([cell(f"Z{l}"), cell(f"({m}, {shape[l]})"), cell(f"A{l - 1} @ W{l}.T + b{l}")])
            rows.append([cell(f"A{l}"), cell(f"({m}, {shape[l]})"),
                         cell(f"{problem.layers[l - 1].activation.name}(Z{l})")])
        softmax_ce = problem.loss.fuses_with(problem.layers[-1].activation)
        for l in range(L, 0, -1):
            if l == L:
                how = "P - Y (softmax + cross-entropy)" if softmax_ce else f"dL/dA{L} * f'(Z{L}), per sample"
            else:
                how = f"(dZ{l + 1} @ W{l + 1}) * f'(Z{l})"
            rows.append([cell(f"dZ{l}"), cell(f"({m}, {shape[l]})"), cell(how)])
            rows.append([cell(f"dW{l}"), cell(f"({shape[l]}, {shape[l - 1]})"), cell(f"dZ{l}.T @ A{l - 1} / {m}")])
        self.print_table([Column("matrix"), Column("shape"), Column("how it is computed", wrap=True)], rows)

    def forward(self, trace: Trace) -> None:
        self.heading("Forward pass")
        for l in range(1, len(trace.problem.layers) + 1):
            if trace.layer_part(l) is not None:  # a layer kind that shows its own quantities
                trace.layer_part(l).show(self, trace, "forward")
                continue
            act = trace.problem.layers[l - 1].activation
            rows = trace.select(("net", "out"), l)
            out = trace.problem.notation.out
            self.quantity_table(rows, in_notation(f"Layer {l} ({act.describe()}: out = {act.formula})", out))

    def loss(self, trace: Trace) -> None:
        self.heading("Loss")
        self.quantity_table(trace.select(("loss",)))

    def backward(self, trace: Trace) -> None:
        self.heading("Backward pass")
        problem = trace.problem
        for l in range(len(problem.layers), 0, -1):
            if trace.layer_part(l) is not None:
                trace.layer_part(l).show(self, trace, "backward")
                continue
            act = problem.layers[l - 1].activation
            rows = trace.select(("dloss_dout", "dout_dnet", "delta"), l)
            title = f"Layer {l}: deltas ({act.describe()}: dout/dnet = {act.derivative_formula})"
            self.quantity_table(rows, in_notation(title, problem.notation.out))
            grads = trace.select(("grad_weight", "grad_bias"), l)
            self.quantity_table(grads, f"Layer {l}: gradients")

    def updates(self, trace: Trace) -> None:
        problem = trace.problem
        if len(problem.optimizer.rules) > 1:
            self.optimizer_updates(trace)
            return
        self.heading(f"Updates (new = old - {self.step_rate(problem)} * gradient, all gradients from the old "
                     "weights)")
        self.rate_note(problem)
        columns = [Column("parameter"), Column("old", "right"), Column("gradient", "right"), Column("new", "right")]
        for l in range(len(problem.layers), 0, -1):
            quantities = trace.select(UPDATE_KINDS, l)
            if not quantities:  # pooling and flatten layers have no parameters
                continue
            rows = []
            for q in _elide(quantities):
                if q is None:
                    rows.append([cell("..."), cell(""), cell(""), cell(f"{len(quantities) - MAX_ROWS} more")])
                    continue
                old, grad = q.parameter, q.gradient
                assert old is not None and grad is not None  # every update quantity has both
                rows.append([self.quantity_cell(q), cell(self.given(old.value)), cell(self.fmt(grad.value)),
                             cell(f"{self.given(old.value)} -> {self.value_text(q)}")])
            self.print_table(columns, rows, f"Layer {l}")
        if not problem.update_biases:
            self.note("Biases are kept (update_biases: false); their gradients are shown above.")

    def optimizer_updates(self, trace: Trace) -> None:
        """Each parameter's optimizer quantities (state, moments, step) and its new value, layer by layer."""
        problem = trace.problem
        self.heading(f"Updates: {problem.optimizer.describe()}, step t = {problem.first_step}, learning rate (eta) "
                     f"{self.step_rate(problem)}; all gradients from the old weights")
        if problem.optimizer.state_names:
            self.note("The state a step starts from is written *_prev (zero before the first step); see "
                      "docs/optimizers.md for the rules.")
        self.rate_note(problem)
        kinds = (*(f"opt_{rule.name}" for rule in problem.optimizer.rules), *UPDATE_KINDS)
        for l in range(len(problem.layers), 0, -1):
            self.quantity_table(trace.select(kinds, l), f"Layer {l}")
        if not problem.update_biases:
            self.note("Biases are kept (update_biases: false); their gradients are shown above.")

    def rate_note(self, problem: Problem) -> None:
        """How the schedule gives this step's learning rate (nothing for a constant rate)."""
        if problem.schedule.name == "constant":
            return
        epoch = problem.epoch
        parts = problem.schedule.formula(Term("eta0", problem.learning_rate), Term("epoch", float(epoch)))
        self.note(f"Learning rate of epoch {epoch} ({problem.schedule.name}): eta = {symbolic(parts)} = "
                  f"{substituted(parts, self.fmt, self.given)} = {self.fmt(problem.step_rate)}")

    def given_numbers(self, trace: Trace) -> None:
        """Given numbers print as written (a program's 17-figure ones at --digits), except at a later step of a
        run, where they were computed; values keep the figures the problem's grading asks for."""
        self.given = given_formatter(self.digits) if trace.shown == 1 else self.fmt
        self.figures_wanted = max(2, trace.problem.grading.min_figures or 2)

    def step_rate(self, problem: Problem) -> str:
        """The learning rate of the step shown: as written in the file, unless a schedule changed it."""
        if problem.schedule.name == "constant":
            return given_formatter(self.digits)(problem.learning_rate)
        return self.fmt(problem.step_rate)

    def summary(self, trace: Trace, every: int | None = None) -> None:
        self.heading("Summary")
        history, name = trace.history, trace.problem.notation.loss
        lines = [f"{name} before the update: {self.loss_text(trace.loss)}"]
        if history is not None and len(history) > trace.shown:
            lines.append(f"{name} after the update:  {self.loss_text(history[trace.shown])}")
        if trace.problem.inputs.ndim != 4:  # (filters are not matrices of weights)
            big = _largest_weight_gradient(trace)
            lines.append(f"largest weight gradient: {big.label} = {self.value_text(big)}")
        self.lines("\n".join(lines))
        asked = asked_keys(trace)
        if asked:
            self.answers([trace[key] for key in asked], "The quantities the problem asks")
        self.loss_history(trace, every)

    def answers(self, quantities: Sequence[Quantity], title: str = "") -> None:
        """quantity | value: chosen quantities' values, in the order they were asked (not marked again)."""
        rows = [[[(q.label, self.style("bold")), *([(q.key, self.style("dim"))] if q.key != q.label else [])],
                 cell(self.value_text(q))] for q in quantities]
        self.print_table([Column("quantity"), Column("value", justify="right")], rows, title)

    def loss_history(self, trace: Trace, every: int | None = None) -> None:
        """The loss over several steps (nothing for a single step), and whether it diverged."""
        history = trace.history
        if history is None or len(history) <= 2:
            return
        self.history(history, every)
        diverged = next((k for k, value in enumerate(history) if not math.isfinite(value)), None)
        if diverged is not None:
            self.lines(f"The loss diverged: after update {diverged} it is too large to compute (it overflows). "
                       f"The learning rate {as_written(trace.problem.learning_rate)} is too large for this "
                       "problem; try a smaller one.", self.style("yellow"))

    def loss_text(self, value: float) -> str:
        """A loss value, or `diverged` for one that overflowed."""
        return self.fmt(value) if math.isfinite(value) else "diverged"

    def history(self, history: Sequence[float], every: int | None = None, value: str = "loss") -> None:
        """The loss (or `value`) at the first and last steps, or at every `every`-th step (and the last)."""
        steps = len(history) - 1
        self.heading(f"{'Loss' if value == 'loss' else value} over {steps} steps" + (f", every {every}" if every else ""))
        if every:
            shown = [*range(0, steps + 1, every)]
            tail = [steps] if shown[-1] != steps else []
        else:
            shown = list(range(min(steps + 1, 6)))
            tail = [k for k in (steps - 1, steps) if k > shown[-1]]
        rows = [[cell(str(k)), cell(self.loss_text(history[k]))] for k in shown]
        if tail and tail[0] > shown[-1] + 1 and not every:
            rows.append([cell("..."), cell("")])
        rows += [[cell(str(k)), cell(self.loss_text(history[k]))] for k in tail]
        self.print_table([Column("updates so far", "right"), Column(value, "right")], rows)

    # -- chosen derivations -----------------------------------------------------------------------------

    def derivations(self, trace: Trace, keys: Iterable[str]) -> None:
        """Each chosen quantity's derivation (a weight's with its path-sum). With several, the quantities two or
        more of them use are shown once, first; each derivation then shows only its own; the answers close it."""
        from tutor.trace.pathsum import MAX_PATHS, path_sum  # only needed here

        self.given_numbers(trace)
        if getattr(trace, "is_graph", False):
            from tutor.views.graph import GraphSolution

            return GraphSolution(self, trace).derivations(keys)
        chosen = list(dict.fromkeys(trace.resolve(name) for name in keys))
        shared = shared_quantities(trace, chosen)
        if shared:
            users = "both derivations" if len(chosen) == 2 else f"two or more of the {len(chosen)} derivations"
            self.heading(f"Shared: the quantities {users} use")
            self.quantity_table(shared)
        shared_keys = {q.key for q in shared}
        shown = set(shared_keys)
        for key in chosen:
            target = trace[key]
            chain = trace.closure([key])
            own = [q for q in chain if q.key not in shown]
            earlier = any(q.key in shown and q.key not in shared_keys for q in chain)
            shown.update(q.key for q in own)
            self.heading(f"{target.label}  ({key})")
            if shared:
                self.note("With the shared quantities above" + (" and the derivations before it." if earlier else "."))
            self.quantity_table(own)
            if target.kind not in ("grad_weight", "new_weight") or target.layer is None:
                continue
            paths = path_sum(trace, target.layer, *target.index)
            if not paths.expanded:
                self.note(f"{paths.count} paths lead from the loss to this weight: more than {MAX_PATHS}, so "
                          "the path-sum is not listed; the delta form above gives the same sum.")
                continue
            self.path_table(paths)
        if len(chosen) > 1:
            self.heading("Answers")
            self.answers([trace[key] for key in chosen])

    def path_table(self, paths) -> None:
        mean = f", averaged over {paths.mean_over} samples" if paths.mean_over > 1 else ""
        noun = "path" if paths.count == 1 else "paths"
        rows = []
        for n, path in enumerate(paths.paths, start=1):
            numbers = [(self.given if f.key is None else self.fmt)(f.value) for f in path.factors]
            lines = cell(" -> ".join(path.nodes), " * ".join(f.symbol for f in path.factors),
                         "= " + " * ".join([numbers[0], *map(operand, numbers[1:])]))
            rows.append([cell(str(n)), lines, cell(self.fmt(path.value))])
        total = "sum" + (f" / {paths.mean_over}" if paths.mean_over > 1 else "")
        rows.append([cell(""), cell(total), cell((self.fmt(paths.total), self.style("bold")))])
        columns = [Column("#", "right"), Column("path and its product of local derivatives", wrap=True),
                   Column("value", "right")]
        self.print_table(columns, rows, f"Path-sum: {paths.label} over {paths.count} {noun}{mean}")


def shared_quantities(trace: Trace, keys: Sequence[str]) -> list[Quantity]:
    """The quantities that two or more of `keys`' derivations use, in solution order; none of `keys` itself
    (each chosen quantity is derived under its own heading)."""
    uses: dict[str, int] = {}
    for key in keys:
        for q in trace.closure([key]):
            uses[q.key] = uses.get(q.key, 0) + 1
    chosen = set(keys)
    return [q for q in trace.closure(list(keys)) if uses[q.key] > 1 and q.key not in chosen]


def asked_keys(trace: Trace) -> list[str]:
    """The keys of the problem's `ask:` section, in its order (a name the trace does not know is left out: `check`
    and `grade` report it)."""
    from tutor.errors import UserError

    keys = []
    for name, _points in getattr(trace.problem, "ask", None) or ():
        try:
            keys.append(trace.resolve(name))
        except UserError:
            continue
    return list(dict.fromkeys(keys))


def in_notation(text: str, out: str) -> str:
    """A heading's generic `out` in the problem's own notation (EX02 writes `a`)."""
    return re.sub(r"(?<![A-Za-z_])(d?)out(?![A-Za-z_])", lambda m: m[1] + out, text) if out != "out" else text


def _largest_weight_gradient(trace: Trace) -> Quantity:
    """The weight gradient largest in size (the first of equals, in solution order), found layer by layer."""
    best: tuple[float, int, int, int] | None = None
    for l in range(len(trace.problem.layers), 0, -1):  # the solution's order: output layer first
        grads = np.abs(trace.weight_values("grad_weight", l))
        if not grads.size:  # a layer without weights (batch norm, dropout)
            continue
        j, i = np.unravel_index(int(np.argmax(grads)), grads.shape)
        if best is None or grads[j, i] > best[0]:
            best = (float(grads[j, i]), l, int(j) + 1, int(i) + 1)
    assert best is not None
    return trace[trace.key_for("grad_weight", best[1], best[2], best[3])]


def _figures_of(text: str) -> int:
    """Significant figures of a formatted number (`0.5` -> 1, `0.000120` -> 3)."""
    digits = text.lower().partition("e")[0].lstrip("-").replace(".", "").lstrip("0")
    return len(digits)


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{names[0]}, {names[1]}, ..., {names[-1]} ({len(names)})"


def _elide(rows: Sequence) -> list:
    if len(rows) <= MAX_ROWS:
        return list(rows)
    half = MAX_ROWS // 2
    return [*rows[:half], None, *rows[-half:]]
