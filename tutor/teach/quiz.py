"""The quiz session: which questions to ask, and how each answer is taken, judged, explained and saved.

Pure logic, no terminal: a `QuizSession` asks its questions through a `read` function (a terminal, piped
standard input or an answer sheet behind it) and reports what happens as events (`Asked`, `Invalid`,
`Judged`, `HintGiven`, `Revealed`, `Skipped`) to an `emit` function; `tutor.views.quiz` prints them.
Each answer is judged by `tutor.teach.judge.Judge` against the student's own earlier answers, so an answer
that follows from an earlier slip is accepted as `follow_through`, and wrong answers carry the
catalogued mistake that reproduces them (`tutor.teach.mistakes`).

At the prompt the student types a number or an arithmetic expression (which may use the givens, their
own answers and revealed values by name: ``delta_o1*out_h1``), or one of the commands `hint` (a ladder:
the formula, then which of the student's own values it takes, then, asked for once more, the formula
with those numbers), `show` (the network and the given numbers again), `skip`, `reveal`, `quit` (and
`help`). After a reveal, hints and names use the revealed value. Something that is not a number is a
format error: the message is shown and the question asked again, without using up a try. A wrong
answer may be tried again once; after the second wrong try the worked line is revealed and the quiz
moves on.

What is recorded for a question (and saved at once, so that nothing answered is lost to Ctrl-C):
the verdict of the last try, and every mistake diagnosed at any try; a question skipped or revealed
before any try is `missing` (with `revealed` set for a reveal); a wrong try followed by skip, reveal,
quit, end of input or Ctrl-C stays `wrong`. Questions never answered are not recorded.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping, Sequence, Union

import numpy as np

from tutor.teach.sheets import answer_names, has_name, parse_answer
from tutor.teach.judge import Answer, Judge, Judgement
from tutor.trace.keys import SECTIONS
from tutor.teach.mistakes import Mistake
from tutor.teach.progress import AnswerRecord, ReviewState, review_order
from tutor.trace.trace import Quantity, Term, Trace, describe

#: Verdicts that score a point.
RIGHT = ("correct", "follow_through")
#: Tries at a question before its worked line is revealed.
MAX_TRIES = 2
#: Commands at the prompt (case-insensitive), and their short forms.
COMMANDS = {
    "hint": "hint", "h": "hint", "skip": "skip", "s": "skip", "reveal": "reveal", "r": "reveal",
    "quit": "quit", "q": "quit", "exit": "quit", "help": "help", "?": "help", "show": "show", "givens": "show",
}
#: The hint ladder's steps: the formula, which values it takes, the formula with numbers, no more.
HINT_FORMULA, HINT_VALUES, HINT_NUMBERS, NO_MORE_HINTS = 1, 2, 3, 4
FOCUSES = ("all", *SECTIONS)


# -- questions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One quantity to ask for, with its description in words and the values it is computed from.

    `givens` are the problem's given numbers its formula uses (label, value); `upstream` the keys of
    computed values it uses that this quiz did not ask before it (shown, since the student has no own
    value for them: the first question of `--focus backward` rests on the forward pass's outputs).
    """

    quantity: Quantity
    description: str
    givens: tuple[tuple[str, float], ...] = ()
    upstream: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.quantity.key

    @property
    def label(self) -> str:
        return self.quantity.label

    @property
    def kind(self) -> str:
        return self.quantity.kind

    @property
    def section(self) -> str:
        return self.quantity.section


def select_questions(trace: Trace, *, focus: str = "all", only: Sequence[str] = (), limit: int | None = None,
                     review: Mapping[str, ReviewState] | None = None) -> list[Question]:
    """The questions to ask, in solution order (or in review order).

    `focus` keeps one section (forward, loss, backward, updates); `only` keeps the named quantities (keys
    or labels; an unknown one is a `KeyLookupError`); `review` (each kind's review state) keeps the due
    kinds' questions (every kind's when none is due), the kinds with the highest recent error first and
    questions of equally weak kinds in solution order; `limit` keeps the first N.
    """
    if focus not in FOCUSES:
        raise ValueError(f"unknown focus {focus!r}")
    wanted = {trace.resolve(name) for name in only} if only else None
    quantities = [q for q in trace.quantities
                  if (focus == "all" or q.section == focus) and (wanted is None or q.key in wanted)]
    if review is not None and quantities:
        present = list(dict.fromkeys(q.kind for q in quantities))
        states = {kind: review[kind] for kind in present if kind in review}
        due = [kind for kind in review_order(states, present) if states[kind].due] or list(states)
        order = {q.key: n for n, q in enumerate(quantities)}
        quantities = sorted((q for q in quantities if q.kind in due),
                            key=lambda q: (-states[q.kind].error, order[q.key]))
    if limit is not None:
        quantities = quantities[:limit]
    questions = []
    asked: set[str] = set()
    for q in quantities:
        givens = dict((t.symbol, t.value) for t in q.formula if isinstance(t, Term) and t.key is None)
        upstream = tuple(dict.fromkeys(d for d in q.depends_on if d not in asked))
        questions.append(Question(q, describe(trace, q), tuple(givens.items()), upstream))
        asked.add(q.key)
    return questions


