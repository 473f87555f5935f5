"""Safe YAML reading for problem files and answer sheets: one loader, on PyYAML's public API only.

PyYAML only turns the text into a stream of parsing events (`yaml.parse`); everything else is ours,
so that no release of PyYAML can change what is accepted or what a user is told:

- `compose` builds our own node tree from the events, without recursion, and refuses on the way:
  text over the size limit or with control characters, nesting deeper than MAX_DEPTH, tags other
  than the plain-data ones, aliases that refer to themselves or expand the document too far, and
  merge keys (`<<`) that would copy too many keys;
- `construct` turns nodes into plain Python values (dict, list, str, int, float, bool, None),
  refusing duplicate keys and applying merge keys, by the scalar rules of `resolve_plain`.

Events come from libyaml when PyYAML has it (fast); a text libyaml refuses is read again by PyYAML's
pure-Python parser, which has no nesting limit of its own, so that libyaml's limits never decide
what is accepted and every message is the same with or without libyaml. Positions are kept on every
node; `locate` finds the line and column of a field afterwards, when there is an error to report.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence as SequenceType

import yaml

from tutor.errors import UserError

FieldPath = SequenceType[str | int]

#: Problem files for networks such as 784-128-64-10 are about 1 MB; anything far bigger is a mistake.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: Upper bound on the number of values a document may expand to once aliases are followed.
MAX_EXPANDED_NODES = 5_000_000
#: Upper bound on the keys merge keys (`<<: *base`) may copy, counting keys merged into merged mappings.
MAX_MERGED_KEYS = 100_000
#: Deepest nesting of lists and mappings accepted.
MAX_DEPTH = 1000
#: Longest whole number accepted, in characters (Python refuses to convert much longer ones).
MAX_DIGITS = 4000

_TAG_PREFIX = "tag:yaml.org,2002:"
#: Explicit tags of plain data (`!!int 3`); every other tag (`!!python/object`, `!!set`, `!local`) is refused.
_SCALAR_TAGS = frozenset(["str", "int", "float", "bool", "null", "merge"])
_NO_TAG = (None, "!")

# -- scalar rules ----------------------------------------------------------------------------------------
# The same on every PyYAML version, because they are ours: YAML 1.1 words for null and true/false (as
# PyYAML has always read them), numbers as YAML 1.2 writes them plus `_` between digits.

_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(["", "~", "null", "Null", "NULL"]),
    **dict.fromkeys(["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"], True),
    **dict.fromkeys(["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"], False),
    **{sign + inf: float(sign + "inf") for sign in ("", "+", "-") for inf in (".inf", ".Inf", ".INF")},
    **dict.fromkeys([".nan", ".NaN", ".NAN"], float("nan")),
}
_NULLS = frozenset(text for text, value in _CONSTANTS.items() if value is None)
_BOOLS = frozenset(text for text, value in _CONSTANTS.items() if value is True or value is False)
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?\Z"
                    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+\Z").match
_DECIMAL = re.compile(r"[-+]?[0-9][0-9_]*\Z").match
_PREFIXED = re.compile(r"[-+]?0(?:(x)_*[0-9a-fA-F][0-9a-fA-F_]*|(o)_*[0-7][0-7_]*|(b)_*[01][01_]*)\Z").match
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
                   r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?\Z").match
_NUMBER_START = frozenset("0123456789+-.")
#: The common case of `_FLOAT`, without `_`: float() reads it as it is.
_PLAIN_DECIMAL = re.compile(r"-?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z").match


class YamlSyntaxError(UserError):
    """Text that the YAML parser cannot read (as opposed to text refused by a limit or a rule of ours)."""


class _Unreadable(Exception):
    """A scalar that cannot be read as what its tag or form says."""


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar: None, a bool, an int, a float, or the text itself.

    `~`/`null`/empty are None; `true/false/yes/no/on/off` (lower, Capitalised or UPPER) are booleans;
    `12`, `010` (ten), `1_000`, `0x1F`, `0o17`, `0b101` are ints; `0.25`, `1e-3`, `.5`, `1.`, `.inf`,
    `.nan` are floats; anything else, dates and `1:30` included, is text.
    """
    value = _CONSTANTS.get(text, _CONSTANTS)
    if value is not _CONSTANTS:
        return value
    if text[0] not in _NUMBER_START:
        return text
    if _FLOAT(text):
        return float(text.replace("_", "") if "_" in text else text)
    if _DECIMAL(text):
        if len(text) > MAX_DIGITS:  # Python's own limit differs between versions; this one does not
            raise _Unreadable(f"the number '{text[:27]}...' has too many digits")
        return int(text.replace("_", ""))
    prefixed = _PREFIXED(text)
    if prefixed:
        base = 16 if prefixed.group(1) else 8 if prefixed.group(2) else 2
        return int(text.replace("_", ""), base)
    return text


