"""Optimizer and schedule mistakes on the bundled optimizer problems, at steps 1 to 3: a sheet with one
wrong answer, worked out here by an independent implementation of the wrong rule, is graded `wrong` and
diagnosed with the mistake's id (as a TA would name it), and the right answer is never diagnosed.

Mazur's 2-2-2 network (biases not updated, as in the bundled files) is computed here from scratch, and
each optimizer written out from its published rule (PyTorch's documentation, the lab's and the lecture's
momentum); the state of step K is the one K - 1 correct steps leave, as `--step K` has it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from tests.conftest import PROBLEMS
from tutor.problem.loader import parse_problem
from tutor.solver import open_problem
from tutor.teach.grader import Grader

X = np.array([0.05, 0.10])
T = np.array([0.01, 0.99])
W0 = (np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]]))
B1, B2 = 0.35, 0.60
ADAM_TEXT = (PROBLEMS / "mazur-adam-2-2-2.yaml").read_text()
OPTIMIZER_LINE = "optimizer: {name: adam, beta1: 0.9, beta2: 0.999, eps: 1.0e-8}"


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def gradients(w1: np.ndarray, w2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dE/dW of Mazur's network (half squared error, sigmoid everywhere) at weights w1, w2."""
    h = _sig(w1 @ X + B1)
    o = _sig(w2 @ h + B2)
    d2 = (o - T) * o * (1 - o)
    d1 = (w2.T @ d2) * h * (1 - h)
    return np.outer(d1, X), np.outer(d2, h)


# -- the optimizers, written out plainly: one step of one weight, every named quantity ---------------------


def sgd(theta, grad, state, t, lr, wd=0.0):
    g = grad + wd * theta
    return {"g": g, "new": theta - lr * g}, {}


def momentum(form, mu):
    def step(theta, g, state, t, lr):
        prev = state.get("v", 0.0)
        if form == "pytorch":
            v = mu * prev + g
            new = theta - lr * v
        elif form == "ema":
            v = mu * prev + (1 - mu) * g
            new = theta - lr * v
        else:  # the lab's: the rate inside the velocity, added
            v = mu * prev - lr * g
            new = theta + v
        return {"v": v, "new": new}, {"v": v}
    return step


def nesterov(mu):
    def step(theta, g, state, t, lr):
        v = mu * state.get("v", 0.0) + g
        d = g + mu * v
        return {"v": v, "d": d, "new": theta - lr * d}, {"v": v}
    return step


def rmsprop(alpha, eps):
    def step(theta, g, state, t, lr):
        v = alpha * state.get("v", 0.0) + (1 - alpha) * g * g
        s = lr * g / (math.sqrt(v) + eps)
        return {"v": v, "step": s, "new": theta - s}, {"v": v}
    return step


def adagrad(eps):
    def step(theta, g, state, t, lr):
        s = state.get("s", 0.0) + g * g
        st = lr * g / (math.sqrt(s) + eps)
        return {"s": s, "step": st, "new": theta - st}, {"s": s}
    return step


def adam(b1, b2, eps, decoupled=0.0):
    def step(theta, g, state, t, lr):
        m = b1 * state.get("m", 0.0) + (1 - b1) * g
        v = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        s = lr * m_hat / (math.sqrt(v_hat) + eps)
        return ({"m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat, "step": s,
                 "new": theta - lr * decoupled * theta - s}, {"m": m, "v": v})
    return step


def nadam_mu(b1, psi, t):
    return b1 * (1 - 0.5 * 0.96 ** (t * psi))


def nadam_m_hat(b1, psi, m, g, t):
    """PyTorch's NAdam: mu_(t+1) m / (1 - prod mu_1..mu_(t+1)) + (1 - mu_t) g / (1 - prod mu_1..mu_t)."""
    prod_t = math.prod(nadam_mu(b1, psi, k) for k in range(1, t + 1))
    prod_next = prod_t * nadam_mu(b1, psi, t + 1)
    return nadam_mu(b1, psi, t + 1) * m / (1 - prod_next) + (1 - nadam_mu(b1, psi, t)) * g / (1 - prod_t)


