"""Benchmarks: each compares a whole `backprop-tutor` process with a baseline process and prints the ratio.

    python bench/run.py            # all benchmarks, 7 runs each (the median counts)
    python bench/run.py --runs 3 startup

Targets (docs/benchmarks.md):
- startup: `solve problems/ex02-3-3-2-2.yaml` within 1.5x the CPU time and 1.4x the wall time of
  `python -c "import numpy, yaml, rich, typer"`;
- big-json: `solve --format json` on a 784-128-64-10 network within 2x of parsing its ~1 MB YAML file with
  PyYAML's C loader, and under 500 MB of memory;
- big-text: the same network's worked solution as text within 3x of that parse (tables are elided);
- steps: `solve mazur-2-2-2 --steps 10000` within 2x of a minimal hand-written numpy loop doing the same;
- adam: `solve mazur-adam-2-2-2 --steps 10000` within 2x of a minimal hand-written numpy Adam loop.
Times are CPU times (user + system) of the processes, medians of runs in alternation; the wall-time
ratio is printed beside. The command is run as `python -m tutor` so that no launcher script (pyenv shims, say) is measured, and
the package is byte-compiled first, as an install does.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from make_big_problem import big_problem_text  # noqa: E402

PY = sys.executable
TUTOR = [PY, "-m", "tutor"]

MINIMAL_LOOP = """
import numpy as np
x = np.array([0.05, 0.10]); t = np.array([0.01, 0.99])
W1 = np.array([[0.15, 0.20], [0.25, 0.30]]); W2 = np.array([[0.40, 0.45], [0.50, 0.55]])
b1, b2, lr = 0.35, 0.60, 0.5
for _ in range(10000):
    h = 1 / (1 + np.exp(-(W1 @ x + b1)))
    o = 1 / (1 + np.exp(-(W2 @ h + b2)))
    E = 0.5 * np.sum((t - o) ** 2)
    d2 = (o - t) * o * (1 - o)
    d1 = (W2.T @ d2) * h * (1 - h)
    W2 = W2 - lr * np.outer(d2, h)
    W1 = W1 - lr * np.outer(d1, x)
print(E)
"""


MINIMAL_ADAM_LOOP = """
import numpy as np
x = np.array([0.05, 0.10]); t = np.array([0.01, 0.99])
W1 = np.array([[0.15, 0.20], [0.25, 0.30]]); W2 = np.array([[0.40, 0.45], [0.50, 0.55]])
b1, b2, lr, beta1, beta2, eps = 0.35, 0.60, 0.1, 0.9, 0.999, 1e-8
m1 = np.zeros_like(W1); v1 = np.zeros_like(W1); m2 = np.zeros_like(W2); v2 = np.zeros_like(W2)
for step in range(1, 10001):
    h = 1 / (1 + np.exp(-(W1 @ x + b1)))
    o = 1 / (1 + np.exp(-(W2 @ h + b2)))
    E = 0.5 * np.sum((t - o) ** 2)
    d2 = (o - t) * o * (1 - o)
    d1 = (W2.T @ d2) * h * (1 - h)
    g2, g1 = np.outer(d2, h), np.outer(d1, x)
    m2 = beta1 * m2 + (1 - beta1) * g2; v2 = beta2 * v2 + (1 - beta2) * g2 * g2
    m1 = beta1 * m1 + (1 - beta1) * g1; v1 = beta2 * v1 + (1 - beta2) * g1 * g1
    W2 = W2 - lr * (m2 / (1 - beta1 ** step)) / (np.sqrt(v2 / (1 - beta2 ** step)) + eps)
    W1 = W1 - lr * (m1 / (1 - beta1 ** step)) / (np.sqrt(v1 / (1 - beta2 ** step)) + eps)
