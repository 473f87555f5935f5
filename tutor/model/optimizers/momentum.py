"""Gradient descent with momentum, in the three conventions courses use (`form`):

- ``pytorch`` (the default; PyTorch's SGD with momentum): ``v = mu * v + g``, ``new = theta - lr * v``;
- ``ema`` (the Birzeit lecture): ``v = beta * v + (1 - beta) * g``, ``new = theta - lr * v``;
- ``classical`` (the NYCU lab): ``v = mu * v - lr * g``, ``new = theta + v``.

All three start from v = 0; `momentum` is mu (or beta).
"""

from __future__ import annotations

from typing import Callable

from tutor.model.optimizers.base import Optimizer, Rule, RuleMistake
from tutor.model.options import Option
from tutor.trace.quantity import Term

FORMS = ("pytorch", "ema", "classical")


def _velocity(form: str, mu: float) -> Callable[[float, float, float], float]:
    """v from (v_prev, g, lr) in one form."""
    if form == "pytorch":
        return lambda prev, g, lr: mu * prev + g
    if form == "ema":
        return lambda prev, g, lr: mu * prev + (1.0 - mu) * g
    return lambda prev, g, lr: mu * prev - lr * g


def _new(form: str) -> Callable[[float, float, float], float]:
    """new from (theta, v, lr) in one form."""
    if form == "classical":
        return lambda theta, v, lr: theta + v
    return lambda theta, v, lr: theta - lr * v


class Momentum(Optimizer):
    """A velocity that keeps part of the previous steps; the form sets the convention."""

    name = "momentum"
    description = "momentum: a running velocity of the gradient (form: pytorch, ema or classical)"
    options = (
        Option("momentum", 0.9, "how much of the previous velocity is kept (mu, or beta in the ema form)",
               low=0.0, below=1.0),
        Option("form", "pytorch", "the convention: pytorch, ema (the lecture's) or classical (the lab's)",
               choices=FORMS),
    )
    state_names = ("v",)

    @property
    def form(self) -> str:
        return self.values["form"]

    def update_rules(self, g: str) -> tuple[Rule, ...]:
        mu = self.values["momentum"]
        m = Term("beta" if self.form == "ema" else "mu", mu)
        if self.form == "pytorch":
            shape = lambda prev, grad, lr: [m, " * ", prev, " + ", grad]  # noqa: E731
        elif self.form == "ema":
            shape = lambda prev, grad, lr: [m, " * ", prev, " + (1 - ", m, ") * ", grad]  # noqa: E731
        else:
            shape = lambda prev, grad, lr: [m, " * ", prev, " - ", lr, " * ", grad]  # noqa: E731
        velocity = Rule("v", "v", "the velocity", ("v_prev", g, "lr"), _velocity(self.form, mu), shape)
        if self.form == "classical":
            new_shape = lambda theta, v, lr: [theta, " + ", v]  # noqa: E731
        else:
            new_shape = lambda theta, v, lr: [theta, " - ", lr, " * ", v]  # noqa: E731
        new = Rule("new", "new", "the parameter after the step", ("theta", "v", "lr"), _new(self.form), new_shape)
        return velocity, new

    def mistakes(self) -> tuple[RuleMistake, ...]:
        mu, form = self.values["momentum"], self.form
        others = [f for f in FORMS if f != form]
        velocities = [_velocity(f, mu) for f in others]
        right_v, right_new = _velocity(form, mu), _new(form)
        # the other conventions' step: the lab's w + v for the others' w - lr v, and the other way round
        other_new = (lambda theta, v, lr: theta - lr * v) if form == "classical" else (lambda theta, v, lr: theta + v)

        def mixed_velocity(prev: float, g: float, lr: float) -> list[float]:
            return [f(prev, g, lr) for f in velocities]

        def other_velocity(prev: float, g: float, lr: float) -> list[float]:
            right = right_v(prev, g, lr)
            return [_convert(right, form, other, mu, lr) for other in others]

        def uncarried(prev: float, g: float, lr: float) -> list[float]:
            return [g, right_v(0.0, g, lr)]

        return (
            RuleMistake("momentum_convention_mixed", "v", ("v_prev", self.gradient_name, "lr"), mixed_velocity),
            RuleMistake("momentum_convention_mixed", "new", ("theta", "v", "lr"),
                        lambda theta, v, lr: [other_new(theta, v, lr)]),
            RuleMistake("momentum_convention_other", "v", ("v_prev", self.gradient_name, "lr"), other_velocity),
            RuleMistake("velocity_not_carried", "v", ("v_prev", self.gradient_name, "lr"), uncarried),
        )


def _convert(v: float, form: str, other: str, mu: float, lr: float) -> float:
    """A velocity of convention `form` as convention `other` has it after the same steps (from v = 0, at a
    constant rate): the ema's is (1 - beta) times PyTorch's, the lab's -lr times PyTorch's."""
    scale = {"pytorch": 1.0, "ema": 1.0 - mu, "classical": -lr}
    return v / scale[form] * scale[other] if scale[form] else float("nan")
