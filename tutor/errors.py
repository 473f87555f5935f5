"""The project's own errors: every user mistake becomes one of these, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass
class UserError(Exception):
    """A mistake in something the user gave us; the CLI prints `str(error)` and exits with code 2.

    `source` is the file (or other input) the mistake is in, `line`/`column` are 1-based where known,
    and `field` is the dotted path of the offending entry, e.g. ``layers[1].weights``.
    """

    message: str
    source: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = self.source or ""
        if where and self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}" if where else what


def closest(word: object, choices: Sequence[str]) -> str:
    """A ``; did you mean 'x'?`` hint for a mistyped name, or an empty string.

    Only a close match is suggested: one typo (a letter wrong, missing, extra or two swapped) in a name of
    up to three letters, two up to eleven, one per four letters beyond; `dL/dy_1` is not a mistyped
    `dL/db_3^1` (three typos).
    """
    import difflib  # only needed for an error message

    text = str(word)
    limit = 1 if len(text) <= 3 else max(2, len(text) // 4)
    for match in difflib.get_close_matches(text, list(choices), n=5, cutoff=0.6):
        if typos(text.lower(), match.lower()) <= limit:
            return f"; did you mean '{match}'?"
    return ""


def typos(a: str, b: str) -> int:
    """The number of single-letter edits (replace, insert, delete, swap two neighbours) from a to b."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


def plural(count: int, word: str) -> str:
    """"1 row", "2 rows": a count with its noun."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ProblemError(UserError):
    """A problem file that cannot be read or does not describe a valid network."""


class KeyLookupError(UserError):
    """A quantity key (or display label) that the problem does not have."""
