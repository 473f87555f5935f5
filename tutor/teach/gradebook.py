"""Grading results as output: terminal tables, JSON, a gradebook CSV and a Markdown feedback file per student.

Folder grading reads every `*.yaml`/`*.yml` file of a folder (not recursively, sorted by name); the
student is the file name's stem, sanitised (`student_ids`). Everything written goes inside the `--out`
folder through `write_inside`: a temporary file in that folder renamed over the target, so a symlink
or hard link planted there is replaced, never followed. Nothing written depends on the time or the
machine: grading the same sheets against the same problem gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
import tempfile
import textwrap
import unicodedata
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence

from tutor.errors import UserError
from tutor.teach.sheets import clean
from tutor.teach.grader import Grader, KeyResult, SheetResult, _points_text, problem_title
from tutor.views.layout import Cell, Column, StyledLine, cell, paragraph, render_table
from tutor.trace.keys import UPDATE_KINDS
from tutor.views.text import number_formatter, update_text

GRADEBOOK = "gradebook.csv"
#: Longest answer shown as written in a terminal table (the feedback files show it whole).
TABLE_GIVEN = 11
SHEET_SUFFIXES = (".yaml", ".yml")
#: Longest student id (file names of feedback files are the id plus ".md").
MAX_ID = 64
#: Names Windows reserves for devices: a student id equal to one of these gets a leading underscore.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\Z")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")

_VERDICT_SHOWN = {"correct": "correct", "follow_through": "follow-through", "wrong": "wrong", "missing": "missing",
                  "invalid": "invalid"}
VERDICT_STYLES = {"correct": "green", "follow_through": "yellow", "wrong": "bold red", "missing": "dim",
                  "invalid": "magenta"}


# -- student ids and safe files --------------------------------------------------------------------------


def sanitise(stem: str) -> str:
    """A student id from a file stem: only A-Z a-z 0-9 . _ -, no leading dot or dash, at most MAX_ID long."""
    text = "".join(c for c in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(c))
    text = _UNSAFE_ID.sub("_", text).lstrip(".-")
    text = text[:MAX_ID].rstrip(".")
    if not text:
        return "student"
    if text.split(".")[0].upper() in _RESERVED:
        text = ("_" + text)[:MAX_ID]
    return text


def student_ids(stems: Sequence[str]) -> list[str]:
    """Sanitised ids for file stems, made unique (ignoring case, for case-insensitive file systems)."""
    used: set[str] = set()
    ids = []
    for stem in stems:
        base = sanitise(stem)
        candidate, n = base, 1
        while candidate.lower() in used:
            n += 1
            suffix = f"-{n}"
            candidate = base[:MAX_ID - len(suffix)] + suffix
        used.add(candidate.lower())
        ids.append(candidate)
    return ids


def list_sheets(folder: Path) -> list[Path]:
    """The answer sheets of a folder: its *.yaml and *.yml files, sorted by name (not recursive)."""
    return folder_entries(folder)[0]


def folder_entries(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """A folder's answer sheets (sorted by name, not recursive), and the entries it skips with why."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except PermissionError:
        raise UserError("permission denied reading the folder", source=str(folder)) from None
    except OSError as exc:
        raise UserError(f"cannot read the folder: {exc.strerror or exc}", source=str(folder)) from None
    sheets: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in entries:
        if path.name.startswith("."):
            continue  # hidden files (an editor's, the file system's) are nobody's submission
        if path.is_dir():
            skipped.append((path, "a folder; subfolders are not read"))
        elif path.suffix.lower() not in SHEET_SUFFIXES:
            skipped.append((path, "not .yaml/.yml"))
        elif not path.is_file():
            skipped.append((path, "not a regular file"))
        else:
            sheets.append(path)
    return sheets, skipped


def prepare_out(out: str | Path) -> Path:
    """The output folder, created if needed, as an absolute path with symlinks resolved."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError("exists and is not a folder", source=str(out)) from None
    except OSError as exc:
        raise UserError(f"cannot create the output folder: {exc.strerror or exc}", source=str(out)) from None
    if not path.is_dir():
        raise UserError("is not a folder", source=str(out))
    return path.resolve()


def write_inside(folder: Path, name: str, text: str) -> Path:
    """Write `text` to `folder/name`, never anywhere else.

    `name` must be a plain file name. The text goes to a temporary file in `folder` that is then
    renamed over the target: a symlink (or hard link) already at the target is replaced, not followed.
    """
    if not _SAFE_NAME.match(name):
        raise UserError(f"refusing to write the file name '{clean(name)}'", source=str(folder))
    target = folder / name
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".grading-", suffix=".part")
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes the file private; give it the usual permissions
            os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- numbers and cells ---------------------------------------------------------------------------------------


def csv_cell(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula: a risky first character gets a quote."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def markdown_text(text: str) -> str:
    """Untrusted text for Markdown: one line, control characters escaped, markup characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", clean(text)).replace("&", "&amp;")


