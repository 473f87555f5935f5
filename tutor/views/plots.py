"""Learning curves and prediction plots: in the terminal (plotille) and as image files (matplotlib).

Both libraries are imported only here, and this module only by `train`, so no other command pays for them
(see docs/train.md for why these two). matplotlib comes with the `plot` extra; without it `train --plot` says
how to install it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from tutor.engine.training import predicted_classes as _classes
from tutor.errors import UserError

#: Colours of classes 0, 1, 2, ... in the image files (the same order for points and regions).
CLASS_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
GRID_POINTS = 200  # per axis, for the decision boundary (its lines are interpolated between the points)
#: The file formats `--plot-format` takes; PNG at this resolution.
PLOT_FORMATS = ("png", "svg", "pdf")
PNG_DPI = 150
INSTALL_HINT = "pip install 'backprop-tutor[plot]'"


def terminal_curve(history: np.ndarray, validation: np.ndarray | None = None, *, width: int = 80,
                   height: int = 12, colour: bool = False) -> str:
    """The learning curve (loss before each epoch and after the last) as braille text `width` columns wide."""
    import plotille

    finite = np.isfinite(history) if validation is None else np.isfinite(history) & np.isfinite(validation)
    if not finite.all():  # a diverged run: the curve up to where the loss was still a number
        end = max(1, int(np.argmin(finite)))
        history, validation = history[:end], None if validation is None else validation[:end]
    figure = plotille.Figure()
    figure.width = max(20, width - 24)  # the y-axis labels, the frame and the x-axis label take 24 columns
    figure.height = height
    figure.color_mode = "names"
    figure.with_colors = colour
    figure.x_label, figure.y_label = "epoch", "loss"
    top = float(np.nanmax(history if validation is None else np.concatenate([history, validation])))
    figure.set_x_limits(min_=0, max_=max(1, len(history) - 1))
    figure.set_y_limits(min_=0.0, max_=top if np.isfinite(top) and top > 0 else 1.0)
    figure.x_ticks_fkt = lambda low, high: f"{low:.0f}"
    figure.y_ticks_fkt = lambda low, high: f"{low:.4g}"
    shown = np.unique(np.linspace(0, len(history) - 1, min(len(history), 4 * figure.width)).astype(int))
    figure.plot(shown, history[shown], lc="blue", label="training")
    if validation is not None:
        if colour:
            figure.plot(shown, validation[shown], lc="yellow", label="validation")
        else:  # without colour the two lines look alike: validation as marks
            marks = np.unique(np.linspace(0, len(history) - 1, min(len(history), figure.width // 2)).astype(int))
            figure.scatter(marks, validation[marks], marker="+", label="validation (+)")
    return figure.show(legend=validation is not None)


def require_matplotlib() -> None:
    """Refuse `--plot` in one line, before any training, when matplotlib (the `plot` extra) is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(f"--plot needs matplotlib, which comes with the plot extra: {INSTALL_HINT}") from None


def write_plots(directory: str | Path, history: np.ndarray, validation: np.ndarray | None, features: np.ndarray,
                labels: np.ndarray | None, outputs: np.ndarray, predict: Callable[[np.ndarray], np.ndarray],
                feature_names: tuple[str, ...] = ("x1", "x2"), file_format: str = "png") -> list[Path]:
    """Write learning_curve, and for two features with classes comparison and decision_boundary, as `file_format`
    files (png, svg or pdf) into `directory`."""
    if file_format not in PLOT_FORMATS:
        raise UserError(f"--plot-format: unknown '{file_format}' (choose from {', '.join(PLOT_FORMATS)})")
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
    figures = make_figures(history, validation, features, labels, outputs, predict, feature_names)
    return [_save(figure, folder / f"{name}.{file_format}") for name, figure in figures.items()]


