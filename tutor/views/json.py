"""The trace as JSON for programs (format documented in docs/json-output.md). Full precision always.

Big networks have hundreds of thousands of weight quantities; their records are written as text
directly (their keys are plain ASCII and need no escaping), which is several times faster than
building and encoding a dict for each.
"""

from __future__ import annotations

import json
import math
from typing import IO, Any, Iterator

import numpy as np

from tutor.trace.trace import Trace, WeightBlock, WeightRow
from tutor.trace.updates import UpdateBlock, UpdateRecord

JSON_FORMAT_VERSION = 1
_QUANTITIES = "\x00quantities\x00"


def trace_to_dict(trace: Trace, *, include_history: bool = False, keys: set[str] | None = None) -> dict[str, Any]:
    """Plain data for one step: the loss, per-layer arrays, every quantity (or those in `keys`), the history."""
    if getattr(trace, "is_graph", False):  # a computational graph (tutor/views/graph.py)
        from tutor.views.graph import graph_to_dict

        return _finite_or_null(graph_to_dict(trace, include_history=include_history, keys=keys))
    data = _summary(trace, include_history)
    data["quantities"] = [r for r in trace.records() if keys is None or r["key"] in keys]
    return _finite_or_null(data)


def write_trace_json(trace: Trace, stream: IO[str], *, include_history: bool = False) -> None:
    """Write the whole trace as one JSON document (same content as `trace_to_dict`), fast."""
    if getattr(trace, "is_graph", False):  # small: written at once
        stream.write(_dumps(trace_to_dict(trace, include_history=include_history)) + "\n")
        return
    data = _summary(trace, include_history)
    data["quantities"] = _QUANTITIES
    head, tail = _dumps(data).split(json.dumps(_QUANTITIES))
    stream.write(head + "[")
    separator = ""
    for chunk in _quantity_chunks(trace):
        stream.write(separator + chunk)
        separator = ", "
    stream.write("]" + tail + "\n")


def _dumps(data: Any) -> str:
    try:
        return json.dumps(data, allow_nan=False)
    except ValueError:  # inf or NaN somewhere: rare, so only then walk the data
        return json.dumps(_finite_or_null(data), allow_nan=False)


def _summary(trace: Trace, include_history: bool) -> dict[str, Any]:
    problem = trace.problem
    layers = []
    for l, layer in enumerate(problem.layers, start=1):
        per_sample = (lambda a: a.tolist()) if problem.batch else (lambda a: a[0].tolist())
        values = trace.layer_values(l)
        optional = (lambda a: None if a is None else per_sample(a))
        entry = {
            "kind": getattr(layer, "kind", "dense"),
            "activation": None if layer.activation is None else layer.activation.describe(),
            "net": per_sample(values["net"]),
            "out": per_sample(values["out"]),
            "dloss_dout": per_sample(values["dloss_dout"]),
            "dout_dnet": optional(values["dout_dnet"]),
            "delta": per_sample(values["delta"]),
            "dloss_dinput": optional(values["dloss_dinput"]),
        }
        if values["new_weight"].size:  # pooling and flatten layers have no parameters
            entry.update({
                "grad_weights": values["grad_weight"].tolist(),
                "grad_biases": _bias_shape(values["grad_bias"], layer.shared_bias),
                "new_weights": values["new_weight"].tolist(),
                "new_biases": _bias_shape(values["new_bias"], layer.shared_bias),
            })
        layers.append(entry)
    history = trace.history
    data: dict[str, Any] = {
        "format": JSON_FORMAT_VERSION,
        "problem": {
            "name": problem.name,
            "path": problem.path,
            "hash": problem.content_hash,
            "shape": list(problem.shape),
            "samples": problem.samples,
            "batch": problem.batch,
            "loss": problem.loss.describe(),
            "learning_rate": problem.learning_rate,
            "update_biases": problem.update_biases,
        },
        "loss": trace.loss,
        "loss_after_update": float(history[trace.shown]) if history is not None and len(history) > trace.shown
        else None,
        "layers": layers,
    }
    if not problem.plain_descent:
        data["optimizer"] = {"name": problem.optimizer.name, "options": dict(problem.optimizer.values),
                             "schedule": problem.schedule.describe(), "t": problem.first_step,
                             "learning_rate": problem.step_rate}
    if include_history and history is not None:
        data["history"] = [float(v) for v in history]
        if trace.final is not None:
            data["final"] = {"layers": [{"weights": p["weights"].tolist(),
                                         "biases": _bias_shape(p["biases"], layer.shared_bias)} if p else {}
                                        for layer, p in zip(problem.layers, trace.final)]}
    return data


def _quantity_chunks(trace: Trace) -> Iterator[str]:
    for item in trace.record_blocks():
        if isinstance(item, WeightBlock):
            for row in trace.weight_rows(item):
                yield _weight_row_text(item, row)
        elif isinstance(item, UpdateBlock):
            yield from _update_texts(item.layer, trace.update_records(item))
        else:
            yield _dumps(item)


def _update_texts(layer: int, records: Iterator[UpdateRecord]) -> Iterator[str]:
    """Update records as JSON text: plain ASCII keys and kinds need no escaping."""
    sep = '", "'
    for key, kind, j, i, value, deps in records:
        depends = f'["{sep.join(deps)}"]' if deps else "[]"
        yield (f'{{"key": "{key}", "kind": "{kind}", "layer": {layer}, "index": [{j}, {i}], "value": {_number(value)}, '
               f'"depends_on": {depends}}}')


def _weight_row_text(block: WeightBlock, row: WeightRow) -> str:
    """The records of one row of weights as JSON text: plain ASCII keys need no escaping."""
    prefix = f'"kind": "{block.kind}", "layer": {block.layer}, "index": [{row.j}, '
    numbers = map(repr, row.values) if all(map(math.isfinite, row.values)) else map(_number, row.values)
    sep = '", "'
    return ", ".join(
        f'{{"key": "{key}", {prefix}{i}], "value": {number}, "depends_on": ["{sep.join(deps)}"]}}'
        for i, key, number, deps in zip(range(1, len(row.keys) + 1), row.keys, numbers, row.depends_on)
    )


def _number(value: float) -> str:
    return repr(value) if math.isfinite(value) else "null"


def _bias_shape(values: np.ndarray, shared: bool) -> float | list[float]:
    return float(values[0]) if shared else values.tolist()


def _finite_or_null(value: Any) -> Any:
    """JSON has no inf or NaN: a diverging history, say, shows them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite_or_null(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    return value