def is_null(text: str) -> bool:
    """Whether a plain scalar reads as nothing (null)."""
    return text in _NULLS


def is_bool(text: str) -> bool:
    """Whether a plain scalar reads as true or false."""
    return text in _BOOLS


def looks_like_date(text: str) -> bool:
    """Whether a plain scalar is written as a date (it stays text; an answer sheet refuses it as a number)."""
    return _DATE(text) is not None


# -- nodes -----------------------------------------------------------------------------------------------


class Node:
    """A composed YAML node; aliases are the same node object as their anchor."""

    __slots__ = ("mark",)

    @property
    def line(self) -> int:
        """1-based line where the node starts."""
        return self.mark.line + 1

    @property
    def column(self) -> int:
        """1-based column where the node starts."""
        return self.mark.column + 1


class Scalar(Node):
    """A scalar as written: its text, whether it was plain (unquoted, untagged), and its explicit tag if any."""

    __slots__ = ("text", "plain", "tag")

    def __init__(self, text: str, plain: bool, tag: str | None, mark: Any) -> None:
        self.text = text
        self.plain = plain
        self.tag = tag  # None, or one of _SCALAR_TAGS
        self.mark = mark


class Sequence(Node):
    __slots__ = ("items",)

    def __init__(self, mark: Any) -> None:
        self.items: list[Node] = []
        self.mark = mark


class Mapping(Node):
    __slots__ = ("pairs", "keys")

    def __init__(self, mark: Any) -> None:
        self.pairs: list[tuple[Node, Node]] = []
        self.keys = 0  # keys it has once merge keys are expanded (bounds merge-key bombs)
        self.mark = mark


def is_merge_key(node: Node) -> bool:
    """Whether a mapping key is the merge key `<<` (plain, or tagged !!merge)."""
    return type(node) is Scalar and (node.tag == "merge" or (node.plain and node.text == "<<"))


# -- composing -------------------------------------------------------------------------------------------

_NOT_YAML_TEXT = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _check_text(text: str, source: str, max_bytes: int) -> None:
    """Refuse text over the size limit or with characters YAML does not allow, before parsing."""
    if len(text) > max_bytes:
        raise UserError(f"text is larger than the limit of {max_bytes:,} bytes", source=source)
    bad = _NOT_YAML_TEXT.search(text)
    if bad is None:
        return
    line, column = _line_column(text, bad.start())
    character = bad.group()
    if character == "\x00":
        message = "not a YAML text file (it contains NUL characters)"
    elif "\ud800" <= character <= "\udfff":
        message = "not valid text (it contains an unpaired surrogate character)"
    else:
        message = f"not valid YAML: control characters are not allowed (found #x{ord(character):04x})"
    raise UserError(message, source=source, line=line, column=column)


class _Frame:
    """A list or mapping being composed: its node, children so far (keys and values alternate), anchor."""

    __slots__ = ("node", "items", "anchor", "count", "merge")

    def __init__(self, node: Sequence | Mapping, anchor: str | None, count: int) -> None:
        self.node = node
        self.items: list[Node] = node.items if type(node) is Sequence else []
        self.anchor = anchor
        self.count = count  # values in the document before this one (its expanded size is the difference)
        self.merge = False


