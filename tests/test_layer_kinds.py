"""Every layer kind is one file that owns everything about it, and each works everywhere: solve (text and
JSON), the quiz (a whole sheet through --answers), template and grade. Batch norm's and dropout's numbers
are checked against a numpy version written out here, the engine's gradients of random networks of every
kind against central finite differences, and gradient clipping against its definition (PyTorch itself in
tests/test_layer_torch.py)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import PROBLEMS, ROOT
from tests.layer_nets import BN_DROPOUT, IMAGES_AVGPOOL, by_hand, random_network
from tests.test_grader import assert_diagnosed
from tutor.engine.step import run_step
from tutor.errors import ProblemError
from tutor.model.clipping import Clipping
from tutor.model.layers import LAYERS
from tutor.problem.loader import parse_problem
from tutor.solver import solve
from tutor.teach.grader import Grader

#: Problems with every kind of layer (bundled, and the one worked by hand in tests/layer_nets.py).
EXAMPLES = {path.stem: path.read_text() for path in sorted(PROBLEMS.glob("*.yaml"))} | {"bn-dropout": BN_DROPOUT,
                                                                                   "images-avgpool": IMAGES_AVGPOOL}


def _kinds_of(text: str) -> set[str]:
    problem = parse_problem(text)
    return {layer.kind for layer in problem.layers}


def _example_with(kind: str) -> tuple[str, str]:
    """A problem with a layer of this kind: a new kind needs one (a bundled problem, or one in EXAMPLES)."""
    for name, text in EXAMPLES.items():
        if kind in _kinds_of(text):
            return name, text
    raise AssertionError(f"no example problem has a layer of type {kind}: add one")


# -- one file per kind ------------------------------------------------------------------------------------


def _own_files(kind: str) -> set[Path]:
    return {Path(__import__(LAYERS[kind].__module__, fromlist=["_"]).__file__).resolve()}


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_no_module_outside_its_own_file_names_a_layer_kind(kind):
    pattern = re.compile(rf"""["']{kind}["']""")
    for path in (ROOT / "tutor").rglob("*.py"):
        if path.resolve() in _own_files(kind):
            continue
        found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for n, line in
                 enumerate(path.read_text().splitlines(), start=1) if pattern.search(line.split("#")[0])]
        assert not found, "\n".join(found)


def test_nothing_asks_for_a_kind_by_default_or_rederives_images():
    for path in (ROOT / "tutor").rglob("*.py"):
        text = path.read_text()
        assert 'getattr(layer, "kind"' not in text and "getattr(spec, \"kind\"" not in text, path
        if path.name != "validated.py":  # Problem.images is the one place
            assert "inputs.ndim == 4" not in text, path


# -- every kind through every command ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_every_layer_kind_through_solve_json_template_quiz_and_grade(kind, invoke, tmp_path):
    name, text = _example_with(kind)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    shown = invoke("solve", str(path), "--format", "plain")
    assert shown.exit_code == 0, shown.output
    assert "Traceback" not in shown.output
    data = json.loads(invoke("solve", str(path), "--format", "json").stdout)
    layers = [layer for layer in data["layers"] if layer["kind"] == kind]
    assert layers
    trace = solve(parse_problem(text))
    for l, layer in enumerate(data["layers"], start=1):
        assert "out" in layer and "dloss_dinput" in layer
        for param in trace.parameter_values(l):
            assert f"grad_{param}" in layer and f"new_{param}" in layer
    values = {q["key"]: q["value"] for q in data["quantities"]}
    template = invoke("template", str(path))
    assert template.exit_code == 0, template.output
    keys = [line.split(":")[0] for line in template.stdout.splitlines() if line and not line.startswith("#")]
    assert set(keys) == set(values)
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text("".join(f"'{key}': {values[key]!r}\n" for key in keys))
    graded = json.loads(invoke("grade", str(path), str(sheet), "--format", "json").stdout)
    assert graded["score"] == graded["max_score"] if "score" in graded else True
    verdicts = {r["verdict"] for r in _results(graded)}
    assert verdicts == {"correct"}, verdicts
    quiz = json.loads(invoke("quiz", str(path), "--answers", str(sheet), "--format", "json",
                             "--db", str(tmp_path / "db.sqlite")).stdout)
    assert {r["verdict"] for r in quiz["results"]} == {"correct"}