def make_figures(history: np.ndarray, validation: np.ndarray | None, features: np.ndarray,
                 labels: np.ndarray | None, outputs: np.ndarray, predict: Callable[[np.ndarray], np.ndarray],
                 feature_names: tuple[str, ...] = ("x1", "x2")) -> dict:
    """The figures by file name (without suffix): matplotlib `Figure` objects, laid out so no text is cut off."""
    from matplotlib.figure import Figure  # not pyplot: files only, no window, no global state, faster to load

    figures = {"learning_curve": _learning_curve(Figure, history, validation)}
    if labels is not None and features.shape[1] == 2:
        predicted = _classes(outputs)
        figures["comparison"] = _comparison(Figure, features, labels, predicted, feature_names)
        figures["decision_boundary"] = _boundary(Figure, features, labels, predict, feature_names)
    return figures


def _figure(Figure, size: tuple[float, float]):
    """A figure whose layout engine makes room for every title, label, tick label and legend."""
    return Figure(figsize=size, dpi=100, layout="constrained")


def _learning_curve(Figure, history: np.ndarray, validation: np.ndarray | None):
    figure = _figure(Figure, (6.4, 4.0))
    axes = figure.add_subplot()
    shown = curve_points(history)
    if validation is not None:
        shown = np.union1d(shown, curve_points(validation))
    axes.plot(shown, history[shown], color=CLASS_COLOURS[1], label="training loss")
    if validation is not None:
        axes.plot(shown, validation[shown], color=CLASS_COLOURS[3], label="validation loss")
    finite = history[np.isfinite(history)]
    if finite.size and np.all(finite > 0) and finite.max() / max(finite.min(), 1e-300) > 100:
        from matplotlib.ticker import FuncFormatter, NullFormatter

        axes.set_yscale("log")  # labelled 0.01, 0.1, 1 (plain text, not typeset powers of ten: faster to measure)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title("Learning curve")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)
    return figure


#: The most points a learning curve is drawn with: more than the figure has pixels across.
CURVE_POINTS = 2000


