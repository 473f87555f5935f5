"""The worked solution of a problem with an input image: tables of quantities and small grids.

Images, filters and gradients print as grids of numbers side by side, wrapped to the screen's width;
every number also appears, with its formula, in the tables (one row per quantity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from tutor.trace.conv import kind_of, rotated_full_convolution
from tutor.views.text import number_formatter

if TYPE_CHECKING:
    from tutor.trace.trace import Trace
    from tutor.views.text import Formatter, TextView

GAP = "   "
#: Grids show at most this many significant digits (the tables beside them show every number in full).
GRID_DIGITS = 4
#: How the gradient with respect to a layer's input comes from the layer's own, by kind.
INPUT_GRADIENT = {
    "conv2d": "each input number collects delta * the filter entry it met, over every output it reached (the "
              "full convolution above)",
    "maxpool": "each output's gradient goes to the input that won its window, and only to it",
    "avgpool": "each output's gradient is shared equally among the inputs of its window",
    "flatten": "the gradient is put back into the image's shape",
}


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


def channel_blocks(name: str, array: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """One grid per channel of a (C, H, W) array, titled ``name`` or ``name[ch]``."""
    if array.shape[0] == 1:
        return [(name, array[0])]
    return [(f"{name}[{ch + 1}]", array[ch]) for ch in range(array.shape[0])]


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
        parts = [f"image {'x'.join(str(n) for n in p.inputs.shape[1:])}"]
        for l, layer in enumerate(p.layers, start=1):
            shape = getattr(layer, "output_shape", (layer.size,))
            what = layer.describe() if hasattr(layer, "describe") else f"dense {layer.activation.describe()}"
            parts.append(f"layer {l}: {what} ({'x'.join(str(n) for n in shape)})")
        biases = "biases updated" if p.update_biases else "biases kept"
        view.lines("\n".join([*lines, "Network: " + " -> ".join(parts),
                              f"Loss {p.loss.name} ({p.loss.formula}), learning rate (eta) {p.learning_rate:g}, "
                              f"{biases}. Convolution is cross-correlation: the filter slides over the input "
                              "as it is, not flipped."]))
        view.heading("Input and filters")
        blocks = channel_blocks("x", p.inputs[0])
        for l, layer in enumerate(p.layers, start=1):
            if kind_of(p, l) == "conv2d":
                blocks += self.filter_blocks(l, layer.weights, f"w^{l}")
                blocks.append((f"b^{l}", layer.biases[None]))
        self.grids(blocks)

    def card(self) -> None:
        """What a student computes from: the network, image and filters, dense weights, targets, learning rate."""
        self.network()
        blocks = []
        for l, layer in enumerate(self.p.layers, start=1):
            if kind_of(self.p, l) == "dense":
                blocks += [(f"W^{l} (row j: into neuron j)", layer.weights),
                           (f"b^{l}", layer.biases[None])]
        shape = getattr(self.p.layers[-1], "output_shape", (self.p.layers[-1].size,))
        targets = np.asarray(self.p.targets[0]).reshape(shape)
        blocks += channel_blocks("t", targets) if len(shape) == 3 else [("t", targets[None])]
        self.grids(blocks)
        self.view.lines(f"learning rate eta = {self.fmt(self.p.learning_rate)}")

    def filter_blocks(self, l: int, weights: np.ndarray, name: str) -> list[tuple[str, np.ndarray]]:
        filters, channels = weights.shape[:2]
        return [(name if filters == channels == 1 else f"{name}[{f + 1},{ch + 1}]", weights[f, ch])
                for f in range(filters) for ch in range(channels)]

    def forward(self) -> None:
        view, trace = self.view, self.trace
        view.heading("Forward pass")
        for l, layer in enumerate(self.p.layers, start=1):
            kind = kind_of(self.p, l)
            kinds = ("map_net", "map_out") if kind in ("conv2d", "maxpool", "avgpool") else ("net", "out")
            view.quantity_table(trace.select(kinds, l), f"Layer {l}: {self.layer_title(l)}")
            values = trace.layer_values(l)
            if kind == "conv2d":
                self.grids(channel_blocks(f"net^{l}", values["net"][0]) + channel_blocks(f"out^{l}", values["out"][0]))
            elif kind in ("maxpool", "avgpool"):
                self.grids(channel_blocks(f"out^{l}", values["out"][0]))

    def layer_title(self, l: int) -> str:
        layer = self.p.layers[l - 1]
        if hasattr(layer, "describe"):
            act = layer.activation
            return layer.describe() + (f" (out = {act.formula})" if act is not None else "")
        return f"dense {layer.activation.describe()} (out = {layer.activation.formula})"

    def backward(self) -> None:
        view, trace = self.view, self.trace
        view.heading("Backward pass")
        for l in range(len(self.p.layers), 0, -1):
            kind = kind_of(self.p, l)
            values = trace.layer_values(l)
            if kind == "dense":
                view.quantity_table(trace.select(("dloss_dout", "dout_dnet", "delta"), l), f"Layer {l}: deltas")
                view.quantity_table(trace.select(("grad_weight", "grad_bias"), l), f"Layer {l}: gradients")
            elif kind == "flatten":
                view.quantity_table(trace.select(("dloss_dout",), l), f"Layer {l}: dL/dout (flatten)")
            else:
                view.quantity_table(trace.select(("map_dloss_dout", "map_dout_dnet", "map_delta"), l),
                                    f"Layer {l}: {'deltas' if kind == 'conv2d' else 'dL/dout'} ({self.layer_title(l)})")
                name = "delta" if kind == "conv2d" else "dL/dout"
                array = values["delta"] if kind == "conv2d" else values["dloss_dout"]
                self.grids(channel_blocks(f"{name}^{l}", array[0]))
            if kind == "conv2d":
                view.note("Each filter gradient is the sum over the output positions of delta times the input "
                          "the filter entry met there (the cross-correlation of the input with delta); a bias "
                          "gradient is the sum of its filter's deltas.")
                view.quantity_table(trace.select(("filter_grad", "filter_bias_grad"), l), f"Layer {l}: filter gradients")
                self.grids(self.filter_blocks(l, values["grad_weight"], f"dL/dw^{l}") +
                           [(f"dL/db^{l}", values["grad_bias"][None])])
                self.rotated_filter(l)
            if l > 1 and kind in ("conv2d", "maxpool", "avgpool", "flatten"):
                view.note(f"dL/dout^{l - 1} (next table): {INPUT_GRADIENT[kind]}.")
            if l == 1:
                view.note(f"dL/dx, the gradient of the input image: {INPUT_GRADIENT[kind]}.")
                view.quantity_table(trace.select(("dloss_dinput",), 1), "dL/dx")

    def rotated_filter(self, l: int) -> None:
        """dL/d(input) as the full convolution of delta with each filter rotated by 180 degrees, with numbers."""
        layer, values = self.p.layers[l - 1], self.trace.layer_values(l)
        filters, channels = layer.weights.shape[:2]
        input_shape = values["dloss_dinput"].shape[2:]  # dL/d(input) has the shape of the layer's input
        source = "x" if l == 1 else f"out^{l - 1}"
        self.view.note(f"dL/d{source} as the notes write it: the full convolution of delta^{l} (spread out by the "
                       f"stride {layer.stride}, with kernel - 1 zeros around) with the filter rotated by 180 "
                       "degrees" + (f", then {layer.padding} padding row(s) and column(s) cut off" if layer.padding
                                    else "") + (", summed over the filters" if filters > 1 else "") + ":")
        for ch in range(channels):
            blocks, total = [], 0
            for f in range(filters):
                padded, rotated, result = rotated_full_convolution(
                    values["delta"][0, f], layer.weights[f, ch], layer.stride, layer.padding, input_shape)
                tag = "" if filters == channels == 1 else f"[{f + 1},{ch + 1}]"
                blocks += [(f"delta^{l}{'' if filters == 1 else f'[{f + 1}]'} full", padded),
                           (f"w^{l}{tag} rotated", rotated)]
                total = total + result
            where = "" if channels == 1 else f"[{ch + 1}]"
            blocks.append((f"= dL/d{source}{where}", total))
            self.grids(blocks)


def image_solution(view: "TextView", trace: "Trace", every: int | None = None) -> None:
    """The whole worked solution of a problem with an input image (`every`: the loss history's spacing)."""
    ImageSolution(view, trace).render(every)
