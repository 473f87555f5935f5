"""The activations, one file each, registered by name in the order help texts and docs list them.

A new activation is a subclass of `Activation` in its own file, registered here; the loader, the
worked solution, the quiz, the grader's mistakes and the command-line help all take it from here.
"""

from __future__ import annotations

from tutor.model.activations.base import Activation, ActivationMistake
from tutor.model.activations.elu import Elu
from tutor.model.activations.gelu import Gelu
from tutor.model.activations.leaky_relu import LeakyRelu
from tutor.model.activations.linear import Linear
from tutor.model.activations.relu import Relu
from tutor.model.activations.sigmoid import Sigmoid
from tutor.model.activations.softmax import Softmax
from tutor.model.activations.softplus import Softplus
from tutor.model.activations.swish import Swish
from tutor.model.activations.tanh import Tanh
from tutor.model.component import Registry

#: Name -> activation class.
ACTIVATIONS = Registry()
for _cls in (Sigmoid, Tanh, Relu, LeakyRelu, Linear, Elu, Softplus, Swish, Gelu, Softmax):
    ACTIVATIONS.register(_cls)


def make_activation(name: str, **params: float) -> Activation:
    """Build an activation by name; `params` must be among the ones it takes (checked by the loader)."""
    return ACTIVATIONS.make(name, **params)


def hidden_activations() -> list[str]:
    """The names a hidden layer may use (all but the output-only ones such as softmax)."""
    return [name for name, cls in ACTIVATIONS.items() if cls.hidden_allowed]


__all__ = ["ACTIVATIONS", "Activation", "ActivationMistake", "hidden_activations", "make_activation"]
