"""Read a problem file (format version 1 or 2) into a validated `Problem`.

Every mistake raises `ProblemError` naming the file, the line and column, and the field, e.g.
``hw.yaml:7:5: layers[1].weights: expected 2 rows (one per neuron) of 3 numbers (one per input of the
layer), got 2 rows of 2``. Field paths count list entries from 0, as in the file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NoReturn, Sequence

import numpy as np

from tutor.model.activations import ACTIVATIONS, Activation
from tutor.errors import ProblemError, UserError, closest, plural
from tutor.model.losses import LOSSES, Loss
from tutor.model.optimizers import make_optimizer
from tutor.model.optimizers.base import Optimizer
from tutor.model.options import SpecError
from tutor.model.schedules import Schedule, make_schedule
from tutor.model.clipping import CLIPPING_KEYS, Clipping
from tutor.problem.images import check_notation, is_image_problem, is_layered_problem, \
    read_image, read_image_targets, read_layers
from tutor.problem.validated import (
    FORMAT_VERSION, FORMAT_VERSIONS, TOLERANCE_MODES, Grading, Layer, LayerState, Notation, Problem,
)
from tutor.problem.yaml_safe import DEFAULT_MAX_BYTES, FieldPath, format_path, locate, locate_key, parse_yaml, read_text

TOP_KEYS = (
    "format", "name", "description", "source", "inputs", "targets", "labels", "layers", "loss",
    "learning_rate", "update_biases", "notation", "ask", "grading",
    "optimizer", "weight_decay", "l1", "schedule", "optimizer_state", "gradient_clipping",
)
#: Keys that need format 2 (a file that says `format: 1` may not use them).
FORMAT_2_KEYS = ("optimizer", "weight_decay", "l1", "schedule", "optimizer_state")
OPTIMIZER_STATE_KEYS = ("t", "epoch", "layers")
REQUIRED_KEYS = ("inputs", "layers", "loss", "learning_rate")
LAYER_KEYS = ("weights", "biases", "activation")
NOTATION_KEYS = ("inputs", "neurons", "weights", "biases", "out", "loss")
GRADING_KEYS = ("tolerance", "follow_through_credit", "decimals", "score_work")
TOLERANCE_KEYS = ("mode", "relative", "absolute", "min_figures")


def load_problem(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, network_only: bool = False) -> Problem:
    """Read, parse and validate a problem file (`network_only`: inputs and targets may be left out)."""
    source = str(path)
    try:
        text = read_text(path, max_bytes=max_bytes, what="problem file")
    except UserError as exc:
        raise ProblemError(exc.message, source=exc.source, line=exc.line, column=exc.column, field=exc.field) from None
    return parse_problem(text, source=source, network_only=network_only)


def parse_problem(text: str, *, source: str = "<string>", network_only: bool = False) -> Problem:
    """Parse and validate the text of a problem file (`network_only`: inputs and targets may be left out)."""
    try:
        data = parse_yaml(text, source=source)
    except UserError as exc:
        raise ProblemError(exc.message, source=exc.source, line=exc.line, column=exc.column, field=exc.field) from None
    return _Reader(source, text, network_only).problem(data)


def describe_value(value: Any) -> str:
    """How a wrong value is named in messages: its type, and the value itself when short."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"the text '{_cut(value)}'" if value.strip() else "empty text"
    if isinstance(value, list):
        return f"a list of {len(value)}" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    return f"{_shown(value)} ({type(value).__name__})"


def named_value(value: Any) -> str:
    """A value given where a name was expected: ``'tahn'`` for a text, else what `describe_value` says."""
    return f"'{_cut(value)}'" if isinstance(value, str) and value.strip() else describe_value(value)


def _cut(text: str) -> str:
    return text if len(text) <= 30 else text[:27] + "..."


def _shown(value: Any) -> str:
    try:
        return _cut(repr(value))
    except ValueError:  # an integer too long for Python to print
        return "a very long number"


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)  # bool is an int subclass and is not a number here


def _is_finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the range of floats
        return False


def _not_finite(value: int | float) -> str:
    """How a number that cannot be used is named: nan and inf, or an integer too large for a float."""
    if isinstance(value, float):
        return f"{value} (numbers must be finite)"
    return f"{_shown(value)} (too large: numbers must be finite)"


