"""Worked solutions as documents (solve --format markdown|latex|html): each parses, shows every quantity of the
trace as label = formula = numbers = value, grouped by section, and its numbers evaluate to its values."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from tests.conftest import BUNDLED, BUNDLED_GRAPHS, STABLE_ENV
from tutor.cli.app import app
from tutor.solver import solve
from tutor.teach.expression import evaluate
from tutor.views.document import render
from tutor.views.document.mathtext import label_tree, latex_text, parse, to_latex, to_mathml
from tutor.views.document.sections import build_document

NAMES = [p.stem for p in BUNDLED] + [str(p) for p in BUNDLED_GRAPHS]
MATHML = "{http://www.w3.org/1998/Math/MathML}"


@pytest.fixture(scope="module", params=NAMES)
def solved(request):
    return request.param, solve(request.param)


def test_every_line_of_a_document_evaluates_to_its_value(solved):
    _, trace = solved
    document = build_document(trace, digits=17)
    lines = [line for group in document.groups for line in group.lines]
    assert [line.key for line in lines] == trace.keys()  # every quantity, in solution order
    for line in lines:
        if line.numbers is not None and "more terms" not in line.numbers:
            got = evaluate(line.numbers, formulas=True)
            assert math.isclose(got, float(line.value), rel_tol=1e-9, abs_tol=1e-12), line


def test_groups_follow_the_sections_in_order(solved):
    _, trace = solved
    groups = build_document(trace).groups
    order = ["forward", "loss", "backward", "updates"]
    ranks = [order.index(g.section) for g in groups]
    assert ranks == sorted(ranks) and ranks[0] == 0
    for group in groups:
        assert all(trace[line.key].section == group.section for line in group.lines)
        assert group.section == "loss" or all(trace[line.key].layer == group.layer for line in group.lines)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _environments(text: str) -> list[str]:
    """Begin/end of environments must nest; returns what is left open (nothing when balanced)."""
    stack: list[str] = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", text):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} closes nothing"
    return stack


def test_markdown_structure(solved):
    name, trace = solved
    text = render(trace, "markdown")
    assert text.startswith("# ")
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", text, re.S | re.M)
    assert blocks and text.count("$$") == 2 * len(blocks)
    for block in blocks:
        assert block.startswith(r"\begin{aligned}") and block.endswith(r"\end{aligned}")
        assert _environments(block) == [] and _balanced(block)
    assert "## Forward pass" in text and "## Backward pass" in text and "## Summary" in text
    rows = sum(block.count("&=") for block in blocks)
    assert rows >= len(trace)  # at least one row per quantity


def test_markdown_rows_of_a_quantity():
    trace = solve("mazur-2-2-2")
    text = render(trace, "markdown")
    assert "&= 0.298371" in text  # E_total
    assert r"{\mathrm{net}}_{\mathrm{h1}} &= \mathrm{w1} \cdot \mathrm{i1} + \mathrm{w2} \cdot \mathrm{i2} + " \
           r"\mathrm{b1} \\" + "\n&= 0.15 \\cdot 0.05 + 0.2 \\cdot 0.1 + 0.35 \\\\\n&= 0.3775" in text


def test_latex_is_a_standalone_document(solved):
    _, trace = solved
    text = render(trace, "latex")
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    assert _environments(text) == [] and _balanced(text)
    assert text.count(r"\begin{align*}") == len(build_document(trace).groups)
    prose = re.sub(r"\\begin\{align\*\}.*?\\end\{align\*\}|\$[^$]*\$", "", text, flags=re.S)
    for special in ("_", "^", "&", "%", "#"):
        assert not re.search(r"(?<!\\)" + re.escape(special), prose.replace(r"\textasciicircum{}", "")), special


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)
        if tag not in ("meta", "br", "img", "link", "input", "hr"):
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open.pop() == tag, tag


def test_html_is_self_contained_and_well_formed(solved):
    name, trace = solved
    text = render(trace, "html")
    parser = _Collector()
    parser.feed(text)
    assert parser.open == [] and parser.external == []  # balanced; no file or network to fetch
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "<script" not in text and "<style>" in text
    maths = re.findall(r"<math .*?</math>", text, re.S)
    assert len(maths) == len(trace)
    for q, math_text in zip(trace, maths):
        root = ET.fromstring(math_text.replace("<math ", '<math xmlns="http://www.w3.org/1998/Math/MathML" ', 1))
        rows = root.iter(MATHML + "mtr")
        last = list(rows)[-1]
        shown = "".join(last.itertext()).replace("\u00d7", "e").replace("\u2212", "-").rsplit("=", 1)[-1]
        assert _number(shown) == pytest.approx(q.value, rel=1e-5, abs=1e-9), q.key
    if not getattr(trace, "is_graph", False) and trace.problem.inputs.ndim != 4 and max(trace.problem.shape) <= 12:
        assert "<svg" in text  # the network's picture is inline


def _number(text: str) -> float:
    mantissa, _, exponent = text.partition("e10")
    return float(mantissa) * (10 ** int(exponent) if exponent else 1)


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_only_gives_the_derivation_and_what_it_needs(fmt):
    trace = solve("mazur-2-2-2")
    keys = [q.key for q in trace.closure(["new_w1_1_1"])]
    document = build_document(trace, ["w1+"])
    assert [line.key for g in document.groups for line in g.lines] == keys
    assert "loss" not in keys and "new_w1_1_1" in keys
    text = render(trace, fmt, ["w1+"])
    assert "0.149781" in text and "1.10591" in text and "0.358916" not in text  # w1+, net_o1, not w5+


def test_names_and_text_are_escaped():
    assert latex_text("a_b & 50% #1 ~ {x} ^ \\") == (r"a\_b \& 50\% \#1 \textasciitilde{} \{x\} "
                                                    r"\textasciicircum{} \textbackslash{}")
    assert to_latex(label_tree("w^1(1,1)+")) == "{{w}^{1}(1,1)}^{+}"
    assert to_latex(parse("eta * m_hat(w5) / (sqrt(v_hat(w5)) + eps)")) == (
        r"\eta \cdot {m}_{\mathrm{hat}}(\mathrm{w5})/(\operatorname{sqrt}({v}_{\mathrm{hat}}(\mathrm{w5})) + "
        r"\varepsilon)")
    assert to_latex(parse("1e-08")) == r"1 \times 10^{-8}"
    assert "<mi>&lt;b&gt;</mi>" not in to_mathml(parse("<b>")) and "&lt;" in to_mathml(parse("<b>"))


def test_solve_writes_a_document_file(runner, tmp_path):
    target = tmp_path / "mazur.html"
    result = runner.invoke(app, ["solve", "mazur-2-2-2", "--format", "html", "-o", str(target)], env=STABLE_ENV)
    assert result.exit_code == 0 and result.stdout == f"wrote {target}\n"
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    again = runner.invoke(app, ["solve", "mazur-2-2-2", "--format", "latex", "-o", str(target)], env=STABLE_ENV)
    assert again.exit_code == 2 and "already exists; use --force" in again.stderr
    shown = runner.invoke(app, ["solve", "mazur-2-2-2", "--format", "markdown"], env=STABLE_ENV)
    assert shown.stdout == render(solve("mazur-2-2-2"), "markdown")


def test_solve_text_to_a_file(runner, tmp_path):
    target = tmp_path / "mazur.txt"
    result = runner.invoke(app, ["solve", "mazur-2-2-2", "--format", "plain", "-o", str(target)], env=STABLE_ENV)
    assert result.exit_code == 0 and result.stdout == f"wrote {target}\n"
    plain = runner.invoke(app, ["solve", "mazur-2-2-2", "--format", "plain"], env=STABLE_ENV).stdout
    assert target.read_text(encoding="utf-8") == plain


@pytest.mark.parametrize("name", NAMES)
def test_every_value_of_a_document_copied_onto_a_sheet_is_graded_right(name):
    from tutor.teach.grader import Asked, Grader

    trace = solve(name)
    lines = [line for group in build_document(trace).groups for line in group.lines]
    grader = Grader(trace, asked=[Asked(q) for q in trace.quantities])
    sheet = "".join(f"{line.key}: {line.value}\n" for line in lines)
    result = grader.grade_text(sheet)
    assert [r.key for r in result.results if r.verdict != "correct"] == []
