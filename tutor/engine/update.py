"""The update of a network's parameters by the problem's optimizer, step after step.

An `Updater` keeps what carries over between steps: the optimizer state of every parameter of every
layer and the step number t, from which the schedule gives the step's learning rate. Plain gradient
descent (format 1) takes a short path with no state at all.
"""

from __future__ import annotations

from typing import Any, Mapping

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
        self.plain = problem.plain_descent
        given = problem.optimizer_state
        self.states: list[dict[str, State] | None] = (
            [{name: {k: v.copy() for k, v in s.items()} for name, s in layer.items()} for layer in given]
            if given is not None else [None] * len(problem.layers)
        )

    @property
    def rate(self) -> float:
        """The learning rate of the current step (its epoch is t - 1)."""
        return self.schedule.rate(self.lr0, self.t - 1)

    def advance(self) -> None:
        """Move on to the next step."""
        self.t += 1

    def update(self, index: int, params: Params, grads: Mapping[str, np.ndarray]) -> Params:
        """Layer `index`'s parameters after the current step (its state moves on too)."""
        rate = self.rate
        new: Params = dict(params)  # a frozen parameter stays the same array
        if self.plain:  # w - rate * grad
            for name, value in params.items():
                if name not in self.frozen:
                    new[name] = value - rate * grads[name]
            return new
        states = self._states(index, params)
        step = self.optimizer.step
        for name, value in params.items():
            if name not in self.frozen:
                new[name], states[name] = step(value, grads[name], states[name], self.t, rate)
        return new

    def update_traced(self, index: int, params: Params,
                      grads: Mapping[str, np.ndarray]) -> tuple[Params, dict[str, dict[str, Any]]]:
        """Like `update`, and also every quantity of the optimizer's step for each updated parameter."""
        states = self._states(index, params) if not self.plain else None
        rate, run = self.rate, self.optimizer.run
        new: Params = dict(params)  # a frozen parameter stays the same array
        values: dict[str, dict[str, Any]] = {}
        for name, value in params.items():
            if name in self.frozen:
                continue
            state = states[name] if states is not None else {}
            values[name] = run(value, grads[name], state, self.t, rate)
            new[name] = values[name]["new"]
            if states is not None:
                states[name] = {k: values[name][k] for k in self.optimizer.state_names}
        return new, values

    def state_of(self, index: int) -> dict[str, State] | None:
        """Layer `index`'s optimizer state as it stands (None before its first update)."""
        return self.states[index]

    def _states(self, index: int, params: Params) -> dict[str, State]:
        states = self.states[index]
        if states is None:
            states = self.states[index] = {name: self.optimizer.init_state(value) for name, value in params.items()
                                           if name not in self.frozen}
        return states
