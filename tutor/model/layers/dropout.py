"""Inverted dropout: out = x * mask / (1 - p), with the mask of 0s and 1s the problem gives (a row per sample).

Backward sends dL/dout through the kept units with the same scale, dx = dout * mask / (1 - p), and nothing
through the dropped ones. `train` draws a fresh mask at every step (kept with probability 1 - p, from
--seed); predicting uses no dropout at all (every unit kept, no scale), as `model.eval()` does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from tutor.model.layers.base import Layer


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Dropout(Layer):
    """The drop probability p and the mask (m, *input shape) of the step; no parameters, no activation."""

    p: float
    mask: np.ndarray | None  # None: draw one from `rng` at every forward pass (training)
    rng: np.random.Generator | None = None
    predicting: bool = False
    activation: None = None
    kind: ClassVar[str] = "dropout"
    reads_samples: ClassVar[bool] = True

    @classmethod
    def from_spec(cls, spec: Any) -> "Dropout":
        return cls(spec.settings["p"], spec.settings["mask"])

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...], samples: int) -> dict:
        """p (0 <= p < 1) and the mask: 0s and 1s shaped like the layer's input, one per sample."""
        reader.check_keys(entry, path, ("type", "p", "mask"), ("type", "p", "mask"))
        p = reader.number(entry["p"], [*path, "p"], "the drop probability p")
        if not 0 <= p < 1:
            reader.fail([*path, "p"], f"must be at least 0 and below 1, got {p:g}")
        from tutor.problem.images import sample_array

        mask = sample_array(reader, entry["mask"], [*path, "mask"], shape, samples, "the mask")
        if not np.isin(mask, (0.0, 1.0)).all():
            reader.fail([*path, "mask"], "expected 0 (dropped) or 1 (kept) for every unit")
        return {"settings": {"p": p, "mask": mask}}

    @staticmethod
    def describe_spec(spec: Any) -> str:
        return f"dropout p {spec.settings['p']:g}"

    def parameters(self) -> dict[str, np.ndarray]:
        return {}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    def in_training(self, rng: np.random.Generator) -> "Dropout":
        """The layer as `train` runs it: a new mask from `rng` at every step."""
        return replace(self, mask=None, rng=rng)

    def in_prediction(self) -> "Dropout":
        """The layer as predictions run it: every unit kept, unscaled."""
        return replace(self, predicting=True)

    @property
    def scale(self) -> float:
        return 1.0 / (1.0 - self.p)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """x * mask / (1 - p); the cache is the mask times the scale."""
        if self.predicting:
            return x, np.ones_like(x)
        mask = self.mask if self.mask is not None else (self.rng.random(x.shape) >= self.p).astype(float)
        kept = mask * self.scale
        return x * kept, kept

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dout * mask / (1 - p)."""
        return dnet * cache, {}


# -- the trace -------------------------------------------------------------------------------------------

from tutor.trace.layer_trace import LayerTrace  # noqa: E402
from tutor.trace.quantity import Term  # noqa: E402


class DropoutTrace(LayerTrace):
    """out = x * mask / (1 - p) forward; dL/dx = dL/dout * mask / (1 - p) backward, number by number."""

    formulas = frozenset({"out", "map_out"})

    def forward_entries(self):
        for s in range(self.m):
            yield from ((self.std("out"), self.l, j, None, s) for j in self.positions())

    def backward_entries(self):
        for s in range(self.m):
            yield from ((self.std("dloss_dout"), self.l, j, None, s) for j in self.positions())

    def _mask(self, j, s: int) -> Term:
        at = (s, *self.zero_based(j))
        where = f"({','.join(map(str, j))})" if isinstance(j, tuple) else f"_{j}"
        return Term(f"mask{where}{self.b.labels._s(s + 1)}", float(self.spec.settings["mask"][at]))

    def _p(self) -> Term:
        return Term("p", float(self.spec.settings["p"]))

    def formula(self, kind: str, j, s: int | None):
        x, mask, p = self.input_term(j, s), self._mask(j, s), self._p()
        scale = mask.value / (1 - p.value)
        note = "dropped: 0" if mask.value == 0 else ""
        parts = [x, " * ", mask, " / (1 - ", p, ")"]
        if x.key is None:
            return parts, lambda: x.value * scale, note, ()
        return parts, lambda v: v * scale, note, (x.key,)

    def input_gradient(self, j, s: int):
        grad, mask, p = self.standard("dloss_dout", j, s), self._mask(j, s), self._p()
        scale = mask.value / (1 - p.value)
        note = "a dropped unit passes no gradient back" if mask.value == 0 else ""
        return [grad, " * ", mask, " / (1 - ", p, ")"], lambda v: v * scale, note, (grad.key,)

    def settings_rows(self, fmt):
        mask = self.spec.settings["mask"]
        rows = [("p", f"p = {fmt(self._p().value)}")]
        for s in range(self.m):
            at = f" (sample {s + 1})" if self.b.batch else ""
            rows.append((f"mask{at}", " ".join(str(int(v)) for v in mask[s].ravel())))
        return rows

    def input_gradient_note(self) -> str:
        return "a kept number's gradient is scaled by 1 / (1 - p); a dropped one passes none back"


Dropout.tracer = DropoutTrace


# -- catalogued mistakes -----------------------------------------------------------------------------------

from tutor.model.layers.mistake import TraceMistake  # noqa: E402
from tutor.trace.layer_trace import sample_and_index  # noqa: E402


def _scale_forgotten(part: DropoutTrace, q: Any, world: Any, role: str) -> list[float]:
    """out = x * mask (or dx = dout * mask): the 1 / (1 - p) of inverted dropout left out."""
    s, j = sample_and_index(q)
    mask = part._mask(j, s).value
    if part._p().value == 0 or mask == 0:
        return []
    if role == "own" and q.kind in part.formulas:
        return [part.at(world, part.input_term(j, s)) * mask]
    if role == "input":
        return [part.at(world, part.standard("dloss_dout", j, s)) * mask]
    return []


def _through_dropped(part: DropoutTrace, q: Any, world: Any, role: str) -> list[float]:
    """dx = dout / (1 - p) at a dropped unit: the gradient sent through a unit the forward pass dropped."""
    s, j = sample_and_index(q)
    if role != "input" or part._mask(j, s).value != 0:
        return []
    grad = part.at(world, part.standard("dloss_dout", j, s))
    return [grad / (1 - part._p().value), grad]


Dropout.mistakes = (
    TraceMistake("dropout_scale_forgotten",
                 "inverted dropout scales the kept units by 1 / (1 - p), forward and backward; the scale was "
                 "left out", _scale_forgotten),
    TraceMistake("dropout_gradient_through_dropped",
                 "a unit the forward pass dropped (mask 0) passes no gradient back; a gradient was sent through it",
                 _through_dropped),
)
