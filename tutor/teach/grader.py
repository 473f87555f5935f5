"""Grading answer sheets: every asked value checked against the engine, with follow-through and diagnosis.

A problem file says what is asked (`ask:`, default every quantity at one point) and how it is judged
(`grading:`); `Grader` holds one trace and one `Judge` for a problem and grades any number of sheets
with them. A sheet is a YAML mapping of key (or display label) to number; it is untrusted, so it is
composed once with the safe loader and only its top-level scalars are ever read (nothing is built from
tags, nested lists or aliases). A sheet that cannot be read at all (not YAML, not a mapping, too big, a
hostile tag, an alias bomb) is `invalid` as a whole; a bad value, a duplicate or an unknown key is a
format problem of that key only.

Verdicts (from `tutor.teach.judge`) and points: `correct` earns the key's points, `follow_through` the
follow-through credit times the points, `wrong`, `missing` and `invalid` nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from tutor.teach.sheets import SHEET_MAX_BYTES, Sheet, SheetReader, clean, read_sheet, short
from tutor.errors import ProblemError, UserError
from tutor.teach.judge import (DEFAULT_ABSOLUTE, DEFAULT_MIN_FIGURES, DEFAULT_MODE, DEFAULT_RELATIVE, Answer, Judge,
                               Judgement, Tolerance)
from tutor.teach.mistakes import Mistake
from tutor.problem.validated import TOLERANCE_MODES, Problem
from tutor.trace.trace import Quantity, Trace, describe
from tutor.problem.yaml_safe import locate, locate_key, read_text

DEFAULT_FOLLOW_THROUGH_CREDIT = 1.0
# -- settings and what is asked --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How answers are judged: the tolerance, and the share of points a follow-through earns."""

    tolerance: Tolerance = field(default_factory=Tolerance)
    follow_through_credit: float = DEFAULT_FOLLOW_THROUGH_CREDIT
    #: Values written but not asked (work) earn points like asked ones; else they are judged, without points.
    score_work: bool = False

    def describe(self) -> str:
        work = "; work not asked scored" if self.score_work else ""
        return f"tolerance {self.tolerance.describe()}; follow-through credit {self.follow_through_credit:g}{work}"


def settings_for(problem: Problem, *, mode: str | None = None, relative: float | None = None,
                 absolute: float | None = None, follow_through_credit: float | None = None,
                 min_figures: int | None = None, decimals: int | None = None,
                 score_work: bool | None = None) -> Settings:
    """The problem file's `grading:` settings, each overridden by the command line where given.

    `grade` and `quiz` both judge with these, so a problem is judged the same way by either. The decimals
    policy (`decimals`) replaces the minimum of significant figures, and works in the precision mode only.
    """
    grading = problem.grading

    def pick(override, from_file, default):
        return override if override is not None else from_file if from_file is not None else default

    mode = pick(mode, grading.mode, DEFAULT_MODE)
    places = pick(decimals, grading.decimals, None)
    if decimals is not None and min_figures is not None:
        raise UserError("--decimals replaces the minimum of significant figures; give --decimals or "
                        "--min-figures, not both")
    figures = pick(min_figures, grading.min_figures if places is None else None, DEFAULT_MIN_FIGURES)
    if min_figures is not None or (mode != "precision" and decimals is None):
        places = None  # the command line's figures or loose mode win over the file's decimals
    if not 1 <= figures <= 15:
        raise UserError(f"the minimum number of significant figures must be from 1 to 15, got {figures}")
    if mode not in TOLERANCE_MODES:
        raise UserError(f"unknown tolerance mode '{mode}' (choose from {', '.join(TOLERANCE_MODES)})")
    if places is not None and not 0 <= places <= 15:
        raise UserError(f"the decimal places must be from 0 to 15, got {places}")
    if places is not None and mode != "precision":
        raise UserError(f"decimals judges answers to decimal places; it cannot be combined with the tolerance mode "
                        f"'{mode}'")
    values = {"relative": pick(relative, grading.relative, DEFAULT_RELATIVE),
              "absolute": pick(absolute, grading.absolute, DEFAULT_ABSOLUTE),
              "follow-through credit": pick(follow_through_credit, grading.follow_through_credit,
                                            DEFAULT_FOLLOW_THROUGH_CREDIT)}
    for name, value in values.items():
        if not math.isfinite(value) or value < 0:
            raise UserError(f"the {name} must be a finite number >= 0, got {value:g}")
    if values["follow-through credit"] > 1:
        raise UserError(f"the follow-through credit is a share of the points, from 0 to 1; got "
                        f"{values['follow-through credit']:g}")
    return Settings(Tolerance(relative=values["relative"], absolute=values["absolute"], mode=mode,
                              min_figures=figures, decimals=places),
                    values["follow-through credit"], bool(pick(score_work, grading.score_work, False)))


