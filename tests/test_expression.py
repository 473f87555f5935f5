"""The answer-expression evaluator: right values, clear refusals, and never anything but those."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor.teach import expression
from tutor.errors import UserError
from tutor.teach.expression import (
    CONSTANTS,
    FUNCTIONS,
    ExpressionError,
    decimals_given,
    evaluate,
    is_plain_number,
)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# --- values ------------------------------------------------------------------------------------

VALUES = [
    ("0.3*0.1 + 0.2", 0.3 * 0.1 + 0.2),
    ("1/3", 1 / 3),
    ("0.5 - 0.5*0.082167", 0.5 - 0.5 * 0.082167),
    ("1/(1+exp(-0.3775))", 1 / (1 + math.exp(-0.3775))),
    ("tanh(0.333)", math.tanh(0.333)),
    ("2^3", 8.0),
    ("2**3", 8.0),
    ("-(0.01 - 0.75)", -(0.01 - 0.75)),
    ("1e-3", 0.001),
    (".5", 0.5),
    ("3.", 3.0),
    ("sigmoid(1.1059)", sigmoid(1.1059)),
    ("ln(2)", math.log(2)),
    ("sqrt(2)/2", math.sqrt(2) / 2),
    ("e", math.e),
    ("pi", math.pi),
    ("12", 12.0),
    ("0.593", 0.593),
    ("log(10)", math.log(10)),
    ("log10(1000)", 3.0),
    ("log2(8)", 3.0),
    ("abs(-0.25)", 0.25),
    ("min(0.3, 0.1, 0.2)", 0.1),
    ("max(0.3, 0.1)", 0.3),
    ("exp(1)", math.e),
    ("sigmoid(0)", 0.5),
    ("sigmoid(-800)", 0.0),  # no overflow on the way
    ("sigmoid(800)", 1.0),
    ("1E3", 1000.0),
    ("2.5e+2", 250.0),
    ("+0.5", 0.5),
    ("--1", 1.0),
    ("(((0.5)))", 0.5),
    ("2*pi*0.5", 2 * math.pi * 0.5),
    ("e^2", math.e**2),
    ("(-2)^3", -8.0),
    ("4^0.5", 2.0),
    ("1^1000", 1.0),
    ("007", 7.0),  # Python refuses leading zeros in integers; students need not know
    ("0.5*01 + 00", 0.5),
    ("1" + "0" * 199, 1e199),  # the longest integer literal is still a float
]


@pytest.mark.parametrize("text, expected", VALUES)
def test_values(text: str, expected: float) -> None:
    result = evaluate(text)
    assert type(result) is float
    assert result == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2+3*4", 14.0),
        ("(2+3)*4", 20.0),
        ("2*3+4", 10.0),
        ("10-4-3", 3.0),  # left-associative
        ("8/4/2", 1.0),
        ("-2^2", -4.0),  # as in mathematics: -(2^2)
        ("-2**2", -4.0),
        ("(-2)^2", 4.0),
        ("2^-1", 0.5),
        ("2^3^2", 2.0**9),  # right-associative
        ("2**3**2", 512.0),
        ("1+2^3", 9.0),  # ^ binds tighter than +, unlike Python's xor
        ("2*3^2", 18.0),
        ("2^3*2", 16.0),
        ("-3^2+1", -8.0),
        ("2^(1+1)", 4.0),
    ],
)
def test_precedence(text: str, expected: float) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("= 0.59", 0.59),
        ("=0.59", 0.59),
        ("  0.5  ", 0.5),
        ("\t0.5\n", 0.5),
        ("\u22120.25", -0.25),  # unicode minus
        ("1 \u2212 0.25", 0.75),
        ("3 \u00d7 2", 6.0),  # ×
        ("3\u00b72", 6.0),  # ·
        ("3 \u22c5 2", 6.0),  # ⋅
        ("3 \u00f7 2", 1.5),  # ÷
        ("1\u00a0+\u00a02", 3.0),  # no-break spaces pasted from a document
        ("EXP(1)", math.e),
        ("Tanh(0.3)", math.tanh(0.3)),
        ("SIGMOID(0)", 0.5),
        ("PI", math.pi),
        ("E", math.e),
        ("Ln(e)", 1.0),
    ],
)
def test_forgiving_input(text: str, expected: float) -> None:
    assert evaluate(text) == pytest.approx(expected, rel=1e-15, abs=0)


def test_whitelists() -> None:
    assert set(FUNCTIONS) == {"exp", "ln", "log", "log10", "log2", "sqrt", "tanh", "sigmoid", "abs", "min", "max"}
    assert CONSTANTS == {"e": math.e, "pi": math.pi}
    assert issubclass(ExpressionError, UserError)
    for name in FUNCTIONS:
        assert name in (expression.__doc__ or "")


# --- refusals ----------------------------------------------------------------------------------


def refusal(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        evaluate(text)
    assert type(info.value) is ExpressionError
    assert str(info.value) == info.value.message  # no source: the message alone
    return info.value


REFUSED = [
    # dangerous or foreign constructs, each named
    ("__import__('os').system('true')", ["attribute access", ".system", "not allowed"]),
    ("__import__('os')", ["'__import__' is not a known function"]),
    ("().__class__", ["attribute access", ".__class__"]),
    ("(1).real", ["attribute access", ".real"]),
    ("os.system", ["attribute access", ".system"]),
    ("open('x')", ["'open' is not a known function", "exp, ln, log"]),
    ("x", ["'x' is not a number or a known function", "exp, ln, log", "e, pi"]),
    ("foo", ["'foo' is not a number or a known function (use numbers, + - * / ^, brackets and exp"]),
    ("__import__", ["'__import__' is not a number or a known function"]),
    ("[1,2]", ["a list", "not allowed"]),
    ("[1,2][0]", ["indexing", "not allowed"]),
    ("x[0]", ["indexing"]),
    ("[x for x in 'ab']", ["a list comprehension"]),
    ("(x for x in 'ab')", ["a generator expression"]),
    ("{1}", ["a set"]),
    ("{1: 2}", ["a dictionary"]),
    ("lambda: 1", ["a lambda", "not allowed"]),
    ("(lambda: 1)()", ["a lambda"]),
    ("1 if 1 else 2", ["a conditional", "not allowed"]),
    ('"abc"', ["a string", "not allowed"]),
    ("'0.5'", ["a string"]),
    ("b'x'", ["a byte string"]),
    ("f'{1}'", ["an f-string"]),
    ("1 < 2", ["a comparison", "not allowed"]),
    ("1 == 1", ["a comparison"]),
    ("1 and 2", ["a boolean operator"]),
    ("not 1", ["'not' is not allowed"]),
    ("True", ["'True' is not a number"]),
    ("False", ["'False' is not a number"]),
    ("None", ["'None' is not a number"]),
    ("...", ["'...' is not a number"]),
    ("1j", ["imaginary"]),
    ("0x10", ["'0x10' is not a decimal number"]),
    ("1_000", ["'1_000' is not a decimal number"]),
    ("(y := 1)", ["an assignment"]),
    # operators
    ("5 % 2", ["'%' is not allowed"]),
    ("5 // 2", ["'//' is not allowed"]),
    ("1 @ 2", ["'@' is not allowed"]),
    ("1 & 2", ["'&' is not allowed"]),
    ("1 | 2", ["'|' is not allowed"]),
    ("1 << 2", ["'<<' is not allowed"]),
    ("1 >> 2", ["'>>' is not allowed"]),
    ("~1", ["'~' is not allowed"]),
    # calls
    ("min(1, b=2)", ["'b=' is not allowed in a function call"]),
    ("max(1, **{})", ["'**' is not allowed in a function call"]),
    ("exp(*[1])", ["'*' is not allowed in a function call"]),
    ("exp()", ["exp takes exactly one argument, got 0"]),
    ("exp(1, 2)", ["exp takes exactly one argument, got 2"]),
    ("log(8, 2)", ["log takes exactly one argument, got 2", "natural logarithm"]),
    ("max(1)", ["max takes at least two arguments, got 1"]),
    ("min()", ["min takes at least two arguments, got 0"]),
    ("sigmod(1)", ["'sigmod' is not a known function", "did you mean 'sigmoid'?"]),
    ("e(2)", ["'e' is a constant, not a function"]),
    ("2(3)", ["cannot be called", "write * to multiply"]),
    ("exp(1)(2)", ["cannot be called"]),
    ("f(x)(y)", ["'f' is not a known function"]),
    # commas are argument separators, not decimal points
    ("0,5", ["'0,5' has a comma", "0.5"]),
    ("1,25", ["as in 1.25"]),
    ("1, 2, 3", ["a comma only separates function arguments", "0.5"]),
    ("exp(0,5)", ["exp takes exactly one argument", "0.5, not 0,5"]),
    # non-finite and too large
    ("nan", ["'nan' is not allowed", "finite"]),
    ("inf", ["'inf' is not allowed", "finite"]),
    ("Infinity", ["finite"]),
    ("9**9**9", ["the result is too large"]),
    ("9^9^9", ["the result is too large"]),
    ("10^400", ["the result is too large"]),
    ("exp(1000)", ["the result is too large"]),
    ("1e308*10", ["the result is too large"]),
    ("1e308+1e308", ["the result is too large"]),
    ("1e400", ["the number '1e400' is too large"]),
    ("0.5^2000", ["the exponent 2000 is too large (at most 1000"]),
    ("1^-1001", ["the exponent -1001 is too large"]),
    # undefined
    ("1/0", ["division by zero"]),
    ("1/(0.5-0.5)", ["division by zero"]),
    ("0^-1", ["division by zero"]),
    ("ln(0)", ["ln of a number <= 0 is undefined"]),
    ("log(-1)", ["log of a number <= 0 is undefined"]),
    ("log10(0)", ["log10 of a number <= 0 is undefined"]),
    ("log2(-2)", ["log2 of a number <= 0 is undefined"]),
    ("sqrt(-1)", ["sqrt of a negative number is undefined"]),
    ("(-8)^(1/3)", ["a negative number to a fractional power is undefined"]),
    # unreadable
    ("", ["expected a number, got nothing"]),
    ("   ", ["expected a number, got nothing"]),
    ("=", ["expected a number, got nothing"]),
    ("(1", ["unbalanced brackets", "never closed"]),
    ("1)", ["unbalanced brackets", "no matching"]),
    ("(" * 150, ["unbalanced brackets"]),
    ("(" * 150 + "1" + ")" * 150, ["the expression is too long (at most 200 characters)"]),
    ("x" * 201, ["the expression is too long (at most 200 characters)"]),
    ("1+", ["ends with an operator"]),
    ("1 2", ["cannot read this as a number or an arithmetic expression"]),
    ("2pi", ["cannot read this"]),
    ("1.2.3", ["cannot read this"]),
    ("'abc", ["cannot read this"]),
    ("1\x002", ["cannot read this"]),
]


@pytest.mark.parametrize("text, words", REFUSED, ids=[repr(t)[:40] for t, _ in REFUSED])
def test_refused(text: str, words: list[str]) -> None:
    message = refusal(text).message
    for word in words:
        assert word in message


def test_unknown_name_message_is_exact() -> None:
    assert refusal("foo").message == (
        "'foo' is not a number or a known function (use numbers, + - * / ^, brackets and "
        "exp, ln, log, log10, log2, sqrt, tanh, sigmoid, abs, min, max, e, pi)"
    )


@pytest.mark.parametrize(
    "text, column",
    [
        ("1/0", 3),  # the divisor
        ("  1 + foo", 7),  # columns count in the text as typed
        ("= 2 * bar", 7),
        ("2^2 + x", 7),  # ^ became ** internally; the column does not move
        ("1 \u2212 2 \u00d7 \u00e9", 9),  # non-ASCII before the mistake, and in it
        ("1 + (2", 5),
        ("(1))", 4),
        ("1 +", 3),
        ("ln(0)", 1),
        ("min(1, b=2)", 8),
        ("01 + 02 + x", 11),
    ],
)
def test_columns(text: str, column: int) -> None:
    assert refusal(text).column == column


def test_deep_nesting_within_the_length_limit() -> None:
    assert evaluate("(" * 98 + "0.5" + ")" * 98) == 0.5
    assert evaluate("-" * 199 + "1") == -1.0
    assert evaluate("+".join(["1"] * 100)) == 100.0
    assert evaluate("^".join(["1"] * 100)) == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "(" * 1000 + "1" + ")" * 1000,
        "-" * 100_000 + "1",
        "+".join(["1"] * 100_000),
        "^".join(["1"] * 5000),
        "exp(" * 1000 + "0" + ")" * 1000,
        "[" * 1000 + "]" * 1000,
    ],
    ids=["brackets", "minus", "sum", "power", "calls", "lists"],
)
def test_deep_nesting_beyond_the_limits_is_refused(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the length limit lifted, the parser's and walker's own limits still end in a refusal."""
    monkeypatch.setattr(expression, "MAX_LENGTH", 10**7)
    refusal(text)


