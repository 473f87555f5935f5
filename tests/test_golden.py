"""Golden outputs: the full worked solutions of the bundled problems, exactly as `solve` prints them.

Regenerate after an intended change with `UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`,
then read the diff before committing it.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import BUNDLED, BUNDLED_GRAPHS, ROOT

GOLDEN = ROOT / "tests" / "golden"
CASES = [(p.stem, fmt) for p in BUNDLED for fmt in ("text", "plain")] + [
    ("ex02-3-3-2-2", "plain --only new_w1_1_1,new_w2_2_1,new_w2_2_2,new_w3_2_2"),
    ("mazur-2-2-2", "plain --only w5+,w1+ --digits 9"),
    ("conv-3x3-2x2", "plain --only dL_dx1_1_2_2,new_w1_1_1_1_2"),
    ("mazur-momentum-2-2-2", "plain --steps 2 --show-step 2"),
    ("mazur-adam-2-2-2", "plain --steps 3 --show-step 3"),
    ("mazur-adam-2-2-2", "plain --only w5+ --steps 3 --show-step 2"),
] + [(f"graphs/{p.stem}", fmt) for p in BUNDLED_GRAPHS for fmt in ("text", "plain")] + [
    ("graphs/micrograd-readme", "plain --only dg_da,dg_db"),
    ("graphs/cs231n-sigmoid", "plain --steps 3 --show-step 2"),
]


def _name(stem: str, args: str) -> str:
    return f"{stem.replace('/', '-')}.{args.replace(' --', '.').replace(' ', '=').replace(',', '+').replace('^', '')}.txt"


@pytest.mark.parametrize(("stem", "args"), CASES, ids=[_name(*c) for c in CASES])
def test_solve_output_matches_golden(invoke, stem, args):
    fmt, *rest = args.split(" ")
    result = invoke("solve", f"problems/{stem}.yaml", "--format", fmt, *rest)
    assert result.exit_code == 0, result.output
    golden = GOLDEN / _name(stem, args)
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert golden.exists(), f"missing {golden.name}: run with UPDATE_GOLDEN=1"
    assert result.stdout == golden.read_text()
