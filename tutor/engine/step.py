"""Steps of gradient descent, computed in full with numpy from the network's layers; nothing here prints.

Conventions (documented in docs/engine.md):
- each layer computes its net inputs (`Layer.forward`) and the engine applies the layer's activation;
  for a dense layer, row j of the weights holds the weights into neuron j: net = out_prev @ W.T + b;
- for a batch, a sample's delta is the derivative of *that sample's* loss (dZ = P - Y in the matrix
  view), and the batch's gradients are the mean over samples (`Layer.backward`): dW = dZ.T @ A_prev / m;
- every gradient is taken with the weights the step started with; updates come last, by the problem's
  optimizer with its state carried from step to step (`tutor.engine.update.Updater`);
- delta = dL/dout * dout/dnet (the activation's `backward`), except where the loss has a closed form
  with the output activation: softmax + cross-entropy fused (`Loss.fuses_with`), and a sigmoid output
  under bce or cross_entropy that rounded to exactly 0 or 1 (possible only inside `train`), where the
  product is NaN and the cancelled form is used (`Loss.cancelled_delta`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from tutor.errors import ProblemError
from tutor.model.activations import Activation
from tutor.model.activations.linear import Linear
from tutor.model.layers import Layer, build_layer
from tutor.model.losses import Loss
from tutor.engine.update import Updater
from tutor.problem.validated import LayerState, Problem

Params = dict[str, np.ndarray]
_IDENTITY = Linear()
#: (net, out, dL/dout) -> dL/dnet for one layer, with everything fixed for the problem bound in.
DeltaRule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


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
    #: For each updated parameter ("weights", "biases"), every quantity of the optimizer's step on it as an
    #: array shaped like the parameter (the state it started from as "m_prev", ...), with "lr" and "t".
    update_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: dL_s/d(the layer's inputs), in the inputs' shape (for images: channels first).
    dloss_dinput: np.ndarray | None = None


@dataclass(frozen=True)
class Step:
    """One full forward and backward pass and the update it leads to."""

    layers: tuple[LayerStep, ...]
    loss: float  # the batch mean (the sample's loss for one sample)
    sample_losses: np.ndarray  # (m,)
    loss_shares: np.ndarray  # (m, outputs): each output's part of its sample's loss
    targets: np.ndarray  # (m, outputs)


#: The parameters of a layer that has none (pooling, flatten), as a step reports them.
_NONE = np.empty(0)


def loss_view(output: np.ndarray) -> np.ndarray:
    """The outputs as the loss sees them, one row per sample: an image output is read channel by channel."""
    return output.reshape(output.shape[0], -1)


def parameters_after(step: Step) -> list[Params]:
    """Each layer's parameters after a step (none for a pooling or flatten layer)."""
    return [{"weights": ls.new_weights, "biases": ls.new_biases} if ls.weights.size else {} for ls in step.layers]


def network(problem: Problem) -> list[Layer]:
    """The problem's layers as objects that compute their forward and backward passes."""
    return [build_layer(spec) for spec in problem.layers]


def activation_of(layer: Layer) -> Activation:
    """The activation the engine applies after a layer: the identity for a layer without one (pooling)."""
    return layer.activation if layer.activation is not None else _IDENTITY


def bias_parameters(problem: Problem) -> list[np.ndarray]:
    """The bias parameters of each layer: one per neuron, or a single one when shared."""
    return [layer.parameters()["biases"] for layer in network(problem)]


def frozen_parameters(problem: Problem) -> frozenset[str]:
    """Parameters the problem keeps fixed: the biases when `update_biases` is false."""
    return frozenset() if problem.update_biases else frozenset({"biases"})


def run_step(problem: Problem) -> Step:
    """Forward pass, loss, backward pass and update, from the problem's own parameters."""
    layers = network(problem)
    updater = Updater(problem, frozen_parameters(problem))
    return _step(problem, layers, [layer.parameters() for layer in layers], updater)


@dataclass(frozen=True)
class Run:
    """Several steps: one of them in full, the loss history and the parameters after the last step."""

    problem: Problem  # the problem as it stands at the shown step: its parameters, t and optimizer state
    step: Step  # the shown step, in full
    history: np.ndarray  # the loss before each update and after the last
    final: list[Params]  # each layer's parameters after the last step


