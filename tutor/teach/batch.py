"""Grading beyond one problem and the terminal: an assignment folder (each sheet against its own student's
variant), Gradescope's results.json, and the gradebook's long form (a row per student and key).

The grader's public results (`SheetResult`, `KeyResult`) are all this reads; terminal lines, JSON, the
gradebook CSV and feedback files are the gradebook's own.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tutor.errors import UserError
from tutor.problem.yaml_safe import read_text
from tutor.teach.grader import Grader, SheetResult, _points_text
from tutor.teach.sheets import SHEET_MAX_BYTES, clean

LONG_GRADEBOOK = "gradebook-long.csv"
LONG_COLUMNS = ["student", "key", "given", "expected", "verdict", "diagnosis", "points"]


@dataclass
class Graded:
    """Sheets graded, each with the grader (the variant) it was graded against, and sheets of nobody known."""

    results: list[SheetResult] = field(default_factory=list)
    graders: list[Grader] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    folder: bool = True
    #: Sheets whose values are another student's (see `regrade_copies`), as warnings.
    copies: list[str] = field(default_factory=list)
    #: Entries of the folder that are not sheets, with why.
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Judging:
    """The command line's judging options (None: the problem's grading section)."""

    mode: str | None = None
    relative: float | None = None
    absolute: float | None = None
    follow_through_credit: float | None = None
    min_figures: int | None = None
    only: str | None = None
    step: int | None = None
    decimals: int | None = None
    score_work: bool | None = None


def make_grader(problem, judging: Judging) -> Grader:
    """A grader for a problem (a file, a bundled name) with the command line's options."""
    from tutor.solver import open_problem
    from tutor.teach.grader import settings_for
    from tutor.trace.keys import split_keys

    trace = open_problem(problem, judging.step)
    settings = settings_for(trace.problem, mode=judging.mode, relative=judging.relative, absolute=judging.absolute,
                            follow_through_credit=judging.follow_through_credit, min_figures=judging.min_figures,
                            decimals=judging.decimals, score_work=judging.score_work)
    return Grader(trace, settings, only=split_keys(judging.only) if judging.only is not None else None)


def student_grader(assignment, student_id: str, judging: Judging | None = None) -> Grader:
    return make_grader(assignment.problem_path(student_id), judging or Judging())


def _sheets(target: Path, graded: Graded) -> list[Path]:
    """The sheet, or a folder's sheets (its other entries noted in `graded.skipped`)."""
    from tutor.teach.gradebook import folder_entries

    if not target.exists():
        raise UserError("no such answer sheet or folder", source=str(target))
    if not target.is_dir():
        return [target]
    sheets, skipped = folder_entries(target)
    if not sheets:
        raise UserError("no answer sheets (*.yaml, *.yml) in this folder", source=str(target))
    graded.skipped += [f"{clean(entry.name)} ({why})" for entry, why in skipped]
    return sheets


def grade_assignment(folder: str | Path, target: str | Path, judging: Judging) -> Graded:
    """Each sheet graded against the variant of its student: by its `id:` line, else its file name."""
    from tutor.teach.assign import load_assignment, sheet_id, without_id_line
    from tutor.teach.gradebook import sanitise

    assignment = load_assignment(folder)
    known = assignment.by_id()
    graded = Graded(folder=Path(target).is_dir())
    graders: dict[str, Grader] = {}
    seen: dict[str, str] = {}
    for path in _sheets(Path(target), graded):
        try:
            text = read_text(path, max_bytes=SHEET_MAX_BYTES, what="answer sheet")
        except UserError as exc:
            graded.unknown.append(f"{clean(str(path))}: {clean(exc.message)} (not graded)")
            continue
        student = sheet_id(text) or sanitise(path.stem)
        if student not in known:
            graded.unknown.append(f"{clean(str(path))}: no student '{student}' in the assignment (the sheet's id: "
                                  "line, else its file name, names the student); not graded")
            continue
        if student in seen:
            graded.unknown.append(f"{clean(str(path))}: a second sheet of '{student}' (first: {seen[student]}); "
                                  "not graded")
            continue
        seen[student] = clean(str(path))
        if student not in graders:
            graders[student] = student_grader(assignment, student, judging)
        grader = graders[student]
        graded.results.append(grader.grade_text(without_id_line(text), source=str(path), student=student))
        graded.graders.append(grader)
    regrade_copies(graded, assignment, graders, judging)
    return graded


def _correct(result: SheetResult) -> int:
    return sum(r.verdict == "correct" for r in result.results)


def regrade_copies(graded: Graded, assignment, graders: dict[str, Grader], judging: Judging) -> None:
    """A sheet whose values are right for another student's variant (more of them than for its own, and at
    least half) did not slip: its wrong values are that student's numbers, so nothing of it follows through.
    It is graded again without follow-through credit, and named in a warning.

    Every variant's true values are compared with the sheet's at once (a loose first look, numpy); only the
    closest variant is then graded in full, so a class of hundreds takes moments."""
    from dataclasses import replace

    import numpy as np

    table: tuple[list[str], np.ndarray] | None = None
    for n, result in enumerate(graded.results):
        if result.error is not None or result.score == result.max_score:
            continue
        if table is None:
            table = _true_values(assignment, graders, judging, [r.key for r in result.results])
        ids, truth = table
        given = np.array([np.nan if r.given is None else r.given for r in result.results])
        near = np.isclose(truth, given, rtol=5e-3, atol=5e-4).sum(axis=1)
        own = _correct(result)
        best: tuple[int, str] | None = None
        answers = {r.key: r.judgement.answer for r in result.results}
        for row in np.argsort(-near, kind="stable")[:3]:
            other = ids[row]
            if other == result.student or 2 * near[row] < len(result.results):
                continue
            theirs = _correct(graders[other].grade_answers(answers))
            if theirs > own and 2 * theirs >= len(result.results) and (best is None or theirs > best[0]):
                best = (theirs, other)
        if best is None:
            continue
        grader = graded.graders[n]
        strict = Grader(grader.trace, replace(grader.settings, follow_through_credit=0.0),
                        only=[a.key for a in grader.asked] if grader.narrowed else None)
        graded.results[n] = strict.grade_answers(answers, source=result.source, student=result.student,
                                                 problems=result.problems)
        graded.graders[n] = strict
        graded.copies.append(f"{clean(result.source)}: {best[0]} of {len(result.results)} values are right for "
                             f"{best[1]}'s variant, {own} for {result.student}'s own; graded without "
                             "follow-through credit")