@dataclass(frozen=True)
class Asked:
    """One quantity students must answer, and its points (a whole number of points is stored as such)."""

    quantity: Quantity
    points: float = 1.0
    key: str = field(init=False, repr=False)
    label: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.quantity.key)
        object.__setattr__(self, "label", self.quantity.label)


def asked_quantities(trace: Trace) -> list[Asked]:
    """What the problem asks, in solution order: its `ask:` section, or every quantity at one point.

    A name in `ask:` that the problem does not have (or two names for one quantity) is a `ProblemError`
    located in the problem file.
    """
    problem = trace.problem
    if problem.ask is None:
        return [Asked(q) for q in trace.quantities]
    chosen: dict[str, tuple[str, float]] = {}
    for index, (name, points) in enumerate(problem.ask):
        try:
            key = trace.resolve(name)
        except UserError as exc:
            raise _ask_error(problem, index, name, exc.message) from None
        if key in chosen:
            raise _ask_error(problem, index, name, f"'{name}' and '{chosen[key][0]}' are the same quantity ({key}); "
                                                   "list it once")
        chosen[key] = (name, points)
    return [Asked(q, _tidy(chosen[q.key][1])) for q in trace.quantities if q.key in chosen]


def in_ask_order(trace: Trace, asked: Sequence[Asked]) -> list[Asked]:
    """`asked` in the order the problem's `ask:` section lists them (the exercise's order, for a sheet a
    student fills in); solution order without an `ask:` section."""
    if trace.problem.ask is None:
        return list(asked)
    position = {trace.resolve(name): index for index, (name, _points) in enumerate(trace.problem.ask)}
    return sorted(asked, key=lambda a: position.get(a.key, len(position)))


def _ask_error(problem: Problem, index: int, name: str, message: str) -> ProblemError:
    """A mistake in the problem's `ask:` section, located in its file when the file can be read again."""
    line = column = None
    field_name = f"ask[{index}]"
    if problem.path:
        try:
            text = read_text(problem.path, what="problem file")
        except UserError:
            text = None
        if text is not None:
            position = locate_key(text, ["ask"], name)
            if position is not None:
                field_name = f"ask.{name}"
            else:
                position = locate(text, ["ask", index])
            line, column = position if position else (None, None)
    return ProblemError(message, source=problem.path or problem.name, line=line, column=column, field=field_name)


def select(asked: Sequence[Asked], trace: Trace, names: Iterable[str]) -> list[Asked]:
    """The asked quantities named (keys or labels), in solution order; a name not asked is a `UserError`."""
    names = list(names)
    if not names:
        raise UserError("--only needs at least one key")
    by_key = {a.key: a for a in asked}
    wanted: set[str] = set()
    for name in names:
        key = trace.resolve(name)
        if key not in by_key:
            raise UserError(f"'{name}' ({key}) is not asked in this problem (see its ask: section)")
        wanted.add(key)
    return [a for a in asked if a.key in wanted]


