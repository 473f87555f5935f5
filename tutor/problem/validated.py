"""The validated problem: a network, one sample or a batch, a loss and a learning rate.

Everything here is already checked (shapes agree, numbers are finite); the loader in
`tutor.problem.loader` is the only place that builds these from user input.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import numpy as np

from tutor.model.activations import Activation
from tutor.model.clipping import Clipping
from tutor.model.layers.dense import Dense
from tutor.model.losses import Loss
from tutor.model.optimizers import make_optimizer
from tutor.model.optimizers.base import Optimizer
from tutor.model.schedules import Schedule, make_schedule

FORMAT_VERSION = 2
#: The versions this version reads: format 1 (plain gradient descent) and format 2 (optimizers, schedules).
FORMAT_VERSIONS = (1, 2)

#: A layer's optimizer state: for "weights" and "biases", each state entry (e.g. "m", "v") as an array.
LayerState = dict[str, dict[str, np.ndarray]]


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Layer:
    """One dense layer: `weights[j, i]` is w_ji, from input i of the layer to neuron j."""

    weights: np.ndarray  # (neurons, inputs)
    biases: np.ndarray  # (neurons,)
    activation: Activation
    shared_bias: bool = False  # one bias for the whole layer (a single number in the file)
    kind: ClassVar[str] = Dense.kind

    @property
    def size(self) -> int:
        return int(self.weights.shape[0])

    @property
    def fan_in(self) -> int:
        return int(self.weights.shape[1])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.fan_in,)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.size,)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The parameters by name, as the problem gives them."""
        return {"weights": self.weights, "biases": self.biases}

    @property
    def parameter_count(self) -> int:
        return self.weights.size + (1 if self.shared_bias else self.size)

    def describe(self) -> str:
        return f"{self.kind} {self.activation.describe()}"

    def with_params(self, params: dict[str, np.ndarray]) -> "Layer":
        """The layer with these parameters (a shared bias given as its one number)."""
        biases = params["biases"]
        return dataclasses.replace(self, weights=params["weights"],
                                   biases=np.full(self.size, biases[0]) if self.shared_bias else biases)


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class LayerSpec:
    """A layer of any other kind as the file gives it, with the shapes it maps between (per sample, channels
    first); `size` is the number of outputs (the flattened output). What the fields mean is the kind's
    (`tutor.model.layers`): `params` are its parameters by name, `settings` its other options."""

    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weights: np.ndarray | None = None  # the layer's "weights" parameter, if it has one (filters)
    biases: np.ndarray | None = None  # its "biases"
    activation: Activation | None = None
    stride: int = 1
    padding: int = 0
    window: int = 0
    shared_bias: bool = False
    settings: dict = field(default_factory=dict)
    extra_params: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return math.prod(self.output_shape)

    @property
    def fan_in(self) -> int:
        return math.prod(self.input_shape)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The parameters by name, as the problem gives them."""
        given = {} if self.weights is None else {"weights": self.weights, "biases": self.biases}
        return {**given, **self.extra_params}

    @property
    def parameter_count(self) -> int:
        return sum(p.size for p in self.params.values())

    def describe(self) -> str:
        """The kind with its settings, e.g. ``conv2d 2x2 relu``, ``maxpool 2 stride 1``, ``flatten``."""
        from tutor.model.layers import LAYERS

        return LAYERS[self.kind].describe_spec(self)

    def with_params(self, params: dict[str, np.ndarray]) -> "LayerSpec":
        """The layer with these parameters."""
        if not params:
            return self
        given = {name: params[name] for name in ("weights", "biases") if name in params}
        extra = {name: value for name, value in params.items() if name not in given}
        return dataclasses.replace(self, **given, extra_params={**self.extra_params, **extra})

    def with_output(self, output_shape: tuple[int, ...]) -> "LayerSpec":
        """The same layer with its output shape filled in (once checked)."""
        return dataclasses.replace(self, output_shape=tuple(output_shape))


#: The name the image layers' spec had.
ImageLayer = LayerSpec


@dataclass(frozen=True)
class Notation:
    """Display names, so a problem prints in its course's notation (all 1-based in the defaults)."""

    inputs: tuple[str, ...]
    neurons: tuple[tuple[str, ...], ...]  # per layer, per neuron
    weights: tuple[Sequence[tuple[str, ...]], ...]  # per layer, [j][i]
    biases: tuple[tuple[str, ...], ...]  # per layer: one name if the bias is shared, else one per neuron
    out: str = "out"
    loss: str = "L"

    @staticmethod
    def default(shape: tuple[int, ...], shared: tuple[bool, ...]) -> "Notation":
        """Generic layered notation: x_i, net_j^l, out_j^l, w_ji^l, b_j^l."""
        layers = range(1, len(shape))
        return Notation(
            inputs=tuple(f"x_{i}" for i in range(1, shape[0] + 1)),
            neurons=tuple(tuple(f"{j}^{l}" for j in range(1, shape[l] + 1)) for l in layers),
            weights=tuple(DefaultWeightNames(l, shape[l], shape[l - 1]) for l in layers),
            biases=tuple(
                (f"b^{l}",) if shared[l - 1] else tuple(f"b_{j}^{l}" for j in range(1, shape[l] + 1))
                for l in layers
            ),
        )


