"""The course's data sets, made exactly as the course's own code makes them.

`linear` and `xor-easy` are the NYCU backpropagation lab's `generate_linear` and `generate_XOR_easy`;
`spirals` is the three-class spiral of the Session 5 notes (X of shape (300, 2), classes 0, 1, 2).
Every set is two features `x1`, `x2` and a class `label`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tutor.errors import UserError, closest

#: The built-in sets, each with what it is (for `data --help`, `train --data` and messages).
DATASETS: dict[str, str] = {
    "linear": "points uniform in [0, 1]^2, label 0 when x1 > x2, else 1 (--n points, --seed)",
    "xor-easy": "the lab's 21 points: (0.1 i, 0.1 i) labelled 0, (0.1 i, 1 - 0.1 i) labelled 1 (i != 5)",
    "spirals": "three interleaved spirals, --n points each, classes 0, 1, 2 (--seed)",
}

#: Defaults of the sets that take them: number of points and seed.
DEFAULT_POINTS = {"linear": 100, "spirals": 100}
DEFAULT_SEED = 0


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Dataset:
    """Features, and either class labels or regression targets, with where they came from."""

    features: np.ndarray  # (m, d)
    labels: np.ndarray | None  # (m,) class indices, or None
    targets: np.ndarray | None  # (m, k) regression targets (CSV --target columns), or None
    feature_names: tuple[str, ...]
    source: str  # a file name, or the set's name
    rows: np.ndarray | None = None  # the file line of each sample (for messages), None for a built-in set
    label_column: int | None = None  # 1-based column of `label` in the file

    @property
    def size(self) -> int:
        return int(self.features.shape[0])

    def subset(self, index: np.ndarray) -> "Dataset":
        """The samples at `index`, in that order."""
        pick = (lambda a: None if a is None else a[index])
        return Dataset(self.features[index], pick(self.labels), pick(self.targets), self.feature_names,
                       self.source, pick(self.rows), self.label_column)


def xor_easy() -> Dataset:
    """The lab's `generate_XOR_easy`: for i = 0..10, (0.1 i, 0.1 i) is 0 and, unless i = 5, (0.1 i, 1 - 0.1 i) is 1.

    The coordinates are the decimals the lab means (i / 10, the double nearest 0.3), not the lab's float noise
    (`0.1 * 3` is 0.30000000000000004, `1 - 0.1 * 9` is 0.09999999999999998): at most one unit in the last place
    away, and written as short as they read.
    """
    points: list[list[float]] = []
    labels: list[int] = []
    for i in range(11):
        points.append([i / 10, i / 10])
        labels.append(0)
        if i == 5:
            continue
        points.append([i / 10, (10 - i) / 10])
        labels.append(1)
    return Dataset(np.array(points), np.array(labels), None, ("x1", "x2"), "xor-easy")


def linear(n: int = DEFAULT_POINTS["linear"], seed: int = DEFAULT_SEED) -> Dataset:
    """The lab's `generate_linear`: n points uniform in [0, 1]^2; label 0 when x1 > x2, else 1."""
    points = np.random.default_rng(seed).uniform(0.0, 1.0, (n, 2))
    labels = np.where(points[:, 0] > points[:, 1], 0, 1)
    return Dataset(points, labels, None, ("x1", "x2"), "linear")


def spirals(n: int = DEFAULT_POINTS["spirals"], seed: int = DEFAULT_SEED, classes: int = 3) -> Dataset:
    """The Session 5 spirals: class j has n points at radius r in [0, 1] and angle 4 (j + r) plus N(0, 0.2^2) noise."""
    rng = np.random.default_rng(seed)
    radius = np.linspace(0.0, 1.0, n)
    blocks = []
    for j in range(classes):
        angle = np.linspace(4.0 * j, 4.0 * (j + 1), n) + rng.standard_normal(n) * 0.2
        blocks.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
    labels = np.repeat(np.arange(classes), n)
    return Dataset(np.vstack(blocks), labels, None, ("x1", "x2"), "spirals")


def make_dataset(name: str, n: int | None = None, seed: int | None = None) -> Dataset:
    """A built-in set by name; `n` and `seed` apply to the sets that take them."""
    if name not in DATASETS:
        raise UserError(f"unknown data set '{name}'{closest(name, list(DATASETS))} (choose from "
                        f"{', '.join(DATASETS)}, or give a CSV file)")
    if n is not None and name not in DEFAULT_POINTS:
        raise UserError(f"{name} has a fixed number of points; --n applies to {', '.join(DEFAULT_POINTS)}")
    if n is not None and n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    seed = DEFAULT_SEED if seed is None else seed
    if name == "xor-easy":
        return xor_easy()
    if name == "linear":
        return linear(n or DEFAULT_POINTS[name], seed)
    return spirals(n or DEFAULT_POINTS[name], seed)


def to_csv(dataset: Dataset) -> str:
    """The set as CSV text: a header, then one row per sample; numbers in their shortest exact form."""
    header = list(dataset.feature_names)
    columns = [dataset.features]
    if dataset.targets is not None:
        header += [f"t{k + 1}" for k in range(dataset.targets.shape[1])]
        columns.append(dataset.targets)
    lines = [",".join(header + (["label"] if dataset.labels is not None else []))]
    for s in range(dataset.size):
        cells = [_shortest(v) for block in columns for v in block[s]]
        if dataset.labels is not None:
            cells.append(str(int(dataset.labels[s])))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _shortest(value: float) -> str:
    """The shortest decimal that reads back to the same double: 0.3, 1, 0.7853981633974483, 1e-05."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
