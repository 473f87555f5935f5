"""Gradescope: a submission's results.json, and the autograder zip that grades each submission against its
student's own variant.

results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/): a score and max_score, and
one test per asked quantity with its score, max_score, name, output (Markdown) and visibility.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tutor.teach.grader import Grader, SheetResult
from tutor.views.text import number_formatter

_SHOWN = {"correct": "correct", "follow_through": "follow-through (right from your own earlier value)",
          "wrong": "wrong", "missing": "missing", "invalid": "not a number"}


def results_json(result: SheetResult, grader: Grader, *, digits: int = 6, reveal: bool = False,
                 visibility: str = "visible") -> str:
    """Gradescope's results.json for one graded sheet."""
    from tutor.teach.gradebook import notes

    fmt = number_formatter(digits)
    why = {r.key: note for r, note in notes(result, grader, fmt)}
    tests = []
    for r in result.results:
        lines = [f"**{_SHOWN[r.verdict]}**"]
        if r.given is not None:
            lines.append(f"given: `{fmt(r.given)}`")
        elif r.text:
            lines.append(f"given: `{r.text}`")
        if reveal:
            lines.append(f"expected: `{fmt(r.expected)}`")
        if r.key in why:
            lines.append(why[r.key])
        tests.append({"name": f"{r.label} ({r.key})" if r.label != r.key else r.key,
                      "score": float(r.points), "max_score": float(r.asked.points),
                      "output": "  \n".join(lines), "output_format": "md", "visibility": visibility})
    data = {"score": float(result.score), "max_score": float(result.max_score), "output_format": "md",
            "visibility": visibility, "stdout_visibility": "hidden", "tests": tests}
    if result.error is not None or result.problems:
        data["output"] = "\n".join(f"- {p}" for p in result.problems) or result.error
    return json.dumps(data, indent=2) + "\n"


SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder is built: it installs the grader.
set -euo pipefail
apt-get update -qq >/dev/null || true
apt-get install -y -qq python3 python3-pip python3-venv >/dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet {requirement}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it against the student's own variant.
set -uo pipefail
cd /autograder/source
mkdir -p /autograder/results
/autograder/venv/bin/python run_autograder.py /autograder/submission_metadata.json /autograder/submission \\
    /autograder/results/results.json
"""

RUN_PY = '''"""Grade one Gradescope submission against the variant of the student who submitted it."""

import json
import sys
from pathlib import Path

from tutor.teach.export.gradescope import autograde

if __name__ == "__main__":
    metadata, submission, results = sys.argv[1:4]
    Path(results).write_text(autograde(Path("assignment"), Path(metadata), Path(submission)), encoding="utf-8")
'''


def submitter_ids(metadata: dict) -> list[str]:
    """The ids a submission's metadata gives for its submitters: each user's sid (the roster's student id),
    then their email, then their name (Gradescope's submission_metadata.json, `users`)."""
    ids: list[str] = []
    for user in metadata.get("users") or []:
        if isinstance(user, dict):
            ids += [str(user[field]) for field in ("sid", "email", "name") if user.get(field)]
    return ids


def autograde(assignment_folder: Path, metadata_path: Path, submission: Path) -> str:
    """results.json for a submission: the student is found by sid, email or name in the assignment; their
    sheet is the submission's only YAML file (or one named after them)."""
    from tutor.errors import UserError
    from tutor.teach.assign import load_assignment
    from tutor.teach.gradebook import list_sheets

    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        assignment = load_assignment(assignment_folder)
        student = _find_student(assignment, submitter_ids(metadata))
        if student is None:
            return _failure("Your submission could not be matched to a student of this assignment; ask your "
                            "instructor (ids tried: " + ", ".join(submitter_ids(metadata)) + ").")
        sheets = list_sheets(submission)
        named = [p for p in sheets if p.stem == student.id]
        if not sheets:
            return _failure("No answer sheet (*.yaml) was submitted.")
        from tutor.teach.batch import student_grader

        grader = student_grader(assignment, student.id)
        return results_json(grader.grade_file((named or sheets)[0], student.id), grader)
    except UserError as exc:
        return _failure(f"The submission could not be graded: {exc}")


def _find_student(assignment, ids: list[str]):
    by_id = assignment.by_id()
    by_email = {s.email.lower(): s for s in assignment.students if s.email}
    by_name = {s.name.lower(): s for s in assignment.students if s.name}
    from tutor.teach.gradebook import sanitise

    for value in ids:
        found = by_id.get(sanitise(value)) or by_email.get(value.lower()) or by_name.get(value.lower())
        if found:
            return found
    return None


def _failure(message: str) -> str:
    return json.dumps({"score": 0.0, "output": message, "output_format": "md", "tests": []}, indent=2) + "\n"


def autograder_zip(assignment_folder: Path, requirement: str) -> bytes:
    """The autograder: setup.sh, run_autograder, its Python entry and the assignment (every variant)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, text: str, executable: bool = False) -> None:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)

        add("setup.sh", SETUP_SH.format(requirement=requirement), executable=True)
        add("run_autograder", RUN_AUTOGRADER, executable=True)
        add("run_autograder.py", RUN_PY)
        add("assignment/assignment.yaml", (assignment_folder / "assignment.yaml").read_text(encoding="utf-8"))
        from tutor.teach.assign import load_assignment

        for student in load_assignment(assignment_folder).students:
            # the variant only: the key and handouts stay with the instructor
            add(f"assignment/{student.id}/problem.yaml",
                (assignment_folder / student.id / "problem.yaml").read_text(encoding="utf-8"))
    return buffer.getvalue()
