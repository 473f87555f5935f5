"""Write a 784-128-64-10 problem (relu/relu/softmax, cross-entropy, one sample): about 1 MB of YAML."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def big_problem_text(seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    shape = (784, 128, 64, 10)
    lines = ["format: 1", "name: MNIST-sized 784-128-64-10", "loss: cross_entropy", "learning_rate: 0.01"]
    lines.append("inputs: [" + ", ".join(f"{v:.3f}" for v in rng.random(shape[0])) + "]")
    lines.append("labels: 7")
    lines.append("layers:")
    for n_in, n_out, act in zip(shape, shape[1:], ("relu", "relu", "softmax")):
        scale = np.sqrt(2.0 / n_in)
        lines.append("  - activation: " + act)
        lines.append("    biases: [" + ", ".join("0.01" for _ in range(n_out)) + "]")
        lines.append("    weights:")
        for row in rng.normal(0.0, scale, size=(n_out, n_in)):
            lines.append("      - [" + ", ".join(f"{v:.4f}" for v in row) + "]")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "big-784.yaml")
    out.write_text(big_problem_text())
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