# -- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    number: int  # 1-based
    total: int
    question: Question


@dataclass(frozen=True)
class Invalid:
    """Not a number: a format error; the question is asked again."""

    question: Question
    text: str
    message: str


@dataclass(frozen=True)
class Judged:
    question: Question
    judgement: Judgement
    tries: int
    final: bool  # no further try at this question
    follows: tuple[tuple[str, str], ...] = ()  # for a follow-through: (label, the student's value as given)


@dataclass(frozen=True)
class HintGiven:
    """level 1: the formula in symbols; 2: which of the student's own values it takes (`sources`);
    3: the formula with those numbers (`student`); 4: no more hints."""

    question: Question
    level: int
    student: Quantity  # the quantity with its formula's inputs taken from the student's world
    # (label, where its value comes from, the question that asked for it or None): "yours", "revealed",
    # "computed" (asked, not answered), "shown" (not asked in this quiz: shown with the question) or "given"
    sources: tuple[tuple[str, str, int | None], ...] = ()


@dataclass(frozen=True)
class Shown:
    """The student asked to see the network and the given numbers again (`show`)."""

    question: Question


@dataclass(frozen=True)
class Revealed:
    question: Question
    automatic: bool  # after the last wrong try, rather than asked for


@dataclass(frozen=True)
class Skipped:
    question: Question


@dataclass(frozen=True)
class Help:
    question: Question


Event = Union[Asked, Invalid, Judged, HintGiven, Revealed, Skipped, Help, Shown]


# -- results ------------------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    """Where one asked question stands; final once the quiz has moved on."""

    position: int
    question: Question
    judgement: Judgement
    tries: int = 0
    hints: int = 0
    revealed: bool = False
    skipped: bool = False
    diagnoses: list[Mistake] = field(default_factory=list)  # every mistake diagnosed, over all tries

    def __post_init__(self) -> None:
        self.note(self.judgement)

    def note(self, judgement: Judgement) -> None:
        """Keep a try's diagnosis (a right second try does not erase the first try's mistake)."""
        if judgement.diagnosis is not None and judgement.diagnosis not in self.diagnoses:
            self.diagnoses.append(judgement.diagnosis)

    @property
    def key(self) -> str:
        return self.question.key

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    @property
    def right(self) -> bool:
        return self.verdict in RIGHT

    @property
    def diagnosis(self) -> Mistake | None:
        return self.judgement.diagnosis

    def record(self) -> AnswerRecord:
        answer = self.judgement.answer
        diagnoses = " ".join(m.id for m in self.diagnoses) or None
        return AnswerRecord(self.position, self.question.key, self.question.kind, self.question.label, answer.text,
                            answer.value, self.verdict, diagnoses, self.tries, self.hints, self.revealed)


@dataclass
class QuizOutcome:
    """What happened in a quiz: one result per question answered, and how it ended."""

    results: list[QuestionResult]
    planned: int  # questions the quiz meant to ask
    seconds: float
    stopped: str  # "end" (all asked), "quit", "eof" (end of input) or "interrupt" (Ctrl-C)

    @property
    def score(self) -> int:
        return sum(r.right for r in self.results)

    @property
    def max_score(self) -> int:
        return len(self.results)

    def by_section(self) -> dict[str, dict[str, int]]:
        """For each section with results: how many were asked and how many got each verdict."""
        table: dict[str, dict[str, int]] = {}
        for section in SECTIONS:
            rows = [r for r in self.results if r.question.section == section]
            if rows:
                counts = {"asked": len(rows), "correct": 0, "follow_through": 0, "wrong": 0, "missing": 0,
                          "invalid": 0}
                for r in rows:
                    counts[r.verdict] += 1
                table[section] = counts
        return table

    def missed(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.right]

    def mistakes(self) -> list[tuple[Mistake, list[QuestionResult]]]:
        """Each diagnosed mistake (at any try) with the questions it explains, in order of first appearance."""
        found: dict[str, tuple[Mistake, list[QuestionResult]]] = {}
        for r in self.results:
            for mistake in r.diagnoses:
                found.setdefault(mistake.id, (mistake, []))[1].append(r)
        return list(found.values())


# -- the session --------------------------------------------------------------------------------------

