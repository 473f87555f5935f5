"""Safe evaluation of the numbers and small arithmetic expressions that students type as answers.

A student may answer ``0.593``, ``1/(1+exp(-0.3775))``, ``0.5 - 0.5*0.082167`` or ``2^3``. The text
is parsed with ``ast.parse(..., mode="eval")`` and the tree is walked here against a whitelist;
nothing is ever handed to ``eval``/``exec``/``compile``. All arithmetic is done in Python floats,
so ``9^9^9`` is an overflow, not a billion-digit integer.

Accepted:

* decimal number literals: ``12``, ``0.5``, ``.5``, ``3.``, ``1e-3`` (not hex, ``1_000``, complex);
* unary ``+``/``-``, binary ``+ - * /``, powers written ``^`` or ``**`` and round brackets, with
  the usual precedence: ``-2^2`` is -4 and ``2^3^2`` is 2^9;
* ``CONSTANTS``: ``e`` and ``pi``;
* ``FUNCTIONS``, called with positional arguments: ``exp``, ``ln``, ``log`` (natural log, like
  ``ln``), ``log10``, ``log2``, ``sqrt``, ``tanh``, ``sigmoid`` and ``abs`` take one argument;
  ``min`` and ``max`` take two or more.

With ``formulas=True``, `evaluate` also reads the notation of the worked solution's formulas: a
conditional on one comparison (``1 if 0.3 > 0 else 0``), ``erf``, and every registered elementwise
activation by name, with its parameters written as in the solution (``relu(0.3)``,
``leaky_relu(slope=0.1)(-0.3)``).

Function and constant names are case-insensitive. Surrounding whitespace and a leading ``=`` are
ignored, and the typographic ``−`` ``×`` ``·`` ``⋅`` ``÷`` mean ``- * * * /``. A comma only
separates function arguments: ``0,5`` is refused with a hint to write ``0.5``.

Anything else (names, attributes, indexing, strings, comparisons, ``%``, ``//``, lambdas, ...) is
an `ExpressionError` naming what was found, as are results that are not finite, division by
zero, out-of-domain arguments (``ln(0)``, ``sqrt(-1)``), exponents beyond ±1000 and texts longer
than 200 characters. `ExpressionError.column` is the 1-based position in the text as typed.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from typing import Callable, Mapping, NamedTuple

from tutor.errors import UserError, closest

#: Longest text accepted; checked before parsing, and it also bounds how deep the tree can nest.
MAX_LENGTH = 200
#: Deepest tree walked (a guard: MAX_LENGTH already keeps real trees well below this).
MAX_DEPTH = 200
#: Largest absolute exponent in a power.
MAX_EXPONENT = 1000


class ExpressionError(UserError):
    """A student's answer that is not a number or an expression we can (or may) evaluate."""


class Function(NamedTuple):
    """A whitelisted function: what it computes and how many arguments it takes."""

    apply: Callable[..., float]
    min_args: int
    max_args: int | None  # None: no upper limit


def _positive(name: str, x: float) -> float:
    if x <= 0:
        raise ValueError(f"{name} of a number <= 0 is undefined")
    return x


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError("sqrt of a negative number is undefined")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Written so that exp never overflows: for x < 0 use exp(x) / (1 + exp(x)).
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


FUNCTIONS: dict[str, Function] = {
    "exp": Function(math.exp, 1, 1),
    "ln": Function(lambda x: math.log(_positive("ln", x)), 1, 1),
    "log": Function(lambda x: math.log(_positive("log", x)), 1, 1),
    "log10": Function(lambda x: math.log10(_positive("log10", x)), 1, 1),
    "log2": Function(lambda x: math.log2(_positive("log2", x)), 1, 1),
    "sqrt": Function(_sqrt, 1, 1),
    "tanh": Function(math.tanh, 1, 1),
    "sigmoid": Function(_sigmoid, 1, 1),
    "abs": Function(abs, 1, 1),
    "min": Function(min, 2, None),
    "max": Function(max, 2, None),
}

CONSTANTS: dict[str, float] = {"e": math.e, "pi": math.pi}

#: Functions the worked solution's formulas use besides `FUNCTIONS` and the activations (``formulas=True``).
FORMULA_FUNCTIONS: dict[str, Function] = {"erf": Function(math.erf, 1, 1)}
#: Comparisons a formula's conditional may test.
_COMPARISONS: dict[type, Callable[[float, float], bool]] = {
    ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b, ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
}

