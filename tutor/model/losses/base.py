"""The loss interface: one sample's loss as per-output shares, its gradient, and how both are written.

`shares(o, t)` is each output's part of the sample's loss (they add up to the loss), and
`gradient(o, t)` is dL/do for each output. Both work on arrays whose last axis is the outputs;
a batch's loss is the mean of its samples' losses (that averaging lives in the engine).
A loss also knows which targets and outputs it can take, the closed forms it has together with
an output activation (softmax + cross-entropy), and the catalogued mistakes made with it.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from tutor.model.activations import ACTIVATIONS, Activation
from tutor.model.component import Component, lazy_numpy

np = lazy_numpy(globals())

Array = Any  # a numpy array (numpy itself is imported on first use)
Part = Any  # a piece of a displayed formula: text, or a term given by the caller


@dataclass(frozen=True)
class LossMistake:
    """A catalogued mistake with a loss: its id, a one-line explanation, and what a quantity becomes.

    `roles` says which quantities it touches: "share" (one output's part of a sample's loss),
    "sample_loss", "gradient" (dL/dout of an output) and "coupled_delta" (the delta of an output
    layer that is not elementwise, such as softmax). `batch_mean` adds the batch mean's 1/m lost or
    doubled, on the batch's loss and on the gradients of a batch.
    """

    id: str
    explanation: str
    #: (loss, the right value, number of outputs) -> the value(s) under the mistake.
    wrong: Callable[["Loss", float, int], list[float]]
    roles: frozenset[str]
    batch_mean: bool = False


LOSS_FACTOR_DROPPED = LossMistake(
    "loss_factor_dropped",
    "a constant factor of the loss (the 1/2, the 1/n over outputs or the 1/m over samples) was lost or doubled",
    lambda loss, right, n: [right * f for f in loss.lost_factors(n)],
    frozenset({"share", "sample_loss", "gradient"}), batch_mean=True)
TARGET_OUTPUT_SWAPPED = LossMistake(
    "target_output_swapped", "(t - o) was used where (o - t) belongs, which flips the gradient's sign",
    lambda loss, right, n: [-right], frozenset({"gradient", "coupled_delta"}))


class Loss(Component):
    """One loss function of a sample's outputs and targets."""

    #: What targets it accepts, for messages, and their inclusive bounds (None: any finite number).
    targets_rule: ClassVar[str] = "any numbers"
    target_range: ClassVar[tuple[float, float] | None] = None
    #: The open interval its outputs must lie in (it takes their logarithms), or None.
    output_range: ClassVar[tuple[float, float] | None] = None
    #: Targets are classes 0 or 1 (the problem generator draws them so).
    class_targets: ClassVar[bool] = False
    mistakes: ClassVar[tuple[LossMistake, ...]] = (LOSS_FACTOR_DROPPED, TARGET_OUTPUT_SWAPPED)

    @property
    @abstractmethod
    def formula(self) -> str:
        """The loss of one sample, in o (outputs), t (targets), n (number of outputs)."""

    @property
    @abstractmethod
    def share_formula(self) -> str:
        """One output's share of the loss."""

    @property
    @abstractmethod
    def gradient_formula(self) -> str:
        """dL/do_j."""

    @abstractmethod
    def shares(self, o: Array, t: Array) -> Array:
        """Each output's part of its sample's loss."""

    @abstractmethod
    def gradient(self, o: Array, t: Array) -> Array:
        """dL/do for each output."""

    @abstractmethod
    def share_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        """One output's share as formula pieces around the given output and target terms."""

    @abstractmethod
    def gradient_parts(self, o: Part, t: Part, n: int) -> list[Part]:
        """dL/do_j as formula pieces around the given output and target terms."""

    def lost_factors(self, n: int) -> list[float]:
        """Factors a student may lose or double (loss_factor_dropped): the 1/2, the 1/n, a 2."""
        return []

    def value(self, outputs: Array, targets: Array) -> Array:
        """The loss of each sample (sum of its shares)."""
        return np.sum(self.shares(outputs, targets), axis=-1)

    # -- with an output activation --------------------------------------------------------------------

    def accepts_outputs(self, activation: Activation | type[Activation]) -> bool:
        """Whether every output of the activation lies where this loss can take it."""
        if self.output_range is None:
            return True
        have = activation.output_range
        return have is not None and self.output_range[0] <= have[0] and have[1] <= self.output_range[1]

    def suitable_outputs(self) -> list[str]:
        """The registered activations whose outputs this loss can always take."""
        return [name for name, cls in ACTIVATIONS.items() if self.accepts_outputs(cls)]

    def fuses_with(self, activation: Activation) -> bool:
        """Whether, on this output activation, dL/dnet has a closed form that replaces the chain rule."""
        return False

    #: Why the fused form holds, for the worked solution.
    fused_note: ClassVar[str] = ""

    def fused_delta(self, out: Array, targets: Array) -> Array:
        """dL/dnet of the output layer where `fuses_with` holds."""
        raise TypeError(f"{self.name} has no fused form")

    def fused_delta_parts(self, o: Part, t: Part) -> list[Part]:
        """The fused dL/dnet_j as formula pieces."""
        raise TypeError(f"{self.name} has no fused form")

    def cancelled_delta(self, activation: Activation) -> Callable[[Array, Array], Array] | None:
        """dL/dnet as (out, targets) -> array where dL/dout and dout/dnet cancel, for outputs rounded to
        exactly 0 or 1 (where their product is NaN); None when the pair has no such form."""
        return None

    def output_trouble(self, outputs: Array, targets: Array) -> tuple[int, int, str] | None:
        """The first (sample, output) this loss cannot take, with what it needs; None if all are fine."""
        return None


def first_trouble(bad: Array, need: str) -> tuple[int, int, str] | None:
    """The first (sample, output) marked bad, with what the loss needs; None if none is."""
    if not bad.any():
        return None
    s, j = (int(k) for k in np.argwhere(bad)[0])
    return s, j, need
