"""Training over many epochs: full batch or mini-batches, shuffling, validation and early stopping.

Conventions (documented in docs/train.md):
- a step is one batch: forward, the batch-mean gradients (as in `tutor.engine.step`), one optimizer update
  of every parameter; `t` counts steps from 1 over the whole run;
- an epoch is one pass over the training set in batches of `batch_size` (the last batch may be smaller);
  with `shuffle`, epoch e takes the samples in the order `np.random.default_rng([seed, 1, e]).permutation(m)`,
  else in file order; the full batch is never reordered (its mean gradient does not depend on the order);
- the learning rate of epoch e (from 0) is `schedule.rate(lr0, e)`;
- `history[e]` is the loss on the whole training set before epoch e, and `history[-1]` after the last
  epoch: N + 1 values for N epochs (likewise `validation_history` on the validation set);
- early stopping: after an epoch whose validation loss is not below the best so far for `patience` epochs
  in a row, training stops; the parameters are those of the last epoch run;
- Ctrl-C stops after the step in progress, keeping what was learned so far;
- a loss that is no longer a finite number stops training ("diverged").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import warnings
from math import isfinite
from typing import Callable

import numpy as np

from tutor.model.activations import Activation
from tutor.model.layers import Layer
from tutor.model.losses import Loss

#: Initialisation schemes: the standard deviation (normal) or half-width (uniform) of a layer's weights.
INIT_SCHEMES = ("xavier", "he", "uniform", "normal")


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Network:
    """Layers (tutor.model.layers), the parameters they are used with, and what a step needs besides the data."""

    layers: tuple[Layer, ...]
    params: tuple[dict[str, np.ndarray], ...]  # per layer: name -> array, as `Layer.parameters()`
    loss: Loss
    learning_rate: float
    frozen: frozenset[str] = frozenset()  # parameter names never updated ("biases" when update_biases is false)
    #: One sample's input shape ((C, H, W) for images); None: a vector, as wide as the first layer's weights.
    input_shape: tuple[int, ...] | None = None
    #: Gradient clipping before each step (`train --clip-norm`, or the problem's `gradient_clipping`).
    clipping: object = None

    @property
    def dense_only(self) -> bool:
        """Whether every layer is one the dense builder traces itself (a problem file can hold it as it stands)."""
        return all(type(layer).tracer is None for layer in self.layers)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.input_shape if self.input_shape is not None else (int(self.params[0]["weights"].shape[1]),)

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """One sample's input shape, then each layer's output shape."""
        shapes = [self.sample_shape]
        for layer in self.layers:
            shapes.append(tuple(layer.output_shape(shapes[-1])))
        return tuple(shapes)

    @property
    def shape(self) -> tuple[int, ...]:
        """The number of inputs, then of each layer's outputs (an image counts all its numbers)."""
        return tuple(int(np.prod(shape)) for shape in self.shapes)

    @property
    def outputs(self) -> int:
        return self.shape[-1]

    @property
    def activations(self) -> tuple[Activation, ...]:
        return tuple(layer.activation for layer in self.layers)

    def with_params(self, params) -> "Network":
        return replace(self, params=tuple(params))


def network_from_problem(problem) -> Network:
    """The network of a validated problem, with its own parameters."""
    from tutor.engine.step import frozen_parameters, network

    layers = network(problem)
    return Network(tuple(layers), tuple({k: v.copy() for k, v in layer.parameters().items()} for layer in layers),
                   problem.loss, problem.learning_rate, frozen_parameters(problem),
                   tuple(problem.inputs.shape[1:]), problem.clipping)


def dense_network(weights, biases, activations, loss: Loss, learning_rate: float) -> Network:
    """A network of dense layers with these weights, biases and activations."""
    from tutor.model.layers import Dense

    layers = tuple(Dense(w, b, act) for w, b, act in zip(weights, biases, activations))
    return Network(layers, tuple(layer.parameters() for layer in layers), loss, learning_rate)


