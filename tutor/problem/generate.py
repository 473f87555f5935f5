"""Fresh practice problems: a small network with "nice" numbers, written as a problem file (format 1).

`generate_problem(seed, shape, ...)` returns the YAML text of a problem that `parse_problem` accepts.
The same seed and options always give the same text, so an instructor can hand every student their own
variant and reproduce any of them later: the file's `source` line is the exact command that made it.

Numbers are chosen the way a textbook would: inputs, weights and biases are multiples of 0.05 (one or
two decimals, mostly positive, some negative), targets have two decimals, and the learning rate is
0.1, 0.25 or 0.5. Weights into a neuron shrink with its fan-in so net inputs stay small.

Unless `allow_saturated`, every neuron is checked on the engine's own forward pass (`solve`):

- sigmoid, tanh and softmax neurons are not saturated: |net| <= 3;
- relu and leaky_relu neurons are not dead: net > 0.05;
- relu, leaky_relu and elu neurons are not at their kink: |net| > 0.05;
- no neuron's |net| exceeds 3 at all (numbers a student can follow by hand).

Neurons are drawn one at a time and redrawn until they meet these rules; if a whole problem still
fails the final check, it is redrawn from a generator derived from the seed, a bounded number of times.
"""

from __future__ import annotations

import json
import math
import operator
from typing import Sequence

import numpy as np

from tutor.model.activations import ACTIVATIONS, hidden_activations, make_activation
from tutor.errors import UserError, closest
from tutor.model.component import choice_list
from tutor.model.losses import LOSSES, make_loss

MIN_UNITS, MAX_UNITS = 1, 10
MIN_LAYERS, MAX_LAYERS = 2, 6  # numbers in a shape: the inputs, then each layer of neurons

DEFAULT_SHAPE = (2, 2, 2)
DEFAULT_ACTIVATION = "sigmoid"
DEFAULT_LOSS = "half_sse"
LEARNING_RATES = (0.1, 0.25, 0.5)

#: The rules checked on the engine's forward pass (see the module docstring); which activations saturate,
#: die below 0 or have a kink, each activation says itself.
MAX_NET = 3.0
KINK_MARGIN = 0.05
#: The sampler keeps a little further from the limits, so rounding never decides the final check.
SAMPLER_SLACK = 0.01

MAX_ATTEMPTS = 20  # whole problems drawn before giving up
MAX_NEURON_TRIES = 200  # draws of one neuron's weights and bias within an attempt
MAX_TARGET_TRIES = 100

NEGATIVE_WEIGHT = 0.25  # chance that a weight is negative
NEGATIVE_BIAS = 0.2
NEGATIVE_INPUT = 0.15


# -- options ---------------------------------------------------------------------------------------

def parse_shape(text: str) -> tuple[int, ...]:
    """``"3-3-2"`` -> ``(3, 3, 2)``: the inputs, then the neurons of each layer up to the outputs."""
    if not isinstance(text, str):
        raise UserError(f"a shape is text such as 2-2-2, got {text!r}")
    parts = [part.strip() for part in text.strip().split("-")]
    if not text.strip() or any(not part.isdigit() or not part.isascii() for part in parts):
        raise UserError(f"bad shape '{text}': expected whole numbers joined by '-', such as 2-2-2 (two inputs, "
                        "two hidden neurons, two outputs)")
    return validate_shape(tuple(int(part) for part in parts), shown=text.strip())


def validate_shape(shape: Sequence[int], *, shown: str | None = None) -> tuple[int, ...]:
    """Check a shape's length and sizes; returns it as a tuple of ints."""
    try:
        values = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise UserError(f"bad shape {shape!r}: expected whole numbers such as (2, 2, 2)") from None
    shown = shown or "-".join(str(n) for n in values)
    if not MIN_LAYERS <= len(values) <= MAX_LAYERS:
        raise UserError(f"bad shape '{shown}': expected {MIN_LAYERS} to {MAX_LAYERS} numbers (the inputs, then the "
                        f"neurons of each layer up to the outputs), got {len(values)}")
    for n in values:
        if not MIN_UNITS <= n <= MAX_UNITS:
            raise UserError(f"bad shape '{shown}': every layer needs {MIN_UNITS} to {MAX_UNITS} units, got {n}")
    return values


