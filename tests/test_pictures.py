"""Pictures of a step (draw, and the HTML solution's figure): every SVG parses and shows every neuron with its
net input and output, every weight on its edge, and with --backward every delta and gradient."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import BUNDLED, BUNDLED_GRAPHS, STABLE_ENV
from tutor.cli.app import app
from tutor.solver import solve
from tutor.views.svg import draw_scene, to_svg
from tutor.views.text import as_written, number_formatter

SVG = "{http://www.w3.org/2000/svg}"
NAMES = [p.stem for p in BUNDLED]


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("backward", [False, True])
def test_every_svg_parses_and_shows_every_weight_and_neuron(name, backward):
    trace = solve(name)
    texts = _texts(to_svg(draw_scene(trace, backward=backward)))
    joined = "\n".join(texts)
    fmt = number_formatter(4)
    problem = trace.problem
    if problem.inputs.ndim == 4:  # grids: every weight and every output of sample 1, and the input image
        for q in trace.select(("filter_new", "new_weight"), None):
            assert as_written(q.parameter.value) in texts
        for q in trace.select(("map_out", "out"), None):
            assert fmt(q.value) in texts, q.key
        if backward:
            for q in trace.select(("map_delta", "delta", "filter_grad", "grad_weight"), None):
                assert fmt(q.value) in texts, q.key
        return
    for q in trace.select(("new_weight",), None):
        assert f"{q.parameter.symbol} = {as_written(q.parameter.value)}" in texts
        assert (f"grad {fmt(q.gradient.value)}" in texts) == backward
    for l, names in enumerate(problem.notation.neurons, start=1):
        for j, neuron in enumerate(names, start=1):
            assert neuron in texts
            assert f"net {fmt(trace[trace.key_for('net', l, j, sample=1)].value)}" in texts
            assert f"out {fmt(trace[trace.key_for('out', l, j, sample=1)].value)}" in texts
            if backward:
                assert f"delta {fmt(trace[trace.key_for('delta', l, j, sample=1)].value)}" in texts
    for name_ in problem.notation.inputs:
        assert name_ in texts
    assert problem.name in joined


def test_mazur_picture_values():
    texts = _texts(to_svg(draw_scene(solve("mazur-2-2-2"), backward=True)))
    assert {"w5 = 0.4", "net 1.106", "out 0.7514", "delta 0.1385", "grad 0.08217", "b1 = 0.35"} <= set(texts)


def test_a_batch_shows_the_chosen_sample():
    trace = solve("fish-2-4-3")
    texts = _texts(to_svg(draw_scene(trace, sample=3)))
    fmt = number_formatter(4)
    assert f"out {fmt(trace['out2_1@3'].value)}" in texts
    assert any("sample 3 of 4" in t for t in texts)


def test_draw_command(runner, tmp_path):
    target = tmp_path / "net.svg"
    result = runner.invoke(app, ["draw", "mazur-2-2-2", "--backward", "-o", str(target)], env=STABLE_ENV)
    assert result.exit_code == 0 and result.stdout == f"wrote {target}\n"
    assert "grad 0.08217" in _texts(target.read_text(encoding="utf-8"))
    shown = runner.invoke(app, ["draw", "mlp-2-2-1"], env=STABLE_ENV)
    assert shown.exit_code == 0 and shown.stdout.startswith("<svg")
    bad = runner.invoke(app, ["draw", "fish-2-4-3", "--sample", "9"], env=STABLE_ENV)
    assert bad.exit_code == 2 and bad.stderr == "error: --sample must be from 1 to 4 (this problem has 4 samples)\n"
    png = runner.invoke(app, ["draw", "mlp-2-2-1", "--format", "png"], env=STABLE_ENV)
    assert png.exit_code == 2 and "--format png needs --output FILE" in png.stderr


def test_draw_png(runner, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "net.png"
    result = runner.invoke(app, ["draw", "cnn-4x4", "--format", "png", "--backward", "-o", str(target)],
                           env=STABLE_ENV)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_largest_generated_layer_is_drawn(runner, tmp_path):
    big = tmp_path / "big.yaml"
    made = runner.invoke(app, ["new", "--seed", "1", "--shape", "2-10-1", "-o", str(big)], env=STABLE_ENV)
    assert made.exit_code == 0
    assert runner.invoke(app, ["draw", str(big)], env=STABLE_ENV).exit_code == 0


def test_a_problem_without_layers_is_refused_with_a_message():
    from types import SimpleNamespace

    from tutor.errors import UserError

    with pytest.raises(UserError, match="draw pictures networks of layers or computational graphs; this problem is "
                                        "neither"):
        draw_scene(SimpleNamespace(problem=SimpleNamespace(layers=())))


@pytest.mark.parametrize("path", BUNDLED_GRAPHS, ids=lambda p: p.stem)
def test_a_graph_is_drawn_as_its_circuit(path):
    trace = solve(path)
    fmt = number_formatter(4)
    texts = _texts(to_svg(draw_scene(trace, backward=True)))
    for node in trace.problem.nodes:
        assert node.name in texts
        if not node.is_leaf:
            assert node.op in texts
        shown = as_written(trace.values[node.name]) if node.is_leaf else fmt(trace.values[node.name])
        assert shown in texts, node.name  # the value its wires carry
        for gate in trace.consumers(node.name):  # the gradient back along each wire
            key = trace.contribution_key(gate, node.name) if trace.fans_out(node.name) else trace.grad_key(node.name)
            assert f"grad {fmt(trace[key].value)}" in texts, (node.name, gate)
    assert not any(t.startswith("grad ") for t in _texts(to_svg(draw_scene(trace))))


def test_cs231n_circuit_values():
    texts = _texts(to_svg(draw_scene(solve(BUNDLED_GRAPHS[0]), backward=True)))
    assert {"-2", "5", "-4", "3", "-12", "grad -4", "grad 3", "grad 1"} <= set(texts)