def test_integer_literal_beyond_float_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expression, "MAX_LENGTH", 10**4)
    assert "the number" in refusal("1" + "0" * 400).message


# --- properties --------------------------------------------------------------------------------

ANSWER_ALPHABET = st.sampled_from(list("0123456789.+-*/^(),eE =%xpilnogqrtsab_[]'\"<:\u2212\u00d7") + ["exp(", "**", "sigmoid(", "pi", "1e", "max("])


def finishes_cleanly(text: str) -> None:
    try:
        value = evaluate(text)
    except ExpressionError as error:
        assert error.message
        assert error.column is None or error.column >= 1
    else:
        assert type(value) is float
        assert math.isfinite(value)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_a_float_or_an_expression_error(text: str) -> None:
    finishes_cleanly(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_longer_text_gives_a_float_or_an_expression_error(text: str) -> None:
    finishes_cleanly(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(ANSWER_ALPHABET, max_size=60).map("".join))
def test_answer_like_text_gives_a_float_or_an_expression_error(text: str) -> None:
    finishes_cleanly(text)


Tree = object  # float | tuple[str, Tree] | tuple[str, Tree, Tree]

NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(float),
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 0.5, 1.0, 1e-300, 1e300]),
)
TREES = st.recursive(
    NUMBERS,
    lambda inner: st.one_of(
        st.tuples(st.just("-"), inner),
        st.tuples(st.sampled_from("+-*/"), inner, inner),
    ),
    max_leaves=12,
)


