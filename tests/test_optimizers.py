"""Every optimizer and schedule against an independent implementation of its published update rule.

The reference rules below are written from the published algorithms (PyTorch's documentation of
torch.optim.SGD, Adagrad, RMSprop, Adam, AdamW and NAdam; the Birzeit lecture's momentum and decay; the
NYCU lab's classical momentum), one plain loop each, sharing nothing with tutor.model.optimizers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.model.optimizers import OPTIMIZERS, make_optimizer
from tutor.model.optimizers.base import MISTAKES, STEP_MISTAKES
from tutor.model.options import SpecError
from tutor.model.schedules import SCHEDULES, make_schedule
from tutor.teach.expression import evaluate
from tutor.trace.quantity import Quantity, Term

THETA0 = np.array([[0.4, -0.25, 0.0], [1.3, -0.7, 0.05]])
STEPS = 5


def gradient_at(theta: np.ndarray, t: int) -> np.ndarray:
    """A gradient that depends on the parameter and the step (a quadratic bowl plus a drift)."""
    return 0.8 * (theta - 0.1) + 0.05 * np.sin(t + np.arange(theta.size).reshape(theta.shape))


def penalised(g, theta, wd, l1):
    return g + wd * theta + l1 * np.sign(theta)


# -- the reference rules: (theta, g, state dict, t, lr, options) -> theta -------------------------------


def ref_sgd(theta, g, s, t, lr, o):
    return theta - lr * penalised(g, theta, o["wd"], o["l1"])


def ref_momentum(theta, g, s, t, lr, o):
    g = penalised(g, theta, o["wd"], o["l1"])
    mu = o["momentum"]
    v = s.get("v", np.zeros_like(theta))
    if o["form"] == "pytorch":  # PyTorch: b_t = mu b_{t-1} + g_t (b_1 = g_1); theta - lr b_t
        v = g if t == 1 else mu * v + g
        s["v"] = v
        return theta - lr * v
    if o["form"] == "ema":  # lecture: velocity = beta velocity + (1 - beta) gradient; theta - alpha velocity
        v = mu * v + (1 - mu) * g
        s["v"] = v
        return theta - lr * v
    v = mu * v - lr * g  # lab: nu = eta nu - alpha grad; w = nu + w
    s["v"] = v
    return v + theta


def ref_nesterov(theta, g, s, t, lr, o):
    g = penalised(g, theta, o["wd"], o["l1"])
    mu = o["momentum"]
    b = g if t == 1 else mu * s["b"] + g
    s["b"] = b
    return theta - lr * (g + mu * b)


def ref_adagrad(theta, g, s, t, lr, o):
    g = penalised(g, theta, o["wd"], o["l1"])
    total = s.get("sum", np.full_like(theta, o.get("initial_accumulator_value", 0.0))) + g ** 2
    s["sum"] = total
    return theta - lr * g / (np.sqrt(total) + o["eps"])


def ref_rmsprop(theta, g, s, t, lr, o):
    g = penalised(g, theta, o["wd"], o["l1"])
    sq = o["alpha"] * s.get("sq", 0.0) + (1 - o["alpha"]) * g ** 2
    s["sq"] = sq
    return theta - lr * g / (np.sqrt(sq) + o["eps"])


def _adam_moments(g, s, o):
    m = o["beta1"] * s.get("m", 0.0) + (1 - o["beta1"]) * g
    v = o["beta2"] * s.get("v", 0.0) + (1 - o["beta2"]) * g * g
    s["m"], s["v"] = m, v
    return m, v


def ref_adam(theta, g, s, t, lr, o):
    g = penalised(g, theta, o["wd"], o["l1"])
    m, v = _adam_moments(g, s, o)
    m_hat = m / (1 - o["beta1"] ** t)
    v_hat = v / (1 - o["beta2"] ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + o["eps"])


def ref_adamw(theta, g, s, t, lr, o):
    theta = theta * (1 - lr * o["wd"])  # PyTorch: theta_t <- theta_{t-1} - gamma lambda theta_{t-1}
    g = g + o["l1"] * np.sign(theta / (1 - lr * o["wd"]))
    m, v = _adam_moments(g, s, o)
    return theta - lr * (m / (1 - o["beta1"] ** t)) / (np.sqrt(v / (1 - o["beta2"] ** t)) + o["eps"])


def ref_nadam(theta, g, s, t, lr, o):
    g = penalised(g, theta, o["wd"], o["l1"])
    b1, psi = o["beta1"], o["momentum_decay"]
    mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
    s["mu_product"] = s.get("mu_product", 1.0) * mu  # as PyTorch keeps it: a running product
    m, v = _adam_moments(g, s, o)
    m_hat = mu_next * m / (1 - s["mu_product"] * mu_next) + (1 - mu) * g / (1 - s["mu_product"])
    v_hat = v / (1 - o["beta2"] ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + o["eps"])


REFERENCES = {
    "sgd": ref_sgd, "momentum": ref_momentum, "nesterov": ref_nesterov, "adagrad": ref_adagrad,
    "rmsprop": ref_rmsprop, "adam": ref_adam, "adamw": ref_adamw, "nadam": ref_nadam,
}

#: (spec, the reference's options) for every optimizer, every momentum form, defaults and chosen options.
CASES = [
    ({"name": "sgd"}, {}),
    ({"name": "momentum"}, {"momentum": 0.9, "form": "pytorch"}),
    ({"name": "momentum", "momentum": 0.5, "form": "ema"}, {"momentum": 0.5, "form": "ema"}),
    ({"name": "momentum", "momentum": 0.7, "form": "classical"}, {"momentum": 0.7, "form": "classical"}),
    ({"name": "nesterov", "momentum": 0.8}, {"momentum": 0.8}),
    ({"name": "adagrad"}, {"eps": 1e-10}),
    ({"name": "adagrad", "eps": 0.01, "initial_accumulator_value": 0.1},
     {"eps": 0.01, "initial_accumulator_value": 0.1}),
    ({"name": "rmsprop"}, {"alpha": 0.99, "eps": 1e-8}),
    ({"name": "rmsprop", "alpha": 0.9, "eps": 0.001}, {"alpha": 0.9, "eps": 0.001}),
    ({"name": "adam"}, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ({"name": "adam", "beta1": 0.8, "beta2": 0.95, "eps": 0.01}, {"beta1": 0.8, "beta2": 0.95, "eps": 0.01}),
    ({"name": "adamw"}, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "wd": 0.01}),
    ({"name": "nadam"}, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "momentum_decay": 0.004}),
    ({"name": "nadam", "beta1": 0.85, "momentum_decay": 0.3},
     {"beta1": 0.85, "beta2": 0.999, "eps": 1e-8, "momentum_decay": 0.3}),
]
PENALTIES = [{}, {"weight_decay": 0.05}, {"l1": 0.02}, {"weight_decay": 0.03, "l1": 0.01}]


def run_reference(name: str, options: dict, steps: int, lr: float) -> list[np.ndarray]:
    theta, state, path = THETA0.copy(), {}, []
    for t in range(1, steps + 1):
        theta = REFERENCES[name](theta, gradient_at(theta, t), state, t, lr, options)
        path.append(theta)
    return path


def run_ours(spec: dict, steps: int, lr: float) -> list[np.ndarray]:
    optimizer = make_optimizer(spec)
    theta = THETA0.copy()
    state = optimizer.init_state(theta)
    path = []
    for t in range(1, steps + 1):
        theta, state = optimizer.step(theta, gradient_at(theta, t), state, t, lr)
        path.append(theta)
    return path


@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: "+".join(p) or "plain")
@pytest.mark.parametrize("spec,options", CASES, ids=lambda c: str(c.get("form", c.get("name", ""))) if "name" in c
                         else "")
def test_every_optimizer_follows_its_published_rule(spec, options, penalty):
    reference = {"wd": 0.0, "l1": 0.0, **options}
    if "weight_decay" in penalty:
        reference["wd"] = penalty["weight_decay"]
    reference["l1"] = penalty.get("l1", 0.0)
    ours = run_ours({**spec, **penalty}, STEPS, lr=0.05)
    theirs = run_reference(spec["name"], reference, STEPS, lr=0.05)
    for t, (a, b) in enumerate(zip(ours, theirs), start=1):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {t}")
    assert not np.allclose(ours[-1], THETA0)


def test_adam_by_hand_first_step():
    """Adam's first step moves every parameter by about lr (m^ / sqrt(v^) = g / |g| when v starts at 0)."""
    optimizer = make_optimizer({"name": "adam"})
    theta = np.array([1.0, -2.0])
    new, state = optimizer.step(theta, np.array([0.3, -0.004]), optimizer.init_state(theta), 1, 0.1)
    np.testing.assert_allclose(new, [0.9, -1.9], rtol=1e-6)
    np.testing.assert_allclose(state["m"], [0.03, -0.0004])
    np.testing.assert_allclose(state["v"], [0.001 * 0.09, 0.001 * 0.000016])