class _Composer:
    """Builds the node tree from parsing events, with every check that does not need values."""

    def __init__(self, source: str, max_values: int, what: str) -> None:
        self.source = source
        self.max_values = max_values
        self.what = what
        self.merged = 0

    def error(self, message: str, mark: Any, stack: list[_Frame]) -> UserError:
        path = _frame_path(stack)
        return UserError(message, source=self.source, line=mark.line + 1, column=mark.column + 1,
                         field=format_path(path) if path else None)

    def compose(self, events: Iterable[Any]) -> Node | None:
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        end_events = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
        stack: list[_Frame] = []
        anchors: dict[str, tuple[Node, int] | None] = {}  # None: still open (an alias to it is recursive)
        count = 0  # values so far, aliases counted at their expanded size
        documents = 0
        root: Node | None = None
        for event in events:
            kind = type(event)
            if kind is scalar_event:
                tag = event.tag
                if tag is None:
                    node: Node = Scalar(event.value, event.implicit[0], None, event.start_mark)
                else:
                    node = Scalar(event.value, False, self.scalar_tag(tag, event.start_mark, stack), event.start_mark)
                count += 1
                if event.anchor is not None:
                    anchors[event.anchor] = (node, 1)
            elif kind is alias_event:
                target = anchors.get(event.anchor, False)
                if target is False:
                    raise self.error(f"not valid YAML: the alias *{event.anchor} has no anchor &{event.anchor} "
                                     "before it", event.start_mark, stack)
                if target is None:
                    raise self.error("not accepted: an alias refers to the structure that contains it",
                                     event.start_mark, stack)
                node, size = target
                count += size
                if count > self.max_values:
                    raise self.error(f"not accepted: aliases expand {self.what} to more than {self.max_values:,} "
                                     "values", event.start_mark, stack)
            elif kind in end_events:
                frame = stack.pop()
                node = frame.node
                if type(node) is Mapping:
                    items = frame.items
                    node.pairs = list(zip(items[::2], items[1::2]))
                    node.keys = len(node.pairs)
                    if frame.merge:
                        self.count_merged(node, stack)
                if frame.anchor is not None:
                    anchors[frame.anchor] = (node, count - frame.count)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                mark = event.start_mark
                if len(stack) >= MAX_DEPTH:
                    raise self.error(f"not accepted: nested more than {MAX_DEPTH} levels deep", mark, [])
                is_sequence = kind is yaml.SequenceStartEvent
                if event.tag not in _NO_TAG and event.tag != _TAG_PREFIX + ("seq" if is_sequence else "map"):
                    raise self.error(_tag_message(event.tag), mark, stack)
                collection = (Sequence if is_sequence else Mapping)(mark)
                if event.anchor is not None:
                    anchors[event.anchor] = None
                stack.append(_Frame(collection, event.anchor, count))
                count += 1
                continue
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self.error("not valid YAML: expected a single YAML document, found more than one "
                                     "(remove the '---' line)", event.start_mark, [])
                continue
            else:  # stream start and end, document end
                continue
            if stack:
                frame = stack[-1]
                items = frame.items
                if type(frame.node) is Mapping and not len(items) % 2 and is_merge_key(node):
                    frame.merge = True
                items.append(node)
            else:
                root = node
        return root

    def scalar_tag(self, tag: str, mark: Any, stack: list[_Frame]) -> str:
        """The short name of an allowed explicit scalar tag (`!` alone means text)."""
        if tag == "!":
            return "str"
        if tag.startswith(_TAG_PREFIX) and tag[len(_TAG_PREFIX):] in _SCALAR_TAGS:
            return tag[len(_TAG_PREFIX):]
        raise self.error(_tag_message(tag), mark, stack)

    def count_merged(self, node: Mapping, stack: list[_Frame]) -> None:
        """Add the keys this mapping's merge keys copy (with everything merged into them) to the document's."""
        copied = 0
        for key, value in node.pairs:
            if is_merge_key(key):
                sources = value.items if type(value) is Sequence else [value]
                copied += sum(source.keys for source in sources if type(source) is Mapping)
        node.keys += copied
        self.merged += copied
        if self.merged > MAX_MERGED_KEYS:
            raise UserError(f"not accepted: merge keys (<<) expand this document to more than {MAX_MERGED_KEYS:,} "
                            "keys", source=self.source, line=node.line, column=node.column,
                            field=format_path(_frame_path(stack)) or None)


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_TAG_PREFIX):] if tag.startswith(_TAG_PREFIX) else tag
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"not valid YAML: the tag {shown} is not allowed (only plain numbers, text, lists and mappings)"


