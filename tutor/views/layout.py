"""A small, fast layout of tables and paragraphs into styled lines.

A styled line is a list of (text, style) pieces; `tutor.views.output` writes them, through rich when there
is colour to show, as plain text otherwise. rich's own Table measures and wraps every cell through its
full layout engine, which costs most of `solve`'s run time on a typical problem; these tables only need
fixed columns, one wrapping column and a style per cell line, so laying them out here is several times
faster and gives the same text on every machine and rich version.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.cells import cell_len

#: One line of a cell: its text and a rich style ("" for none).
Line = tuple[str, str]
Cell = list[Line]
#: One output line: pieces of text, each with its style.
StyledLine = list[tuple[str, str]]


def paragraph(text: str, width: int, style: str = "") -> list[StyledLine]:
    """Text wrapped to `width` (each of its own lines separately), every line in one style."""
    lines: list[StyledLine] = []
    for line in text.split("\n"):
        parts = textwrap.wrap(line, width, break_on_hyphens=False) if cell_len(line) > width else [line]
        lines.extend([(part, style)] for part in parts or [""])
    return lines


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"  # or "right"
    wrap: bool = False  # at most one column wraps to fit the width


def cell(*lines: str | Line) -> Cell:
    """A cell from lines: plain strings, or (text, style) pairs."""
    out: Cell = []
    for line in lines:
        text, style = (line, "") if isinstance(line, str) else line
        out.extend((part, style) for part in text.split("\n"))
    return out


def render_table(columns: list[Column], rows: list[list[Cell]], width: int, *, ascii_only: bool = False,
                 title: str = "", header_style: str = "bold", rule: str = "-") -> list[StyledLine]:
    """Lay out rows of cells under the column headers, wrapping the wrap column to fit `width`.

    ASCII tables are framed (``+---+``, ``| a | b |``); the others have a rule under the header only.
    """
    widths = _widths(columns, rows, width, ascii_only)
    rows = [[_wrap(c, widths[n]) if columns[n].wrap else c for n, c in enumerate(row)] for row in rows]
    out: list[StyledLine] = [[(title, "")]] if title else []
    frame: StyledLine = [("+" + "+".join("-" * (w + 2) for w in widths) + "+", "")]
    if ascii_only:
        out.append(frame)
    out.append(_line(columns, widths, [[(c.header, header_style)] for c in columns], 0, ascii_only))
    out.append(frame if ascii_only else [(rule * (sum(widths) + 2 * (len(widths) - 1)), "")])
    for row in rows:
        for index in range(max((len(c) for c in row), default=1)):
            out.append(_line(columns, widths, row, index, ascii_only))
    if ascii_only:
        out.append(frame)
    return out


def _widths(columns: list[Column], rows: list[list[Cell]], width: int, ascii_only: bool) -> list[int]:
    natural = [max([cell_len(c.header)] + [cell_len(text) for row in rows for text, _ in row[n]])
               for n, c in enumerate(columns)]
    borders = 3 * len(columns) + 1 if ascii_only else 2 * (len(columns) - 1)
    spare = width - borders - sum(natural)
    wrapping = [n for n, c in enumerate(columns) if c.wrap]
    if spare < 0 and wrapping:
        n = wrapping[0]
        natural[n] = max(16, natural[n] + spare)
    return natural


def _wrap(lines: Cell, width: int) -> Cell:
    out: Cell = []
    for text, style in lines:
        if cell_len(text) <= width:
            out.append((text, style))
            continue
        parts = textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [""]
        out.extend((part, style) for part in parts)
    return out


def _line(columns: list[Column], widths: list[int], row: list[Cell], index: int, ascii_only: bool) -> StyledLine:
    pieces: StyledLine = [("| ", "")] if ascii_only else []
    for n, (column, cells) in enumerate(zip(columns, row)):
        text, style = cells[index] if index < len(cells) else ("", "")
        pad = " " * max(0, widths[n] - cell_len(text))
        if n:
            pieces.append((" | " if ascii_only else "  ", ""))
        pieces += [(pad, ""), (text, style)] if column.justify == "right" else [(text, style), (pad, "")]
    if ascii_only:
        pieces.append((" |", ""))
    else:  # no trailing blanks
        while pieces and not pieces[-1][0].strip():
            pieces.pop()
    return pieces