def test_state_can_start_at_step_t():
    """Steps 3-5 from the state after step 2 give what steps 1-5 give."""
    optimizer = make_optimizer({"name": "nadam", "weight_decay": 0.01})
    theta = THETA0.copy()
    state = optimizer.init_state(theta)
    for t in (1, 2):
        theta, state = optimizer.step(theta, gradient_at(theta, t), state, t, 0.05)
    fresh = make_optimizer({"name": "nadam", "weight_decay": 0.01})
    for t in (3, 4, 5):
        theta, state = fresh.step(theta, gradient_at(theta, t), state, t, 0.05)
    np.testing.assert_allclose(theta, run_ours({"name": "nadam", "weight_decay": 0.01}, 5, 0.05)[-1], rtol=1e-13)


def test_step_does_not_change_its_inputs():
    optimizer = make_optimizer({"name": "adam", "weight_decay": 0.1})
    theta, grad = THETA0.copy(), gradient_at(THETA0, 1)
    state = optimizer.init_state(theta)
    before = {k: v.copy() for k, v in state.items()}
    optimizer.step(theta, grad, state, 1, 0.1)
    np.testing.assert_array_equal(theta, THETA0)
    for k in state:
        np.testing.assert_array_equal(state[k], before[k])


# -- the named quantities: the same rules on single numbers, with formulas that evaluate -----------------


