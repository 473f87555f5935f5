"""A worked solution as a standalone LaTeX document: a section per part of the step, an ``align*`` per layer."""

from __future__ import annotations

from tutor.views.document.mathtext import latex_text, label_tree, to_latex
from tutor.views.document.markdown import group_latex
from tutor.views.document.sections import Document, headed

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{amsmath}
\usepackage[margin=2cm]{geometry}
\allowdisplaybreaks
"""


def to_latex_document(document: Document) -> str:
    out = [PREAMBLE.rstrip("\n"), rf"\title{{{latex_text(document.title)}}}", r"\date{}", r"\begin{document}",
           r"\maketitle", ""]
    out += [latex_text(line) + r"\\" for line in document.intro]
    for section, group in headed(document):
        if section is not None:
            out += ["", rf"\section*{{{latex_text(section)}}}"]
        if group.layer is not None:
            out += ["", rf"\subsection*{{Layer {group.layer}}}"]
        out += [r"\begin{align*}", group_latex(group), r"\end{align*}"]
        notes = [line for line in group.lines if line.note]
        if notes:
            out.append(r"\begin{itemize}")
            out += [rf"\item ${to_latex(label_tree(line.label))}$: {latex_text(line.note)}" for line in notes]
            out.append(r"\end{itemize}")
    out += ["", r"\section*{Summary}", r"\begin{itemize}"]
    out += [rf"\item {latex_text(line)}" for line in document.summary]
    out += [r"\end{itemize}", r"\end{document}"]
    return "\n".join(out) + "\n"