def _number(value: float | None) -> float | None:
    """A number for JSON (null if missing or not finite)."""
    return value if value is not None and math.isfinite(value) else None


# -- one sheet as data ---------------------------------------------------------------------------------------


def _row_dict(r: KeyResult) -> dict:
    return {
        "key": r.key,
        "label": r.label,
        "given": _number(r.given),
        "written": r.judgement.answer.text,
        "expected": _number(r.expected),
        "verdict": r.verdict,
        "diagnosis": r.diagnosis.id if r.diagnosis else None,
        "explanation": r.diagnosis.explanation if r.diagnosis else None,
        "note": r.judgement.note,
        "follows_from": list(r.judgement.follows_from),
        "message": r.message,
        "points": r.points,
        "max_points": r.asked.points,
    }


def sheet_to_dict(result: SheetResult) -> dict:
    """One sheet's grade for programs (an LMS): every number at full precision; `work` holds the values
    written but not asked."""
    return {
        "student": result.student,
        "source": result.source,
        "results": [_row_dict(r) for r in result.results],
        "work": [_row_dict(r) for r in result.work],
        "score": result.score,
        "max_score": result.max_score,
        "problems": result.problems,
        "error": result.error,
        "status": result.status,
    }


def results_json(results: Sequence[SheetResult], folder: bool) -> str:
    """JSON for one sheet (an object) or a folder (a list with one object per student)."""
    data = [sheet_to_dict(r) for r in results] if folder else sheet_to_dict(results[0])
    return json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False) + "\n"


# -- notes shared by the terminal and the feedback files -------------------------------------------------


def expected_text(r: KeyResult, digits: int) -> str:
    """The true value as `solve` prints it: an update with its change showing (0.19999973, not 0.2, beside a
    student's 0.2000)."""
    q = r.asked.quantity
    old = q.parameter.value if q.kind in UPDATE_KINDS and q.parameter is not None else None
    if old is not None and old != r.expected:
        return update_text(r.expected, old, digits)
    return number_formatter(digits)(r.expected)


def notes(result: SheetResult, grader: Grader, fmt: Callable[[float], str]) -> list[tuple[KeyResult, str]]:
    """(row, note) for each row with something to say: a diagnosis, too few figures or a follow-through.

    Why a value is invalid is among the sheet's format problems, with its line.
    """
    out: list[tuple[KeyResult, str]] = []
    rows = result.rows()
    if not any(r.diagnosis is not None or r.judgement.note or r.verdict == "follow_through" for r in rows):
        return out
    own = {r.key: r for r in rows}
    credit = grader.settings.follow_through_credit
    for r in rows:
        if r.verdict == "wrong" and r.diagnosis is not None:
            note = f"{r.diagnosis.id}: {r.diagnosis.explanation}"
            out.append((r, note + (f"; {r.judgement.note}" if r.judgement.note else "")))
        elif r.verdict == "wrong" and r.judgement.note:
            out.append((r, r.judgement.note))
        elif r.verdict == "follow_through":
            used = []
            for key in r.judgement.follows_from:
                mine = own.get(key)
                label = grader.trace[key].label
                used.append(f"{label} = {mine.written(fmt)}" if mine is not None and mine.given is not None
                            else label)
            share = "" if credit == 1 or (r.work and not r.asked.points) else \
                f" (follow-through earns {credit:g} of the points)"
            out.append((r, f"consistent with your {', '.join(used)}{share}"))
    return out


def _cut(text: str, limit: int, unicode: bool) -> str:
    """An answer as written, its end cut off (never rounded) past `limit` characters to keep tables narrow."""
    if len(text) <= limit:
        return text
    return text[:limit - 1] + "…" if unicode else text[:limit - 3] + "..."


def _points_cell(r: KeyResult, weighted: bool) -> str:
    """The points a row earned; "work" for a value written but not asked that earns none."""
    if r.work and not r.asked.points:
        return "work"
    return _points_text(r.points) + (f"/{_points_text(r.asked.points)}" if weighted else "")


