"""One step of gradient descent, computed in full with numpy; nothing here prints.

Conventions (documented in docs/engine.md):
- row j of a layer's weights holds the weights into neuron j: net = out_prev @ W.T + b;
- for a batch, a sample's delta is the derivative of *that sample's* loss (dZ = P - Y in the matrix
  view), and the batch's gradients are the mean over samples: dW = dZ.T @ A_prev / m;
- every gradient is taken with the weights the step started with; updates come last;
- a shared bias (one number for a layer) is one parameter: its gradient is the sum of the layer's deltas;
- delta = dL/dout * dout/dnet, except where a sigmoid output under bce or cross_entropy has rounded to
  exactly 0 or 1 (possible only inside `train`): there the product is NaN and the cancelled form is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tutor.errors import ProblemError
from tutor.problem.validated import Problem


@dataclass(frozen=True)
class LayerStep:
    """Every quantity of one layer in one step. Per-sample arrays have one row per sample."""

    inputs: np.ndarray  # (m, fan_in): the layer's inputs (x or the previous layer's out)
    net: np.ndarray  # (m, n)
    out: np.ndarray  # (m, n)
    dloss_dout: np.ndarray  # (m, n): dL_s/dout for each sample's own loss
    dout_dnet: np.ndarray | None  # (m, n); None for softmax (its Jacobian is not diagonal)
    delta: np.ndarray  # (m, n): dL_s/dnet
    grad_weights: np.ndarray  # (n, fan_in): batch mean
    grad_biases: np.ndarray  # (n,), or (1,) for a shared bias
    weights: np.ndarray  # as the step started
    biases: np.ndarray  # parameters as the step started: (n,) or (1,) for a shared bias
    new_weights: np.ndarray
    new_biases: np.ndarray


@dataclass(frozen=True)
class Step:
    """One full forward and backward pass and the update it leads to."""

    layers: tuple[LayerStep, ...]
    loss: float  # the batch mean (the sample's loss for one sample)
    sample_losses: np.ndarray  # (m,)
    loss_shares: np.ndarray  # (m, outputs): each output's part of its sample's loss
    targets: np.ndarray  # (m, outputs)


def bias_parameters(problem: Problem) -> list[np.ndarray]:
    """The bias parameters of each layer: one per neuron, or a single one when shared."""
    return [layer.biases[:1].copy() if layer.shared_bias else layer.biases.copy() for layer in problem.layers]


def run_step(problem: Problem) -> Step:
    """Forward pass, loss, backward pass and update, from the problem's own weights."""
    weights = [layer.weights for layer in problem.layers]
    return _step(problem, weights, bias_parameters(problem))


def train(problem: Problem, steps: int) -> tuple[Step, np.ndarray]:
    """`steps` gradient-descent steps: the first step in full, and the loss before each update and after the last."""
    weights = [layer.weights for layer in problem.layers]
    biases = bias_parameters(problem)
    first = _step(problem, weights, biases)
    history = np.empty(steps + 1)
    history[0] = first.loss
    weights = [layer.new_weights for layer in first.layers]
    biases = [layer.new_biases for layer in first.layers]
    step = _fast_stepper(problem)
    for k in range(1, steps):
        history[k], weights, biases = step(weights, biases)
    history[steps] = forward_loss(problem, weights, biases) if steps else first.loss
    return first, history[: steps + 1]


def forward_loss(problem: Problem, weights: list[np.ndarray], biases: list[np.ndarray]) -> float:
    """The batch loss for the given parameters (used for the loss after the last update)."""
    out = problem.inputs
    for layer, w, b in zip(problem.layers, weights, biases):
        out = layer.activation.forward(out @ w.T + b)
    return float(np.mean(problem.loss.value(out, problem.targets)))


def _step(problem: Problem, weights: list[np.ndarray], biases: list[np.ndarray]) -> Step:
    inputs, nets, outs = _forward(problem, weights, biases)
    targets = problem.targets
    output = outs[-1]
    _check_outputs(problem, output)
    shares = problem.loss.shares(output, targets)
    sample_losses = shares.sum(axis=1)
    grad = problem.loss.gradient(output, targets)
    m = problem.samples
    rate = problem.learning_rate
    layers: list[LayerStep] = []
    for index in range(len(problem.layers) - 1, -1, -1):
        layer = problem.layers[index]
        net, out, w, b = nets[index], outs[index], weights[index], biases[index]
        dout_dnet, delta = _local_delta(problem, index, net, out, grad)
        grad_w = delta.T @ inputs[index] / m
        grad_b = delta.sum(axis=(0, 1), keepdims=False).reshape(1) / m if layer.shared_bias else delta.mean(axis=0)
        new_b = b - rate * grad_b if problem.update_biases else b.copy()
        layers.append(LayerStep(
            inputs=inputs[index], net=net, out=out, dloss_dout=grad, dout_dnet=dout_dnet, delta=delta,
            grad_weights=grad_w, grad_biases=grad_b, weights=w, biases=b, new_weights=w - rate * grad_w,
            new_biases=new_b,
        ))
        grad = delta @ w
    layers.reverse()
    return Step(tuple(layers), float(sample_losses.mean()), sample_losses, shares, targets)


