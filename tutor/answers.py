"""Reading what students give: one typed answer, or a whole answer sheet (YAML: key -> number).

A value may be a number, a number in quotes, or simple arithmetic (`0.5 - 0.5*0.082167`); keys may be
the trace's keys or the problem's display labels (`w5+`, `dE_total/dw5`). Anything that is not a number
is a format error for that key (verdict `invalid`), never a wrong answer. Sheets are untrusted: they are
read with the safe loader, within a size limit, and nothing in them is executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.errors import UserError
from tutor.expression import ExpressionError, decimals_given, evaluate
from tutor.judge import Answer
from tutor.trace import Trace
from tutor.yaml_safe import parse_yaml, read_text, top_level_scalars

#: Answer sheets are small; anything bigger is refused before parsing.
SHEET_MAX_BYTES = 256 * 1024


def parse_answer(key: str, text: str | None) -> Answer:
    """An answer from typed text: a number, an expression, nothing (missing) or a format error."""
    if text is None or not str(text).strip():
        return Answer(key)
    text = str(text).strip()
    try:
        value = evaluate(text)
    except ExpressionError as exc:
        return Answer(key, text=text, error=exc.message)
    return Answer(key, value, text, decimals_given(text))


def answer_from_yaml(key: str, value: Any, raw: str | None) -> Answer:
    """An answer from a parsed sheet value (`raw` is its text as written, when it was a plain scalar)."""
    if value is None:
        return Answer(key)
    if isinstance(value, bool):
        return Answer(key, text=str(value).lower(), error="expected a number, got true/false")
    if isinstance(value, (int, float)):
        return parse_answer(key, raw if raw is not None else repr(value))
    if isinstance(value, str):
        return parse_answer(key, value)
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__
    return Answer(key, error=f"expected a number, got {kind}")


@dataclass
class Sheet:
    """A student's answers by trace key, and the format problems found while reading them."""

    source: str
    answers: dict[str, Answer] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # e.g. unknown or duplicate keys


def parse_sheet(text: str, trace: Trace, *, source: str = "<sheet>") -> Sheet:
    """Read an answer sheet's text against a trace. A sheet that is not a YAML mapping is a `UserError`."""
    data = parse_yaml(text, source=source, max_bytes=SHEET_MAX_BYTES)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError("an answer sheet is a mapping of keys to numbers (key: value, one per line)", source=source)
    raw = top_level_scalars(text)
    sheet = Sheet(source)
    given_as: dict[str, str] = {}
    for name, value in data.items():
        where = raw.get(str(name), (None, None, None))
        position = f"line {where[1]}: " if where[1] else ""
        try:
            key = trace.resolve(str(name))
        except UserError as exc:
            sheet.problems.append(f"{position}{exc.message}")
            continue
        if key in given_as:
            message = f"'{name}' and '{given_as[key]}' both give {key}; give each value once"
            sheet.problems.append(f"{position}{message}")
            sheet.answers[key] = Answer(key, text=str(value), error=message)
            continue
        given_as[key] = str(name)
        sheet.answers[key] = answer_from_yaml(key, value, where[0])
    return sheet


def load_sheet(path: str | Path, trace: Trace) -> Sheet:
    """Read an answer sheet file (at most SHEET_MAX_BYTES)."""
    text = read_text(path, max_bytes=SHEET_MAX_BYTES, what="answer sheet")
    return parse_sheet(text, trace, source=str(path))
