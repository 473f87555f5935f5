"""Pictures of a step: the network with every neuron's net input and output and every weight on its edge
(with `backward`, the deltas and gradients too); networks on images as small grids of values.

The picture is a `Scene` of a few shapes (lines, circles, boxes, texts), built from the trace alone and
written out as SVG directly (no library, no system binary) or, through matplotlib, as PNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Callable

from tutor.errors import UserError
from tutor.trace.trace import Quantity, Trace
from tutor.views.text import as_written, number_formatter

#: Most neurons of one layer drawn; a bigger network is refused (its picture would be unreadable).
MAX_NEURONS = 12
#: Most values in one grid of an image layer.
MAX_CELLS = 64

COLUMN_GAP = 300
ROW_GAP = 120
RADIUS = 30
MARGIN = 70
CELL_W, CELL_H = 58, 24
INK, FORWARD, BACKWARD, EDGE, WEIGHT = "#1b1b1b", "#0b5394", "#b45f06", "#9aa5b1", "#38761d"


@dataclass(frozen=True)
class Shape:
    """One element: kind line (x, y to x2, y2), circle (centre x, y, radius r), box (corner x, y, size w, h)
    or text (anchored at x, y: start, middle or end)."""

    kind: str
    x: float
    y: float
    x2: float = 0.0
    y2: float = 0.0
    r: float = 0.0
    text: str = ""
    colour: str = INK
    size: float = 12.0
    anchor: str = "middle"
    bold: bool = False
    fill: str = "none"
    angle: float = 0.0  # a text's rotation in degrees, clockwise on the screen (along its edge)


@dataclass
class Scene:
    """Shapes and the size of the canvas they fit in."""

    width: float
    height: float
    title: str
    shapes: list[Shape] = field(default_factory=list)

    def add(self, kind: str, x: float, y: float, **options) -> None:
        self.shapes.append(Shape(kind, x, y, **options))

    def texts(self) -> list[str]:
        return [s.text for s in self.shapes if s.kind == "text"]


def draw_scene(trace: Trace, backward: bool = False, sample: int = 1, digits: int = 4) -> Scene:
    """The picture of `trace`: a network of neurons, or grids for a network on images."""
    problem = trace.problem
    if getattr(trace, "is_graph", False):
        return _circuit_scene(trace, backward, number_formatter(digits))
    if not getattr(problem, "layers", None):
        raise UserError("draw pictures networks of layers or computational graphs; this problem is neither")
    samples = problem.samples if problem.batch else 1
    if not 1 <= sample <= samples:
        raise UserError(f"--sample must be from 1 to {samples} (this problem has {samples} "
                        f"sample{'s' if samples != 1 else ''})")
    fmt = number_formatter(digits)
    if problem.inputs.ndim == 4:
        return _grid_scene(trace, backward, sample, fmt)
    return _network_scene(trace, backward, sample, fmt)


# -- a network of neurons ------------------------------------------------------------------------------------


def _network_scene(trace: Trace, backward: bool, sample: int, fmt: Callable[[float], str]) -> Scene:
    problem = trace.problem
    shape = problem.shape
    if max(shape) > MAX_NEURONS:
        raise UserError(f"this network has a layer of {max(shape)} units; draw shows at most {MAX_NEURONS} per "
                        "layer (see solve --format html for its numbers)")
    tallest = max(shape)
    row_gap = ROW_GAP + (40 if backward else 0)  # room for the delta and bias gradient under each neuron
    height = 2 * MARGIN + (tallest - 1) * row_gap + 60 + (30 if backward else 0)
    width = 2 * MARGIN + (len(shape) - 1) * COLUMN_GAP + 80
    title = problem.name + (f", sample {sample} of {problem.samples}" if problem.batch else "")
    scene = Scene(width, height, title)
    scene.add("text", MARGIN - 40, 24, text=title, size=15, anchor="start", bold=True)

    def place(column: int, n: int, j: int) -> tuple[float, float]:
        top = MARGIN + 30 + (tallest - n) * row_gap / 2
        return MARGIN + 20 + column * COLUMN_GAP, top + (j - 1) * row_gap

    given = as_written if trace.shown == 1 else fmt
    for l in range(1, len(shape)):
        _edges(scene, trace, l, backward, fmt, given, lambda c, n, j: place(c, n, j))
    inputs = problem.inputs if problem.inputs.ndim == 1 else problem.inputs[sample - 1]
    for i, name in enumerate(problem.notation.inputs, start=1):
        x, y = place(0, shape[0], i)
        scene.add("circle", x, y, r=RADIUS * 0.8, colour=INK, fill="#f3f3f3")
        scene.add("text", x, y + 4, text=name, size=12, bold=True)
        scene.add("text", x, y + RADIUS + 14, text=given(float(inputs[i - 1])), colour=FORWARD)
    for l in range(1, len(shape)):
        for j, name in enumerate(problem.notation.neurons[l - 1], start=1):
            x, y = place(l, shape[l], j)
            _neuron(scene, trace, l, j, name, x, y, backward, sample, fmt, given)
    return scene


def _value(trace: Trace, kind: str, layer: int, j: int, sample: int) -> Quantity | None:
    key = trace.key_for(kind, layer, j, sample=sample)
    return trace[key] if key in trace else None


def _neuron(scene: Scene, trace: Trace, l: int, j: int, name: str, x: float, y: float, backward: bool,
            sample: int, fmt, given) -> None:
    problem = trace.problem
    radius = max(RADIUS, 3.6 * len(name) + 6)  # a long name widens its circle
    scene.add("circle", x, y, r=radius, colour=INK, fill="#ffffff")
    scene.add("text", x, y + 4, text=name, size=12 if len(name) <= 8 else 10, bold=True)
    net, out = _value(trace, "net", l, j, sample), _value(trace, "out", l, j, sample)
    if net is not None:
        scene.add("text", x, y - radius - 22, text=f"net {fmt(net.value)}", colour=FORWARD, size=11)
    if out is not None:
        scene.add("text", x, y - radius - 8, text=f"out {fmt(out.value)}", colour=FORWARD, size=11)
    biases = problem.layers[l - 1].biases
    bias_names = problem.notation.biases[l - 1]
    bias_name = bias_names[0] if len(bias_names) == 1 else bias_names[j - 1]
    lines = [(f"{bias_name} = {given(float(biases[j - 1]))}", WEIGHT)]
    if backward:
        delta = _value(trace, "delta", l, j, sample)
        if delta is not None:
            lines.append((f"delta {fmt(delta.value)}", BACKWARD))
        grad = trace.key_for("grad_bias", l, None if len(bias_names) == 1 else j)
        if grad in trace and (len(bias_names) > 1 or j == 1):
            lines.append((f"d/d{bias_name} {fmt(trace[grad].value)}", BACKWARD))
    for n, (text, colour) in enumerate(lines):
        scene.add("text", x, y + radius + 14 + 13 * n, text=text, colour=colour, size=11)


def _edges(scene: Scene, trace: Trace, l: int, backward: bool, fmt, given, place) -> None:
    shape = trace.problem.shape
    n_in, n_out = shape[l - 1], shape[l]
    for q in trace.select(("new_weight",), l):
        assert q.parameter is not None and q.gradient is not None and q.i is not None and q.j is not None
        x1, y1 = place(l - 1, n_in, q.i)
        x2, y2 = place(l, n_out, q.j)
        scene.add("line", x1 + RADIUS, y1, x2=x2 - RADIUS, y2=y2, colour=EDGE)
        edges = n_in * n_out  # labels spread along the edges, so no two of them sit at the same distance
        t = 0.18 + 0.64 * (((q.j - 1) * n_in + q.i - 1) / (edges - 1) if edges > 1 else 0.5)
        dx, dy = x2 - x1 - 2 * RADIUS, y2 - y1
        lx, ly = x1 + RADIUS + t * dx, y1 + t * dy
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length, dx / length  # the edge's normal, pointing down the screen
        angle = math.degrees(math.atan2(dy, dx))
        scene.add("text", lx - 4 * nx, ly - 4 * ny, text=f"{q.parameter.symbol} = {given(q.parameter.value)}",
                  colour=WEIGHT, size=10.5, angle=angle)
        if backward:
            scene.add("text", lx + 11 * nx, ly + 11 * ny, text=f"grad {fmt(q.gradient.value)}", colour=BACKWARD,
                      size=10, angle=angle)


# -- computational graphs: circuits --------------------------------------------------------------------------

GATE_GAP_X, GATE_GAP_Y = 190, 80
MAX_GATES = 60


def _circuit_scene(trace, backward: bool, fmt) -> Scene:
    """The circuit: inputs on the left, each gate in the column after its deepest operand, every wire with the
    value it carries above it and (with `backward`) the gradient flowing back along it below it."""
    problem = trace.problem
    nodes = list(problem.nodes)
    if len(nodes) > MAX_GATES:
        raise UserError(f"this graph has {len(nodes)} nodes; draw shows at most {MAX_GATES} (see solve --format "
                        "html for its numbers)")
    depth: dict[str, int] = {}
    for node in nodes:
        depth[node.name] = 0 if node.is_leaf else 1 + max((depth[i] for i in node.inputs), default=0)
    columns: dict[int, list[str]] = {}
    for node in nodes:
        columns.setdefault(depth[node.name], []).append(node.name)
    tallest = max(len(names) for names in columns.values())
    place = {name: (MARGIN + 20 + d * GATE_GAP_X, MARGIN + 40 + (n + (tallest - len(names)) / 2) * GATE_GAP_Y)
             for d, names in columns.items() for n, name in enumerate(names)}
    width = MARGIN * 2 + max(columns) * GATE_GAP_X + 160
    scene = Scene(width, MARGIN * 2 + tallest * GATE_GAP_Y + 20, problem.name)
    scene.add("text", MARGIN - 40, 24, text=problem.name, size=15, anchor="start", bold=True)
    given = as_written if trace.shown == 1 else fmt
    values = trace.values
    leaves = {node.name for node in nodes if node.is_leaf}  # given numbers: shown as written
    for node in nodes:
        for name in dict.fromkeys(node.inputs):  # a node used twice by one gate: one wire
            _wire(scene, place[name], place[node.name], values[name], _wire_gradient(trace, node.name, name),
                  backward, fmt, given if name in leaves else fmt)
    x, y = place[problem.output]
    scene.add("line", x + RADIUS, y, x2=x + RADIUS + 90, y2=y, colour=EDGE)
    scene.add("text", x + RADIUS + 45, y - 6, text=fmt(values[problem.output]), colour=FORWARD, size=11)
    if backward:
        scene.add("text", x + RADIUS + 45, y + 15, text="grad 1", colour=BACKWARD, size=10.5)
    for node in nodes:
        x, y = place[node.name]
        scene.add("circle", x, y, r=RADIUS * (0.8 if node.is_leaf else 1.0), colour=INK,
                  fill="#f3f3f3" if node.is_leaf else "#ffffff")
        scene.add("text", x, y + (4 if node.is_leaf else -3), text=node.name, size=11, bold=True)
        if not node.is_leaf:
            scene.add("text", x, y + 12, text=node.op or "", size=10, colour=INK)
    return scene


def _wire_gradient(trace, gate: str, name: str) -> float | None:
    """d output / d `name` along its wire into `gate`: its share when `name` feeds several gates."""
    if trace.fans_out(name):
        key = trace.contribution_key(gate, name)
        return trace[key].value if key in trace else None
    return trace.gradients.get(name)


def _wire(scene: Scene, start: tuple[float, float], end: tuple[float, float], value: float,
          gradient: float | None, backward: bool, fmt, shown) -> None:
    (x1, y1), (x2, y2) = start, end
    scene.add("line", x1 + RADIUS, y1, x2=x2 - RADIUS, y2=y2, colour=EDGE)
    dx, dy = x2 - x1 - 2 * RADIUS, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length, dx / length
    angle = math.degrees(math.atan2(dy, dx))
    mx, my = x1 + RADIUS + 0.7 * dx, y1 + 0.7 * dy  # near the gate, where at most its operands' wires meet
    scene.add("text", mx - 5 * nx, my - 5 * ny, text=shown(value), colour=FORWARD, size=11, angle=angle)
    if backward and gradient is not None:
        scene.add("text", mx + 14 * nx, my + 14 * ny, text=f"grad {fmt(gradient)}", colour=BACKWARD, size=10.5,
                  angle=angle)


# -- networks on images: grids -----------------------------------------------------------------------------

#: What each grid shows, in the order drawn: (kinds, title, the number of a quantity shown).
_FORWARD_GRIDS = (("map_out", "out"), ("out", "out"))
_BACKWARD_GRIDS = (("map_delta", "delta"), ("delta", "delta"), ("filter_grad", "dL/dw"), ("grad_weight", "dL/dw"))


def _grid_scene(trace: Trace, backward: bool, sample: int, fmt) -> Scene:
    """Each layer a column of small grids: its weights (filters), its outputs, and with `backward` its deltas
    and weight gradients; the input image first."""
    problem = trace.problem
    given = as_written if trace.shown == 1 else fmt
    columns: list[list[tuple[str, dict[tuple[int, int], str]]]] = [_input_grids(problem, sample, given)]
    for l in range(1, len(problem.layers) + 1):
        panels = _parameter_grids(trace, l, given)
        for kind, title in _FORWARD_GRIDS + (_BACKWARD_GRIDS if backward else ()):
            panels += _grids(trace.select((kind,), l), f"{title} layer {l}", fmt)
        columns.append(panels)
    title = problem.name
    scene = Scene(0, 0, title)
    scene.add("text", MARGIN - 40, 24, text=title, size=15, anchor="start", bold=True)
    x, bottom = MARGIN - 40, 0.0
    for panels in columns:
        y, widest = 50.0, 0.0
        for name, cells in panels:
            rows = max(r for r, _ in cells)
            cols = max(c for _, c in cells)
            scene.add("text", x, y + 12, text=name, size=11, anchor="start", bold=True)
            for (r, c), text in cells.items():
                bx, by = x + (c - 1) * CELL_W, y + 18 + (r - 1) * CELL_H
                scene.add("box", bx, by, x2=CELL_W, y2=CELL_H, colour=EDGE, fill="#ffffff")
                scene.add("text", bx + CELL_W / 2, by + CELL_H / 2 + 4, text=text, size=10.5)
            widest = max(widest, cols * CELL_W, len(name) * 7.0)
            y += 18 + rows * CELL_H + 22
        x += widest + 40
        bottom = max(bottom, y)
    scene.width, scene.height = x + MARGIN - 40, bottom + 20
    return scene


def _input_grids(problem, sample: int, given) -> list[tuple[str, dict[tuple[int, int], str]]]:
    image = problem.inputs[sample - 1]
    return [(f"input channel {c + 1}" if image.shape[0] > 1 else "input",
             {(r + 1, k + 1): given(float(image[c, r, k])) for r in range(image.shape[1])
              for k in range(image.shape[2])}) for c in range(image.shape[0])]


def _parameter_grids(trace: Trace, l: int, given) -> list[tuple[str, dict[tuple[int, int], str]]]:
    """A layer's weights, read from its update quantities (each names its parameter and old value)."""
    updates = trace.select(("filter_new", "new_weight"), l)
    grids: dict[tuple[int, ...], dict[tuple[int, int], str]] = {}
    for q in updates:
        assert q.parameter is not None
        grids.setdefault(q.index[:-2], {})[q.index[-2:]] = given(q.parameter.value)
    return [(f"weights layer {l}" + (f" {','.join(map(str, group))}" if group else ""), cells)
            for group, cells in grids.items() if len(cells) <= MAX_CELLS]