def nadam(b1, b2, eps, psi=0.004):
    def step(theta, g, state, t, lr):
        m = b1 * state.get("m", 0.0) + (1 - b1) * g
        v = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = nadam_m_hat(b1, psi, m, g, t), v / (1 - b2 ** t)
        s = lr * m_hat / (math.sqrt(v_hat) + eps)
        return {"m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat, "step": s, "new": theta - s}, {"m": m, "v": v}
    return step


@dataclass(frozen=True)
class Setup:
    """One problem: its optimizer line(s), the plain step, the rate of each step t, the step t of --step 1."""

    lines: str
    step: Callable
    rate: Callable[[int], float]
    first_t: int = 1
    wd: float = 0.0  # L2 added to the gradient

    def text(self) -> str:
        if self.lines == "bundled decay":
            return (PROBLEMS / "mazur-decay-2-2-2.yaml").read_text()
        if self.lines == "bundled momentum":
            return (PROBLEMS / "mazur-momentum-2-2-2.yaml").read_text()
        lines = self.lines.split("\n")
        rate = next((line for line in lines if line.startswith("learning_rate:")), "learning_rate: 0.1")
        others = "\n".join(line for line in lines if not line.startswith("learning_rate:"))
        return ADAM_TEXT.replace("learning_rate: 0.1\n", rate + "\n").replace(OPTIMIZER_LINE, others)


SETUPS = {
    "adam": Setup(OPTIMIZER_LINE, adam(0.9, 0.999, 1e-8), lambda t: 0.1),
    "momentum": Setup("bundled momentum", momentum("pytorch", 0.9), lambda t: 0.5),
    "momentum_ema": Setup("optimizer: {name: momentum, momentum: 0.8, form: ema}\nlearning_rate: 0.5",
                          momentum("ema", 0.8), lambda t: 0.5),
    "momentum_lab": Setup("optimizer: {name: momentum, momentum: 0.9, form: classical}\nlearning_rate: 0.5\n"
                          "schedule: {name: exponential, gamma: 0.9}",
                          momentum("classical", 0.9), lambda t: 0.5 * 0.9 ** (t - 1)),
    "nesterov": Setup("optimizer: {name: nesterov, momentum: 0.9}\nlearning_rate: 0.5", nesterov(0.9),
                      lambda t: 0.5),
    "rmsprop": Setup("optimizer: {name: rmsprop, alpha: 0.9}", rmsprop(0.9, 1e-8), lambda t: 0.1),
    "adagrad": Setup("optimizer: adagrad\nlearning_rate: 0.5", adagrad(1e-10), lambda t: 0.5),
    "adamw": Setup("optimizer: {name: adamw, weight_decay: 0.1}", adam(0.9, 0.999, 1e-8, decoupled=0.1),
                   lambda t: 0.1),
    "nadam": Setup("optimizer: {name: nadam}\nlearning_rate: 0.1", nadam(0.9, 0.999, 1e-8), lambda t: 0.1),
    # epoch e = t - 1; the file starts at t = 3 (epoch 2): rate 0.5 / (1 + 0.5 e)
    "decay": Setup("bundled decay", lambda th, g, st, t, lr: sgd(th, g, st, t, lr, 0.01),
                   lambda t: 0.5 / (1 + 0.5 * (t - 1)), first_t=3, wd=0.0),
}


def run(setup: Setup, k: int) -> list[dict]:
    """Step k (1-based, as --step k) by the independent implementation: for each weight (layer, j, i) its
    theta, gradient, the state the step starts from, t, lr and every named quantity."""
    weights = [w.copy() for w in W0]
    state: dict[tuple, dict] = {}
    for n in range(1, k + 1):
        t = setup.first_t + n - 1
        grads = gradients(*weights)
        records = []
        for l, (w, g) in enumerate(zip(weights, grads), start=1):
            for (j, i), theta in np.ndenumerate(w):
                where = (l, j + 1, i + 1)
                before = dict(state.get(where, {}))
                values, after = setup.step(float(theta), float(g[j, i]), before, t, setup.rate(t))
                records.append({"where": where, "theta": float(theta), "grad": float(g[j, i]), "state": before,
                                "t": t, "lr": setup.rate(t), **values})
                state[where] = after
        for record in records:
            l, j, i = record["where"]
            weights[l - 1][j - 1, i - 1] = record["new"]
    return records


# -- the wrong rules, each written out plainly: (setup, quantity) -> the wrong value from one record ---------


def _adam_new(r, m_hat, v_hat, lr=None):
    return r["theta"] - (r["lr"] if lr is None else lr) * m_hat / (math.sqrt(v_hat) + 1e-8)


def _root(x: float) -> float:
    """The square root, nan for a negative number (a second moment of g rather than g^2 can be negative)."""
    return math.sqrt(x) if x >= 0 else math.nan


def _prev(r, name):
    return r["state"].get(name, 0.0)


WRONG: dict[str, list[tuple[str, str, Callable[[dict], float], int]]] = {
    # mistake id -> [(setup, quantity, wrong value from the record, first step k it differs at)]
    "bias_correction_wrong_t": [
        ("adam", "m_hat", lambda r: r["m"] / (1 - 0.9 ** (r["t"] - 1)), 2),
        ("adam", "v_hat", lambda r: r["v"] / (1 - 0.999 ** (r["t"] - 1)), 2),
        ("adam", "m_hat", lambda r: r["m"] / (1 - 0.9 ** (r["t"] + 1)), 1),
        ("adam", "new", lambda r: _adam_new(r, r["m"] / (1 - 0.9 ** (r["t"] - 1)),
                                            r["v"] / (1 - 0.999 ** (r["t"] - 1))), 2),
        ("nadam", "m_hat", lambda r: nadam_m_hat(0.9, 0.004, r["m"], r["grad"], r["t"] - 1), 2),
    ],
    "second_moment_not_squared": [
        ("adam", "v", lambda r: 0.999 * _prev(r, "v") + 0.001 * r["grad"], 1),
        ("rmsprop", "v", lambda r: 0.9 * _prev(r, "v") + 0.1 * r["grad"], 1),
        ("rmsprop", "new", lambda r: r["theta"] - 0.1 * r["grad"] / (
            _root(0.9 * _prev(r, "v") + 0.1 * r["grad"]) + 1e-8), 1),
        ("nadam", "v", lambda r: 0.999 * _prev(r, "v") + 0.001 * r["grad"], 1),
    ],
    "velocity_not_carried": [
        ("momentum", "v", lambda r: r["grad"], 2),
        ("momentum", "new", lambda r: r["theta"] - 0.5 * r["grad"], 2),
        ("momentum_ema", "v", lambda r: 0.2 * r["grad"], 2),
        ("momentum_lab", "v", lambda r: -r["lr"] * r["grad"], 2),
        ("nesterov", "v", lambda r: r["grad"], 2),
    ],
    "nesterov_lookahead_ignored": [
        ("nesterov", "d", lambda r: r["grad"], 1),
        ("nesterov", "new", lambda r: r["theta"] - 0.5 * r["grad"], 1),
    ],
    "nesterov_lookahead_old_velocity": [  # at step 1 v_prev = 0, so it is the look-ahead ignored
        ("nesterov", "d", lambda r: r["grad"] + 0.9 * _prev(r, "v"), 2),
        ("nesterov", "new", lambda r: r["theta"] - 0.5 * (r["grad"] + 0.9 * _prev(r, "v")), 2),
    ],
    "schedule_wrong_epoch": [
        # the decay problem's step t is epoch t - 1; the rate of epoch t - 2 or t instead
        ("decay", "new", lambda r: r["theta"] - 0.5 / (1 + 0.5 * (r["t"] - 2)) * r["g"], 1),
        ("decay", "new", lambda r: r["theta"] - 0.5 / (1 + 0.5 * r["t"]) * r["g"], 1),
        ("momentum_lab", "v", lambda r: 0.9 * _prev(r, "v") - 0.5 * 0.9 ** r["t"] * r["grad"], 1),
        ("momentum_lab", "v", lambda r: 0.9 * _prev(r, "v") - 0.5 * 0.9 ** (r["t"] - 2) * r["grad"], 2),
    ],
    "weight_decay_sign_flipped": [
        ("decay", "g", lambda r: r["grad"] - 0.01 * r["theta"], 1),
        ("decay", "new", lambda r: r["theta"] - r["lr"] * (r["grad"] - 0.01 * r["theta"]), 1),
        ("adamw", "new", lambda r: r["theta"] + r["lr"] * 0.1 * r["theta"] - r["step"], 1),
    ],
    "weight_decay_omitted": [
        ("decay", "g", lambda r: r["grad"], 1),
        ("decay", "new", lambda r: r["theta"] - r["lr"] * r["grad"], 1),
        ("adamw", "new", lambda r: r["theta"] - r["step"], 1),
    ],
    "weight_decay_halved": [
        ("decay", "g", lambda r: r["grad"] + 0.005 * r["theta"], 1),
        ("decay", "new", lambda r: r["theta"] - r["lr"] * (r["grad"] + 0.005 * r["theta"]), 1),
        ("adamw", "new", lambda r: r["theta"] - r["lr"] * 0.05 * r["theta"] - r["step"], 1),
    ],
    "adamw_decay_in_gradient": [
        ("adamw", "m", lambda r: 0.9 * _prev(r, "m") + 0.1 * (r["grad"] + 0.1 * r["theta"]), 1),
        ("adamw", "v", lambda r: 0.999 * _prev(r, "v") + 0.001 * (r["grad"] + 0.1 * r["theta"]) ** 2, 1),
    ],
    "previous_step_values": [
        ("adam", "m", lambda r: _prev(r, "m"), 2),
        ("adam", "v", lambda r: _prev(r, "v"), 2),
        ("momentum", "v", lambda r: _prev(r, "v"), 2),
        ("rmsprop", "v", lambda r: _prev(r, "v"), 2),
        ("adagrad", "s", lambda r: _prev(r, "s"), 2),
        ("nesterov", "v", lambda r: _prev(r, "v"), 2),
    ],
    "momentum_convention_mixed": [
        ("momentum", "v", lambda r: 0.9 * _prev(r, "v") - 0.5 * r["grad"], 1),
        ("momentum", "new", lambda r: r["theta"] + r["v"], 1),
        ("momentum_lab", "new", lambda r: r["theta"] - r["lr"] * r["v"], 1),
    ],
    "momentum_convention_other": [
        # the lab's convention kept throughout, from v = 0: v_lab = -lr * v_pytorch at a constant rate
        ("momentum", "v", lambda r: -0.5 * r["v"], 2),
        ("momentum_ema", "v", lambda r: r["v"] / 0.2, 2),
    ],
    "update_sign_flipped": [
        ("adam", "new", lambda r: r["theta"] + r["step"], 1),
        ("momentum", "new", lambda r: r["theta"] + 0.5 * r["v"], 1),
        ("momentum_lab", "new", lambda r: r["theta"] - r["v"], 1),
        ("nesterov", "new", lambda r: r["theta"] + 0.5 * r["d"], 1),
        ("rmsprop", "new", lambda r: r["theta"] + r["step"], 1),
        ("adagrad", "new", lambda r: r["theta"] + r["step"], 1),
        ("nadam", "new", lambda r: r["theta"] + r["step"], 1),
        ("decay", "new", lambda r: r["theta"] + r["lr"] * r["g"], 1),
    ],
    "learning_rate_omitted": [
        ("adam", "step", lambda r: r["m_hat"] / (math.sqrt(r["v_hat"]) + 1e-8), 1),
        ("adam", "new", lambda r: _adam_new(r, r["m_hat"], r["v_hat"], lr=1.0), 1),
        ("momentum", "new", lambda r: r["theta"] - r["v"], 1),
        ("momentum_ema", "new", lambda r: r["theta"] - r["v"], 1),
        ("momentum_lab", "v", lambda r: 0.9 * _prev(r, "v") - r["grad"], 1),
        ("nesterov", "new", lambda r: r["theta"] - r["d"], 1),
        ("rmsprop", "step", lambda r: r["grad"] / (math.sqrt(r["v"]) + 1e-8), 1),
        ("adagrad", "new", lambda r: r["theta"] - r["grad"] / (math.sqrt(r["s"]) + 1e-10), 1),
        ("decay", "new", lambda r: r["theta"] - r["g"], 1),
    ],
    "update_not_applied": [
        ("adam", "new", lambda r: r["theta"], 2),
        ("momentum", "new", lambda r: r["theta"], 2),
        ("nesterov", "new", lambda r: r["theta"], 2),
        ("rmsprop", "new", lambda r: r["theta"], 2),
        ("decay", "new", lambda r: r["theta"], 2),
    ],
}

#: The weights every case is tried on: w5 (h1 -> o1) and w1 (i1 -> h1).
WEIGHTS = ((2, 1, 1), (1, 1, 1))
CASES = [(mistake, setup, quantity, wrong, k, where)
         for mistake, rules in WRONG.items() for n, (setup, quantity, wrong, first) in enumerate(rules)
         for k in range(first, 4) for where in WEIGHTS]


def _key(quantity: str, where: tuple[int, int, int]) -> str:
    l, j, i = where
    return f"{quantity}_w{l}_{j}_{i}"


_TRACES: dict[tuple[str, int], object] = {}


def trace_at(setup: str, k: int):
    """The engine's trace of step k of the setup's problem (cached: many cases share one)."""
    if (setup, k) not in _TRACES:
        problem = parse_problem(SETUPS[setup].text(), source=f"{setup}.yaml")
        _TRACES[setup, k] = open_problem(problem, step=k)
    return _TRACES[setup, k]


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_independent_implementation_agrees_with_the_engine(setup, k):
    trace = trace_at(setup, k)
    for record in run(SETUPS[setup], k):
        for name, value in record.items():
            if name in ("where", "theta", "grad", "state", "t", "lr"):
                continue
            key = _key(name, record["where"])
            if name == "g" and key not in trace:
                continue
            assert trace[key].value == pytest.approx(value, rel=1e-9, abs=1e-15), key


def _grade(trace, key: str, text: str):
    result = Grader(trace).grade_text(f"{key}: {text}\n")
    (row,) = [r for r in result.results if r.verdict != "missing"]
    return row


@pytest.mark.parametrize("mistake,setup,quantity,wrong,k,where", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-step{c[4]}-w{c[5][0]}{c[5][1]}{c[5][2]}-{n}"
                              for n, c in enumerate(CASES)])
