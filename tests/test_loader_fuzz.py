"""Whatever text it is given, the loader returns a `Problem` or raises `ProblemError`, nothing else."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor.errors import ProblemError
from tutor.problem.validated import Problem
from tutor.problem.loader import parse_problem

MAZUR_TEXT = (Path(__file__).resolve().parent.parent / "problems" / "mazur-2-2-2.yaml").read_text(encoding="utf-8")
MAZUR = yaml.safe_load(MAZUR_TEXT)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
keys = st.text(max_size=12) | st.integers(-3, 3) | st.booleans() | st.none()
structures = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def check_outcome(text: str) -> None:
    """The contract: a validated Problem, or a ProblemError that names the source; never anything else."""
    try:
        result = parse_problem(text, source="fuzz.yaml")
    except ProblemError as e:
        assert e.message
        assert str(e).startswith("fuzz.yaml")
        if e.field is not None:
            assert e.line is not None and e.column is not None, str(e)
        return
    assert isinstance(result, Problem)
    assert result.inputs.ndim == 2 and result.targets.ndim == 2
    assert result.targets.shape == (result.samples, result.shape[-1])


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def places(data: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside `data` (mapping keys and list indices)."""
    found = [path] if path else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += places(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += places(value, (*path, index))
    return found


MAZUR_PLACES = places(MAZUR)


def replaced(data: Any, path: tuple, value: Any) -> Any:
    data = copy.deepcopy(data)
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def test_the_mazur_file_itself_loads():
    check_outcome(MAZUR_TEXT)
    check_outcome(dump(MAZUR))
    assert len(MAZUR_PLACES) > 30


@FUZZ
@given(st.text())
def test_arbitrary_text(text):
    check_outcome(text)


@FUZZ
@given(structures)
def test_arbitrary_yaml_structures(data):
    check_outcome(dump(data))


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(MAZUR)) | st.text(max_size=12), structures, max_size=8))
def test_mappings_with_problem_keys(data):
    check_outcome(dump(data))


@FUZZ
@given(st.sampled_from(MAZUR_PLACES), structures)
def test_mazur_with_one_value_replaced(path, value):
    check_outcome(dump(replaced(MAZUR, path, value)))


@FUZZ
@given(st.sampled_from(MAZUR_PLACES), scalars | st.lists(scalars, max_size=4))
def test_mazur_with_one_value_replaced_by_a_scalar_or_short_list(path, value):
    check_outcome(dump(replaced(MAZUR, path, value)))


@FUZZ
@given(st.sampled_from(MAZUR_PLACES), st.sampled_from(MAZUR_PLACES))
def test_mazur_with_one_value_moved_to_another_place(source, target):
    value = MAZUR
    for step in source:
        value = value[step]
    check_outcome(dump(replaced(MAZUR, target, copy.deepcopy(value))))


@FUZZ
@given(st.integers(0, len(MAZUR_TEXT)), st.integers(0, 40), st.text(max_size=10))
def test_mazur_text_with_a_slice_replaced(start, length, insert):
    check_outcome(MAZUR_TEXT[:start] + insert + MAZUR_TEXT[start + length:])
