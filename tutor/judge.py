"""Judging a student's values against the trace: tolerance, follow-through and diagnosis.

The quiz and the grader share this. A value is
- `correct` when it is within tolerance of the true value;
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
from typing import Iterable, Mapping, Sequence

from tutor.mistakes import CATALOGUE, Mistake
from tutor.trace import Quantity, Trace

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
        numbers = {k: a.value for k, a in answers.items() if a.value is not None}
        world = self.world(numbers)
        verdicts = []
        wrong: list[tuple[Quantity, Answer, Judgement]] = []
        for q in self.trace.quantities:
            if q.key not in wanted:
                continue
            judgement = self._judge_one(q, answers.get(q.key) or Answer(q.key), numbers, world)
            verdicts.append(judgement)
            if judgement.verdict == "wrong":
                wrong.append((q, judgement.answer, judgement))
        if wrong:
            diagnoses = self._diagnose([(q, a) for q, a, _ in wrong], numbers)
            verdicts = [_with_diagnosis(j, diagnoses.get(j.key)) for j in verdicts]
        return verdicts

    def _judge_one(self, q: Quantity, answer: Answer, numbers: Mapping[str, float],
                   world: Mapping[str, float]) -> Judgement:
        if answer.error is not None:
            return Judgement(q.key, "invalid", q.value, answer)
        if answer.value is None:
            return Judgement(q.key, "missing", q.value, answer)
        if self.tolerance.accepts(answer.value, q.value, answer.decimals):
            return Judgement(q.key, "correct", q.value, answer)
        consistent = q.compute(*[world[d] for d in q.depends_on])
        used = self.own_wrong_inputs(q, numbers)
        if used and self.tolerance.accepts(answer.value, consistent, answer.decimals):
            return Judgement(q.key, "follow_through", q.value, answer, used, consistent)
        return Judgement(q.key, "wrong", q.value, answer, (), consistent)

    def own_wrong_inputs(self, q: Quantity, numbers: Mapping[str, float]) -> tuple[str, ...]:
        """The student's answers upstream of `q` that are not correct (those a follow-through rests on)."""
        found: list[str] = []
        seen: set[str] = set()
        stack = list(q.depends_on)
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            if key in numbers:
                if not self.tolerance.accepts(numbers[key], self.trace[key].value):
                    found.append(key)
                continue  # their own value stands in for everything above it
            stack.extend(self.trace[key].depends_on)
        order = {k: n for n, k in enumerate(self.trace.keys())}
        return tuple(sorted(found, key=order.__getitem__))

    def _diagnose(self, wrong: list[tuple[Quantity, Answer]], numbers: Mapping[str, float]) -> dict[str, Mistake]:
        """For each wrong answer, the catalogued mistake that reproduces it.

        First each mistake's own rule at that very step (from the student's world); then, for answers
        still unexplained, a mistake made in an earlier step the student did not write down: the world is
        recomputed under the mistake's rule (their own answers stay as given) and the answer compared
        with what follows.
        """
        right = self.world(numbers)
        found: dict[str, Mistake] = {}
        for q, answer in wrong:
            right_here = q.compute(*[right[d] for d in q.depends_on])
            for mistake in self.mistakes:
                if self._explains(mistake.candidates(self.trace, q, right), q, answer, right_here):
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
