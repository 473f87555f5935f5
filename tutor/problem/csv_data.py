"""Read a data set from a CSV file, safely: every mistake is one message naming the file, row and column.

The file has a header row, then one row per sample. Every column is a feature, except `label` (a class
index) and the columns named as regression targets. Rows are counted as lines of the file (the header
is row 1) and columns from 1, so `data.csv:7:2: x2: expected a number, got the text 'abc'` points at the
cell to fix. Numbers must be finite; blank lines are skipped.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import NoReturn, Sequence

import numpy as np

from tutor.errors import UserError, plural
from tutor.problem.datasets import Dataset

#: A CSV bigger than this is refused before it is read (a million rows of a few features is ~50 MB).
MAX_CSV_BYTES = 64 * 1024 * 1024
LABEL_COLUMN = "label"


class DataError(UserError):
    """A data file that cannot be read, or that does not fit the network."""


def load_csv(path: str | Path, targets: Sequence[str] = (), *, max_bytes: int = MAX_CSV_BYTES) -> Dataset:
    """Read features, and labels or the `targets` columns, from a CSV file with a header."""
    from tutor.problem.yaml_safe import read_text  # the project's safe file reading (loads yaml: only when needed)

    source = str(path)
    try:
        text = read_text(path, max_bytes=max_bytes, what="CSV file")
    except UserError as exc:
        raise DataError(exc.message, source=exc.source, line=exc.line, column=exc.column) from None
    return parse_csv(text, targets, source=source)


def parse_csv(text: str, targets: Sequence[str] = (), *, source: str = "<csv>") -> Dataset:
    """Parse the text of a CSV file (see `load_csv`)."""
    try:
        records = [(line, row) for line, row in _records(text) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        _fail(source, None, None, f"not valid CSV: {exc}")
    if not records:
        _fail(source, None, None, "the file is empty; a CSV data file starts with a header row such as x1,x2,label")
    header_line, header = records[0]
    names = _header(source, header_line, header)
    target_index = _target_columns(source, header_line, names, targets)
    label_index = names.index(LABEL_COLUMN) if LABEL_COLUMN in names else None
    if label_index is None and not target_index:
        _fail(source, header_line, None, f"no '{LABEL_COLUMN}' column (class indices) and no --target columns; "
                                         f"the columns are {', '.join(names)}")
    feature_index = [c for c, name in enumerate(names) if c != label_index and c not in target_index]
    if not feature_index:
        _fail(source, header_line, None, "no feature columns: every column is a label or a target")
    rows = records[1:]
    if not rows:
        _fail(source, header_line, None, "a header but no data rows")
    values = np.empty((len(rows), len(names)))
    for r, (line, row) in enumerate(rows):
        if len(row) != len(names):
            _fail(source, line, min(len(row), len(names)) + 1,
                  f"{plural(len(row), 'value')} in this row, but the header has {plural(len(names), 'column')}")
        for c, cell in enumerate(row):
            if c == label_index and not target_index:
                values[r, c] = _label(source, line, c, cell)
            elif c == label_index:
                values[r, c] = math.nan  # not used when targets are given
            else:
                values[r, c] = _number(source, line, c, names[c], cell)
    labels = values[:, label_index].astype(int) if label_index is not None and not target_index else None
    return Dataset(
        features=values[:, feature_index], labels=labels,
        targets=values[:, target_index] if target_index else None,
        feature_names=tuple(names[c] for c in feature_index), source=source,
        rows=np.array([line for line, _ in rows]), label_column=None if label_index is None else label_index + 1,
    )


def check_fits(data: Dataset, inputs: int, outputs: int) -> None:
    """Refuse data whose columns do not fit a network with `inputs` inputs and `outputs` outputs."""
    if data.features.shape[1] != inputs:
        _fail(data.source, 1 if data.rows is not None else None, None,
              f"the network takes {plural(inputs, 'input')} but the data has "
              f"{plural(data.features.shape[1], 'feature column')} ({', '.join(data.feature_names)})")
    if data.targets is not None and data.targets.shape[1] != outputs:
        _fail(data.source, 1 if data.rows is not None else None, None,
              f"the network has {plural(outputs, 'output')} but --target names {data.targets.shape[1]} "
              f"{'column' if data.targets.shape[1] == 1 else 'columns'}")
    if data.labels is not None:
        classes = max(outputs, 2)
        outside = np.flatnonzero(data.labels >= classes)
        if outside.size:
            s = int(outside[0])
            why = "one output unit tells class 0 from class 1" if outputs == 1 else f"the network has {outputs} outputs"
            where = (int(data.rows[s]), data.label_column) if data.rows is not None else (None, None)
            _fail(data.source, *where, f"{LABEL_COLUMN}: class {int(data.labels[s])} is outside the classes 0 to "
                                       f"{classes - 1} ({why})")


def training_targets(data: Dataset, outputs: int) -> np.ndarray:
    """The targets the network learns: the label itself for one output, one-hot for several, or the target columns."""
    if data.targets is not None:
        return data.targets
    assert data.labels is not None
    if outputs == 1:
        return data.labels.astype(float)[:, np.newaxis]
    return np.eye(outputs)[data.labels]


def _records(text: str):
    """(line number, cells) of every record; the line is where the record starts."""
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    previous_end = 0
    for row in reader:
        yield previous_end + 1, row
        previous_end = reader.line_num


def _header(source: str, line: int, header: list[str]) -> list[str]:
    names = [cell.strip() for cell in header]
    for c, name in enumerate(names):
        if not name:
            _fail(source, line, c + 1, "empty column name in the header (the first row names the columns, e.g. "
                                       "x1,x2,label)")
        if _is_number(name):
            _fail(source, line, c + 1, f"the first row must be a header naming the columns, got the number {name}")
        if names.index(name) != c:
            _fail(source, line, c + 1, f"column '{name}' is named twice")
    return names


def _target_columns(source: str, line: int, names: list[str], targets: Sequence[str]) -> list[int]:
    index = []
    for name in targets:
        if name not in names:
            _fail(source, line, None, f"--target column '{name}' is not in the header ({', '.join(names)})")
        if name == LABEL_COLUMN:
            _fail(source, line, None, f"'{LABEL_COLUMN}' holds class indices; name regression columns with --target")
        index.append(names.index(name))
    return index


def _number(source: str, line: int, column: int, name: str, cell: str) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        shown = f"the text '{_cut(text)}'" if text else "an empty cell"
        _fail(source, line, column + 1, f"{_cut(name)}: expected a number, got {shown}")
    if not math.isfinite(value):
        _fail(source, line, column + 1, f"{_cut(name)}: expected a finite number, got {_cut(text)}")
    return value


def _label(source: str, line: int, column: int, cell: str) -> int:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value == int(value) and value >= 0):
        shown = f"'{_cut(text)}'" if text else "an empty cell"
        _fail(source, line, column + 1, f"{LABEL_COLUMN}: expected a class index (a whole number 0, 1, 2, ...), "
                                        f"got {shown}")
    return int(value)


def _cut(text: str) -> str:
    """A cell as shown in a message: on one line, at most 30 characters."""
    one_line = text.replace("\r", "\\r").replace("\n", "\\n")
    return one_line if len(one_line) <= 30 else one_line[:27] + "..."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fail(source: str, line: int | None, column: int | None, message: str) -> NoReturn:
    raise DataError(message, source=source, line=line, column=column)