def test_each_optimizer_mistake_is_diagnosed_on_its_sheet(mistake, setup, quantity, wrong, k, where):
    trace = trace_at(setup, k)
    record = next(r for r in run(SETUPS[setup], k) if r["where"] == where)
    value = wrong(record)
    key = _key(quantity, where)
    truth = trace[key].value
    if not math.isfinite(value):
        pytest.skip("the wrong rule takes the root of a negative number at this weight and step")
    assert math.isfinite(value) and not math.isclose(value, truth, rel_tol=1e-6), "the case shows no mistake"
    for text in (repr(value), f"{value:#.6g}"):  # at full precision and to 6 significant figures
        row = _grade(trace, key, text)
        assert (row.verdict, row.diagnosis and row.diagnosis.id) == ("wrong", mistake), (key, text, truth)


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_right_answers_are_never_diagnosed(setup, k):
    trace = trace_at(setup, k)
    keys = [q.key for q in trace.quantities if q.kind.startswith("opt_") or q.kind == "new_weight"]
    sheet = "".join(f"{key}: {trace[key].value!r}\n" for key in keys)
    result = Grader(trace).grade_text(sheet)
    assert {r.key: r.verdict for r in result.results if r.key in keys} == dict.fromkeys(keys, "correct")


def _adam_wrong_t(r):
    m_hat, v_hat = r["m"] / (1 - 0.9 ** (r["t"] - 1)), r["v"] / (1 - 0.999 ** (r["t"] - 1))
    step = r["lr"] * m_hat / (math.sqrt(v_hat) + 1e-8)
    return {"m": r["m"], "v": r["v"], "m_hat": m_hat, "v_hat": v_hat, "step": step, "new": r["theta"] - step}