def initial_weights(shape: tuple[int, ...], scheme: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Fresh weights for each layer, drawn layer by layer as (neurons, fan_in):

    xavier: N(0, 2 / (fan_in + fan_out)) (Glorot); he: N(0, 2 / fan_in) (Kaiming);
    uniform: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); normal: N(0, 1) (np.random.randn, as in the Session 5 notes).
    """
    weights = []
    for fan_in, fan_out in zip(shape[:-1], shape[1:]):
        if scheme == "xavier":
            w = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), (fan_out, fan_in))
        elif scheme == "he":
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_out, fan_in))
        elif scheme == "uniform":
            limit = 1.0 / np.sqrt(fan_in)
            w = rng.uniform(-limit, limit, (fan_out, fan_in))
        elif scheme == "normal":
            w = rng.standard_normal((fan_out, fan_in))
        else:
            raise ValueError(f"unknown initialisation scheme {scheme!r}")
        weights.append(w)
    return weights


@dataclass(frozen=True)
class TrainOptions:
    """How to train: epochs, batches, their order, and early stopping (`patience`, with a validation set)."""

    epochs: int
    batch_size: int | None = None  # None: the whole training set
    shuffle: bool = True
    seed: int = 0
    patience: int | None = None


@dataclass(frozen=True)
class Moment:
    """The network at one moment of training, with what its optimizer carries into the next step."""

    network: Network
    optimizer_state: list[dict[str, dict[str, np.ndarray]]]  # per layer, parameter -> entry -> array
    next_step: int  # the optimizer's step number t of the next step


@dataclass
class TrainResult:
    """What a run learned, and how it went."""

    network: Network  # the parameters after the last epoch run
    history: np.ndarray  # (epochs_run + 1,) training-set loss
    validation_history: np.ndarray | None  # (epochs_run + 1,) or None without a validation set
    epochs_run: int
    steps: int
    stopped: str  # "completed", "early_stopping", "interrupted" or "diverged" (the loss overflowed)
    #: Per layer, parameter name -> the optimizer's state after the last step (entry -> array shaped like it).
    optimizer_state: list[dict[str, dict[str, np.ndarray]]] = field(default_factory=list)
    next_step: int = 1  # the optimizer's step number t of the step that would come next


def split_validation(samples: int, fraction: float, shuffle: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, validation indices): a random `fraction` with `shuffle` (seeded), else the last rows."""
    if not fraction:
        return np.arange(samples), np.arange(0)
    held = min(max(1, round(fraction * samples)), samples - 1)
    order = np.random.default_rng([seed, 0]).permutation(samples) if shuffle else np.arange(samples)
    return np.sort(order[: samples - held]), np.sort(order[samples - held:])


def epoch_order(samples: int, epoch: int, options: TrainOptions) -> np.ndarray | None:
    """The order of the samples in epoch `epoch` (0-based), or None for file order."""
    if not options.shuffle or options.batch_size is None or options.batch_size >= samples:
        return None
    return np.random.default_rng([options.seed, 1, epoch]).permutation(samples)


def first_batch(samples: int, epoch: int, options: TrainOptions) -> np.ndarray:
    """The indices of the first batch of epoch `epoch` (what a checkpoint's next step learns from)."""
    order = epoch_order(samples, epoch, options)
    size = options.batch_size or samples
    return np.arange(min(size, samples)) if order is None else order[:size]


def predict(network: Network, x: np.ndarray) -> np.ndarray:
    """The network's outputs for every row of `x` (its features fill the input's shape), one row per sample;
    as predictions do, without dropout (`Layer.in_prediction`)."""
    from tutor.engine.step import activation_of, loss_view

    out = x.reshape(x.shape[0], *network.sample_shape)
    for layer, params in zip(network.layers, network.params):
        layer = layer.in_prediction()
        out = activation_of(layer).forward(layer.forward(out, params)[0])
    return loss_view(out)


