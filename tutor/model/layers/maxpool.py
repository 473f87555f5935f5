"""Max pooling: each output is the largest number of its window, and remembers which input won.

Backward sends each output's gradient to the one input that won its window (the first one in reading
order when several tie); every other input of the window gets 0 from it. Overlapping windows add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.layers.mistake import INPUT_GRADIENT, LayerMistake
from tutor.model.layers.pooling import Pooling, PoolingTrace
from tutor.model.layers.windows import scatter_windows, windows


@dataclass(frozen=True)
class MaxPoolCache:
    """The winner of each window (its 0-based position in reading order) and the input's height and width."""

    winners: np.ndarray  # (m, C, Ho, Wo) of int, index into the size*size window
    input_hw: tuple[int, int]


@dataclass(frozen=True)
class MaxPool(Pooling):
    """Max pooling over size x size windows moved by `stride`."""

    kind: ClassVar[str] = "maxpool"
    mistakes: ClassVar[tuple[LayerMistake, ...]] = ()  # filled in below

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, MaxPoolCache]:
        """The maximum of each window, and which input it came from."""
        view = windows(np.asarray(x, dtype=float), self.size, self.size, self.stride)
        flat = view.reshape(*view.shape[:4], self.size * self.size)
        winners = np.argmax(flat, axis=-1)
        net = np.take_along_axis(flat, winners[..., None], axis=-1)[..., 0]
        return net, MaxPoolCache(winners, x.shape[-2:])

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Each output's gradient goes to its window's winner alone."""
        grad = np.zeros((*dnet.shape, self.size * self.size))
        np.put_along_axis(grad, cache.winners[..., None], dnet[..., None], axis=-1)
        grad = grad.reshape(*dnet.shape, self.size, self.size)
        return scatter_windows(grad, cache.input_hw, self.stride), {}

    def winner_positions(self, cache: MaxPoolCache) -> np.ndarray:
        """(m, C, Ho, Wo, 2): the 0-based (row, column) in the input of each window's winner."""
        rows = np.arange(cache.winners.shape[2])[:, None] * self.stride + cache.winners // self.size
        cols = np.arange(cache.winners.shape[3])[None, :] * self.stride + cache.winners % self.size
        return np.stack([rows, cols], axis=-1)


def _gradient_to_all(layer: MaxPool, dnet: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Every input of a window gets the window's whole gradient, winner or not."""
    grad = np.broadcast_to(dnet[None, ..., None, None], (1, *dnet.shape, layer.size, layer.size))
    return scatter_windows(grad, x.shape[-2:], layer.stride)[0]


MaxPool.mistakes = (
    LayerMistake("maxpool_gradient_to_all",
                 "a max-pool output's gradient goes only to the input that won its window; it was sent to "
                 "every input of the window", INPUT_GRADIENT, _gradient_to_all),
)


class MaxPoolTrace(PoolingTrace):
    """max of the window, noting the winner; the gradient goes to the winners alone."""

    def window_formula(self, window: list, keys: tuple[str, ...]):
        winner = max(window, key=lambda t: t.value)  # the first of equals, as the layer picks it
        fixed = [t.value for t in window]
        compute = (lambda *v: float(max(v))) if keys else (lambda: float(max(fixed)))
        return ["max(", *self.listed(window, ", "), ")"], compute, f"{winner.symbol} won"

    def input_share(self, ch: int, row: int, col: int, s: int) -> list[tuple[int, int]]:
        winners = self.ls.layer.winner_positions(self.ls.cache)[s, ch]  # the step's own record of the winners
        return [(r, c) for r, c in self.covering(ch, row, col, s) if tuple(winners[r, c]) == (row, col)]

    def gradient_formula(self, terms: list):
        if not terms:
            return ["0"], lambda: 0.0, "it won no window of the max-pool: its gradient is 0", ()
        keys = tuple(t.key for t in terms)
        return self.listed(terms, " + "), lambda *v: float(sum(v)), "it won these windows", keys

    def input_gradient_note(self) -> str:
        return "each output's gradient goes to the input that won its window, and only to it"


MaxPool.tracer = MaxPoolTrace
