"""Reading what students give: one typed answer, or a whole answer sheet (YAML: key -> number).

A value may be a number, a number in quotes, or simple arithmetic (`0.5 - 0.5*0.082167`), which may use
by label or key the givens and the sheet's other values (`delta_o1 * out_h1`: `SheetNames`, the
`names` the quiz gives `evaluate` too); keys may be the trace's keys or the problem's display labels
(`w5+`, `dE_total/dw5`). Anything that is not a number is a format error for that key (verdict
`invalid`), never a wrong answer, as is a name with no value on the sheet or a cycle of names; a
duplicate or unknown key is a format problem of that key only. A sheet that cannot be read at all (not YAML, not a mapping, too
big, a hostile tag, an alias bomb) raises `UserError`.

Sheets are untrusted: they are composed once by the project's YAML loader (`tutor.problem.yaml_safe`, the
same checks as for problem files) and only their top-level scalars are read (nothing is built from tags,
nested lists or aliases), and nothing in them is executed. Sheets made only of `key: number` lines, the
common case, skip the YAML parser altogether.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from tutor.errors import UserError, closest
from tutor.teach.expression import ExpressionError, decimals_given, evaluate
from tutor.teach.judge import Answer
from tutor.trace.quantity import Term
from tutor.trace.trace import Trace
from tutor.problem.yaml_safe import (Mapping as MappingNode, Node, Scalar, Sequence, YamlSyntaxError, compose,
                                     is_bool, is_merge_key, is_null, looks_like_date, read_text)

#: Answer sheets are small; anything bigger is refused before parsing.
SHEET_MAX_BYTES = 256 * 1024
#: Upper bound on the values a sheet may expand to through aliases (a real sheet has no aliases at all).
SHEET_MAX_VALUES = 100_000
#: Typed text longer than this is shortened in messages and reports.
SHOWN_TEXT = 40
#: Most entries a reader caches (answers to plain values, suggestions for unknown names).
_CACHE_LIMIT = 200_000

#: A plain decimal number, read with float() directly (the expression parser handles everything else);
#: the groups give the decimals typed, as `tutor.teach.expression.decimals_given` counts them.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?\Z").match
_NOT_FINITE = re.compile(r"[+-]?\.?(?:nan|inf|infinity)\Z", re.IGNORECASE).match


class SheetError(UserError):
    """A sheet that cannot be read at all: every asked key of it is `invalid`."""


class SheetSyntaxError(SheetError):
    """A sheet the YAML parser cannot read (not one refused for its size, tags, aliases or nesting)."""


def parse_answer(key: str, text: str | None, names: Mapping[str, float | None] | None = None) -> Answer:
    """An answer typed at a prompt: a number, an expression, nothing (missing) or a format error.

    `names`: quantities the expression may use by name (see `tutor.teach.expression.evaluate`).
    """
    if text is None or not str(text).strip():
        return Answer(key)
    text = str(text).strip()
    try:
        value = evaluate(text, names)
    except ExpressionError as exc:
        return Answer(key, text=text, error=exc.message)
    return Answer(key, value, text, decimals_given(text))


def has_name(text: str) -> bool:
    """Whether an answer may use a quantity by name (it has a letter that starts no number)."""
    return any(c.isalpha() and c not in "eE" for c in text) or "_" in text


def given_values(trace: Trace) -> dict[str, float | None]:
    """The problem's given numbers by label: inputs, targets, weights, biases, eta (the step's learning
    rate), and every other number the formulas take from the problem (an optimizer's beta2 and eps, the
    state a step starts from such as v_prev(w5), an image's x(1,1) and a filter's w^1(1,1), t)."""
    if getattr(trace, "is_graph", False):  # a computational graph: its inputs (tutor/trace/graph.py)
        return trace.given_values()
    problem, labels = trace.problem, trace.labels
    values: dict[str, float | None] = {}
    if problem.inputs.ndim == 2 and all(layer.weights.ndim == 2 for layer in problem.layers):  # vectors only
        for s in range(problem.samples):
            sample = s + 1 if problem.batch else None
            for i in range(1, problem.shape[0] + 1):
                values[labels.layer_input(1, i, sample)] = float(problem.inputs[s, i - 1])
            for j in range(1, problem.layers[-1].size + 1):
                values[labels.target(j, sample, len(problem.layers))] = float(problem.targets[s, j - 1])
        for l, layer in enumerate(problem.layers, start=1):
            for j in range(1, layer.size + 1):
                for i in range(1, layer.fan_in + 1):
                    values[labels.weight(l, j, i)] = float(layer.weights[j - 1, i - 1])
            for j in ([None] if layer.shared_bias else range(1, layer.size + 1)):
                values[labels.bias(l, j)] = float(layer.biases[0 if j is None else j - 1])
    values["eta"] = float(problem.step_rate)
    for symbol, value in formula_givens(trace.quantities).items():
        values.setdefault(symbol, value)
    return values


def formula_givens(quantities: Iterable) -> dict[str, float]:
    """The numbers `quantities`' formulas take from the problem (terms without a key), by symbol."""
    found: dict[str, float] = {}
    for q in quantities:
        for part in q.formula:
            if isinstance(part, Term) and part.key is None and part.symbol not in found:
                found[part.symbol] = float(part.value)
    return found