def run(problem: Problem, steps: int, show: int = 1) -> Run:
    """`steps` steps of the problem's optimizer, carrying its state; step `show` (1-based) in full."""
    if not 1 <= show <= max(steps, 1):
        raise ValueError(f"the step to show must be from 1 to {max(steps, 1)}, got {show}")
    layers = network(problem)
    updater = Updater(problem, frozen_parameters(problem))
    params = [layer.parameters() for layer in layers]
    history = np.empty(steps + 1)
    fast = _fast_stepper(problem, layers, updater)
    shown: tuple[Problem, Step] | None = None
    for k in range(1, max(steps, 1) + 1):
        if k == show:
            at = problem_at(problem, params, updater)
            full = _step(problem, layers, params, updater)
            shown = (at, full)
            history[k - 1] = full.loss
            params = parameters_after(full)
        else:
            history[k - 1], params = fast(params)
        updater.advance()
    assert shown is not None
    history[steps] = forward_loss(problem, layers, params) if steps else shown[1].loss
    return Run(shown[0], shown[1], history[: steps + 1], params)


def train(problem: Problem, steps: int) -> tuple[Step, np.ndarray]:
    """`steps` steps: the first step in full, and the loss before each update and after the last."""
    result = run(problem, steps)
    return result.step, result.history


def problem_at(problem: Problem, params: list[Params], updater: Updater) -> Problem:
    """The problem as it stands before the updater's current step: its parameters, step number and state."""
    layers = tuple(
        replace(spec, weights=p["weights"], biases=np.full(spec.size, p["biases"][0]) if spec.shared_bias
                else p["biases"]) if p else spec
        for spec, p in zip(problem.layers, params)
    )
    states = [updater.state_of(index) for index in range(len(layers))]
    state: tuple[LayerState, ...] | None = None
    if all(s is not None for s in states) and updater.optimizer.state_names:
        state = tuple({name: dict(values) for name, values in s.items()} for s in states)  # type: ignore[union-attr]
    elif updater.t == problem.first_step:
        state = problem.optimizer_state
    epoch = None if problem.first_epoch is None else updater.t - 1 + updater.epoch_offset
    return replace(problem, layers=layers, first_step=updater.t, optimizer_state=state, first_epoch=epoch)


def forward_loss(problem: Problem, layers: list[Layer], params: list[Params]) -> float:
    """The batch loss for the given parameters (used for the loss after the last update)."""
    out = problem.inputs
    for layer, p in zip(layers, params):
        out = activation_of(layer).forward(layer.forward(out, p)[0])
    return float(np.mean(problem.loss.value(loss_view(out), problem.targets)))


def _step(problem: Problem, layers: list[Layer], params: list[Params], updater: Updater) -> Step:
    inputs, nets, outs, caches = _forward(problem, layers, params)
    targets = problem.targets
    output = loss_view(outs[-1])
    _check_outputs(problem, output)
    shares = problem.loss.shares(output, targets)
    sample_losses = shares.sum(axis=1)
    grad = problem.loss.gradient(output, targets).reshape(outs[-1].shape)
    rules = delta_rules(problem, layers)
    steps: list[LayerStep] = []
    for index in range(len(layers) - 1, -1, -1):
        activation = activation_of(layers[index])
        net, out, p = nets[index], outs[index], params[index]
        dout_dnet = activation.derivative(net, out) if activation.elementwise else None
        delta = rules[index](net, out, grad)
        dx, grads = layers[index].backward(delta, caches[index])
        new, values = updater.update_traced(index, p, grads)
        steps.append(LayerStep(
            inputs=inputs[index], net=net, out=out, dloss_dout=grad, dout_dnet=dout_dnet, delta=delta,
            grad_weights=grads.get("weights", _NONE), grad_biases=grads.get("biases", _NONE),
            weights=p.get("weights", _NONE), biases=p.get("biases", _NONE), new_weights=new.get("weights", _NONE),
            new_biases=new.get("biases", _NONE), update_values=values, dloss_dinput=dx,
        ))
        grad = dx
    steps.reverse()
    return Step(tuple(steps), float(sample_losses.mean()), sample_losses, shares, targets)