def render(tree: Tree) -> str:
    """The tree as text, every operation bracketed, numbers in their shortest exact form."""
    if isinstance(tree, float):
        return repr(tree)
    if len(tree) == 2:
        return f"(-{render(tree[1])})"
    op, left, right = tree
    return f"({render(left)} {op} {render(right)})"


class Refused(Exception):
    pass


def reference(tree: Tree) -> float:
    """The same arithmetic done directly on Python floats; Refused where the evaluator must refuse."""
    if isinstance(tree, float):
        return tree
    if len(tree) == 2:
        return -reference(tree[1])
    op, left_tree, right_tree = tree
    left, right = reference(left_tree), reference(right_tree)
    if op == "/" and right == 0:
        raise Refused
    if op == "+":
        value = left + right
    elif op == "-":
        value = left - right
    elif op == "*":
        value = left * right
    else:
        value = left / right
    if not math.isfinite(value):
        raise Refused
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_arithmetic_matches_a_reference(tree: Tree) -> None:
    text = render(tree)
    try:
        expected = reference(tree)
    except Refused:
        expected = None
    if len(text) > expression.MAX_LENGTH:
        assert "too long" in refusal(text).message
    elif expected is None:
        assert refusal(text).message in ("division by zero", "the result is too large")
    else:
        assert evaluate(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_reads_back_exactly(x: float) -> None:
    assert evaluate(repr(x)) == x
    assert is_plain_number(repr(x))


# --- plain numbers and their precision ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, decimals",
    [
        ("0.593", 3),
        ("0.5930", 4),
        ("12", 0),
        ("1.5e-3", 4),
        ("-0.25", 2),
        (".5", 1),
        ("3.", 0),
        ("-1e-3", 3),
        ("+0.50", 2),
        ("1.5E-3", 4),
        ("2e3", -3),
        ("1.5e3", -2),  # the last digit given is the hundreds
        ("0.12e+1", 1),
        ("= 0.59", 2),
        ("  0.593 ", 3),
        ("\u22120.25", 2),
    ],
)
def test_decimals_given(text: str, decimals: int) -> None:
    assert is_plain_number(text)
    assert decimals_given(text) == decimals