def _forward(problem: Problem, weights: list[np.ndarray], biases: list[np.ndarray]):
    inputs, nets, outs = [], [], []
    out = problem.inputs
    for layer, w, b in zip(problem.layers, weights, biases):
        inputs.append(out)
        net = out @ w.T + b
        out = layer.activation.forward(net)
        nets.append(net)
        outs.append(out)
    return inputs, nets, outs


def _local_delta(problem: Problem, index: int, net: np.ndarray, out: np.ndarray, grad: np.ndarray):
    """(dout/dnet, delta) for one layer, given dL/dout."""
    activation = problem.layers[index].activation
    if activation.derivative is not None:
        dout_dnet = activation.derivative(net, out)
        with np.errstate(invalid="ignore"):
            delta = grad * dout_dnet
        if activation.name == "sigmoid" and index == len(problem.layers) - 1:
            delta = _saturated_sigmoid_delta(problem, out, delta)
        return dout_dnet, delta
    return None, _softmax_delta(problem, out, grad)


def _softmax_delta(problem: Problem, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/dnet of a softmax layer: o - t with cross-entropy, else the Jacobian-vector product."""
    if problem.loss.name == "cross_entropy":
        return out - problem.targets
    return out * (grad - np.sum(grad * out, axis=1, keepdims=True))


def _saturated_sigmoid_delta(problem: Problem, out: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """A sigmoid output that rounded to exactly 0 or 1 under bce or cross_entropy.

    There dL/dout is infinite (or 0/0) while dout/dnet = out * (1 - out) is 0, and their product is
    NaN, although the two cancel: dL/dnet = (out - t) / n for bce and -t * (1 - out) for cross_entropy.
    Only such entries are replaced (every other one stays the plain product), so the first step, whose
    outputs are checked to lie inside (0, 1), is unchanged; this keeps long training runs finite.
    """
    loss = problem.loss.name
    if loss not in ("bce", "cross_entropy"):
        return delta
    bad = ~np.isfinite(delta)
    if not bad.any():
        return delta
    targets = problem.targets
    if loss == "bce":
        cancelled = (out - targets) / out.shape[-1]
    else:
        cancelled = -targets * (1.0 - out)
    return np.where(bad, cancelled, delta)


def _fast_stepper(problem: Problem):
    """A function (weights, biases) -> (loss, new weights, new biases): the inner loop of `train`.

    The same arithmetic as `_step`, with everything that does not change between steps looked up once,
    so that thousands of steps cost little more than the numpy operations themselves.
    """
    layers = problem.layers
    count = len(layers)
    forwards = [layer.activation.forward for layer in layers]
    x, targets = problem.inputs, problem.targets
    shares, gradient = problem.loss.shares, problem.loss.gradient
    m = problem.samples
    scale = problem.learning_rate / m
    update_biases = problem.update_biases
    shared = [layer.shared_bias for layer in layers]
    guard_saturation = layers[-1].activation.name == "sigmoid" and problem.loss.name in ("bce", "cross_entropy")

    def step(weights: list[np.ndarray], biases: list[np.ndarray]):
        outs, nets = [x], []
        out = x
        for forward, w, b in zip(forwards, weights, biases):
            net = out @ w.T + b
            out = forward(net)
            nets.append(net)
            outs.append(out)
        loss = shares(out, targets).sum() / m
        grad = gradient(out, targets)
        new_w, new_b = list(weights), list(biases)
        for index in range(count - 1, -1, -1):
            if guard_saturation and index == count - 1:
                _, delta = _local_delta(problem, index, nets[index], outs[index + 1], grad)
            else:
                _, delta = _local_delta_fast(layers[index].activation, problem, nets[index], outs[index + 1], grad)
            w = weights[index]
            if index:
                grad = delta @ w
            new_w[index] = w - scale * (delta.T @ outs[index])
            if update_biases:
                step_b = delta.sum() if shared[index] else delta.sum(axis=0)
                new_b[index] = biases[index] - scale * step_b
        return loss, new_w, new_b

    return step


def _local_delta_fast(activation, problem: Problem, net: np.ndarray, out: np.ndarray, grad: np.ndarray):
    """delta alone, without the saturation guard (which only a sigmoid output under bce/CE needs)."""
    if activation.derivative is not None:
        return None, grad * activation.derivative(net, out)
    return None, _softmax_delta(problem, out, grad)


def _check_outputs(problem: Problem, output: np.ndarray) -> None:
    """bce and cross_entropy take logarithms of the outputs: refuse outputs they cannot take."""
    loss = problem.loss.name
    if loss == "bce":
        bad = (output <= 0) | (output >= 1)
        need = "every output strictly between 0 and 1"
    elif loss == "cross_entropy":
        bad = (output <= 0) & (problem.targets > 0)
        need = "a positive output wherever the target is not 0"
    else:
        return
    if bad.any():
        s, j = (int(k) for k in np.argwhere(bad)[0])
        act = problem.layers[-1].activation.name
        sample = f" of sample {s + 1}" if problem.batch else ""
        raise ProblemError(
            f"{loss} needs {need}, but output {j + 1}{sample} is {output[s, j]:.6g} "
            f"(the output layer is {act}; a sigmoid or softmax output keeps outputs in range)",
            source=problem.path, field="loss",
        )
