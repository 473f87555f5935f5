"""Adam as PyTorch's (and the Birzeit lecture's): ``m = beta1 m + (1 - beta1) g``,
``v = beta2 v + (1 - beta2) g^2``, ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``,
``new = theta - lr * m_hat / (sqrt(v_hat) + eps)``."""

from __future__ import annotations

import numpy as np

from tutor.model.optimizers.base import (
    Optimizer, Rule, RuleMistake, adaptive_step, eps_inside, running_mean, subtract, swapped_mean,
)
from tutor.model.options import Option
from tutor.trace.quantity import Part, Term

ADAM_OPTIONS = (
    Option("beta1", 0.9, "how much of the previous first moment is kept", low=0.0, below=1.0),
    Option("beta2", 0.999, "how much of the previous second moment is kept", low=0.0, below=1.0),
    Option("eps", 1e-8, "added to the root, so that the division is safe (more than 0)",
               above=0.0),
)


def bias_corrected(name: str, symbol: str, source: str, beta_name: str, beta: float, meaning: str) -> Rule:
    """``source / (1 - beta^t)``: a running mean started at 0, scaled up for its missing history."""
    b = Term(beta_name, beta)

    def formula(value: Term, t: Term) -> list[Part]:
        return [value, " / (1 - ", b, "^", t, ")"]

    return Rule(name, symbol, meaning, (source, "t"),
                lambda value, t: value / (1.0 - beta ** t), formula)


class Adam(Optimizer):
    """Steps by a bias-corrected running mean of the gradient over the root of that of its square."""

    name = "adam"
    description = "Adam: bias-corrected moments m_hat and v_hat, w - lr m_hat / (sqrt(v_hat) + eps)"
    options = ADAM_OPTIONS
    squares = ("v",)
    state_names = ("m", "v")

    def moments(self, g: str) -> tuple[Rule, Rule]:
        """The first and second moments (running means of g and g^2)."""
        v = self.values
        return (running_mean("m", "m", "the first moment, a running mean of the gradient", "beta1", v["beta1"], g,
                             squared=False),
                running_mean("v", "v", "the second moment, a running mean of the squared gradient", "beta2",
                             v["beta2"], g, squared=True))

    def first_corrected(self, g: str) -> Rule:
        """m_hat: the bias-corrected first moment."""
        return bias_corrected("m_hat", "m_hat", "m", "beta1", self.values["beta1"],
                              "the first moment with its bias corrected")

    def update_rules(self, g: str) -> tuple[Rule, ...]:
        v = self.values
        return (
            *self.moments(g),
            self.first_corrected(g),
            bias_corrected("v_hat", "v_hat", "v", "beta2", v["beta2"], "the second moment with its bias corrected"),
            adaptive_step(v["eps"], "m_hat", "v_hat", "the step, lr * m_hat / (sqrt(v_hat) + eps)"),
            self.new_rule(),
        )

    def new_rule(self) -> Rule:
        """The parameter after the step."""
        return subtract()

    def mistakes(self) -> tuple[RuleMistake, ...]:
        v, g = self.values, self.gradient_name
        eps = v["eps"]
        return (
            swapped_mean("m", v["beta1"], g, squared=False),
            swapped_mean("v", v["beta2"], g, squared=True),
            *self.uncorrected_first(),
            RuleMistake("bias_correction_omitted", "v_hat", ("v",), lambda value: [value]),
            RuleMistake("bias_correction_omitted", "step", ("lr", "m", "v"),
                        lambda lr, m, second: [lr * m / (float(np.sqrt(second)) + eps)]),
            eps_inside(eps, "m_hat", "v_hat"),
            RuleMistake("second_moment_not_squared", "v", ("v_prev", g),
                        lambda prev, grad: [v["beta2"] * prev + (1.0 - v["beta2"]) * grad]),
            *self.wrong_t_first(),
            RuleMistake("bias_correction_wrong_t", "v_hat", ("v", "t"), _wrong_t(v["beta2"])),
        )

    def uncorrected_first(self) -> tuple[RuleMistake, ...]:
        """m_hat taken as m itself."""
        return (RuleMistake("bias_correction_omitted", "m_hat", ("m",), lambda value: [value]),)

    def wrong_t_first(self) -> tuple[RuleMistake, ...]:
        """m_hat corrected with t - 1 or t + 1 for t."""
        return (RuleMistake("bias_correction_wrong_t", "m_hat", ("m", "t"), _wrong_t(self.values["beta1"])),)


def wrong_steps(t: int) -> list[int]:
    """The step numbers taken for t by mistake: t - 1 (when it is a step) and t + 1."""
    return [n for n in (t - 1, t + 1) if n >= 1]


def _wrong_t(beta: float):
    """``value / (1 - beta^n)`` for each wrong step number n."""
    return lambda value, t: [value / (1.0 - beta ** n) for n in wrong_steps(int(t))]
