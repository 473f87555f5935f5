"""What every optimizer has: checked options, a state per parameter, one `step`, and the named
intermediate quantities of that step.

An optimizer is written once, as a list of `Rule`s: each computes one named quantity (``m``, ``v_hat``,
``step``, ``new``) from earlier ones and from the step's givens, and says how its formula reads. `step`
runs the rules on whole arrays; the trace runs the same rules on single numbers to show each one with
its formula and to follow a student's own numbers through the optimizer's state.

The givens a rule may use:

- ``grad``: the gradient of the loss (dL/dw); ``g``: the gradient the optimizer uses, which is ``grad``
  plus ``weight_decay * theta`` and ``l1 * sign(theta)`` when those are set (a rule of its own then);
- ``theta``: the parameter before the step; ``lr``: the step's learning rate; ``t``: the step number (1-based);
- ``<name>_prev`` for each entry of the state (``m_prev``): the state the step starts from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from tutor.model.options import Option, read_options
from tutor.trace.quantity import Part, Term

#: The options every optimizer takes (adamw replaces weight_decay by its decoupled form).
REGULARISATION = (
    Option("weight_decay", 0.0, "L2 penalty: weight_decay * theta is added to the gradient", low=0.0),
    Option("l1", 0.0, "L1 penalty: l1 * sign(theta) is added to the gradient", low=0.0),
)


@dataclass(frozen=True)
class Rule:
    """One named quantity of an update: how it is computed and how its formula reads.

    `compute` and `formula` take their inputs in the order of `inputs`: numbers (or arrays, for
    `compute`) and `Term`s (a symbol with its value) respectively.
    """

    name: str  # the key stem: "m", "v_hat", "step", "new"
    symbol: str  # how it is written: "m", "v_hat", "step"
    meaning: str  # in words, for quiz questions and docs
    inputs: tuple[str, ...]
    compute: Callable[..., Any]
    formula: Callable[..., list[Part]]


@dataclass(frozen=True)
class RuleMistake:
    """A catalogued wrong way to compute the quantity `rule`: what it would give, from `inputs`."""

    id: str
    rule: str
    inputs: tuple[str, ...]
    wrong: Callable[..., list[float]]


#: Every optimizer mistake's id with its explanation (each optimizer says where it applies).
MISTAKES: dict[str, str] = {
    "bias_correction_omitted":
        "the bias correction was left out: m_hat = m / (1 - beta1^t) and v_hat = v / (1 - beta2^t), which matter "
        "most in the first steps",
    "epsilon_inside_sqrt":
        "epsilon was put inside the square root, sqrt(v + eps); it is added after it: sqrt(v) + eps",
    "beta_swapped":
        "beta and 1 - beta were swapped: the running mean keeps beta of the old value and adds (1 - beta) "
        "of the new one",
    "adagrad_accumulates_g":
        "Adagrad's sum accumulated the gradient g; it accumulates the squared gradient g^2",
    "momentum_convention_mixed":
        "two momentum conventions were mixed: PyTorch's v = mu v + g, w - lr v; the lecture's "
        "v = beta v + (1 - beta) g, w - lr v; the lab's v = mu v - lr g, w + v",
    "momentum_convention_other":
        "the velocity was kept in another course's convention throughout (the lab's v = mu v - lr g, w + v; "
        "PyTorch's v = mu v + g, w - lr v; the lecture's v = beta v + (1 - beta) g): use the problem's form",
    "bias_correction_wrong_t":
        "the bias correction used the wrong step number: m_hat = m / (1 - beta1^t) with t the number of this "
        "step (1 for the first), not t - 1 or t + 1",
    "second_moment_not_squared":
        "the second moment was built from the gradient g; it is a running mean of the squared gradient g^2",
    "velocity_not_carried":
        "the velocity did not carry the previous one: v = mu * v_prev + g keeps mu of the last step's velocity",
    "nesterov_lookahead_ignored":
        "Nesterov's look-ahead mu * v was left out: the step follows d = g + mu * v, not the gradient g alone",
    "nesterov_lookahead_old_velocity":
        "Nesterov's look-ahead used the previous velocity (a plain momentum step): d = g + mu * v with this "
        "step's new v, not v_prev",
    "weight_decay_sign_flipped":
        "the weight decay was subtracted from the gradient; L2 adds weight_decay * w (g = dL/dw + wd * w)",
    "weight_decay_omitted":
        "the weight decay was left out; with L2 the gradient is g = dL/dw + weight_decay * w (AdamW: w also "
        "shrinks by lr * weight_decay * w)",
    "weight_decay_halved":
        "the weight decay was halved: the problem's weight_decay is the factor of w itself (g = dL/dw + wd * w), "
        "the derivative of (wd / 2) * w^2",
    "adamw_decay_in_gradient":
        "AdamW's decay was added to the gradient (Adam's L2); AdamW keeps it out of m and v and shrinks w "
        "directly: w - lr * wd * w - step",
    "previous_step_values":
        "a value of the previous step was copied: the state (m, v, s or the velocity) is updated at every step "
        "from the one the step starts from",
}

#: The catalogued mistakes of every optimizer's update (their explanations are the catalogue's own).
STEP_MISTAKES = ("update_sign_flipped", "learning_rate_omitted")


class Optimizer(ABC):
    """An update rule with explicit state: `init_state` once per parameter, then `step` per step."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line, for help texts and docs
    options: ClassVar[tuple[Option, ...]] = ()  # its own options; weight_decay and l1 are added
    state_names: ClassVar[tuple[str, ...]] = ()
    #: State entries that are sums or means of squares, so never negative (a given state is checked).
    squares: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **given: Any) -> None:
        values = read_options("optimizer", self.name, self.all_options(), given)
        self.values: dict[str, Any] = values
        self.weight_decay: float = values.get("weight_decay", 0.0)
        self.l1: float = values.get("l1", 0.0)
        self._catalogued: tuple[RuleMistake, ...] | None = None

    @classmethod
    def all_options(cls) -> tuple[Option, ...]:
        """Its own options, then the regularisation ones."""
        return cls.options + REGULARISATION

    # -- state and step ------------------------------------------------------------------------------

    def init_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """The state before the first step: zeros shaped like the parameter."""
        return {name: np.zeros_like(param, dtype=float) for name in self.state_names}

    def step(self, param: np.ndarray, grad: np.ndarray, state: Mapping[str, np.ndarray], t: int,
             lr: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The parameter after step `t` (1-based) with learning rate `lr`, and the new state."""
        values = self.run(param, grad, state, t, lr)
        return values["new"], {name: values[name] for name in self.state_names}

    def run(self, param: np.ndarray, grad: np.ndarray, state: Mapping[str, np.ndarray], t: int,
            lr: float) -> dict[str, Any]:
        """Every quantity of step `t`: the givens, the state it starts from (``m_prev``) and each rule's value."""
        values: dict[str, Any] = {"grad": grad, "theta": param, "lr": lr, "t": t}
        for name in self.state_names:
            values[f"{name}_prev"] = state[name]
        for name, compute, inputs in self._plan:
            values[name] = compute(*[values[n] for n in inputs])
        return values

    # -- the named quantities ------------------------------------------------------------------------

    @cached_property
    def rules(self) -> tuple[Rule, ...]:
        """The step's quantities in the order they are computed; the last is ``new``."""
        own = self.update_rules(self.gradient_name)
        return (self._regularised(),) + own if self.regularised else own

    @cached_property
    def _plan(self) -> tuple[tuple[str, Callable[..., Any], tuple[str, ...]], ...]:
        return tuple((rule.name, rule.compute, rule.inputs) for rule in self.rules)

    @property
    def regularised(self) -> bool:
        """Whether a penalty changes the gradient (and ``g`` is a quantity of its own)."""
        return bool(self.coupled_decay or self.l1)

    @property
    def coupled_decay(self) -> float:
        """The weight decay added to the gradient (0 where it is decoupled)."""
        return self.weight_decay

    @property
    def gradient_name(self) -> str:
        """What the update rules read as the gradient: ``g`` when penalised, else ``grad`` itself."""
        return "g" if self.regularised else "grad"

    def rule(self, name: str) -> Rule:
        """The rule that computes `name`."""
        return next(r for r in self.rules if r.name == name)

    @abstractmethod
    def update_rules(self, g: str) -> tuple[Rule, ...]:
        """The optimizer's own quantities, reading the gradient as `g`; the last must be ``new``."""

    def mistakes(self) -> tuple[RuleMistake, ...]:
        """The catalogued mistakes particular to this optimizer's quantities."""
        return ()

    def catalogued_mistakes(self) -> tuple[RuleMistake, ...]:
        """Every catalogued mistake on this optimizer's quantities: its own, then those of any update (the
        sign, the rate), of its state (copied from the previous step) and of its weight decay (built once)."""
        if self._catalogued is None:
            self._catalogued = (*self.mistakes(), *self.step_mistakes(), *self.state_mistakes(),
                                *self.decay_mistakes())
        return self._catalogued

    def step_mistakes(self) -> tuple[RuleMistake, ...]:
        """The update's sign flipped (w + step for w - step) and the learning rate left out (taken as 1)."""
        new = self.rule("new")
        flipped = RuleMistake("update_sign_flipped", "new", new.inputs,
                              lambda *given: [2.0 * given[new.inputs.index("theta")] - new.compute(*given)])
        return (flipped, *(_rate_one(rule) for rule in self.rules if "lr" in rule.inputs))

    def state_mistakes(self) -> tuple[RuleMistake, ...]:
        """Each state entry left at the value the step started from."""
        return tuple(RuleMistake("previous_step_values", name, (f"{name}_prev",), lambda prev: [prev])
                     for name in self.state_names)

    def decay_mistakes(self) -> tuple[RuleMistake, ...]:
        """L2 weight decay added with the wrong sign, left out or halved, in the penalised gradient g."""
        decay, l1 = self.coupled_decay, self.l1
        if not decay:
            return ()

        def with_decay(factor: float) -> Callable[[float, float], list[float]]:
            return lambda grad, theta: [grad + factor * decay * theta + l1 * float(np.sign(theta))]

        return tuple(RuleMistake(mistake, "g", ("grad", "theta"), with_decay(factor))
                     for mistake, factor in (("weight_decay_sign_flipped", -1.0), ("weight_decay_omitted", 0.0),
                                             ("weight_decay_halved", 0.5)))

    def _regularised(self) -> Rule:
        decay, l1 = self.coupled_decay, self.l1
        lam, mu = Term("weight_decay", decay), Term("l1", l1)

        def compute(grad, theta):
            g = grad
            if decay:
                g = g + decay * theta
            if l1:
                g = g + l1 * np.sign(theta)
            return g

        def formula(grad: Term, theta: Term) -> list[Part]:
            parts: list[Part] = [grad]
            if decay:
                parts += [" + ", lam, " * ", theta]
            if l1:
                parts += [" + ", mu, " * ", Term(f"sign({theta.symbol})", float(np.sign(theta.value)))]
            return parts

        return Rule("g", "g", "the gradient with the penalties added", ("grad", "theta"), compute, formula)

    def describe(self) -> str:
        """The name with its options that differ from their defaults, e.g. ``adam(beta1=0.8)``."""
        changed = [f"{o.name}={_text(self.values[o.name])}" for o in self.all_options()
                   if self.values[o.name] != o.default]
        return f"{self.name}({', '.join(changed)})" if changed else self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def _rate_one(rule: Rule) -> RuleMistake:
    """Rule `rule` computed with the learning rate left out (as 1)."""
    where = rule.inputs.index("lr")

    def wrong(*given: float) -> list[float]:
        return [float(rule.compute(*given[:where], 1.0, *given[where + 1:]))]

    return RuleMistake("learning_rate_omitted", rule.name, rule.inputs, wrong)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:g}"