print(E)
"""


def timed(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one process.

    The ratios are taken on CPU time: on a busy machine a process waits for a core, which counts in its
    wall time but not in its CPU time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
                   env={**os.environ, "NO_COLOR": "1"})
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(name: str, ours: list[str], baseline: list[str], target: float, runs: int,
            wall_target: float | None = None) -> bool:
    """Time both commands in alternation (so a machine that speeds up or slows down affects both alike); the
    CPU ratio must be within `target`, and the wall-time ratio within `wall_target` where one is given."""
    timed(ours)  # warm the file cache
    timed(baseline)
    pairs = [(timed(ours), timed(baseline)) for _ in range(runs)]
    wall = statistics.median(p[0][0] / p[1][0] for p in pairs)
    mine = statistics.median(p[0][1] for p in pairs)
    base = statistics.median(p[1][1] for p in pairs)
    ratio = statistics.median(p[0][1] / p[1][1] for p in pairs)
    ok = ratio <= target and (wall_target is None or wall <= wall_target)
    wall_goal = f" <= {wall_target}" if wall_target is not None else ""
    print(f"{name:<10} CPU ours {mine:6.3f} s  baseline {base:6.3f} s  ratio {ratio:4.2f} (target <= {target}; "
          f"wall {wall:4.2f}{wall_goal}: {statistics.median(p[0][0] for p in pairs):.3f} s against "
          f"{statistics.median(p[1][0] for p in pairs):.3f} s)  {'ok' if ok else 'SLOW'}")
    return ok


def bench_startup(runs: int) -> bool:
    return compare("startup", TUTOR + ["solve", "problems/ex02-3-3-2-2.yaml"],
                   [PY, "-c", "import numpy, yaml, rich, typer"], 1.5, runs, wall_target=1.4)


def bench_big_json(runs: int) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big-784.yaml"
        path.write_text(big_problem_text())
        print(f"big-json   problem file {path.stat().st_size / 1e6:.2f} MB")
        ok = compare("big-json", TUTOR + ["solve", str(path), "--format", "json"],
                     [PY, "-c", f"import yaml; yaml.load(open({str(path)!r}), Loader=yaml.CSafeLoader)"], 2.0, runs)
        memory = _peak_memory(TUTOR + ["solve", str(path), "--format", "json"])
        print(f"big-json   peak memory {memory / 1024:.0f} MB (target < 500 MB)  {'ok' if memory < 500 * 1024 else 'BIG'}")
        return ok and memory < 500 * 1024


def bench_big_text(runs: int) -> bool:
    """The worked solution of the big network as text: long tables are elided, so only what is shown is built."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big-784.yaml"
        path.write_text(big_problem_text())
        return compare("big-text", TUTOR + ["solve", str(path), "--format", "plain"],
                       [PY, "-c", f"import yaml; yaml.load(open({str(path)!r}), Loader=yaml.CSafeLoader)"], 3.0, runs)


def _peak_memory(command: list[str]) -> int:
    """Peak resident memory (KB) of one run, measured in a fresh child so earlier runs do not count."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL);"
             " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([PY, "-c", probe, *command], check=True, capture_output=True, text=True, cwd=ROOT)
    return int(out.stdout.strip())


def bench_steps(runs: int) -> bool:
    return compare("steps", TUTOR + ["solve", "problems/mazur-2-2-2.yaml", "--steps", "10000", "--format", "json"],
                   [PY, "-c", MINIMAL_LOOP], 2.0, runs)


def bench_adam(runs: int) -> bool:
    return compare("adam", TUTOR + ["solve", "problems/mazur-adam-2-2-2.yaml", "--steps", "10000", "--format", "json"],
                   [PY, "-c", MINIMAL_ADAM_LOOP], 2.0, runs)


BENCHMARKS = {"startup": bench_startup, "big-json": bench_big_json, "big-text": bench_big_text, "steps": bench_steps,
              "adam": bench_adam}


def compile_package() -> None:
    """Byte-compile the package as `pip install` does, even where PYTHONDONTWRITEBYTECODE is set."""
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "tutor")], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run (default: all)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command (the median counts)")
    args = parser.parse_args()
    compile_package()
    results = [BENCHMARKS[name](args.runs) for name in (args.names or BENCHMARKS)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
