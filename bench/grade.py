"""Benchmark: grading a folder of 1,000 answer sheets for the EX02 problem.

    python bench/grade.py              # median of 5 runs
    python bench/grade.py --runs 3 --sheets 1000

Targets (docs/benchmarks.md): `backprop-tutor grade problems/ex02-3-3-2-2.yaml SHEETS/ --out RESULTS/`
takes under 10 s, and within 3x the time of merely loading the same 1,000 files with PyYAML's C loader.
Both are whole processes, timed in alternation; the sheets are written to a temporary folder first,
with a realistic mix: exact answers, answers rounded at every step, an early slip followed through,
catalogued mistakes, and sheets with gaps and format errors.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import PY, TUTOR, compile_package  # noqa: E402

PROBLEM = ROOT / "problems" / "ex02-3-3-2-2.yaml"
TARGET_RATIO = 3.0
TARGET_SECONDS = 10.0

#: Catalogued mistakes and a quantity of EX02 where each shows (the student then carries on from it).
MISTAKES = [
    ("tanh_derivative_on_net", "dout_dnet2_2"),
    ("relu_derivative_wrong", "dout_dnet1_1"),
    ("sigmoid_derivative_on_net", "dout_dnet3_1"),
    ("loss_factor_dropped", "dL_dout3_1"),
    ("target_output_swapped", "dL_dout3_2"),
    ("update_sign_flipped", "new_w3_1_1"),
    ("learning_rate_omitted", "new_w2_2_1"),
    ("single_path_only", "dL_dout2_1"),
]


def timed(command: list[str]) -> float:
    """Wall time of one process (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                   env={**os.environ, "NO_COLOR": "1"})
    return time.perf_counter() - start


def make_sheets(folder: Path, count: int, seed: int = 4) -> None:
    """Write `count` sheets for EX02 into `folder` (name: student-0001.yaml, ...)."""
    from tutor.teach.judge import Judge
    from tutor.teach.mistakes import BY_ID
    from tutor.solver import solve

    trace = solve(PROBLEM)
    judge = Judge(trace)
    keys = trace.keys()
    rng = random.Random(seed)

    def rounded(decimals: int, start: dict[str, float] | None = None) -> dict[str, float]:
        values: dict[str, float] = {}
        for q in trace:
            exact = (start or {}).get(q.key)
            value = exact if exact is not None else q.compute(*[values[d] for d in q.depends_on])
            values[q.key] = round(value, decimals)
        return values

    for n in range(count):
        kind = rng.random()
        if kind < 0.3:  # exact
            values = {q.key: q.value for q in trace}
            text = "".join(f"{k}: {v!r}\n" for k, v in values.items())
        elif kind < 0.5:  # rounded at every step
            decimals = rng.choice([3, 4, 5])
            text = "".join(f"{k}: {v:.{decimals}f}\n" for k, v in rounded(decimals).items())
        elif kind < 0.7:  # an early slip, followed through
            slipped = rng.choice(keys[:14])
            world = judge.world({slipped: trace[slipped].value * rng.choice([1.5, 0.5, -1, 10])})
            text = "".join(f"{k}: {world[k]:.6f}\n" for k in keys)
        elif kind < 0.9:  # a catalogued mistake, carried on downstream
            mistake, key = rng.choice(MISTAKES)
            q = trace[key]
            world = judge.world({})
            candidates = BY_ID[mistake].candidates(trace, q, world)
            world = judge.world({key: candidates[0]})
            text = "".join(f"{k}: {world[k]:.5f}\n" for k in keys)
        else:  # gaps, labels and format errors
            lines = []
            for q in trace:
                roll = rng.random()
                if roll < 0.2:
                    continue
                name = q.label if roll < 0.4 else q.key
                value = "abc" if roll > 0.97 else f"{q.value:.4f}"
                lines.append(f"'{name}': {value}\n" if ":" in name else f"{name}: {value}\n")
            text = "".join(lines) + ("unknown_key: 1\n" if rng.random() < 0.5 else "")
        (folder / f"student-{n:04d}.yaml").write_text(text)


def every_quantity_asked(folder: Path) -> Path:
    """EX02 without its `ask:` section (the exercise's four weights): every quantity is graded."""
    text = "".join(line for line in PROBLEM.read_text().splitlines(keepends=True) if not line.startswith("ask:"))
    path = folder / PROBLEM.name
    path.write_text(text)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (the median counts)")
    parser.add_argument("--sheets", type=int, default=1000, help="how many sheets to grade")
    args = parser.parse_args()
    compile_package()
    with tempfile.TemporaryDirectory() as temporary:
        sheets, results = Path(temporary) / "sheets", Path(temporary) / "results"
        sheets.mkdir()
        make_sheets(sheets, args.sheets)
        problem = every_quantity_asked(Path(temporary))
        ours = TUTOR + ["grade", str(problem), str(sheets), "--out", str(results)]
        baseline = [PY, "-c", "import glob, yaml\n"
                              f"for name in sorted(glob.glob({str(sheets / '*.yaml')!r})):\n"
                              "    with open(name) as f: yaml.load(f, Loader=yaml.CSafeLoader)\n"]
        timed(ours)  # warm the file cache
        timed(baseline)
        pairs = [(timed(ours), timed(baseline)) for _ in range(args.runs)]
    mine = statistics.median(p[0] for p in pairs)
    base = statistics.median(p[1] for p in pairs)
    ratio = statistics.median(p[0] / p[1] for p in pairs)
    ok_ratio, ok_time = ratio <= TARGET_RATIO, mine < TARGET_SECONDS
    print(f"grade      {args.sheets} EX02 sheets: ours {mine:6.3f} s  PyYAML load {base:6.3f} s  ratio {ratio:5.2f} "
          f"(target <= {TARGET_RATIO})  {'ok' if ok_ratio else 'SLOW'}")
    print(f"grade      absolute {mine:6.3f} s (target < {TARGET_SECONDS:g} s)  {'ok' if ok_time else 'SLOW'}")
    return 0 if ok_ratio and ok_time else 1


if __name__ == "__main__":
    sys.exit(main())