class DefaultWeightNames(Sequence):
    """The default names w_ji^l of one layer, row by row, made when asked for (a big layer has 100,000)."""

    def __init__(self, layer: int, rows: int, cols: int) -> None:
        self.layer, self.rows, self.cols = layer, rows, cols

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, j: int) -> "_DefaultWeightRow":  # type: ignore[override]
        if not -self.rows <= j < self.rows:
            raise IndexError(j)
        return _DefaultWeightRow(self.layer, j % self.rows + 1, self.cols)


class _DefaultWeightRow(Sequence):
    """The default names of the weights into neuron j: one name is made per access, not the whole row."""

    def __init__(self, layer: int, j: int, cols: int) -> None:
        self.layer, self.j, self.cols = layer, j, cols

    def __len__(self) -> int:
        return self.cols

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        if not -self.cols <= i < self.cols:
            raise IndexError(i)
        return default_weight_name(self.layer, self.j, i % self.cols + 1)


#: How answers may be judged (a `grading:` section's `tolerance.mode`; see `tutor.teach.judge`).
TOLERANCE_MODES = ("precision", "either", "relative", "absolute")


@dataclass(frozen=True)
class Grading:
    """How answers to this problem are graded (the file's `grading:` section); None means the default.

    The defaults live with the judge (`tutor.teach.judge`): tolerance "precision" (judged at the precision
    written, at least 2 significant figures) and full follow-through credit.
    """

    mode: str | None = None  # precision, either, relative or absolute
    relative: float | None = None
    absolute: float | None = None
    follow_through_credit: float | None = None
    min_figures: int | None = None  # fewest significant figures an answer needs
    decimals: int | None = None  # every answer judged to this many decimal places instead
    score_work: bool | None = None  # values written but not asked earn points too


