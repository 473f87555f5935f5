"""Output sinks: colour only on a terminal and never with NO_COLOR; plain text never loads rich's console."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tutor.views.layout import Column, cell, paragraph, render_table
from tutor.views.output import PlainSink, RichSink, make_sink, output_width, wants_colour


class FakeTerminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("NO_COLOR", "COLUMNS", "TERM"):
        monkeypatch.delenv(name, raising=False)


def test_colour_only_on_a_terminal(monkeypatch):
    assert wants_colour(FakeTerminal(), plain=False)
    assert not wants_colour(io.StringIO(), plain=False)
    assert not wants_colour(FakeTerminal(), plain=True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(FakeTerminal(), plain=False)


def test_width_from_columns_or_80(monkeypatch):
    assert output_width(io.StringIO()) == 80
    monkeypatch.setenv("COLUMNS", "100")
    assert output_width(io.StringIO()) == 100


def test_make_sink_picks_rich_only_for_colour():
    assert isinstance(make_sink(FakeTerminal()), RichSink)
    assert isinstance(make_sink(io.StringIO()), PlainSink)


def test_rich_sink_styles_and_plain_sink_does_not():
    lines = [[("bold text", "bold"), (" and plain", "")]]
    terminal = FakeTerminal()
    RichSink(terminal, width=80).write(lines)
    assert "\x1b[1m" in terminal.getvalue() and "bold text and plain" in _strip_ansi(terminal.getvalue())
    plain = io.StringIO()
    PlainSink(plain, width=80).write(lines)
    assert plain.getvalue() == "bold text and plain\n"


def test_rich_sink_does_not_read_markup():
    terminal = FakeTerminal()
    RichSink(terminal, width=80).write([[("[bold]x[1][/bold]", "")]])
    assert "[bold]x[1][/bold]" in _strip_ansi(terminal.getvalue())


def test_table_wraps_the_formula_column_to_the_width():
    rows = [[cell("net_h1", "net1_1"), cell("w1 * i1 + " * 12 + "b1"), cell("0.3775")]]
    columns = [Column("quantity"), Column("formula", wrap=True), Column("value", "right")]
    for ascii_only in (False, True):
        lines = render_table(columns, rows, 60, ascii_only=ascii_only)
        texts = ["".join(t for t, _ in line) for line in lines]
        assert max(len(t) for t in texts) <= 60
        body = texts[3:-1] if ascii_only else texts[2:]
        assert len(body) >= 2  # the formula wrapped onto more lines than the two the cell has
        assert sum(t.count("i1") for t in body) == 12


def test_paragraph_wraps_each_line():
    lines = paragraph("a " * 50 + "\nshort", 20)
    texts = ["".join(t for t, _ in line) for line in lines]
    assert all(len(t) <= 20 for t in texts) and texts[-1] == "short"


def test_plain_solve_does_not_import_rich_console():
    code = ("import sys\nfrom tutor.cli.app import app\ntry:\n    app(['solve', 'problems/mazur-2-2-2.yaml'])\n"
            "except SystemExit:\n    pass\nprint('rich.console' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stderr.strip().splitlines()[-1] == "False"


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
