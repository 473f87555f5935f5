"""The path-sum form of a weight's gradient: one product of local derivatives per path from the loss.

dL/dw_ji^l is the sum, over every path from the loss through the layers above l down to net_j^l, of the
product of the local derivatives along it (as the EX02 exercise expands dL/dw11 of layer 1). This is
the same number as the delta form, computed the long way; for a batch it is the mean over samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

from tutor.trace.trace import Term, Trace

#: Past this many paths the expansion is not shown (the delta form is).
MAX_PATHS = 256


@dataclass(frozen=True)
class Path:
    """One path: the nodes it passes, and the local derivative on each of its edges."""

    nodes: tuple[str, ...]
    factors: tuple[Term, ...]
    sample: int | None = None  # 1-based, for a batch

    @property
    def value(self) -> float:
        return math.prod(f.value for f in self.factors)


@dataclass(frozen=True)
class PathSum:
    """All paths for one weight; `paths` is empty when there are more than MAX_PATHS."""

    key: str  # the grad_weight key
    label: str
    count: int
    paths: tuple[Path, ...]
    mean_over: int  # samples averaged (1 for a single sample)

    @property
    def expanded(self) -> bool:
        return bool(self.paths)

    @property
    def total(self) -> float:
        return sum(p.value for p in self.paths) / self.mean_over


def path_count(trace: Trace, layer: int) -> int:
    """How many paths lead from the loss to one weight of `layer` (over all samples)."""
    problem = trace.problem
    count = math.prod(l.size for l in problem.layers[layer:])
    output = problem.layers[-1].activation
    if not output.elementwise and not problem.loss.fuses_with(output):
        count *= problem.layers[-1].size  # loss -> out_m -> net_k: every output m for each net_k
    return count * problem.samples


def path_sum(trace: Trace, layer: int, j: int, i: int) -> PathSum:
    """The path-sum of dL/dw_ji^l (all indices 1-based)."""
    problem = trace.problem
    key = trace.key_for("grad_weight", layer, j, i)
    label = trace[key].label
    count = path_count(trace, layer)
    if count > MAX_PATHS:
        return PathSum(key, label, count, (), problem.samples)
    paths = [p for s in range(problem.samples) for p in _paths_for_sample(trace, layer, j, i, s)]
    return PathSum(key, label, count, tuple(paths), problem.samples)


def _paths_for_sample(trace: Trace, layer: int, j: int, i: int, s: int) -> list[Path]:
    problem, step, labels = trace.problem, trace.step, trace.labels
    L = len(problem.layers)
    sample = s + 1 if problem.batch else None
    above = [range(1, problem.layers[l - 1].size + 1) for l in range(layer + 1, L + 1)]
    input_key = trace.key_for("out", layer - 1, i, None, sample) if layer > 1 else None  # None: a given input
    input_term = Term(labels.layer_input(layer, i, sample), float(step.layers[layer - 1].inputs[s, i - 1]),
                      input_key)
    paths = []
    for route in product(*above):
        chain = (j, *route)  # chain[t] is the neuron in layer `layer + t`; the last is an output neuron
        for head_nodes, head_factors in _output_heads(trace, chain[-1], s):
            nodes, factors = list(head_nodes), list(head_factors)
            for t in range(len(chain) - 1, 0, -1):  # down one layer: net_upper -> out_lower -> net_lower
                upper_layer, upper, lower = layer + t, chain[t], chain[t - 1]
                w = float(step.layers[upper_layer - 1].weights[upper - 1, lower - 1])
                factors += [Term(labels.weight(upper_layer, upper, lower), w),
                            _factor(trace, "dout_dnet", upper_layer - 1, lower, s)]
                nodes += [labels.out(upper_layer - 1, lower, sample), labels.net(upper_layer - 1, lower, sample)]
            factors.append(input_term)
            nodes.append(labels.weight(layer, j, i))
            paths.append(Path(tuple(nodes), tuple(factors), sample))
    return paths


def _output_heads(trace: Trace, k: int, s: int):
    """The first edges of each path ending at net_k of the output layer: (nodes, factors) pairs."""
    problem, labels = trace.problem, trace.labels
    L = len(problem.layers)
    sample = s + 1 if problem.batch else None
    loss = labels.of("loss", None, None, None, sample)
    output = problem.layers[-1]
    if output.activation.elementwise:
        nodes = (loss, labels.out(L, k, sample), labels.net(L, k, sample))
        return [(nodes, (_factor(trace, "dloss_dout", L, k, s), _factor(trace, "dout_dnet", L, k, s)))]
    if problem.loss.fuses_with(output.activation):
        return [((loss, labels.net(L, k, sample)), (_factor(trace, "delta", L, k, s),))]
    out = trace.step.layers[-1].out[s]
    heads = []
    for m in range(1, output.size + 1):
        jac = float(out[m - 1] * ((m == k) - out[k - 1]))
        name = f"d{labels.out(L, m)}/d{labels.net(L, k, sample)}"
        nodes = (loss, labels.out(L, m, sample), labels.net(L, k, sample))
        # The softmax Jacobian entry is computed but no quantity of its own: an empty key, not a given.
        heads.append((nodes, (_factor(trace, "dloss_dout", L, m, s), Term(name, jac, ""))))
    return heads


def _factor(trace: Trace, kind: str, layer: int, j: int, s: int) -> Term:
    q = trace[trace.key_for(kind, layer, j, None, s + 1)]
    return Term(q.label, q.value, q.key)
