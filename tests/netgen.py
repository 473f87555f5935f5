"""Random problems for the engine tests, and an independent reference implementation.

`random_spec` draws a network as plain data (a dict shaped like a problem file), `to_problem` turns it
into a `Problem` through the real loader (`parse_problem` on the JSON text, which is YAML too), and
`Reference` recomputes forward values and losses from a loaded problem's data (arrays, activation
names and parameters, loss name) with formulas written here from scratch, in extended precision, so a
mistake in `tutor.model.activations`, `tutor.model.losses` or `tutor.engine.step` cannot hide itself. `CONFIGS` and
`grid_spec` give the activation x loss x shape grid of the gradient checks.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.problem.validated import Problem
from tutor.problem.loader import parse_problem

ROOT = Path(__file__).resolve().parent.parent
PROBLEM_FILES = sorted((ROOT / "problems").glob("*.yaml"))
#: The bundled problems of dense layers only (other kinds are checked in tests/test_conv_*.py, tests/test_layer_kinds.py).
DENSE_PROBLEM_FILES = [p for p in PROBLEM_FILES if "type:" not in p.read_text()]

#: Every activation the loader knows, with parameters that differ from the defaults where it has any.
ACTIVATIONS: dict[str, object] = {
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": {"name": "leaky_relu", "slope": 0.1},
    "linear": "linear",
    "elu": {"name": "elu", "alpha": 0.7},
    "softplus": "softplus",
    "swish": {"name": "swish", "beta": 1.5},
    "gelu": "gelu",
    "softmax": "softmax",
}
LOSSES = ("half_sse", "sse", "mse", "bce", "cross_entropy", "huber")
#: Losses written with parameters that differ from their defaults.
LOSS_SPECS: dict[str, object] = {"huber": {"name": "huber", "delta": 0.4}}
KINKED = {"relu", "leaky_relu", "elu"}
#: Net inputs closer than this to 0 are resampled for the piecewise activations.
KINK_MARGIN = 1e-3
#: bce/cross_entropy outputs closer than this to 0 (or 1 for bce) are resampled: dL/do ~ 1/o there,
#: and a step of h = 1e-6 in o has a truncation error of about (h / o)^2 relative, 1e-8 at o = 0.01.
OUTPUT_MARGIN = 1e-2


# -- the reference implementation --------------------------------------------------------------------


#: The reference computes in extended precision where the platform has it (80-bit long double on x86-64
#: Linux). A central difference (L(p + h) - L(p - h)) / 2h with h = 1e-6 divides the loss's rounding
#: error by 2e-6: in float64 that is ~1e-10 per unit of loss, and several times more where the loss is
#: ill-conditioned (bce of a softmax output of 0.986 differences 1 - o), which on ordinary examples
#: reached 2e-9 and broke the 1e-9 floor. In long double the same difference is good to ~1e-13.
REF_DTYPE = np.longdouble
#: The finite differences' own rounding error per unit of loss (about eps / h, with a margin of 100).
FD_NOISE = 100 * float(np.finfo(REF_DTYPE).eps) / 1e-6


def _act_name(spec) -> str:
    return spec if isinstance(spec, str) else spec["name"]


def ref_activation(spec, net: np.ndarray) -> np.ndarray:
    """out = f(net), written out by hand; `net` has the neurons on its last axis."""
    name = _act_name(spec)
    params = {} if isinstance(spec, str) else spec
    net = np.asarray(net)
    if net.dtype.kind != "f":
        net = net.astype(float)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-net))
    if name == "tanh":
        return (np.exp(net) - np.exp(-net)) / (np.exp(net) + np.exp(-net))
    if name == "relu":
        return np.where(net > 0, net, 0.0)
    if name == "leaky_relu":
        return np.where(net > 0, net, params.get("slope", 0.01) * net)
    if name == "linear":
        return net.copy()
    if name == "elu":
        return np.where(net > 0, net, params.get("alpha", 1.0) * (np.exp(np.minimum(net, 0.0)) - 1.0))
    if name == "softplus":
        return np.log(1.0 + np.exp(net))
    if name == "swish":
        return net / (1.0 + np.exp(-params.get("beta", 1.0) * net))
    if name == "gelu":  # x * Phi(x), Phi the normal distribution function; erf in float64 (numpy has none)
        erf = np.vectorize(lambda v: math.erf(float(v)), otypes=[float])
        return net * (1.0 + erf(net / np.sqrt(net.dtype.type(2))).astype(net.dtype)) / 2
    if name == "softmax":
        e = np.exp(net)
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(name)


def ref_loss(name: str, o: np.ndarray, t: np.ndarray, params: dict | None = None) -> np.ndarray:
    """The loss of each sample (last axis: outputs)."""
    n = o.shape[-1]
    if name == "huber":  # 1/2 e^2 within delta of the target, linear beyond, summed over the outputs
        delta = (params or {}).get("delta", 1.0)
        e = np.abs(o - t)
        return np.sum(np.where(e <= delta, e * e / 2, delta * e - delta * delta / 2), axis=-1)
    if name == "half_sse":
        return 0.5 * np.sum((t - o) ** 2, axis=-1)
    if name == "sse":
        return np.sum((t - o) ** 2, axis=-1)
    if name == "mse":
        return np.sum((t - o) ** 2, axis=-1) / n
    if name == "bce":
        return -np.sum(t * np.log(o) + (1.0 - t) * np.log(1.0 - o), axis=-1) / n
    if name == "cross_entropy":
        safe = np.where(t > 0, o, 1.0)
        return -np.sum(t * np.log(safe), axis=-1)
    raise ValueError(name)


@dataclass
class RefLayer:
    weights: np.ndarray  # (n, fan_in)
    bias: np.ndarray  # (n,), or (1,) when shared: the parameters
    activation: object  # a spec: "tanh" or {"name": "elu", "alpha": 0.7}
    shared: bool

    def biases(self) -> np.ndarray:
        return np.full(self.weights.shape[0], self.bias[0]) if self.shared else self.bias


class Reference:
    """A from-scratch forward pass and loss over plain arrays, with hooks for finite differences.

    Built from a loaded `Problem` only to read its data (arrays, activation names and parameters, loss
    name); every number is recomputed here with the formulas above, in REF_DTYPE.
    """

    def __init__(self, problem: Problem, dtype=None) -> None:
        dtype = REF_DTYPE if dtype is None else dtype
        self.inputs = np.array(problem.inputs, dtype=dtype)
        self.targets = np.array(problem.targets, dtype=dtype)
        self.loss = problem.loss.name
        self.loss_params = dict(problem.loss.params)
        self.layers = [
            RefLayer(np.array(layer.weights, dtype=dtype),
                     np.array(layer.biases[:1] if layer.shared_bias else layer.biases, dtype=dtype),
                     {"name": layer.activation.name, **layer.activation.params}, layer.shared_bias)
            for layer in problem.layers
        ]

    def forward(self, inputs: np.ndarray | None = None, *, net_offset=None, out_offset=None):
        """(nets, outs) per layer; `net_offset`/`out_offset` = (layer index, neuron index, amount)."""
        out = self.inputs if inputs is None else inputs
        nets, outs = [], []
        for index, layer in enumerate(self.layers):
            net = out @ layer.weights.T + layer.biases()
            if net_offset is not None and net_offset[0] == index:
                net = net.copy()
                net[..., net_offset[1]] += net_offset[2]
            out = ref_activation(layer.activation, net)
            if out_offset is not None and out_offset[0] == index:
                out = out.copy()
                out[..., out_offset[1]] += out_offset[2]
            nets.append(net)
            outs.append(out)
        return nets, outs

    def sample_losses(self, **offsets) -> np.ndarray:
        _, outs = self.forward(**offsets)
        return ref_loss(self.loss, outs[-1], self.targets, self.loss_params)

    def batch_loss(self):
        """The mean of the samples' losses, in REF_DTYPE (not rounded to float64)."""
        return np.mean(self.sample_losses())

    def sample_loss(self, s: int, **offsets):
        _, outs = self.forward(self.inputs[s:s + 1], **offsets)
        return ref_loss(self.loss, outs[-1], self.targets[s:s + 1], self.loss_params)[0]

    def parameters(self):
        """(description, array, index) of every weight and bias parameter, to perturb in place."""
        for l, layer in enumerate(self.layers):
            for j in range(layer.weights.shape[0]):
                for i in range(layer.weights.shape[1]):
                    yield ("weight", l, (j, i)), layer.weights, (j, i)
            for j in range(layer.bias.shape[0]):
                yield ("bias", l, (j,)), layer.bias, (j,)


