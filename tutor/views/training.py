"""What `train` prints: the lab's log line, the summary, the predictions table and the JSON document."""

from __future__ import annotations

import numpy as np

from tutor.engine.training import predicted_classes as _classes
from tutor.errors import plural

from tutor.views.layout import Column, StyledLine, cell, render_table

#: Rows of the predictions table shown without --all.
FIRST_ROWS = 10


def log_line(epoch: int, loss: float) -> str:
    """The lab's progress line: the epoch (from 0) and the training loss before its update."""
    return f"epoch {epoch} loss: {loss:.10g}"


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def predictions_table(features: np.ndarray, names: tuple[str, ...], outputs: np.ndarray,
                      expected: np.ndarray, labels: np.ndarray | None, width: int, *, show_all: bool,
                      plain: bool, digits: int = 6) -> list[StyledLine]:
    """One row per sample: its features, what it should be, the network's outputs and, for classes, the verdict."""
    count = features.shape[0] if show_all else min(FIRST_ROWS, features.shape[0])
    shown_features = list(names) if len(names) <= 4 else list(names[:3]) + ["..."]
    columns = [Column("#", "right")] + [Column(name, "right") for name in shown_features]
    columns.append(Column("label" if labels is not None else "target", "right"))
    columns.append(Column("output" if outputs.shape[1] == 1 else "outputs", "right"))
    if labels is not None:
        columns += [Column("class", "right"), Column("", "left")]
    predicted = _classes(outputs) if labels is not None else None
    rows = []
    for s in range(count):
        row = [cell(str(s + 1))]
        values = features[s] if len(names) <= 4 else list(features[s, :3])
        row += [cell(_number(v, digits)) for v in values]
        if len(names) > 4:
            row.append(cell("..."))
        row.append(cell(str(int(labels[s])) if labels is not None else ", ".join(_number(v, digits) for v in expected[s])))
        row.append(cell(", ".join(_number(v, digits) for v in outputs[s])))
        if labels is not None:
            right = predicted[s] == labels[s]
            row += [cell(str(int(predicted[s]))), cell(("ok", "green") if right else ("wrong", "red"))]
        rows.append(row)
    title = "Predictions" if count == features.shape[0] else \
        f"Predictions (the first {count} of {features.shape[0]}; --all shows every one)"
    return render_table(columns, rows, width, ascii_only=plain, title=title)


def summary_lines(*, epochs: int, stopped: str, history: np.ndarray, accuracy: float | None,
                  samples: int, validation: dict | None, seed: int) -> list[str]:
    """A few lines: how training ended, the loss before and after, the accuracy."""
    count = f"{plural(epochs, 'epoch')} (seed {seed})"
    how = {"completed": f"trained {count}",
           "early_stopping": f"stopped early after {count}: the validation loss did not improve",
           "interrupted": f"interrupted after {count}: below is what was learned so far",
           "diverged": f"diverged: after {count} the loss was no longer a finite number; training stopped "
                       "there (a smaller learning rate may help)"}[stopped]
    lines = [how, f"loss: {history[0]:.6g} before, {history[-1]:.6g} after"]
    if accuracy is not None:
        right = round(accuracy * samples)
        lines.append(f"accuracy: {accuracy:.2%} ({right} of {samples} training samples right)")
    if validation is not None:
        loss = validation["loss"] if validation["loss"] is not None else float("nan")
        text = f"validation: loss {loss:.6g} on {validation['samples']} held-out samples"
        if validation.get("accuracy") is not None:
            text += f", accuracy {validation['accuracy']:.2%}"
        lines.append(text)
    return lines


def final_parameters(network) -> dict:
    """`{"layers": [{"weights", "biases"}]}` in the problem file's shapes (a shared bias is one number)."""
    layers = []
    for layer, params in zip(network.layers, network.params):
        shared = getattr(layer, "shared_bias", False)
        layers.append({name: float(value[0]) if name == "biases" and shared else value.tolist()
                       for name, value in params.items()})
    return {"layers": layers}