_HELP = (
    "use numbers, + - * / ^, brackets and "
    + ", ".join([*FUNCTIONS, *CONSTANTS])
)
_TYPOGRAPHIC = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/", "^": "**"}
_DECIMAL = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
#: An integer with leading zeros (``007``), which Python refuses but ``007.`` it reads.
_LEADING_ZERO = re.compile(r"(?<![\w.])(?<![eE][+-])0[0-9]+(?![\w.])")
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?\Z")

#: How refused kinds of node are named in messages.
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Slice: "a slice",
    ast.List: "a list",
    ast.ListComp: "a list comprehension",
    ast.Set: "a set",
    ast.SetComp: "a set comprehension",
    ast.Dict: "a dictionary",
    ast.DictComp: "a dictionary comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional",
    ast.Lambda: "a lambda",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment",
    ast.Starred: "a starred expression",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
}
_OPERATORS: dict[type, str] = {
    ast.Mod: "'%'", ast.FloorDiv: "'//'", ast.MatMult: "'@'", ast.BitAnd: "'&'", ast.BitOr: "'|'",
    ast.LShift: "'<<'", ast.RShift: "'>>'", ast.Not: "'not'", ast.Invert: "'~'",
}


def evaluate(text: str, names: Mapping[str, float | None] | None = None, *, formulas: bool = False,
             max_length: int | None = None) -> float:
    """The value of a student's answer `text`, always a finite float; else an ExpressionError.

    `names` lets the text use quantities by name (labels or keys, ``delta_o1*out_h1``): each name's
    value, or None for a name that has no value to use yet. `formulas` also accepts the notation of the
    worked solution's formulas (see the module docstring).
    """
    stripped = text.strip()
    limit = MAX_LENGTH if max_length is None else max_length
    if len(stripped) > limit:
        raise ExpressionError(f"the expression is too long (at most {limit} characters)")
    text, origin, named = _substitute_names(text, names or {})
    source, columns = _prepare(text)
    columns = [origin[c - 1] for c in columns]
    if not source:
        raise ExpressionError("expected a number, got nothing")
    _check_brackets(source, columns)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escapes in a string we refuse anyway
            tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise _syntax_error(source, columns, error.offset) from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise ExpressionError("cannot read this as a number or an arithmetic expression") from None
    try:
        return _Evaluator(source, columns, formulas, named).visit(tree.body, 1)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None


def is_plain_number(text: str) -> bool:
    """Whether `text` is a plain decimal literal such as ``0.5``, ``-1e-3`` or ``.5``.

    Only the form is judged (``1e400`` is plain but not finite); it tells a grader that the
    student typed a rounded number, whose precision `decimals_given` reports.
    """
    return _plain_match(text) is not None


def decimals_given(text: str) -> int | None:
    """The decimal position of the last digit of a plain number as typed; None for an expression.

    ``0.593`` -> 3, ``0.5930`` -> 4, ``12`` -> 0, ``-0.25`` -> 2, ``1.5e-3`` -> 4 (0.0015). It is
    negative when the last digit is left of the point: ``1.5e3`` -> -2 (hundreds).
    """
    match = _plain_match(text)
    if match is None:
        return None
    fraction = match.group(1) or match.group(2) or ""
    return len(fraction) - int(match.group(3) or 0)


def _plain_match(text: str) -> re.Match[str] | None:
    stripped = text.strip()
    if len(stripped) > MAX_LENGTH:
        return None
    if stripped.startswith("="):
        stripped = stripped[1:].strip()
    return _PLAIN.match(stripped.replace("\u2212", "-"))


def _prepare(text: str) -> tuple[str, list[int]]:
    """The Python source to parse and, for each of its characters, its 1-based column in `text`.

    Whitespace becomes plain spaces (so the source is one line), typographic operators become
    ASCII and ``^`` becomes ``**``, textually, so that powers get Python's precedence for ``**``
    (binding tighter than unary minus, right-associative) rather than that of xor. An integer
    with leading zeros gets a point, ``007`` -> ``007.``, as Python only allows those in floats.
    """
    chars: list[str] = []
    columns: list[int] = []
    for index, char in enumerate(text, start=1):
        replacement = " " if char.isspace() else _TYPOGRAPHIC.get(char, char)
        chars.extend(replacement)
        columns.extend([index] * len(replacement))
    start = 0
    while start < len(chars) and chars[start] == " ":
        start += 1
    if start < len(chars) and chars[start] == "=":  # a pasted "= 0.59"
        start += 1
    while start < len(chars) and chars[start] == " ":
        start += 1
    end = len(chars)
    while end > start and chars[end - 1] == " ":
        end -= 1
    source, columns = "".join(chars[start:end]), columns[start:end]
    for match in reversed(list(_LEADING_ZERO.finditer(source))):
        source = source[: match.end()] + "." + source[match.end() :]
        columns.insert(match.end(), columns[match.end() - 1])
    return source, columns