def central_difference(f, array: np.ndarray, index, h: float = 1e-6) -> float:
    """(f(a + h) - f(a - h)) / 2h for one entry of `array`, restored afterwards."""
    old = array[index]
    try:
        array[index] = old + h
        up = f()
        array[index] = old - h
        down = f()
    finally:
        array[index] = old
    return float((up - down) / (2 * h))


def close(fd: float, exact: float, *, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    """Relative error below `rel`, or absolute error below `abs_` (for tiny gradients)."""
    err = abs(fd - exact)
    scale = max(abs(fd), abs(exact))
    return err < abs_ or (scale > 0 and err / scale < rel)


# -- random problems ----------------------------------------------------------------------------------


def output_allowed(activation: str, loss: str) -> bool:
    """Whether the loss can take this output layer's values (bce/cross_entropy need (0, 1) outputs)."""
    if activation == "softmax":
        return True
    if loss in ("bce", "cross_entropy"):
        return activation == "sigmoid"
    return True


def layer_activations(activation: str, loss: str, n_layers: int) -> list[str]:
    """`activation` wherever it may go: hidden layers (unless softmax) and the output (if allowed)."""
    hidden = "tanh" if activation == "softmax" else activation
    if output_allowed(activation, loss):
        output = activation
    else:
        output = "sigmoid"
    return [hidden] * (n_layers - 1) + [output]


def random_targets(rng: np.random.Generator, loss: str, output: str, samples: int, n_out: int) -> np.ndarray:
    if loss == "cross_entropy" and output == "softmax":
        t = rng.dirichlet(np.ones(n_out), size=samples)
        t[0] = 0.0  # one one-hot row: a target of 0 and a target of 1
        t[0, rng.integers(n_out)] = 1.0
        t[:, -1] = 1.0 - t[:, :-1].sum(axis=1)  # rows add up to 1 as closely as floats allow
        return np.clip(t, 0.0, 1.0)
    if loss in ("bce", "cross_entropy"):
        t = rng.uniform(0.0, 1.0, size=(samples, n_out))
        t.flat[0] = 0.0
        t.flat[-1] = 1.0 if t.size > 1 else t.flat[-1]
        return t
    return rng.uniform(-1.0, 1.0, size=(samples, n_out))


def random_spec(rng: np.random.Generator, *, activations: list[str], loss: str, samples: int, batch: bool,
                shared: list[bool] | None = None, sizes: list[int] | None = None, update_biases: bool = True,
                learning_rate: float = 0.3, labels: bool = False, max_tries: int = 500) -> dict:
    """A problem as plain data, resampled until no piecewise activation sits within KINK_MARGIN of a kink."""
    n_layers = len(activations)
    if sizes is None:
        sizes = [int(rng.integers(1, 4))] + [int(rng.integers(1, 4)) for _ in range(n_layers)]
        if activations[-1] == "softmax" or labels:
            sizes[-1] = max(sizes[-1], 2)
    shared = shared or [False] * n_layers
    for _ in range(max_tries):
        layers = []
        for l in range(n_layers):
            weights = rng.uniform(-1.0, 1.0, size=(sizes[l + 1], sizes[l]))
            biases = rng.uniform(-0.5, 0.5, size=sizes[l + 1])
            layers.append({
                "weights": weights.tolist(),
                "biases": float(biases[0]) if shared[l] else biases.tolist(),
                "activation": ACTIVATIONS[activations[l]],
            })
        x = rng.uniform(-1.0, 1.0, size=(samples, sizes[0]))
        spec = {
            "format": 1,
            "inputs": x.tolist() if batch else x[0].tolist(),
            "layers": layers,
            "loss": LOSS_SPECS.get(loss, loss),
            "learning_rate": learning_rate,
            "update_biases": update_biases,
        }
        if labels:
            chosen = rng.integers(sizes[-1], size=samples)
            spec["labels"] = [int(c) for c in chosen] if batch else int(chosen[0])
        else:
            t = random_targets(rng, loss, activations[-1], samples, sizes[-1])
            spec["targets"] = t.tolist() if batch else t[0].tolist()
        if acceptable(spec):
            return spec
    raise RuntimeError("could not draw a network away from the kinks")


def acceptable(spec: dict) -> bool:
    """No net of a piecewise activation near 0, and outputs the loss can take."""
    ref = Reference(to_problem(spec))
    nets, outs = ref.forward()
    for layer, net in zip(ref.layers, nets):
        if _act_name(layer.activation) in KINKED and np.any(np.abs(net) < KINK_MARGIN):
            return False
    return outputs_in_range(ref.loss, outs[-1], ref.targets)


def outputs_in_range(loss: str, o: np.ndarray, t: np.ndarray) -> bool:
    """bce and cross_entropy outputs at least OUTPUT_MARGIN from where their logarithms blow up."""
    if loss == "bce":
        return bool(np.all((o >= OUTPUT_MARGIN) & (o <= 1 - OUTPUT_MARGIN)))
    if loss == "cross_entropy":
        return not np.any((o < OUTPUT_MARGIN) & (t > 0))
    return True


def to_text(spec: dict) -> str:
    """The spec as problem-file text (JSON is YAML; `repr` floats round-trip exactly)."""
    return json.dumps(spec, indent=1)


def to_problem(spec: dict) -> Problem:
    return parse_problem(to_text(spec), source="<generated>")


#: Shapes of network and batch exercised for every activation x loss: (layers, samples, batch, shared).
CONFIGS = {
    "1layer-single": (1, 1, False, [False]),
    "2layer-single-shared1": (2, 1, False, [True, False]),
    "3layer-batch3": (3, 3, True, [False, True, False]),
    "2layer-batch2-shared": (2, 2, True, [True, True]),
    "1layer-batch4": (1, 4, True, [False]),
    "3layer-batch1list": (3, 1, True, [False, False, True]),
}


def grid_spec(activation: str, loss: str, config: str, seed: int = 0) -> dict:
    """The deterministic network for one cell of the activation x loss x shape grid."""
    n_layers, samples, batch, shared = CONFIGS[config]
    key = f"{activation}/{loss}/{config}/{seed}".encode()
    rng = np.random.default_rng(list(key))
    return random_spec(rng, activations=layer_activations(activation, loss, n_layers), loss=loss,
                       samples=samples, batch=batch, shared=shared)


def sample_specs() -> dict[str, dict]:
    """A handful of named random problems for the consistency tests."""
    rng = np.random.default_rng(20240611)
    return {
        "sigmoid-half_sse-batch3": random_spec(rng, activations=["sigmoid", "sigmoid"], loss="half_sse",
                                               samples=3, batch=True),
        "softmax-cross_entropy-batch3": random_spec(rng, activations=["tanh", "softmax"], loss="cross_entropy",
                                                    samples=3, batch=True, sizes=[3, 3, 3]),
        "softmax-cross_entropy-labels": random_spec(rng, activations=["relu", "softmax"], loss="cross_entropy",
                                                    samples=4, batch=True, labels=True, sizes=[2, 4, 3]),
        "softmax-mse-single": random_spec(rng, activations=["elu", "softmax"], loss="mse", samples=1,
                                          batch=False, sizes=[3, 2, 3]),
        "softmax-bce-batch2": random_spec(rng, activations=["softmax"], loss="bce", samples=2, batch=True,
                                          sizes=[2, 3]),
        "leaky-linear-sse-shared": random_spec(rng, activations=["leaky_relu", "softplus", "linear"], loss="sse",
                                               samples=2, batch=True, shared=[True, False, True]),
        "sigmoid-bce-no-bias-update": random_spec(rng, activations=["tanh", "sigmoid"], loss="bce", samples=3,
                                                  batch=True, update_biases=False),
        "tanh-sse-batch-of-one": random_spec(rng, activations=["tanh", "sigmoid"], loss="sse", samples=1,
                                             batch=True),
        "relu-mse-single-shared": random_spec(rng, activations=["relu", "relu", "linear"], loss="mse", samples=1,
                                              batch=False, shared=[True, True, True], sizes=[3, 4, 3, 2]),
    }