def _results(graded: dict) -> list[dict]:
    if "results" in graded:
        return graded["results"]
    (sheet,) = graded["sheets"]
    return sheet["results"]


# -- batch norm and dropout, worked by hand ---------------------------------------------------------------


@pytest.fixture(scope="module")
def bn():
    return solve(parse_problem(BN_DROPOUT)), by_hand()


def test_batchnorm_forward_by_hand(bn):
    trace, h = bn
    for j in (1, 2):
        assert trace[f"mu2_{j}"].value == pytest.approx(h["mu"][j - 1], rel=1e-13)
        assert trace[f"var2_{j}"].value == pytest.approx(h["var"][j - 1], rel=1e-13)
        for s in (1, 2, 3):
            assert trace[f"x_hat2_{j}@{s}"].value == pytest.approx(h["x_hat"][s - 1, j - 1], rel=1e-12, abs=1e-15)
            assert trace[f"net2_{j}@{s}"].value == pytest.approx(h["y"][s - 1, j - 1], rel=1e-12, abs=1e-15)
            assert trace[f"out3_{j}@{s}"].value == pytest.approx(h["a3"][s - 1, j - 1], rel=1e-12, abs=1e-15)
    assert trace["var2_1"].substituted(lambda v: f"{v:g}").startswith("((")
    assert "biased" in trace["var2_1"].note


def test_batchnorm_backward_by_hand(bn):
    trace, h = bn
    for j in (1, 2):
        assert trace[f"dL_dvar2_{j}"].value == pytest.approx(h["dvar"][j - 1], rel=1e-12, abs=1e-15)
        assert trace[f"dL_dmu2_{j}"].value == pytest.approx(h["dmu"][j - 1], rel=1e-12, abs=1e-15)
        for s in (1, 2, 3):
            assert trace[f"dL_dx_hat2_{j}@{s}"].value == pytest.approx(h["dx_hat"][s - 1, j - 1], abs=1e-15)
            dx = trace[f"dL_dout1_{j}@{s}"]
            assert dx.value == pytest.approx(h["dz1"][s - 1, j - 1], rel=1e-12, abs=1e-15)
            assert dx.note.startswith("compact: gamma / (m * sqrt(var + eps))")
            compact = float(dx.note.rsplit("= ", 1)[1])  # the compact form's own number agrees
            assert compact == pytest.approx(dx.value, rel=1e-5, abs=1e-6)
            assert trace[f"dL_dout2_{j}@{s}"].value == pytest.approx(h["da2"][s - 1, j - 1], abs=1e-15)
    delta = h["dx_hat"] / h["gamma"]
    assert trace["dL_dgamma2_1"].value == pytest.approx((delta[:, 0] * h["x_hat"][:, 0]).sum() / 3, abs=1e-15)
    assert trace["dL_dbeta2_2"].value == pytest.approx(delta[:, 1].sum() / 3, abs=1e-15)
    assert trace["new_gamma2_1"].value == pytest.approx(1.5 - 0.1 * trace["dL_dgamma2_1"].value)


def test_dropout_by_hand(bn):
    trace, h = bn
    assert trace["out3_2@1"].value == 0 and trace["out3_2@1"].note == "dropped: 0"
    assert trace["out3_1@2"].value == pytest.approx(h["a2"][1, 0] / 0.75)
    assert trace["dL_dout2_2@1"].value == 0 and "no gradient" in trace["dL_dout2_2@1"].note
    assert trace["dL_dout2_1@2"].value == pytest.approx(h["da3"][1, 0] / 0.75)


def test_dropout_is_off_when_predicting_and_draws_masks_in_training():
    problem = parse_problem(BN_DROPOUT)
    layer = run_step(problem).layers[2].layer
    x = np.ones((3, 2))
    assert np.array_equal(layer.in_prediction().forward(x, {})[0], x)
    training = layer.in_training(np.random.default_rng(0))
    first, second = training.forward(x, {})[0], training.forward(x, {})[0]
    assert set(np.unique(first)) <= {0.0, 1 / 0.75} and not np.array_equal(first, second)


