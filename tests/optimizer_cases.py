"""Mazur's network with an optimizer, and for each catalogued optimizer mistake a wrong answer worked out
by hand (shared by the grader's and the quiz's diagnosis tests)."""

from __future__ import annotations

import math

from tests.conftest import PROBLEMS

#: Mazur's problem file without its `format: 1` line, so that format 2's keys may follow.
MAZUR_BASE = "\n".join(line for line in (PROBLEMS / "mazur-2-2-2.yaml").read_text().splitlines()
                       if not line.startswith("format:")) + "\n"


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# Mazur's first step by hand: dE/dw5 (h1 -> o1); the rate is Mazur's 0.5.
OUT_H1 = _sig(0.15 * 0.05 + 0.20 * 0.10 + 0.35)
OUT_H2 = _sig(0.25 * 0.05 + 0.30 * 0.10 + 0.35)
OUT_O1 = _sig(0.40 * OUT_H1 + 0.45 * OUT_H2 + 0.60)
G5 = (OUT_O1 - 0.01) * OUT_O1 * (1 - OUT_O1) * OUT_H1
ETA = 0.5

#: mistake id -> (the problem's optimizer lines, the key answered, the wrong answer).
OPTIMIZER_MISTAKE_CASES = {
    # Adam's first step: m = 0.1 g, m_hat = g; without the correction m_hat is left at m.
    "bias_correction_omitted": ("optimizer: adam\n", "m_hat_w2_1_1", 0.1 * G5),
    # m = 0.9 * 0 + 0.1 g; swapped: 0.1 * 0 + 0.9 g.
    "beta_swapped": ("optimizer: adam\n", "m(w5)", 0.9 * G5),
    # m_hat = g, v_hat = g^2: step = eta g / (|g| + eps); inside the root: eta g / sqrt(g^2 + eps).
    "epsilon_inside_sqrt": ("optimizer: {name: adam, eps: 0.01}\n", "step_w2_1_1",
                            ETA * G5 / math.sqrt(G5 ** 2 + 0.01)),
    # s = 0 + g^2; accumulating g: s = g.
    "adagrad_accumulates_g": ("optimizer: adagrad\n", "s_w2_1_1", G5),
    # PyTorch's v = 0.9 * 0 + g; the lecture's ema form gives (1 - 0.9) g.
    "momentum_convention_mixed": ("optimizer: {name: momentum, momentum: 0.9}\n", "v_w2_1_1", 0.1 * G5),
}


def optimizer_problem_text(mistake: str) -> str:
    """The problem file (Mazur's network with the optimizer) for one mistake's case."""
    return MAZUR_BASE + OPTIMIZER_MISTAKE_CASES[mistake][0]
