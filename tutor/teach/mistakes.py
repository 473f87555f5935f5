"""The catalogue of common backpropagation mistakes, shared by the quiz and the grader.

Each mistake is a wrong rule for computing some kinds of quantity. `candidates(trace, q, world)`
gives the value(s) quantity `q` would take under that rule, computed from `world`: the values a student
is working with (their own answers where they gave them, and what follows from those elsewhere).
A wrong answer that one of these reproduces is diagnosed with that mistake's stable id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from tutor.model.activations import ACTIVATIONS
from tutor.model.layers import LAYERS
from tutor.model.losses import LOSSES
from tutor.model.optimizers.base import MISTAKES as OPTIMIZER_MISTAKES
from tutor.model.schedules import MISTAKES as SCHEDULE_MISTAKES
from tutor.trace.trace import Quantity, Trace
from tutor.trace.updates import rule_name

World = Mapping[str, float]
Rule = Callable[[Trace, Quantity, World], list[float]]


@dataclass(frozen=True)
class Mistake:
    """One catalogued mistake: a stable id, a one-line explanation, and its wrong rule."""

    id: str
    explanation: str
    rule: Rule

    def candidates(self, trace: Trace, q: Quantity, world: World) -> list[float]:
        """What `q` would be under this mistake (empty when it does not apply to `q`)."""
        return self.rule(trace, q, world)


def _value(trace: Trace, world: World, kind: str, layer: int | None, j: int | None = None, i: int | None = None,
           sample: int | None = None) -> float:
    return world[trace.key_for(kind, layer, j, i, sample)]


def _deps(q: Quantity, world: World) -> list[float]:
    return [world[d] for d in q.depends_on]


def _right(q: Quantity, world: World) -> float:
    """The correct rule applied to the world's values."""
    return q.compute(*_deps(q, world))


def _layer_input(trace: Trace, world: World, layer: int, i: int, sample: int | None) -> float:
    """Input i of a layer for one sample (1-based): x for layer 1, the previous layer's out after that."""
    if layer == 1:
        return float(trace.problem.inputs[(sample or 1) - 1, i - 1])
    return _value(trace, world, "out", layer - 1, i, None, sample)


def _samples(trace: Trace) -> list[int | None]:
    return list(range(1, trace.problem.samples + 1)) if trace.problem.batch else [None]


# -- the rules ---------------------------------------------------------------------------------------


def _activation_rule(mistake_id: str) -> Rule:
    """A mistake owned by activations: dout/dnet of a layer whose activation has its own version of it."""

    def rule(trace: Trace, q: Quantity, world: World) -> list[float]:
        if q.kind not in ("dout_dnet", "map_dout_dnet"):
            return []
        activation = trace.problem.layers[q.layer - 1].activation
        owned = activation.mistake(mistake_id)
        if owned is None:
            return []
        net, out = _net_and_out(trace, q, world)
        return owned.wrong(activation, net, out)

    return rule


def _net_and_out(trace: Trace, q: Quantity, world: World) -> tuple[float, float]:
    """The world's net and out at the neuron (or feature-map position) whose dout/dnet `q` is."""
    if q.kind == "map_dout_dnet":
        from tutor.trace.conv import image_key  # only problems with an input image need it

        return world[image_key(trace, "map_net", q.layer, q.index)], world[image_key(trace, "map_out", q.layer,
                                                                                     q.index)]
    return (_value(trace, world, "net", q.layer, q.j, None, q.sample),
            _value(trace, world, "out", q.layer, q.j, None, q.sample))


def _loss_role(trace: Trace, q: Quantity) -> str | None:
    """What part a quantity plays for the loss: see `LossMistake.roles` ("batch_mean" for the batch's loss)."""
    problem = trace.problem
    output = len(problem.layers)
    if q.kind == "loss":
        if q.j is not None:
            return "share"
        return "sample_loss" if q.sample is not None or not problem.batch else "batch_mean"
    if q.kind in ("dloss_dout", "map_dloss_dout") and q.layer == output:
        return "gradient"
    if q.kind == "delta" and q.layer == output and not problem.layers[-1].activation.elementwise:
        return "coupled_delta"
    return None


