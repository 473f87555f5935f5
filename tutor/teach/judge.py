"""Judging a student's values against the trace: precision, follow-through and diagnosis.

The quiz and the grader share this. The default rule (mode "precision"), as a careful TA applies it:

- an answer is judged at the precision it was written: 0.593 to 3 decimals, 0.00044 to 5; the last
  digit of an answer with three or more significant figures may be off by one (hand arithmetic with
  rounded intermediates), and an answer at full precision is judged to about 1e-9 relative;
- an answer written as arithmetic is judged to as many significant figures as the most precise number
  in it (`0.5 - 0.5*0.082167` to 5); arithmetic of whole numbers only (`1/3`) at full precision;
- an answer with fewer significant figures than the minimum (`Tolerance.min_figures`), and `0` for a
  quantity that is not zero, is not correct, unless it is exactly right;
- an updated weight or bias is judged by its change (w+ minus w): the figures are those of the change,
  and a weight left as it was is `wrong` (`update_not_applied`) when the update shows at that precision.

A value is then
- `correct` when it matches the true value, or when it is right computed from the student's own
  earlier answers that are themselves accepted (what rounding at every step gives);
- `follow_through` when it differs from the true value but is right computed from the student's own
  earlier answers, some of them not accepted (only answers they actually gave count);
- `wrong` otherwise, with the catalogued mistake that reproduces it at the student's precision (and the
  truth does not), if any, or with a note when it has too few significant figures;
- `missing` when not given, and `invalid` when what was given is not a number (a format error).

The modes "either", "relative" and "absolute" judge closeness by their tolerance instead; a value within
it is still `follow_through` when it differs from the truth at its precision and follows from a wrong
earlier answer, and `wrong` when a catalogued mistake reproduces it at its precision.

The student's "world" is every quantity as the student would have it: their own answer where they
gave one, else computed (by the correct rule, or by a mistake's rule when checking a diagnosis) from
the world's earlier values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable, Mapping, Sequence

from tutor.teach.expression import CONSTANTS, FUNCTIONS, decimals_given
from tutor.teach.mistakes import CATALOGUE, Mistake
from tutor.trace.keys import UPDATE_KINDS
from tutor.trace.trace import Quantity, Trace

VERDICTS = ("correct", "follow_through", "wrong", "missing", "invalid")

#: The default: judged at the precision the student wrote.
DEFAULT_MODE = "precision"
#: Fewest significant figures an answer (an update: its change) must have to be correct.
DEFAULT_MIN_FIGURES = 2
#: The loose modes' tolerance: relative 1% or absolute 5e-4 ("either": whichever is more lenient).
DEFAULT_RELATIVE = 0.01
DEFAULT_ABSOLUTE = 5e-4
#: How closely an answer written at full precision must match (relative).
FULL_PRECISION = 1e-9
#: Significant figures of an answer with no written precision (a number given programmatically).
_UNLIMITED = 99
#: More decimals than this are full precision (and keep 10**-decimals a normal float).
_MOST_DECIMALS = 30
#: Most readings a judge keeps (the same answers recur across a class's sheets).
_CACHE_LIMIT = 200_000
#: A number in an arithmetic answer (not the digits of a name such as log10).
_LITERAL = re.compile(r"(?<![A-Za-z_0-9.])(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE][+-]?[0-9]+)?")
#: A name in an arithmetic answer: a function, a constant, or a quantity used by name.
_NAME = re.compile(r"(?<![0-9.])[A-Za-z_][A-Za-z0-9_]*")
_KNOWN_NAMES = frozenset(name.lower() for name in (*FUNCTIONS, *CONSTANTS))


@dataclass(frozen=True)
class Tolerance:
    """When a given number counts as equal to an expected one.

    mode "precision" (the default): at the precision the student wrote (see the module docstring);
    "either": within `relative` or within `absolute`; "relative" or "absolute": within that one. In every
    mode an answer needs `min_figures` significant figures unless it is exactly right, and follow-through
    and diagnosis compare at the precision the student wrote.
    """

    relative: float = DEFAULT_RELATIVE
    absolute: float = DEFAULT_ABSOLUTE
    mode: str = DEFAULT_MODE
    min_figures: int = DEFAULT_MIN_FIGURES
    #: The decimals policy: every answer judged to this many decimal places (right when the true value rounds
    #: to it), with no minimum of significant figures; None: at the precision written.
    decimals: int | None = None

    @property
    def loose(self) -> bool:
        return self.mode != "precision"

    def close(self, given: float, expected: float) -> bool:
        """Within this loose mode's tolerance (never, in "precision" mode)."""
        difference = abs(given - expected)
        within_relative = difference <= self.relative * abs(expected)
        within_absolute = difference <= self.absolute
        if self.mode == "relative":
            return within_relative
        if self.mode == "absolute":
            return within_absolute
        return self.mode == "either" and (within_relative or within_absolute)

    def accepts(self, given: float, expected: float, decimals: int | None = None) -> bool:
        """`given`, written to `decimals` (None: full precision), counts as `expected` in this mode."""
        if self.loose:
            return self.close(given, expected)
        return Reading.of(Answer("", given, decimals=decimals), places=self.decimals).matches(expected)

    def describe(self) -> str:
        if self.decimals is not None:
            places = f"{self.decimals} decimal place{'s' if self.decimals != 1 else ''}"
            return f"to {places} (an update: to decimals that show its change)"
        figures = f"at least {self.min_figures} significant figure{'s' if self.min_figures != 1 else ''}"
        if self.mode == "relative":
            return f"within {self.relative:.4g} relative ({figures})"
        if self.mode == "absolute":
            return f"within {self.absolute:.4g} ({figures})"
        if self.mode == "either":
            return f"within {self.relative * 100:.4g}% or {self.absolute:.4g} ({figures})"
        return f"to the precision given ({figures}; an update: to decimals that show its change)"


