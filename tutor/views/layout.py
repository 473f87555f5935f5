"""A small, fast layout of tables and paragraphs into styled lines.

A styled line is a list of (text, style) pieces; `tutor.views.output` writes them, through rich when there
is colour to show, as plain text otherwise. rich's own Table measures and wraps every cell through its
full layout engine, which costs most of `solve`'s run time on a typical problem; these tables only need
fixed columns, one wrapping column and a style per cell line, so laying them out here is several times
faster and gives the same text on every machine and rich version.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass


def cell_len(text: str) -> int:
    """Columns `text` takes on a terminal: its length for ASCII (nearly every cell), else rich's measure (wide
    characters take two), whose tables are loaded only then."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len as measured

    return measured(text)


#: A space that never breaks a line (printed as a plain space): keeps ``w5 = 0.4 (h1 -> o1)`` together.
NBSP = "\u00a0"

#: One line of a cell: its text and a rich style ("" for none).
Line = tuple[str, str]
Cell = list[Line]
#: One output line: pieces of text, each with its style.
StyledLine = list[tuple[str, str]]


def paragraph(text: str, width: int, style: str = "") -> list[StyledLine]:
    """Text wrapped to `width` (each of its own lines separately), every line in one style.

    Lines break only at spaces: a label, key or path longer than the width stays whole.
    """
    return styled_paragraph([(text, style)], width)


def wrapped(text: str, width: int, indent: str = "    ") -> list[str]:
    """Plain text wrapped at spaces to `width`, continuation lines indented (a path or name stays whole)."""
    return ["".join(piece for piece, _ in line) for line in styled_paragraph([(text, "")], width, indent=indent)]


#: The narrowest the text column of a listing gets (a shape too long for its column moves to a line of its own).
LISTING_TEXT_WIDTH = 28


def listing(rows: list[tuple[str, str, str]], width: int) -> list[str]:
    """Rows of (name, shape, text) in aligned columns within `width`, each text wrapped in its own column.

    The shape column is as wide as the shapes that leave the text `LISTING_TEXT_WIDTH` columns; a longer
    shape (an image network's ``1x4x4-1x3x3-...``) ends its row's first line, and the text starts under the
    text column on the next, so every text line starts at the same column.
    """
    name_width = max((len(name) for name, _, _ in rows), default=0) + 2
    room = width - name_width - LISTING_TEXT_WIDTH
    shape_width = max((len(shape) + 2 for _, shape, _ in rows if len(shape) + 2 <= room), default=0)
    column = max(min(name_width + shape_width, width - LISTING_TEXT_WIDTH), 4)
    lines: list[str] = []
    for name, shape, text in rows:
        head = f"{name:<{name_width}}{shape:<{shape_width}}"
        if len(head.rstrip()) + 1 > column:  # the shape (or name) leaves no space before the text: its own line
            lines.append(head.rstrip())
            head = ""
        wrapped = ["".join(piece for piece, _ in line) for line in paragraph(text, width - column)]
        lines.extend(f"{head if k == 0 else '':<{column}}{line}".rstrip() for k, line in enumerate(wrapped))
    return lines


def styled_paragraph(pieces: StyledLine, width: int, indent: str = "") -> list[StyledLine]:
    """Styled pieces wrapped at spaces to `width`, keeping each word's style; `\\n` starts a new line.

    Words are never split (a label cut in two cannot be read or typed), also where a word runs on from
    one piece into the next; continuation lines get `indent`.
    """
    lines: list[StyledLine] = []
    current: StyledLine = []
    used = 0
    for word, spaces in _words(pieces):
        if word is None:  # a line break in the text
            lines.append(current)
            current, used = [], 0
            continue
        size = sum(cell_len(text) for text, _ in word)
        if used and size and used + size > width:
            _trim(current)
            lines.append(current)
            current, used = ([(indent, "")], cell_len(indent)) if indent else ([], 0)
        current += word + ([(spaces, word[-1][1])] if spaces else [])
        used += size + len(spaces)
    lines.append(current)
    for line in lines:
        _trim(line)
    return [_merged([(text.replace(NBSP, " "), style) for text, style in line]) or [("", "")] for line in lines]


def _words(pieces: StyledLine) -> list[tuple[StyledLine | None, str]]:
    """The words of styled pieces, each as its styled fragments and the spaces after it; (None, "") for a
    line break. A word without fragments holds spaces that start a line (an indentation)."""
    words: list[tuple[StyledLine | None, str]] = []
    word: StyledLine = []
    for text, style in pieces:
        for n, line in enumerate(text.split("\n")):
            if n:
                if word:
                    words.append((word, ""))
                    word = []
                words.append((None, ""))
            for part in re.split(r"( +)", line):
                if not part:
                    continue
                if part[0] != " ":
                    word.append((part, style))
                elif word:
                    words.append((word, part))
                    word = []
                else:  # spaces at the start of a line, or after a line break
                    words.append(([("", style)], part))
    if word:
        words.append((word, ""))
    return words