# -- results -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class KeyResult:
    """The grade of one asked key."""

    asked: Asked
    judgement: Judgement
    points: float
    line: int | None = None  # where the sheet gives it
    work: bool = False  # written but not asked: judged as the student's work (points only with score_work)
    key: str = field(init=False)
    label: str = field(init=False)
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        self.key, self.label, self.verdict = self.asked.key, self.asked.label, self.judgement.verdict

    @property
    def given(self) -> float | None:
        return self.judgement.answer.value

    @property
    def expected(self) -> float:
        return self.judgement.expected

    @property
    def diagnosis(self) -> Mistake | None:
        return self.judgement.diagnosis

    @property
    def message(self) -> str | None:
        """Why an invalid value is not a number."""
        return self.judgement.answer.error

    @property
    def text(self) -> str | None:
        """The value as typed (shortened), for invalid answers."""
        text = self.judgement.answer.text
        return None if text is None else short(clean(text))

    def written(self, fmt: Callable[[float], str]) -> str:
        """The answer as the student wrote it (arithmetic with its value); "" when nothing was given."""
        answer = self.judgement.answer
        if answer.value is None:
            return self.text or "" if self.verdict == "invalid" else ""
        if answer.text is None:
            return fmt(answer.value)
        text = short(clean(answer.text))
        return text if answer.decimals is not None else f"{text} = {fmt(answer.value)}"


@dataclass
class SheetResult:
    """The grade of one sheet."""

    source: str
    student: str
    results: list[KeyResult]
    problems: list[str] = field(default_factory=list)  # format problems, each prefixed with its line
    error: str | None = None  # why the whole sheet is invalid
    work: list[KeyResult] = field(default_factory=list)  # values written but not asked, in solution order
    solution_order: tuple[str, ...] = ()  # every key of the trace in solution order (to merge the work in)

    @property
    def score(self) -> float:
        return _tidy(sum(r.points for r in self.results) + sum(r.points for r in self.work))

    @property
    def max_score(self) -> float:
        return _tidy(sum(r.asked.points for r in self.results) + sum(r.asked.points for r in self.work))

    def verdicts(self) -> dict[str, str]:
        return {r.key: r.verdict for r in self.results}

    def rows(self) -> list[KeyResult]:
        """The asked values and the work, in solution order."""
        if not self.work:
            return self.results
        order = {key: n for n, key in enumerate(self.solution_order)}
        return sorted([*self.results, *self.work], key=lambda r: order.get(r.key, len(order)))

    @property
    def status(self) -> str:
        """ok; format problems: N; unreadable (the whole sheet could not be read); empty (not one asked value
        given)."""
        if self.error is not None:
            return "unreadable"
        if all(r.verdict == "missing" for r in self.results):
            return "empty"
        return f"format problems: {len(self.problems)}" if self.problems else "ok"


# -- the grader ----------------------------------------------------------------------------------------------


