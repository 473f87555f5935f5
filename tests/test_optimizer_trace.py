"""Optimizers through the engine and the trace: several steps against an independent implementation, every
optimizer quantity's formula and recomputation, follow-through through the state, `--show-step` and JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.optimizer_cases import MAZUR_BASE
from tests.test_optimizers import REFERENCES
from tutor.engine.step import run
from tutor.problem.loader import parse_problem
from tutor.solver import solve
from tutor.teach.expression import evaluate
from tutor.teach.grader import Grader
from tutor.trace.keys import OPTIMIZER_KINDS, parse_key

#: Mazur's network with its biases updated, so that shared biases get optimizer state too.
UPDATED = MAZUR_BASE.replace("update_biases: false", "update_biases: true")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def mazur_gradients(w1, b1, w2, b2):
    """dE/dW and dE/db of Mazur's network by hand (half squared error, sigmoid layers, shared biases)."""
    x, t = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    h = sigmoid(w1 @ x + b1[0])
    o = sigmoid(w2 @ h + b2[0])
    d2 = (o - t) * o * (1 - o)
    d1 = (w2.T @ d2) * h * (1 - h)
    return np.outer(d1, x), np.array([d1.sum()]), np.outer(d2, h), np.array([d2.sum()]), 0.5 * np.sum((t - o) ** 2)


def reference_run(name: str, options: dict, steps: int, lr_of, update_biases: bool):
    """Mazur's network after `steps` steps of the reference rule; and the loss before each step."""
    params = [np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([0.35]), np.array([[0.40, 0.45], [0.50, 0.55]]),
              np.array([0.60])]
    states = [{} for _ in params]
    losses = []
    for t in range(1, steps + 1):
        *grads, loss = mazur_gradients(*params)
        losses.append(loss)
        for k in range(4):
            if k in (1, 3) and not update_biases:
                continue
            params[k] = REFERENCES[name](params[k], grads[k], states[k], t, lr_of(t), options)
    return params, losses


CASES = [
    ("momentum", {"momentum": 0.9, "form": "pytorch"}, "optimizer: momentum\n"),
    ("momentum", {"momentum": 0.5, "form": "ema"}, "optimizer: {name: momentum, momentum: 0.5, form: ema}\n"),
    ("momentum", {"momentum": 0.7, "form": "classical"},
     "optimizer: {name: momentum, momentum: 0.7, form: classical}\n"),
    ("nesterov", {"momentum": 0.9}, "optimizer: nesterov\n"),
    ("adagrad", {"eps": 1e-10}, "optimizer: adagrad\n"),
    ("rmsprop", {"alpha": 0.99, "eps": 1e-8}, "optimizer: rmsprop\n"),
    ("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, "optimizer: adam\n"),
    ("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.01, "l1": 0.001},
     "optimizer: adam\nweight_decay: 0.01\nl1: 0.001\n"),
    ("adamw", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.01}, "optimizer: adamw\n"),
    ("nadam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "momentum_decay": 0.004}, "optimizer: nadam\n"),
    ("sgd", {"wd": 0.02}, "weight_decay: 0.02\n"),
]


@pytest.mark.parametrize("biases", [False, True], ids=["biases-kept", "biases-updated"])
@pytest.mark.parametrize("name,options,lines", CASES, ids=lambda c: c if isinstance(c, str) else "")
def test_several_steps_match_an_independent_run(name, options, lines, biases):
    text = (UPDATED if biases else MAZUR_BASE) + lines
    result = run(parse_problem(text), steps=4)
    expected, losses = reference_run(name, {"wd": 0.0, "l1": 0.0, **options}, 4, lambda t: 0.5, biases)
    np.testing.assert_allclose(result.history[:4], losses, rtol=1e-12)
    ours = [result.final[0]["weights"], result.final[0]["biases"], result.final[1]["weights"],
            result.final[1]["biases"]]
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)


def test_a_schedule_sets_each_steps_rate():
    text = MAZUR_BASE + "optimizer: adam\nschedule: {name: inverse_time, decay: 0.5}\n"
    result = run(parse_problem(text), steps=5)
    expected, _ = reference_run("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.0, "l1": 0.0}, 5,
                                lambda t: 0.5 / (1 + 0.5 * (t - 1)), False)
    np.testing.assert_allclose(result.final[1]["weights"], expected[2], rtol=1e-12)


