"""A worked solution as Markdown: headings per section and layer, each group's quantities in one
``$$\\begin{aligned} ... \\end{aligned}$$`` block (GitHub, Jupyter and KaTeX render it)."""

from __future__ import annotations

import re

from tutor.views.document.mathtext import label_tree, parse, to_latex
from tutor.views.document.sections import Document, Group, Line, headed

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<|~#{}$])")


def markdown_text(text: str) -> str:
    """User text (a name, a description) with Markdown's special characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def aligned_rows(line: Line) -> list[str]:
    """The rows of one quantity inside an aligned environment: label &= formula \\\\ &= numbers \\\\ &= value."""
    rows = [f"{to_latex(label_tree(line.label))} &= {to_latex(parse(line.formula))}"]
    if line.numbers is not None:
        rows.append(f"&= {to_latex(parse(line.numbers))}")
    if line.value != line.formula:
        rows.append(f"&= {to_latex(parse(line.value))}")
    return rows


def group_latex(group: Group, spacing: str = r"\\[6pt]") -> str:
    """All rows of a group, quantities apart by a little space."""
    blocks = [" \\\\\n".join(aligned_rows(line)) for line in group.lines]
    return f" {spacing}\n".join(blocks)


def to_markdown(document: Document) -> str:
    out = [f"# {markdown_text(document.title)}", ""]
    out += [markdown_text(line) + "  " for line in document.intro]
    for section, group in headed(document):
        if section is not None:
            out += ["", f"## {section}"]
        if group.layer is not None:
            out += ["", f"### Layer {group.layer}"]
        out += ["", "$$", r"\begin{aligned}", group_latex(group), r"\end{aligned}", "$$"]
        notes = [line for line in group.lines if line.note]
        if notes:
            out.append("")
            out += [f"- ${to_latex(label_tree(line.label))}$: {markdown_text(line.note)}" for line in notes]
    out += ["", "## Summary", ""]
    out += [f"- {markdown_text(line)}" for line in document.summary]
    return "\n".join(out) + "\n"
