"""Reading what students give: one typed answer, or a whole answer sheet (YAML: key -> number).

A value may be a number, a number in quotes, or simple arithmetic (`0.5 - 0.5*0.082167`); keys may be
the trace's keys or the problem's display labels (`w5+`, `dE_total/dw5`). Anything that is not a number
is a format error for that key (verdict `invalid`), never a wrong answer; a duplicate or unknown key is
a format problem of that key only. A sheet that cannot be read at all (not YAML, not a mapping, too
big, a hostile tag, an alias bomb) raises `UserError`.

Sheets are untrusted: they are composed once with the safe loader and only their top-level scalars are
read (nothing is built from tags, nested lists or aliases), and nothing in them is executed. Sheets
made only of `key: number` lines, the common case, skip the YAML parser altogether.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import yaml

from tutor.errors import UserError, closest
from tutor.teach.expression import ExpressionError, decimals_given, evaluate
from tutor.teach.judge import Answer
from tutor.trace.trace import Trace
from tutor.problem.yaml_safe import check_depth, check_expanded_size, read_text, yaml_error

#: Answer sheets are small; anything bigger is refused before parsing.
SHEET_MAX_BYTES = 256 * 1024
#: Upper bound on the values a sheet may expand to through aliases (a real sheet has no aliases at all).
SHEET_MAX_VALUES = 100_000
#: Typed text longer than this is shortened in messages and reports.
SHOWN_TEXT = 40
#: Most entries a reader caches (answers to plain values, suggestions for unknown names).
_CACHE_LIMIT = 200_000

_TAG = "tag:yaml.org,2002:"
_NULL, _BOOL, _TIMESTAMP, _MERGE = _TAG + "null", _TAG + "bool", _TAG + "timestamp", _TAG + "merge"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Tags of plain data: those the safe constructor knows, plus `<<` and `=` as implicitly resolved.
_SAFE_TAGS = frozenset(tag for tag in _BaseLoader.yaml_constructors if tag) | {_MERGE, _TAG + "value"}
#: A plain decimal number, read with float() directly (the expression parser handles everything else);
#: the groups give the decimals typed, as `tutor.teach.expression.decimals_given` counts them.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?\Z").match
#: What YAML 1.1 reads as null, true/false or a date in a plain (unquoted) scalar.
_PLAIN_NULL = frozenset(["", "~", "null", "Null", "NULL"])
_PLAIN_BOOL = re.compile(r"(?:yes|no|true|false|on|off)\Z", re.IGNORECASE).match
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
                         r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?\Z").match
_NOT_FINITE = re.compile(r"[+-]?\.?(?:nan|inf|infinity)\Z", re.IGNORECASE).match


class SheetError(UserError):
    """A sheet that cannot be read at all: every asked key of it is `invalid`."""


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


class _SheetLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, used only to compose, without PyYAML's implicit resolver (most of its time).

    A sheet's values are read from their text (`answer_from_node` tells null, true/false and dates
    in plain scalars apart itself), so every untagged scalar is simply text; explicit tags are kept.
    """

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


def compose_sheet(text: str, source: str = "<sheet>") -> yaml.Node | None:
    """The node tree of a sheet's text, checked to be plain data; any failure is a `UserError`.

    Duplicate keys are not refused here (the grader reports them per key), and no value is constructed,
    so tags, aliases and nesting cost nothing beyond these checks.
    """
    if len(text) > SHEET_MAX_BYTES:
        raise SheetError(f"the sheet is larger than the limit of {SHEET_MAX_BYTES:,} bytes", source=source)
    if "\x00" in text:
        raise SheetError("not a YAML text file (it contains NUL characters)", source=source)
    check_depth(text, source)
    loader = _SheetLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise yaml_error(exc, source, text) from None
    except yaml.YAMLError as exc:
        raise SheetError(f"not valid YAML: {clean(str(exc))}", source=source) from None
    except RecursionError:
        raise SheetError("not accepted: the YAML is nested too deeply", source=source) from None
    finally:
        loader.dispose()
    if root is not None and ("&" in text or "!" in text):  # aliases need anchors, tags need '!'
        _check_nodes(root, source)
    return root


def _check_nodes(root: yaml.Node, source: str) -> None:
    """Refuse tags that would build objects, aliases that expand too far and aliases to themselves."""

    def refuse_tags(node: yaml.Node) -> None:
        if node.tag not in _SAFE_TAGS:
            tag = "!!" + node.tag[len(_TAG):] if node.tag.startswith(_TAG) else node.tag
            raise SheetError(f"the tag {short(tag)} is not allowed (an answer sheet holds plain numbers only)",
                             source=source, line=node.start_mark.line + 1, column=node.start_mark.column + 1)

    def children(node: yaml.Node) -> list[yaml.Node] | None:
        if isinstance(node, yaml.MappingNode):
            return [child for pair in node.value for child in pair]
        return node.value if isinstance(node, yaml.SequenceNode) else None

    check_expanded_size(root, children, SHEET_MAX_VALUES, source, "this sheet", refuse_tags)


def answer_from_text(key: str, text: str) -> Answer:
    """A typed value: a plain number (read directly), an expression, nothing, or a format error."""
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
    answer = parse_answer(key, stripped)
    if answer.error is not None:
        return Answer(key, text=stripped, error=clean(answer.error))
    return answer


def answer_from_plain(key: str, text: str) -> Answer:
    """The answer a plain (unquoted) scalar gives: YAML 1.1 reads some as null, true/false or a date."""
    if text in _PLAIN_NULL:
        return Answer(key)
    if _PLAIN_BOOL(text):
        return _not_a_number(key, text, _BOOL)
    if _PLAIN_DATE(text):
        return _not_a_number(key, text, _TIMESTAMP)
    return answer_from_text(key, text)


