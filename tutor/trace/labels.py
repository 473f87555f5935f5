"""Display names and descriptions of quantities, in the problem's own notation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor.problem.validated import Problem
from tutor.trace.quantity import Quantity

if TYPE_CHECKING:
    from tutor.trace.trace import Trace


class Labels:
    """Display names of quantities in the problem's own notation."""

    def __init__(self, problem: Problem) -> None:
        self.notation = problem.notation
        self.batch = problem.batch
        self.loss = self.notation.loss
        self.loss_base = self.loss.split("_")[0] or self.loss

    def neuron(self, layer: int, j: int) -> str:
        return self.notation.neurons[layer - 1][j - 1]

    def input(self, i: int) -> str:
        return self.notation.inputs[i - 1]

    def weight(self, layer: int, j: int, i: int) -> str:
        return self.notation.weights[layer - 1][j - 1][i - 1]

    def bias(self, layer: int, j: int | None) -> str:
        names = self.notation.biases[layer - 1]
        return names[0] if j is None or len(names) == 1 else names[j - 1]

    def _s(self, sample: int | None) -> str:
        return f"@{sample}" if self.batch and sample is not None else ""

    def net(self, layer: int, j: int, s: int | None = None) -> str:
        return f"net_{self.neuron(layer, j)}{self._s(s)}"

    def out(self, layer: int, j: int, s: int | None = None) -> str:
        return f"{self.notation.out}_{self.neuron(layer, j)}{self._s(s)}"

    def layer_input(self, layer: int, i: int, s: int | None = None) -> str:
        """What enters a layer: an input for layer 1, the previous layer's out otherwise."""
        return self.input(i) + self._s(s) if layer == 1 else self.out(layer - 1, i, s)

    def target(self, j: int, s: int | None, layers: int) -> str:
        return f"t_{self.neuron(layers, j)}{self._s(s)}"

    def of(self, kind: str, layer: int | None, j: int | None, i: int | None, s: int | None) -> str:
        """The label of any quantity."""
        if kind == "loss":
            if j is None:
                return self.loss + self._s(s)
            return f"{self.loss_base}_{self.neuron(len(self.notation.neurons), j)}{self._s(s)}"
        assert layer is not None
        if kind == "net":
            return self.net(layer, j, s)
        if kind == "out":
            return self.out(layer, j, s)
        if kind == "dloss_dout":
            return f"d{self.loss}/d{self.out(layer, j, s)}"
        if kind == "dout_dnet":
            return f"d{self.out(layer, j, s)}/d{self.net(layer, j, s)}"
        if kind == "delta":
            return f"delta_{self.neuron(layer, j)}{self._s(s)}"
        if kind == "grad_weight":
            return f"d{self.loss}/d{self.weight(layer, j, i)}"
        if kind == "grad_bias":
            return f"d{self.loss}/d{self.bias(layer, j)}"
        if kind == "new_weight":
            return f"{self.weight(layer, j, i)}+"
        if kind.startswith("opt_"):
            return self.optimizer_quantity(kind[4:], layer, j, i)
        return f"{self.bias(layer, j)}+"

    def parameter(self, layer: int, j: int | None, i: int | None) -> str:
        """A weight's name (with its input i) or a bias's name (without)."""
        return self.bias(layer, j) if i is None else self.weight(layer, j, i)

    def optimizer_quantity(self, name: str, layer: int, j: int | None, i: int | None) -> str:
        """An optimizer quantity of one parameter: ``m(w5)``, ``v_hat(b1)``; ``m_prev(w5)`` for its old state."""
        return f"{name}({self.parameter(layer, j, i)})"

def describe(trace: "Trace", q: Quantity) -> str:
    """What `q` is, in words and the problem's notation: "net input of h1", "w5 after the update".

    Used for quiz questions and for the comments of blank answer sheets.
    """
    if getattr(trace, "is_graph", False):  # a computational graph (tutor/trace/graph.py)
        return trace.describe(q)
    if trace.problem.inputs.ndim == 4:  # an input image: conv2d, pooling and flatten layers
        from tutor.trace.conv import describe_image

        described = describe_image(trace, q)
        if described is not None:
            return described
    labels = trace.labels
    sample = f" (sample {q.sample})" if q.sample is not None else ""
    if q.kind == "loss":
        if q.j is not None:
            output = _neuron(labels.neuron(len(trace.problem.layers), q.j))
            return f"{output}'s share of the loss{sample}"
        return f"the loss of sample {q.sample}" if q.sample is not None else "the total loss"
    neuron = _neuron(labels.neuron(q.layer, q.j)) if q.j is not None else ""
    if q.kind == "net":
        return f"net input of {neuron}{sample}"
    if q.kind == "out":
        return f"output of {neuron}{sample}"
    if q.kind == "dloss_dout":
        return f"derivative of the loss with respect to the output of {neuron}{sample}"
    if q.kind == "dout_dnet":
        return f"derivative of {neuron}'s activation, d{labels.notation.out}/dnet{sample}"
    if q.kind == "delta":
        return f"delta of {neuron}, the loss's derivative with respect to its net input{sample}"
    if q.kind in ("grad_weight", "new_weight"):
        weight = labels.weight(q.layer, q.j, q.i)
        source = labels.input(q.i) if q.layer == 1 else _neuron(labels.neuron(q.layer - 1, q.i))
        if q.kind == "new_weight":
            return f"{weight} after the update ({source} -> {neuron})"
        return f"gradient of the loss with respect to {weight} ({source} -> {neuron})"
    if q.kind.startswith("opt_"):
        rule = trace.problem.optimizer.rule(q.kind[4:])
        return f"{rule.meaning} for {labels.parameter(q.layer, q.j, q.i)} ({trace.problem.optimizer.name})"
    bias = labels.bias(q.layer, q.j)
    if q.kind == "new_bias":
        return f"{bias} after the update"
    return f"gradient of the loss with respect to {bias}"


def _neuron(name: str) -> str:
    """A neuron's name in a sentence: ``h1``, or ``neuron 2^1`` for the default notation's bare indices."""
    return f"neuron {name}" if name[:1].isdigit() else name
