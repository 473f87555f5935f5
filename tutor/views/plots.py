"""Learning curves and prediction plots: in the terminal (plotille) and as PNG files (matplotlib).

Both libraries are imported only here, and this module only by `train`, so no other command pays for them
(see docs/train.md for why these two).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from tutor.engine.training import predicted_classes as _classes
from tutor.errors import UserError

#: Colours of classes 0, 1, 2, ... in the image files (the same order for points and regions).
CLASS_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
GRID_POINTS = 200  # per axis, for the decision boundary


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


def write_plots(directory: str | Path, history: np.ndarray, validation: np.ndarray | None, features: np.ndarray,
                labels: np.ndarray | None, outputs: np.ndarray, predict: Callable[[np.ndarray], np.ndarray],
                feature_names: tuple[str, ...] = ("x1", "x2")) -> list[Path]:
    """Write learning_curve.png, and for two features with classes comparison.png and decision_boundary.png."""
    from matplotlib.figure import Figure  # not pyplot: files only, no window, no global state, faster to load

    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
    written = [_learning_curve(Figure, folder / "learning_curve.png", history, validation)]
    if labels is not None and features.shape[1] == 2:
        predicted = _classes(outputs)
        written.append(_comparison(Figure, folder / "comparison.png", features, labels, predicted, feature_names))
        written.append(_boundary(Figure, folder / "decision_boundary.png", features, labels, predict, feature_names))
    return written


def _learning_curve(Figure, path: Path, history: np.ndarray, validation: np.ndarray | None) -> Path:
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.92)
    axes = figure.add_subplot()
    epochs = np.arange(len(history))
    axes.plot(epochs, history, color=CLASS_COLOURS[1], label="training")
    if validation is not None:
        axes.plot(epochs, validation, color=CLASS_COLOURS[3], label="validation")
        axes.legend()
    if np.all(history > 0) and history.max() / max(history.min(), 1e-300) > 100:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title("Learning curve", y=1.01)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def _scatter(axes, features: np.ndarray, classes: np.ndarray, names: tuple[str, ...], title: str,
             adjustable: str = "datalim") -> None:
    for label in np.unique(classes):
        chosen = classes == label
        axes.scatter(features[chosen, 0], features[chosen, 1], s=22, color=CLASS_COLOURS[label % len(CLASS_COLOURS)],
                     label=f"class {label}", edgecolors="black", linewidths=0.3)
    axes.set_title(title, y=1.01)  # a fixed place: saves matplotlib measuring every tick label
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    axes.set_aspect("equal", adjustable=adjustable)


def _comparison(Figure, path: Path, features, labels, predicted, names) -> Path:
    figure = Figure(figsize=(9.0, 4.2), dpi=100)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.91, wspace=0.25)
    left, right = figure.subplots(1, 2)
    _scatter(left, features, labels, names, "Ground truth")
    wrong = int(np.sum(predicted != labels))
    _scatter(right, features, predicted, names, f"Predictions ({wrong} wrong)" if wrong else "Predictions")
    if wrong:
        miss = predicted != labels
        right.scatter(features[miss, 0], features[miss, 1], s=90, facecolors="none", edgecolors="black",
                      linewidths=1.2, label="wrong")
    right.legend(loc="best", fontsize=8)
    return _save(figure, path)


def _boundary(Figure, path: Path, features, labels, predict, names) -> Path:
    from matplotlib.colors import ListedColormap

    low, high = features.min(axis=0), features.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], GRID_POINTS)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], GRID_POINTS)
    gx, gy = np.meshgrid(xs, ys)
    outputs = predict(np.column_stack([gx.ravel(), gy.ravel()]))
    classes = _classes(outputs).reshape(gx.shape)
    count = max(int(classes.max()), int(labels.max())) + 1
    figure = Figure(figsize=(5.6, 5.0), dpi=100)
    figure.subplots_adjust(left=0.13, right=0.97, bottom=0.11, top=0.93)
    axes = figure.add_subplot()
    axes.contourf(gx, gy, classes, levels=np.arange(count + 1) - 0.5, alpha=0.25,
                  cmap=ListedColormap(CLASS_COLOURS[:count]))
    if outputs.shape[1] == 1:
        axes.contour(gx, gy, outputs[:, 0].reshape(gx.shape), levels=[0.5], colors="black", linewidths=1.0)
    _scatter(axes, features, labels, names, "Decision boundary", adjustable="box")
    axes.set_xlim(xs[0], xs[-1])
    axes.set_ylim(ys[0], ys[-1])
    axes.legend(loc="best", fontsize=8)
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    try:
        figure.savefig(path)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
