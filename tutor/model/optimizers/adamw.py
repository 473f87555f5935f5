"""AdamW as PyTorch's: Adam with decoupled weight decay, ``new = theta - lr * weight_decay * theta - step``
(the decay is not added to the gradient, so the moments never see it)."""

from __future__ import annotations

import numpy as np

from tutor.model.optimizers.adam import ADAM_OPTIONS, Adam
from tutor.model.optimizers.base import Rule, RuleMistake
from tutor.model.options import Option
from tutor.trace.quantity import Term


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameter directly."""

    name = "adamw"
    description = "AdamW: Adam with decoupled weight decay, w - lr wd w - lr m_hat / (sqrt(v_hat) + eps)"
    options = ADAM_OPTIONS

    @classmethod
    def all_options(cls):
        own = super().all_options()
        decoupled = Option("weight_decay", 0.01, "decoupled decay: theta shrinks by lr * weight_decay * theta",
                           low=0.0)
        return tuple(decoupled if o.name == "weight_decay" else o for o in own)

    @property
    def coupled_decay(self) -> float:
        return 0.0

    def new_rule(self) -> Rule:
        decay = self.weight_decay
        wd = Term("weight_decay", decay)
        return Rule("new", "new", "the parameter after the decay and the step", ("theta", "lr", "step"),
                    lambda theta, lr, step: theta - lr * decay * theta - step,
                    lambda theta, lr, step: [theta, " - ", lr, " * ", wd, " * ", theta, " - ", step])

    def decay_mistakes(self) -> tuple[RuleMistake, ...]:
        """The decoupled decay subtracted with the wrong sign, left out or halved."""
        decay = self.weight_decay
        if not decay:
            return ()

        def with_decay(factor: float):
            return lambda theta, lr, step: [theta - factor * lr * decay * theta - step]

        return tuple(RuleMistake(mistake, "new", ("theta", "lr", "step"), with_decay(factor))
                     for mistake, factor in (("weight_decay_sign_flipped", -1.0), ("weight_decay_omitted", 0.0),
                                             ("weight_decay_halved", 0.5)))

    def mistakes(self) -> tuple[RuleMistake, ...]:
        return (*super().mistakes(), *self.decay_in_gradient())

    def decay_in_gradient(self) -> tuple[RuleMistake, ...]:
        """Adam's L2 for AdamW's decay: weight_decay * theta added to the gradient, so m and v see it (and the
        parameter shrinks by the decoupled decay as well, or not)."""
        decay, v = self.weight_decay, self.values
        if not decay:
            return ()
        beta1, beta2, eps, g = v["beta1"], v["beta2"], v["eps"], self.gradient_name

        def first(prev, grad, theta):
            return [beta1 * prev + (1.0 - beta1) * (grad + decay * theta)]

        def second(prev, grad, theta):
            return [beta2 * prev + (1.0 - beta2) * (grad + decay * theta) ** 2]

        def new(theta, lr, t, m_prev, v_prev, grad):
            m, = first(m_prev, grad, theta)
            s, = second(v_prev, grad, theta)
            step = lr * (m / (1.0 - beta1 ** t)) / (float(np.sqrt(s / (1.0 - beta2 ** t))) + eps)
            return [theta - step, theta - lr * decay * theta - step]

        return (RuleMistake("adamw_decay_in_gradient", "m", ("m_prev", g, "theta"), first),
                RuleMistake("adamw_decay_in_gradient", "v", ("v_prev", g, "theta"), second),
                RuleMistake("adamw_decay_in_gradient", "new", ("theta", "lr", "t", "m_prev", "v_prev", g), new))