class _Reader:
    """Validates the parsed data of one file; `fail` turns a field path into a located error."""

    def __init__(self, source: str, text: str, network_only: bool = False) -> None:
        self.source = source
        self.text = text
        self.network_only = network_only  # `train --data`: the samples come from elsewhere

    # -- errors ---------------------------------------------------------------------------------

    def fail(self, path: FieldPath, message: str, *, key: object = None) -> NoReturn:
        position = locate_key(self.text, path, key) if key is not None else None
        position = position or locate(self.text, path)
        line, column = position if position else (None, None)
        field = format_path([*path, key] if isinstance(key, str) else path) or None
        raise ProblemError(message, source=self.source, line=line, column=column, field=field)

    def check_keys(self, mapping: dict, path: FieldPath, allowed: Sequence[str], required: Sequence[str]) -> None:
        for key in mapping:
            if not isinstance(key, str):
                self.fail(path, f"keys must be text, got {describe_value(key)}", key=key)
            if key not in allowed:
                self.fail(path, f"unknown key{closest(key, allowed)} (allowed: {', '.join(allowed)})", key=key)
        for key in required:
            if key not in mapping:
                self.fail(path, f"missing key '{key}'")

    # -- scalars --------------------------------------------------------------------------------

    def number(self, value: Any, path: FieldPath, what: str = "a number") -> float:
        if not _is_number(value):
            self.fail(path, f"expected {what}, got {describe_value(value)}")
        if not _is_finite(value):
            self.fail(path, f"expected {what}, got {_not_finite(value)}")
        return float(value)

    def text_field(self, value: Any, path: FieldPath) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected text, got {describe_value(value)}")
        return value.strip()

    def mapping(self, value: Any, path: FieldPath, what: str) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"expected {what} (a mapping of keys to values), got {describe_value(value)}")
        return value

    def vector(self, value: Any, path: FieldPath, length: int | None, what: str) -> np.ndarray:
        """A list of finite numbers, of `length` if given."""
        expected = f"a list of {what}" if length is None else f"a list of {plural(length, 'number')} ({what})"
        if not isinstance(value, list) or not value:
            self.fail(path, f"expected {expected}, got {describe_value(value)}")
        if length is not None and len(value) != length:
            self.fail(path, f"expected {plural(length, 'number')} ({what}), got {len(value)}")
        return self._numbers(value, path)

    def _numbers(self, row: list, path: FieldPath) -> np.ndarray:
        if not all(_is_number(v) for v in row):
            bad = next(i for i, v in enumerate(row) if not _is_number(v))
            what = "a list" if isinstance(row[bad], list) else describe_value(row[bad])
            self.fail([*path, bad], f"expected a number, got {what}")
        try:
            array = np.array(row, dtype=float)
        except OverflowError:  # an integer beyond the range of floats
            array = np.array([v if _is_finite(v) else math.inf for v in row], dtype=float)
        if not np.all(np.isfinite(array)):
            bad = int(np.flatnonzero(~np.isfinite(array))[0])
            self.fail([*path, bad], f"expected a number, got {_not_finite(row[bad])}")
        return array

    def matrix(self, value: Any, path: FieldPath, cols: int, what_row: str, what_col: str,
               one_row_hint: str | None = None) -> np.ndarray:
        """A non-empty list of rows, each of `cols` finite numbers.

        `one_row_hint` names what a single row stands for (``one neuron``): a flat list of `cols`
        numbers is then refused with a hint to wrap it in another pair of brackets.
        """
        numbers = plural(cols, "number")
        if not isinstance(value, list) or not value:
            self.fail(path, f"expected a list of rows ({what_row}), each a list of {numbers}, "
                            f"got {describe_value(value)}")
        if not all(isinstance(row, list) for row in value):
            if one_row_hint and all(_is_number(v) for v in value) and len(value) == cols:
                self.fail(path, f"expected a list of rows ({what_row}), got a flat list of {numbers}; for "
                                f"{one_row_hint} wrap it in another pair of brackets: [[{_short(value)}]]")
            bad = next(i for i, row in enumerate(value) if not isinstance(row, list))
            self.fail([*path, bad], f"expected a row of {numbers} ({what_col}), got {describe_value(value[bad])}")
        lengths = {len(row) for row in value}
        if lengths != {cols}:
            if len(lengths) == 1:
                self.fail(path, f"expected {plural(len(value), 'row')} ({what_row}) of {numbers} ({what_col}), "
                                f"got {plural(len(value), 'row')} of {lengths.pop()}")
            bad = next(i for i, row in enumerate(value) if len(row) != cols)
            self.fail([*path, bad], f"expected {numbers} ({what_col}), got {len(value[bad])} (rows differ in length)")
        rows = [self._numbers(row, [*path, j]) for j, row in enumerate(value)]
        return np.vstack(rows)

    # -- the document ---------------------------------------------------------------------------

    def problem(self, data: Any) -> Problem:
        if data is None:
            self.fail([], "the file is empty; a problem file is a mapping with inputs, layers, targets, loss "
                          "and learning_rate")
        data = self.mapping(data, [], "a problem")
        if "graph" in data:  # a computational graph instead of a network (tutor/problem/graph.py)
            from tutor.problem.graph import read_graph

            if self.network_only:
                self.fail([], "this is a computational graph (graph:); training needs a network (layers:)",
                          key="graph")
            return read_graph(self, data)
        if self.network_only:
            data = self.without_samples(data)
        self.check_keys(data, [], TOP_KEYS, REQUIRED_KEYS)
        version = data.get("format", FORMAT_VERSION)
        if version not in FORMAT_VERSIONS or isinstance(version, (bool, float)):
            self.fail(["format"], f"unsupported format version {_shown(version)}; this version reads formats "
                                  f"{' and '.join(str(v) for v in FORMAT_VERSIONS)}")
        for key in FORMAT_2_KEYS:
            if version == 1 and key in data:
                self.fail([], f"'{key}' needs format 2 (write 'format: 2' or leave 'format' out)", key=key)
        image = is_image_problem(self, data)
        layered = is_layered_problem(self, data)
        inputs, batch = read_image(self, data["inputs"]) if image else self.inputs(data["inputs"])
        layers = self.image_layers(data["layers"], inputs) if layered else self.layers(data["layers"], inputs.shape[1])
        loss = self.loss(data["loss"])
        image_output = getattr(layers[-1], "output_shape", ())
        if len(image_output) == 3 and "targets" in data and "labels" not in data:
            targets, labels = read_image_targets(self, data["targets"], image_output), None
        else:
            targets, labels = self.targets(data, inputs.shape[0], batch, layers[-1].size)
        self.check_targets(data, targets, labels, loss, layers[-1].activation)
        learning_rate = self.number(data["learning_rate"], ["learning_rate"])
        if learning_rate < 0:
            self.fail(["learning_rate"], f"must not be negative, got {learning_rate:g} (gradient descent steps against "
                                         "the gradient by a positive rate)")
        update_biases = data.get("update_biases", True)
        if not isinstance(update_biases, bool):
            self.fail(["update_biases"], f"expected true or false, got {describe_value(update_biases)}")
        shape = (math.prod(inputs.shape[1:]),) + tuple(layer.size for layer in layers)
        shared = tuple(layer.shared_bias for layer in layers)
        if layered:
            check_notation(self, data.get("notation"))
        notation = self.notation(data.get("notation"), shape, shared)
        optional = {key: self.text_field(data[key], [key]) for key in ("name", "source", "description") if
                    data.get(key) is not None}
        ask = self.ask(data["ask"]) if data.get("ask") is not None else None
        grading = self.grading(data["grading"]) if data.get("grading") is not None else Grading()
        optimizer = self.optimizer(data)
        schedule = self.schedule(data["schedule"]) if data.get("schedule") is not None else make_schedule(None)
        first_step, state, first_epoch = 1, None, None
        if data.get("optimizer_state") is not None and layered:
            self.fail([], "'optimizer_state' is only available for networks of dense layers (a state per weight and "
                          "bias); with other layer kinds a problem starts from the optimizer's first step",
                      key="optimizer_state")
        if data.get("optimizer_state") is not None:
            first_step, state = self.optimizer_state(data["optimizer_state"], optimizer, layers, update_biases)
            first_epoch = self.state_epoch(data["optimizer_state"], first_step)
        return Problem(
            inputs=inputs, targets=targets, batch=batch, layers=layers, loss=loss, learning_rate=learning_rate,
            update_biases=update_biases, notation=notation, name=optional.get("name") or _stem(self.source),
            source=optional.get("source"), description=optional.get("description"), labels=labels,
            path=None if self.source.startswith("<") else self.source, text=self.text,
            ask=ask, grading=grading, optimizer=optimizer, schedule=schedule, first_step=first_step,
            optimizer_state=state, first_epoch=first_epoch,
            clipping=self.clipping(data["gradient_clipping"]) if data.get("gradient_clipping") is not None else None,
        )

    def clipping(self, value: Any) -> Clipping:
        """`gradient_clipping: {max_norm: X}` or `{max_value: X}` (X positive)."""
        path = ["gradient_clipping"]
        value = self.mapping(value, path, "a mapping with max_norm or max_value")
        self.check_keys(value, path, CLIPPING_KEYS, ())
        if len(value) != 1:
            self.fail(path, "expected one of max_norm (clip the gradients' 2-norm) or max_value (clip each entry), "
                            f"got {'both' if len(value) == 2 else 'neither'}")
        (key, given), = value.items()
        number = self.number(given, [*path, key], "a positive number")
        if number <= 0:
            self.fail([*path, key], f"must be positive, got {number:g}")
        return Clipping(**{key: number})

    def without_samples(self, data: dict) -> dict:
        """A network-only file: zeros stand in for missing inputs and targets (the caller brings the samples)."""
        layers = data.get("layers")
        first = layers[0] if isinstance(layers, list) and layers and isinstance(layers[0], dict) else {}
        rows = first.get("weights")
        if "inputs" not in data and isinstance(rows, list) and rows and isinstance(rows[0], list) and rows[0]:
            data = {**data, "inputs": [0.0] * len(rows[0])}
        if "targets" not in data and "labels" not in data and isinstance(layers, list) and layers and \
                isinstance(layers[-1], dict) and isinstance(layers[-1].get("weights"), list):
            data = {**data, "targets": [1.0] + [0.0] * (len(layers[-1]["weights"]) - 1)}  # fits every loss
        return data

    # -- the update rule (format 2) -------------------------------------------------------------------

    def optimizer(self, data: dict) -> Optimizer:
        """`optimizer` (a name or a mapping of name and options), with the top-level weight_decay and l1."""
        value = data.get("optimizer", "sgd")
        if value is None or isinstance(value, str):
            spec: dict = {"name": value}
        elif isinstance(value, dict):
            spec = dict(value)
        else:
            self.fail(["optimizer"], f"expected an optimizer's name, or a mapping with its name and options, got "
                                     f"{describe_value(value)}")
        for key in ("weight_decay", "l1"):
            if key in data:
                if key in spec:
                    self.fail([], f"'{key}' is given twice, here and inside optimizer; give it once", key=key)
                spec[key] = data[key]
        try:
            return make_optimizer(spec)
        except SpecError as error:
            where = [error.key] if error.key in ("weight_decay", "l1") and error.key in data else ["optimizer"]
            self.spec_failure(where, error, nested=not isinstance(value, (str, type(None))))

    def schedule(self, value: Any) -> Schedule:
        """`schedule`: a name, or a mapping of name and options."""
        try:
            return make_schedule(value)
        except SpecError as error:
            self.spec_failure(["schedule"], error, nested=isinstance(value, dict))

    def spec_failure(self, path: FieldPath, error: SpecError, *, nested: bool) -> NoReturn:
        """A located message for a bad optimizer or schedule option: at the key, or at its value."""
        if error.key is None or not nested or path[-1] == error.key:
            self.fail(path, error.message)
        if error.unknown:
            self.fail(path, error.message, key=error.key)
        self.fail([*path, error.key], error.message)

    def optimizer_state(self, value: Any, optimizer: Optimizer, layers: tuple[Layer, ...],
                        update_biases: bool) -> tuple[int, tuple[LayerState, ...] | None]:
        """`optimizer_state`: the step number t of the problem's step and the state it starts from."""
        path: list[str | int] = ["optimizer_state"]
        value = self.mapping(value, path, "the optimizer's state (t and layers)")
        self.check_keys(value, path, OPTIMIZER_STATE_KEYS, ("t",))
        t = value["t"]
        if type(t) is not int or t < 1:
            self.fail([*path, "t"], f"expected the number of the problem's step (a whole number from 1), got "
                                    f"{describe_value(t)}")
        names = optimizer.state_names
        if "layers" not in value:
            if names and t > 1:
                self.fail(path, f"missing key 'layers': step {t} of {optimizer.name} starts from the state the "
                                f"earlier steps left ({', '.join(names)} for every parameter)")
            return t, None
        if not names:
            self.fail([*path, "layers"], f"{optimizer.name} keeps no state; leave 'layers' out")
        entries = value["layers"]
        if not isinstance(entries, list) or len(entries) != len(layers):
            got = len(entries) if isinstance(entries, list) else describe_value(entries)
            self.fail([*path, "layers"], f"expected {len(layers)} entries (one per layer), got {got}")
        return t, tuple(self.layer_state(entry, [*path, "layers", l], optimizer, layer, update_biases)
                        for l, (entry, layer) in enumerate(zip(entries, layers)))

    def state_epoch(self, value: dict, t: int) -> int | None:
        """`optimizer_state.epoch`: the schedule's epoch (from 0) of the problem's step; at most t - 1."""
        if "epoch" not in value:
            return None
        epoch = value["epoch"]
        if type(epoch) is not int or not 0 <= epoch <= t - 1:
            self.fail(["optimizer_state", "epoch"], f"expected the schedule's epoch of the problem's step (a whole "
                                                    f"number from 0 to t - 1 = {t - 1}), got {describe_value(epoch)}")
        return epoch

    def layer_state(self, entry: Any, path: FieldPath, optimizer: Optimizer, layer: Layer,
                    update_biases: bool) -> LayerState:
        """One layer's state: for weights (and biases, when they are updated) each state entry's values."""
        parts = ("weights", "biases") if update_biases else ("weights",)
        entry = self.mapping(entry, path, f"a layer's state ({' and '.join(parts)})")
        if not update_biases and "biases" in entry:
            self.fail(path, "the biases are not updated (update_biases: false), so they have no state",
                      key="biases")
        self.check_keys(entry, path, parts, parts)
        names = optimizer.state_names
        state: LayerState = {}
        for part in parts:
            where = [*path, part]
            given = self.mapping(entry[part], where, f"the state of the {part} ({', '.join(names)})")
            self.check_keys(given, where, names, names)
            arrays = {}
            for name in names:
                if part == "weights":
                    array = self.matrix(given[name], [*where, name], layer.fan_in, "one per neuron",
                                        "one per input of the layer", one_row_hint="one neuron")
                    if array.shape != layer.weights.shape:
                        self.fail([*where, name], f"expected {plural(layer.size, 'row')} (one per neuron), got "
                                                  f"{array.shape[0]}")
                elif layer.shared_bias:
                    array = np.array([self.number(given[name], [*where, name], "a single number (the bias is "
                                                                                "shared)")])
                else:
                    array = self.vector(given[name], [*where, name], layer.size, "one per neuron")
                if name in optimizer.squares and (array < 0).any():
                    self.fail([*where, name], f"{name} is a mean or sum of squares and cannot be negative, got "
                                              f"{array[array < 0][0]:g}")
                arrays[name] = array
            state[part] = arrays
        return state

    # -- grading ----------------------------------------------------------------------------------

    def ask(self, value: Any) -> tuple[tuple[str, float], ...]:
        """`ask`: a list of keys or labels (one point each), or a mapping of key or label to points.

        The names themselves can only be checked against a trace: the grader does that.
        """
        path = ["ask"]
        what = "a list of the keys students must answer (one point each) or a mapping of key to points"
        if isinstance(value, list):
            if not value:
                self.fail(path, f"expected {what}, got an empty list")
            entries = [(self.text_field(name, [*path, n]), 1.0) for n, name in enumerate(value)]
        elif isinstance(value, dict):
            if not value:
                self.fail(path, f"expected {what}, got an empty mapping")
            entries = []
            for name, points in value.items():
                if not isinstance(name, str) or not name.strip():
                    self.fail(path, f"keys must be the names of quantities, got {describe_value(name)}", key=name)
                if not _is_number(points) or not _is_finite(points) or points <= 0:
                    self.fail([*path, name], f"expected the points for {name} (a positive number), got "
                                             f"{describe_value(points)}")
                entries.append((name.strip(), float(points)))
        else:
            self.fail(path, f"expected {what}, got {describe_value(value)}")
        seen: dict[str, int] = {}
        for n, (name, _) in enumerate(entries):
            if name in seen:
                where = [*path, n] if isinstance(value, list) else [*path, name]
                self.fail(where, f"'{name}' is listed twice; list each quantity once")
            seen[name] = n
        return tuple(entries)

    def grading(self, value: Any) -> Grading:
        path = ["grading"]
        value = self.mapping(value, path, "grading settings (tolerance, follow_through_credit, decimals, score_work)")
        self.check_keys(value, path, GRADING_KEYS, ())
        mode = relative = absolute = credit = figures = None
        if value.get("tolerance") is not None:
            where = [*path, "tolerance"]
            tolerance = self.mapping(value["tolerance"], where, "a tolerance (mode, relative, absolute, min_figures)")
            self.check_keys(tolerance, where, TOLERANCE_KEYS, ())
            if "mode" in tolerance:
                mode = tolerance["mode"]
                if not isinstance(mode, str) or mode not in TOLERANCE_MODES:
                    hint = closest(mode, TOLERANCE_MODES) if isinstance(mode, str) else ""
                    self.fail([*where, "mode"], f"unknown tolerance mode {describe_value(mode)}{hint} (choose from "
                                                f"{', '.join(TOLERANCE_MODES)})")
            if "relative" in tolerance:
                relative = self.non_negative(tolerance["relative"], [*where, "relative"], "a relative tolerance")
            if "absolute" in tolerance:
                absolute = self.non_negative(tolerance["absolute"], [*where, "absolute"], "an absolute tolerance")
            if "min_figures" in tolerance:
                figures = tolerance["min_figures"]
                if isinstance(figures, bool) or not isinstance(figures, int) or not 1 <= figures <= 15:
                    self.fail([*where, "min_figures"], "expected the fewest significant figures an answer needs, "
                                                       f"a whole number from 1 to 15, got {describe_value(figures)}")
        if "follow_through_credit" in value:
            where = [*path, "follow_through_credit"]
            credit = self.number(value["follow_through_credit"], where, "a number from 0 to 1")
            if not 0 <= credit <= 1:
                self.fail(where, f"expected a number from 0 to 1 (the share of a key's points a follow-through "
                                 f"earns), got {credit:g}")
        decimals = score_work = None
        if value.get("decimals") is not None:
            decimals = value["decimals"]
            if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 15:
                self.fail([*path, "decimals"], "expected the decimal places every answer is judged to, a whole "
                                               f"number from 0 to 15, got {describe_value(decimals)}")
            if mode not in (None, "precision"):
                self.fail([*path, "decimals"], f"decimals judges answers to decimal places; it cannot be combined "
                                               f"with tolerance mode '{mode}' (leave the mode out)")
            if figures is not None:
                self.fail([*path, "decimals"], "decimals replaces the minimum of significant figures; give either "
                                               "decimals or tolerance.min_figures, not both")
        if value.get("score_work") is not None:
            score_work = value["score_work"]
            if not isinstance(score_work, bool):
                self.fail([*path, "score_work"], "expected true or false (whether values written but not asked "
                                                 f"earn points), got {describe_value(score_work)}")
        return Grading(mode=mode, relative=relative, absolute=absolute, follow_through_credit=credit,
                       min_figures=figures, decimals=decimals, score_work=score_work)

    def non_negative(self, value: Any, path: FieldPath, what: str) -> float:
        number = self.number(value, path, what)
        if number < 0:
            self.fail(path, f"must not be negative, got {number:g}")
        return number

    def inputs(self, value: Any) -> tuple[np.ndarray, bool]:
        path = ["inputs"]
        if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
            width = len(value[0])
            if width == 0:
                self.fail([*path, 0], "expected at least one number per sample, got an empty list")
            return self.matrix(value, path, width, "one per sample", "one per input"), True
        if isinstance(value, list) and any(isinstance(row, list) for row in value):
            self.fail(path, "mixes numbers and lists; give one sample as a list of numbers or a batch as a "
                            "list of lists (one row per sample)")
        return self.vector(value, path, None, "input values")[np.newaxis, :], False

    def layers(self, value: Any, fan_in: int) -> tuple[Layer, ...]:
        if not isinstance(value, list) or not value:
            got = "an empty list" if value == [] else describe_value(value)
            self.fail(["layers"], f"expected a list of layers (each with weights, biases and activation), got {got}")
        layers = []
        for index, entry in enumerate(value):
            layer = self.layer(entry, index, fan_in, is_output=index == len(value) - 1)
            layers.append(layer)
            fan_in = layer.size
        return tuple(layers)

    def image_layers(self, value: Any, image: np.ndarray) -> tuple:
        """The layers of a problem whose input is an image (see `tutor.problem.images`)."""
        if not isinstance(value, list) or not value:
            self.fail(["layers"], f"expected a list of layers, got {describe_value(value)}")
        return read_layers(self, value, image)

    def layer(self, entry: Any, index: int, fan_in: int, *, is_output: bool) -> Layer:
        path: list[str | int] = ["layers", index]
        entry = self.mapping(entry, path, "a layer")
        self.check_keys(entry, path, (*LAYER_KEYS, "type"), LAYER_KEYS)  # type: dense, checked before
        weights = self.matrix(entry["weights"], [*path, "weights"], fan_in, "one per neuron",
                              "one per input of the layer", one_row_hint="one neuron")
        neurons = weights.shape[0]
        bias_value = entry["biases"]
        if isinstance(bias_value, list):
            if len(bias_value) != neurons:
                self.fail([*path, "biases"], f"expected {neurons} numbers (one per neuron) or a single shared number, "
                                             f"got {len(bias_value)}")
            biases, shared = self.vector(bias_value, [*path, "biases"], neurons, "one per neuron"), False
        else:
            biases = np.full(neurons, self.number(bias_value, [*path, "biases"], "a number or a list of numbers"))
            shared = True
        activation = self.activation(entry["activation"], [*path, "activation"])
        if not activation.hidden_allowed and not is_output:
            self.fail([*path, "activation"], f"{activation.name} is only allowed in the output layer")
        return Layer(weights=weights, biases=biases, activation=activation, shared_bias=shared)

    def activation(self, value: Any, path: FieldPath) -> Activation:
        return self.component(value, path, ACTIVATIONS, "activation")

    def loss(self, value: Any) -> Loss:
        return self.component(value, ["loss"], LOSSES, "loss")

    def component(self, value: Any, path: FieldPath, registry: dict, what: str) -> Any:
        """An activation or loss: a registered name, or a mapping with a name and its parameters."""
        names = list(registry)
        takes_parameters = any(cls.parameters for cls in registry.values())
        if isinstance(value, dict) and takes_parameters:
            every = dict.fromkeys(p.name for cls in registry.values() for p in cls.parameters)
            self.check_keys(value, path, ["name", *every], ["name"])
            name, params = value["name"], {k: v for k, v in value.items() if k != "name"}
        else:
            name, params = value, {}
        if not isinstance(name, str) or name not in registry:
            where = [*path, "name"] if isinstance(value, dict) and takes_parameters else path
            hint = closest(name, names) if isinstance(name, str) else ""
            self.fail(where, f"unknown {what} {named_value(name)}{hint} (choose from {', '.join(names)})")
        allowed = {p.name: p for p in registry[name].parameters}
        for key, param in params.items():
            if key not in allowed:
                takes = ", ".join(allowed) or "no parameters"
                self.fail(path, f"{name} does not take '{key}' (it takes {takes})", key=key)
            self.number(param, [*path, key])
        for key, param in params.items():
            problem = allowed[key].problem(float(param))
            if problem:
                self.fail([*path, key], problem)
        return registry.make(name, **{k: float(v) for k, v in params.items()})

    def targets(self, data: dict, samples: int, batch: bool, outputs: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
        if "targets" in data and "labels" in data:
            self.fail(["labels"], "give either targets or labels (class indices), not both")
        if "labels" in data:
            return self.labels(data["labels"], samples, batch, outputs)
        if "targets" not in data:
            self.fail([], "missing key 'targets' (or 'labels' with class indices for a classifier)")
        value, path = data["targets"], ["targets"]
        if batch:
            if outputs == 1 and isinstance(value, list) and value and not any(isinstance(v, list) for v in value):
                return self.vector(value, path, samples, "one per sample")[:, np.newaxis], None
            if not isinstance(value, list) or len(value) != samples:
                self.fail(path, f"expected {plural(samples, 'row')} (one per sample, as in inputs) of "
                                f"{plural(outputs, 'number')} (one per output), got {describe_value(value)}")
            return self.matrix(value, path, outputs, "one per sample", "one per output"), None
        if _is_number(value) and outputs == 1:
            return np.array([[self.number(value, path)]]), None
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            self.fail(path, "expected one list of numbers (one per output), got a list of lists; inputs is a single "
                            "sample, so give a batch of inputs too or a single row of targets")
        return self.vector(value, path, outputs, "one per output")[np.newaxis, :], None

    def labels(self, value: Any, samples: int, batch: bool, outputs: int) -> tuple[np.ndarray, tuple[int, ...]]:
        path = ["labels"]
        if outputs < 2:
            self.fail(path, f"labels (class indices) need an output layer of at least 2 neurons, got {outputs}")
        values = value if isinstance(value, list) else [value]
        if batch and (not isinstance(value, list) or len(value) != samples):
            got = len(value) if isinstance(value, list) else describe_value(value)
            self.fail(path, f"expected {samples} class indices (one per sample), got {got}")
        if not batch and len(values) != 1:
            self.fail(path, f"expected one class index (inputs is a single sample), got {len(values)}")
        for i, label in enumerate(values):
            where = [*path, i] if isinstance(value, list) else path
            if type(label) is not int:
                self.fail(where, f"expected a class index (a whole number from 0 to {outputs - 1}), got "
                                 f"{describe_value(label)}")
            if not 0 <= label < outputs:
                self.fail(where, f"class index {label} is out of range: the output layer has {outputs} neurons, "
                                 f"numbered 0 to {outputs - 1}")
        targets = np.zeros((len(values), outputs))
        targets[np.arange(len(values)), values] = 1.0
        return targets, tuple(values)

    def check_targets(self, data: dict, targets: np.ndarray, labels: Any, loss: Loss, output: Activation) -> None:
        if labels is not None:
            return
        if loss.target_range is not None:
            low, high = loss.target_range
            outside = (targets < low) | (targets > high)
            if outside.any():
                s, j = (int(k) for k in np.argwhere(outside)[0])
                self.fail(self.target_path(data["targets"], targets, s, j),
                          f"{loss.name} needs targets from {low:g} to {high:g}, got {targets[s, j]:g}")
        if loss.fuses_with(output):  # the fused delta out - t holds only for targets adding up to 1
            sums = targets.sum(axis=1)
            bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-9)
            if bad.size:
                s = int(bad[0])
                self.fail(self.target_path(data["targets"], targets, s, None),
                          f"with a {output.name} output, {loss.name} targets must add up to 1 (a probability "
                          f"distribution), got {sums[s]:g}")

    @staticmethod
    def target_path(value: Any, targets: np.ndarray, sample: int, output: int | None) -> list[str | int]:
        """Where target `[sample, output]` (or the row of `sample` if `output` is None) is in the file."""
        if not isinstance(value, list):  # a single number: one sample, one output
            return ["targets"]
        if value and isinstance(value[0], list):  # one row per sample
            return ["targets", sample] + ([output] if output is not None else [])
        if targets.shape[0] == 1:  # one sample's outputs
            return ["targets"] + ([output] if output is not None else [])
        return ["targets", sample]  # a batch with one output: one number per sample

    def notation(self, value: Any, shape: tuple[int, ...], shared: tuple[bool, ...]) -> Notation:
        default = Notation.default(shape, shared)
        if value is None:
            return default
        path = ["notation"]
        value = self.mapping(value, path, "notation")
        self.check_keys(value, path, NOTATION_KEYS, ())
        layers = len(shape) - 1
        inputs = self.names(value["inputs"], [*path, "inputs"], shape[0], "one per input") if "inputs" in value \
            else default.inputs
        neurons = self.per_layer(value, "neurons", layers, default.neurons,
                                 lambda v, p, l: self.names(v, p, shape[l + 1], "one per neuron"))
        weights = self.per_layer(value, "weights", layers, default.weights,
                                 lambda v, p, l: self.weight_names(v, p, shape[l + 1], shape[l]))
        biases = self.per_layer(value, "biases", layers, default.biases,
                                lambda v, p, l: self.bias_names(v, p, shape[l + 1], shared[l]))
        out = self.text_field(value["out"], [*path, "out"]) if "out" in value else default.out
        loss = self.text_field(value["loss"], [*path, "loss"]) if "loss" in value else default.loss
        notation = Notation(inputs=inputs, neurons=neurons, weights=weights, biases=biases, out=out, loss=loss)
        self.check_unique(notation, value, shared)
        return notation

    def per_layer(self, value: dict, key: str, layers: int, default: tuple, read) -> tuple:
        if key not in value:
            return default
        path = ["notation", key]
        entries = value[key]
        if not isinstance(entries, list) or len(entries) != layers:
            got = len(entries) if isinstance(entries, list) else describe_value(entries)
            self.fail(path, f"expected {layers} entries (one per layer), got {got}")
        return tuple(read(entry, [*path, l], l) for l, entry in enumerate(entries))

    def names(self, value: Any, path: FieldPath, count: int, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or len(value) != count:
            got = len(value) if isinstance(value, list) else describe_value(value)
            self.fail(path, f"expected {count} names ({what}), got {got}")
        return tuple(self.text_field(v, [*path, i]) for i, v in enumerate(value))

    def weight_names(self, value: Any, path: FieldPath, rows: int, cols: int) -> tuple[tuple[str, ...], ...]:
        if isinstance(value, list) and all(isinstance(row, list) for row in value) and value:
            if len(value) != rows:
                self.fail(path, f"expected {rows} rows of weight names (one per neuron), got {len(value)}")
            return tuple(self.names(row, [*path, j], cols, "one per input of the layer") for j, row in enumerate(value))
        flat = self.names(value, path, rows * cols, f"{rows} x {cols}, row by row: the weights into neuron 1 first")
        return tuple(flat[j * cols:(j + 1) * cols] for j in range(rows))

    def bias_names(self, value: Any, path: FieldPath, neurons: int, shared: bool) -> tuple[str, ...]:
        if shared:
            if isinstance(value, list):
                self.fail(path, "this layer has one shared bias (a single number), so give it a single name")
            return (self.text_field(value, path),)
        return self.names(value, path, neurons, "one per neuron")

    def check_unique(self, notation: Notation, given: dict, shared: tuple[bool, ...]) -> None:
        """Every display name must be different; a clash is reported where the file gives the name."""
        seen: dict[str, list[str | int]] = {}
        for name, path in self.named_places(notation, given, shared):
            if name in seen:
                first = seen[name]
                where, other = (path, first) if self.in_file(path, given) else (first, path)
                also = f"also for {format_path(other)}" if self.in_file(other, given) else \
                    f"also the default name for {format_path(other)}"
                self.fail(where, f"the name '{name}' is used twice ({also}); every name must be different")
            seen[name] = path

    @staticmethod
    def named_places(notation: Notation, given: dict, shared: tuple[bool, ...]):
        """(name, path in the notation) for every display name, in file order."""
        for i, name in enumerate(notation.inputs):
            yield name, ["notation", "inputs", i]
        for l, names in enumerate(notation.neurons):
            for j, name in enumerate(names):
                yield name, ["notation", "neurons", l, j]
        entries = given.get("weights")
        for l, rows in enumerate(notation.weights):
            written = entries[l] if isinstance(entries, list) and l < len(entries) else None
            flat = isinstance(written, list) and not (written and all(isinstance(row, list) for row in written))
            cols = len(rows[0]) if rows else 0
            for j, row in enumerate(rows):
                for i, name in enumerate(row):
                    yield name, ["notation", "weights", l] + ([j * cols + i] if flat else [j, i])
        for l, names in enumerate(notation.biases):
            for j, name in enumerate(names):
                yield name, ["notation", "biases", l] + ([] if shared[l] else [j])

    @staticmethod
    def in_file(path: list[str | int], given: dict) -> bool:
        """Whether the notation in the file gives the name at `path` (rather than the default)."""
        return path[1] in given


def _short(values: list) -> str:
    shown = ", ".join(f"{v:g}" if _is_finite(v) else _shown(v) for v in values[:4])
    return shown + (", ..." if len(values) > 4 else "")


def _stem(source: str) -> str:
    return Path(source).stem if not source.startswith("<") else "problem"