def answer_names(trace: Trace) -> dict[str, float | None]:
    """Every name an answer may use: the givens with their values, and each quantity's label and key
    without one (the quiz and the sheets put the student's own values in)."""
    names = given_values(trace)
    for q in trace.quantities:
        names.setdefault(q.label, None)
        names.setdefault(q.key, None)
    return names


class _Needs(Exception):
    """A sheet's answer uses by name a value of the sheet not worked out yet."""

    def __init__(self, key: str, name: str) -> None:
        super().__init__(key)
        self.key, self.name = key, name


class SheetNames(Mapping[str, float | None]):
    """What a sheet's arithmetic may use by name (`evaluate`'s `names`): the givens, and the sheet's own
    values, by label or key; a name with no value on the sheet is a format error naming it."""

    def __init__(self, reader: "SheetReader", answers: Mapping[str, Answer], pending: Iterable[str]) -> None:
        self.reader, self.answers, self.pending = reader, answers, pending
        self.base = reader.names()

    def __contains__(self, name: object) -> bool:
        return name in self.base

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, name: str) -> float | None:
        key = self.reader.quantity_key(name)
        if key is not None and key in self.answers:
            if key in self.pending:
                raise _Needs(key, name)
            answer = self.answers[key]
            if answer.value is None:
                why = "blank" if answer.error is None else "not a number"
                raise ExpressionError(f"'{short(name)}' has no value to use: its own value on this sheet is {why}")
            return answer.value
        value = self.base[name]
        if value is None:
            raise ExpressionError(f"'{short(name)}' has no value to use: it is not on this sheet (by name a value "
                                  "may use the givens and the sheet's other values)")
        return value


def compose_sheet(text: str, source: str = "<sheet>") -> Node | None:
    """The node tree of a sheet's text, checked to be plain data by the one YAML loader; failures are `SheetError`.

    Duplicate keys are not refused here (the grader reports them per key), and no value is constructed,
    so tags, aliases and nesting cost nothing beyond the loader's checks.
    """
    if len(text) > SHEET_MAX_BYTES:
        raise SheetError(f"the sheet is larger than the limit of {SHEET_MAX_BYTES:,} bytes", source=source)
    try:
        return compose(text, source=source, max_bytes=SHEET_MAX_BYTES, max_values=SHEET_MAX_VALUES,
                       what="this sheet")
    except UserError as exc:
        kind = SheetSyntaxError if isinstance(exc, YamlSyntaxError) else SheetError
        raise kind(exc.message, source=exc.source, line=exc.line, column=exc.column, field=exc.field) from None


def answer_from_text(key: str, text: str, names: Mapping[str, float | None] | None = None) -> Answer:
    """A typed value: a plain number (read directly), an expression, nothing, or a format error.

    `names`: quantities an expression may use by name (as for `parse_answer`).
    """
    stripped = text.strip()
    if not stripped:
        return Answer(key)
    match = _PLAIN_NUMBER(stripped)
    if match is not None:
        value = float(stripped)
        if math.isfinite(value):
            fraction = match.group(1) or match.group(2) or ""
            return Answer(key, value, stripped, len(fraction) - int(match.group(3) or 0))
    if stripped.startswith("="):
        return Answer(key, text=stripped, error="a value may not start with '=' (a spreadsheet formula); write "
                                                "just the number or the arithmetic")
    if _NOT_FINITE(stripped):
        return Answer(key, text=stripped, error=f"'{stripped}' is not a finite number")
    answer = parse_answer(key, stripped, names)
    if answer.error is not None:
        return Answer(key, text=stripped, error=clean(answer.error))
    return answer


