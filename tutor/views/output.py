"""Where styled lines go: through rich when there is colour to show, straight to the stream otherwise.

Plain output (a pipe, a file, NO_COLOR, `--format plain`) never imports rich's console, which keeps
`solve` quick to start.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import IO, Iterable

from tutor.views.layout import StyledLine


def wants_colour(stream: IO[str], plain: bool) -> bool:
    """Colour only on a terminal, never with --format plain or when NO_COLOR is set (no-color.org)."""
    if plain or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def output_width(stream: IO[str]) -> int:
    """COLUMNS if set, else the terminal's width, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if getattr(stream, "isatty", lambda: False)():
        return shutil.get_terminal_size((80, 24)).columns
    return 80


class PlainSink:
    """Writes the text of styled lines, ignoring their styles."""

    def __init__(self, stream: IO[str] | None = None, width: int | None = None) -> None:
        self.stream = stream or sys.stdout
        self.width = width or output_width(self.stream)
        self.unicode = "utf" in (getattr(self.stream, "encoding", None) or "").lower()

    def write(self, lines: Iterable[StyledLine]) -> None:
        self.stream.write("".join("".join(text for text, _ in line) + "\n" for line in lines))


class RichSink:
    """Writes styled lines through a rich console (colour, terminal width)."""

    def __init__(self, stream: IO[str] | None = None, width: int | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stdout, width=width, highlight=False, emoji=False,
                               markup=False)
        self.width = self.console.width
        self.unicode = not self.console.legacy_windows and "utf" in self.console.encoding

    def write(self, lines: Iterable[StyledLine]) -> None:
        from rich.text import Text

        text = Text()
        for line in lines:
            for piece, style in line:
                text.append(piece, style=style or None)
            text.append("\n")
        self.console.print(text, end="", soft_wrap=True)


def make_sink(stream: IO[str] | None = None, plain: bool = False) -> PlainSink | RichSink:
    """The sink for `stream`: rich with colour on a terminal, plain text everywhere else."""
    stream = stream or sys.stdout
    width = output_width(stream)
    return RichSink(stream, width) if wants_colour(stream, plain) else PlainSink(stream, width)
