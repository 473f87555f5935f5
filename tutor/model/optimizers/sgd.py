"""Plain (stochastic) gradient descent: ``new = theta - lr * g``, as PyTorch's SGD without momentum."""

from __future__ import annotations

from tutor.model.optimizers.base import Optimizer, Rule


class SGD(Optimizer):
    """Steps against the gradient, scaled by the learning rate; no state."""

    name = "sgd"
    description = "plain gradient descent: w - lr * g"

    def update_rules(self, g: str) -> tuple[Rule, ...]:
        return (Rule("new", "new", "the parameter after the step", ("theta", "lr", g),
                     lambda theta, lr, grad: theta - lr * grad,
                     lambda theta, lr, grad: [theta, " - ", lr, " * ", grad]),)