def _grids(quantities, title: str, fmt) -> list[tuple[str, dict[tuple[int, int], str]]]:
    """Quantities of one kind and layer as grids: the last two indices place a value (one index: a column)."""
    grids: dict[tuple[int, ...], dict[tuple[int, int], str]] = {}
    for q in quantities:
        index = q.index if q.sample in (None, 1) else None
        if index is None:
            continue
        group, place = (index[:-2], index[-2:]) if len(index) >= 2 else ((), (index[0], 1))
        grids.setdefault(group, {})[place] = fmt(q.value)
    return [(title + (f" map {','.join(map(str, group))}" if group else ""), cells)
            for group, cells in grids.items() if len(cells) <= MAX_CELLS]


# -- writing ----------------------------------------------------------------------------------------------


def to_svg(scene: Scene) -> str:
    """The scene as a standalone SVG document (also valid inline in HTML)."""
    w, h = math.ceil(scene.width), math.ceil(scene.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="Helvetica, Arial, sans-serif" role="img">',
           f"<title>{escape(scene.title)}</title>", f'<rect width="{w}" height="{h}" fill="#ffffff"/>']
    for s in scene.shapes:
        if s.kind == "line":
            out.append(f'<line x1="{s.x:.1f}" y1="{s.y:.1f}" x2="{s.x2:.1f}" y2="{s.y2:.1f}" stroke="{s.colour}" '
                       'stroke-width="1.2"/>')
        elif s.kind == "circle":
            out.append(f'<circle cx="{s.x:.1f}" cy="{s.y:.1f}" r="{s.r:.1f}" fill="{s.fill}" stroke="{s.colour}" '
                       'stroke-width="1.5"/>')
        elif s.kind == "box":
            out.append(f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{s.x2:.1f}" height="{s.y2:.1f}" '
                       f'fill="{s.fill}" stroke="{s.colour}"/>')
        else:
            weight = ' font-weight="bold"' if s.bold else ""
            weight += f' transform="rotate({s.angle:.1f} {s.x:.1f} {s.y:.1f})"' if s.angle else ""
            out.append(f'<text x="{s.x:.1f}" y="{s.y:.1f}" font-size="{s.size:g}" text-anchor="{s.anchor}" '
                       f'fill="{s.colour}"{weight} stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                       f"{escape(s.text)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def draw_svg(trace: Trace, backward: bool = False, sample: int = 1, digits: int = 4) -> str | None:
    """The picture as inline SVG, or None when the problem has nothing (or too much) to draw."""
    try:
        return to_svg(draw_scene(trace, backward, sample, digits))
    except UserError:
        return None


def to_png(scene: Scene, dpi: int = 150) -> bytes:
    """The scene drawn by matplotlib (the same shapes as the SVG), as PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Rectangle

    scale = 1 / 100  # SVG pixels to inches at 100 px per inch
    figure = plt.figure(figsize=(scene.width * scale, scene.height * scale))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, scene.width)
    axes.set_ylim(scene.height, 0)
    axes.axis("off")
    align = {"start": "left", "middle": "center", "end": "right"}
    for s in scene.shapes:
        if s.kind == "line":
            axes.plot([s.x, s.x2], [s.y, s.y2], color=s.colour, linewidth=1.0, zorder=1)
        elif s.kind == "circle":
            axes.add_patch(Circle((s.x, s.y), s.r, facecolor=s.fill, edgecolor=s.colour, zorder=2))
        elif s.kind == "box":
            axes.add_patch(Rectangle((s.x, s.y), s.x2, s.y2, facecolor=s.fill, edgecolor=s.colour, zorder=2))
        else:
            axes.text(s.x, s.y, s.text, color=s.colour, fontsize=s.size * 0.72, ha=align[s.anchor],
                      va="baseline", rotation=-s.angle, rotation_mode="anchor", fontweight="bold" if s.bold else "normal", zorder=3,
                      bbox=None if s.bold else {"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.8})
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(figure)
    return buffer.getvalue()