def _frame_path(stack: list[_Frame]) -> list[str | int]:
    """The field path of the node being added to the innermost frame."""
    path: list[str | int] = []
    for frame in stack:
        items = frame.items
        if type(frame.node) is Sequence:
            path.append(len(items))
        elif len(items) % 2:
            key = items[-1]
            path.append(key.text if type(key) is Scalar else "?")
        else:
            break  # at a key: the mapping's own path
    return path


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while reading: a big file makes ~100,000 small objects and no cycles,
    and collecting while they are made costs as much as making them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parsers() -> list[type]:
    """libyaml's parser when PyYAML has it, then the pure-Python one (which decides whatever libyaml refuses)."""
    fast = getattr(yaml, "CSafeLoader", None)
    return [fast, yaml.SafeLoader] if fast is not None else [yaml.SafeLoader]


def compose(text: str, *, source: str = "<string>", max_bytes: int = DEFAULT_MAX_BYTES,
            max_values: int = MAX_EXPANDED_NODES, what: str = "this document") -> Node | None:
    """The checked node tree of one YAML document (None if empty); every failure is a `UserError`."""
    _check_text(text, source, max_bytes)
    with _collector_paused():
        return _compose(text, source, max_values, what)


def _compose(text: str, source: str, max_values: int, what: str) -> Node | None:
    *fast, slow = _parsers()
    for loader in fast:
        try:
            return _Composer(source, max_values, what).compose(yaml.parse(text, Loader=loader))
        except yaml.YAMLError:
            pass  # read again below: libyaml's own limits must not decide, nor word the message
    try:
        return _Composer(source, max_values, what).compose(yaml.parse(text, Loader=slow))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"not valid YAML: {exc.problem or exc.context or 'not a YAML document'}"
        if mark is None:
            raise YamlSyntaxError(message, source=source) from None
        raise YamlSyntaxError(message, source=source, line=mark.line + 1, column=mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"not valid YAML: {exc}", source=source) from None


# -- constructing ----------------------------------------------------------------------------------------


_READ_AS = {"int": "a whole number", "float": "a number", "bool": "true or false", "null": "nothing (null)"}


def scalar_value(node: Scalar) -> Any:
    """The value of a scalar node: plain ones by `resolve_plain`, quoted ones are text, tagged ones as tagged."""
    tag = node.tag
    text = node.text
    if tag is None:
        return resolve_plain(text) if node.plain else text
    if tag == "str" or tag == "merge":
        return text
    value = resolve_plain(text.strip()) if text.strip() else None if tag == "null" else text
    if tag == "float" and type(value) is int:
        return float(value)
    if (tag == "int" and type(value) is int) or (tag == "float" and type(value) is float) \
            or (tag == "bool" and type(value) is bool) or (tag == "null" and value is None):
        return value
    shown = text if len(text) <= 30 else text[:27] + "..."
    raise _Unreadable(f"cannot read '{shown}' as {_READ_AS[tag]}")


class _Build:
    """A list or mapping being constructed: the node, the value so far, the next child, merged mappings."""

    __slots__ = ("node", "out", "index", "merges")

    def __init__(self, node: Sequence | Mapping) -> None:
        self.node = node
        self.out: Any = [] if type(node) is Sequence else {}
        self.index = 0
        self.merges: list[dict] | None = None


_PENDING = object()