# -- one sheet on the terminal ---------------------------------------------------------------------------------


class SheetView:
    """One sheet's grade as styled lines to a sink: a table, notes, format problems and the score."""

    def __init__(self, sink, grader: Grader, digits: int = 6, plain: bool = False) -> None:
        self.sink = sink
        self.grader = grader
        self.fmt = number_formatter(digits)
        self.digits = digits
        self.plain = plain

    def style(self, name: str) -> str:
        return "" if self.plain else name

    def write(self, lines: list[StyledLine]) -> None:
        self.sink.write(lines)

    def text(self, text: str, style: str = "") -> None:
        self.write(paragraph(text, self.sink.width, style))

    def sheet(self, result: SheetResult) -> None:
        self.write([[(clean(result.source), self.style("bold"))]])  # a path is never wrapped
        self.text(f"{clean(problem_title(self.grader.trace))}: {self.grader.settings.describe()}", self.style("dim"))
        if result.error is not None:
            self.text(f"the whole sheet is invalid: {result.error}", self.style("magenta"))
            self.text(f"every asked quantity ({len(result.results)}) is graded invalid")
        else:
            self.table(result)
            self.notes(result)
            if result.problems:
                self.write([[]])
                self.text("format problems (not graded):", self.style("bold"))
                for problem_text in result.problems:
                    self.item(problem_text)
        self.write([[]])
        self.text(f"score: {_points_text(result.score)} / {_points_text(result.max_score)}", self.style("bold"))

    def table(self, result: SheetResult) -> None:
        weighted = any(r.asked.points != 1 for r in result.results)
        rows: list[list[Cell]] = []
        for r in result.rows():
            answer = r.judgement.answer
            arithmetic = answer.value is not None and answer.text is not None and answer.decimals is None
            given = self.fmt(answer.value) if arithmetic else _cut(r.written(self.fmt), TABLE_GIVEN, self.sink.unicode)
            given = given or "-"
            rows.append([cell(r.label), cell(r.key), cell(given), cell(expected_text(r, self.digits)),
                         cell((r.verdict, self.style(VERDICT_STYLES[r.verdict]))), cell(_points_cell(r, weighted))])
        columns = [Column("quantity"), Column("key"), Column("given", "right"), Column("expected", "right"),
                   Column("verdict"), Column("points", "right")]
        self.write([[]])
        self.write(render_table(columns, rows, self.sink.width, ascii_only=self.plain,
                                header_style=self.style("bold"), rule="─" if self.sink.unicode else "-"))
        if result.work and not result.work[0].asked.points:
            self.text("work: written but not asked, judged to show where a slip was; no points",
                      self.style("dim"))

    def notes(self, result: SheetResult) -> None:
        found = notes(result, self.grader, self.fmt)
        if not found:
            return
        self.write([[]])
        for r, note in found:
            self.item(f"{r.label} ({r.key}), {r.verdict}: {note}")

    def item(self, text: str, style: str = "") -> None:
        """One entry of a list, its continuation lines indented."""
        width = max(20, self.sink.width)
        lines = textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False) or [""]
        self.write([[(line, style)] for line in lines])


def folder_lines(results: Sequence[SheetResult], width: int = 80) -> list[str]:
    """One line per student: id, score and, for a sheet that could not be read, why (wrapped to `width`,
    its continuation lines indented)."""
    id_width = max((len(r.student) for r in results), default=0)
    lines = []
    for r in results:
        line = f"{r.student.ljust(id_width)}  {_points_text(r.score):>6} / {_points_text(r.max_score)}"
        if r.error is not None:
            line += f"  (invalid sheet: {r.error})"
        elif r.problems:
            line += f"  ({_count(len(r.problems), 'format problem')})"
        lines += _wrap(line, width)
    return lines


def _wrap(text: str, width: int) -> list[str]:
    """A line wrapped to `width` columns, continuation lines indented by four (a path is never cut)."""
    return textwrap.wrap(text, max(20, width), subsequent_indent="    ", break_on_hyphens=False,
                         break_long_words=False) or [""]


