"""A worked solution as one self-contained HTML file: MathML for the formulas, the network as inline SVG,
inline CSS; no script and no network access, readable on a phone (each formula scrolls on its own)."""

from __future__ import annotations

from html import escape

from tutor.views.document.mathtext import label_tree, parse, to_mathml
from tutor.views.document.sections import Document, Line, headed

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.45; margin: 0 auto;
       max-width: 60rem; padding: 0.75rem 1rem 3rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid #ccc; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-bottom: 0.25rem; }
.intro p { margin: 0.2rem 0; }
.picture { overflow-x: auto; margin: 1rem 0; } .picture svg { max-width: 100%; height: auto; }
.q { overflow-x: auto; overflow-y: hidden; padding: 0.25rem 0; border-bottom: 1px dotted #ddd; }
.q math { font-size: 1.1rem; display: inline math; math-style: normal; margin: 0.2rem 0; }
mtable { text-align: left; } mtd { text-align: left; } mtd:first-child { text-align: right; } .key { font: 0.75rem ui-monospace, monospace; color: #666; }
.note { font-size: 0.9rem; color: #444; margin: 0.1rem 0 0.3rem; }
@media (max-width: 40rem) { body { padding: 0.5rem; } .q math { font-size: 1rem; } }
@media print { .picture { break-inside: avoid; } }
"""


def quantity_math(line: Line) -> str:
    """One quantity as a MathML table: label = formula, = numbers, = value, aligned on the signs."""
    rows = [(to_mathml(label_tree(line.label)), to_mathml(parse(line.formula)))]
    if line.numbers is not None:
        rows.append(("", to_mathml(parse(line.numbers))))
    if line.value != line.formula:
        rows.append(("", to_mathml(parse(line.value))))
    cells = "".join(f"<mtr><mtd>{left}</mtd><mtd><mo>=</mo>{right}</mtd></mtr>" for left, right in rows)
    return f'<math display="block"><mtable columnalign="right left">{cells}</mtable></math>'


def to_html(document: Document, picture: str | None = None) -> str:
    """The page; `picture` is an inline SVG of the network (from tutor.views.svg), shown before the solution."""
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(document.title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{escape(document.title)}</h1>", '<div class="intro">']
    out += [f"<p>{escape(line)}</p>" for line in document.intro]
    out.append("</div>")
    if picture:
        out.append(f'<figure class="picture">{picture}</figure>')
    for section, group in headed(document):
        if section is not None:
            out.append(f"<h2>{escape(section)}</h2>")
        if group.layer is not None:
            out.append(f"<h3>Layer {group.layer}</h3>")
        for line in group.lines:
            note = f'<p class="note">{escape(line.note)}</p>' if line.note else ""
            out.append(f'<div class="q" id="{escape(line.key)}">{quantity_math(line)}'
                       f'<div class="key">{escape(line.key)}</div>{note}</div>')
    out.append("<h2>Summary</h2><ul>")
    out += [f"<li>{escape(line)}</li>" for line in document.summary]
    out += ["</ul>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