def default_weight_name(layer: int, j: int, i: int) -> str:
    """w_ji^l, with a comma between the indices once either has two digits."""
    sep = "," if j > 9 or i > 9 else ""
    return f"w_{j}{sep}{i}^{layer}"


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Problem:
    """A validated problem file."""

    inputs: np.ndarray  # (samples, inputs), always 2-D
    targets: np.ndarray  # (samples, outputs), always 2-D
    batch: bool  # the file gave a list of samples (even a list of one)
    layers: tuple[Layer, ...]
    loss: Loss
    learning_rate: float
    update_biases: bool
    notation: Notation
    name: str = ""
    source: str | None = None  # where the problem comes from (a course, a blog post)
    description: str | None = None
    labels: tuple[int, ...] | None = None  # class indices, when the file gave labels instead of targets
    path: str | None = None  # the file it was read from
    text: str = field(default="", repr=False, compare=False)  # the file's text (its hash names the problem)
    #: The quantities students must answer, as written in the file (keys or display labels) with their
    #: points, in file order; None: every quantity, one point each. Checked against a trace by the grader.
    ask: tuple[tuple[str, float], ...] | None = None
    grading: Grading = Grading()
    #: The update rule (with its weight_decay and l1); plain gradient descent unless the file names one.
    optimizer: Optimizer = field(default_factory=lambda: make_optimizer(None))
    #: The learning rate of each epoch; `learning_rate` is its initial rate lr0.
    schedule: Schedule = field(default_factory=lambda: make_schedule(None))
    #: The number t (1-based) of the problem's step: above 1 when the file gives the state it starts from.
    first_step: int = 1
    #: Per layer, the optimizer state the step starts from; None: the optimizer's initial state (zeros).
    optimizer_state: tuple[LayerState, ...] | None = None
    #: The schedule's epoch (0-based) of the problem's step, when the file gives it; None: first_step - 1.
    first_epoch: int | None = None
    #: Gradient clipping before the optimizer's step (`gradient_clipping:`); None: none.
    clipping: Clipping | None = None

    @property
    def epoch(self) -> int:
        """The schedule's epoch of the problem's step: `optimizer_state.epoch`, else first_step - 1."""
        return self.first_step - 1 if self.first_epoch is None else self.first_epoch

    @property
    def step_rate(self) -> float:
        """The learning rate of the problem's step: the schedule's rate at its epoch."""
        return self.schedule.rate(self.learning_rate, self.epoch)

    @property
    def plain_descent(self) -> bool:
        """Whether the update is format 1's: plain gradient descent at a constant rate, nothing else."""
        return (self.optimizer.name == "sgd" and not self.optimizer.regularised and self.schedule.name == "constant"
                and self.first_step == 1)

    @property
    def images(self) -> bool:
        """Whether the inputs are images (N, C, H, W): some layer takes images."""
        return self.inputs.ndim == 4

    @property
    def shape(self) -> tuple[int, ...]:
        return (math.prod(self.inputs.shape[1:]),) + tuple(layer.size for layer in self.layers)

    @property
    def shape_text(self) -> str:
        """``2-3-1``; with an input image, each shape channels first: ``1x4x4-1x3x3-1x2x2-4-3``."""
        if self.images:
            shapes = [self.inputs.shape[1:]] + [layer.output_shape for layer in self.layers]
            return "-".join("x".join(str(n) for n in shape) for shape in shapes)
        return "-".join(str(n) for n in self.shape)

    @property
    def samples(self) -> int:
        return int(self.inputs.shape[0])

    @cached_property
    def content_hash(self) -> str:
        """A short stable hash of the file's text ("" without one), worked out when first asked for: `solve`
        never needs it, and hashing loads OpenSSL."""
        return content_hash(self.text) if self.text else ""

    @cached_property
    def parameter_count(self) -> int:
        return sum(layer.parameter_count for layer in self.layers)

    def summary(self) -> str:
        """One line: shape, activations, loss, samples; e.g. ``2-2-2 sigmoid/sigmoid half_sse, 1 sample``."""
        acts = "/".join(layer.activation.describe() if isinstance(layer, Layer) else layer.describe()
                        for layer in self.layers)
        samples = f"batch of {self.samples}" if self.batch else "1 sample"
        line = f"{self.shape_text} {acts}, {self.loss.name}, {samples}, learning rate {self.learning_rate:g}"
        if self.clipping is not None:
            line += f", {self.clipping.describe()}"
        if not self.plain_descent:
            line += f", {self.optimizer.describe()}"
            line += f", {self.schedule.describe()}" if self.schedule.name != "constant" else ""
            line += f", from step {self.first_step}" if self.first_step > 1 else ""
        return line


def content_hash(text: str) -> str:
    """A short stable hash of a problem file's text (progress and gradebooks refer to it)."""
    import hashlib  # only needed once a file is read; keeps start-up light

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