class Grader:
    """Grades sheets for one problem: the trace, the judge and the name lookup are built once."""

    def __init__(self, trace: Trace, settings: Settings | None = None, asked: Sequence[Asked] | None = None,
                 only: Iterable[str] | None = None) -> None:
        """`only` (keys or labels): grade just these of the asked quantities; the sheet's other asked values
        are still read, and still count for follow-through."""
        self.trace = trace
        self.settings = settings or settings_for(trace.problem)
        every = list(asked) if asked is not None else asked_quantities(trace)
        self.asked = select(every, trace, only) if only is not None else every
        self.asked_keys = frozenset(a.key for a in self.asked)
        self.every_asked = frozenset(a.key for a in every)
        self.narrowed = only is not None  # with --only, the rest of the sheet only feeds follow-through
        self.judge = Judge(trace, self.settings.tolerance)
        self.solution_order = tuple(trace.keys())
        self.reader = SheetReader(trace)  # every value on the sheet is the student's work

    @property
    def max_score(self) -> float:
        return _tidy(sum(a.points for a in self.asked))

    # -- whole sheets ------------------------------------------------------------------------------

    def grade_file(self, path: str | Path, student: str | None = None) -> SheetResult:
        """Grade a sheet file; one that cannot be read is invalid as a whole (never an exception)."""
        student = student if student is not None else Path(path).stem
        return self._grade(lambda: self.read(read_text(path, max_bytes=SHEET_MAX_BYTES, what="answer sheet"),
                                             str(path)), str(path), student)

    def grade_text(self, text: str, *, source: str = "<sheet>", student: str = "student") -> SheetResult:
        return self._grade(lambda: self.read(text, source), source, student)

    def read(self, text: str, source: str) -> Sheet:
        """A sheet's answers (a malformed line spoils only its own key)."""
        return read_sheet(self.reader, text, source)

    def _grade(self, read, source: str, student: str) -> SheetResult:
        try:
            sheet = read()
        except UserError as exc:
            where = f"line {exc.line}: " if exc.line is not None else ""
            return self.invalid_sheet(source, student, where + clean(exc.message))
        return self.grade_answers(sheet.answers, source=source, student=student, lines=sheet.lines,
                                  problems=sheet.problems)

    def invalid_sheet(self, source: str, student: str, message: str) -> SheetResult:
        results = [KeyResult(a, Judgement(a.key, "invalid", a.quantity.value, Answer(a.key, error=message)), 0.0)
                   for a in self.asked]
        return SheetResult(source, student, results, [message], message)

    def grade_answers(self, answers: Mapping[str, Answer], *, source: str = "<sheet>", student: str = "student",
                      lines: Mapping[str, int] | None = None, problems: Sequence[str] = ()) -> SheetResult:
        """Judge answers (by key) to the asked quantities and award points; every value on the sheet is the
        student's world (follow-through), and the values written but not asked are judged as their work."""
        answers = {k: a for k, a in answers.items() if k in self.judge.order}
        work_keys = set() if self.narrowed else {k for k, a in answers.items()
                                                 if k not in self.every_asked and (a.given or a.error is not None)}
        judgements = {j.key: j for j in self.judge.judge(answers, self.asked_keys | work_keys)}
        lines = lines or {}
        results = [self._result(asked, judgements[asked.key], lines) for asked in self.asked]
        work_points = 1.0 if self.settings.score_work else 0.0
        work = [self._result(Asked(q, work_points), judgements[q.key], lines, work=True)
                for q in self.trace.quantities if q.key in work_keys]
        return SheetResult(source, student, results, list(problems), work=work,
                           solution_order=self.solution_order)

    def _result(self, asked: Asked, judgement: Judgement, lines: Mapping[str, int], work: bool = False
                ) -> KeyResult:
        """The points a judgement earns: all for correct, the follow-through credit's share for a
        follow-through, none otherwise."""
        if judgement.verdict == "correct":
            points = asked.points
        elif judgement.verdict == "follow_through":
            points = _tidy(asked.points * self.settings.follow_through_credit)
        else:
            points = 0.0
        return KeyResult(asked, judgement, points, lines.get(asked.key), work)


# -- blank sheets --------------------------------------------------------------------------------------------


def template_text(trace: Trace, asked: Sequence[Asked]) -> str:
    """A blank answer sheet: one `key:` line per asked quantity, each with a comment in the problem's notation."""
    problem = trace.problem
    width = max((len(a.key) for a in asked), default=0) + 1
    lines = [
        f"# Answer sheet: {_one_line(problem_title(trace))} (problem {problem.content_hash or 'file'})"
        + (f"; grade it with --step {trace.shown}" if trace.shown > 1 else ""),
        "# Write a number (or arithmetic such as 0.5 - 0.5*0.082167) after each key; leave blank what you skip.",
        "# The label after '#' may be written instead of the key.",
    ]
    for a in asked:
        points = "" if a.points == 1 else f" [{_points_text(a.points)} points]"
        label = f"{a.label} : " if a.label != a.key else ""
        lines.append(f"{(a.key + ':').ljust(width)}   # {label}{describe(trace, a.quantity)}{points}")
    return "\n".join(lines) + "\n"


# -- small helpers -----------------------------------------------------------------------------------------


def _tidy(value: float) -> float:
    """Points without float noise (0.1 + 0.2 is 0.3), and whole numbers as such."""
    value = round(value, 9) + 0.0
    return float(int(value)) if value.is_integer() else value


@lru_cache(maxsize=1024)
def _points_text(value: float) -> str:
    return f"{_tidy(value):.6f}".rstrip("0").rstrip(".")


def problem_title(trace: Trace) -> str:
    """The problem's name, with ", step K" for a later step of a run (`--step K`): sheets, grades and quiz
    sessions say which step they are about."""
    name = trace.problem.name or "unnamed"
    return f"{name}, step {trace.shown}" if trace.shown > 1 else name


def _one_line(text: str) -> str:
    return " ".join(clean(text).split())