def answer_from_plain(key: str, text: str, names: Mapping[str, float | None] | None = None) -> Answer:
    """The answer a plain (unquoted) scalar gives, by the YAML loader's rules: null, true/false, a date, or a value."""
    if is_null(text):
        return Answer(key)
    if is_bool(text):
        return _not_a_number(key, text, "true/false")
    if looks_like_date(text):
        return _not_a_number(key, text, "date")
    return answer_from_text(key, text, names)


def answer_from_node(key: str, node: Node, names: Mapping[str, float | None] | None = None) -> Answer:
    """The answer a sheet's value node gives (never constructing it)."""
    if type(node) is Sequence:
        return Answer(key, error="expected a number, got a list")
    if type(node) is MappingNode:
        return Answer(key, error="expected a number, got a mapping")
    assert isinstance(node, Scalar)
    if node.tag is None and node.plain:
        return answer_from_plain(key, node.text, names)
    if node.tag == "null":
        return Answer(key)
    if node.tag == "bool":
        return _not_a_number(key, node.text, "true/false")
    return answer_from_text(key, node.text, names)


def _not_a_number(key: str, text: str, kind: str) -> Answer:
    what = f"'{short(text)}' (true/false)" if kind == "true/false" else f"the date '{short(text)}'"
    return Answer(key, text=text, error=f"expected a number, got {what}")


#: One line of a simple sheet: `key: number`, `key:`, a comment or nothing. A sheet made only of these
#: is read without the YAML parser; the key and value texts are exactly what YAML would read.
_SIMPLE_LINE = re.compile(
    r"(?:([A-Za-z0-9_][A-Za-z0-9_@^+/.-]*):(?: +([-+]?[.0-9][-+.0-9eE]*))?(?: +#[ -~]*)? *"
    r"| *(?:#[ -~]*)?)\Z").match


def simple_entries(text: str) -> list[tuple[str, int, str | None]] | None:
    """(key, line, value text) for each entry of a sheet of simple lines only; None for any other sheet.

    This is the common case (what `template` writes, filled in with numbers), and composing it with the
    YAML parser would take most of the grading time. Anything else (quotes, flow style, anchors, tags,
    indentation, tabs, expressions with spaces, anything but printable ASCII) goes through `compose_sheet`.
    """
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = _SIMPLE_LINE(line[:-1] if line.endswith("\r") else line)
        if match is None:
            return None
        if match.group(1) is not None:
            entries.append((match.group(1), number, match.group(2)))
    return entries




@dataclass
class Sheet:
    """A student's answers by key, the line each was given on, and the format problems found."""

    source: str
    answers: dict[str, Answer] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # each prefixed with its line