#: Characters a quantity's name may contain (labels such as ``dE_total/dout_o1``, ``net_1^2``, ``w5+``), with
#: indices in brackets (``m_prev(w5)``, ``x(1,1)``, ``dE/dw^1(1,2)``, ``[2]x(1,1)``).
_NAME_CHARS = re.compile(r"(?:\[[0-9,]*\])?[A-Za-z_](?:[A-Za-z0-9_^/@+]|\([A-Za-z0-9_^,]*\))*")
_PLACEHOLDER = "_q{}_"


def _substitute_names(text: str, names: Mapping[str, float | None]) -> tuple[str, list[int], dict[str, tuple]]:
    """`text` with every name of `names` replaced by a placeholder identifier (longest name first).

    Returns the new text, each of its characters' 1-based column in `text`, and placeholder -> (name, value).
    """
    if not names:
        return text, list(range(1, len(text) + 1)), {}
    out: list[str] = []
    origin: list[int] = []
    named: dict[str, tuple] = {}
    position = 0
    spaced = sorted((n for n in names if " " in n), key=len, reverse=True) if " via " in text else []
    while position < len(text):
        match = None if position and (text[position - 1].isalnum() or text[position - 1] == "_") \
            else _NAME_CHARS.match(text, position)
        name = _spaced_name(text, position, spaced) if match else None
        name = name or (_longest_name(match.group(), names) if match else None)
        if name is None:
            out.append(text[position])
            origin.append(position + 1)
            position += 1
            continue
        placeholder = _PLACEHOLDER.format(len(named))
        named[placeholder] = (name, names[name])
        out.append(placeholder)
        origin.extend([position + 1] * len(placeholder))
        position += len(name)
    return "".join(out), origin, named


def _spaced_name(text: str, position: int, spaced: list[str]) -> str | None:
    """The longest name with a space in it (a graph's contribution label, ``dg/da via t1``) that `text` has at
    `position`."""
    for name in spaced:
        end = position + len(name)
        if text.startswith(name, position) and (end == len(text) or not (text[end].isalnum() or text[end] == "_")):
            return name
    return None


def _longest_name(run: str, names: Mapping[str, float | None]) -> str | None:
    """The longest start of `run` that is one of `names` and ends where a name may end."""
    for end in range(len(run), 0, -1):
        candidate = run[:end]
        if candidate in names and (end == len(run) or not (run[end].isalnum() or run[end] == "_")):
            return candidate
    return None


def _check_brackets(source: str, columns: list[int]) -> None:
    """Refuse unbalanced round brackets, pointing at the first bracket without a partner."""
    opened: list[int] = []
    for index, char in enumerate(source):
        if char == "(":
            opened.append(index)
        elif char == ")":
            if not opened:
                raise ExpressionError(
                    "unbalanced brackets: this ')' has no matching '('", column=columns[index]
                )
            opened.pop()
    if opened:
        raise ExpressionError("unbalanced brackets: this '(' is never closed", column=columns[opened[0]])


def _syntax_error(source: str, columns: list[int], offset: int | None) -> ExpressionError:
    column = columns[min(max(offset or 1, 1), len(columns)) - 1]
    if source[-1] in "+-*/":
        return ExpressionError("the expression ends with an operator", column=columns[-1])
    return ExpressionError("cannot read this as a number or an arithmetic expression", column=column)


