"""Worked solutions as documents a course publishes: Markdown, LaTeX and HTML, from one walk of the trace
(`sections.build_document`)."""

from __future__ import annotations

from typing import Sequence

from tutor.trace.trace import Trace

FORMATS = ("markdown", "latex", "html")


def render(trace: Trace, fmt: str, keys: Sequence[str] = (), digits: int = 6) -> str:
    """The worked solution of `trace` as `fmt` (markdown, latex or html); only `keys`' derivations if given."""
    from tutor.views.document.sections import build_document

    document = build_document(trace, keys, digits)
    if fmt == "markdown":
        from tutor.views.document.markdown import to_markdown

        return to_markdown(document)
    if fmt == "latex":
        from tutor.views.document.latex import to_latex_document

        return to_latex_document(document)
    if fmt == "html":
        from tutor.views.document.html import to_html
        from tutor.views.svg import draw_svg

        return to_html(document, draw_svg(trace, backward=False))
    raise ValueError(f"unknown document format {fmt!r}")