def answer_from_node(key: str, node: yaml.Node) -> Answer:
    """The answer a sheet's value node gives (never constructing it)."""
    if isinstance(node, yaml.SequenceNode):
        return Answer(key, error="expected a number, got a list")
    if isinstance(node, yaml.MappingNode):
        return Answer(key, error="expected a number, got a mapping")
    if node.tag == _STR and not node.style:  # plain (libyaml gives style "", PyYAML None)
        return answer_from_plain(key, node.value)
    if node.tag == _NULL:
        return Answer(key)
    if node.tag in (_BOOL, _TIMESTAMP):
        return _not_a_number(key, node.value, node.tag)
    return answer_from_text(key, node.value)


def _not_a_number(key: str, text: str, tag: str) -> Answer:
    what = f"'{short(text)}' (true/false)" if tag == _BOOL else f"the date '{short(text)}'"
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
    """Reads sheets for one trace; names, suggestions and plain values are cached (a class's sheets repeat them).

    With `asked`, keys outside it are reported as not asked and left out (they must not feed
    follow-through); without it, every key of the trace is read.
    """

    def __init__(self, trace: Trace, asked: Iterable[str] | None = None) -> None:
        self.trace = trace
        self.asked_keys = frozenset(asked) if asked is not None else frozenset(trace.keys())
        self._names: dict[str, str] = {}
        self._choices: list[str] | None = None
        self._hints: dict[str, str] = {}
        self._answers: dict[tuple[str, str | None], Answer] = {}

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

    def answer(self, key: str, value: str | yaml.Node | None) -> Answer:
        """The answer a sheet's value gives (cached for plain values: many students give the same ones)."""
        if isinstance(value, yaml.Node):
            return answer_from_node(key, value)
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

    def read(self, sheet: yaml.Node | list[tuple[str, int, str | None]] | None
             ) -> tuple[dict[str, Answer], dict[str, int], list[str]]:
        """The answers to asked keys, the line of each, and the format problems found while reading.

        `sheet` is the composed YAML, or the entries of a simple sheet (`simple_entries`).
        """
        if sheet is None:
            return {}, {}, []  # an empty sheet: everything is missing
        if isinstance(sheet, list):
            entries: Iterable[tuple[str | None, int, str | yaml.Node | None]] = sheet
        elif isinstance(sheet, yaml.MappingNode):
            entries = self.node_entries(sheet)
        else:
            got = "a list" if isinstance(sheet, yaml.SequenceNode) else "a single value"
            raise SheetError(f"an answer sheet is a mapping of keys to numbers (key: value, one per line), got {got}")
        answers: dict[str, Answer] = {}
        lines: dict[str, int] = {}
        first: dict[str, tuple[str, int]] = {}
        problems: list[str] = []
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
                if key in self.asked_keys:
                    answers[key] = Answer(key, text=None, error=message)
                continue
            first[key] = (name, line)
            if key not in self.asked_keys:
                problems.append(f"line {line}: '{short(clean(name))}' ({key}) is not asked in this problem; "
                                "it is not graded")
                continue
            answer = self.answer(key, value)
            if answer.error is not None:
                problems.append(f"line {line}: {short(clean(name))}: {answer.error}")
            answers[key] = answer
            lines[key] = line
        return answers, lines, problems

    @staticmethod
    def node_entries(root: yaml.MappingNode) -> Iterator[tuple[str | None, int, str | yaml.Node | None]]:
        """(key, line, value node) for each entry of a composed sheet; (None, line, why) for a key that is
        not a plain name."""
        for key_node, value_node in root.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                yield None, line, "a list or a mapping"
            elif key_node.tag == _MERGE or (key_node.value == "<<" and not key_node.style):
                yield None, line, "a merge key (<<)"
            else:
                yield key_node.value, line, value_node



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
    sheet with no asked key on any line stays unreadable as a whole: the error is raised)."""
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
    message = error.message
    return type(error) is UserError and message.startswith("not valid YAML") and "nest" not in message


def read_by_line(reader: SheetReader, text: str, source: str = "<sheet>") -> Sheet:
    """A sheet the YAML parser refuses, read one line at a time: every line that is valid on its own is
    graded, and only the key of a line that is not is `invalid` (a line without a key is reported)."""
    entries: list[tuple[str | None, int, str | yaml.Node | None]] = []
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
        if isinstance(node, yaml.MappingNode):
            entries.extend((name, number, value) for name, _, value in reader.node_entries(node))
        else:
            broken.append((number, stripped, "not a `key: value` line"))
    answers, lines, problems = reader.read(entries)  # type: ignore[arg-type]
    for number, line, why in broken:
        match = _LINE_KEY(line)
        key = _asked_key(reader, match.group(1)) if match else None
        if key is None or key in answers:
            problems.append(f"line {number}: {clean(why)}; this line is not graded")
            continue
        message = f"this line could not be read ({clean(why)})"
        answers[key] = Answer(key, text=short(clean(line[match.end():].strip())), error=message)
        lines[key] = number
        problems.append(f"line {number}: {short(clean(match.group(1)))}: {message}")
    problems.sort(key=lambda p: int(p.split(":", 1)[0].split()[1]))
    return Sheet(source, answers, lines, problems)


def _asked_key(reader: SheetReader, name: str) -> str | None:
    """The asked key a name stands for, or None."""
    try:
        key = reader.resolve(name)
    except UserError:
        return None
    return key if key in reader.asked_keys else None
