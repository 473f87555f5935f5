"""Write a network met during training as a problem file, so `solve` and `quiz` can open that moment.

The file holds the network's parameters at full precision, the batch its next step learns from, the loss
and the learning rate (a schedule with the epoch it stands at): `solve` of it is exactly the next step of
training, and `train` of it goes on with the rates the run would have used.
"""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np


def _number(value: float) -> str:
    """A float in its shortest exact form (reads back to the same double)."""
    text = repr(float(value))
    return text if "e" not in text or "." in text else text.replace("e", ".0e")


def _row(values: Sequence[float]) -> str:
    return "[" + ", ".join(_number(v) for v in values) + "]"


def _activation(activation) -> str:
    if not activation.params:
        return activation.name
    params = ", ".join(f"{k}: {_number(v)}" for k, v in activation.params.items())
    return f"{{name: {activation.name}, {params}}}"


def _spec(optimizer) -> str:
    """``{name: adam, beta1: 0.9, ...}``: an optimizer or schedule with every option (text and whole numbers as
    they are)."""
    options = ", ".join(f"{k}: {v if isinstance(v, (str, int)) else _number(v)}" for k, v in optimizer.values.items())
    return f"{{name: {optimizer.name}{', ' if options else ''}{options}}}"


def _state_lines(network, optimizer_state, step: int, epoch: int | None) -> list[str]:
    """`optimizer_state`: the step number t (and the schedule's epoch), and each layer's state entries."""
    lines = ["optimizer_state:", f"  t: {step}", *([f"  epoch: {epoch}"] if epoch is not None else [])]
    if not optimizer_state:
        return lines
    lines.append("  layers:")
    for layer, state in zip(network.layers, optimizer_state):
        first = True
        for part, entries in state.items():
            values = []
            for key, value in entries.items():
                if part == "biases" and layer.shared_bias:
                    values.append(f"{key}: {_number(value.ravel()[0])}")
                elif value.ndim == 2:
                    values.append(f"{key}: [{', '.join(_row(row) for row in value)}]")
                else:
                    values.append(f"{key}: {_row(value)}")
            lines.append(f"    {'- ' if first else '  '}{part}: {{{', '.join(values)}}}")
            first = False
    return lines


def trained_problem_text(network, inputs: np.ndarray, *, targets: np.ndarray | None = None,
                         labels: np.ndarray | None = None, learning_rate: float, name: str, description: str,
                         source: str, optimizer=None, optimizer_state=None, step: int = 1, schedule=None,
                         epoch: int = 0) -> str:
    """The YAML text of a problem: `network`'s parameters, a batch (`inputs` with `targets` or class `labels`),
    and, for an optimizer other than plain SGD or a schedule, its options and the state its step `step` starts
    from; a schedule's step is at its epoch `epoch` (`learning_rate` is then the schedule's initial rate)."""
    scheduled = schedule is not None and schedule.name != "constant"
    plain = (optimizer is None or (optimizer.name == "sgd" and not optimizer.regularised)) and not scheduled
    lines = [
        f"format: {1 if plain else 2}",
        f"name: {json.dumps(name)}",
        f"description: {json.dumps(description)}",
        f"source: {json.dumps(source)}",
        "inputs:",
        *(f"  - {_row(row)}" for row in inputs),
    ]
    if labels is not None:
        lines.append(f"labels: [{', '.join(str(int(label)) for label in labels)}]")
    else:
        lines.append("targets:")
        lines.extend(f"  - {_row(row)}" for row in np.asarray(targets).reshape(len(inputs), -1))
    lines.append("layers:")
    for layer, params in zip(network.layers, network.params):
        lines.append("  - weights:")
        lines.extend(f"      - {_row(row)}" for row in params["weights"])
        biases = params["biases"]
        lines.append(f"    biases: {_number(biases[0]) if layer.shared_bias else _row(biases)}")
        lines.append(f"    activation: {_activation(layer.activation)}")
    lines += [
        f"loss: {network.loss.name}",
        f"learning_rate: {_number(learning_rate)}",
        f"update_biases: {'false' if 'biases' in network.frozen else 'true'}",
    ]
    if not plain:
        lines.append(f"optimizer: {_spec(optimizer) if optimizer is not None else 'sgd'}")
        if scheduled:
            lines.append(f"schedule: {_spec(schedule)}")
        stateful = optimizer is not None and optimizer.state_names and optimizer_state
        lines += _state_lines(network, optimizer_state if stateful else None, step, epoch if scheduled else None)
    return "\n".join(lines) + "\n"
