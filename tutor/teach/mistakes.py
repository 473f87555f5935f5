"""The catalogue of common backpropagation mistakes, shared by the quiz and the grader.

Each mistake is a wrong rule for computing some kinds of quantity. `candidates(trace, q, world)`
gives the value(s) quantity `q` would take under that rule, computed from `world`: the values a student
is working with (their own answers where they gave them, and what follows from those elsewhere).
A wrong answer that one of these reproduces is diagnosed with that mistake's stable id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from tutor.trace.trace import Quantity, Trace

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


def _activation(trace: Trace, q: Quantity) -> str:
    return trace.problem.layers[q.layer - 1].activation.name if q.layer else ""


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


def _sigmoid_on_net(trace: Trace, q: Quantity, world: World) -> list[float]:
    if q.kind != "dout_dnet" or _activation(trace, q) != "sigmoid":
        return []
    net = _value(trace, world, "net", q.layer, q.j, None, q.sample)
    return [net * (1.0 - net)]


def _tanh_on_net(trace: Trace, q: Quantity, world: World) -> list[float]:
    if q.kind != "dout_dnet" or _activation(trace, q) != "tanh":
        return []
    net = _value(trace, world, "net", q.layer, q.j, None, q.sample)
    return [1.0 - net * net]


def _relu_derivative(trace: Trace, q: Quantity, world: World) -> list[float]:
    if q.kind != "dout_dnet" or _activation(trace, q) not in ("relu", "leaky_relu"):
        return []
    net = _value(trace, world, "net", q.layer, q.j, None, q.sample)
    out = _value(trace, world, "out", q.layer, q.j, None, q.sample)
    return [net, out, 1.0, 0.0]  # the value itself taken as the slope, or a constant slope


def _loss_factor(trace: Trace, q: Quantity, world: World) -> list[float]:
    problem = trace.problem
    right = _right(q, world)
    n, m = problem.layers[-1].size, problem.samples
    factors = {"half_sse": [2.0, 0.5], "sse": [0.5, 2.0], "mse": [n, 0.5, 2.0, 1.0 / n],
               "bce": [n, 1.0 / n], "cross_entropy": []}[problem.loss.name]
    if q.kind == "loss" and q.j is not None:
        return [right * f for f in factors]
    if q.kind == "loss" and q.j is None and (q.sample is not None or not problem.batch):
        return [right * f for f in factors]
    if q.kind == "loss":  # a batch's loss: the mean's 1/m
        return [right * m, right / m]
    if q.kind == "dloss_dout" and q.layer == len(problem.layers):
        return [right * f for f in factors]
    if q.kind in ("grad_weight", "grad_bias") and problem.batch and m > 1:
        return [right * m, right / m]
    return []


def _target_output_swapped(trace: Trace, q: Quantity, world: World) -> list[float]:
    output = len(trace.problem.layers)
    if q.kind == "dloss_dout" and q.layer == output:
        return [-_right(q, world)]
    if q.kind == "delta" and q.layer == output and not trace.problem.layers[-1].activation.elementwise:
        return [-_right(q, world)]  # softmax + cross-entropy written t - o
    return []


def _update(trace: Trace, q: Quantity, world: World, sign: float, rate: float | None) -> list[float]:
    if q.kind not in ("new_weight", "new_bias"):
        return []
    old = q.formula[0].value  # the formula is: old - eta * gradient
    gradient = world[q.depends_on[0]]
    step = gradient * (trace.problem.learning_rate if rate is None else rate)
    return [old + sign * step]


def _update_sign(trace: Trace, q: Quantity, world: World) -> list[float]:
    return _update(trace, q, world, +1.0, None)


def _rate_omitted(trace: Trace, q: Quantity, world: World) -> list[float]:
    return _update(trace, q, world, -1.0, 1.0)


def _not_applied(trace: Trace, q: Quantity, world: World) -> list[float]:
    return _update(trace, q, world, 0.0, None)


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
    rate = trace.problem.learning_rate

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


CATALOGUE: tuple[Mistake, ...] = (
    Mistake("sigmoid_derivative_on_net",
            "the sigmoid's derivative was taken as net * (1 - net); it is out * (1 - out), on the output",
            _sigmoid_on_net),
    Mistake("tanh_derivative_on_net",
            "tanh's derivative was taken as 1 - net^2; it is 1 - out^2 = 1 - tanh(net)^2", _tanh_on_net),
    Mistake("relu_derivative_wrong",
            "ReLU's derivative is 1 where net > 0 and 0 where net <= 0 (not the net or output value itself)",
            _relu_derivative),
    Mistake("loss_factor_dropped",
            "a constant factor of the loss (the 1/2, the 1/n over outputs or the 1/m over samples) was lost "
            "or doubled", _loss_factor),
    Mistake("target_output_swapped",
            "(t - o) was used where (o - t) belongs, which flips the gradient's sign", _target_output_swapped),
    Mistake("update_sign_flipped",
            "the update added the gradient (w + eta * g); gradient descent subtracts it (w - eta * g)",
            _update_sign),
    Mistake("learning_rate_omitted",
            "the update subtracted the gradient itself (w - g); it is scaled by the learning rate (w - eta * g)",
            _rate_omitted),
    Mistake("update_not_applied",
            "the weight was left as it was; the update changes it by -eta * gradient (w+ = w - eta * g)",
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

BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}
