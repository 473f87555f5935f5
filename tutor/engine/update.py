"""The update of a network's parameters by the problem's optimizer, step after step.

An `Updater` keeps what carries over between steps: the optimizer state of every parameter of every
layer and the step number t, from which the schedule gives the step's learning rate. Plain gradient
descent (format 1) takes a short path with no state at all.

`update` is the inner loop of `solve --steps`: what does not change between steps (the parameters
that are updated, the optimizer's rules, the step's learning rate) is worked out once, not per call.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from tutor.problem.validated import Problem

Params = dict[str, np.ndarray]
#: A parameter's optimizer state: each entry (``m``, ``v``) as an array shaped like the parameter.
State = dict[str, np.ndarray]


class Updater:
    """Applies the problem's optimizer to each layer's parameters; `advance` moves on to the next step."""

    def __init__(self, problem: Problem, frozen: frozenset[str] = frozenset()) -> None:
        self.optimizer = problem.optimizer
        self.schedule = problem.schedule
        self.lr0 = problem.learning_rate
        self.frozen = frozen
        self.t = problem.first_step
        #: The schedule's epoch of step t is t - 1 + epoch_offset (0 unless the file gives its epoch).
        self.epoch_offset = problem.epoch - (problem.first_step - 1)
        #: The learning rate of the current step.
        self.rate = self.schedule.rate(self.lr0, self.t - 1 + self.epoch_offset)
        self.plain = problem.plain_descent
        given = problem.optimizer_state
        self.states: list[dict[str, State] | None] = (
            [{name: {k: v.copy() for k, v in s.items()} for name, s in layer.items()} for layer in given]
            if given is not None else [None] * len(problem.layers)
        )
        self._steppers: dict[int, list[tuple[str, Callable[..., np.ndarray]]]] = {}

    def advance(self) -> None:
        """Move on to the next step."""
        self.t += 1
        self.rate = self.schedule.rate(self.lr0, self.t - 1 + self.epoch_offset)

    def update(self, index: int, params: Params, grads: Mapping[str, np.ndarray]) -> Params:
        """Layer `index`'s parameters after the current step (its state moves on too)."""
        steppers = self._steppers.get(index)
        if steppers is None:
            steppers = self._steppers[index] = self._make_steppers(index, params)
        new: Params = dict(params)  # a frozen parameter stays the same array
        rate, t = self.rate, self.t
        for name, stepper in steppers:
            new[name] = stepper(params[name], grads[name], t, rate)
        return new

    def update_traced(self, index: int, params: Params,
                      grads: Mapping[str, np.ndarray]) -> tuple[Params, dict[str, dict[str, Any]]]:
        """Like `update`, and also every quantity of the optimizer's step for each updated parameter."""
        states = self._states(index, params) if not self.plain else None
        rate, run = self.rate, self.optimizer.run
        new: Params = dict(params)  # a frozen parameter stays the same array
        values: dict[str, dict[str, Any]] = {}
        for name in self._trained(params):
            state = states[name] if states is not None else {}
            values[name] = run(params[name], grads[name], state, self.t, rate)
            new[name] = values[name]["new"]
            state.update({k: values[name][k] for k in self.optimizer.state_names})  # in place: steppers hold it
        return new, values

    def state_of(self, index: int) -> dict[str, State] | None:
        """Layer `index`'s optimizer state as it stands (None before its first update)."""
        return self.states[index]

    def _trained(self, params: Params) -> list[str]:
        """The parameters the step changes: all but the frozen ones."""
        return [name for name in params if name not in self.frozen]

    def _states(self, index: int, params: Params) -> dict[str, State]:
        states = self.states[index]
        if states is None:
            states = self.states[index] = {name: self.optimizer.init_state(params[name])
                                           for name in self._trained(params)}
        return states

    def _make_steppers(self, index: int, params: Params) -> list[tuple[str, Callable[..., np.ndarray]]]:
        """For each updated parameter of layer `index`: (theta, grad, t, lr) -> the new value."""
        if self.plain:
            return [(name, _descend) for name in self._trained(params)]
        states = self._states(index, params)
        return [(name, _RuleStepper(self.optimizer.rules, self.optimizer.state_names, states[name]))
                for name in self._trained(params)]


def _descend(theta: np.ndarray, grad: np.ndarray, t: int, rate: float) -> np.ndarray:
    """Plain gradient descent: theta - rate * grad."""
    return theta - rate * grad


class _RuleStepper:
    """The optimizer's rules on one parameter array, step after step (the arithmetic of `Optimizer.run`).

    The givens, the state and each rule's value live in one dict kept between steps; the state the
    next step starts from is written back into `state`, the `Updater`'s record of it.
    """

    def __init__(self, rules: Any, state_names: tuple[str, ...], state: State) -> None:
        self.plan = tuple((rule.name, rule.compute, rule.inputs) for rule in rules)
        self.carried = tuple((name, f"{name}_prev") for name in state_names)
        self.state = state
        self.values: dict[str, Any] = {}

    def __call__(self, theta: np.ndarray, grad: np.ndarray, t: int, rate: float) -> np.ndarray:
        values, state = self.values, self.state
        values["theta"], values["grad"], values["t"], values["lr"] = theta, grad, t, rate
        for name, prev in self.carried:
            values[prev] = state[name]
        get = values.__getitem__
        for name, compute, inputs in self.plan:
            values[name] = compute(*map(get, inputs))
        for name, _ in self.carried:
            state[name] = values[name]
        return values["new"]