def _loss_rule(mistake_id: str) -> Rule:
    """A mistake owned by losses: the problem's loss's own version of it, and the batch mean's 1/m if it covers that."""

    def rule(trace: Trace, q: Quantity, world: World) -> list[float]:
        problem = trace.problem
        owned = problem.loss.mistake(mistake_id)
        if owned is None:
            return []
        role = _loss_role(trace, q)
        if role in owned.roles:
            return owned.wrong(problem.loss, _right(q, world), problem.layers[-1].size)
        m = problem.samples
        if owned.batch_mean and (role == "batch_mean" or (
                q.kind in ("grad_weight", "grad_bias") and problem.batch and m > 1)):
            right = _right(q, world)
            return [right * m, right / m]
        return []

    return rule


def _layer_rule(mistake_id: str) -> Rule:
    """A mistake owned by a layer type (conv2d, maxpool): its wrong backward pass, on the world's values."""

    def rule(trace: Trace, q: Quantity, world: World) -> list[float]:
        from tutor.trace.conv import layer_mistake_values  # only problems with an input image need it

        return layer_mistake_values(trace, q, world, mistake_id)

    return rule


_OPTIMIZED = ("new_weight", "new_bias")
#: Updated filters and their biases: plain gradient descent, outside the optimizer's quantities.
_FILTERS = ("filter_new", "filter_bias_new")


def _rule_inputs(trace: Trace, q: Quantity, world: World, inputs: tuple[str, ...]) -> list[float]:
    """The values of an optimizer rule's `inputs` for `q`: the world's for quantities, else the given numbers."""
    given = trace.update_inputs(q)
    return [world[v] if isinstance(v, str) else v for v in (given[n] for n in inputs)]


def _optimizer_values(trace: Trace, q: Quantity, world: World, mistake_id: str) -> list[float]:
    """What the problem's optimizer's own version of a mistake gives for `q` (an opt_* or new value)."""
    if not q.kind.startswith("opt_") and q.kind not in _OPTIMIZED:
        return []
    name = rule_name(q.kind)
    owned = [m for m in trace.problem.optimizer.catalogued_mistakes() if m.id == mistake_id and m.rule == name]
    found: list[float] = []
    for mistake in owned:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # a student's negative v: nan
            found.extend(float(value) for value in mistake.wrong(*_rule_inputs(trace, q, world, mistake.inputs)))
    return found


def _optimizer_rule(mistake_id: str) -> Rule:
    """A mistake owned by optimizers: the problem's optimizer's own version of it, on the quantity it concerns."""
    return lambda trace, q, world: _optimizer_values(trace, q, world, mistake_id)


def _wrong_epoch(trace: Trace, q: Quantity, world: World) -> list[float]:
    """`q` computed with the learning rate of a neighbouring epoch (the schedule says which rates differ)."""
    problem = trace.problem
    rates = problem.schedule.wrong_rates(problem.learning_rate, problem.epoch)
    if not rates:
        return []
    if q.kind in _FILTERS:
        return [value for rate in rates for value in _update(trace, q, world, -1.0, rate)]
    if not q.kind.startswith("opt_") and q.kind not in _OPTIMIZED:
        return []
    rule = problem.optimizer.rule(rule_name(q.kind))
    if "lr" not in rule.inputs:
        return []
    values = _rule_inputs(trace, q, world, rule.inputs)
    where = rule.inputs.index("lr")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return [float(rule.compute(*values[:where], rate, *values[where + 1:])) for rate in rates]