# -- summary -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    students: int
    invalid_sheets: int
    mean: float
    max_score: float
    diagnoses: list[tuple[str, int, int]]  # id, answers, students

    def lines(self, width: int = 80) -> list[str]:
        """The summary, each line wrapped to `width` columns."""
        if not self.students:
            return ["no answer sheets"]
        share = f" ({100 * self.mean / self.max_score:.1f}%)" if self.max_score else ""
        invalid = f" ({_count(self.invalid_sheets, 'invalid sheet')})" if self.invalid_sheets else ""
        lines = [f"students: {self.students}{invalid}",
                 f"mean score: {_mean_text(self.mean)} / {_points_text(self.max_score)}{share}"]
        if self.diagnoses:
            lines.append("most common mistakes:")
            for d, n, s in self.diagnoses:
                lines += _wrap(f"  {d} ({_count(n, 'answer')}, {_count(s, 'student')})", width)
        return lines


def _mean_text(value: float) -> str:
    """A mean of points at a precision worth reading: 29.14, not 29.142857."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summarise(results: Sequence[SheetResult], top: int = 5) -> Summary:
    answers: Counter[str] = Counter()
    students: Counter[str] = Counter()
    for result in results:
        ids = [r.diagnosis.id for r in result.rows() if r.diagnosis is not None]
        answers.update(ids)
        students.update(set(ids))
    ranked = sorted(answers, key=lambda d: (-answers[d], -students[d], d))[:top]
    mean = sum(r.score for r in results) / len(results) if results else 0.0
    return Summary(len(results), sum(r.error is not None for r in results), round(mean, 6),
                   results[0].max_score if results else 0.0, [(d, answers[d], students[d]) for d in ranked])


# -- files -----------------------------------------------------------------------------------------------------


def gradebook_csv(results: Sequence[SheetResult], grader: Grader) -> str:
    """student, one column per asked key (points earned), total, max, status (ok, unreadable or empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in ["student", *(a.key for a in grader.asked), "total", "max", "status"]])
    for result in results:
        writer.writerow([csv_cell(result.student), *(_points_text(r.points) for r in result.results),
                         _points_text(result.score), _points_text(result.max_score), result.status])
    return buffer.getvalue()


def feedback_markdown(result: SheetResult, grader: Grader, digits: int = 6, reveal: bool = False) -> str:
    """A student's feedback: their table (the expected values only with `reveal`), notes and format problems."""
    fmt = number_formatter(digits)
    problem = grader.trace.problem
    out = [f"# Feedback: {markdown_text(result.student)}", "",
           f"- problem: {markdown_text(problem_title(grader.trace))} (hash `{problem.content_hash or '-'}`)",
           f"- sheet: {markdown_text(Path(result.source).name)}",
           f"- graded {markdown_text(grader.settings.describe())}",
           f"- score: **{_points_text(result.score)} / {_points_text(result.max_score)}**", ""]
    if result.error is not None:
        out += ["The sheet could not be read, so every asked quantity is graded invalid:", "",
                f"> {markdown_text(result.error)}", ""]
        return "\n".join(out)
    header = ["key", "quantity", "given", *(["expected"] if reveal else []), "verdict", "points"]
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in result.rows():
        given = markdown_text(r.written(fmt))
        expected = f"{expected_text(r, digits)} | " if reveal else ""
        points = "work (not asked)" if r.work and not r.asked.points else \
            f"{_points_text(r.points)} / {_points_text(r.asked.points)}"
        out.append(f"{_row_start(r.key, r.label)}{given} | {expected}{_VERDICT_SHOWN[r.verdict]} | {points} |")
    found = notes(result, grader, fmt)
    if found:
        out += ["", "## Notes", ""]
        out += [f"- {markdown_text(r.label)} (`{r.key}`), {_VERDICT_SHOWN[r.verdict]}: {markdown_text(note)}"
                for r, note in found]
    if result.problems:
        out += ["", "## Format problems (not graded)", ""]
        out += [f"- {markdown_text(p)}" for p in result.problems]
    return "\n".join(out) + "\n"


@lru_cache(maxsize=4096)
def _row_start(key: str, label: str) -> str:
    """The start of a feedback row: the same for every student."""
    return f"| `{key}` | {markdown_text(label)} | "


def check_out(out: str | Path, students: Sequence[str], force: bool) -> None:
    """Refuse (a `UserError`) to overwrite results already in `out` (the gradebook or a student's feedback
    file) without `force`."""
    folder = Path(out)
    if force or not folder.is_dir():
        return
    names = [GRADEBOOK, *(f"{student}.md" for student in students)]
    there = [name for name in names if os.path.lexists(folder / name)]
    if there:
        more = f" and {_count(len(there) - 1, 'other file')}" if len(there) > 1 else ""
        raise UserError(f"already holds results ({clean(there[0])}{more}); add --force to overwrite them",
                        source=str(out))