def _merged(line: StyledLine) -> StyledLine:
    """Neighbouring pieces of one style joined (one escape sequence per run of words on a terminal)."""
    out: StyledLine = []
    for text, style in line:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        else:
            out.append((text, style))
    return out


def _trim(line: StyledLine) -> None:
    """Drop the blanks at the end of a styled line."""
    while line and not line[-1][0].rstrip(" "):
        line.pop()
    if line:
        line[-1] = (line[-1][0].rstrip(" "), line[-1][1])


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
    A table that cannot fit even so is stacked: each row as a block of ``header: value`` lines.
    """
    widths = _widths(columns, rows, width, ascii_only)
    borders = 3 * len(columns) + 1 if ascii_only else 2 * (len(columns) - 1)
    if sum(widths) + borders > width and len(columns) > 1:
        return stacked_table(columns, rows, width, title=title, header_style=header_style)
    rows = [[_wrap(c, widths[n]) if columns[n].wrap else c for n, c in enumerate(row)] for row in rows]
    out: list[StyledLine] = styled_paragraph([(title, "")], width) if title else []
    frame: StyledLine = [("+" + "+".join("-" * (w + 2) for w in widths) + "+", "")]
    if ascii_only:
        out.append(frame)
    headers = [_wrap([(c.header, header_style)], widths[n]) if c.wrap else [(c.header, header_style)]
               for n, c in enumerate(columns)]  # a squeezed wrap column wraps its header too
    for index in range(max(len(h) for h in headers)):
        out.append(_line(columns, widths, headers, index, ascii_only))
    out.append(frame if ascii_only else [(rule * (sum(widths) + 2 * (len(widths) - 1)), "")])
    for row in rows:
        for index in range(max((len(c) for c in row), default=1)):
            out.append(_line(columns, widths, row, index, ascii_only))
    if ascii_only:
        out.append(frame)
    return out


def stacked_table(columns: list[Column], rows: list[list[Cell]], width: int, *, title: str = "",
                  header_style: str = "bold") -> list[StyledLine]:
    """A table too wide for `width` as blocks: each row's first cell, then ``header: value`` for the rest,
    run together and wrapped (a value is never cut)."""
    out: list[StyledLine] = styled_paragraph([(title, "")], width) if title else []
    for row in rows:
        first = [(text, style or header_style) for text, style in row[0] if text.strip()] if row else []
        for piece in first:
            out.extend(styled_paragraph([piece], width))
        pieces: StyledLine = []
        for column, lines in zip(columns[1:], row[1:]):
            texts = [text.strip() for text, _ in lines if text.strip()]
            if not texts:
                continue
            style = next((s for t, s in lines if t.strip()), "")
            value = " ".join(texts).replace(" ", NBSP) if len(" ".join(texts)) < width // 2 else " ".join(texts)
            pieces += [(f", {column.header}:{NBSP}" if pieces else f"  {column.header}:{NBSP}", ""), (value, style)]
        if pieces:
            out.extend(styled_paragraph(pieces, width, indent="    "))
    return out


def _widths(columns: list[Column], rows: list[list[Cell]], width: int, ascii_only: bool) -> list[int]:
    natural = [max([cell_len(c.header)] + [cell_len(text) for row in rows for text, _ in row[n]])
               for n, c in enumerate(columns)]
    borders = 3 * len(columns) + 1 if ascii_only else 2 * (len(columns) - 1)
    spare = width - borders - sum(natural)
    wrapping = [n for n, c in enumerate(columns) if c.wrap]
    if spare < 0 and wrapping:
        n = wrapping[0]
        longest_word = max((cell_len(word) for row in rows for text, _ in row[n] for word in text.split()),
                           default=0)
        natural[n] = max(16, longest_word + 2, natural[n] + spare)  # + 2: the continuation lines' indent
    return natural


def _wrap(lines: Cell, width: int) -> Cell:
    out: Cell = []
    for text, style in lines:
        if cell_len(text) <= width:
            out.append((text, style))
            continue
        parts = textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False,
                              break_long_words=False) or [""]
        out.extend((part, style) for part in parts)
    return out


def _line(columns: list[Column], widths: list[int], row: list[Cell], index: int, ascii_only: bool) -> StyledLine:
    pieces: StyledLine = [("| ", "")] if ascii_only else []
    for n, (column, cells) in enumerate(zip(columns, row)):
        text, style = cells[index] if index < len(cells) else ("", "")
        text = text.replace(NBSP, " ")
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