@pytest.mark.parametrize(
    "text",
    ["1/3", "0.5 - 0.1", "-(0.5)", "e", "pi", "exp(1)", "2^3", "", ".", "-", "e5", "1e", "1e+",
     "0,5", "1_000", "0x10", "1 000", "--1", "0.5.", "nan", "inf", "1j", "\u0663", "0" * 201],
)
def test_not_plain_numbers(text: str) -> None:
    assert not is_plain_number(text)
    assert decimals_given(text) is None


PLAIN_LIKE = st.from_regex(r"\s?=?\s?[+\-\u2212]?[0-9]{0,4}\.?[0-9]{0,4}([eE][+-]?[0-9]{1,4})?\s?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), PLAIN_LIKE))
def test_plain_numbers_evaluate_like_float(text: str) -> None:
    """Whatever is_plain_number accepts, evaluate reads as Python's float() does (or finds too large)."""
    if not is_plain_number(text):
        return
    cleaned = text.strip().lstrip("=").strip().replace("\u2212", "-")
    try:
        expected = float(cleaned)
    except ValueError:  # pragma: no cover - the regex accepts only what float() accepts
        pytest.fail(f"{text!r} is called plain but float() refuses it")
    if math.isfinite(expected):
        assert evaluate(text) == expected
    else:
        refusal(text)