def _scalar_walk(optimizer, theta: float, grad: float, prev: dict[str, float], t: int, lr: float):
    """Run the rules on numbers; yield each rule with its value and its formula as a Quantity."""
    values: dict[str, float] = {"grad": grad, "theta": theta, "lr": lr, "t": t}
    terms: dict[str, Term] = {"grad": Term("dL/dw", grad), "theta": Term("w", theta), "lr": Term("eta", lr),
                              "t": Term("t", float(t))}
    for name in optimizer.state_names:
        values[f"{name}_prev"] = prev[name]
        terms[f"{name}_prev"] = Term(f"{name}_prev", prev[name])
    for rule in optimizer.rules:
        value = float(rule.compute(*(values[n] for n in rule.inputs)))
        parts = rule.formula(*(terms[n] for n in rule.inputs))
        values[rule.name] = value
        terms[rule.name] = Term(rule.symbol, value)
        yield rule, value, Quantity(rule.name, "net", None, (), value, rule.symbol, tuple(parts), (),
                                    lambda: value)


@pytest.mark.parametrize("penalty", [{}, {"weight_decay": 0.05, "l1": 0.01}], ids=["plain", "penalised"])
@pytest.mark.parametrize("spec", [case[0] for case in CASES], ids=lambda s: s["name"] + s.get("form", ""))
def test_every_formula_evaluates_to_its_value(spec, penalty):
    """Each rule's substituted formula, read by the students' expression evaluator, gives its value."""
    optimizer = make_optimizer({**spec, **penalty})
    prev = {name: 0.01 * (k + 1) for k, name in enumerate(optimizer.state_names)}
    walked = list(_scalar_walk(optimizer, -0.35, 0.21, prev, 3, 0.1))
    assert walked[-1][0].name == "new"
    for rule, value, q in walked:
        shown = q.substituted(lambda v: repr(float(v)))
        assert evaluate(shown) == pytest.approx(value, rel=1e-12, abs=1e-15), (rule.name, shown)
        assert all(isinstance(p, (str, Term)) for p in q.formula)


