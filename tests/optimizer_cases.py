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

#: The second step of momentum or Nesterov, from a velocity of 0.1234 for w5 and 0 elsewhere.
STEP_2_VELOCITY = """optimizer_state:
  t: 2
  layers:
    - weights: {v: [[0.0, 0.0], [0.0, 0.0]]}
    - weights: {v: [[0.1234, 0.0], [0.0, 0.0]]}
"""

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
    # Step 2 from v(w5) = 0.1234: v = 0.9 * 0.1234 + g; the lab's convention throughout has -eta times that.
    "momentum_convention_other": (f"optimizer: {{name: momentum, momentum: 0.9}}\n{STEP_2_VELOCITY}", "v_w2_1_1",
                                  -ETA * (0.9 * 0.1234 + G5)),
    # t = 1: m = 0.1 g, m_hat = m / (1 - 0.9); with t + 1, m / (1 - 0.81).
    "bias_correction_wrong_t": ("optimizer: adam\n", "m_hat_w2_1_1", 0.1 * G5 / (1 - 0.81)),
    # v = 0.999 * 0 + 0.001 g^2; from g itself, 0.001 g.
    "second_moment_not_squared": ("optimizer: adam\n", "v_w2_1_1", 0.001 * G5),
    # From v(w5) = 0.1234: v = 0.9 * 0.1234 + g; not carried, v = g.
    "velocity_not_carried": (f"optimizer: {{name: momentum, momentum: 0.9}}\n{STEP_2_VELOCITY}", "v_w2_1_1", G5),
    # Nesterov's first step: v = g, d = g + 0.9 v; without the look-ahead, d = g.
    "nesterov_lookahead_ignored": ("optimizer: nesterov\n", "d_w2_1_1", G5),
    # From v(w5) = 0.1234: d = g + 0.9 (0.9 * 0.1234 + g); with the previous velocity, g + 0.9 * 0.1234.
    "nesterov_lookahead_old_velocity": (f"optimizer: nesterov\n{STEP_2_VELOCITY}", "d_w2_1_1", G5 + 0.9 * 0.1234),
    # Epoch 0 of lr0 / (1 + 0.5 epoch) is eta itself; epoch 1's rate is eta / 1.5.
    "schedule_wrong_epoch": ("schedule: {name: inverse_time, decay: 0.5}\n", "new_w2_1_1", 0.40 - ETA / 1.5 * G5),
    # L2 0.01 on w5 = 0.4: g = dE/dw5 + 0.004.
    "weight_decay_sign_flipped": ("weight_decay: 0.01\n", "g_w2_1_1", G5 - 0.004),
    "weight_decay_omitted": ("weight_decay: 0.01\n", "g_w2_1_1", G5),
    "weight_decay_halved": ("weight_decay: 0.01\n", "g_w2_1_1", G5 + 0.002),
    # AdamW's decay 0.01 put into the gradient: m = 0.1 (g + 0.01 * 0.4).
    "adamw_decay_in_gradient": ("optimizer: adamw\n", "m_w2_1_1", 0.1 * (G5 + 0.004)),
    # From v(w5) = 0.1234, the velocity copied: v = 0.1234.
    "previous_step_values": (f"optimizer: {{name: momentum, momentum: 0.9}}\n{STEP_2_VELOCITY}", "v_w2_1_1", 0.1234),
}


def optimizer_problem_text(mistake: str) -> str:
    """The problem file (Mazur's network with the optimizer) for one mistake's case."""
    return MAZUR_BASE + OPTIMIZER_MISTAKE_CASES[mistake][0]