def curve_points(values: np.ndarray, limit: int = CURVE_POINTS) -> np.ndarray:
    """The epochs a curve is drawn through: all of them up to `limit`, else the first, the last and each
    stretch's lowest and highest, so a long run draws fast and no spike is lost."""
    count = len(values)
    if count <= limit:
        return np.arange(count)
    stretch = int(np.ceil(count / (limit // 2)))
    padded = np.full(stretch * int(np.ceil(count / stretch)), np.nan)
    padded[:count] = np.where(np.isfinite(values), values, np.nan)
    blocks = padded.reshape(-1, stretch)
    with np.errstate(all="ignore"):
        filled = np.where(np.isnan(blocks), np.inf, blocks)
        low = filled.argmin(axis=1)
        high = np.where(np.isnan(blocks), -np.inf, blocks).argmax(axis=1)
    starts = np.arange(blocks.shape[0]) * stretch
    chosen = np.concatenate([[0, count - 1], starts + low, starts + high])
    return np.unique(chosen[chosen < count])


def _scatter(axes, features: np.ndarray, classes: np.ndarray, names: tuple[str, ...], title: str) -> None:
    for label in np.unique(classes):
        chosen = classes == label
        axes.scatter(features[chosen, 0], features[chosen, 1], s=22, color=_colour(int(label)),
                     label=f"class {label}", edgecolors="black", linewidths=0.3)
    axes.set_title(title)
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    xs, ys = _padded_range(features)
    axes.set_xlim(xs)
    axes.set_ylim(ys)
    if _comparable(xs, ys):  # the same units on both axes: distances look as they are
        axes.set_aspect("equal", adjustable="box")  # the limits stay, the box shrinks: the layout sees it


def _padded_range(features: np.ndarray, pad: float = 0.1) -> tuple[tuple[float, float], tuple[float, float]]:
    """The two features' ranges with `pad` of each range added on either side."""
    low, high = features.min(axis=0), features.max(axis=0)
    margin = pad * np.maximum(high - low, 1e-9)
    return (float(low[0] - margin[0]), float(high[0] + margin[0])), (float(low[1] - margin[1]),
                                                                     float(high[1] + margin[1]))


def _comparable(xs: tuple[float, float], ys: tuple[float, float]) -> bool:
    """Whether equal scales on both axes leave a readable panel (ranges within a factor of 4 of each other)."""
    ratio = (xs[1] - xs[0]) / (ys[1] - ys[0])
    return 0.25 <= ratio <= 4.0


def _colour(label: int) -> str:
    return CLASS_COLOURS[label % len(CLASS_COLOURS)]


def _legend(axes) -> None:
    """The panel's legend, over a white box where it covers points."""
    axes.legend(loc="best", fontsize=8, framealpha=0.85)


def _comparison(Figure, features, labels, predicted, names):
    figure = _figure(Figure, (9.0, 4.6))
    left, right = figure.subplots(1, 2)
    _scatter(left, features, labels, names, "Ground truth")
    wrong = int(np.sum(predicted != labels))
    _scatter(right, features, predicted, names, f"Predictions ({wrong} wrong)" if wrong else "Predictions")
    if wrong:
        miss = predicted != labels
        right.scatter(features[miss, 0], features[miss, 1], s=90, facecolors="none", edgecolors="black",
                      linewidths=1.2, label="wrong")
    _legend(left)
    _legend(right)
    return figure


def class_margins(outputs: np.ndarray) -> np.ndarray:
    """Per class, how far its output is above the best other class's (one output: out - 0.5 for class 1, and
    0.5 - out for class 0): positive exactly where that class is predicted, and smooth between grid points,
    so the regions' edges and boundary lines are curves rather than the grid's staircase."""
    if outputs.shape[1] == 1:
        margin = outputs[:, 0] - 0.5
        return np.column_stack([-margin, margin])
    margins = np.empty_like(outputs)
    for k in range(outputs.shape[1]):
        others = np.delete(outputs, k, axis=1)
        margins[:, k] = outputs[:, k] - others.max(axis=1)
    return margins


def _boundary(Figure, features, labels, predict, names):
    (x0, x1), (y0, y1) = _padded_range(features)
    xs, ys = np.linspace(x0, x1, GRID_POINTS), np.linspace(y0, y1, GRID_POINTS)
    gx, gy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        margins = class_margins(predict(np.column_stack([gx.ravel(), gy.ravel()])))
    margins = np.nan_to_num(margins, nan=-1.0, posinf=1.0, neginf=-1.0)
    figure = _figure(Figure, (6.0, 5.4))
    axes = figure.add_subplot()
    top = float(np.abs(margins).max()) + 1.0
    if margins.shape[1] == 2:  # two classes: one field, its sign the class (the same line bounds both)
        field = margins[:, 1].reshape(gx.shape)
        axes.contourf(gx, gy, field, levels=[-top, 0.0, top], colors=[_colour(0), _colour(1)], alpha=0.22)
        if field.min() < 0 < field.max():
            axes.contour(gx, gy, field, levels=[0.0], colors="black", linewidths=1.0)
    else:
        for k in range(margins.shape[1]):
            field = margins[:, k].reshape(gx.shape)
            if field.max() > 0:
                axes.contourf(gx, gy, field, levels=[0.0, top], colors=[_colour(k)], alpha=0.22)
                if field.min() < 0:
                    axes.contour(gx, gy, field, levels=[0.0], colors="black", linewidths=1.0)
    _scatter(axes, features, labels, names, "Decision boundary")
    axes.plot([], [], color="black", linewidth=1.0, label="boundary")  # the boundary lines' legend entry
    _legend(axes)
    return figure


def _save(figure, path: Path) -> Path:
    try:
        figure.savefig(path, dpi=PNG_DPI if path.suffix == ".png" else "figure")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
