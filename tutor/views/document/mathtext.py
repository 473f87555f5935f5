"""Formulas in the trace's plain notation (``1/2 * (t_o1 - out_o1)^2``) as LaTeX and as MathML.

A formula is read once into a small tree (identifiers, numbers, operators, sub- and superscripts,
groups) and written out in either language, so the two never disagree. Names keep their letters:
``net_h1`` is net with subscript h1, ``w_11^2`` is w with subscript 11 and superscript 2, ``w5+`` (a new
value) is w5 with a superscript plus; everything else (``@1`` of a sample, ``(1,1)`` of a map) is shown
as written. Every character of user text is escaped for the language it is written in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape as html_escape

#: Functions LaTeX has its own command for; any other name called with brackets is set upright as an operator
#: name (activations and losses name their own functions, so none is listed here).
LATEX_FUNCTIONS = {"exp": r"\exp", "ln": r"\ln", "log": r"\log", "max": r"\max", "min": r"\min", "sin": r"\sin",
                   "cos": r"\cos"}
KEYWORDS = frozenset({"if", "else", "and", "or", "otherwise"})
#: Names of Greek letters written out in the trace (eta, beta1, delta_o1): shown as the letter.
GREEK = {"alpha": "\u03b1", "beta": "\u03b2", "gamma": "\u03b3", "delta": "\u03b4", "eps": "\u03b5",
         "epsilon": "\u03b5", "eta": "\u03b7", "lambda": "\u03bb", "mu": "\u03bc", "rho": "\u03c1"}
_GREEK_NAME = re.compile(r"(" + "|".join(sorted(GREEK, key=len, reverse=True)) + r")([0-9]*)\Z")

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)|(?P<word>[A-Za-z][A-Za-z0-9]*)|(?P<op>.))")


@dataclass(frozen=True)
class Node:
    """One piece of a formula: `kind` is mi (a name), fn (a function's name), mn (a number), mo (an operator),
    text (a word),
    sub / sup (a base with a script) or row (a group)."""

    kind: str
    text: str = ""
    children: tuple["Node", ...] = ()


Tree = tuple[Node, ...]


def parse(text: str) -> Tree:
    """The tree of a formula or label written in the trace's notation."""
    tokens = [(m.lastgroup or "op", m.group(m.lastgroup or "op")) for m in _TOKEN.finditer(text)
              if m.lastgroup is not None]
    nodes, _ = _parse_row(tokens, 0, closing=None)
    return tuple(nodes)


def _parse_row(tokens: list[tuple[str, str]], at: int, closing: str | None) -> tuple[list[Node], int]:
    """Nodes up to the matching `closing` bracket (or the end); returns them and where it stopped."""
    nodes: list[Node] = []
    while at < len(tokens):
        kind, text = tokens[at]
        if closing is not None and kind == "op" and text == closing:
            return nodes, at
        if kind == "op" and text in "_^" and nodes and at + 1 < len(tokens):
            script, at = _parse_script(tokens, at + 1)
            nodes.append(Node("sub" if text == "_" else "sup", children=(nodes.pop(), script)))
            continue
        if kind == "op" and text == "(":
            inner, at = _parse_row(tokens, at + 1, ")")
            closed = at < len(tokens)
            nodes.append(Node("row", children=(Node("mo", "("), *inner, *((Node("mo", ")"),) if closed else ()))))
            at += 1
            continue
        calls = kind == "word" and len(text) > 1 and at + 1 < len(tokens) and tokens[at + 1] == ("op", "(")
        nodes.append(Node("fn", text) if calls and not _GREEK_NAME.match(text) else _leaf(kind, text))
        at += 1
    return nodes, at


def _parse_script(tokens: list[tuple[str, str]], at: int) -> tuple[Node, int]:
    """The script after `_` or `^`: one name or number, a bracketed group, or a sign with a number."""
    kind, text = tokens[at]
    if kind == "op" and text == "(":
        inner, end = _parse_row(tokens, at + 1, ")")
        return Node("row", children=tuple(inner)), end + 1
    if kind == "op" and text in "-+" and at + 1 < len(tokens) and tokens[at + 1][0] == "num":
        return Node("mn", text + tokens[at + 1][1]), at + 2
    return _leaf(kind, text, script=True), at + 1


def _leaf(kind: str, text: str, script: bool = False) -> Node:
    if kind == "num":
        return Node("mn", text)
    if kind == "word":
        if text in KEYWORDS and not script:
            return Node("text", text)
        greek = _GREEK_NAME.match(text)
        if greek:
            letter = Node("mi", greek[1])
            return Node("sub", children=(letter, Node("mn", greek[2]))) if greek[2] else letter
        return Node("mi", text)
    return Node("mo", text)


# -- LaTeX --------------------------------------------------------------------------------------------------

_LATEX_SPECIAL = {"\\": r"\backslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                  "%": r"\%", "~": r"\sim{}", "_": r"\_", "^": r"\hat{}", "*": r"\cdot", "@": "@",
                  "<": "<", ">": ">", "|": r"\vert{}"}
_LATEX_TEXT_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                       "%": r"\%", "~": r"\textasciitilde{}", "_": r"\_", "^": r"\textasciicircum{}",
                       "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def latex_text(text: str) -> str:
    """Plain text (a title, a note) escaped for LaTeX's text mode."""
    return "".join(_LATEX_TEXT_SPECIAL.get(ch, ch) for ch in text)


def to_latex(tree: Tree) -> str:
    """LaTeX math (for align*, aligned or $...$) of a tree."""
    return "".join(_latex(node) for node in tree).strip()


def _latex(node: Node) -> str:
    if node.kind == "mn":
        return _latex_number(node.text)
    if node.kind == "fn":
        return LATEX_FUNCTIONS.get(node.text, rf"\operatorname{{{node.text}}}")
    if node.kind == "mi":
        if node.text in GREEK:
            return "\\varepsilon" if node.text == "eps" else f"\\{node.text}"
        return node.text if len(node.text) == 1 else rf"\mathrm{{{node.text}}}"
    if node.kind == "text":
        return rf"\text{{ {node.text} }}"
    if node.kind == "mo":
        if node.text in "+-=":
            return f" {node.text} "
        if node.text == "*":
            return r" \cdot "
        if not node.text.isascii():  # a letter of the problem's notation, such as é: text mode takes it
            return rf"\text{{{node.text}}}"
        return _LATEX_SPECIAL.get(node.text, node.text)
    if node.kind == "row":
        return "".join(_latex(child) for child in node.children)
    base, script = node.children
    mark = "_" if node.kind == "sub" else "^"
    if node.kind == "sup" and base.kind == "sub":  # w_11^2: both scripts on one base
        return f"{_latex(base)}^{{{_latex(script).strip()}}}"
    return f"{{{_latex(base)}}}{mark}{{{_latex(script).strip()}}}"


def _latex_number(text: str) -> str:
    mantissa, _, exponent = text.lower().partition("e")
    if not exponent:
        return text
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


# -- MathML ------------------------------------------------------------------------------------------------


def to_mathml(tree: Tree) -> str:
    """MathML (the content of an <mrow>) of a tree; every text is escaped."""
    return "".join(_mathml(node) for node in tree)


def _mathml(node: Node) -> str:
    if node.kind == "mn":
        mantissa, _, exponent = node.text.lower().partition("e")
        if exponent:
            return (f"<mrow><mn>{html_escape(mantissa)}</mn><mo>&#xD7;</mo><msup><mn>10</mn>"
                    f"<mn>{int(exponent)}</mn></msup></mrow>")
        return f"<mn>{html_escape(node.text)}</mn>"
    if node.kind == "fn":
        return f"<mi>{html_escape(node.text)}</mi><mo>&#x2061;</mo>"
    if node.kind == "mi" and node.text in GREEK:
        return f"<mi>{GREEK[node.text]}</mi>"
    if node.kind == "mi":
        variant = ' mathvariant="normal"' if len(node.text) > 1 else ""
        return f"<mi{variant}>{html_escape(node.text)}</mi>"
    if node.kind == "text":
        return f"<mtext>&#xA0;{html_escape(node.text)}&#xA0;</mtext>"
    if node.kind == "mo":
        if node.text == "@":  # a sample's number belongs to the name: no space around it
            return '<mo lspace="0" rspace="0">@</mo>'
        text = "&#x22C5;" if node.text == "*" else "&#x2212;" if node.text == "-" else html_escape(node.text)
        return f"<mo>{text}</mo>"
    if node.kind == "row":
        return "<mrow>" + "".join(_mathml(child) for child in node.children) + "</mrow>"
    base, script = node.children
    if node.kind == "sup" and base.kind == "sub":  # w_11^2: msubsup, both scripts beside the letter
        inner, below = base.children
        return (f"<msubsup>{_mathml(inner)}<mrow>{_mathml(below)}</mrow><mrow>{_mathml(script)}</mrow>"
                "</msubsup>")
    tag = "msub" if node.kind == "sub" else "msup"
    return f"<{tag}>{_mathml(base)}<mrow>{_mathml(script)}</mrow></{tag}>"


def label_tree(label: str) -> Tree:
    """A quantity's label: a trailing '+' (the new value of a parameter) becomes a superscript plus."""
    if label.endswith("+") and len(label) > 1:
        return (Node("sup", children=(Node("row", children=parse(label[:-1])), Node("mo", "+"))),)
    return parse(label)