class _Evaluator:
    """Walks one parsed answer; `source` is the parsed text and `columns` maps it back to the input."""

    def __init__(self, source: str, columns: list[int], formulas: bool = False,
                 named: Mapping[str, tuple] | None = None) -> None:
        self.formulas = formulas
        self.named = named or {}
        self.source = source
        self.encoded = source.encode("utf-8")  # AST offsets count UTF-8 bytes
        self.columns = columns

    def visit(self, node: ast.AST, depth: int) -> float:
        """The value of `node`, checked to be finite; refuses every node type not handled here."""
        if depth > MAX_DEPTH:
            raise self.fail("the expression is nested too deeply", node)
        if isinstance(node, ast.Constant):
            value = self.constant(node)
        elif isinstance(node, ast.Name):
            value = self.name(node)
        elif isinstance(node, ast.UnaryOp):
            value = self.unary(node, depth)
        elif isinstance(node, ast.BinOp):
            value = self.binary(node, depth)
        elif isinstance(node, ast.Call):
            value = self.call(node, depth)
        elif isinstance(node, ast.IfExp) and self.formulas:
            value = self.conditional(node, depth)
        elif isinstance(node, ast.Tuple):
            raise self.comma(node)
        else:
            raise self.refuse(node)
        if not math.isfinite(value):
            raise self.fail("the result is too large", node)
        return value

    def constant(self, node: ast.Constant) -> float:
        value, text = node.value, self.segment(node)
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(f"'{text}' is not a number", node)
        if isinstance(value, complex):
            raise self.fail(f"'{text}' is an imaginary number; only real numbers are allowed", node)
        if not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, str) else "a byte string"
            raise self.fail(f"{kind} {_short(text)} is not allowed; "
                            "an answer is a number or an arithmetic expression", node)
        if not _DECIMAL.match(text):
            raise self.fail(f"'{text}' is not a decimal number", node)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.fail(f"the number {_short(text)} is too large", node)
        return number

    def name(self, node: ast.Name) -> float:
        if node.id in self.named:
            label, number = self.named[node.id]
            if number is None:
                raise self.fail(f"'{label}' has no value to use yet: by name you can use the givens, your own "
                                "answers and revealed values", node)
            return float(number)
        value = CONSTANTS.get(node.id.lower())
        if node.id.lower() in ("inf", "infinity", "nan"):
            raise self.fail(f"'{node.id}' is not allowed: the answer must be a finite number", node)
        if value is None:
            raise self.unknown(node.id, node, "is not a number or a known function")
        return value

    def unary(self, node: ast.UnaryOp, depth: int) -> float:
        if isinstance(node.op, ast.USub):
            return -self.visit(node.operand, depth + 1)
        if isinstance(node.op, ast.UAdd):
            return +self.visit(node.operand, depth + 1)
        raise self.fail(f"{_OPERATORS.get(type(node.op), 'this operator')} is not allowed "
                        "(use + - * / and ^ for powers)", node)

    def binary(self, node: ast.BinOp, depth: int) -> float:
        op = node.op
        if not isinstance(op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            raise self.fail(f"{_OPERATORS.get(type(op), 'this operator')} is not allowed "
                            "(use + - * / and ^ for powers)", node)
        left = self.visit(node.left, depth + 1)
        right = self.visit(node.right, depth + 1)
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            if right == 0:
                raise self.fail("division by zero", node.right)
            return left / right
        return self.power(left, right, node)

    def power(self, base: float, exponent: float, node: ast.BinOp) -> float:
        """``base ** exponent`` in floats, with a message for each way it can go wrong."""
        if base == 0 and exponent < 0:
            raise self.fail("division by zero (0 to a negative power)", node)
        if base < 0 and not exponent.is_integer():
            raise self.fail("a negative number to a fractional power is undefined", node)
        try:
            result = math.pow(base, exponent)
        except OverflowError:
            raise self.fail("the result is too large", node) from None
        if abs(exponent) > MAX_EXPONENT:
            raise self.fail(f"the exponent {exponent:g} is too large "
                            f"(at most {MAX_EXPONENT} in absolute value)", node.right)
        return result

    def conditional(self, node: ast.IfExp, depth: int) -> float:
        """``a if x > y else b``, testing one comparison of two numbers (formulas only)."""
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _COMPARISONS):
            raise self.refuse(test)
        holds = _COMPARISONS[type(test.ops[0])](self.visit(test.left, depth + 1),
                                               self.visit(test.comparators[0], depth + 1))
        return self.visit(node.body if holds else node.orelse, depth + 1)

    def activation_call(self, node: ast.Call, depth: int) -> float | None:
        """An activation applied to one number, ``relu(0.3)`` or ``elu(alpha=0.7)(0.3)``; None if `node`
        is not one (formulas only)."""
        from tutor.model.activations import ACTIVATIONS

        func, params = node.func, {}
        if isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and not func.args:
            params = {k.arg: self.visit(k.value, depth + 1) for k in func.keywords}
            func = func.func
        if not isinstance(func, ast.Name) or func.id.lower() not in ACTIVATIONS:
            return None
        name = func.id.lower()
        kind = ACTIVATIONS[name]
        allowed = {p.name: p for p in kind.parameters}
        if not kind.elementwise:
            raise self.fail(f"{name} applies to a whole layer, not to one number", node)
        if len(node.args) != 1 or node.keywords or not set(params) <= set(allowed):
            raise self.fail(f"{name} takes one number, and only its parameters {', '.join(allowed) or '(none)'} "
                            "by name", node)
        for key, value in params.items():
            problem = allowed[key].problem(value)
            if problem:
                raise self.fail(f"{name}'s {key} {problem}", node)
        return ACTIVATIONS.make(name, **params).value_at(self.visit(node.args[0], depth + 1))

    def call(self, node: ast.Call, depth: int) -> float:
        func = node.func
        if self.formulas and not (isinstance(func, ast.Name) and func.id.lower() in FUNCTIONS):
            value = self.activation_call(node, depth)
            if value is not None:
                return value
            if isinstance(func, ast.Name) and func.id.lower() in FORMULA_FUNCTIONS:
                self.check_arity(func.id.lower(), node, FORMULA_FUNCTIONS)
                return float(FORMULA_FUNCTIONS[func.id.lower()].apply(self.visit(node.args[0], depth + 1)))
        if not isinstance(func, ast.Name):
            if type(func) in _REFUSED:
                raise self.refuse(func)
            self.visit(func, depth + 1)  # its own mistakes first, as in f(x)(y)
            raise self.fail("a number cannot be called like a function; "
                            "write * to multiply, e.g. 2*(3)", node)
        name = func.id.lower()
        if name in CONSTANTS:
            raise self.fail(f"'{func.id}' is a constant, not a function; write * to multiply, "
                            f"e.g. {func.id}*(...)", func)
        if name not in FUNCTIONS:
            raise self.unknown(func.id, func, "is not a known function")
        if node.keywords:
            keyword = node.keywords[0]
            what = f"'{keyword.arg}='" if keyword.arg else "'**'"
            raise self.fail(f"{what} is not allowed in a function call; "
                            "give the arguments by position", keyword)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail("'*' is not allowed in a function call", arg)
        self.check_arity(name, node)
        args = [self.visit(arg, depth + 1) for arg in node.args]
        try:
            return float(FUNCTIONS[name].apply(*args))
        except OverflowError:
            raise self.fail("the result is too large", func) from None
        except ValueError as error:  # a domain error raised by the helpers above
            raise self.fail(str(error), func) from None

    def check_arity(self, name: str, node: ast.Call, functions: dict[str, Function] = FUNCTIONS) -> None:
        function, given = functions[name], len(node.args)
        if function.min_args <= given and (function.max_args is None or given <= function.max_args):
            return
        # Only one-argument functions and min/max (two or more) exist.
        expected = "exactly one argument" if function.max_args == 1 else "at least two arguments"
        hint = ""
        if name == "log":
            hint = " (log is the natural logarithm; for base b write ln(x)/ln(b))"
        elif re.search(r"[0-9],[0-9]", self.segment(node)):
            hint = " (write decimals with a point: 0.5, not 0,5)"
        raise self.fail(f"{name} takes {expected}, got {given}{hint}", node.func)

    def comma(self, node: ast.Tuple) -> ExpressionError:
        text = self.segment(node)
        if re.fullmatch(r"\s*[0-9]+\s*,\s*[0-9]+\s*", text):
            suggestion = re.sub(r"\s", "", text).replace(",", ".")
            return self.fail(f"'{text}' has a comma: write decimals with a point, as in {suggestion}", node)
        return self.fail("a comma only separates function arguments; "
                         "write decimals with a point (0.5, not 0,5)", node)

    def refuse(self, node: ast.AST) -> ExpressionError:
        what = _REFUSED.get(type(node), "this construct")
        if isinstance(node, ast.Attribute):
            what += f" '.{node.attr}'"
        else:
            what += f" {_short(self.segment(node))}"
        return self.fail(f"{what} is not allowed; an answer is a number or an arithmetic expression", node)

    def unknown(self, name: str, node: ast.AST, what: str) -> ExpressionError:
        hint = closest(name.lower(), [*FUNCTIONS, *CONSTANTS])
        return self.fail(f"'{name}' {what} ({_HELP}){hint}", node)

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        """An ExpressionError pointing at `node` in the text as typed."""
        return ExpressionError(message, column=self.column(node))

    def column(self, node: ast.AST) -> int | None:
        offset = getattr(node, "col_offset", None)
        if offset is None or not self.columns:
            return None
        index = len(self.encoded[:offset].decode("utf-8", errors="ignore"))
        return self.columns[min(index, len(self.columns) - 1)]

    def segment(self, node: ast.AST) -> str:
        """The source text of `node` (with ``^`` already written as ``**``)."""
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if start is None or end is None:
            return ""
        return self.encoded[start:end].decode("utf-8", errors="replace")


def _short(text: str, limit: int = 30) -> str:
    """`text` quoted for a message, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
