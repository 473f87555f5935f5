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
from tutor.model.clipping import Clipped, clip
from tutor.problem.validated import LayerState, Problem

Params = dict[str, np.ndarray]
_IDENTITY = Linear()
#: (net, out, dL/dout) -> dL/dnet for one layer, with everything fixed for the problem bound in.
DeltaRule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LayerStep:
    """Every quantity of one layer in one step. Per-sample arrays have one row per sample."""

    inputs: np.ndarray  # (m, *input shape): the layer's inputs (x or the previous layer's out)
    net: np.ndarray  # (m, *output shape)
    out: np.ndarray  # (m, *output shape)
    dloss_dout: np.ndarray  # dL_s/dout for each sample's own loss (see `Layer.backward` for coupled layers)
    dout_dnet: np.ndarray | None  # None for softmax (its Jacobian is not diagonal)
    delta: np.ndarray  # dL_s/dnet
    #: The parameters as the step started, their batch-mean gradients (before any clipping), and after the
    #: update, by name ("weights", "biases"; "gamma", "beta"); empty for a layer without parameters.
    params: dict[str, np.ndarray] = field(default_factory=dict)
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    new_params: dict[str, np.ndarray] = field(default_factory=dict)
    #: For each updated parameter, every quantity of the optimizer's step on it as an array shaped like the
    #: parameter (the state it started from as "m_prev", ...), with "lr" and "t".
    update_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: dL_s/d(the layer's inputs), in the inputs' shape (for images: channels first).
    dloss_dinput: np.ndarray | None = None
    #: What the layer's forward pass kept for its backward pass (`Layer.forward`'s cache).
    cache: Any = None
    #: The layer object that computed this step.
    layer: Any = None

    @property
    def weights(self) -> np.ndarray:
        return self.params.get("weights", _NONE)

    @property
    def biases(self) -> np.ndarray:
        return self.params.get("biases", _NONE)

    @property
    def grad_weights(self) -> np.ndarray:
        return self.grads.get("weights", _NONE)

    @property
    def grad_biases(self) -> np.ndarray:
        return self.grads.get("biases", _NONE)

    @property
    def new_weights(self) -> np.ndarray:
        return self.new_params.get("weights", _NONE)

    @property
    def new_biases(self) -> np.ndarray:
        return self.new_params.get("biases", _NONE)


@dataclass(frozen=True)
class Step:
    """One full forward and backward pass and the update it leads to."""

    layers: tuple[LayerStep, ...]
    loss: float  # the batch mean (the sample's loss for one sample)
    sample_losses: np.ndarray  # (m,)
    loss_shares: np.ndarray  # (m, outputs): each output's part of its sample's loss
    targets: np.ndarray  # (m, outputs)
    #: The gradient clipping of the step (its norm, coefficient and clipped gradients), if the problem clips.
    clipped: Clipped | None = None


#: The parameters of a layer that has none (pooling, flatten), as a step reports them.
_NONE = np.empty(0)


def loss_view(output: np.ndarray) -> np.ndarray:
    """The outputs as the loss sees them, one row per sample: an image output is read channel by channel."""
    return output.reshape(output.shape[0], -1)


def parameters_after(step: Step) -> list[Params]:
    """Each layer's parameters after a step (none for a pooling or flatten layer)."""
    return [dict(ls.new_params) for ls in step.layers]


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
    return StepRunner(problem, layers, updater).full([layer.parameters() for layer in layers])


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
    runner = StepRunner(problem, layers, updater)
    fast = runner.fast
    shown: tuple[Problem, Step] | None = None
    for k in range(1, max(steps, 1) + 1):
        if k == show:
            at = problem_at(problem, params, updater)
            full = runner.full(params)
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
    layers = tuple(spec.with_params(p) if p else spec for spec, p in zip(problem.layers, params))
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


#: One layer's record of a pass: its input, net, out, cache, and (after backward) dL/dout, dL/dnet, dL/dx.
Record = list


def make_pass(layers: list[Layer], loss: Loss):
    """The one forward and backward pass of every step (`solve`, `--steps` and `train`):
    a function (params, x, targets, rules, records) -> (each output's loss shares, each layer's gradients).

    `rules` are the layers' delta rules (`delta_rules`); `records`, when a list, gets one `Record` per
    layer (a full step keeps them all; the inner loop of training passes None and keeps nothing).
    Everything that does not change between steps is looked up once, here.
    """
    forwards = [(layer.forward, activation_of(layer).forward) for layer in layers]
    backwards = [(index, layer.backward) for index, layer in reversed(list(enumerate(layers)))]
    shares, gradient = loss.shares, loss.gradient
    count = len(layers)

    def run(params: list[Params], x: np.ndarray, targets: np.ndarray, rules: list[DeltaRule],
            records: list | None = None) -> tuple[np.ndarray, list]:
        out = x
        saved = []
        for (forward, activate), p in zip(forwards, params):
            net, cache = forward(out, p)
            saved.append([out, net, None, cache])
            out = activate(net)
            saved[-1][2] = out
        flat = loss_view(out)
        loss_shares = shares(flat, targets)
        grad = gradient(flat, targets).reshape(out.shape)
        grads: list = [None] * count
        for index, backward in backwards:
            record = saved[index]
            dnet = rules[index](record[1], record[2], grad)
            dx, grads[index] = backward(dnet, record[3])
            if records is not None:
                record += [grad, dnet, dx]
            grad = dx
        if records is not None:
            records.extend(saved)
        return loss_shares, grads

    return run


class StepRunner:
    """Steps of one problem: `full` keeps every quantity (solve, the shown step of --steps), `fast` only the
    loss and the new parameters (the other steps). Both are `make_pass`, then clipping, then the update."""

    def __init__(self, problem: Problem, layers: list[Layer], updater: Updater) -> None:
        self.problem, self.layers, self.updater = problem, layers, updater
        self.run = make_pass(layers, problem.loss)
        self.rules = delta_rules(problem, layers)
        self.clipping = problem.clipping
        self.m = problem.samples

    def fast(self, params: list[Params]) -> tuple[float, list[Params]]:
        """(the batch loss, each layer's parameters after the step)."""
        shares, grads = self.run(params, self.problem.inputs, self.problem.targets, self.rules)
        if self.clipping is not None:
            grads = list(clip(self.clipping, grads).grads)
        update = self.updater.update
        return np.add.reduce(shares, None) / self.m, [update(index, p, g) for index, (p, g)
                                                       in enumerate(zip(params, grads))]

    def full(self, params: list[Params]) -> Step:
        """Every quantity of the step, and its update."""
        problem, records = self.problem, []
        shares, grads = self.run(params, problem.inputs, problem.targets, self.rules, records)
        _check_outputs(problem, loss_view(records[-1][2]))
        clipped = clip(self.clipping, grads) if self.clipping is not None else None
        used = clipped.grads if clipped is not None else grads
        steps = []
        for index, (layer, record, p) in enumerate(zip(self.layers, records, params)):
            inputs, net, out, cache, dloss_dout, delta, dx = record
            activation = activation_of(layer)
            new, values = self.updater.update_traced(index, p, used[index])
            steps.append(LayerStep(
                inputs=inputs, net=net, out=out, dloss_dout=dloss_dout,
                dout_dnet=activation.derivative(net, out) if activation.elementwise else None, delta=delta,
                params=dict(p), grads=dict(grads[index]), new_params=new, update_values=values, dloss_dinput=dx,
                cache=cache, layer=layer,
            ))
        sample_losses = shares.sum(axis=1)
        return Step(tuple(steps), float(sample_losses.mean()), sample_losses, shares, problem.targets, clipped)


def delta_rules(problem: Problem, layers: list[Layer]) -> list[DeltaRule]:
    """How each layer turns dL/dout into dL/dnet; the output layer's may use a form the loss has with it."""
    targets = problem.targets
    return delta_rules_for(layers, problem.loss, targets.reshape(targets.shape[:1] + tuple(problem.layers[-1].output_shape)))


def delta_rules_for(layers: list[Layer], loss: Loss, targets: np.ndarray) -> list[DeltaRule]:
    """`delta_rules` for these layers, loss and targets (shaped like the output: training's batches)."""
    last = len(layers) - 1
    return [output_delta_rule(loss, activation_of(layer), targets) if index == last
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