def write_results(out: str | Path, results: Sequence[SheetResult], grader: Grader, *, digits: int = 6,
                  reveal: bool = False) -> tuple[Path, list[Path]]:
    """gradebook.csv and one <student>.md per sheet inside `out`; returns the folder and the files written."""
    folder = prepare_out(out)
    written = [write_inside(folder, GRADEBOOK, gradebook_csv(results, grader))]
    for result in results:
        written.append(write_inside(folder, f"{result.student}.md",
                                    feedback_markdown(result, grader, digits, reveal)))
    return folder, written


# -- folders --------------------------------------------------------------------------------------------------


@contextmanager
def progress_bar(total: int, enabled: bool, stream: IO[str] | None = None) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal (rich, imported only here); elsewhere a no-op."""
    if not enabled or total < 2:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=stream or sys.stderr)
    with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("grading", total=total)
        yield lambda: progress.advance(task)


def wants_progress(stream: IO[str]) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def grade_folder(grader: Grader, folder: Path, *, progress: bool = False,
                 paths: Sequence[Path] | None = None) -> list[SheetResult]:
    """Grade every sheet of a folder (or `paths`, its sheets); a sheet that cannot be read is graded invalid,
    the rest go on."""
    paths = list_sheets(folder) if paths is None else list(paths)
    if not paths:
        raise UserError("no answer sheets (*.yaml, *.yml) in this folder", source=str(folder))
    results = []
    with progress_bar(len(paths), progress) as advance:
        for path, student in zip(paths, student_ids([p.stem for p in paths])):
            results.append(grader.grade_file(path, student))
            advance()
    return results


# -- the `grade` command ------------------------------------------------------------------------------------


def grade_command(problem_name: str, target: str, *, out: str | None = None, output: str = "text", digits: int = 6,
                  mode: str | None = None, relative: float | None = None, absolute: float | None = None,
                  follow_through_credit: float | None = None, reveal: bool = False, min_figures: int | None = None,
                  only: str | None = None, step: int | None = None, decimals: int | None = None,
                  score_work: bool | None = None, force: bool = False) -> None:
    """`backprop-tutor grade`: grade one sheet or a folder, print the result, write files with `out` (results
    already there only with `force`); `step`: against step K of the run (as `solve --show-step K`)."""
    from tutor.teach.grader import settings_for
    from tutor.solver import open_problem
    from tutor.views.output import output_width

    stdout, stderr = sys.stdout, sys.stderr
    trace = open_problem(problem_name, step)
    problem = trace.problem
    settings = settings_for(problem, mode=mode, relative=relative, absolute=absolute,
                            follow_through_credit=follow_through_credit, min_figures=min_figures,
                            decimals=decimals, score_work=score_work)
    path = Path(target)
    if not path.exists():
        raise UserError("no such answer sheet or folder", source=target)
    from tutor.trace.keys import split_keys

    grader = Grader(trace, settings, only=split_keys(only) if only is not None else None)
    folder = path.is_dir()
    if folder:
        paths, skipped = folder_entries(path)
        if paths and out is not None:
            check_out(out, student_ids([p.stem for p in paths]), force)
        results = grade_folder(grader, path, progress=wants_progress(stderr), paths=paths)
        columns = output_width(stderr)
        for entry, why in skipped:
            stderr.write("".join(line + "\n" for line in _wrap(f"skipped: {clean(entry.name)} ({why})", columns)))
        for result in results:
            if result.error is not None:
                warning = f"warning: {clean(result.source)}: {result.error} (every asked key graded invalid)"
                stderr.write("".join(line + "\n" for line in _wrap(warning, columns)))
    else:
        results = [grader.grade_file(path, sanitise(path.stem))]
        if out is not None:
            check_out(out, [results[0].student], force)
    written: list[Path] = []
    if out is not None:
        where, written = write_results(out, results, grader, digits=digits, reveal=reveal)
    if output == "json":
        stdout.write(results_json(results, folder))
    elif folder:
        width = output_width(stdout)
        lines = [*folder_lines(results, width), "", *summarise(results).lines(width)]
        stdout.write("".join(line + "\n" for line in lines))
    else:
        from tutor.views.output import make_sink

        plain = output == "plain"
        SheetView(make_sink(stdout, plain=plain), grader, digits, plain).sheet(results[0])
    if written:
        feedback = len(written) - 1
        stderr.write(f"wrote {GRADEBOOK} and {feedback} feedback file{'s' if feedback != 1 else ''} to {where}\n")