def construct(root: Node | None, *, source: str = "<string>") -> Any:
    """Plain Python values from a composed tree, without recursion; aliases share one value.

    Refuses duplicate keys, keys that are lists or mappings, merge keys whose value is not a mapping
    or a list of mappings, and explicitly tagged scalars that do not read as their tag.
    """
    if root is None:
        return None
    if type(root) is Scalar:
        return _scalar_or_error(root, source, [])
    done: dict[int, Any] = {}
    stack = [_Build(root)]
    while stack:
        frame = stack[-1]
        node = frame.node
        child = _build_children(frame, done, stack, source)
        if child is not None:
            stack.append(_Build(child))
            continue
        done[id(node)] = _finish(frame)
        stack.pop()
    return done[id(root)]


def _build_children(frame: _Build, done: dict[int, Any], stack: list[_Build], source: str) -> Node | None:
    """Add the frame's children that are ready; return the first one still to be built (None when complete)."""
    node = frame.node
    out = frame.out
    if type(node) is Sequence:
        items = node.items
        index = frame.index
        try:
            for index in range(frame.index, len(items)):
                child = items[index]
                if type(child) is Scalar:
                    if not child.plain:
                        out.append(scalar_value(child))
                    elif _PLAIN_DECIMAL(child.text):  # most values of a big file: read without resolve_plain
                        out.append(float(child.text))
                    else:
                        out.append(resolve_plain(child.text))
                    continue
                value = done.get(id(child), _PENDING)
                if value is _PENDING:
                    frame.index = index
                    return child
                out.append(value)
        except _Unreadable as exc:
            frame.index = index
            raise _error(str(exc), items[index], source, stack) from None
        frame.index = len(items)
        return None
    pairs = node.pairs
    while frame.index < len(pairs):
        key_node, value_node = pairs[frame.index]
        if type(value_node) is Scalar:
            try:
                value = scalar_value(value_node)
            except _Unreadable as exc:
                raise _error(str(exc), value_node, source, stack) from None
        else:
            value = done.get(id(value_node), _PENDING)
            if value is _PENDING:
                return value_node
        _put(frame, key_node, value_node, value, source, stack)
        frame.index += 1
    return None


def _put(frame: _Build, key_node: Node, value_node: Node, value: Any, source: str, stack: list[_Build]) -> None:
    """Add one key and value to a mapping being built (a merge key's mappings are kept for `_finish`)."""
    if type(key_node) is not Scalar:
        raise _error("not valid YAML: a key must be a single value, not a list or a mapping", key_node, source,
                     stack[:-1])
    if is_merge_key(key_node):
        if frame.merges is not None:
            raise _error("duplicate key '<<' (each key may appear once)", key_node, source, stack)
        merges = value if isinstance(value, list) else [value]
        if not all(isinstance(merged, dict) for merged in merges):
            raise _error("not valid YAML: a merge key (<<) takes a mapping or a list of mappings", value_node,
                         source, stack)
        frame.merges = merges
        return
    try:
        key = scalar_value(key_node)
    except _Unreadable as exc:
        raise _error(str(exc), key_node, source, stack) from None
    out = frame.out
    if key in out:
        raise _error(f"duplicate key {key!r} (each key may appear once)", key_node, source, stack)
    out[key] = value


def _finish(frame: _Build) -> Any:
    """The built value; merged mappings give the keys the mapping does not have, earlier ones first."""
    if frame.merges is None:
        return frame.out
    merged: dict = {}
    for mapping in reversed(frame.merges):
        merged.update(mapping)
    merged.update(frame.out)
    return merged


def _scalar_or_error(node: Scalar, source: str, path: list[str | int]) -> Any:
    try:
        return scalar_value(node)
    except _Unreadable as exc:
        raise UserError(f"not valid YAML: {exc}", source=source, line=node.line, column=node.column,
                        field=format_path(path) or None) from None