#: mistake -> (key, the wrong answer), on BN_DROPOUT (worked by hand in tests/layer_nets.py).
def _sheets() -> dict[str, tuple[str, float]]:
    h = by_hand()
    return {
        "batchnorm_unbiased_variance": ("var2_1", float(((h["z1"][:, 0] - h["mu"][0]) ** 2).sum() / 2)),
        "batchnorm_eps_omitted": ("x_hat2_1@1", float((h["z1"][0, 0] - h["mu"][0]) / np.sqrt(h["var"][0]))),
        "batchnorm_statistics_paths_dropped": ("dL_dout1_1@2", float(h["dx_hat"][1, 0] / np.sqrt(h["var"][0] + 0.1))),
        "dropout_scale_forgotten": ("out3_1@2", float(h["a2"][1, 0])),
        "dropout_gradient_through_dropped": ("dL_dout2_2@1", float(h["da3"][0, 1] / 0.75)),
    }


LAYER_MISTAKE_SHEETS = _sheets()


@pytest.mark.parametrize("mistake", sorted(LAYER_MISTAKE_SHEETS))
def test_each_layer_mistake_is_diagnosed_by_the_grader(mistake, bn):
    trace, _ = bn
    key, value = LAYER_MISTAKE_SHEETS[mistake]
    assert value != pytest.approx(trace[key].value)
    assert_diagnosed(trace, key, value, mistake)


def test_a_students_own_variance_follows_through_to_x_hat(bn):
    trace, h = bn
    var = 0.3  # a slip: the variance is 0.290556
    x_hat = float((h["z1"][0, 0] - h["mu"][0]) / np.sqrt(var + 0.1))  # written as a plain number
    rows = {r.key: r for r in Grader(trace).grade_text(f"'var2_1': {var}\n'x_hat2_1@1': {x_hat!r}\n").results}
    assert rows["var2_1"].verdict == "wrong"
    assert rows["x_hat2_1@1"].verdict == "follow_through"  # never "correct"


# -- random networks: finite differences and clipping -----------------------------------------------------


def _loss(problem, layers_params, x):
    from tutor.engine.step import forward_loss, network

    return forward_loss(dataclasses.replace(problem, inputs=x), network(problem), layers_params)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("images,samples", [(False, 3), (True, 2), (True, 1)])
def test_random_networks_against_finite_differences(seed, images, samples):
    problem = parse_problem(json.dumps(random_network(seed + 50, images=images, samples=samples)))
    step = run_step(problem)
    params = [dict(ls.params) for ls in step.layers]
    h, m = 1e-6, problem.samples
    for l, ls in enumerate(step.layers):
        for name, value in ls.params.items():
            for index in list(np.ndindex(*value.shape))[:6]:
                plus, minus = [dict(p) for p in params], [dict(p) for p in params]
                for sign, copy in ((1, plus), (-1, minus)):
                    array = value.copy()
                    array[index] += sign * h
                    copy[l][name] = array
                fd = (_loss(problem, plus, problem.inputs) - _loss(problem, minus, problem.inputs)) / (2 * h)
                assert ls.grads[name][index] == pytest.approx(fd, rel=1e-5, abs=1e-7), (l, name, index)
    x = problem.inputs
    for index in list(np.ndindex(*x.shape))[::3]:
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        fd = (_loss(problem, params, plus) - _loss(problem, params, minus)) / (2 * h)
        # each sample's gradient is scaled to the batch: m * dL/dx
        assert step.layers[0].dloss_dinput[index] == pytest.approx(m * fd, rel=1e-5, abs=1e-7), index


