"""`train` and `data`: the lab's data sets, training histories against an independent loop, checkpoints
that `solve` continues, the lab's task end to end, and every bad data file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from tutor.engine.training import Network, TrainOptions, dense_network, initial_weights, train
from tutor.model.activations import make_activation
from tutor.model.losses import make_loss
from tutor.model.optimizers import make_optimizer
from tutor.model.schedules import make_schedule
from tutor.problem.datasets import xor_easy


# -- the data sets -------------------------------------------------------------------------------------------

def lab_xor_easy() -> tuple[list[list[float]], list[int]]:
    """The lab's generate_XOR_easy, as the lab writes it."""
    inputs, labels = [], []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i])
        labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i])
        labels.append(1)
    return inputs, labels


def read_csv_text(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def test_data_xor_easy_is_the_labs_21_points_as_exact_decimals(invoke):
    result = invoke("data", "xor-easy")
    assert result.exit_code == 0
    header, rows = read_csv_text(result.stdout)
    inputs, labels = lab_xor_easy()
    assert header == ["x1", "x2", "label"]
    assert len(rows) == 21
    # the lab's points to the last unit (its 0.1 * 3 is 0.30000000000000004), written as the decimals they are
    np.testing.assert_allclose([[float(a), float(b)] for a, b, _ in rows], inputs, rtol=0, atol=2.5e-16)
    assert {cell for a, b, _ in rows for cell in (a, b)} == {"0", "1"} | {f"0.{i}" for i in range(1, 10)}
    assert [int(label) for _, _, label in rows] == labels


def test_data_linear_follows_its_rule(invoke):
    header, rows = read_csv_text(invoke("data", "linear", "--n", "250", "--seed", "3").stdout)
    assert header == ["x1", "x2", "label"]
    assert len(rows) == 250
    points = np.array([[float(a), float(b)] for a, b, _ in rows])
    labels = np.array([int(label) for _, _, label in rows])
    assert np.all((points >= 0) & (points <= 1))
    assert np.array_equal(labels, np.where(points[:, 0] > points[:, 1], 0, 1))
    assert 0 < labels.sum() < 250  # both classes
    again = invoke("data", "linear", "--n", "250", "--seed", "3").stdout
    other = invoke("data", "linear", "--n", "250", "--seed", "4").stdout
    assert again == invoke("data", "linear", "--n", "250", "--seed", "3").stdout and other != again
    assert len(read_csv_text(invoke("data", "linear").stdout)[1]) == 100


def test_data_spirals_has_three_classes(invoke):
    _, rows = read_csv_text(invoke("data", "spirals", "--n", "50").stdout)
    labels = [int(row[2]) for row in rows]
    assert [labels.count(k) for k in range(3)] == [50, 50, 50]
    radius = np.hypot([float(r[0]) for r in rows], [float(r[1]) for r in rows])
    assert radius.max() <= 1.0 + 1e-12


def test_data_writes_a_file_and_refuses_to_overwrite(invoke, tmp_path):
    path = tmp_path / "xor.csv"
    assert invoke("data", "xor-easy", "-o", str(path)).exit_code == 0
    assert path.read_text().startswith("x1,x2,label\n")
    again = invoke("data", "xor-easy", "-o", str(path))
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_data_unknown_name(invoke):
    result = invoke("data", "xor")
    assert result.exit_code == 2
    assert "unknown data set 'xor'" in result.stderr and "xor-easy" in result.stderr


# -- an independent training loop ----------------------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Reference:
    """Published update rules, one parameter at a time (PyTorch's algorithms; the lecture's and lab's forms)."""

    def __init__(self, name: str, **o):
        self.name, self.o, self.state, self.products = name, o, {}, [1.0]

    def step(self, key, p, g, t, lr):
        o, s = self.o, self.state.setdefault(key, {})
        wd = o.get("weight_decay", 0.0)
        if self.name != "adamw":
            g = g + wd * p
        if self.name == "sgd":
            return p - lr * g
        if self.name in ("momentum", "nesterov"):
            mu = o.get("momentum", 0.9)
            form = o.get("form", "pytorch")
            v = s.get("v", np.zeros_like(p))
            if form == "classical":
                v = mu * v - lr * g
                s["v"] = v
                return p + v
            v = mu * v + (1 - mu) * g if form == "ema" else mu * v + g
            s["v"] = v
            return p - lr * (g + mu * v) if self.name == "nesterov" else p - lr * v
        if self.name == "adagrad":
            s["s"] = s.get("s", np.zeros_like(p)) + g * g
            return p - lr * g / (np.sqrt(s["s"]) + o.get("eps", 1e-10))
        if self.name == "rmsprop":
            a = o.get("alpha", 0.99)
            s["s"] = a * s.get("s", np.zeros_like(p)) + (1 - a) * g * g
            return p - lr * g / (np.sqrt(s["s"]) + o.get("eps", 1e-8))
        b1, b2, eps = o.get("beta1", 0.9), o.get("beta2", 0.999), o.get("eps", 1e-8)
        m = s["m"] = b1 * s.get("m", np.zeros_like(p)) + (1 - b1) * g
        v = s["v"] = b2 * s.get("v", np.zeros_like(p)) + (1 - b2) * g * g
        v_hat = v / (1 - b2 ** t)
        if self.name == "adamw":
            p = p - lr * o.get("weight_decay", 0.01) * p
        if self.name == "nadam":
            psi = o.get("momentum_decay", 0.004)
            mu = lambda k: b1 * (1 - 0.5 * 0.96 ** (k * psi))
            while len(self.products) <= t + 1:
                self.products.append(self.products[-1] * mu(len(self.products)))
            m_hat = mu(t + 1) * m / (1 - self.products[t + 1]) + (1 - mu(t)) * g / (1 - self.products[t])
            return p - lr * m_hat / (np.sqrt(v_hat) + eps)
        return p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v_hat) + eps)