def _error(message: str, node: Node, source: str, stack: list[_Build]) -> UserError:
    """A located error for `node`, the child being built by the innermost frame of `stack`."""
    path: list[str | int] = []
    for frame in stack:
        if type(frame.node) is Sequence:
            path.append(frame.index)
        else:
            key = frame.node.pairs[frame.index][0]
            path.append(key.text if type(key) is Scalar else "?")
    if not message.startswith(("not ", "duplicate ")):
        message = f"not valid YAML: {message}"
    return UserError(message, source=source, line=node.line, column=node.column, field=format_path(path) or None)


# -- the front door --------------------------------------------------------------------------------------


def parse_yaml(text: str, *, source: str = "<string>", max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse one YAML document into plain Python data; every failure is a `UserError`."""
    with _collector_paused():
        return construct(compose(text, source=source, max_bytes=max_bytes), source=source)


def load_yaml_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file") -> tuple[Any, str]:
    """Read and parse a YAML file; returns the data and the text (kept for locating errors)."""
    text = read_text(path, max_bytes=max_bytes, what=what)
    return parse_yaml(text, source=str(path), max_bytes=max_bytes), text


def format_path(path: FieldPath) -> str:
    """`("layers", 1, "weights")` -> ``layers[1].weights``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def read_text(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file") -> str:
    """Read a UTF-8 text file, refusing missing, unreadable, binary or oversized files."""
    source = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise UserError(f"is a directory, not a {what}", source=source)
        size = p.stat().st_size
        if size > max_bytes:
            raise UserError(f"{what} is {size:,} bytes; the limit is {max_bytes:,}", source=source)
        with p.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise UserError(f"no such {what}", source=source) from None
    except PermissionError:
        raise UserError(f"permission denied reading the {what}", source=source) from None
    except OSError as exc:
        raise UserError(f"cannot read the {what}: {exc.strerror or exc}", source=source) from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise UserError(f"cannot read the {what}: {exc}", source=source) from None
    if len(raw) > max_bytes:
        raise UserError(f"{what} is larger than the limit of {max_bytes:,} bytes", source=source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        data, start = exc.object, exc.start  # after the byte-order mark, if any
        line_start = data.rfind(b"\n", 0, start) + 1
        column = len(data[line_start:start].decode("utf-8", "replace")) + 1
        raise UserError(
            f"not UTF-8 text (byte {len(raw) - len(data) + start + 1}, 0x{data[start]:02x}, cannot be decoded)",
            source=source, line=data.count(b"\n", 0, start) + 1, column=column,
        ) from None


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of the character at `index`."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


# -- locating fields (only when reporting an error) ------------------------------------------------------


def _compose_quietly(text: str) -> Node | None:
    try:
        return compose(text)
    except UserError:  # the text was accepted once already; any failure here only costs the position
        return None


def _child(node: Node | None, step: str | int) -> Node | None:
    if type(node) is Mapping:
        return next((v for k, v in node.pairs if type(k) is Scalar and k.text == str(step)), None)
    if type(node) is Sequence and isinstance(step, int) and 0 <= step < len(node.items):
        return node.items[step]
    return None


def locate(text: str, path: FieldPath) -> tuple[int, int] | None:
    """1-based (line, column) of the deepest node along `path` in `text`, or None if unknown."""
    node = _compose_quietly(text)
    if node is None:
        return None
    for step in path:
        child = _child(node, step)
        if child is None:
            break
        node = child
    return node.line, node.column


def locate_key(text: str, path: FieldPath, key: object) -> tuple[int, int] | None:
    """Position of the key `key` itself inside the mapping at `path` (for unknown-key messages).

    A key that is not text (`1:`, `true:`) is matched as the first key not read as text.
    """
    node = _compose_quietly(text)
    for step in path:
        node = _child(node, step)
    if type(node) is Mapping:
        for k, _ in node.pairs:
            if type(k) is not Scalar:
                continue
            if k.text == key if isinstance(key, str) else not isinstance(_value_or_text(k), str):
                return k.line, k.column
    return None


def _value_or_text(node: Scalar) -> Any:
    """A scalar's value, or its text when its tag does not fit it (for messages only)."""
    try:
        return scalar_value(node)
    except _Unreadable:
        return node.text
