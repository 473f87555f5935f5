"""Every value `solve` prints, copied onto an answer sheet as printed, is graded correct.

The worked solution is read back from `solve --format plain` (the value column of each table, and the new
value of each row of the updates tables), for every bundled problem, at a later step of a run and with
`--only`, and graded by the grader, alone and as one whole sheet.
"""

from __future__ import annotations

import pytest

from tests.conftest import BUNDLED
from tutor.solver import open_problem
from tutor.teach.grader import Asked, Grader

MULTI_STEP = ["mazur-adam-2-2-2", "mazur-momentum-2-2-2", "mazur-decay-2-2-2"]
CASES = ([(p.stem, ()) for p in BUNDLED] + [(stem, ("--steps", "3", "--show-step", str(k)))
                                           for stem in MULTI_STEP for k in (2, 3)]
         + [("ex02-3-3-2-2", ("--only", "new_w1_3_1,new_w1_3_2,new_w2_2_1")),
            ("conv-3x3-2x2", ("--only", "new_w1_1_1_1_2"))])


def printed_values(output: str, keys: set[str], labels: dict[str, str]) -> dict[str, str]:
    """key -> the value text printed for it, read from the plain (framed) tables of `solve`."""
    found: dict[str, str] = {}
    previous: list[str] = []
    for line in output.splitlines():
        if not line.startswith("|"):
            previous = []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        first, last = cells[0], cells[-1]
        if first in keys and labels[first] == first and last:
            found[first] = last  # a quantity whose label is its key: one row
        elif first in keys and previous and previous[0] == labels[first]:
            found[first] = previous[-1]  # the label's row above holds the value
        previous = cells
    return {k: v.split("->")[-1].strip() for k, v in found.items()}


@pytest.mark.parametrize(("stem", "args"), CASES, ids=[f"{s}{''.join(a)}" for s, a in CASES])
def test_every_printed_value_copied_is_correct(invoke, stem, args):
    result = invoke("solve", f"problems/{stem}.yaml", "--format", "plain", *args)
    assert result.exit_code == 0, result.output
    step = int(args[args.index("--show-step") + 1]) if "--show-step" in args else None
    trace = open_problem(f"problems/{stem}.yaml", step)
    labels = {q.key: q.label for q in trace.quantities}
    printed = printed_values(result.stdout, set(labels), labels)
    if "--only" in args:
        assert set(args[args.index("--only") + 1].split(",")) <= set(printed)
    else:
        updates = [q.key for q in trace.quantities if q.kind in ("new_weight", "filter_new")]
        assert set(updates) <= set(printed), sorted(set(updates) - set(printed))
        assert len(printed) >= min(40, len(labels))
    grader = Grader(trace, asked=[Asked(q) for q in trace.quantities if q.key in printed])
    whole = grader.grade_text("".join(f"{key}: {text}\n" for key, text in printed.items()))
    assert {r.key: (r.verdict, r.judgement.note) for r in whole.results if r.verdict != "correct"} == {}
    for key, text in printed.items():  # each alone, as a student copying one value
        (row,) = [r for r in grader.grade_text(f"{key}: {text}\n").results if r.key == key]
        assert row.verdict == "correct", (key, text, row.expected, row.judgement.note)
