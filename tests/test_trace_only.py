"""Views and teaching read only the trace: its named quantities and named data, never engine arrays or the
positions of terms in a formula; and that named data agrees with the quantities."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from tutor.engine.step import LayerStep, Step
from tutor.problem.bundled import find_problem
from tutor.problem.loader import load_problem
from tutor.solver import solve

ROOT = Path(__file__).resolve().parent.parent
READERS = sorted([*(ROOT / "tutor" / "views").rglob("*.py"), *(ROOT / "tutor" / "teach").rglob("*.py")])

#: The engine's own field names (those with an underscore: `net`, `out` or `weights` are common words).
ENGINE_FIELDS = sorted({f.name for cls in (LayerStep, Step) for f in fields(cls) if "_" in f.name})
FORBIDDEN = [
    (r"formula\s*\[", "indexes a formula's terms by position"),
    (r"\btrace\.step\b|\.step\.layers\b", "reads the engine's step"),
    (r"\bLayerStep\b|\btutor\.engine\.step\b", "uses the engine's step"),
    (r"\.(" + "|".join(ENGINE_FIELDS) + r")\b", "reads an engine array"),
]


def test_the_scan_knows_the_engine_fields():
    assert {"grad_weights", "new_biases", "dloss_dout", "update_values", "loss_shares"} <= set(ENGINE_FIELDS)
    assert len(READERS) > 10


@pytest.mark.parametrize("path", READERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_views_and_teaching_read_only_the_trace(path: Path):
    found = [f"{path.name}:{n}: {why}: {line.strip()}"
             for n, line in enumerate(path.read_text().splitlines(), start=1)
             for pattern, why in FORBIDDEN if re.search(pattern, line.split("#")[0])]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", ["mazur-2-2-2", "ex02-3-3-2-2", "mazur-adam-2-2-2", "mazur-momentum-2-2-2"])
def test_update_quantities_name_their_parameter_and_gradient(name):
    problem = load_problem(find_problem(name))
    trace = solve(problem)
    updates = [q for q in trace if q.kind.startswith("opt_") or q.kind in ("new_weight", "new_bias")]
    assert updates
    for q in updates:
        spec = problem.layers[q.layer - 1]
        if q.i is not None:
            assert q.parameter.value == spec.weights[q.j - 1, q.i - 1]
            assert q.gradient.key == trace.key_for("grad_weight", q.layer, q.j, q.i)
        else:
            assert q.parameter.value == spec.biases[0 if q.j is None else q.j - 1]
            assert q.gradient.key == trace.key_for("grad_bias", q.layer, q.j)
        assert q.parameter.key is None  # a given number
        assert q.gradient.value == trace[q.gradient.key].value
    assert all(q.parameter is None and q.gradient is None for q in trace if q not in updates)


@pytest.mark.parametrize("name", ["mazur-2-2-2", "ex02-3-3-2-2"])
def test_layer_values_are_the_quantities(name):
    trace = solve(load_problem(find_problem(name)))
    for l in range(1, len(trace.problem.layers) + 1):
        values = trace.layer_values(l)
        for q in trace.select(("net", "out", "dloss_dout", "dout_dnet", "delta"), l):
            assert values[q.kind][(q.sample or 1) - 1, q.j - 1] == q.value
        for q in trace.select(("grad_weight", "new_weight"), l):
            assert values[q.kind][q.j - 1, q.i - 1] == q.value
        for q in trace.select(("grad_bias", "new_bias"), l):
            assert values[q.kind][0 if q.j is None else q.j - 1] == q.value
        with pytest.raises(ValueError):
            values["net"][0, 0] = 1.0  # read-only
        assert isinstance(values["grad_weight"], np.ndarray)