def reference_training(ws, bs, x, y, epochs, batch, lr0, rule, decay=0.0, orders=None):
    """Sigmoid layers, MSE; batches in order (or in `orders[e]`); the loss on the whole set before each epoch."""
    ws, bs = [w.copy() for w in ws], [b.copy() for b in bs]

    def forward(inputs):
        outs = [inputs]
        for w, b in zip(ws, bs):
            outs.append(sigmoid(outs[-1] @ w.T + b))
        return outs

    history, t = [], 0
    for e in range(epochs):
        history.append(float(np.mean(np.sum((forward(x)[-1] - y) ** 2, axis=1) / y.shape[1])))
        lr = lr0 / (1 + decay * e)
        order = np.arange(len(x)) if orders is None else orders[e]
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            xb, yb = x[index], y[index]
            outs = forward(xb)
            delta = 2 * (outs[-1] - yb) / y.shape[1] * outs[-1] * (1 - outs[-1])
            grads = []
            for l in range(len(ws) - 1, -1, -1):
                grads.append((l, delta.T @ outs[l] / len(xb), delta.mean(axis=0)))
                delta = (delta @ ws[l]) * outs[l] * (1 - outs[l])
            t += 1
            for l, gw, gb in grads:
                ws[l] = rule.step(("w", l), ws[l], gw, t, lr)
                bs[l] = rule.step(("b", l), bs[l], gb, t, lr)
    history.append(float(np.mean(np.sum((forward(x)[-1] - y) ** 2, axis=1) / y.shape[1])))
    return np.array(history), ws, bs


def sigmoid_network(shape, seed, rate, loss="mse") -> Network:
    weights = initial_weights(shape, "xavier", np.random.default_rng(seed))
    biases = [np.random.default_rng(seed + 1).normal(0, 0.1, n) for n in shape[1:]]
    return dense_network(weights, biases, [make_activation("sigmoid") for _ in shape[1:]], make_loss(loss), rate)


def weights_of(network: Network) -> list[np.ndarray]:
    return [p["weights"] for p in network.params]


def biases_of(network: Network) -> list[np.ndarray]:
    return [p["biases"] for p in network.params]


OPTIMIZERS = [
    ("sgd", {}), ("sgd", {"weight_decay": 0.01}), ("momentum", {"momentum": 0.8}),
    ("momentum", {"momentum": 0.8, "form": "ema"}), ("momentum", {"momentum": 0.8, "form": "classical"}),
    ("nesterov", {"momentum": 0.7}), ("adagrad", {}), ("rmsprop", {}), ("adam", {}),
    ("adam", {"beta1": 0.8, "weight_decay": 0.01}), ("adamw", {}), ("nadam", {}),
]


@pytest.mark.parametrize("batch", [None, 8], ids=["full-batch", "in-order-batches-of-8"])
@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=[f"{n}{o or ''}" for n, o in OPTIMIZERS])
def test_history_matches_an_independent_loop(name, options, batch):
    data = xor_easy()
    x, y = data.features, data.labels[:, None].astype(float)
    rate = 0.5 if name in ("sgd", "momentum", "nesterov") and options.get("form") != "ema" else 0.05
    network = sigmoid_network((2, 3, 3, 1), seed=5, rate=rate)
    epochs = 12
    result = train(network, x, y, TrainOptions(epochs=epochs, batch_size=batch, shuffle=False),
                   optimizer=make_optimizer({"name": name, **options}),
                   schedule=make_schedule({"name": "inverse_time", "decay": 0.1}))
    history, ws, bs = reference_training(weights_of(network), biases_of(network), x, y, epochs, batch or len(x), rate,
                                         Reference(name, **options), decay=0.1)
    assert result.stopped == "completed" and result.epochs_run == epochs
    assert result.steps == epochs * (1 if batch is None else 3)
    assert len(result.history) == epochs + 1
    np.testing.assert_allclose(result.history, history, rtol=0, atol=1e-9)
    for mine, theirs in zip(weights_of(result.network) + biases_of(result.network), ws + bs):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-9)