def _nesterov_no_lookahead(r):
    return {"v": r["v"], "d": r["grad"], "new": r["theta"] - r["lr"] * r["grad"]}


def _decay_omitted(r):
    return {"g": r["grad"], "new": r["theta"] - r["lr"] * r["grad"]}


#: A student who makes one mistake and carries on with it, writing every quantity of w5: (setup, their
#: values from a record, the quantities the mistake itself gives, the mistake's id)
WHOLE_SHEETS = [
    ("adam", _adam_wrong_t, {"m_hat", "v_hat"}, "bias_correction_wrong_t"),
    ("nesterov", _nesterov_no_lookahead, {"d"}, "nesterov_lookahead_ignored"),
    ("decay", _decay_omitted, {"g"}, "weight_decay_omitted"),
]


@pytest.mark.parametrize("setup,student,slips,mistake", WHOLE_SHEETS, ids=[case[3] for case in WHOLE_SHEETS])
@pytest.mark.parametrize("k", [2, 3])
def test_a_mistake_carried_on_is_named_where_made_and_followed_through_after(setup, student, slips, mistake, k):
    trace = trace_at(setup, k)
    record = next(r for r in run(SETUPS[setup], k) if r["where"] == (2, 1, 1))
    values = student(record)
    sheet = "".join(f"{_key(name, (2, 1, 1))}: {value!r}\n" for name, value in values.items())
    rows = {r.key: r for r in Grader(trace).grade_text(sheet).results if r.verdict != "missing"}
    for name in values:
        row = rows[_key(name, (2, 1, 1))]
        if name in slips:
            expected = ("wrong", mistake)
        elif name in ("step", "new"):  # computed from the slip: follow-through
            expected = ("follow_through", None)
        else:
            expected = ("correct", None)
        assert (row.verdict, row.diagnosis and row.diagnosis.id) == expected, name


@pytest.mark.parametrize("k", [1, 2, 3])
def test_grade_step_k_names_the_mistake_on_the_command_line(invoke, tmp_path, k):
    record = next(r for r in run(SETUPS["momentum"], k) if r["where"] == (2, 1, 1))
    wrong = record["theta"] - record["v"]  # momentum's w5+ with the rate left out
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text(f"w5+: {wrong:.6f}\n")
    result = invoke("grade", "mazur-momentum-2-2-2", str(sheet), "--step", str(k))
    assert result.exit_code == 0, result.output
    assert "w5+ (new_w2_1_1), wrong: learning_rate_omitted" in result.stdout
