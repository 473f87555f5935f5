"""The numbers of a computational graph: the forward pass gate by gate, the backward pass by the chain rule.

The backward pass goes through the gates in reverse order, as micrograd's `backward` does: each gate
multiplies its upstream gradient d output / d gate by its local gradient d gate / d input, and an input used
by several gates (fan-out) adds up the contributions it gets. With `parameters`, a run of steps updates
them by gradient descent, p <- p - learning_rate * d output / d p (micrograd's training loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tutor.errors import UserError
from tutor.model.gates import GateDomainError, gate
from tutor.problem.graph import GraphProblem, Node


class GraphValueError(UserError):
    """A gate undefined at the values it gets (`node` names it)."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(message)
        self.node = node


def operand_values(node: Node, values: dict[str, float]) -> list[float]:
    """The numbers a gate takes: its input nodes' values and its constants."""
    return [values[o] if isinstance(o, str) else o for o in node.operands]


def evaluate(problem: GraphProblem) -> dict[str, float]:
    """Every node's value (leaves and gates), in the order computed; a GraphValueError where a gate is undefined,
    or where a local gradient the backward pass needs is (sqrt at 0)."""
    values: dict[str, float] = dict(problem.inputs)
    for node in problem.gates:
        xs = operand_values(node, values)
        try:
            values[node.name] = gate(node.op).value(xs)
            for p, operand in enumerate(node.operands):
                if isinstance(operand, str):
                    gate(node.op).local(xs, values[node.name], p)
        except GateDomainError as error:
            raise GraphValueError(node.name, f"{error} at the given values") from None
    return values


def relevant(problem: GraphProblem) -> list[Node]:
    """The gates the output depends on, in the order they are computed (the others get no gradient)."""
    by_name = problem.node
    needed = {problem.output}
    for node in reversed(problem.gates):
        if node.name in needed:
            needed.update(node.inputs)
    return [by_name[name] for name in by_name if name in needed and not by_name[name].is_leaf]


@dataclass
class GraphStep:
    """One forward and backward pass: values, local gradients, contributions, gradients, updates."""

    values: dict[str, float]
    #: (gate, input) -> d gate / d input (summed over the positions where the input appears).
    local: dict[tuple[str, str], float]
    #: (gate, input) -> d output / d gate * d gate / d input, what the gate sends to that input.
    contribution: dict[tuple[str, str], float]
    #: node -> d output / d node (the output's own is 1; nodes the output does not depend on have none).
    grad: dict[str, float]
    #: node -> the gates it feeds (that the output depends on), in order.
    consumers: dict[str, list[str]]
    #: The output's value.
    output: float
    #: parameter -> its value after the update.
    new: dict[str, float] = field(default_factory=dict)


def step(problem: GraphProblem) -> GraphStep:
    """The forward and backward pass of `problem` at its current values, and the parameters' update."""
    values = evaluate(problem)
    gates = relevant(problem)
    consumers: dict[str, list[str]] = {}
    for node in gates:
        for name in dict.fromkeys(node.inputs):
            consumers.setdefault(name, []).append(node.name)
    local: dict[tuple[str, str], float] = {}
    contribution: dict[tuple[str, str], float] = {}
    grad = {problem.output: 1.0}
    for node in reversed(gates):
        xs = operand_values(node, values)
        upstream = grad[node.name]
        for name in dict.fromkeys(node.inputs):
            slope = math.fsum(gate(node.op).local(xs, values[node.name], p)
                              for p, o in enumerate(node.operands) if o == name)
            local[node.name, name] = slope
            contribution[node.name, name] = upstream * slope
            if consumers[name][0] == node.name:  # the last gate, going backwards, that it feeds: all are in
                grad[name] = math.fsum(contribution[m, name] for m in consumers[name])
    new = {p: values[p] - problem.learning_rate * grad.get(p, 0.0) for p in problem.parameters}
    return GraphStep(values, local, contribution, grad, consumers, values[problem.output], new)


@dataclass
class GraphRun:
    problem: GraphProblem  # as it stands at the step shown
    step: GraphStep
    history: list[float] | None  # the output before each update, and after the last
    final: dict[str, float] | None  # the parameters after the last step


def run(problem: GraphProblem, steps: int = 1, show: int = 1) -> GraphRun:
    """`steps` steps of gradient descent on the parameters; the trace of step `show`.

    A run of several steps needs parameters; a gate undefined at a later step's values is a UserError saying
    at which step.
    """
    if steps > 1 and not problem.parameters:
        raise UserError("--steps needs parameters: the graph's file lists none (parameters: [w, b], with a "
                        "learning_rate), so there is nothing to update")
    current, shown, history = problem, None, []
    for k in range(1, steps + 1):
        try:
            result = step(current)
        except GraphValueError as error:
            raise UserError(f"step {k}: {error.message.replace('the given values', 'the values the earlier steps left')}"
                            ) from None
        if k == show:
            shown = (current, result)
        history.append(result.output)
        current = current.with_inputs(result.new)
    if steps > 1 or problem.parameters:
        try:
            history.append(evaluate(current)[problem.output])
        except GraphValueError:
            history.append(math.nan)
    assert shown is not None
    final = {p: current.inputs[p] for p in problem.parameters} if problem.parameters else None
    return GraphRun(shown[0], shown[1], history if len(history) > 1 else None, final)
