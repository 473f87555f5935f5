"""Every worked solution fits 60 and 80 columns: tables wrap or stack, and long headings (an activation's
derivative formula, an optimizer's options) wrap."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.problem.bundled import bundled_problems

ROOT = Path(__file__).resolve().parent.parent

#: Mazur's net with a swish hidden layer and a gelu output layer: the longest activation formulas.
SWISH_GELU = (ROOT / "problems" / "mazur-2-2-2.yaml").read_text() \
    .replace("activation: sigmoid", "activation: {name: swish, beta: 1.5}", 1) \
    .replace("activation: sigmoid", "activation: gelu", 1)


def _too_long(runner, args: list[str], width: int) -> list[str]:
    from tutor.cli.app import app

    env = {"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "dumb"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.split("\n") if len(line) > width]


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("fmt", ["text", "plain"])
@pytest.mark.parametrize("path", bundled_problems(), ids=lambda p: p.stem)
def test_every_bundled_solution_fits(runner, monkeypatch, path, fmt, width):
    monkeypatch.chdir(ROOT)
    steps = [] if "graph:" in path.read_text() and "parameters:" not in path.read_text() else ["--steps", "3"]
    too_long = _too_long(runner, ["solve", str(path), "-f", fmt, *steps], width)
    assert not too_long, too_long[:3]


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("fmt", ["text", "plain"])
def test_a_swish_and_gelu_solution_fits(runner, tmp_path, monkeypatch, fmt, width):
    monkeypatch.chdir(tmp_path)  # a short path: a path longer than the width is never split
    (tmp_path / "swish-gelu.yaml").write_text(SWISH_GELU)
    result = _too_long(runner, ["solve", "swish-gelu.yaml", "-f", fmt, "--steps", "3"], width)
    assert not result, result[:3]


def test_the_swish_and_gelu_headings_are_long_enough_to_wrap(runner, tmp_path):
    from tutor.cli.app import app

    path = tmp_path / "swish-gelu.yaml"
    path.write_text(SWISH_GELU)
    out = runner.invoke(app, ["solve", str(path)], env={"COLUMNS": "60", "NO_COLOR": "1"}).stdout
    gelu = next(n for n, line in enumerate(out.split("\n")) if line.startswith("Layer 2: deltas (gelu"))
    swish = next(n for n, line in enumerate(out.split("\n")) if line.startswith("Layer 1: deltas (swish"))
    lines = out.split("\n")
    assert lines[gelu + 1].startswith("/ 2 + net * exp(-net^2 / 2)")  # the heading goes on, wrapped
    assert lines[swish + 1].strip().endswith("))")