def _true_values(assignment, graders: dict[str, Grader], judging: Judging, keys: list[str]):
    """(student ids, their variants' true values of `keys`, a row per student; NaN where a variant lacks one)."""
    import numpy as np

    ids = [s.id for s in assignment.students]
    rows = []
    for student in ids:
        if student not in graders:
            graders[student] = student_grader(assignment, student, judging)
        trace = graders[student].trace
        rows.append([trace[key].value if key in trace else np.nan for key in keys])
    return ids, np.array(rows, dtype=float)


def grade_problem(problem: str, target: str | Path, judging: Judging) -> Graded:
    """Sheets graded against one problem (as `grade` does), for the outputs of this module."""
    from tutor.teach.gradebook import sanitise, student_ids

    grader = make_grader(problem, judging)
    graded = Graded(folder=Path(target).is_dir())
    paths = _sheets(Path(target), graded)
    ids = student_ids([p.stem for p in paths]) if graded.folder else [sanitise(paths[0].stem)]
    graded.results = [grader.grade_file(path, student) for path, student in zip(paths, ids)]
    graded.graders = [grader] * len(graded.results)
    return graded


# -- outputs ----------------------------------------------------------------------------------------------------


def long_csv(graded: Graded, digits: int = 17) -> str:
    """The gradebook's long form: a row per student and asked key (given, expected, verdict, diagnosis,
    points); numbers at full precision unless `digits`."""
    from tutor.teach.gradebook import csv_cell
    from tutor.views.text import number_formatter

    fmt = number_formatter(digits)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LONG_COLUMNS)
    for result in graded.results:
        for r in result.rows():  # the asked values and the work written beside them, in solution order
            given = fmt(r.given) if r.given is not None else (r.text or "")
            diagnosis = r.diagnosis.id if r.diagnosis is not None else ""
            writer.writerow([csv_cell(result.student), r.key, csv_cell(given), fmt(r.expected), r.verdict,
                             diagnosis, _points_text(r.points)])
    return buffer.getvalue()


def report(graded: Graded, *, out: str | None, output: str, digits: int, reveal: bool, long: bool,
           force: bool = False) -> None:
    """Print the grades (text, json, gradescope, or the long CSV) and write files into `out` (over results
    already there only with `force`)."""
    from tutor.teach import gradebook
    from tutor.views.output import output_width

    stdout, stderr = sys.stdout, sys.stderr
    for line in graded.skipped:
        stderr.write(f"skipped: {line}\n")
    for line in [*graded.unknown, *graded.copies]:
        stderr.write(f"warning: {line}\n")
    for result in graded.results:
        if result.error is not None:
            stderr.write(f"warning: {clean(result.source)}: {result.error} (every asked key graded invalid)\n")
    if not graded.results:
        raise UserError("no sheet could be matched to a student of the assignment")
    if out is not None:
        gradebook.check_out(out, [r.student for r in graded.results], force)
        if long and not force and (Path(out) / LONG_GRADEBOOK).exists():
            raise UserError(f"already holds results ({LONG_GRADEBOOK}); add --force to overwrite them", source=out)
        folder = gradebook.prepare_out(out)
        gradebook.write_inside(folder, gradebook.GRADEBOOK, gradebook.gradebook_csv(graded.results, graded.graders[0]))
        if long:
            gradebook.write_inside(folder, LONG_GRADEBOOK, long_csv(graded))
        for result, grader in zip(graded.results, graded.graders):
            gradebook.write_inside(folder, f"{result.student}.md",
                                   gradebook.feedback_markdown(result, grader, digits, reveal))
        feedback = len(graded.results)
        tables = gradebook.GRADEBOOK + (f", {LONG_GRADEBOOK}" if long else "")
        stderr.write(f"wrote {tables} and {feedback} feedback file{'s' if feedback != 1 else ''} to {folder}\n")
    if output == "gradescope":
        if len(graded.results) != 1:
            raise UserError("--format gradescope writes the results of one sheet (Gradescope grades each "
                            "submission on its own); give one sheet, or use `export gradescope`")
        from tutor.teach.export.gradescope import results_json

        stdout.write(results_json(graded.results[0], graded.graders[0], digits=digits, reveal=reveal))
    elif long and out is None:
        stdout.write(long_csv(graded))
    elif output == "json":
        stdout.write(gradebook.results_json(graded.results, graded.folder))
    elif graded.folder or len(graded.results) > 1:
        width = output_width(stdout)
        lines = [*gradebook.folder_lines(graded.results, width), "",
                 *gradebook.summarise(graded.results).lines(width)]
        stdout.write("".join(line + "\n" for line in lines))
    else:
        from tutor.views.output import make_sink

        plain = output == "plain"
        gradebook.SheetView(make_sink(stdout, plain=plain), graded.graders[0], digits, plain).sheet(graded.results[0])