@pytest.mark.parametrize("show", [1, 2, 3])
def test_the_shown_step_is_that_step_of_the_run(show):
    problem = parse_problem(MAZUR_BASE + "optimizer: adam\n")
    trace = solve(problem, steps=3, show=show)
    before, _ = reference_run("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.0, "l1": 0.0}, show - 1,
                              lambda t: 0.5, False)
    after, _ = reference_run("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.0, "l1": 0.0}, show,
                             lambda t: 0.5, False)
    assert trace.problem.first_step == show
    np.testing.assert_allclose(trace.problem.layers[1].weights, before[2], rtol=1e-12)
    assert trace["new_w2_1_1"].value == pytest.approx(after[2][0, 0], rel=1e-12)
    assert trace["m_hat_w2_1_1"].formula[-2].value == show  # the t of the bias correction
    assert trace.loss == pytest.approx(trace.history[show - 1], rel=1e-14)


def test_a_file_starting_at_step_t_continues_the_run():
    """Step 3 from the state a two-step run left (written into the file) is step 3 of the run."""
    problem = parse_problem(MAZUR_BASE + "optimizer: adam\n")
    third = solve(problem, steps=3, show=3)
    state = third.problem.optimizer_state
    rows = lambda a: "[" + ", ".join("[" + ", ".join(repr(float(v)) for v in r) + "]" for r in a) + "]"  # noqa: E731
    layers = "".join(f"    - weights: {{m: {rows(s['weights']['m'])}, v: {rows(s['weights']['v'])}}}\n" for s in state)
    weights = ["      - " + rows(layer.weights)[1:-1].replace("], [", "]\n      - [") for layer in third.problem.layers]
    text = (MAZUR_BASE.replace("      - [0.15, 0.20]\n      - [0.25, 0.30]", weights[0])
            .replace("      - [0.40, 0.45]\n      - [0.50, 0.55]", weights[1])
            + "optimizer: adam\noptimizer_state:\n  t: 3\n  layers:\n" + layers)
    assert "0.15, 0.2" not in text
    again = solve(parse_problem(text))
    assert again.problem.first_step == 3
    for q in third:
        assert again[q.key].value == pytest.approx(q.value, rel=1e-12, abs=1e-300), q.key


@pytest.mark.parametrize("lines", [c[2] for c in CASES] + ["optimizer: {name: nadam, momentum_decay: 0.3}\n"])
def test_every_update_quantity_reads_back_and_recomputes(lines):
    """Each optimizer quantity: its substituted formula evaluates to its value, and `compute` from its
    dependencies gives it; every dependency comes first."""
    trace = solve(parse_problem(UPDATED + lines), steps=2, show=2)
    seen: set[str] = set()
    checked = 0
    for q in trace:
        seen.add(q.key)
        if q.kind not in (*OPTIMIZER_KINDS, "new_weight", "new_bias"):
            continue
        assert all(d in seen for d in q.depends_on), q.key
        assert parse_key(q.key).kind == q.kind
        shown = q.substituted(lambda v: repr(float(v)))
        assert evaluate(shown) == pytest.approx(q.value, rel=1e-9, abs=1e-15), (q.key, shown)
        assert q.compute(*(trace[d].value for d in q.depends_on)) == pytest.approx(q.value, rel=1e-13, abs=1e-300)
        checked += 1
    assert checked >= 12


def test_follow_through_carries_through_the_optimizer_state():
    trace = solve(parse_problem(MAZUR_BASE + "optimizer: adam\n"))
    g5 = trace["dL_dw2_1_1"].value
    m = 0.1 * g5 * 1.5  # a slip in m
    m_hat = m / (1 - 0.9)
    step = 0.5 * m_hat / (float(np.sqrt(trace["v_hat_w2_1_1"].value)) + 1e-8)
    sheet = f"m_w2_1_1: {m!r}\nm_hat_w2_1_1: {m_hat!r}\nstep_w2_1_1: {step!r}\nnew_w2_1_1: {0.4 - step!r}\n"
    rows = {r.key: r.verdict for r in Grader(trace).grade_text(sheet).results if r.verdict != "missing"}
    assert rows == {"m_w2_1_1": "wrong", "m_hat_w2_1_1": "follow_through", "step_w2_1_1": "follow_through",
                    "new_w2_1_1": "follow_through"}