def test_shuffled_batches_follow_the_documented_order():
    data = xor_easy()
    x, y = data.features, data.labels[:, None].astype(float)
    network = sigmoid_network((2, 4, 1), seed=2, rate=0.8)
    result = train(network, x, y, TrainOptions(epochs=6, batch_size=5, shuffle=True, seed=11))
    orders = [np.random.default_rng([11, 1, e]).permutation(len(x)) for e in range(6)]
    history, ws, bs = reference_training(weights_of(network), biases_of(network), x, y, 6, 5, 0.8, Reference("sgd"),
                                         orders=orders)
    np.testing.assert_allclose(result.history, history, rtol=0, atol=1e-12)
    np.testing.assert_allclose(weights_of(result.network)[0], ws[0], rtol=0, atol=1e-12)


def test_cli_json_history_matches_the_independent_loop(invoke):
    result = invoke("train", "--shape", "2-4-4-1", "--data", "xor-easy", "--epochs", "30", "--seed", "3",
                    "--learning-rate", "0.9", "--batch-size", "7", "--no-shuffle", "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    weights = initial_weights((2, 4, 4, 1), "xavier", np.random.default_rng(3))
    biases = [np.zeros(4), np.zeros(4), np.zeros(1)]
    data = xor_easy()
    history, ws, bs = reference_training(weights, biases, data.features, data.labels[:, None].astype(float), 30, 7,
                                         0.9, Reference("sgd"))
    np.testing.assert_allclose(document["history"], history, rtol=0, atol=1e-9)
    assert len(document["history"]) == 31
    for layer, w, b in zip(document["final"]["layers"], ws, bs):
        np.testing.assert_allclose(layer["weights"], w, rtol=0, atol=1e-9)
        np.testing.assert_allclose(layer["biases"], b, rtol=0, atol=1e-9)
    outputs = sigmoid(sigmoid(sigmoid(data.features @ ws[0].T + bs[0]) @ ws[1].T + bs[1]) @ ws[2].T + bs[2])
    assert document["accuracy"] == pytest.approx(np.mean((outputs[:, 0] >= 0.5) == (data.labels == 1)))
    assert document["epochs"] == 30 and document["steps"] == 90 and document["stopped"] == "completed"


def test_softmax_cross_entropy_on_three_classes_learns(invoke):
    result = invoke("train", "--shape", "2-16-3", "--activation", "tanh", "--loss", "cross_entropy", "--data",
                    "spirals", "--epochs", "300", "--optimizer", "adam", "--learning-rate", "0.05", "--seed", "0",
                    "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["history"][-1] < 0.5 * document["history"][0]
    assert document["accuracy"] > 0.6  # 1/3 by chance


@pytest.mark.parametrize("problem", ["mazur-2-2-2", "fish-2-4-3", "ex02-3-3-2", "mazur-momentum", "mazur-adam",
                                     "mazur-decay"])
def test_training_a_problem_on_its_own_samples_is_solve_steps(invoke, problem):
    trained = json.loads(invoke("train", problem, "--epochs", "50", "-f", "json").stdout)
    solved = json.loads(invoke("solve", problem, "--steps", "50", "-f", "json").stdout)
    np.testing.assert_allclose(trained["history"], solved["history"], rtol=1e-12, atol=1e-15)


# -- checkpoints open in solve --------------------------------------------------------------------------------

SAVED_RULES = [[], ["--optimizer", "adam"], ["--optimizer", "momentum:momentum=0.8,form=classical"],
               ["--optimizer", "nadam", "--schedule", "inverse_time:decay=0.1"],
               ["--optimizer", "adagrad:weight_decay=0.01"], ["--optimizer", "sgd:l1=0.001"]]


@pytest.mark.parametrize("rule", SAVED_RULES, ids=lambda r: " ".join(r) or "sgd")
def test_solve_of_a_saved_network_is_the_next_step_of_training(invoke, tmp_path, rule):
    saved = tmp_path / "trained.yaml"
    common = ["--shape", "2-3-1", "--data", "xor-easy", "--seed", "4", "--learning-rate", "0.3", *rule, "-f", "json"]
    assert invoke("train", *common, "--epochs", "5", "--save", str(saved)).exit_code == 0
    after_six = json.loads(invoke("train", *common, "--epochs", "6").stdout)
    from tutor.solver import solve

    trace = solve(str(saved))
    assert trace.history[0] == pytest.approx(after_six["history"][5], abs=1e-12)
    for layer, step in zip(after_six["final"]["layers"], trace.step.layers):
        np.testing.assert_allclose(step.new_weights, layer["weights"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(step.new_biases, layer["biases"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", SAVED_RULES[1:3], ids=lambda r: " ".join(r))
def test_training_goes_on_from_a_saved_network(invoke, tmp_path, rule):
    saved = tmp_path / "trained.yaml"
    common = ["--data", "xor-easy", "-f", "json"]
    made = ["--shape", "2-3-1", "--seed", "4", "--learning-rate", "0.3", *rule]
    assert_training_goes_on_exactly(invoke, saved, made, common, 5, 3)


def assert_training_goes_on_exactly(invoke, saved: Path, made: list[str], common: list[str], first: int,
                                    then: int) -> None:
    """`first` epochs, --save, `then` more from the file: the same history and parameters as one run."""
    assert invoke("train", *made, *common, "--epochs", str(first), "--save", str(saved)).exit_code == 0
    whole = json.loads(invoke("train", *made, *common, "--epochs", str(first + then)).stdout)
    more = json.loads(invoke("train", str(saved), *common, "--epochs", str(then)).stdout)
    np.testing.assert_allclose(more["history"], whole["history"][first:], rtol=0, atol=1e-12)
    for mine, theirs in zip(more["final"]["layers"], whole["final"]["layers"]):
        np.testing.assert_allclose(mine["weights"], theirs["weights"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(mine["biases"], theirs["biases"], rtol=0, atol=1e-12)


SCHEDULES = ["inverse_time:decay=0.3", "step:step_size=3,gamma=0.5", "exponential:gamma=0.8"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("batches", [[], ["--batch-size", "6", "--no-shuffle"]], ids=["full", "mini"])
def test_training_on_from_a_saved_schedule_uses_the_uninterrupted_rates(invoke, tmp_path, optimizer, schedule,
                                                                        batches):
    saved = tmp_path / "trained.yaml"
    common = ["--data", "xor-easy", *batches, "-f", "json"]
    made = ["--shape", "2-3-1", "--seed", "4", "--learning-rate", "0.5", "--optimizer", optimizer,
            "--schedule", schedule]
    assert_training_goes_on_exactly(invoke, saved, made, common, 4, 4)
    from tutor.problem.loader import load_problem

    problem = load_problem(saved)
    assert problem.learning_rate == 0.5 and problem.schedule.name == schedule.partition(":")[0]
    assert problem.epoch == 4 and problem.first_step == (5 if not batches else 4 * 4 + 1)  # 21 samples: 4 batches


def test_solve_of_a_mini_batch_schedule_checkpoint_is_the_next_step(invoke, tmp_path):
    saved = tmp_path / "net.yaml"
    common = ["--shape", "2-3-1", "--data", "xor-easy", "--seed", "4", "--learning-rate", "0.7",
              "--schedule", "step:step_size=2,gamma=0.5", "-f", "json"]
    assert invoke("train", *common, "--batch-size", "6", "--no-shuffle", "--epochs", "3",
                  "--save", str(saved)).exit_code == 0
    from tutor.solver import solve

    trace = solve(str(saved))
    assert trace.problem.first_step == 13 and trace.problem.step_rate == 0.7 * 0.5  # epoch 3: one drop
    # the reference: 3 epochs of the independent loop, then one step on the first batch at rate 0.35
    data = xor_easy()
    weights = initial_weights((2, 3, 1), "xavier", np.random.default_rng(4))
    rates = [0.7, 0.7, 0.35]
    ws, bs = weights, [np.zeros(3), np.zeros(1)]
    for rate in rates:
        _, ws, bs = reference_training(ws, bs, data.features, data.labels[:, None].astype(float), 1, 6, rate,
                                       Reference("sgd"))
    x, y = data.features[:6], data.labels[:6, None].astype(float)
    h = sigmoid(x @ ws[0].T + bs[0])
    o = sigmoid(h @ ws[1].T + bs[1])
    d2 = 2 * (o - y) * o * (1 - o)
    d1 = (d2 @ ws[1]) * h * (1 - h)
    np.testing.assert_allclose(trace.step.layers[0].new_weights, ws[0] - 0.35 * d1.T @ x / 6, rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.step.layers[1].new_biases, bs[1] - 0.35 * d2.mean(axis=0), rtol=0, atol=1e-12)


def test_checkpoints_hold_the_next_batch(invoke, tmp_path):
    saved = tmp_path / "net.yaml"
    result = invoke("train", "--shape", "2-3-1", "--data", "xor-easy", "--seed", "4", "--learning-rate", "0.7",
                    "--epochs", "4", "--batch-size", "6", "--no-shuffle", "--save", str(saved),
                    "--checkpoint-every", "2", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net-epoch2.yaml", "net-epoch4.yaml", "net.yaml"]
    from tutor.problem.loader import load_problem
    from tutor.solver import solve

    checkpoint = load_problem(tmp_path / "net-epoch2.yaml")
    data = xor_easy()
    np.testing.assert_array_equal(checkpoint.inputs, data.features[:6])  # the first batch of epoch 3
    weights = initial_weights((2, 3, 1), "xavier", np.random.default_rng(4))
    _, ws, bs = reference_training(weights, [np.zeros(3), np.zeros(1)], data.features,
                                   data.labels[:, None].astype(float), 2, 6, 0.7, Reference("sgd"))
    np.testing.assert_allclose(checkpoint.layers[0].weights, ws[0], rtol=0, atol=1e-12)
    # one more step of the reference: the first batch of epoch 3
    x, y = data.features[:6], data.labels[:6, None].astype(float)
    h = sigmoid(x @ ws[0].T + bs[0])
    o = sigmoid(h @ ws[1].T + bs[1])
    d2 = 2 * (o - y) * o * (1 - o)
    d1 = (d2 @ ws[1]) * h * (1 - h)
    step = solve(checkpoint).step
    np.testing.assert_allclose(step.layers[0].new_weights, ws[0] - 0.7 * d1.T @ x / 6, rtol=0, atol=1e-12)
    np.testing.assert_allclose(step.layers[1].new_biases, bs[1] - 0.7 * d2.mean(axis=0), rtol=0, atol=1e-12)


def test_a_saved_softmax_network_uses_labels_and_opens_in_quiz(invoke, tmp_path):
    saved = tmp_path / "fish.yaml"
    result = invoke("train", "fish-2-4-3", "--epochs", "3", "--save", str(saved), "-f", "json")
    assert result.exit_code == 0, result.stderr
    text = saved.read_text()
    assert "labels: [0, 1, 2, 1]" in text and "activation: softmax" in text
    assert invoke("check", str(saved)).exit_code == 0
    quiz = invoke("quiz", str(saved), "--limit", "2", "--db", str(tmp_path / "progress.sqlite3"), input="quit\n")
    assert quiz.exit_code == 0 and "Fish classifier 2-4-3 after 3 epochs" in quiz.stdout


# -- the lab's task end to end --------------------------------------------------------------------------------

#: The lab's network: two hidden layers of 4 sigmoid units; documented in docs/train.md.
LAB = ["--shape", "2-4-4-1", "--activation", "sigmoid", "--learning-rate", "1", "--seed", "1", "-f", "json"]


@pytest.mark.parametrize("data, epochs", [("linear", 1500), ("xor-easy", 7000)])
def test_the_labs_task_reaches_full_training_accuracy(invoke, data, epochs):
    result = invoke("train", *LAB, "--data", data, "--epochs", str(epochs))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["accuracy"] == 1.0
    assert document["history"][-1] < document["history"][0]


def test_text_output_has_the_labs_log_lines_curve_accuracy_and_predictions(invoke):
    result = invoke("train", "--shape", "2-4-4-1", "--data", "xor-easy", "--epochs", "100", "--seed", "1",
                    "--log-every", "50", "--format", "plain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    logs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(" loss: ")[0] for line in logs] == ["epoch 0", "epoch 50", "epoch 100"]
    assert "accuracy: " in result.stdout and "(seed 1)" in result.stdout
    assert "Predictions (the first 10 of 21; --all shows every one)" in result.stdout
    assert max(len(line) for line in lines) <= 80
    full = invoke("train", "--shape", "2-4-4-1", "--data", "xor-easy", "--epochs", "1", "--seed", "1", "--all",
                  "--format", "plain")
    assert "Predictions\n" in full.stdout and "\n21 " in full.stdout.replace("| 21", "\n21")


def test_validation_and_early_stopping():
    data = xor_easy()
    x, y = data.features, data.labels[:, None].astype(float)
    network = sigmoid_network((2, 3, 1), seed=1, rate=5.0)
    held = (x[:4], y[:4])
    result = train(network, x[4:], y[4:], TrainOptions(epochs=500, patience=3), validation=held)
    assert result.stopped == "early_stopping"
    v = result.validation_history
    assert len(v) == len(result.history) == result.epochs_run + 1
    # the rule: stop after `patience` epochs in a row that do not beat the best so far
    best, waited = np.inf, 0
    for epoch in range(1, len(v)):
        if v[epoch] < best:
            best, waited = v[epoch], 0
        else:
            waited += 1
    assert waited == 3 and all(v[k] >= min(v[1:-3]) for k in range(len(v) - 3, len(v)))
    (w1, w2), (b1, b2) = weights_of(result.network), biases_of(result.network)
    expected = np.mean((sigmoid(sigmoid(held[0] @ w1.T + b1) @ w2.T + b2) - held[1]) ** 2)
    assert v[-1] == pytest.approx(expected, abs=1e-12)


def test_cli_validation_figures(invoke):
    result = invoke("train", "--shape", "2-4-1", "--data", "linear", "--epochs", "20", "--seed", "2",
                    "--validation", "0.25", "-f", "json")
    document = json.loads(result.stdout)
    assert document["samples"] == 75 and document["validation"]["samples"] == 25
    assert len(document["validation"]["history"]) == 21
    assert 0 <= document["validation"]["accuracy"] <= 1


def test_ctrl_c_keeps_what_was_learned():
    data = xor_easy()
    x, y = data.features, data.labels[:, None].astype(float)
    network = sigmoid_network((2, 3, 1), seed=1, rate=1.0)

    def interrupt(done, loss, now):
        if done == 7:
            raise KeyboardInterrupt

    result = train(network, x, y, TrainOptions(epochs=100), on_epoch=interrupt)
    complete = train(network, x, y, TrainOptions(epochs=7))
    assert result.stopped == "interrupted" and result.epochs_run == 7
    np.testing.assert_allclose(result.history, complete.history, rtol=0, atol=0)
    np.testing.assert_array_equal(weights_of(result.network)[0], weights_of(complete.network)[0])


def test_plots_are_written(invoke, tmp_path):
    result = invoke("train", "--shape", "2-4-1", "--data", "xor-easy", "--epochs", "5", "--seed", "1", "--plot",
                    str(tmp_path / "figures"), "--format", "plain")
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert names == ["comparison.png", "decision_boundary.png", "learning_curve.png"]
    assert all((tmp_path / "figures" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


# -- bad files and options ------------------------------------------------------------------------------------

def write(tmp_path: Path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, where, message", [
    ("x1,x2,label\n0.1,0.2,0\n0.3,abc,1\n", ":3:2: ", "x2: expected a number, got the text 'abc'"),
    ("x1,x2,label\n0.1,0.2,0\n0.3,1\n", ":3:3: ", "2 values in this row, but the header has 3 columns"),
    ("x1,x2,label\n0.1,0.2,0\n0.3,0.4,1,9\n", ":3:4: ", "4 values in this row, but the header has 3 columns"),
    ("x1,x2,label\n0.1,0.2,0\n0.3,0.4,2\n", ":3:3: ", "label: class 2 is outside the classes 0 to 1 (one output "
                                                      "unit tells class 0 from class 1)"),
    ("x1,x2,label\n0.1,0.2,0.5\n", ":2:3: ", "label: expected a class index (a whole number 0, 1, 2, ...), got '0.5'"),
    ("x1,x2,x3,label\n0.1,0.2,0.3,0\n", ":1: ", "the network takes 2 inputs but the data has 3 feature columns "
                                                "(x1, x2, x3)"),
    ("x1,x2,label\n0.1,,0\n", ":2:2: ", "x2: expected a number, got an empty cell"),
    ("x1,x2,label\n0.1,nan,0\n", ":2:2: ", "x2: expected a finite number, got nan"),
    ("x1,x2\n0.1,0.2\n", ":1: ", "no 'label' column (class indices) and no --target columns; the columns are x1, x2"),
    ("x1,x2,label\n", ":1: ", "a header but no data rows"),
    ("", ": ", "the file is empty; a CSV data file starts with a header row such as x1,x2,label"),
    ("0.1,0.2,0\n", ":1:1: ", "the first row must be a header naming the columns, got the number 0.1"),
    ("x1,x1,label\n0.1,0.2,0\n", ":1:2: ", "column 'x1' is named twice"),
])
def test_bad_data_files_get_one_located_message(invoke, tmp_path, text, where, message):
    path = write(tmp_path, text)
    result = invoke("train", "--shape", "2-3-1", "--data", path, "--epochs", "1", "--seed", "1")
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}{where}{message}\n"


def test_label_outside_the_softmax_classes(invoke, tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,4,3\n")
    result = invoke("train", "--shape", "2-3-3", "--loss", "cross_entropy", "--data", path, "--epochs", "1")
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}:3:3: label: class 3 is outside the classes 0 to 2 (the network has 3 " \
                            "outputs)\n"


def test_a_problem_files_network_with_csv_data(invoke, tmp_path):
    path = write(tmp_path, "a,b,c,label\n1,2,3,0\n")
    result = invoke("train", "mlp-2-2-1", "--data", path, "--epochs", "1")
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}:1: the network takes 2 inputs but the data has 3 feature columns " \
                            "(a, b, c)\n"
    good = write(tmp_path, "a,b,label\n1,2,0\n0.5,0.1,1\n", "good.csv")
    assert invoke("train", "mlp-2-2-1", "--data", good, "--epochs", "2", "-f", "json").exit_code == 0


def test_a_problem_file_without_inputs_trains_on_data(invoke, tmp_path):
    problem = write(tmp_path, "layers:\n  - weights: [[0.1, 0.2], [0.3, -0.1]]\n    biases: [0, 0]\n"
                              "    activation: sigmoid\n  - weights: [[0.5, -0.5]]\n    biases: [0.1]\n"
                              "    activation: sigmoid\nloss: mse\nlearning_rate: 2\n", "net.yaml")
    result = invoke("train", problem, "--data", "xor-easy", "--epochs", "3", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["history"]) == 4
    alone = invoke("train", problem, "--epochs", "3")
    assert alone.exit_code == 2 and "missing key 'inputs'" in alone.stderr


def test_regression_targets(invoke, tmp_path):
    rows = "\n".join(f"{x},{0.5 * x + 0.1},{x * x}" for x in np.linspace(0, 1, 11))
    path = write(tmp_path, "x,y,z\n" + rows + "\n")
    result = invoke("train", "--shape", "1-4-1", "--output-activation", "linear", "--data", path, "--target", "y",
                    "--target", "z", "--epochs", "2")
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}:1: the network has 1 output but --target names 2 columns\n"
    result = invoke("train", "--shape", "1-4-2", "--output-activation", "linear", "--data", path, "--target", "y",
                    "--target", "z", "--epochs", "200", "--learning-rate", "0.2", "-f", "json", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["accuracy"] is None and document["history"][-1] < document["history"][0]


@pytest.mark.parametrize("args, message", [
    (["--shape", "2-3-1", "--epochs", "1"], "--shape makes a network: give the data it learns from with --data"),
    (["--data", "xor-easy"], "give a PROBLEM file, or make a network with --shape"),
    (["mazur", "--shape", "2-2-2"], "--shape makes a new network; the PROBLEM file already gives one"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--patience", "3"], "--patience stops when the validation loss"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--validation", "1.5"], "--validation is the fraction"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--optimizer", "adma"], "--optimizer: unknown optimizer 'adma'"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--optimizer", "adam:beta1=2"], "--optimizer: must be less than 1"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--schedule", "step"], "--schedule: step needs 'step_size'"),
    (["--shape", "2-x-1", "--data", "xor-easy"], "bad shape '2-x-1'"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--init", "zeros"], "--init: unknown 'zeros'"),
    (["--shape", "2-3-1", "--data", "nosuch"], "--data: no such file, and no data set 'nosuch'"),
    (["--shape", "2-3-1", "--data", "missing.csv"], "missing.csv: no such CSV file"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--checkpoint-every", "2"], "--checkpoint-every needs --save"),
    (["mazur", "--target", "y"], "--target names columns of a CSV file"),
    (["--shape", "2-3-1", "--data", "xor-easy", "--target", "y"], "--target names columns of a CSV file"),
])
def test_bad_options(invoke, args, message):
    result = invoke("train", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_csv_size_limit(tmp_path):
    from tutor.errors import UserError
    from tutor.problem.csv_data import load_csv

    path = write(tmp_path, "x1,x2,label\n" + "0.1,0.2,0\n" * 100)
    with pytest.raises(UserError, match="larger than the limit|the limit is 100"):
        load_csv(path, max_bytes=100)


# -- start-up: the plot libraries stay out of every other command ---------------------------------------------

PROBE = """
import sys
from tutor.cli.app import app
try:
    app({args})
except SystemExit:
    pass
print("loaded=" + ",".join(m for m in ("numpy", "plotille", "matplotlib") if m in sys.modules))
"""


def _loaded_after(*args: str) -> str:
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run([sys.executable, "-c", PROBE.format(args=list(args))], capture_output=True, text=True,
                            cwd=ROOT, check=True, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    return result.stdout.strip().splitlines()[-1].removeprefix("loaded=")


@pytest.mark.parametrize("command", ["train", "data"])
def test_help_of_train_and_data_imports_no_numpy(command):
    assert _loaded_after(command, "--help") == ""


def test_other_commands_import_no_plot_library():
    assert _loaded_after("solve", "mazur-2-2-2", "--format", "json") == "numpy"
    assert _loaded_after("train", "--shape", "2-2-1", "--data", "xor-easy", "--epochs", "2", "-f", "json") == "numpy"


# -- any text: a data set or one clear message ------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CELLS = st.one_of(st.sampled_from(["0", "1", "2", "0.5", "-1e3", "x1", "label", "", " ", "nan", "inf", '"1,2"', "1e999",
                                   "abc", "\u00e9", "3.0", "0x10", "1_000"]), st.text(max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELLS, max_size=5), max_size=6), st.sampled_from([",", ";"]))
def test_any_csv_text_gives_data_or_one_located_message(rows, separator):
    from tutor.problem.csv_data import DataError, check_fits, parse_csv

    text = "\n".join(separator.join(row) for row in rows)
    try:
        data = parse_csv(text, source="fuzz.csv")
    except DataError as exc:
        assert str(exc).startswith("fuzz.csv") and "\n" not in str(exc)
        return
    assert data.features.shape[0] == data.size >= 1 and np.all(np.isfinite(data.features))
    assert data.labels is None or (data.labels >= 0).all()
    try:
        check_fits(data, 2, 1)
    except DataError as exc:
        assert str(exc).startswith("fuzz.csv")


def test_a_diverging_run_stops_and_says_so(invoke, tmp_path):
    rows = "\n".join(f"{x},{1 - x},{0.5 * x + 0.1}" for x in np.linspace(0, 1, 11))
    path = write(tmp_path, "a,b,y\n" + rows + "\n")
    args = ["train", "--shape", "2-4-1", "--activation", "relu", "--output-activation", "linear", "--data", path,
            "--target", "y", "--learning-rate", "50", "--epochs", "500", "--seed", "1"]
    result = invoke(*args, "-f", "json")
    assert result.exit_code == 0 and result.stderr == ""  # no numpy warnings
    document = json.loads(result.stdout)
    assert document["stopped"] == "diverged" and document["epochs"] < 500
    assert document["history"][-1] is None and all(v is not None for v in document["history"][:-2])
    text = invoke(*args, "--format", "plain")
    assert text.stderr == "" and "diverged: after" in text.stdout


# -- a problem file's rate, optimizer and schedule overridden from the command line ---------------------------

OVERRIDES = [
    (["--learning-rate", "0.25"], {"learning_rate: 0.5": "learning_rate: 0.25"}),
    (["--optimizer", "adam:beta1=0.8"], {"format: 1": "format: 2",
                                          "update_biases: false": "update_biases: false\noptimizer: {name: adam, "
                                                                  "beta1: 0.8}"}),
    (["--schedule", "inverse_time:decay=0.5"], {"format: 1": "format: 2",
                                                 "update_biases: false": "update_biases: false\nschedule: "
                                                                         "{name: inverse_time, decay: 0.5}"}),
    (["--learning-rate", "2", "--optimizer", "momentum:momentum=0.9", "--schedule", "exponential:gamma=0.99"],
     {"format: 1": "format: 2", "learning_rate: 0.5": "learning_rate: 2",
      "update_biases: false": "update_biases: false\noptimizer: {name: momentum, momentum: 0.9}\n"
                              "schedule: {name: exponential, gamma: 0.99}"}),
]


@pytest.mark.parametrize("options, edits", OVERRIDES)
def test_options_override_the_problem_file_as_editing_it_does(invoke, tmp_path, options, edits):
    from tests.conftest import ROOT

    text = (ROOT / "problems" / "mazur-2-2-2.yaml").read_text()
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    edited = write(tmp_path, text, "edited.yaml")
    overridden = invoke("train", "mazur-2-2-2", *options, "--epochs", "30", "-f", "json")
    independent = invoke("train", edited, "--epochs", "30", "-f", "json")
    assert overridden.exit_code == 0 and independent.exit_code == 0, overridden.stderr + independent.stderr
    ours, theirs = json.loads(overridden.stdout), json.loads(independent.stdout)
    assert ours["history"] == theirs["history"] and ours["final"] == theirs["final"]
    plain = json.loads(invoke("train", "mazur-2-2-2", "--epochs", "30", "-f", "json").stdout)
    assert plain["history"] != ours["history"]  # the options did change the run


def test_an_overridden_rate_is_the_saved_files_rate(invoke, tmp_path):
    saved = tmp_path / "saved.yaml"
    result = invoke("train", "mazur-2-2-2", "--learning-rate", "0.25", "--epochs", "3", "--save", str(saved))
    assert result.exit_code == 0, result.stderr
    assert "learning_rate: 0.25\n" in saved.read_text()
    bad = invoke("train", "mazur-2-2-2", "--learning-rate", "-1")
    assert bad.exit_code == 2 and bad.stderr == "error: --learning-rate must be a positive number, got -1\n"