@pytest.mark.parametrize("spec", [case[0] for case in CASES], ids=lambda s: s["name"] + s.get("form", ""))
def test_scalar_rules_agree_with_step(spec):
    optimizer = make_optimizer({**spec, "l1": 0.01})
    theta, grad = np.array([-0.35]), np.array([0.21])
    state = {name: np.array([0.01 * (k + 1)]) for k, name in enumerate(optimizer.state_names)}
    new, after = optimizer.step(theta, grad, state, 3, 0.1)
    walked = {rule.name: value for rule, value, _ in
              _scalar_walk(optimizer, -0.35, 0.21, {k: float(v[0]) for k, v in state.items()}, 3, 0.1)}
    assert walked["new"] == pytest.approx(float(new[0]), rel=1e-14)
    for name in optimizer.state_names:
        assert walked[name] == pytest.approx(float(after[name][0]), rel=1e-14)


def test_intermediates_are_named_as_documented():
    names = {name: [r.name for r in make_optimizer({"name": name, "weight_decay": 0.1}).rules] for name in OPTIMIZERS}
    assert names["adam"] == ["g", "m", "v", "m_hat", "v_hat", "step", "new"]
    assert names["adamw"] == ["m", "v", "m_hat", "v_hat", "step", "new"]  # decoupled: g is not penalised
    assert names["momentum"] == ["g", "v", "new"]
    assert names["nesterov"] == ["g", "v", "d", "new"]
    assert names["adagrad"] == ["g", "s", "step", "new"]
    assert [r.name for r in make_optimizer("sgd").rules] == ["new"]


# -- mistakes -------------------------------------------------------------------------------------------


