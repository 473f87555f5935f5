"""Nesterov momentum in PyTorch's formulation (SGD with ``nesterov=True``):
``v = mu * v + g``, ``d = g + mu * v``, ``new = theta - lr * d``."""

from __future__ import annotations

from tutor.model.optimizers.base import Optimizer, Rule, RuleMistake
from tutor.model.options import Option
from tutor.trace.quantity import Term


class Nesterov(Optimizer):
    """Momentum that steps along the gradient plus the velocity it is about to follow."""

    name = "nesterov"
    description = "Nesterov momentum (PyTorch's): v = mu v + g, w - lr (g + mu v)"
    options = (Option("momentum", 0.9, "how much of the previous velocity is kept (mu)", low=0.0, below=1.0),)
    state_names = ("v",)

    def update_rules(self, g: str) -> tuple[Rule, ...]:
        mu = self.values["momentum"]
        m = Term("mu", mu)
        return (
            Rule("v", "v", "the velocity", ("v_prev", g), lambda prev, grad: mu * prev + grad,
                 lambda prev, grad: [m, " * ", prev, " + ", grad]),
            Rule("d", "d", "the Nesterov direction, the gradient plus the velocity ahead", (g, "v"),
                 lambda grad, v: grad + mu * v, lambda grad, v: [grad, " + ", m, " * ", v]),
            Rule("new", "new", "the parameter after the step", ("theta", "lr", "d"),
                 lambda theta, lr, d: theta - lr * d, lambda theta, lr, d: [theta, " - ", lr, " * ", d]),
        )

    def mistakes(self) -> tuple[RuleMistake, ...]:
        mu, g = self.values["momentum"], self.gradient_name
        return (
            RuleMistake("velocity_not_carried", "v", ("v_prev", g), lambda prev, grad: [grad]),
            RuleMistake("nesterov_lookahead_ignored", "d", (g, "v"), lambda grad, v: [grad]),
            RuleMistake("nesterov_lookahead_old_velocity", "d", (g, "v_prev"), lambda grad, prev: [grad + mu * prev]),
        )