def mean_loss(network: Network, x: np.ndarray, t: np.ndarray) -> float:
    """The mean over samples of each sample's loss."""
    return float(np.mean(network.loss.value(predict(network, x), t)))


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """The class of each row: one output is class 1 when out >= 0.5, else 0; several outputs: the largest."""
    return (outputs[:, 0] >= 0.5).astype(int) if outputs.shape[1] == 1 else np.argmax(outputs, axis=1)


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of rows whose predicted class is the label."""
    return float(np.mean(predicted_classes(outputs) == labels))


def train(network: Network, x: np.ndarray, t: np.ndarray, options: TrainOptions, *, optimizer=None, schedule=None,
          validation: tuple[np.ndarray, np.ndarray] | None = None,
          on_epoch: Callable[[int, float, Callable[[], Moment]], None] | None = None,
          first_step: int = 1, initial_state: list[dict[str, dict[str, np.ndarray]]] | None = None,
          first_epoch: int = 0) -> TrainResult:
    """Train `network` on (x, t) for `options.epochs` epochs (or until early stopping or Ctrl-C).

    `optimizer` (default plain SGD) and `schedule` (default a constant rate) have the interfaces of
    `tutor.model.optimizers` and `tutor.model.schedules`.

    `first_step` and `initial_state` (per layer and parameter, as `TrainResult.optimizer_state`) continue an
    optimizer that has already taken `first_step - 1` steps (a problem file's `optimizer_state`); the schedule
    then starts at its epoch `first_epoch` (a problem file's `optimizer_state.epoch`, else its step t - 1).
    `on_epoch(epochs_done, loss_before_that_epoch, moment)` is called after each epoch; `moment()` copies the
    parameters and the optimizer's state as they are then (only when asked: a copy every epoch would cost).
    """
    if optimizer is None:
        from tutor.model.optimizers import make_optimizer

        optimizer = make_optimizer(None)
    samples = x.shape[0]
    size = min(options.batch_size or samples, samples)
    params = _Parameters(network)
    stepper = _stepper(network, params, np.random.default_rng([options.seed, 2]))
    clip = _clipper(network.clipping)
    state = optimizer.init_state(params.values)
    if initial_state is not None:
        state = params.join_state(initial_state, state)
    history = np.empty(options.epochs + 1)
    checked = validation is not None and validation[0].shape[0] > 0
    val_history = np.empty(options.epochs + 1) if checked else None
    best, waited, stopped, steps, done = np.inf, 0, "completed", first_step - 1, 0
    full_batch = size == samples
    shuffled = options.shuffle and not full_batch
    lr0, constant = network.learning_rate, schedule is None or getattr(schedule, "name", "") == "constant"
    now = params.network
    if not full_batch:
        history[0] = mean_loss(now(), x, t)
    if checked:
        val_history[0] = mean_loss(now(), *validation)
    try:
        with warnings.catch_warnings():  # a diverging run ends in words (stopped = "diverged"), not in warnings
            warnings.simplefilter("ignore", RuntimeWarning)  # (np.errstate would slow every numpy call down)
            for epoch in range(options.epochs):
                lr = lr0 if constant else schedule.rate(lr0, first_epoch + epoch)
                order = epoch_order(samples, epoch, options) if shuffled else None
                for start in range(0, samples, size):
                    if full_batch:
                        history[epoch] = stepper(x, t)
                    else:
                        index = slice(start, start + size) if order is None else order[start:start + size]
                        stepper(x[index], t[index])
                    steps += 1
                    if clip is not None:
                        clip(params.grad)
                    new, state = optimizer.step(params.values, params.grad, state, steps, lr)
                    params.values[...] = new
                done = epoch + 1
                if not full_batch:
                    history[done] = mean_loss(now(), x, t)
                if checked:
                    val_history[done] = mean_loss(now(), *validation)
                if on_epoch is not None:
                    on_epoch(done, float(history[epoch]), lambda: Moment(now(), params.split_state(state), steps + 1))
                if not isfinite(history[epoch if full_batch else done]):
                    stopped = "diverged"
                    break
                if checked and options.patience is not None:
                    if val_history[done] < best:
                        best, waited = val_history[done], 0
                    else:
                        waited += 1
                        if waited >= options.patience:
                            stopped = "early_stopping"
                            break
    except KeyboardInterrupt:
        stopped = "interrupted"
    final = now()
    history = history[: done + 1]
    with np.errstate(all="ignore"):
        history[done] = mean_loss(final, x, t)
        if val_history is not None:
            val_history = val_history[: done + 1]
            val_history[done] = mean_loss(final, *validation)
    return TrainResult(final, history, val_history, done, steps - first_step + 1, stopped,
                       params.split_state(state), steps + 1)


class _Parameters:
    """Every trained parameter as a view into one flat vector, and its gradient as a view into another.

    The optimizer then updates all of them in one call; its updates are elementwise, so this is the same as
    updating each weight matrix and bias vector on its own, with far fewer numpy calls per step.
    """

    def __init__(self, network: Network) -> None:
        self.base = network
        self.params = [dict(p) for p in network.params]  # name -> view into `values` (or a frozen copy)
        trained = [(l, name) for l, p in enumerate(network.params) for name in p if name not in network.frozen]
        self.values = np.concatenate([network.params[l][name].ravel() for l, name in trained]).astype(float) \
            if trained else np.zeros(0)
        self.grad = np.zeros_like(self.values)
        self.slots: list[tuple[int, str, np.ndarray]] = []  # (layer, name, gradient view), in `values` order
        offset = 0
        for l, name in trained:
            shape = network.params[l][name].shape
            size = int(np.prod(shape))
            self.params[l][name] = self.values[offset:offset + size].reshape(shape)
            self.slots.append((l, name, self.grad[offset:offset + size].reshape(shape)))
            offset += size
        for l, p in enumerate(self.params):
            for name in p:
                if name in network.frozen:
                    p[name] = np.array(p[name], dtype=float)

    def network(self) -> Network:
        """The network with a copy of the parameters as they are now."""
        return self.base.with_params({k: v.copy() for k, v in p.items()} for p in self.params)

    def join_state(self, per_layer: list[dict[str, dict[str, np.ndarray]]],
                   state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The flat state from per-layer, per-parameter entries (the inverse of `split_state`)."""
        joined = {key: np.array(flat, dtype=float) for key, flat in state.items()}
        offset = 0
        for l, name, grad in self.slots:
            for key, value in per_layer[l].get(name, {}).items():
                joined[key][offset:offset + grad.size] = np.asarray(value, dtype=float).ravel()
            offset += grad.size
        return joined

    def split_state(self, state: dict[str, np.ndarray]) -> list[dict[str, dict[str, np.ndarray]]]:
        """The optimizer's state per layer and parameter (layer -> name -> state entry -> array)."""
        per_layer: list[dict[str, dict[str, np.ndarray]]] = [{} for _ in self.params]
        offset = 0
        for l, name, grad in self.slots:
            per_layer[l][name] = {key: np.asarray(flat)[offset:offset + grad.size].reshape(grad.shape).copy()
                                  for key, flat in state.items() if np.size(flat) == self.values.size}
            offset += grad.size
        return per_layer


def _clipper(clipping) -> Callable[[np.ndarray], None] | None:
    """Gradient clipping of the flat gradient, in place (`tutor.model.clipping`: the same rule), or None."""
    if clipping is None:
        return None
    from tutor.model.clipping import NORM_EPS

    if clipping.max_value is not None:
        limit = clipping.max_value
        return lambda grad: np.clip(grad, -limit, limit, out=grad)

    def by_norm(grad: np.ndarray) -> None:
        grad *= min(1.0, clipping.max_norm / (float(np.sqrt(np.dot(grad, grad))) + NORM_EPS))

    return by_norm


def _stepper(network: Network, params: _Parameters, rng: np.random.Generator):
    """A function (x, t) -> batch loss that leaves the batch-mean gradients in `params.grad`.

    The step of `tutor.engine.step` (`make_pass`: each layer's forward and backward, the engine's output
    delta rule), with the layers as training runs them (dropout draws its masks from `rng` at every step).
    """
    from tutor.engine.step import delta_rules_for, make_pass

    layers = [layer.in_training(rng) for layer in network.layers]
    run = make_pass(layers, network.loss)
    shape = network.sample_shape
    output_shape = network.shapes[-1]
    slots = {(l, name): view for l, name, view in params.slots}
    copies = [[(name, slots[(index, name)]) for name in params.params[index] if (index, name) in slots]
              for index in range(len(layers))]
    add_reduce = np.add.reduce
    rules_for: list = [None, None]  # (targets, delta rules): the same targets every step with one batch

    def step(x: np.ndarray, t: np.ndarray) -> float:
        if rules_for[0] is not t:
            rules_for[:] = [t, delta_rules_for(layers, network.loss, t.reshape(t.shape[:1] + output_shape))]
        if x.shape[1:] != shape:
            x = x.reshape(x.shape[0], *shape)
        shares, grads = run(params.params, x, t, rules_for[1])
        for layer_copies, layer_grads in zip(copies, grads):
            for name, view in layer_copies:
                view[...] = layer_grads[name]
        return float(add_reduce(shares, None) / x.shape[0])

    return step
