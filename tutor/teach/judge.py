"""Judging a student's values against the trace: tolerance, follow-through and diagnosis.

The quiz and the grader share this. A value is
- `correct` when it is within tolerance of the true value, or right when computed from the student's
  own earlier answers that are themselves accepted (what rounding at every step gives);
- `follow_through` when it is wrong, but right when computed from the student's own earlier answers
  (only answers they actually gave count, so the credit cannot be gamed);
- `wrong` otherwise, with the catalogued mistake that reproduces it, if any;
- `missing` when not given, and `invalid` when what was given is not a number (a format error, not a
  wrong answer).

The student's "world" is every quantity as the student would have it: their own answer where they
gave one, else computed (by the correct rule, or by a mistake's rule when checking a diagnosis) from
the world's earlier values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Mapping, Sequence

from tutor.teach.mistakes import CATALOGUE, Mistake
from tutor.trace.trace import Quantity, Trace

VERDICTS = ("correct", "follow_through", "wrong", "missing", "invalid")

#: Default tolerance: relative 1% or absolute 5e-4, whichever is more lenient.
DEFAULT_RELATIVE = 0.01
DEFAULT_ABSOLUTE = 5e-4


@dataclass(frozen=True)
class Tolerance:
    """When a given number counts as equal to an expected one.

    mode "either": within `relative` or within `absolute` (the default); "relative" or "absolute": only
    that one; "precision": judged at the precision the student gave (0.593 is judged to 3 decimals:
    within 0.0005), falling back to "either" for answers written as expressions.
    """

    relative: float = DEFAULT_RELATIVE
    absolute: float = DEFAULT_ABSOLUTE
    mode: str = "either"

    def accepts(self, given: float, expected: float, decimals: int | None = None) -> bool:
        difference = abs(given - expected)
        if self.mode == "precision" and decimals is not None:
            return difference <= 0.5 * 10.0 ** (-decimals) * (1 + 1e-9) + 1e-15
        within_relative = difference <= self.relative * abs(expected)
        within_absolute = difference <= self.absolute
        if self.mode == "relative":
            return within_relative
        if self.mode == "absolute":
            return within_absolute
        return within_relative or within_absolute

    def describe(self) -> str:
        if self.mode == "precision":
            return "to the precision given (0.593 is judged to 3 decimals)"
        if self.mode == "relative":
            return f"within {self.relative:.4g} relative"
        if self.mode == "absolute":
            return f"within {self.absolute:.4g}"
        return f"within {self.relative * 100:.4g}% or {self.absolute:.4g}"


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
class Judgement:
    """The verdict on one key."""

    key: str
    verdict: str
    expected: float
    answer: Answer
    follows_from: tuple[str, ...] = ()  # the student's own earlier (wrong) answers a follow-through uses
    consistent_value: float | None = None  # the value that follows from the student's own answers
    diagnosis: Mistake | None = None

    @property
    def given(self) -> float | None:
        return self.answer.value


@dataclass
class Judge:
    """Judges answers for one trace; holds nothing about any one student."""

    trace: Trace
    tolerance: Tolerance = field(default_factory=Tolerance)
    mistakes: Sequence[Mistake] = CATALOGUE

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
        wanted = set(answers) if keys is None else set(keys)
        call = _Call(self, answers)
        verdicts = [call.judge(q, answers.get(q.key) or Answer(q.key))
                    for q in self.trace.quantities if q.key in wanted]
        wrong = [(self.trace[j.key], j.answer) for j in verdicts if j.verdict == "wrong"]
        if wrong:
            diagnoses = self._diagnose(wrong, call.numbers, call.world)
            verdicts = [_with_diagnosis(j, diagnoses.get(j.key)) for j in verdicts]
        return verdicts

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
        """Some candidate matches the answer and is not simply the right value."""
        return any(
            math.isfinite(c) and not self.tolerance.accepts(c, right_here) and not self.tolerance.accepts(c, q.value)
            and self.tolerance.accepts(answer.value, c, answer.decimals)
            for c in candidates
        )


class _Call:
    """One call of `Judge.judge`: the student's world, and which of their answers are accepted."""

    def __init__(self, judge: Judge, answers: Mapping[str, Answer]) -> None:
        self.judge_ = judge
        self.trace = judge.trace
        self.tolerance = judge.tolerance
        self.answers = answers
        self.numbers = {k: a.value for k, a in answers.items() if a.value is not None}
        self.world = judge.world(self.numbers)
        self._accepted: dict[str, bool] = {}

    def judge(self, q: Quantity, answer: Answer) -> Judgement:
        if answer.error is not None:
            return Judgement(q.key, "invalid", q.value, answer)
        if answer.value is None:
            return Judgement(q.key, "missing", q.value, answer)
        if self.tolerance.accepts(answer.value, q.value, answer.decimals):
            return Judgement(q.key, "correct", q.value, answer)
        consistent = self.consistent(q)
        inputs = self.own_inputs(q)
        if inputs and self.tolerance.accepts(answer.value, consistent, answer.decimals):
            wrong_inputs = tuple(k for k in inputs if not self.accepted(k))
            if not wrong_inputs:  # rounding at every step: right from their own accepted values
                return Judgement(q.key, "correct", q.value, answer, (), consistent)
            return Judgement(q.key, "follow_through", q.value, answer, wrong_inputs, consistent)
        return Judgement(q.key, "wrong", q.value, answer, (), consistent)

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
        """An answer counts as right: within tolerance, or right from the student's own accepted values."""
        if key not in self._accepted:
            answer = self.answers[key]
            q = self.trace[key]
            value, decimals = answer.value, answer.decimals
            ok = self.tolerance.accepts(value, q.value, decimals)
            if not ok:
                inputs = self.own_inputs(q)
                ok = bool(inputs) and self.tolerance.accepts(value, self.consistent(q), decimals) \
                    and all(self.accepted(k) for k in inputs)
            self._accepted[key] = ok
        return self._accepted[key]


def _first_different(candidates: list[float], right: float) -> float:
    """A mistake's value for an unanswered quantity: its first candidate that differs from the right one."""
    for value in candidates:
        if math.isfinite(value) and not math.isclose(value, right, rel_tol=1e-9, abs_tol=1e-12):
            return value
    return right


def _with_diagnosis(judgement: Judgement, mistake: Mistake | None) -> Judgement:
    if mistake is None:
        return judgement
    return Judgement(judgement.key, judgement.verdict, judgement.expected, judgement.answer,
                     judgement.follows_from, judgement.consistent_value, mistake)
