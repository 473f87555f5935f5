"""Adagrad as PyTorch's (without lr_decay): ``s = s + g^2``, ``new = theta - lr * g / (sqrt(s) + eps)``."""

from __future__ import annotations

import numpy as np

from tutor.model.optimizers.base import Optimizer, Rule, RuleMistake, adaptive_step, eps_inside, subtract
from tutor.model.options import Option


class Adagrad(Optimizer):
    """Divides each step by the root of the sum of all squared gradients so far."""

    name = "adagrad"
    description = "Adagrad: s = s + g^2, w - lr g / (sqrt(s) + eps)"
    options = (
        Option("eps", 1e-10, "added to the root, so that the division is safe (more than 0)",
               above=0.0),
        Option("initial_accumulator_value", 0.0, "the sum s before the first step", low=0.0),
    )
    squares = ("s",)
    state_names = ("s",)

    def init_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {"s": np.full_like(param, self.values["initial_accumulator_value"], dtype=float)}

    def update_rules(self, g: str) -> tuple[Rule, ...]:
        eps = self.values["eps"]
        total = Rule("s", "s", "the sum of the squared gradients", ("s_prev", g), lambda prev, grad: prev + grad * grad,
                     lambda prev, grad: [prev, " + (", grad, ")^2"])
        return total, adaptive_step(eps, g, "s", "the step, lr * g / (sqrt(s) + eps)"), subtract()

    def mistakes(self) -> tuple[RuleMistake, ...]:
        g = self.gradient_name
        return (
            RuleMistake("adagrad_accumulates_g", "s", ("s_prev", g), lambda prev, grad: [prev + grad]),
            eps_inside(self.values["eps"], g, "s"),
        )
