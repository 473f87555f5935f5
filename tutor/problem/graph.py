"""Computational-graph problems: a list of assignments `name = expression`, read safely into gates.

A problem file with `graph:` instead of `layers:` gives its assignments in order, in the expression
language of the quiz's answers: numbers, names, ``+ - * /``, ``^`` (or ``**``) with a constant exponent,
round brackets, and the functions exp, ln (or log), sqrt, tanh, sigmoid, relu, abs, max and min. A name may
be assigned again, and `+=`, `-=`, `*=`, `/=` update it (micrograd's ``c += c + 1``): a later line sees its
latest value. `inputs:` gives the leaves' values, `output:` the node differentiated (default: the last
assigned), `parameters:` the leaves gradient descent updates with `learning_rate`.

Every expression is broken into gates: each operation is one node; an assignment's last operation takes
the assigned name, the others get generated names (g1, g2, ...), and the earlier versions of a name
assigned again are renamed c_1, c_2, ... (the latest keeps the name). Nothing is evaluated with `eval`:
the text is tokenised and parsed here. Every mistake is a located `ProblemError` (file:line:col: field:
message); so is a gate that is undefined at the given values (ln of a number <= 0, division by zero).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NoReturn, Sequence, Union

from tutor.errors import ProblemError, closest
from tutor.model.gates import FUNCTION_GATES, OPERATOR_GATES, GateDomainError, gate
from tutor.problem.validated import Grading

GRAPH_KEYS = ("format", "name", "description", "source", "graph", "inputs", "output", "parameters",
              "learning_rate", "ask", "grading")
#: Functions by the names an expression may use (log is ln, as in the quiz's answers).
FUNCTION_NAMES = {**{name: name for name in FUNCTION_GATES}, "log": "ln"}
CONSTANTS = {"e": math.e, "pi": math.pi}
#: Most assignments a graph may have, and most characters in one (a hand-sized problem).
MAX_LINES = 200
MAX_LENGTH = 400
#: Deepest nesting of brackets and function calls in one expression.
MAX_DEPTH = 40
_TOKEN = re.compile(r"\s*(?:(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/^(),]))")
_ASSIGNMENT = re.compile(r"\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>[-+*/]?=)(?!=)")


# -- the expression tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float
    col: int  # 0-based offset in the assignment's text


@dataclass(frozen=True)
class Ref:
    name: str
    col: int


@dataclass(frozen=True)
class Apply:
    """An operation (a gate's name) on its arguments."""

    op: str
    args: tuple["Expr", ...]
    col: int


Expr = Union[Num, Ref, Apply]


class ExpressionSyntaxError(Exception):
    """A mistake in one expression, at a 0-based offset in its text."""

    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.message, self.col = message, col


class _Parser:
    """Recursive descent over one expression: ``-2^2`` is -4, ``2^3^2`` is 2^9, as in the quiz's answers."""

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = start
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                if not text[position:].strip():
                    break
                bad = position + len(text[position:]) - len(text[position:].lstrip())
                raise ExpressionSyntaxError(f"unexpected character '{text[bad]}' (use numbers, names, + - * / ^, "
                                            "brackets and functions)", bad)
            kind = match.lastgroup or "op"
            self.tokens.append((kind, match[kind], match.start(kind)))
            position = match.end()
        self.at = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "", len(self.text.rstrip()))

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        kind, value, col = self.take()
        if value != text:
            got = "the end of the expression" if kind == "end" else f"'{value}'"
            raise ExpressionSyntaxError(f"expected '{text}', got {got}", col)

    def parse(self) -> Expr:
        if not self.tokens:
            raise ExpressionSyntaxError("expected an expression after '='", len(self.text.rstrip()))
        expr = self.sum()
        kind, value, col = self.peek()
        if kind != "end":
            raise ExpressionSyntaxError(f"unexpected '{value}' (an operator is missing?)", col)
        return expr

    def sum(self) -> Expr:
        left = self.product()
        while self.peek()[1] in ("+", "-"):
            _, op, col = self.take()
            left = Apply(OPERATOR_GATES[op], (left, self.product()), col)
        return left

    def product(self) -> Expr:
        left = self.unary()
        while self.peek()[1] in ("*", "/"):
            _, op, col = self.take()
            left = Apply(OPERATOR_GATES[op], (left, self.unary()), col)
        return left

    def unary(self) -> Expr:
        kind, value, col = self.peek()
        if value in ("-", "+"):
            self.take()
            operand = self.unary()
            return Apply("neg", (operand,), col) if value == "-" else operand
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        if self.peek()[1] in ("^", "**"):
            _, _, col = self.take()
            return Apply("pow", (base, self.unary()), col)
        return base

    def atom(self) -> Expr:
        kind, value, col = self.take()
        if kind == "number":
            number = float(value)
            if not math.isfinite(number):
                raise ExpressionSyntaxError(f"the number {value} is too large", col)
            return Num(number, col)
        if kind == "name":
            if self.peek()[1] == "(":
                return self.call(value, col)
            return Ref(value, col)
        if value == "(":
            self.nest(col)
            inner = self.sum()
            self.expect(")")
            self.depth -= 1
            return inner
        got = "the end of the expression" if kind == "end" else f"'{value}'"
        raise ExpressionSyntaxError(f"expected a number, a name or '(', got {got}", col)

    def nest(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionSyntaxError(f"brackets nested too deeply (at most {MAX_DEPTH}); split the expression over "
                                        "several lines", col)

    def call(self, name: str, col: int) -> Expr:
        function = FUNCTION_NAMES.get(name.lower())
        if function is None:
            hint = closest(name.lower(), list(FUNCTION_NAMES))
            raise ExpressionSyntaxError(f"'{name}' is not a known function (exp, ln, sqrt, tanh, sigmoid, relu, abs, "
                                        f"max, min){hint}", col)
        self.expect("(")
        self.nest(col)
        args = [self.sum()]
        while self.peek()[1] == ",":
            self.take()
            args.append(self.sum())
        self.expect(")")
        self.depth -= 1
        if function in ("max", "min"):
            if len(args) < 2:
                raise ExpressionSyntaxError(f"{function} takes two or more arguments", col)
            combined = args[0]
            for arg in args[1:]:  # max(a, b, c) is max(max(a, b), c): one gate per comparison
                combined = Apply(function, (combined, arg), col)
            return combined
        if len(args) != 1:
            raise ExpressionSyntaxError(f"{function} takes exactly one argument, got {len(args)}", col)
        return Apply(function, (args[0],), col)


def parse_assignment(text: str) -> tuple[str, str, Expr, int]:
    """``name = expr`` (or ``name += expr``...): the name, the operator, the expression and the name's offset."""
    match = _ASSIGNMENT.match(text)
    if match is None:
        stripped = len(text) - len(text.lstrip())
        raise ExpressionSyntaxError("expected an assignment 'name = expression' (or name += expression)", stripped)
    return match["name"], match["op"], _Parser(text, match.end()).parse(), match.start("name")


# -- the gates -------------------------------------------------------------------------------------------

#: An operand of a gate: the name of a node, or a constant.
Operand = Union[str, float]


@dataclass(frozen=True)
class Node:
    """One node of the graph: a leaf (op None) or a gate applied to operands."""

    name: str
    op: str | None
    operands: tuple[Operand, ...] = ()
    line: int | None = None  # where in the file (1-based) it is written
    column: int | None = None
    assigned: str | None = None  # the name the file assigns, for an assignment's own gate
    source: str = ""  # the assignment as written

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    @property
    def inputs(self) -> tuple[str, ...]:
        """The nodes it reads, in order (a node used twice appears twice)."""
        return tuple(o for o in self.operands if isinstance(o, str))


@dataclass(frozen=True)
class Statement:
    """One assignment as written, and the gates it became."""

    text: str
    line: int | None
    gates: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class GraphProblem:
    """A validated graph problem: leaves with values, gates in the order they are computed, the output."""

    inputs: dict[str, float]  # leaf -> value, in file order
    nodes: tuple[Node, ...]  # leaves first, then the gates in order
    output: str
    statements: tuple[Statement, ...] = ()
    parameters: tuple[str, ...] = ()
    learning_rate: float = 0.0
    name: str = ""
    source: str | None = None
    description: str | None = None
    path: str | None = None
    content_hash: str = field(default="", compare=False)
    ask: tuple[tuple[str, float], ...] | None = None
    grading: Grading = Grading()

    @cached_property
    def gates(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if not n.is_leaf)

    @cached_property
    def node(self) -> dict[str, Node]:
        """Every node by name."""
        return {n.name: n for n in self.nodes}

    @property
    def shape_text(self) -> str:
        """What `list` prints where a network has its shape: ``9-gate-graph``."""
        return f"{len(self.gates)}-gate-graph"

    def summary(self) -> str:
        """One line for `check`: leaves, gates, output, parameters."""
        line = f"graph of {gate_count(len(self.gates))} on {', '.join(self.inputs)}; output {self.output}"
        if self.parameters:
            line += f"; parameters {', '.join(self.parameters)}, learning rate {self.learning_rate:g}"
        return line

    def with_inputs(self, values: dict[str, float]) -> "GraphProblem":
        """The same graph with some leaves' values changed (the parameters after a step)."""
        import dataclasses

        return dataclasses.replace(self, inputs={**self.inputs, **values})


# -- reading a file ----------------------------------------------------------------------------------------


def read_graph(reader: Any, data: dict) -> GraphProblem:
    """The graph problem of a file's parsed `data`; `reader` is the loader's (for located messages)."""
    return _GraphReader(reader).problem(data)


class _GraphReader:
    """Validates a graph problem with the loader's reader: its `fail`, `check_keys`, `ask` and `grading`."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.text = reader.text

    def fail(self, path: list, message: str, *, key: object = None) -> NoReturn:
        self.reader.fail(path, message, key=key)

    def fail_at(self, index: int, offset: int, message: str, place: tuple[int | None, int | None]) -> NoReturn:
        """A mistake inside assignment `index`, `offset` characters into its text."""
        line, column = place
        raise ProblemError(message, source=self.reader.source, line=line,
                           column=None if column is None else column + offset, field=f"graph[{index}]")

    def problem(self, data: dict) -> GraphProblem:
        from tutor.problem.loader import describe_value
        from tutor.problem.validated import content_hash

        reader = self.reader
        if "layers" in data:
            self.fail([], "a problem has either graph: (a computational graph) or layers: (a network), not both",
                      key="layers")
        reader.check_keys(data, [], GRAPH_KEYS, ("graph", "inputs"))
        version = data.get("format", 2)
        if version not in (1, 2) or isinstance(version, (bool, float)):
            self.fail(["format"], f"unsupported format version {describe_value(version)}; this version reads "
                                  "formats 1 and 2")
        inputs = self.inputs(data["inputs"])
        lines = self.lines(data["graph"])
        builder = _Builder(self, inputs, lines)
        for index, (text, place) in enumerate(lines):
            builder.statement(index, text, place)
        output = self.output(data.get("output"), builder)
        parameters = self.parameters(data.get("parameters"), inputs)
        if parameters and "learning_rate" not in data:
            self.fail([], "missing key 'learning_rate': the parameters are updated by gradient descent with it")
        rate = reader.number(data["learning_rate"], ["learning_rate"]) if "learning_rate" in data else 0.0
        if rate < 0:
            self.fail(["learning_rate"], f"must not be negative, got {rate:g}")
        optional = {key: reader.text_field(data[key], [key]) for key in ("name", "source", "description")
                    if data.get(key) is not None}
        from tutor.problem.loader import _stem

        problem = GraphProblem(
            inputs=inputs, nodes=builder.finished(), output=output, statements=tuple(builder.statements),
            parameters=parameters, learning_rate=rate, name=optional.get("name") or _stem(reader.source),
            source=optional.get("source"), description=optional.get("description"),
            path=None if reader.source.startswith("<") else reader.source, content_hash=content_hash(self.text),
            ask=reader.ask(data["ask"]) if data.get("ask") is not None else None,
            grading=reader.grading(data["grading"]) if data.get("grading") is not None else Grading())
        self.check_values(problem, builder)
        return problem

    def inputs(self, value: Any) -> dict[str, float]:
        from tutor.problem.loader import describe_value

        if not isinstance(value, dict) or not value:
            self.fail(["inputs"], f"expected the leaves' values, a mapping of name to number (a: -4), got "
                                  f"{describe_value(value)}")
        inputs: dict[str, float] = {}
        for name, number in value.items():
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                self.fail(["inputs"], f"a leaf's name is a letter or _ followed by letters, digits or _, got "
                                      f"{describe_value(name)}", key=name)
            if name.lower() in FUNCTION_NAMES:
                self.fail(["inputs"], f"'{name}' is a function's name; call the leaf something else", key=name)
            inputs[name] = self.reader.number(number, ["inputs", name], f"the value of {name} (a number)")
        return inputs

    def lines(self, value: Any) -> list[tuple[str, tuple[int | None, int | None]]]:
        """The assignments with where each starts in the file: a list of texts, or one text of lines."""
        from tutor.problem.yaml_safe import locate

        path = ["graph"]
        if isinstance(value, str):
            start = locate(self.text, path)
            first = start[0] + 1 if start and self._block_scalar(start) else start[0] if start else None
            entries = []
            for n, raw in enumerate(value.split("\n")):
                text = raw.split("#", 1)[0]
                if text.strip():
                    line = None if first is None else first + n
                    entries.append((text, (line, self._column_of(line, text))))
            if not entries:
                self.fail(path, "expected at least one assignment 'name = expression'")
            return self._bounded(entries)
        if not isinstance(value, list) or not value:
            from tutor.problem.loader import describe_value

            self.fail(path, f"expected a list of assignments 'name = expression', in order, got "
                            f"{describe_value(value)}")
        entries = []
        for index, text in enumerate(value):
            if not isinstance(text, str) or not text.strip():
                from tutor.problem.loader import describe_value

                self.fail([*path, index], f"expected an assignment 'name = expression', got {describe_value(text)}")
            position = locate(self.text, [*path, index])
            line = position[0] if position else None
            entries.append((text, (line, self._column_of(line, text, position[1] if position else None))))
        return self._bounded(entries)

    def _bounded(self, entries: list) -> list:
        if len(entries) > MAX_LINES:
            self.fail(["graph"], f"too many assignments ({len(entries)}; at most {MAX_LINES})")
        for index, (text, place) in enumerate(entries):
            if len(text) > MAX_LENGTH:
                self.fail_at(index, 0, f"the assignment is too long (at most {MAX_LENGTH} characters)", place)
        return entries

    def _block_scalar(self, start: tuple[int, int]) -> bool:
        lines = self.text.splitlines()
        return 0 < start[0] <= len(lines) and lines[start[0] - 1][start[1] - 1:start[1]] in ("|", ">")

    def _column_of(self, line: int | None, text: str, near: int | None = None) -> int | None:
        """The 1-based column where `text` starts on `line` of the file (after an opening quote)."""
        lines = self.text.splitlines()
        if line is None or not 0 < line <= len(lines):
            return near
        found = lines[line - 1].find(text, (near or 1) - 1)
        return found + 1 if found >= 0 else near

    def output(self, value: Any, builder: "_Builder") -> str:
        if value is None:
            return builder.last
        if not isinstance(value, str) or value.strip() not in builder.latest:
            from tutor.problem.loader import describe_value

            names = [name for name in builder.latest if name not in builder.inputs]
            hint = closest(value, names) if isinstance(value, str) else ""
            what = f"'{value}'" if isinstance(value, str) else describe_value(value)
            self.fail(["output"], f"{what} is not a name of the graph{hint} (the output is one of: "
                                  f"{', '.join(names)})")
        return builder.latest[value.strip()]

    def parameters(self, value: Any, inputs: dict[str, float]) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            from tutor.problem.loader import describe_value

            self.fail(["parameters"], f"expected a list of the leaves gradient descent updates, got "
                                      f"{describe_value(value)}")
        names: list[str] = []
        for index, name in enumerate(value):
            if not isinstance(name, str) or name not in inputs:
                hint = closest(name, list(inputs)) if isinstance(name, str) else ""
                self.fail(["parameters", index], f"'{name}' is not one of the inputs{hint} (a parameter is a leaf "
                                                 f"with a value: {', '.join(inputs)})")
            if name in names:
                self.fail(["parameters", index], f"'{name}' is listed twice")
            names.append(name)
        return tuple(names)

    def check_values(self, problem: GraphProblem, builder: "_Builder") -> None:
        """Every gate defined at the given values (and its local gradients): else a located message."""
        from tutor.engine.graph import GraphValueError, evaluate

        try:
            evaluate(problem)
        except GraphValueError as error:
            index, offset, place = builder.where[error.node]
            self.fail_at(index, offset, error.message, place)


def gate_count(n: int) -> str:
    """``1 gate``, ``5 gates``."""
    return f"{n} gate" if n == 1 else f"{n} gates"


class _Builder:
    """Turns assignments into gates, in order, naming versions and generated gates."""

    def __init__(self, reader: _GraphReader, inputs: dict[str, float],
                 lines: Sequence[tuple[str, tuple[int | None, int | None]]]) -> None:
        self.reader = reader
        self.inputs = inputs
        self.lines = list(lines)
        self.written = all_names([text for text, _ in lines])
        #: Every name the file assigns: never read as the constant e or pi, even before its assignment.
        self.targets = {m["name"] for text, _ in lines if (m := _ASSIGNMENT.match(text))}
        self.nodes: list[Node] = [Node(name, None) for name in inputs]
        #: Each name of the file -> the node holding its latest value.
        self.latest: dict[str, str] = {name: name for name in inputs}
        self.taken: set[str] = set(inputs)
        self.next_version: dict[str, int] = {}
        self.where: dict[str, tuple[int, int, tuple[int | None, int | None]]] = {}
        self.statements: list[Statement] = []
        self.last = ""
        self.generated = 0
        #: Generated gates are g1, g2, ...; t1, t2, ... when the file has a name g (micrograd's README does).
        self.prefix = next(letter for letter in "gtnuvq" if letter not in self.written)

    def fail(self, offset: int, message: str) -> NoReturn:
        self.reader.fail_at(self.index, offset, message, self.place)

    def statement(self, index: int, text: str, place: tuple[int | None, int | None]) -> None:
        self.index, self.place, self.text = index, place, text
        try:
            name, op, expr, name_col = parse_assignment(text)
        except ExpressionSyntaxError as error:
            self.fail(error.col, error.message)
        self.name, self.name_col = name, name_col
        if name.lower() in FUNCTION_NAMES:
            self.fail(name_col, f"'{name}' is a function's name; call the value something else")
        if name in self.inputs:
            self.fail(name_col, f"'{name}' is an input (a leaf with a given value); give the new value another "
                                "name")
        if op != "=":
            if name not in self.latest:
                self.fail(name_col, f"'{name} {op}' updates {name}, which has no value yet (write '{name} = ...' "
                                    "first)")
            expr = Apply(OPERATOR_GATES[op[0]], (Ref(name, name_col), expr), name_col)
        if self.constant(expr) is not None:
            self.fail(name_col, f"'{name}' is a constant (its expression has no names); give it in inputs: instead")
        first = len(self.nodes)
        top = self.operand(expr, top=name)
        if top != _PENDING + name:  # y = x: a new name for a value
            self.gate("copy", (top,), name_col, top=name)
        self.settle(name)
        self.statements.append(Statement(text.strip(), place[0], tuple(n.name for n in self.nodes[first:])))

    def settle(self, name: str) -> None:
        """The assignment's gate takes `name`; an earlier version of it becomes name_1, name_2, ..."""
        renames = {_PENDING + name: name}
        if name in self.latest:
            version = self.version_name(name)
            renames[name] = version
            self.taken.add(version)
        self.nodes = [_renamed(n, renames) for n in self.nodes]
        self.latest = {k: renames.get(v, v) for k, v in self.latest.items()}
        self.where = {renames.get(k, k): v for k, v in self.where.items()}
        self.statements = [Statement(s.text, s.line, tuple(renames.get(g, g) for g in s.gates))
                           for s in self.statements]
        self.taken.add(name)
        self.latest[name] = name
        self.last = name

    def version_name(self, name: str) -> str:
        count = self.next_version.get(name, 1)
        while f"{name}_{count}" in self.taken or f"{name}_{count}" in self.written:
            count += 1
        self.next_version[name] = count + 1
        return f"{name}_{count}"

    def finished(self) -> tuple[Node, ...]:
        return tuple(self.nodes)

    def constant(self, expr: Expr) -> float | None:
        """The value of an expression without names, or None."""
        if isinstance(expr, Num):
            return expr.value
        if isinstance(expr, Ref):
            if expr.name not in self.latest and expr.name not in self.targets and expr.name in CONSTANTS:
                return CONSTANTS[expr.name]
            return None
        values = [self.constant(arg) for arg in expr.args]
        if any(v is None for v in values):
            return None
        try:
            return gate(expr.op).value(values)  # type: ignore[arg-type]
        except GateDomainError as error:
            self.fail(expr.col, str(error))

    def operand(self, expr: Expr, top: str | None = None) -> Operand:
        """The node name (or constant) for `expr`, adding its gates; `top` names the assignment's own gate."""
        constant = self.constant(expr)
        if constant is not None:
            return constant
        if isinstance(expr, Ref):
            return self.reference(expr)
        assert isinstance(expr, Apply)
        if expr.op == "pow":
            exponent = self.constant(expr.args[1])
            if exponent is None:
                self.fail(_first_col(expr.args[1]), "the exponent must be a constant number (x^2, x^(1/2)); for a "
                                                    "variable one write exp(y * ln(x))")
            if abs(exponent) > 1000:
                self.fail(_first_col(expr.args[1]), f"the exponent {exponent:g} is too large (at most 1000 in "
                                                    "absolute value)")
            return self.gate("pow", (self.operand(expr.args[0]), exponent), expr.col, top)
        operands = tuple(self.operand(arg) for arg in expr.args)
        return self.gate(expr.op, operands, expr.col, top)

    def reference(self, ref: Ref) -> str:
        if ref.name in self.latest:
            return self.latest[ref.name]
        later = next((place[0] or n + 1 for n, (text, place) in enumerate(self.lines) if n > self.index
                      and (m := _ASSIGNMENT.match(text)) and m["name"] == ref.name), None)
        if ref.name == self.name:
            self.fail(ref.col, f"'{ref.name}' is used in its own first assignment: a cycle ({ref.name} would depend "
                               f"on itself); give it a value in inputs: or assign it on an earlier line")
        if later is not None:
            self.fail(ref.col, f"'{ref.name}' is used before it is assigned (line {later} assigns it; the "
                               "assignments run in order, so move that line up)")
        known = [*self.latest, *FUNCTION_NAMES]
        self.fail(ref.col, f"unknown name '{ref.name}'{closest(ref.name, known)} (a name is an input or assigned "
                           f"on an earlier line: {', '.join(self.latest)})")

    def gate(self, op: str, operands: tuple[Operand, ...], col: int, top: str | None = None) -> str:
        name = _PENDING + top if top is not None else self.fresh()
        column = None if self.place[1] is None else self.place[1] + col
        self.nodes.append(Node(name, op, operands, self.place[0], column, top, self.text.strip()))
        self.taken.add(name)
        self.where[name] = (self.index, col, self.place)
        return name

    def fresh(self) -> str:
        """The next generated gate name g1, g2, ... not written in the file."""
        while True:
            self.generated += 1
            name = f"{self.prefix}{self.generated}"
            if name not in self.taken and name not in self.written:
                return name


#: Marks the gate an assignment is building until the assignment is done (then it takes the name).
_PENDING = "\x00"


def _renamed(node: Node, renames: dict[str, str]) -> Node:
    import dataclasses

    return dataclasses.replace(node, name=renames.get(node.name, node.name),
                               operands=tuple(renames.get(o, o) if isinstance(o, str) else o for o in node.operands))


def _first_col(expr: Expr) -> int:
    if isinstance(expr, Apply) and expr.args:
        return min(expr.col, _first_col(expr.args[0]))
    return expr.col


def all_names(lines: Sequence[str]) -> set[str]:
    """Every name the file writes, so that generated names never take one of them."""
    names: set[str] = set()
    for text in lines:
        names.update(m[0] for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text))
    return names