#: What `read` returns: typed text, a ready Answer (from a sheet: final, one try), or None at end of input.
Reply = Union[str, Answer, None]


class _EndOfInput(Exception):
    pass


class _Quit(Exception):
    pass


class QuizSession:
    """Asks `questions` one by one; see the module docstring for the rules.

    `read(question)` returns the next reply (see `Reply`) and may raise KeyboardInterrupt; `emit(event)`
    shows what happened; `log` (anything with `save(AnswerRecord)`) stores each answer as it changes.
    `given` are answers the student gave beforehand (a sheet's other values), used for follow-through.
    """

    def __init__(self, judge: Judge, questions: Sequence[Question], emit: Callable[[Event], None],
                 log=None, *, max_tries: int = MAX_TRIES, given: Mapping[str, Answer] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.judge = judge
        self.trace = judge.trace
        self.questions = list(questions)
        self.emit = emit
        self.log = log
        self.max_tries = max_tries
        self.answers: dict[str, Answer] = dict(given or {})  # the student's own final answers by key
        self.results: list[QuestionResult] = []
        self.revealed: set[str] = set()  # keys whose exact value the student has seen
        self.number_of = {q.key: n for n, q in enumerate(self.questions, start=1)}
        self.clock = clock
        self._names: dict[str, float | None] | None = None

    def run(self, read: Callable[[Question], Reply]) -> QuizOutcome:
        """Ask every question; stops early at `quit`, end of input or Ctrl-C, keeping what was answered."""
        started = self.clock()
        stopped = "end"
        try:
            # a student's huge or negative numbers overflow in their own world (inf, nan): judged, not warned of
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                for number, question in enumerate(self.questions, start=1):
                    self._ask(number, question, read)
        except _Quit:
            stopped = "quit"
        except _EndOfInput:
            stopped = "eof"
        except KeyboardInterrupt:
            stopped = "interrupt"
        return QuizOutcome(list(self.results), len(self.questions), self.clock() - started, stopped)

    # -- one question ----------------------------------------------------------------------------------

    def _ask(self, number: int, question: Question, read: Callable[[Question], Reply]) -> None:
        self.emit(Asked(number, len(self.questions), question))
        result: QuestionResult | None = None
        hints = 0
        while True:
            reply = read(question)
            if reply is None:
                raise _EndOfInput
            if isinstance(reply, Answer):  # from a sheet: judged once, as given
                self._from_sheet(number, question, reply)
                return
            command = COMMANDS.get(reply.strip().lower())
            if not reply.strip():
                continue
            if command == "quit":
                raise _Quit
            if command == "help":
                self.emit(Help(question))
                continue
            if command == "show":
                self.emit(Shown(question))
                continue
            if command == "hint":
                hints += 1
                if result is not None:
                    result.hints = hints
                    self._save(result)
                self.emit(self.hint(question, min(hints, NO_MORE_HINTS)))
                continue
            if command in ("skip", "reveal"):
                with _interrupts_deferred():
                    if result is None:
                        result = self._new_result(number, question, Answer(question.key))
                        self.results.append(result)
                    result.hints = hints
                    result.skipped = command == "skip"
                    result.revealed = command == "reveal"
                    self._keep(result)
                if command == "reveal":
                    self.revealed.add(question.key)
                self.emit(Skipped(question) if command == "skip" else Revealed(question, automatic=False))
                return
            answer = parse_answer(question.key, reply, self.names_for(question) if has_name(reply) else None)
            if answer.error is not None:
                self.emit(Invalid(question, answer.text or reply, answer.error))
                continue
            with _interrupts_deferred():
                judgement = self._judge(question, answer)
                if result is None:
                    result = QuestionResult(number, question, judgement)
                    self.results.append(result)
                result.judgement = judgement
                result.note(judgement)
                result.tries += 1
                result.hints = hints
                final = judgement.verdict in RIGHT or result.tries >= self.max_tries
                self._keep(result)
            self.emit(Judged(question, judgement, result.tries, final, self._follows(judgement)))
            if final:
                if not result.right:
                    self.revealed.add(question.key)
                    self.emit(Revealed(question, automatic=True))
                return

    def _from_sheet(self, number: int, question: Question, answer: Answer) -> None:
        with _interrupts_deferred():
            judgement = self._judge(question, answer)
            result = QuestionResult(number, question, judgement, tries=1 if answer.given or answer.error else 0)
            self.results.append(result)
            if answer.given or answer.error is not None:
                self._keep(result)
        self.emit(Judged(question, judgement, result.tries, True, self._follows(judgement)))
        if not result.right and result.tries:  # a blank key is reported as missing, without its worked line
            self.emit(Revealed(question, automatic=True))

    def _new_result(self, number: int, question: Question, answer: Answer) -> QuestionResult:
        return QuestionResult(number, question, self._judge(question, answer))

    def _judge(self, question: Question, answer: Answer) -> Judgement:
        """`answer` judged in the student's world (their own answers); when that does not accept it, in the
        world where each value revealed (by `reveal`, or after two wrong tries) replaces their own, as a
        student may carry on with either."""
        own = {k: a for k, a in self.answers.items() if k != question.key}
        judgement = self.judge.judge({**own, question.key: answer}, [question.key])[0]
        revealed = {k: Answer(k, self.trace[k].value) for k in self.revealed if k != question.key}
        if judgement.verdict in RIGHT or not revealed or judgement.answer.value is None:
            return judgement
        shown = self.judge.judge({**own, **revealed, question.key: answer}, [question.key])[0]
        return shown if shown.verdict in RIGHT else judgement

    def _keep(self, result: QuestionResult) -> None:
        """The result's answer joins the student's own answers (for follow-through), and is saved."""
        answer = result.judgement.answer
        if answer.value is not None:
            self.answers[result.question.key] = answer
        self._save(result)

    def _save(self, result: QuestionResult) -> None:
        if self.log is not None:
            self.log.save(result.record())

    def _follows(self, judgement: Judgement) -> tuple[tuple[str, str], ...]:
        out = []
        for key in judgement.follows_from:
            answer = self.answers.get(key)
            if answer is not None and answer.value is not None:
                out.append((self.trace[key].label, _as_given(answer)))
        return tuple(out)

    # -- hints ---------------------------------------------------------------------------------------

    def hint(self, question: Question, level: int) -> HintGiven:
        """The hint at `level` of the ladder for `question`."""
        q = self.as_student_has_it(question.quantity)
        sources = []
        for term in dict.fromkeys(t for t in question.quantity.formula if isinstance(t, Term)):
            if term.key is None:
                sources.append((term.symbol, "given", None))
            else:
                source = self._source(term.key) if term.key in self.number_of else "shown"
                sources.append((term.symbol, source, self.number_of.get(term.key)))
        return HintGiven(question, level, q, tuple(dict.fromkeys(sources)))

    def _source(self, key: str) -> str:
        """Where the value of `key` in the student's world comes from."""
        if key in self.revealed:
            return "revealed"
        answer = self.answers.get(key)
        return "yours" if answer is not None and answer.value is not None else "computed"

    def own_numbers(self, exclude: str | None = None) -> dict[str, float]:
        """The student's own values by key: their answers, and revealed values in place of wrong ones."""
        numbers = {k: a.value for k, a in self.answers.items() if a.value is not None and k != exclude}
        numbers.update({k: self.trace[k].value for k in self.revealed if k != exclude})
        return numbers

    def names_for(self, question: Question) -> dict[str, float | None]:
        """What an answer may use by name: the givens and the student's own values (labels or keys); the
        other quantities' names are known but have no value to use."""
        if self._names is None:
            self._names = answer_names(self.trace)
        names = dict(self._names)
        shown = {k: self.trace[k].value for k in question.upstream if k not in self.number_of}
        for key, value in {**shown, **self.own_numbers(exclude=question.key)}.items():
            names[key] = names[self.trace[key].label] = value
        return names

    def as_student_has_it(self, q: Quantity) -> Quantity:
        """`q` with the numbers in its formula taken from the student's own world: their answers where
        they gave them, revealed values where they were shown, and what follows from those elsewhere (so
        a hint never shows a number that differs from the one they would compute)."""
        world = self.judge.world(self.own_numbers(exclude=q.key))
        formula = tuple(replace(p, value=world[p.key]) if isinstance(p, Term) and p.key in world else p
                        for p in q.formula)
        value = q.compute(*[world[d] for d in q.depends_on])
        return replace(q, formula=formula, value=value)


def _as_given(answer: Answer) -> str:
    """The student's value as they wrote it, when that was a plain number; else the number."""
    text = (answer.text or "").strip()
    if answer.decimals is not None and text:
        return text.lstrip("=").strip()
    return f"{answer.value:.6g}"


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C while an answer is judged and saved; it takes effect right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    except (ValueError, OSError):  # no signals here (e.g. an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if previous is signal.default_int_handler:
                raise KeyboardInterrupt
            if callable(previous):
                previous(signal.SIGINT, None)


def sheet_reader(answers: Mapping[str, Answer]) -> Callable[[Question], Reply]:
    """A `read` for an answer sheet: each question gets the sheet's answer (missing if it has none)."""

    def read(question: Question) -> Reply:
        return answers.get(question.key) or Answer(question.key)

    return read


@dataclass
class Recorder:
    """Collects events (for tests and programs that drive a session themselves)."""

    events: list = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)