def _forward(problem: Problem, layers: list[Layer], params: list[Params]):
    inputs, nets, outs, caches = [], [], [], []
    out = problem.inputs
    for layer, p in zip(layers, params):
        inputs.append(out)
        net, cache = layer.forward(out, p)
        out = activation_of(layer).forward(net)
        nets.append(net)
        outs.append(out)
        caches.append(cache)
    return inputs, nets, outs, caches


def delta_rules(problem: Problem, layers: list[Layer]) -> list[DeltaRule]:
    """How each layer turns dL/dout into dL/dnet; the output layer's may use a form the loss has with it."""
    last = len(layers) - 1
    targets = problem.targets
    targets = targets.reshape(targets.shape[:1] + getattr(problem.layers[-1], "output_shape", targets.shape[1:]))
    return [output_delta_rule(problem.loss, activation_of(layer), targets) if index == last
            else activation_of(layer).backward for index, layer in enumerate(layers)]


def output_delta_rule(loss: Loss, activation: Activation, targets: np.ndarray) -> DeltaRule:
    """The output layer's delta: fused with the loss, guarded against saturation, or the plain chain rule."""
    if not activation.elementwise and loss.fuses_with(activation):
        return lambda net, out, grad: loss.fused_delta(out, targets)
    cancelled = loss.cancelled_delta(activation) if activation.elementwise else None
    if cancelled is None:
        return activation.backward

    def guarded(net: np.ndarray, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """An output that rounded to exactly 0 or 1 makes dL/dout infinite (or 0/0) while dout/dnet is 0:
        only those NaN entries take the cancelled form, so the checked first step is unchanged."""
        with np.errstate(invalid="ignore"):
            delta = activation.backward(net, out, grad)
        bad = ~np.isfinite(delta)
        return np.where(bad, cancelled(out, targets), delta) if bad.any() else delta

    return guarded


def _fast_stepper(problem: Problem, layers: list[Layer], updater: Updater):
    """A function (parameters) -> (loss, new parameters): the inner loop of `train`.

    The same arithmetic as `_step`, with everything that does not change between steps looked up once,
    so that thousands of steps cost little more than the numpy operations themselves.
    """
    forwards = [(layer.forward, activation_of(layer).forward) for layer in layers]
    backwards = [(index, layer.backward, rule) for index, (layer, rule)
                 in reversed(list(enumerate(zip(layers, delta_rules(problem, layers)))))]
    x, targets = problem.inputs, problem.targets
    shares, gradient = problem.loss.shares, problem.loss.gradient
    m = problem.samples
    update = updater.update
    total = np.add.reduce  # ndarray.sum without its Python wrapper

    def step(params: list[Params]) -> tuple[float, list[Params]]:
        out = x
        saved = []
        for (forward, activate), p in zip(forwards, params):
            net, cache = forward(out, p)
            out = activate(net)
            saved.append((net, out, cache))
        flat = loss_view(out)
        loss = total(shares(flat, targets), None) / m
        grad = gradient(flat, targets).reshape(out.shape)
        new = list(params)
        for index, backward, rule in backwards:
            net, out, cache = saved[index]
            grad, grads = backward(rule(net, out, grad), cache)
            new[index] = update(index, params[index], grads)
        return loss, new

    return step


def _check_outputs(problem: Problem, output: np.ndarray) -> None:
    """A loss that takes logarithms of the outputs refuses outputs it cannot take (`Loss.output_trouble`)."""
    loss = problem.loss
    trouble = loss.output_trouble(output, problem.targets)
    if trouble is None:
        return
    s, j, need = trouble
    act = activation_of(problem.layers[-1]).name
    sample = f" of sample {s + 1}" if problem.batch else ""
    suitable = " or ".join(loss.suitable_outputs())
    raise ProblemError(
        f"{loss.name} needs {need}, but output {j + 1}{sample} is {output[s, j]:.6g} "
        f"(the output layer is {act}; a {suitable} output keeps outputs in range)",
        source=problem.path, field="loss",
    )