@dataclass(frozen=True)
class Answer:
    """What a student gave for one key: a number (with the text typed), nothing, or a format error."""

    key: str
    value: float | None = None
    text: str | None = None
    decimals: int | None = None  # decimal places given, for judging at the student's precision
    error: str | None = None  # why the text is not a number

    @property
    def given(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Reading:
    """How precisely an answer was written: the place of its last digit and its significant figures.

    For an updated weight or bias (`old` set) the old value written at the same place (`old_written`) must
    not pass for the true value: the precision must tell the update apart from the weight left as it was.
    """

    value: float
    unit: float | None  # the place of the last digit written (or the decimals policy's); None: full precision
    figures: int  # significant figures of the value (of an update written as arithmetic: of its change)
    old: float | None = None
    off_by_one: bool = False  # the last digit may be off by one (three or more figures; an update: of its change)
    old_written: float | None = None  # an update's old value written at the student's own precision
    old_slack: float = 0.0  # how far from the truth that old value may be and still pass
    slack: float = field(init=False, repr=False, compare=False)  # `allowance()`, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "slack", self.allowance())

    @classmethod
    def of(cls, answer: Answer, old: float | None = None, places: int | None = None) -> "Reading":
        """`places`: the decimals policy (every answer judged to that many decimals, no minimum of figures)."""
        value = float(answer.value)  # type: ignore[arg-type]
        decimals = answer.decimals
        if decimals is None and answer.text:
            decimals = decimals_given(answer.text)
        if decimals is not None and decimals > _MOST_DECIMALS:
            decimals = None
        written = cls._written(value, decimals, answer.text, old)
        if places is None:
            return written
        unit = 10.0 ** -places
        policy = cls(value, unit, _UNLIMITED, old)
        if old is None:
            return policy
        return replace(policy, old_written=written.old_written, old_slack=written.old_slack) \
            if written.unit is not None else policy

    @classmethod
    def _written(cls, value: float, decimals: int | None, text: str | None, old: float | None) -> "Reading":
        """The reading at the precision the student wrote."""
        if decimals is not None:
            unit = 10.0 ** -decimals
            figures = _figures(value, unit)
            if figures is None:  # a huge number written to many decimals
                return cls(value, None, _UNLIMITED, old)
            if old is None:
                return cls(value, unit, figures, None, figures >= 3)
            change = _figures(value - old, unit)
            off_by_one = change is None or change >= 3
            old_written = round(old / unit) * unit
            return cls(value, unit, figures, old, off_by_one, old_written, unit * (1.5 if off_by_one else 0.5))
        figures = _literal_figures(text) if text else None
        counted = value - old if old is not None else value
        if figures is None:
            return cls(value, None, _UNLIMITED if value else 0, old)
        if counted == 0 or not math.isfinite(counted):
            return cls(value, None, 0, old)
        # arithmetic: as many figures as its most precise number has (an update's: in its change, which the
        # rounded numbers in it carry)
        unit = 10.0 ** (math.floor(math.log10(abs(counted))) - figures + 1)
        return cls(value, unit, figures, old, figures >= 3)

    def floor(self, expected: float) -> float:
        """The difference that counts as none: full precision, and the float rounding of the values."""
        return FULL_PRECISION * max(abs(expected), abs(self.value))

    def allowance(self) -> float:
        """Half a unit of the last digit; one and a half when the last digit may be off by one."""
        if self.unit is None:
            return 0.0
        return self.unit * (1.5 if self.off_by_one else 0.5) * (1 + 1e-9)

    def matches(self, expected: float) -> bool:
        """`expected` is what the answer says, at the precision written."""
        value = self.value
        return (abs(value - expected) <= self.slack + FULL_PRECISION * max(abs(expected), abs(value))
                and math.isfinite(expected))

    def exact(self, expected: float) -> bool:
        """The answer is `expected` itself, to full precision."""
        return math.isfinite(expected) and abs(self.value - expected) <= self.floor(expected)

    def shows_update(self, expected: float) -> bool:
        """The precision written tells `expected` (an updated value) from the old value: that old value,
        written at the same precision, would not pass for it."""
        if self.old_written is None:
            return True
        difference = abs(self.old_written - expected)
        return difference >= self.old_slack * (1 - 1e-9)  # a tie (half a unit each way) tells them apart

    def is_old(self) -> bool:
        """The answer is the old value itself, at the precision written."""
        return self.old is not None and self.old_written is not None and self.exact(self.old_written)


def _figures(value: float, unit: float) -> int | None:
    """Significant figures of `value` written to the place `unit`; None when that is not a finite count."""
    ratio = abs(value) / unit
    if not math.isfinite(ratio):
        return None
    units = round(ratio)
    return len(str(units)) if units else 0


def _literal_figures(text: str) -> int | None:
    """The significant figures of the most precise non-integer number in an arithmetic answer; None (full
    precision) when it has none, or uses a quantity by name (`delta_o1*out_h1`: full-precision values)."""
    if any(name.lower() not in _KNOWN_NAMES for name in _NAME.findall(text)):
        return None
    best: int | None = None
    for match in _LITERAL.finditer(text):
        whole, fraction, bare = match.group(1), match.group(2), match.group(3)
        if bare is None and not fraction:
            continue  # a whole number: an exact count or constant (1 in 1/(1+exp(-x)))
        digits = ((whole or "") + (fraction if fraction is not None else bare or "")).lstrip("0")
        best = max(best or 0, len(digits))
    return best


def old_value(q: Quantity) -> float | None:
    """The value before the update, for an updated weight or bias."""
    return q.parameter.value if q.kind in UPDATE_KINDS and q.parameter is not None else None


@dataclass(frozen=True)
class Judgement:
    """The verdict on one key."""

    key: str
    verdict: str
    expected: float
    answer: Answer
    follows_from: tuple[str, ...] = ()  # the student's own earlier (wrong) answers a follow-through uses
    consistent_value: float | None = None  # the value that follows from the student's own answers
    diagnosis: Mistake | None = None
    note: str | None = None  # why a value that matches is still not correct (too few figures)

    @property
    def given(self) -> float | None:
        return self.answer.value


@dataclass
class Judge:
    """Judges answers for one trace; holds nothing about any one student."""

    trace: Trace
    tolerance: Tolerance = field(default_factory=Tolerance)
    mistakes: Sequence[Mistake] = CATALOGUE
    _readings: dict[tuple, Reading] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if getattr(self.trace, "is_graph", False) and self.mistakes is CATALOGUE:  # a computational graph's
            from tutor.teach.mistakes import GRAPH_CATALOGUE

            self.mistakes = GRAPH_CATALOGUE

    def world(self, answers: Mapping[str, float], mistake: Mistake | None = None,
              skip: str | None = None) -> dict[str, float]:
        """Every quantity as the student has it; `skip` is left out of `answers` (the one being judged)."""
        values: dict[str, float] = {}
        for q in self.trace.quantities:
            if q.key in answers and q.key != skip:
                values[q.key] = answers[q.key]
                continue
            deps = [values[d] for d in q.depends_on]
            candidates = mistake.candidates(self.trace, q, values) if mistake is not None else []
            values[q.key] = _first_different(candidates, q.compute(*deps)) if candidates else q.compute(*deps)
        return values

    def judge(self, answers: Mapping[str, Answer], keys: Iterable[str] | None = None) -> list[Judgement]:
        """A judgement for each of `keys` (default: every key answered), in solution order."""
        import numpy as np

        with np.errstate(all="ignore"):  # a student's extreme value (1e300) overflows in their world: no warning
            return self._judge(answers, keys)

    def _judge(self, answers: Mapping[str, Answer], keys: Iterable[str] | None) -> list[Judgement]:
        wanted = set(answers) if keys is None else set(keys)
        call = _Call(self, answers)
        verdicts = [call.judge(q, answers.get(q.key) or Answer(q.key))
                    for q in self.trace.quantities if q.key in wanted]
        suspects = [(self.trace[j.key], j.answer) for j in verdicts
                    if j.verdict == "wrong" and j.note is None or j.key in call.loosely]
        if suspects:
            diagnoses = self._diagnose(suspects, call.numbers, call.world)
            verdicts = [_with_diagnosis(j, diagnoses.get(j.key)) for j in verdicts]
        return verdicts

    def reading(self, q: Quantity, answer: Answer) -> Reading:
        """How precisely `answer` to `q` was written (an update: its change, unless it has none to show)."""
        key = (q.key, answer.value, answer.decimals, answer.text)
        cached = self._readings.get(key)
        if cached is None:
            old = old_value(q)
            if old is not None and math.isclose(q.value, old, rel_tol=FULL_PRECISION, abs_tol=1e-300):
                old = None  # a zero gradient: the weight stays, and is judged as written
            cached = Reading.of(answer, old, self.tolerance.decimals)
            if len(self._readings) < _CACHE_LIMIT:  # a class's sheets repeat the same answers
                self._readings[key] = cached
        return cached

    def mistake(self, mistake_id: str) -> Mistake | None:
        """The catalogued mistake with this id, if the judge knows it."""
        return next((m for m in self.mistakes if m.id == mistake_id), None)

    @cached_property
    def true_values(self) -> dict[str, float]:
        """Every quantity's true value, by key."""
        return {q.key: q.value for q in self.trace.quantities}

    @cached_property
    def order(self) -> dict[str, int]:
        """Each key's place in the solution order."""
        return {key: n for n, key in enumerate(self.trace.keys())}

    def _diagnose(self, wrong: list[tuple[Quantity, Answer]], numbers: Mapping[str, float],
                  right: Mapping[str, float]) -> dict[str, Mistake]:
        """For each wrong answer, the catalogued mistake that reproduces it.

        First each mistake's own rule at that very step (from the student's world, or from the true
        values, for a student who took an input from the key rather than their own work); then, for answers
        still unexplained, a mistake made in an earlier step the student did not write down: the world is
        recomputed under the mistake's rule (their own answers stay as given) and the answer compared
        with what follows.
        """
        found: dict[str, Mistake] = {}
        for q, answer in wrong:
            right_here = q.compute(*[right[d] for d in q.depends_on])
            for mistake in self.mistakes:
                candidates = mistake.candidates(self.trace, q, right)
                if candidates and not self._explains(candidates, q, answer, right_here):
                    candidates = mistake.candidates(self.trace, q, self.true_values)  # the key's inputs, not theirs
                if self._explains(candidates, q, answer, right_here):
                    found[q.key] = mistake
                    break
        for mistake in self.mistakes:
            pending = [(q, a) for q, a in wrong if q.key not in found]
            if not pending:
                break
            world = self.world(numbers, mistake)
            for q, answer in pending:
                right_here = q.compute(*[right[d] for d in q.depends_on])
                if self._explains([q.compute(*[world[d] for d in q.depends_on])], q, answer, right_here):
                    found[q.key] = mistake
        return found

    def _explains(self, candidates: list[float], q: Quantity, answer: Answer, right_here: float) -> bool:
        """At the student's precision, some candidate reproduces the answer and the right value does not."""
        if not candidates:
            return False
        reading = self.reading(q, answer)
        return (any(reading.matches(c) for c in candidates)
                and not reading.matches(right_here) and not reading.matches(q.value))


class _Call:
    """One call of `Judge.judge`: the student's world, and which of their answers are accepted."""

    def __init__(self, judge: Judge, answers: Mapping[str, Answer]) -> None:
        self.judge_ = judge
        self.trace = judge.trace
        self.tolerance = judge.tolerance
        self.answers = answers
        self.numbers = {k: a.value for k, a in answers.items() if a.value is not None}
        self.world = judge.world(self.numbers)
        self.loosely: set[str] = set()  # correct only by a loose mode's tolerance: a diagnosis overrides
        self.imprecise: set[str] = set()  # right, but with too few figures
        self.from_short: set[str] = set()  # follow-through from such values only, not from a slip
        self._verdicts: dict[str, Judgement] = {}
        self.loose = judge.tolerance.loose
        self.wanted = max(1, judge.tolerance.min_figures)  # significant figures

    def judge(self, q: Quantity, answer: Answer) -> Judgement:
        if answer.error is not None:
            return Judgement(q.key, "invalid", q.value, answer)
        if answer.value is None:
            return Judgement(q.key, "missing", q.value, answer)
        if self.answers.get(q.key) is not answer:
            return self._judge(q, answer)
        if q.key not in self._verdicts:
            self._verdicts[q.key] = self._judge(q, answer)
        return self._verdicts[q.key]

    def _judge(self, q: Quantity, answer: Answer) -> Judgement:
        reading = self.judge_.reading(q, answer)
        loose = self.loose
        right = reading.matches(q.value) and (not loose or self.tolerance.close(reading.value, q.value))
        if right and not reading.shows_update(q.value):
            return self._update_hidden(q, answer, reading)
        if right and reading.figures >= self.wanted:
            return Judgement(q.key, "correct", q.value, answer)
        inputs = self.own_inputs(q)
        consistent = self.consistent(q)
        # slips: inputs judged wrong (or following from a slip); short: right but too short, or following
        # only from such values. What is computed from either is follow-through, never correct.
        wrong_inputs = tuple(k for k in inputs if not self.accepted(k) and k not in self.from_short)
        if wrong_inputs and reading.exact(consistent) and not reading.exact(q.value):  # their own, however short
            return Judgement(q.key, "follow_through", q.value, answer, wrong_inputs, consistent)
        short_inputs = tuple(k for k in inputs if k in self.imprecise or k in self.from_short)
        if right:
            return self._enough(Judgement(q.key, "correct", q.value, answer), reading, q, q.value)
        if inputs and self.near(reading, consistent):
            if not reading.exact(consistent) and not reading.shows_update(consistent):
                return self._update_hidden(q, answer, reading, consistent)
            exact = not short_inputs  # a value that follows from too few figures needs figures of its own
            follows = tuple(k for k in inputs if k in wrong_inputs or k in short_inputs)
            if not follows:  # rounding at every step: right from their own accepted values
                return self._enough(Judgement(q.key, "correct", q.value, answer, (), consistent), reading, q,
                                    consistent, exact)
            judgement = self._enough(Judgement(q.key, "follow_through", q.value, answer, follows, consistent),
                                     reading, q, consistent, exact)
            if not wrong_inputs:  # from too few figures only (wrong itself when short too): not a slip
                self.from_short.add(q.key)
            return judgement
        if loose and self.near(reading, q.value):  # within the tolerance only: a diagnosis overrides it
            self.loosely.add(q.key)
            return self._enough(Judgement(q.key, "correct", q.value, answer), reading, q, q.value)
        return Judgement(q.key, "wrong", q.value, answer, (), consistent)

    def _update_hidden(self, q: Quantity, answer: Answer, reading: Reading,
                       consistent: float | None = None) -> Judgement:
        """`wrong`: written so short that the old value reads the same; `update_not_applied` when it is the old
        value, and a note asking for more decimals."""
        old = reading.old if reading.old is not None else 0.0
        note = (f"at the decimals written, {q.label} cannot be told from its value before the update "
                f"({_short_number(old)}); write enough decimals to show the change")
        mistake = self.judge_.mistake("update_not_applied") if reading.is_old() else None
        return Judgement(q.key, "wrong", q.value, answer, (), consistent, mistake, note)

    def near(self, reading: Reading, expected: float) -> bool:
        """The answer counts as `expected`: at its precision, or within a loose mode's tolerance."""
        return self.tolerance.close(reading.value, expected) if self.loose else reading.matches(expected)

    def _enough(self, judgement: Judgement, reading: Reading, q: Quantity, reference: float,
                exact: bool = True) -> Judgement:
        """The judgement, or `wrong` (with a note when it matches `reference`) when the answer has too few
        significant figures, unless it is exactly the truth (or, with `exact`, exactly `reference`)."""
        wanted = self.wanted
        if reading.figures >= wanted or reading.exact(q.value) or (exact and reading.exact(reference)):
            return judgement
        self.loosely.discard(q.key)
        if not reading.matches(reference):  # only a loose mode's tolerance took it: plainly wrong
            return replace(judgement, verdict="wrong", follows_from=())
        if judgement.verdict == "correct":
            self.imprecise.add(q.key)
        return replace(judgement, verdict="wrong", follows_from=(), note=_too_few(q, reading, wanted))

    def consistent(self, q: Quantity) -> float:
        """What `q` is when computed from the student's own values."""
        return q.compute(*[self.world[d] for d in q.depends_on])

    def own_inputs(self, q: Quantity) -> tuple[str, ...]:
        """The student's answers nearest upstream of `q` (their value stands in for all above it)."""
        found: set[str] = set()
        seen: set[str] = set()
        stack = list(q.depends_on)
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            if key in self.numbers:
                found.add(key)
            else:
                stack.extend(self.trace[key].depends_on)
        return tuple(sorted(found, key=self.judge_.order.__getitem__))

    def accepted(self, key: str) -> bool:
        """An answer counts as right: it is judged correct, or would be but for too few figures."""
        return self.judge(self.trace[key], self.answers[key]).verdict == "correct" or key in self.imprecise


def _too_few(q: Quantity, reading: Reading, wanted: int) -> str:
    """Why an answer that matches is not correct: how many figures are wanted."""
    figures = f"{wanted} significant figure{'s' if wanted != 1 else ''}"
    if reading.figures == 0:
        return f"{reading.value:g} has no significant figure; give at least {figures}"
    return f"too few significant figures: give at least {figures}"


def _short_number(value: float) -> str:
    """A number as a person writes it (0.3, not 0.30000000000000004)."""
    return f"{value:.12g}"


def _first_different(candidates: list[float], right: float) -> float:
    """A mistake's value for an unanswered quantity: its first candidate that differs from the right one."""
    for value in candidates:
        if math.isfinite(value) and not math.isclose(value, right, rel_tol=1e-9, abs_tol=1e-12):
            return value
    return right


def _with_diagnosis(judgement: Judgement, mistake: Mistake | None) -> Judgement:
    """A diagnosis makes the verdict `wrong` (it wins over a loose match)."""
    if mistake is None:
        return judgement
    return replace(judgement, verdict="wrong", follows_from=(), diagnosis=mistake)