def shape_text(shape: Sequence[int]) -> str:
    return "-".join(str(n) for n in shape)


def _check_name(value: object, choices: Sequence[str], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        hint = closest(value, choices) if isinstance(value, str) else ""
        raise UserError(f"unknown {what} '{value}'{hint} (choose from {', '.join(choices)})")
    return value


def default_output_activation(loss: str) -> str:
    """sigmoid, or the output the loss has a fused form with (softmax for cross_entropy)."""
    fused = make_loss(loss).fuses_with
    return next((name for name in ACTIVATIONS if fused(make_activation(name))), DEFAULT_ACTIVATION)


def _check_options(seed: object, shape: Sequence[int], activation: object, loss: object,
                   output_activation: object, learning_rate: object) -> tuple[int, tuple[int, ...], str, str, str,
                                                                              float | None]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise UserError(f"the seed must be a whole number, got {seed!r}")
    seed = int(seed)
    if seed < 0:
        raise UserError(f"the seed must not be negative, got {seed}")
    shape = parse_shape(shape) if isinstance(shape, str) else validate_shape(shape)
    if isinstance(activation, str) and activation in ACTIVATIONS and not ACTIVATIONS[activation].hidden_allowed:
        raise UserError(f"{activation} is only allowed in the output layer, not as the hidden activation (use "
                        f"--output-activation {activation})")
    activation = _check_name(activation, hidden_activations(), "activation")
    loss = _check_name(DEFAULT_LOSS if loss is None else loss, list(LOSSES), "loss")
    output = _check_name(default_output_activation(loss) if output_activation is None else output_activation,
                         list(ACTIVATIONS), "output activation")
    loss_object, output_object = make_loss(loss), make_activation(output)
    if not loss_object.accepts_outputs(output_object):
        low, high = loss_object.output_range
        raise UserError(f"{loss} needs outputs between {low:g} and {high:g}: use a "
                        f"{choice_list(loss_object.suitable_outputs())} output activation, not {output}")
    if output_object.distribution and shape[-1] < 2:
        raise UserError(f"a {output} output needs at least 2 outputs, the shape '{shape_text(shape)}' has 1"
                        + (_one_output_hint() if loss_object.fuses_with(output_object) else ""))
    if learning_rate is not None:
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.number)):
            raise UserError(f"the learning rate must be a number, got {learning_rate!r}")
        learning_rate = float(learning_rate)
        if not math.isfinite(learning_rate) or learning_rate <= 0:
            raise UserError(f"the learning rate must be a positive number, got {learning_rate:g}")
    return seed, shape, activation, loss, output, learning_rate


# -- the rules -------------------------------------------------------------------------------------

def _one_output_hint() -> str:
    """For a fused classifier asked with one output: a loss on class targets with a logistic output."""
    binary = next(name for name, cls in LOSSES.items() if cls.class_targets)
    logistic = next(name for name, cls in ACTIVATIONS.items() if cls.logistic)
    return f"; for one output use --loss {binary} (a {logistic} output)"


def net_trouble(activation: str, net: float, slack: float = 0.0) -> str | None:
    """Why a neuron with this activation and net input is not nice, or None if it is."""
    kind = ACTIVATIONS[activation]
    if not math.isfinite(net) or abs(net) > MAX_NET - slack:
        if kind.saturates:
            return f"saturated ({activation} with |net| > {MAX_NET:g})"
        return f"net input too large (|net| > {MAX_NET:g})"
    if kind.dead_below_zero and net <= KINK_MARGIN + slack:
        return f"dead ({activation} with net <= {KINK_MARGIN:g})"
    if kind.kinked and abs(net) <= KINK_MARGIN + slack:
        return f"at the kink ({activation} with |net| <= {KINK_MARGIN:g})"
    return None


def trace_troubles(trace) -> list[str]:
    """Every neuron of a solved problem that breaks the rules, as ``layer 1 neuron 2: dead (...)``."""
    troubles = []
    for l, (layer, step) in enumerate(zip(trace.problem.layers, trace.step.layers), start=1):
        for s, row in enumerate(step.net):
            for j, net in enumerate(row):
                why = net_trouble(layer.activation.name, float(net))
                if why:
                    troubles.append(f"layer {l} neuron {j + 1}: {why}")
    return troubles


