"""The losses, one file each, registered by name in the order help texts and docs list them.

A new loss is a subclass of `Loss` in its own file, registered here; the loader, the worked
solution, the quiz, the grader's mistakes and the command-line help all take it from here.
"""

from __future__ import annotations

from tutor.model.component import Registry
from tutor.model.losses.base import Loss, LossMistake
from tutor.model.losses.bce import Bce
from tutor.model.losses.cross_entropy import CrossEntropy
from tutor.model.losses.half_sse import HalfSse
from tutor.model.losses.huber import Huber
from tutor.model.losses.mse import Mse
from tutor.model.losses.sse import Sse

#: Name -> loss class.
LOSSES = Registry()
for _cls in (HalfSse, Sse, Mse, Bce, CrossEntropy, Huber):
    LOSSES.register(_cls)


def make_loss(name: str, **params: float) -> Loss:
    """Build a loss by name; `params` must be among the ones it takes (checked by the loader)."""
    return LOSSES.make(name, **params)


__all__ = ["LOSSES", "Loss", "LossMistake", "make_loss"]