class SheetReader:
    """Reads sheets for one trace: every key of the trace (asked or not, all of it is the student's work);
    names, suggestions and plain values are cached (a class's sheets repeat them)."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._names: dict[str, str] = {}
        self._choices: list[str] | None = None
        self._hints: dict[str, str] = {}
        self._answers: dict[tuple[str, str | None], Answer] = {}
        self._names_base: dict[str, float | None] | None = None
        self._quantities: dict[str, str | None] = {}

    def names(self) -> dict[str, float | None]:
        """Every name a sheet's arithmetic may use (`answer_names`), built once."""
        if self._names_base is None:
            self._names_base = answer_names(self.trace)
        return self._names_base

    def quantity_key(self, name: str) -> str | None:
        """The key of the quantity `name` stands for; None for a given such as w5 or eta (cached)."""
        if name not in self._quantities:
            try:
                self._quantities[name] = self.resolve(name)
            except UserError:
                self._quantities[name] = None
        return self._quantities[name]

    def read_file(self, path: str | Path) -> Sheet:
        """Read a sheet file (at most SHEET_MAX_BYTES); a sheet that cannot be read raises `UserError`."""
        text = read_text(path, max_bytes=SHEET_MAX_BYTES, what="answer sheet")
        return self.read_text(text, source=str(path))

    def read_text(self, text: str, *, source: str = "<sheet>") -> Sheet:
        if len(text) > SHEET_MAX_BYTES:
            raise SheetError(f"the sheet is larger than the limit of {SHEET_MAX_BYTES:,} bytes", source=source)
        entries = simple_entries(text)
        answers, lines, problems = self.read(compose_sheet(text, source) if entries is None else entries)
        return Sheet(source, answers, lines, problems)

    def suggest(self, name: str) -> str:
        """A "; did you mean 'x'?" hint for an unknown name in a sheet (cached: classes make the same slips)."""
        hint = self._hints.get(name)
        if hint is None:
            if self._choices is None:
                self._choices = [*self.trace.keys(), *(q.label for q in self.trace.quantities)]
            hint = closest(short(name, 100), self._choices)
            if len(self._hints) < _CACHE_LIMIT:
                self._hints[name] = hint
        return hint

    def answer(self, key: str, value: str | Node | None, names: Mapping[str, float | None] | None = None
               ) -> Answer:
        """The answer a sheet's value gives (cached for plain values without `names`: many students give the
        same ones)."""
        if isinstance(value, Node):
            return answer_from_node(key, value, names)
        if names is not None:
            return answer_from_plain(key, value or "", names)
        cached = self._answers.get((key, value))
        if cached is None:
            cached = answer_from_plain(key, value or "")
            if len(self._answers) < _CACHE_LIMIT:
                self._answers[(key, value)] = cached
        return cached

    def resolve(self, name: str) -> str:
        """The key for a name in a sheet (cached: every sheet uses the same few names)."""
        key = self._names.get(name)
        if key is None:
            key = self.trace.resolve(name)
            self._names[name] = key
        return key

    def read(self, sheet: Node | list[tuple[str, int, str | None]] | None
             ) -> tuple[dict[str, Answer], dict[str, int], list[str]]:
        """The answers by key, the line of each, and the format problems found while reading.

        `sheet` is the composed YAML, or the entries of a simple sheet (`simple_entries`).
        """
        if sheet is None:
            return {}, {}, []  # an empty sheet: everything is missing
        if isinstance(sheet, list):
            entries: Iterable[tuple[str | None, int, str | Node | None]] = sheet
        elif isinstance(sheet, MappingNode):
            entries = self.node_entries(sheet)
        else:
            got = "a list" if isinstance(sheet, Sequence) else "a single value"
            raise SheetError(f"an answer sheet is a mapping of keys to numbers (key: value, one per line), got {got}")
        answers: dict[str, Answer] = {}
        lines: dict[str, int] = {}
        first: dict[str, tuple[str, int]] = {}
        problems: list[str] = []
        named: dict[str, str | Node | None] = {}  # values that may use other values by name
        for name, line, value in entries:
            if name is None:
                problems.append(f"line {line}: a key must be the name of a quantity, not {value}")
                continue
            shown = short(clean(name))
            try:
                key = self.resolve(name)
            except UserError:
                hint = self.suggest(name) or "; `backprop-tutor template PROBLEM` lists the keys"
                problems.append(f"line {line}: unknown key '{shown}', not graded{hint}")
                continue
            if key in first:
                earlier, at = first[key]
                if name == earlier:
                    message = f"'{shown}' is given twice (lines {at} and {line}); give each value once"
                else:
                    message = f"'{shown}' and '{short(clean(earlier))}' (line {at}) are the same quantity ({key}); " \
                              "give each value once"
                problems.append(f"line {line}: {message}")
                answers[key] = Answer(key, text=None, error=message)
                continue
            first[key] = (name, line)
            answer = self.answer(key, value)
            if answer.error is not None and has_name(answer.text or ""):
                named[key] = value
            elif answer.error is not None:
                problems.append(f"line {line}: {short(clean(name))}: {answer.error}")
            answers[key] = answer
            lines[key] = line
        if named:
            self.with_names(answers, named, {key: name for key, (name, _) in first.items()})
            problems += [f"line {lines[key]}: {short(clean(first[key][0]))}: {answers[key].error}"
                         for key in named if answers[key].error is not None]
            problems.sort(key=lambda problem: int(problem.split(":", 1)[0].split()[1]))
        return answers, lines, problems

    def with_names(self, answers: dict[str, Answer], named: Mapping[str, str | Node | None],
                   written: Mapping[str, str]) -> None:
        """Work out the values that use others by name (`delta_o1 * out_h1`), each after those it uses; a cycle
        is a format error of each of its keys. `written`: each key's name as the sheet writes it."""
        pending = dict(named)
        names = SheetNames(self, answers, pending)
        for start in named:
            stack: list[str] = [start] if start in pending else []
            via: dict[str, str] = {}  # the name through which each key on the stack uses the next
            while stack:
                key = stack[-1]
                try:
                    answers[key] = self.answer(key, pending[key], names)
                except _Needs as need:
                    via[key] = need.name
                    if need.key not in stack:
                        stack.append(need.key)
                        continue
                    cycle = stack[stack.index(need.key):]
                    for member in cycle:
                        answers[member] = Answer(member, text=answers[member].text,
                                                 error=_cycle_message(member, cycle, via, written))
                        del pending[member]
                    del stack[-len(cycle):]
                    continue
                del pending[key]
                stack.pop()


    @staticmethod
    def node_entries(root: MappingNode) -> Iterator[tuple[str | None, int, str | Node | None]]:
        """(key, line, value node) for each entry of a composed sheet; (None, line, why) for a key that is
        not a plain name."""
        for key_node, value_node in root.pairs:
            if not isinstance(key_node, Scalar):
                yield None, key_node.line, "a list or a mapping"
            elif is_merge_key(key_node):
                yield None, key_node.line, "a merge key (<<)"
            else:
                yield key_node.text, key_node.line, value_node



