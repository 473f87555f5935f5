"""Learning-rate schedules: the rate of each epoch (0-based) from the initial rate lr0.

- ``constant``: lr0;
- ``inverse_time`` (the Birzeit lecture's decay): lr0 / (1 + decay * epoch);
- ``step`` (PyTorch's StepLR): lr0 * gamma^floor(epoch / step_size);
- ``exponential`` (PyTorch's ExponentialLR): lr0 * gamma^epoch.

`make_schedule({"name": "inverse_time", "decay": 0.5})` builds one; None is the constant schedule.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

from tutor.model.options import Option, read_options, split_spec
from tutor.trace.quantity import Part, Term


#: The catalogued mistake every schedule can show, with its explanation.
MISTAKES: dict[str, str] = {
    "schedule_wrong_epoch":
        "the learning rate of another epoch was used: the schedule's epoch counts from 0 at the first step "
        "(epoch = t - 1)",
}


class Schedule:
    """The learning rate of each epoch; `formula` shows how it was obtained."""

    name: ClassVar[str]
    description: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, **given: Any) -> None:
        self.values: dict[str, Any] = read_options("schedule", self.name, self.options, given)

    def rate(self, lr0: float, epoch: int) -> float:
        """The learning rate of `epoch` (0-based)."""
        return lr0

    def formula(self, lr0: Term, epoch: Term) -> list[Part]:
        """The rate's formula in terms of the initial rate and the epoch."""
        return [lr0]

    def wrong_rates(self, lr0: float, epoch: int) -> list[float]:
        """The rates of the epochs next to `epoch` (one before, one after), where they differ from its own:
        the rates of `schedule_wrong_epoch`."""
        right = self.rate(lr0, epoch)
        rates = [self.rate(lr0, e) for e in (epoch - 1, epoch + 1) if e >= 0]
        return [rate for rate in rates if rate != right]

    def describe(self) -> str:
        """The name with its options, e.g. ``inverse_time(decay=0.5)``."""
        inner = ", ".join(f"{k}={v:g}" for k, v in self.values.items())
        return f"{self.name}({inner})" if inner else self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class Constant(Schedule):
    name = "constant"
    description = "the same rate every epoch"


class InverseTime(Schedule):
    name = "inverse_time"
    description = "lr0 / (1 + decay * epoch), the lecture's learning-rate decay"
    options = (Option("decay", None, "the decay rate, e.g. 0.1", low=0.0),)

    def rate(self, lr0: float, epoch: int) -> float:
        return lr0 / (1.0 + self.values["decay"] * epoch)

    def formula(self, lr0: Term, epoch: Term) -> list[Part]:
        return [lr0, " / (1 + ", Term("decay", self.values["decay"]), " * ", epoch, ")"]


class Step(Schedule):
    name = "step"
    description = "lr0 * gamma^floor(epoch / step_size): the rate drops every step_size epochs"
    options = (
        Option("step_size", None, "how many epochs between drops", whole=True),
        Option("gamma", 0.1, "the factor of each drop", low=0.0),
    )

    def drops(self, epoch: int) -> int:
        """How many drops have happened by `epoch`."""
        return int(epoch) // self.values["step_size"]

    def rate(self, lr0: float, epoch: int) -> float:
        return lr0 * self.values["gamma"] ** self.drops(epoch)

    def formula(self, lr0: Term, epoch: Term) -> list[Part]:
        drops = Term(f"floor({epoch.symbol} / {self.values['step_size']})", float(self.drops(int(epoch.value))))
        return [lr0, " * ", Term("gamma", self.values["gamma"]), "^", drops]


class Exponential(Schedule):
    name = "exponential"
    description = "lr0 * gamma^epoch"
    options = (Option("gamma", None, "the factor per epoch, e.g. 0.9", low=0.0),)

    def rate(self, lr0: float, epoch: int) -> float:
        return lr0 * self.values["gamma"] ** epoch

    def formula(self, lr0: Term, epoch: Term) -> list[Part]:
        return [lr0, " * ", Term("gamma", self.values["gamma"]), "^", epoch]


SCHEDULES: dict[str, type[Schedule]] = {s.name: s for s in (Constant, InverseTime, Step, Exponential)}


def make_schedule(spec: Mapping[str, Any] | str | None) -> Schedule:
    """The schedule a spec names (``{"name": "step", "step_size": 10}``); None is the constant schedule.

    A bad spec raises `tutor.model.options.SpecError` naming the key at fault.
    """
    if spec is None:
        return Constant()
    name, options = split_spec("schedule", spec, list(SCHEDULES))
    return SCHEDULES[name](**options)
