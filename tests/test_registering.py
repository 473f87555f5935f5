"""Registering an activation or a loss is all it takes: swish, gelu and huber are each one file in
tutor/model/ (plus their line in the registry), and they appear in the help, the loader's validation,
the worked solution, the quiz and the problem generator without any other module naming them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tutor.errors import ProblemError
from tutor.problem.loader import parse_problem
from tutor.solver import solve

NEW_ONES = ("swish", "gelu", "huber")

PROBLEM = """\
inputs: [0.5, -0.2]
targets: [0.3, 2.5]
layers:
  - weights: [[0.1, 0.2], [0.3, -0.4]]
    biases: [0.1, 0.2]
    activation: {name: swish, beta: 1.5}
  - weights: [[0.5, 0.6], [0.7, 0.8]]
    biases: 0.1
    activation: gelu
loss: {name: huber, delta: 0.5}
learning_rate: 0.1
"""


def test_no_module_outside_the_model_names_them():
    for path in (ROOT / "tutor").rglob("*.py"):
        if "model" in path.relative_to(ROOT / "tutor").parts:
            continue
        text = path.read_text()
        for name in NEW_ONES:
            assert not re.search(rf"\b{name}\b", text), f"{path} names {name}"


def test_the_name_lookups_are_gone():
    """What an activation or loss is lives in its object: nothing outside tutor/model asks for one by name."""
    pattern = re.compile(r"(activation|loss|act|output)\.name (==|!=|in|not in) |"
                         r"\"(sigmoid|softmax|cross_entropy|bce)\" *(==|!=|in)")
    for path in (ROOT / "tutor").rglob("*.py"):
        assert not pattern.search(path.read_text()), path


def test_they_appear_in_the_help(invoke):
    result = invoke("new", "--help")
    text = " ".join(result.stdout.replace("\u2502", " ").split())  # the help's box drawn with │
    assert "softplus, swish or gelu." in text  # hidden activations: softmax is for output layers only
    assert "cross_entropy or huber." in text
    assert "swish: net * sigmoid(beta * net)" in text and "huber: squared error near the target" in text


def test_the_loader_validates_their_parameters():
    problem = parse_problem(PROBLEM, source="p.yaml")
    assert problem.layers[0].activation.params == {"beta": 1.5}
    assert problem.loss.describe() == "huber(delta=0.5)"
    assert parse_problem(PROBLEM.replace("{name: huber, delta: 0.5}", "huber")).loss.params == {"delta": 1.0}
    for old, new, field, message in [
        ("beta: 1.5", "beta: 0", "layers[0].activation.beta", "must be positive, got 0"),
        ("delta: 0.5", "delta: -1", "loss.delta", "must be positive, got -1"),
        ("delta: 0.5", "beta: 1", "loss.beta", "unknown key; did you mean 'delta'? (allowed: name, delta)"),
        ("{name: swish, beta: 1.5}", "{name: gelu, beta: 1}", "layers[0].activation.beta",
         "gelu does not take 'beta' (it takes no parameters)"),
    ]:
        with pytest.raises(ProblemError) as info:
            parse_problem(PROBLEM.replace(old, new), source="p.yaml")
        assert info.value.field == field and message in str(info.value)


def test_they_appear_in_the_worked_solution(invoke, tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(PROBLEM)
    result = invoke("solve", str(path))
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "= swish(beta=1.5)(0.11)" in text and "= gelu(0.298981)" in text
    assert "= sigmoid(1.5 * 0.11) * (1 + 1.5 * 0.11 * (1 - sigmoid(1.5 * 0.11)))" in text
    assert "= max(-0.5, min(0.5, 0.236279 - 2.5))" in text  # the clipped gradient: -0.5


def test_the_quiz_asks_their_quantities(invoke, tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(PROBLEM)
    trace = solve(parse_problem(PROBLEM, source=str(path)))
    right = trace["dout_dnet1_1"].value
    result = invoke("quiz", str(path), "--only", "dout_dnet1_1", "--format", "json", input=f"{right:.6g}\n")
    assert result.exit_code == 0, result.output
    (only,) = json.loads(result.stdout)["results"]
    assert only["verdict"] == "correct"


@pytest.mark.parametrize("activation, loss", [("swish", "huber"), ("gelu", "half_sse")])
def test_the_generator_makes_problems_with_them(activation, loss):
    from tutor.problem.generate import generate_problem

    text = generate_problem(7, (2, 3, 2), activation, loss)
    problem = parse_problem(text, source="new.yaml")
    assert problem.layers[0].activation.name == activation and problem.loss.name == loss


def test_json_names_the_loss_with_its_parameters(invoke, tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(PROBLEM)
    result = invoke("solve", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["problem"]["loss"] == "huber(delta=0.5)"
    assert [layer["activation"] for layer in data["layers"]] == ["swish(beta=1.5)", "gelu"]