def _update(trace: Trace, q: Quantity, world: World, sign: float, rate: float | None) -> list[float]:
    """An updated filter (or filter bias) by old + sign * rate * gradient (plain gradient descent)."""
    if q.kind not in _FILTERS:
        return []
    assert q.parameter is not None and q.gradient is not None and q.gradient.key is not None
    old = q.parameter.value
    gradient = world[q.gradient.key]
    step = gradient * (trace.problem.step_rate if rate is None else rate)
    return [old + sign * step]


def _update_sign(trace: Trace, q: Quantity, world: World) -> list[float]:
    return _update(trace, q, world, +1.0, None) + _optimizer_values(trace, q, world, "update_sign_flipped")


def _rate_omitted(trace: Trace, q: Quantity, world: World) -> list[float]:
    return _update(trace, q, world, -1.0, 1.0) + _optimizer_values(trace, q, world, "learning_rate_omitted")


def _not_applied(trace: Trace, q: Quantity, world: World) -> list[float]:
    if q.kind not in (*_OPTIMIZED, *_FILTERS) or q.parameter is None:
        return []
    return [q.parameter.value]


def _plain_update(trace: Trace) -> bool:
    """Whether the update is new = old - eta * gradient, with nothing in between (plain sgd)."""
    return len(trace.problem.optimizer.rules) == 1


def _hidden_terms(trace: Trace, q: Quantity, world: World, weight: Callable[[int], float]) -> list[float]:
    """delta_k * weight(k) for each neuron k of the layer after q's."""
    size = trace.problem.layers[q.layer].size
    return [_value(trace, world, "delta", q.layer + 1, k, None, q.sample) * weight(k) for k in range(1, size + 1)]


def _is_hidden_dloss(trace: Trace, q: Quantity) -> bool:
    return q.kind == "dloss_dout" and q.layer is not None and q.layer < len(trace.problem.layers)


def _updated_weights(trace: Trace, q: Quantity, world: World) -> list[float]:
    if not _is_hidden_dloss(trace, q):
        return []
    nxt = trace.problem.layers[q.layer]
    rate = trace.problem.step_rate
    if not _plain_update(trace):  # the optimizer's new weights, as the key has them
        return [sum(_hidden_terms(trace, q, world, lambda k: trace[trace.key_for("new_weight", q.layer + 1, k,
                                                                                  q.j)].value))]

    def new_weight(k: int) -> float:
        gradient = _value(trace, world, "grad_weight", q.layer + 1, k, q.j)
        return float(nxt.weights[k - 1, q.j - 1]) - rate * gradient

    return [sum(_hidden_terms(trace, q, world, new_weight))]


def _single_path(trace: Trace, q: Quantity, world: World) -> list[float]:
    if not _is_hidden_dloss(trace, q) or trace.problem.layers[q.layer].size < 2:
        return []
    nxt = trace.problem.layers[q.layer]
    return _hidden_terms(trace, q, world, lambda k: float(nxt.weights[k - 1, q.j - 1]))


def _index_swapped(trace: Trace, q: Quantity, world: World) -> list[float]:
    problem = trace.problem
    if q.kind == "net":
        weights = problem.layers[q.layer - 1].weights
        rows, cols = weights.shape
        if cols > rows or q.j > cols:
            return []
        total = float(problem.layers[q.layer - 1].biases[q.j - 1])
        for i in range(1, cols + 1):
            total += float(weights[i - 1, q.j - 1]) * _layer_input(trace, world, q.layer, i, q.sample)
        return [total]
    if q.kind == "grad_weight":
        layer = problem.layers[q.layer - 1]
        if q.i > layer.size or q.j > layer.fan_in or q.i == q.j:
            return []
        samples = _samples(trace)
        total = sum(_value(trace, world, "delta", q.layer, q.i, None, s) * _layer_input(trace, world, q.layer, q.j, s)
                    for s in samples)
        return [total / len(samples)]
    if _is_hidden_dloss(trace, q):
        nxt = problem.layers[q.layer].weights
        if nxt.shape[0] > nxt.shape[1] or q.j > nxt.shape[0]:
            return []
        return [sum(_hidden_terms(trace, q, world, lambda k: float(nxt[q.j - 1, k - 1])))]
    return []


