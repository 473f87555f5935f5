"""RMSprop as PyTorch's (not centred, no momentum): ``v = alpha * v + (1 - alpha) * g^2``,
``new = theta - lr * g / (sqrt(v) + eps)``."""

from __future__ import annotations

from tutor.model.optimizers.base import (
    Optimizer, Rule, RuleMistake, adaptive_step, eps_inside, running_mean, subtract, swapped_mean,
)
from tutor.model.options import Option


class RMSprop(Optimizer):
    """Divides each step by the root of a running mean of squared gradients."""

    name = "rmsprop"
    description = "RMSprop: v = alpha v + (1 - alpha) g^2, w - lr g / (sqrt(v) + eps)"
    options = (
        Option("alpha", 0.99, "how much of the previous mean square is kept", low=0.0, up_to=1.0),
        Option("eps", 1e-8, "added to the root, so that the division is safe (more than 0)",
               above=0.0),
    )
    squares = ("v",)
    state_names = ("v",)

    def update_rules(self, g: str) -> tuple[Rule, ...]:
        alpha, eps = self.values["alpha"], self.values["eps"]
        square = running_mean("v", "v", "the running mean of the squared gradient", "alpha", alpha, g, squared=True)
        return square, adaptive_step(eps, g, "v", "the step, lr * g / (sqrt(v) + eps)"), subtract()

    def mistakes(self) -> tuple[RuleMistake, ...]:
        g = self.gradient_name
        alpha = self.values["alpha"]
        return (swapped_mean("v", alpha, g, squared=True), eps_inside(self.values["eps"], g, "v"),
                RuleMistake("second_moment_not_squared", "v", ("v_prev", g),
                            lambda prev, grad: [alpha * prev + (1.0 - alpha) * grad]))