@pytest.mark.parametrize("clipping", [Clipping(max_norm=0.05), Clipping(max_value=0.02), Clipping(max_norm=100.0)])
def test_clipping_by_its_definition(clipping):
    problem = parse_problem(json.dumps(random_network(3, images=False, samples=3)))
    plain, clipped = run_step(problem), run_step(dataclasses.replace(problem, clipping=clipping))
    grads = [g for ls in plain.layers for g in ls.grads.values()]
    norm = np.sqrt(sum(float((g ** 2).sum()) for g in grads))
    for before, after in zip(plain.layers, clipped.layers):
        for name, g in before.grads.items():
            assert np.array_equal(after.grads[name], g)  # the step reports the gradients before clipping
            if clipping.max_norm is not None:
                coef = min(1.0, clipping.max_norm / (norm + 1e-6))
                expected = g * coef
            else:
                expected = np.clip(g, -clipping.max_value, clipping.max_value)
            np.testing.assert_allclose(after.new_params[name], before.params[name] - 0.1 * expected, rtol=1e-13)
    if clipping.max_norm is not None:
        assert clipped.clipped.norm == pytest.approx(norm, rel=1e-13)
        trace = solve(dataclasses.replace(problem, clipping=clipping))
        assert trace["clip_norm"].value == pytest.approx(norm, rel=1e-13)
        assert trace["clip_coef"].value == pytest.approx(min(1.0, clipping.max_norm / (norm + 1e-6)), rel=1e-13)
        assert trace["new_w1_1_1"].gradient.key == "clip_dL_dw1_1_1"


# -- the problem file ---------------------------------------------------------------------------------------


BAD = [
    ("gamma: [1.5, 0.8]", "gamma: [1.5]", "layers[1].gamma", "expected 2 numbers"),
    ("eps: 0.1", "eps: 0", "layers[1].eps", "must be positive, got 0"),
    ("    activation: relu\n  - type: dropout", "    activation: softmax\n  - type: dropout", "layers[1].activation",
     "softmax is not elementwise"),
    ("p: 0.25", "p: 1", "layers[2].p", "must be at least 0 and below 1, got 1"),
    ("mask: [[1, 0], [1, 1], [0, 1]]", "mask: [[1, 0], [1, 1]]", "layers[2].mask", "for each of the 3 samples"),
    ("mask: [[1, 0], [1, 1], [0, 1]]", "mask: [[1, 0], [1, 2], [0, 1]]", "layers[2].mask", "0 (dropped) or 1 (kept)"),
    ("mask: [[1, 0], [1, 1], [0, 1]]", "mask: [[1, 0, 1], [1, 1, 1], [0, 1, 1]]", "layers[2].mask",
     "shaped like the layer's input (2)"),
    ("learning_rate: 0.1", "learning_rate: 0.1\ngradient_clipping: {max_norm: -1}", "gradient_clipping.max_norm",
     "must be positive, got -1"),
    ("learning_rate: 0.1", "learning_rate: 0.1\ngradient_clipping: {max_norm: 1, max_value: 1}", "gradient_clipping",
     "got both"),
    ("learning_rate: 0.1", "learning_rate: 0.1\ngradient_clipping: {max_nrom: 1}", "gradient_clipping.max_nrom",
     "did you mean 'max_norm'"),
    ("type: batchnorm", "type: batchnrom", "layers[1].type", "did you mean 'batchnorm'"),
]


@pytest.mark.parametrize("old, new, field, message", BAD, ids=[b[2] + ":" + b[3][:20] for b in BAD])
def test_bad_layer_entries_are_located(old, new, field, message):
    assert old in BN_DROPOUT
    with pytest.raises(ProblemError) as info:
        parse_problem(BN_DROPOUT.replace(old, new, 1), source="p.yaml")
    assert info.value.field == field and message in str(info.value), str(info.value)
    assert info.value.line is not None


def test_the_bundled_image_batch_has_everything():
    problem = parse_problem((PROBLEMS / "cnn-batch-3x4.yaml").read_text())
    assert problem.batch and problem.samples == 2 and problem.images
    assert [layer.kind for layer in problem.layers] == ["conv2d", "batchnorm", "maxpool", "flatten", "dropout", "dense"]
    assert problem.optimizer.name == "adam"
    trace = solve(problem)
    assert trace["mu2_1"].value == pytest.approx(trace.step.layers[0].out.mean())
    assert "m_w1_1_1_1_1" in trace and "m_gamma2_1" in trace


def test_problem_files_name_their_kinds_in_yaml():
    for path in sorted(PROBLEMS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        assert all(layer.get("type", "dense") in LAYERS for layer in data["layers"])