def _mistake_values(optimizer, rule_name: str, values: dict[str, float]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for mistake in optimizer.mistakes():
        if mistake.rule == rule_name:
            found.setdefault(mistake.id, []).extend(mistake.wrong(*(values[n] for n in mistake.inputs)))
    return found


def _values(optimizer, theta=0.5, grad=0.2, t=2, lr=0.1):
    prev = {name: 0.04 for name in optimizer.state_names}
    return {**{f"{k}_prev": v for k, v in prev.items()}, "theta": theta, "grad": grad, "t": t, "lr": lr,
            **{rule.name: value for rule, value, _ in _scalar_walk(optimizer, theta, grad, prev, t, lr)}}


def test_mistake_ids_are_catalogued():
    for spec, _ in CASES:
        optimizer = make_optimizer(spec)
        names = {rule.name for rule in optimizer.rules}
        for mistake in optimizer.catalogued_mistakes():
            assert (mistake.id in MISTAKES or mistake.id in STEP_MISTAKES) and mistake.rule in names
    used = {m.id for name in OPTIMIZERS
            for m in make_optimizer({"name": name, "weight_decay": 0.01}).catalogued_mistakes()}
    assert used == set(MISTAKES) | set(STEP_MISTAKES)


def test_adam_mistakes_give_the_wrong_values_by_hand():
    adam = make_optimizer({"name": "adam", "eps": 0.01})
    v = _values(adam)
    m = 0.9 * 0.04 + 0.1 * 0.2
    second = 0.999 * 0.04 + 0.001 * 0.04
    assert _mistake_values(adam, "m", v)["beta_swapped"] == [pytest.approx(0.1 * 0.04 + 0.9 * 0.2)]
    assert _mistake_values(adam, "v", v)["beta_swapped"] == [pytest.approx(0.001 * 0.04 + 0.999 * 0.04)]
    assert _mistake_values(adam, "m_hat", v)["bias_correction_omitted"] == [pytest.approx(m)]
    assert _mistake_values(adam, "step", v)["bias_correction_omitted"] == [
        pytest.approx(0.1 * m / (math.sqrt(second) + 0.01))]
    m_hat, v_hat = m / (1 - 0.9 ** 2), second / (1 - 0.999 ** 2)
    assert _mistake_values(adam, "step", v)["epsilon_inside_sqrt"] == [
        pytest.approx(0.1 * m_hat / math.sqrt(v_hat + 0.01))]


def test_adagrad_and_momentum_mistakes():
    adagrad = make_optimizer({"name": "adagrad"})
    assert _mistake_values(adagrad, "s", _values(adagrad))["adagrad_accumulates_g"] == [pytest.approx(0.24)]
    momentum = make_optimizer({"name": "momentum", "momentum": 0.9})
    v = _values(momentum)
    assert sorted(_mistake_values(momentum, "v", v)["momentum_convention_mixed"]) == pytest.approx(
        sorted([0.9 * 0.04 + 0.1 * 0.2, 0.9 * 0.04 - 0.1 * 0.2]))
    new_values = _mistake_values(momentum, "new", v)["momentum_convention_mixed"]
    assert pytest.approx(0.5 + v["v"]) in new_values
    assert v["new"] not in new_values


# -- options --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,key,words", [
    ({"name": "adma"}, "name", "did you mean 'adam'"),
    ({"name": "adam", "beta_1": 0.9}, "beta_1", "did you mean 'beta1'"),
    ({"name": "adam", "beta1": 1.0}, "beta1", "must be less than 1"),
    ({"name": "adam", "eps": -1e-8}, "eps", "must be more than 0"),
    ({"name": "adagrad", "eps": 0}, "eps", "must be more than 0"),  # 0 / 0 at a zero gradient
    ({"name": "adam", "beta2": "high"}, "beta2", "expected a number"),
    ({"name": "adam", "beta2": True}, "beta2", "expected a number"),
    ({"name": "momentum", "form": "nycu"}, "form", "expected one of pytorch, ema, classical"),
    ({"name": "momentum", "form": "pytorc"}, "form", "did you mean 'pytorch'"),
    ({"name": "sgd", "weight_decay": -0.1}, "weight_decay", "must be at least 0"),
    ({"name": "rmsprop", "alpha": 1.5}, "alpha", "must be at most 1"),
    ({"name": "nadam", "momentum_decay": float("nan")}, "momentum_decay", "expected a number"),
    ({"beta1": 0.9}, None, "missing key 'name'"),
])
def test_bad_options_name_the_key(spec, key, words):
    with pytest.raises(SpecError) as info:
        make_optimizer(spec)
    assert info.value.key == key
    assert words in str(info.value)
    assert str(info.value).startswith(f"optimizer.{key}:" if key else "optimizer:")


def test_defaults_are_pytorchs():
    assert make_optimizer("adam").values == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
                                             "l1": 0.0}
    assert make_optimizer("adamw").values["weight_decay"] == 0.01
    assert make_optimizer("nadam").values["momentum_decay"] == 0.004
    assert make_optimizer("rmsprop").values["alpha"] == 0.99
    assert make_optimizer("adagrad").values["eps"] == 1e-10
    assert make_optimizer(None).name == "sgd"
    assert make_optimizer({"name": "adam", "beta1": 0.8}).describe() == "adam(beta1=0.8)"