def test_labels_and_descriptions_name_the_parameter():
    trace = solve(parse_problem(MAZUR_BASE + "optimizer: adam\n"))
    assert trace.resolve("m_hat(w5)") == "m_hat_w2_1_1"
    from tutor.trace.labels import describe

    assert describe(trace, trace["v_w1_2_1"]) == (
        "the second moment, a running mean of the squared gradient for w3 (adam)")


def test_json_has_the_final_parameters_and_the_optimizer(invoke, tmp_path):
    path = tmp_path / "adam.yaml"
    path.write_text(MAZUR_BASE + "optimizer: adam\n")
    result = invoke("solve", str(path), "--steps", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected, losses = reference_run("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.0, "l1": 0.0}, 3,
                                     lambda t: 0.5, False)
    final = data["final"]["layers"]
    np.testing.assert_allclose(final[0]["weights"], expected[0], rtol=1e-12)
    np.testing.assert_allclose(final[1]["weights"], expected[2], rtol=1e-12)
    assert final[0]["biases"] == 0.35  # a shared bias is one number, and kept
    assert data["optimizer"]["name"] == "adam" and data["optimizer"]["t"] == 1
    np.testing.assert_allclose(data["history"][:3], losses, rtol=1e-12)
    kinds = {q["kind"] for q in data["quantities"]}
    assert {"opt_m", "opt_v", "opt_m_hat", "opt_v_hat", "opt_step"} <= kinds


def test_show_step_out_of_range_is_a_clear_error(invoke):
    result = invoke("solve", "mazur-adam", "--steps", "2", "--show-step", "3")
    assert result.exit_code == 2
    assert "--show-step must be from 1 to --steps (2), got 3" in result.output


def test_plain_json_has_no_optimizer_block(invoke):
    data = json.loads(invoke("solve", "mazur", "--format", "json").stdout)
    assert "optimizer" not in data and "final" not in data


def test_the_quiz_card_gives_the_optimizer_and_its_starting_state(invoke, tmp_path, db):
    path = tmp_path / "adam3.yaml"
    path.write_text(MAZUR_BASE + "optimizer: adam\nschedule: {name: exponential, gamma: 0.9}\noptimizer_state:\n"
                    "  t: 3\n  layers:\n    - weights: {m: [[0.01, 0.02], [0, 0.01]], v: [[1, 2], [0, 1]]}\n"
                    "    - weights: {m: [[0.1, 0.1], [-0.1, -0.1]], v: [[3, 3], [3, 4]]}\n")
    result = invoke("quiz", str(path), "--limit", "1", "--db", str(db), input="quit\n")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "eta = 0.081 (epoch 2 of exponential(gamma=0.9), eta0 = 0.5)" not in out  # Mazur's eta0 is 0.5
    assert "eta = 0.405 (epoch 2 of exponential(gamma=0.9), eta0 = 0.5)" in out
    assert "adam, step t = 3: beta1 = 0.9, beta2 = 0.999, eps = 1e-08" in out
    assert "m_prev(w2) = 0.02" in out and "v_prev(w8) = 4" in out


@pytest.mark.parametrize("lines", ["optimizer: adam\n", "optimizer: nesterov\nweight_decay: 0.1\n"])
def test_the_fast_json_lists_the_same_records_as_the_trace(lines):
    """`solve --format json` writes the optimizer's weight quantities as text, straight from the arrays."""
    import io

    from tutor.views.json import trace_to_dict, write_trace_json

    trace = solve(parse_problem(UPDATED + lines), steps=2, show=2)
    stream = io.StringIO()
    write_trace_json(trace, stream)
    written = json.loads(stream.getvalue())
    assert written == trace_to_dict(trace)
    quantities = list(trace)
    assert [r["key"] for r in written["quantities"]] == [q.key for q in quantities]
    for record, q in zip(written["quantities"], quantities):
        assert (record["kind"], record["value"], record["depends_on"]) == (q.kind, q.value, list(q.depends_on))