def _owned_mistakes() -> list[Mistake]:
    """The mistakes registered activations, losses and layers own, each id once, in registration order."""
    owned: dict[str, Mistake] = {}
    for registry, make_rule in ((ACTIVATIONS, _activation_rule), (LOSSES, _loss_rule), (LAYERS, _layer_rule)):
        for cls in registry.values():
            for mistake in getattr(cls, "mistakes", ()):
                owned.setdefault(mistake.id, Mistake(mistake.id, mistake.explanation, make_rule(mistake.id)))
    return list(owned.values())


#: The mistakes every network can show, whatever its activations and loss.
GENERIC: tuple[Mistake, ...] = (
    Mistake("update_sign_flipped",
            "the update added the gradient, or the optimizer's step (w + eta * g, w + step); gradient descent "
            "subtracts it (w - eta * g, w - eta * v, w - step)", _update_sign),
    Mistake("learning_rate_omitted",
            "the update subtracted the gradient itself (w - g), or a step without the rate; it is scaled by the "
            "learning rate (w - eta * g, and eta in the optimizer's step)", _rate_omitted),
    Mistake("update_not_applied",
            "the weight was left as it was; the update changes it by its step (w+ = w - eta * g)",
            _not_applied),
    Mistake("updated_weights_in_backward",
            "a later layer's updated weights were used to backpropagate; every gradient uses the weights the "
            "step started with", _updated_weights),
    Mistake("single_path_only",
            "a hidden neuron's dL/dout took only one path; it sums delta_k * w_kj over every neuron k of the "
            "next layer", _single_path),
    Mistake("weight_index_swapped",
            "w_ij was used for w_ji: row j of a layer's weights holds the weights into neuron j",
            _index_swapped),
)

#: The mistakes optimizers own (each optimizer says which of its quantities they concern).
OPTIMIZER: tuple[Mistake, ...] = tuple(Mistake(mistake_id, explanation, _optimizer_rule(mistake_id))
                                       for mistake_id, explanation in OPTIMIZER_MISTAKES.items())

#: The mistakes learning-rate schedules own.
SCHEDULE: tuple[Mistake, ...] = (Mistake("schedule_wrong_epoch", SCHEDULE_MISTAKES["schedule_wrong_epoch"],
                                         _wrong_epoch),)


def _gate_rule(mistake_id: str) -> Rule:
    """A mistake owned by gates of computational graphs: a gate's wrong local gradient, on the world's values."""

    def rule(trace, q: Quantity, world: World) -> list[float]:
        return trace.gate_mistake_values(q, world, mistake_id)

    return rule


def _graph_mistakes() -> list[Mistake]:
    """The mistakes of computational graphs: the gates' own (tutor/model/gates), then fan-out and the chain rule's."""
    from tutor.model.gates import GATES
    from tutor.trace.graph import GRAPH_MISTAKES

    owned: dict[str, Mistake] = {}
    for cls in GATES.values():
        for mistake in cls.mistakes:
            owned.setdefault(mistake.id, Mistake(mistake.id, mistake.explanation, _gate_rule(mistake.id)))
    explained = {m.id: m.explanation for m in GENERIC}  # an id shared with networks means the same there
    return [*owned.values(), *(Mistake(i, explanation or explained[i], rule) for i, explanation, rule in GRAPH_MISTAKES)]


CATALOGUE: tuple[Mistake, ...] = (*_owned_mistakes(), *GENERIC, *OPTIMIZER, *SCHEDULE)
#: The mistakes of computational graphs (tutor/problem/graph.py): the judge uses these for a graph's trace.
GRAPH_CATALOGUE: tuple[Mistake, ...] = tuple(_graph_mistakes())
BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}