# -- pieces of rules that several optimizers share ------------------------------------------------------


def running_mean(name: str, symbol: str, meaning: str, beta_name: str, beta: float, source: str,
                 squared: bool) -> Rule:
    """``beta * prev + (1 - beta) * g`` (or ``g^2``): an exponential moving average from 0."""
    b = Term(beta_name, beta)

    def compute(prev, g):
        return beta * prev + (1.0 - beta) * (g * g if squared else g)

    def formula(prev: Term, g: Term) -> list[Part]:
        tail: list[Part] = ["(", g, ")^2"] if squared else [g]
        return [b, " * ", prev, " + (1 - ", b, ") * ", *tail]

    return Rule(name, symbol, meaning, (f"{name}_prev", source), compute, formula)


def swapped_mean(rule: str, beta: float, source: str, squared: bool) -> RuleMistake:
    """The running mean with beta and 1 - beta swapped."""

    def wrong(prev: float, g: float) -> list[float]:
        return [(1.0 - beta) * prev + beta * (g * g if squared else g)]

    return RuleMistake("beta_swapped", rule, (f"{rule}_prev", source), wrong)


def subtract(step: str = "step") -> Rule:
    """``new = theta - step``."""
    return Rule("new", "new", "the parameter after the step", ("theta", step), lambda theta, s: theta - s,
                lambda theta, s: [theta, " - ", s])


def adaptive_step(eps: float, first: str, second: str, meaning: str) -> Rule:
    """``step = lr * first / (sqrt(second) + eps)``."""
    e = Term("eps", eps)
    return Rule(
        "step", "step", meaning, ("lr", first, second),
        lambda lr, a, b: lr * a / (np.sqrt(b) + eps),
        lambda lr, a, b: [lr, " * ", a, " / (sqrt(", b, ") + ", e, ")"],
    )


def eps_inside(eps: float, first: str, second: str) -> RuleMistake:
    """The adaptive step with epsilon inside the root."""
    return RuleMistake("epsilon_inside_sqrt", "step", ("lr", first, second),
                       lambda lr, a, b: [lr * a / float(np.sqrt(b + eps))])