def _cycle_message(key: str, cycle: list[str], via: Mapping[str, str], written: Mapping[str, str]) -> str:
    """Why `key`, one of a cycle of values that use each other by name, has no value."""
    name = short(clean(via[key]))
    if len(cycle) == 1:
        return f"'{name}' is this value itself: a value cannot be worked out from itself"
    start = cycle.index(key)
    chain = " -> ".join(short(clean(written[k])) for k in [*cycle[start:], *cycle[:start], key])
    return f"'{name}' is worked out from this value in turn (a cycle: {chain})"


def clean(text: str) -> str:
    """Untrusted text with control characters (terminal escapes, newlines) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def short(text: str, limit: int = SHOWN_TEXT) -> str:
    """Text cut to `limit` characters for messages."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: The key of a line that is not valid YAML: its first word, before a ':' or a space (quotes dropped).
_LINE_KEY = re.compile(r"\s*['\"]?([^\s:#'\"]+)['\"]?(?:\s*:|\s)").match


def read_sheet(reader: SheetReader, text: str, source: str = "<sheet>") -> Sheet:
    """A sheet's answers; with a YAML syntax error, each line that is valid on its own still counts (a
    sheet with no key on any line stays unreadable as a whole: the error is raised)."""
    try:
        return reader.read_text(text, source=source)
    except UserError as exc:
        if not readable_by_line(exc):
            raise
        sheet = read_by_line(reader, text, source)
        if not sheet.answers:
            raise
        return sheet


def readable_by_line(error: UserError) -> bool:
    """A sheet refused for a YAML syntax error (not its size, tags, aliases or nesting): read it by line."""
    return isinstance(error, (SheetSyntaxError, YamlSyntaxError))


def read_by_line(reader: SheetReader, text: str, source: str = "<sheet>") -> Sheet:
    """A sheet the YAML parser refuses, read one line at a time: every line that is valid on its own is
    graded, and only the key of a line that is not is `invalid` (a line without a key is reported)."""
    entries: list[tuple[str | None, int, str | Node | None]] = []
    broken: list[tuple[int, str, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            node = compose_sheet(stripped + "\n", source)
        except UserError as exc:
            broken.append((number, stripped, exc.message))
            continue
        if isinstance(node, MappingNode):
            entries.extend((name, number, value) for name, _, value in reader.node_entries(node))
        else:
            broken.append((number, stripped, "not a `key: value` line"))
    answers, lines, problems = reader.read(entries)  # type: ignore[arg-type]
    for number, line, why in broken:
        match = _LINE_KEY(line)
        key = _sheet_key(reader, match.group(1)) if match else None
        if key is None or key in answers:
            problems.append(f"line {number}: {clean(why)}; this line is not graded")
            continue
        message = f"this line could not be read ({clean(why)})"
        answers[key] = Answer(key, text=short(clean(line[match.end():].strip())), error=message)
        lines[key] = number
        problems.append(f"line {number}: {short(clean(match.group(1)))}: {message}")
    problems.sort(key=lambda p: int(p.split(":", 1)[0].split()[1]))
    return Sheet(source, answers, lines, problems)


def _sheet_key(reader: SheetReader, name: str) -> str | None:
    """The key a name stands for, or None."""
    try:
        return reader.resolve(name)
    except UserError:
        return None
