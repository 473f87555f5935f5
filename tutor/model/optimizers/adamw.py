"""AdamW as PyTorch's: Adam with decoupled weight decay, ``new = theta - lr * weight_decay * theta - step``
(the decay is not added to the gradient, so the moments never see it)."""

from __future__ import annotations

from tutor.model.optimizers.adam import ADAM_OPTIONS, Adam
from tutor.model.optimizers.base import Rule
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