# -- schedules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,expected", [
    (None, lambda e: 0.5),
    ({"name": "constant"}, lambda e: 0.5),
    ({"name": "inverse_time", "decay": 0.2}, lambda e: 0.5 * (1 / (1 + 0.2 * e))),  # the lecture's formula
    ({"name": "step", "step_size": 3}, lambda e: 0.5 * 0.1 ** (e // 3)),  # PyTorch StepLR, gamma 0.1
    ({"name": "step", "step_size": 2, "gamma": 0.5}, lambda e: 0.5 * 0.5 ** (e // 2)),
    ({"name": "exponential", "gamma": 0.9}, lambda e: 0.5 * 0.9 ** e),
])
def test_schedules(spec, expected):
    schedule = make_schedule(spec)
    for epoch in range(8):
        assert schedule.rate(0.5, epoch) == pytest.approx(expected(epoch), rel=1e-14)
        parts = schedule.formula(Term("eta0", 0.5), Term("epoch", float(epoch)))
        shown = Quantity("lr", "net", None, (), 0, "eta", tuple(parts), (), lambda: 0).substituted(repr)
        assert evaluate(shown) == pytest.approx(expected(epoch), rel=1e-12)


@pytest.mark.parametrize("spec,key,words", [
    ({"name": "inverse_time"}, None, "needs 'decay'"),
    ({"name": "step", "step_size": 0}, "step_size", "whole number"),
    ({"name": "step", "step_size": 2.5}, "step_size", "whole number"),
    ({"name": "exponental", "gamma": 0.9}, "name", "did you mean 'exponential'"),
    ({"name": "exponential", "gamma": 0.9, "decay": 1}, "decay", "does not take"),
])
def test_bad_schedules(spec, key, words):
    with pytest.raises(SpecError) as info:
        make_schedule(spec)
    assert info.value.key == key and words in str(info.value)


def test_every_schedule_is_registered():
    assert set(SCHEDULES) == {"constant", "inverse_time", "step", "exponential"}


# -- PyTorch itself, where it is installed --------------------------------------------------------------

TORCH_CASES = [
    ({"name": "sgd", "weight_decay": 0.05}, "SGD", {"weight_decay": 0.05}),
    ({"name": "momentum", "momentum": 0.9, "weight_decay": 0.05}, "SGD", {"momentum": 0.9, "weight_decay": 0.05}),
    ({"name": "nesterov", "momentum": 0.8}, "SGD", {"momentum": 0.8, "nesterov": True}),
    ({"name": "adagrad", "weight_decay": 0.02}, "Adagrad", {"weight_decay": 0.02}),
    ({"name": "rmsprop", "alpha": 0.9}, "RMSprop", {"alpha": 0.9}),
    ({"name": "adam", "weight_decay": 0.05}, "Adam", {"weight_decay": 0.05}),
    ({"name": "adamw"}, "AdamW", {}),
    ({"name": "adamw", "weight_decay": 0.2, "beta1": 0.8}, "AdamW", {"weight_decay": 0.2, "betas": (0.8, 0.999)}),
    ({"name": "nadam", "weight_decay": 0.01}, "NAdam", {"weight_decay": 0.01}),
    ({"name": "nadam", "momentum_decay": 0.3}, "NAdam", {"momentum_decay": 0.3}),
]


@pytest.mark.parametrize("spec,cls,kwargs", TORCH_CASES, ids=lambda c: c["name"] if isinstance(c, dict) and "name"
                         in c else "")
def test_against_torch_optim(spec, cls, kwargs):
    torch = pytest.importorskip("torch")
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # else PyTorch keeps NAdam's running product in float32
    try:
        final = _torch_run(torch, cls, kwargs)
    finally:
        torch.set_default_dtype(default)
    np.testing.assert_allclose(run_ours(spec, STEPS, 0.05)[-1], final, rtol=1e-12, atol=1e-14)


def _torch_run(torch, cls: str, kwargs: dict) -> np.ndarray:
    param = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    optim = getattr(torch.optim, cls)([param], lr=0.05, **kwargs)
    for t in range(1, STEPS + 1):
        optim.zero_grad()
        param.grad = torch.tensor(gradient_at(param.detach().numpy(), t), dtype=torch.float64)
        optim.step()
    return param.detach().numpy()


# -- docs -----------------------------------------------------------------------------------------------


def test_every_optimizer_and_schedule_is_documented():
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "optimizers.md").read_text()
    for name in [*OPTIMIZERS, *SCHEDULES]:
        assert f"| `{name}`" in text
    for mistake in MISTAKES:
        assert f"`{mistake}`" in text


def test_the_docs_code_example_runs():
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "optimizers.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    scope = {"weights": THETA0.copy(), "grad": gradient_at(THETA0, 1)}
    exec(compile(code, "docs/optimizers.md", "exec"), scope)  # noqa: S102 - our own docs
    assert scope["rate"] == pytest.approx(0.1 / 2.5)
    assert not np.allclose(scope["weights"], THETA0)