# -- numbers ---------------------------------------------------------------------------------------

def format_hundredths(h: int) -> str:
    """An integer number of hundredths as a decimal with one or two decimals: 30 -> 0.3, -5 -> -0.05."""
    sign = "-" if h < 0 else ""
    whole, frac = divmod(abs(int(h)), 100)
    return f"{sign}{whole}.{frac // 10}" if frac % 10 == 0 else f"{sign}{whole}.{frac:02d}"


def _flow(values: Sequence[int]) -> str:
    return "[" + ", ".join(format_hundredths(v) for v in values) + "]"


def _signed(rng: np.random.Generator, magnitudes: np.ndarray, negative: float) -> np.ndarray:
    signs = np.where(rng.random(magnitudes.shape) < negative, -1, 1)
    return magnitudes * signs


def _weight_limit(fan_in: int) -> int:
    """The largest weight magnitude, in hundredths (a multiple of 5): 1.0 for two inputs, 0.2 for ten."""
    return max(20, min(100, int(200 / fan_in) // 5 * 5))


def _draw_inputs(rng: np.random.Generator, n: int) -> np.ndarray:
    return _signed(rng, rng.integers(1, 21, size=n) * 5, NEGATIVE_INPUT)  # 0.05 .. 1.0


def _draw_neuron(rng: np.random.Generator, fan_in: int) -> tuple[np.ndarray, int]:
    weights = _signed(rng, rng.integers(1, _weight_limit(fan_in) // 5 + 1, size=fan_in) * 5, NEGATIVE_WEIGHT)
    bias = int(_signed(rng, rng.integers(1, 13, size=1) * 5, NEGATIVE_BIAS)[0])  # 0.05 .. 0.6
    return weights, bias


def _draw_target(rng: np.random.Generator, output: str, loss: str, out: float) -> int:
    """One target in hundredths, suited to the loss and the output activation, not too close to `out`."""
    if LOSSES[loss].class_targets:
        return int(rng.integers(0, 2)) * 100  # a class: 0 or 1
    low, high = ACTIVATIONS[output].target_hundredths
    target = 0
    for _ in range(MAX_TARGET_TRIES):
        target = int(rng.integers(low, high + 1))
        if abs(target / 100 - out) >= 0.1:
            break
    return target


# -- the problem -----------------------------------------------------------------------------------

def _attempt_rng(seed: int, attempt: int) -> np.random.Generator:
    """The generator of one attempt: the seed's own for the first, then ones derived from it."""
    return np.random.default_rng(seed if attempt == 0 else [seed, attempt])


def _draw(rng: np.random.Generator, shape: tuple[int, ...], activations: list[str], loss: str,
          learning_rate: float | None, allow_saturated: bool) -> dict | None:
    """Draw one problem (numbers in hundredths); None if some neuron could not be made nice."""
    rate = learning_rate if learning_rate is not None else float(rng.choice(LEARNING_RATES))
    inputs = _draw_inputs(rng, shape[0])
    out = inputs / 100.0
    layers = []
    for fan_in, size, name in zip(shape[:-1], shape[1:], activations):
        forward = make_activation(name).forward  # softmax too: its net inputs are checked one by one
        rows, biases, nets = [], [], []
        for _ in range(size):
            for _ in range(MAX_NEURON_TRIES):
                weights, bias = _draw_neuron(rng, fan_in)
                net = float(out @ (weights / 100.0) + bias / 100.0)
                if allow_saturated or net_trouble(name, net, SAMPLER_SLACK) is None:
                    break
            else:
                return None
            rows.append(weights)
            biases.append(bias)
            nets.append(net)
        out = forward(np.array(nets))
        layers.append({"weights": rows, "biases": biases, "activation": name})
    problem = {"inputs": inputs, "layers": layers, "learning_rate": rate}
    if ACTIVATIONS[activations[-1]].distribution:  # a class label, read as one-hot targets
        problem["label"] = int(rng.integers(0, shape[-1]))
    else:
        problem["targets"] = [_draw_target(rng, activations[-1], loss, float(o)) for o in out]
    return problem


def _command(seed: int, shape: tuple[int, ...], activation: str, loss: str, output: str,
             learning_rate: float | None, allow_saturated: bool) -> str:
    parts = ["backprop-tutor new", f"--seed {seed}", f"--shape {shape_text(shape)}", f"--activation {activation}",
             f"--loss {loss}"]
    if output != default_output_activation(loss):
        parts.append(f"--output-activation {output}")
    if learning_rate is not None:
        parts.append(f"--learning-rate {learning_rate!r}")
    if allow_saturated:
        parts.append("--allow-saturated")
    return " ".join(parts)


def _yaml(problem: dict, *, name: str, description: str, source: str, loss: str, shape: tuple[int, ...]) -> str:
    lines = [
        "format: 1",
        f"name: {json.dumps(name)}",
        f"description: {json.dumps(description)}",
        f"source: {json.dumps(source)}",
        f"inputs: {_flow(problem['inputs'])}",
    ]
    if "label" in problem:
        label = problem["label"]
        one_hot = ", ".join("1" if j == label else "0" for j in range(shape[-1]))
        lines.append(f"labels: {label}    # class index, counted from 0: targets [{one_hot}]")
    else:
        lines.append(f"targets: {_flow(problem['targets'])}")
    lines.append("layers:")
    for l, layer in enumerate(problem["layers"], start=1):
        what = "output layer" if l == len(problem["layers"]) else f"hidden layer {l}"
        lines.append(f"  - weights:              # {what}: row j holds the weights into neuron j")
        lines.extend(f"      - {_flow(row)}" for row in layer["weights"])
        lines.append(f"    biases: {_flow(layer['biases'])}")
        lines.append(f"    activation: {layer['activation']}")
    lines += [
        f"loss: {loss}",
        f"learning_rate: {problem['learning_rate']!r}",
        "update_biases: true",
    ]
    return "\n".join(lines) + "\n"


def generate_problem(
    seed: int,
    shape: tuple[int, ...] = DEFAULT_SHAPE,
    activation: str = DEFAULT_ACTIVATION,
    loss: str | None = None,
    output_activation: str | None = None,
    learning_rate: float | None = None,
    allow_saturated: bool = False,
) -> str:
    """The YAML text of a fresh practice problem; the same arguments always give the same text.

    `shape` is the inputs then the neurons of each layer (``(2, 2, 2)``, or text ``"2-2-2"``);
    `activation` is the hidden layers' activation; `loss` defaults to half_sse and `output_activation`
    to sigmoid (softmax for cross_entropy, whose target is then a class label). Unless
    `allow_saturated`, no neuron is saturated, dead or at its kink (see the module docstring).
    Raises `UserError` for a bad option, or if no such problem was found.
    """
    from tutor.problem.loader import parse_problem
    from tutor.solver import solve

    seed, shape, activation, loss, output, learning_rate = _check_options(
        seed, shape, activation, loss, output_activation, learning_rate)
    activations = [activation] * (len(shape) - 2) + [output]
    acts = "/".join(dict.fromkeys([activation, output])) if len(shape) > 2 else output
    shown = shape_text(shape)
    name = f"Practice {shown} (seed {seed})"
    description = f"Practice problem {shown}, {acts}, {loss}, seed {seed}"
    source = "generated by " + _command(seed, shape, activation, loss, output, learning_rate, allow_saturated)
    last = "no neuron could be drawn within the limits"
    for attempt in range(MAX_ATTEMPTS):
        problem = _draw(_attempt_rng(seed, attempt), shape, activations, loss, learning_rate, allow_saturated)
        if problem is None:
            continue
        text = _yaml(problem, name=name, description=description, source=source, loss=loss, shape=shape)
        trace = solve(parse_problem(text, source="<generated>"))
        troubles = [] if allow_saturated else trace_troubles(trace)
        if not troubles:
            return text
        last = troubles[0]
    raise UserError(f"could not generate a {shown} {acts} problem without saturated, dead or kinked neurons in "
                    f"{MAX_ATTEMPTS} attempts (last: {last}); try another seed, or --allow-saturated")
