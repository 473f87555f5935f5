"""The worked solution of a problem with an input image: tables of quantities and small grids.

Images, filters and gradients print as grids of numbers side by side, wrapped to the screen's width;
every number also appears, with its formula, in the tables (one row per quantity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from tutor.problem.validated import Layer
from tutor.trace.layer_trace import channel_grids
from tutor.views.text import number_formatter

if TYPE_CHECKING:
    from tutor.trace.trace import Trace
    from tutor.views.text import Formatter, TextView

GAP = "   "
#: Grids show at most this many significant digits (the tables beside them show every number in full).
GRID_DIGITS = 4


def grid_lines(matrix: np.ndarray, fmt: "Formatter") -> list[str]:
    """A matrix as rows of right-aligned numbers in brackets: ``[ 1  -2 ]``."""
    cells = [[fmt(float(v)) for v in row] for row in np.atleast_2d(matrix)]
    width = max(len(c) for row in cells for c in row)
    return ["[ " + "  ".join(c.rjust(width) for c in row) + " ]" for row in cells]


def narrow(blocks: Sequence[tuple[str, np.ndarray]], fmt: "Formatter", width: int) -> list[tuple[str, list[str]]]:
    """Titled grids, each split into groups of columns (``x columns 1-4``) when it is wider than `width`."""
    out = []
    for title, matrix in blocks:
        matrix = np.atleast_2d(matrix)
        lines = grid_lines(matrix, fmt)
        if len(lines[0]) <= width or matrix.shape[1] == 1:
            out.append((title, lines))
            continue
        cell_width = max(len(fmt(float(v))) for v in matrix.flat) + 2
        per_part = max(1, (width - 4) // cell_width)
        for start in range(0, matrix.shape[1], per_part):
            stop = min(start + per_part, matrix.shape[1])
            out.append((f"{title} columns {start + 1}-{stop}", grid_lines(matrix[:, start:stop], fmt)))
    return out


def side_by_side(blocks: Sequence[tuple[str, list[str]]], width: int) -> list[str]:
    """Titled blocks of lines next to each other, starting a new band when the next would not fit."""
    bands: list[list[tuple[str, list[str]]]] = [[]]
    used = 0
    for title, lines in blocks:
        block_width = max(len(title), *(len(line) for line in lines))
        if bands[-1] and used + len(GAP) + block_width > width:
            bands.append([])
            used = 0
        bands[-1].append((title, lines))
        used += block_width + (len(GAP) if used else 0)
    out: list[str] = []
    for band in bands:
        widths = [max(len(title), *(len(line) for line in lines)) for title, lines in band]
        height = max(len(lines) for _, lines in band)
        rows = [[title for title, _ in band]] + [[lines[n] if n < len(lines) else "" for _, lines in band]
                                                 for n in range(height)]
        out += [GAP.join(text.ljust(w) for text, w in zip(row, widths)).rstrip() for row in rows]
        out.append("")
    return out[:-1]


class ImageSolution:
    """Writes the worked solution of an image problem through a `TextView`."""

    def __init__(self, view: "TextView", trace: "Trace") -> None:
        self.view, self.trace, self.p = view, trace, trace.problem
        self.fmt = view.fmt
        self.grid_fmt = number_formatter(min(view.digits, GRID_DIGITS))

    def grids(self, blocks: Sequence[tuple[str, np.ndarray]]) -> None:
        """Matrices as titled grids side by side, each split by columns if wider than the screen."""
        width = self.view.sink.width
        lines = side_by_side(narrow(blocks, self.grid_fmt, width), width)
        self.view.sink.write([[(line, "")] for line in lines])

    def render(self, every: int | None = None) -> None:
        self.network()
        self.forward()
        self.view.loss(self.trace)
        self.backward()
        self.view.clipping(self.trace)
        self.view.updates(self.trace)
        self.view.summary(self.trace, every)

    def network(self) -> None:
        p, view = self.p, self.view
        view.lines(p.name + (f"  ({p.path})" if p.path else ""), view.style("bold"))
        lines = [line for line in (p.description, p.source and f"Source: {p.source}") if line]
        image = "x".join(str(n) for n in p.inputs.shape[1:])
        parts = [f"a batch of {p.samples} images {image}" if p.batch else f"image {image}"]
        for l, layer in enumerate(p.layers, start=1):
            parts.append(f"layer {l}: {layer.describe()} ({'x'.join(str(n) for n in layer.output_shape)})")
        biases = "biases updated" if p.update_biases else "biases kept"
        update = "" if p.plain_descent else f", optimizer {p.optimizer.describe()}"
        clipping = "" if p.clipping is None else f", gradient clipping {p.clipping.describe()}"
        view.lines("\n".join([*lines, "Network: " + " -> ".join(parts),
                              f"Loss {p.loss.name} ({p.loss.formula}), learning rate (eta) {p.learning_rate:g}, "
                              f"{biases}{update}{clipping}. Convolution is cross-correlation: the filter slides over "
                              "the input as it is, not flipped."]))
        view.heading("Input and filters")
        blocks = [g for s in range(p.samples) for g in channel_grids("x", p.inputs[s], s, p.batch)]
        for l in range(1, len(p.layers) + 1):
            part = self.trace.layer_part(l)
            blocks += part.given_grids() if part is not None else []
        self.grids(blocks)

    def card(self) -> None:
        """What a student computes from: the network, image and filters, dense weights, targets, learning rate."""
        self.network()
        blocks = []
        for l, layer in enumerate(self.p.layers, start=1):
            if isinstance(layer, Layer):  # a dense layer: its weights (the image layers' are shown above)
                blocks += [(f"W^{l} (row j: into neuron j)", layer.weights),
                           (f"b^{l}", layer.biases[None])]
        shape = self.p.layers[-1].output_shape
        for s in range(self.p.samples):
            targets = np.asarray(self.p.targets[s]).reshape(shape)
            blocks += channel_grids("t", targets, s, self.p.batch) if len(shape) == 3 else \
                [("t" + (f"@{s + 1}" if self.p.batch else ""), targets[None])]
        self.grids(blocks)
        self.view.lines(f"learning rate eta = {self.fmt(self.p.learning_rate)}")

    def tables(self, part, section: str) -> None:
        """A layer's own tables of one section, each with its note before and its grids after."""
        for kinds, title, grids, note in part.tables(section):
            if note:
                self.view.note(note)
            self.view.quantity_table(self.trace.select(kinds, part.l), title)
            if grids:
                self.grids(grids)

    def forward(self) -> None:
        view, trace = self.view, self.trace
        view.heading("Forward pass")
        for l, layer in enumerate(self.p.layers, start=1):
            part = trace.layer_part(l)
            if part is not None:
                self.tables(part, "forward")
                continue
            act = layer.activation
            view.quantity_table(trace.select(("net", "out"), l), f"Layer {l}: {layer.describe()} (out = {act.formula})")

    def backward(self) -> None:
        view, trace = self.view, self.trace
        view.heading("Backward pass")
        for l in range(len(self.p.layers), 0, -1):
            part = trace.layer_part(l)
            if part is None:  # a dense layer
                view.quantity_table(trace.select(("dloss_dout", "dout_dnet", "delta"), l), f"Layer {l}: deltas")
                view.quantity_table(trace.select(("grad_weight", "grad_bias"), l), f"Layer {l}: gradients")
                continue
            self.tables(part, "backward")
            for note, bands in part.extra_views():
                view.note(note)
                for band in bands:
                    self.grids(band)
            how = part.input_gradient_note()
            if l > 1 and how:
                view.note(f"dL/dout^{l - 1} (next table): {how}.")
            if l == 1:
                view.note(f"dL/dx, the gradient of the input image: {how}.")
                view.quantity_table(trace.select(("dloss_dinput",), 1), "dL/dx")


def image_solution(view: "TextView", trace: "Trace", every: int | None = None) -> None:
    """The whole worked solution of a problem with an input image (`every`: the loss history's spacing)."""
    ImageSolution(view, trace).render(every)
