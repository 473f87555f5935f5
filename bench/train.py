"""Benchmark of `train`: the lab's task at scale, against a minimal numpy loop and PyTorch, as whole processes.

    python bench/train.py                       # median of 5 runs each, wall and CPU time
    python bench/train.py --runs 3 --torch /tmp/venv-torch/bin/python

Targets (docs/benchmarks.md): `train` on xor-easy with a 2-10-10-1 sigmoid net, full batch, 20,000 epochs of
SGD and of Adam, within 1.3x of `bench/train_minimal.py` (a hand-written numpy loop doing the same); with
`--torch PYTHON` also against `bench/train_torch.py` (PyTorch on the CPU, torch==2.13.0 in a separate
environment: it is not a project dependency); and `--plot DIR` adds under a second.
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
PY = sys.executable
EPOCHS = "20000"
RATES = {"sgd": "1", "adam": "0.01"}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one whole process; CPU time is steadier on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def train_command(optimizer: str, *extra: str) -> list[str]:
    return [PY, "-m", "tutor", "train", "--shape", "2-10-10-1", "--activation", "sigmoid", "--data", "xor-easy",
            "--epochs", EPOCHS, "--learning-rate", RATES[optimizer], "--optimizer", optimizer, "--seed", "1",
            "--format", "json", *extra]


def median_times(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """The median wall and CPU times of each command, runs interleaved so that a busy moment hits all alike."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command))
    return {name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--torch", metavar="PYTHON", help="a Python with torch installed, for the comparison")
    parser.add_argument("--optimizer", choices=sorted(RATES), action="append", help="only this one (repeatable)")
    args = parser.parse_args()
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "tutor")], check=True)
    with tempfile.TemporaryDirectory() as folder:
        data = str(Path(folder) / "xor-easy.csv")
        subprocess.run([PY, "-m", "tutor", "data", "xor-easy", "-o", data], check=True, stdout=subprocess.DEVNULL)
        figures = str(Path(folder) / "figures")
        for optimizer in args.optimizer or ("sgd", "adam"):
            commands = {
                "train": train_command(optimizer),
                "minimal numpy loop": [PY, str(ROOT / "bench" / "train_minimal.py"), optimizer, EPOCHS, data],
                "train --plot": train_command(optimizer, "--plot", figures),
            }
            if args.torch:
                commands["pytorch"] = [args.torch, str(ROOT / "bench" / "train_torch.py"), optimizer, EPOCHS, data]
            times = median_times(commands, args.runs)
            for what, k in (("wall", 0), ("cpu", 1)):
                ours, base = times["train"][k], times["minimal numpy loop"][k]
                print(f"{optimizer} ({what}): train {ours:.2f} s, minimal numpy loop {base:.2f} s: "
                      f"{ours / base:.2f}x (target <= 1.3x)")
                print(f"{optimizer} ({what}): --plot adds {times['train --plot'][k] - ours:.2f} s (target < 1 s)")
                if "pytorch" in times:
                    print(f"{optimizer} ({what}): pytorch {times['pytorch'][k]:.2f} s: train takes "
                          f"{ours / times['pytorch'][k]:.2f}x of pytorch's time")

if __name__ == "__main__":
    main()
