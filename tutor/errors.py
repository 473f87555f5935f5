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
    """A ``; did you mean 'x'?`` hint for a mistyped name, or an empty string."""
    import difflib  # only needed for an error message

    match = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def plural(count: int, word: str) -> str:
    """"1 row", "2 rows": a count with its noun."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ProblemError(UserError):
    """A problem file that cannot be read or does not describe a valid network."""


class KeyLookupError(UserError):
    """A quantity key (or display label) that the problem does not have."""
