"""Safe YAML reading for problem files and answer sheets.

Plain data only (no tags that build objects), a size limit checked before parsing, duplicate keys
refused, anchor/alias bombs and recursive aliases refused, and `1e-3` read as a number. Positions are
not tracked while loading (that would slow big files down); `locate` finds the line and column of a
field afterwards, only when there is an error to report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml

from tutor.errors import UserError

FieldPath = Sequence[str | int]

#: Problem files for networks such as 784-128-64-10 are about 1 MB; anything far bigger is a mistake.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: Upper bound on the number of values a document may expand to once aliases are followed.
MAX_EXPANDED_NODES = 5_000_000
#: Upper bound on the keys merge keys (`<<: *base`) may copy; real files copy a handful.
MAX_MERGED_KEYS = 100_000
#: Deepest nesting of lists and mappings accepted (libyaml's composer recurses in C).
MAX_DEPTH = 1000

#: Every nesting level starts with one of these indicators, so their count bounds the depth.
_NESTING_INDICATOR = re.compile(r"[\[{]|[-?:](?=\s|$)", re.MULTILINE)

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_FLOAT_WITHOUT_DOT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_TAG_PREFIX = "tag:yaml.org,2002:"
_FLOAT_TAG = _TAG_PREFIX + "float"
_SCALAR = yaml.ScalarNode
#: Plain decimal numbers such as 0.25, -1.5e-3 or 12.: read as floats without PyYAML's generic resolver.
_PLAIN_FLOAT = re.compile(
    r"-?(?:(?:[1-9][0-9]*|0)\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z|-?(?:[1-9][0-9]*|0)[eE][-+]?[0-9]+\Z").match


class _DuplicateKey(Exception):
    def __init__(self, key: object, mark: Any) -> None:
        super().__init__(key)
        self.key = key
        self.mark = mark


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that also reads `1e-3` as a float, refuses duplicate keys and bounds merge keys.

    Dates stay text (a problem file has no use for them), and a bare `=` or `<<` used as a value is
    text too (PyYAML has no constructor for them and would fail with a confusing message).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._flattened: set[int] = set()
        self._merged = 0

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # Called once per mapping before it is built, and again for each mapping merged into
        # another with `<<`; only the first call sees the mapping as written, so that is where
        # duplicates are checked (keys merged in may repeat written ones: that is how merges work).
        if id(node) in self._flattened:
            return
        self._flattened.add(id(node))
        seen: set[object] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _TAG_PREFIX + "merge":
                key = self.construct_object(key_node)
                try:
                    duplicate = key in seen
                except TypeError:  # an unhashable key; construct_mapping reports it with its position
                    continue
                if duplicate:
                    raise _DuplicateKey(key, key_node.start_mark)
                seen.add(key)
        before = len(node.value)
        super().flatten_mapping(node)
        self._merged += max(0, len(node.value) - before)
        if self._merged > MAX_MERGED_KEYS:
            raise UserError(
                f"not accepted: merge keys (<<) expand this document to more than {MAX_MERGED_KEYS:,} keys",
                line=node.start_mark.line + 1, column=node.start_mark.column + 1,
            )

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        # Most scalars of a big problem file are plain decimals; settle those with one regex.
        if kind is _SCALAR and implicit[0] and _PLAIN_FLOAT(value):
            return _FLOAT_TAG
        return super().resolve(kind, value, implicit)

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list:
        # A row of plain floats is built directly; anything else goes through the generic constructor.
        values = []
        for child in node.value:
            if child.tag == _FLOAT_TAG and type(child) is yaml.ScalarNode:
                try:
                    values.append(float(child.value))
                    continue
                except ValueError:
                    pass
            values.append(self.construct_object(child, deep=deep))
        return values

    def construct_yaml_float(self, node: yaml.Node) -> float:
        try:
            return float(node.value)  # the common case ('0.25', '1e-3'), without PyYAML's slow path
        except (TypeError, ValueError):
            return super().construct_yaml_float(node)


def _located(constructor: Any, what: str) -> Any:
    """Wrap a scalar constructor so that a value it cannot read is reported at its position."""

    def construct(loader: Any, node: yaml.Node) -> Any:
        try:
            return constructor(loader, node)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
            shown = str(node.value)
            shown = shown if len(shown) <= 30 else shown[:27] + "..."
            problem = f"cannot read '{shown}' as {what}"
            if "digits" in str(exc):  # Python refuses to convert integers of thousands of digits
                problem = f"the number '{shown}' has too many digits"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None

    return construct


# Copy the resolvers without the ones for dates (they stay text) and `=` (PyYAML cannot build it).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_TAG_PREFIX + "timestamp", _TAG_PREFIX + "value")]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_TAG_PREFIX + "float", _FLOAT_WITHOUT_DOT, list("-+0123456789"))
_Loader.add_constructor(_TAG_PREFIX + "map", _Loader.construct_yaml_map)
_Loader.add_constructor(_TAG_PREFIX + "float", _located(_Loader.construct_yaml_float, "a number"))
_Loader.add_constructor(_TAG_PREFIX + "int", _located(_Loader.construct_yaml_int, "a whole number"))
_Loader.add_constructor(_TAG_PREFIX + "bool", _located(_Loader.construct_yaml_bool, "true or false"))
_Loader.add_constructor(_TAG_PREFIX + "timestamp", _located(_Loader.construct_yaml_timestamp, "a date"))
_Loader.add_constructor(_TAG_PREFIX + "binary", _located(_Loader.construct_yaml_binary, "base64 data"))
_Loader.add_constructor(_TAG_PREFIX + "merge", _Loader.construct_yaml_str)
_Loader.add_constructor(_TAG_PREFIX + "value", _Loader.construct_yaml_str)


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


def parse_yaml(text: str, *, source: str = "<string>", max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse one YAML document into plain Python data; every failure is a `UserError`."""
    if len(text) > max_bytes:
        raise UserError(f"text is larger than the limit of {max_bytes:,} bytes", source=source)
    if "\x00" in text:
        line, column = _line_column(text, text.index("\x00"))
        raise UserError("not a YAML text file (it contains NUL characters)", source=source, line=line, column=column)
    check_depth(text, source)
    try:
        loader = _Loader(text)
    except UnicodeEncodeError as exc:  # a lone surrogate: only possible in text that did not come from a file
        line, column = _line_column(text, exc.start)
        raise UserError("not valid text (it contains an unpaired surrogate character)", source=source, line=line,
                        column=column) from None
    try:
        data = loader.get_single_data()
    except _DuplicateKey as exc:
        path = _path_at(text, exc.mark)
        raise UserError(
            f"duplicate key {exc.key!r} (each key may appear once)",
            source=source,
            line=exc.mark.line + 1,
            column=exc.mark.column + 1,
            field=format_path(path) if path else None,
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise yaml_error(exc, source, text) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise UserError(f"not valid YAML: {exc.reason} (found {character})", source=source, line=line,
                        column=column) from None
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML: {exc}", source=source) from None
    except RecursionError:
        raise UserError("not accepted: the YAML is nested too deeply", source=source) from None
    except UserError as exc:
        exc.source = source
        raise
    except (TypeError, ValueError) as exc:  # a last resort: the constructors above report their position
        raise UserError(f"not valid YAML: {exc}", source=source) from None
    finally:
        loader.dispose()
    if "&" in text:  # anchors need '&': only then can aliases expand the document
        _check_expansion(data, source)
    return data


def load_yaml_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file") -> tuple[Any, str]:
    """Read and parse a YAML file; returns the data and the text (kept for locating errors)."""
    text = read_text(path, max_bytes=max_bytes, what=what)
    return parse_yaml(text, source=str(path), max_bytes=max_bytes), text


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of the character at `index`."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def yaml_error(exc: yaml.MarkedYAMLError, source: str, text: str) -> UserError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    path: list[str | int] | None = None
    if isinstance(exc, yaml.constructor.ConstructorError):
        if "could not determine a constructor" in problem:
            tag = problem.split("tag", 1)[-1].strip().strip("'")
            if tag.startswith(_TAG_PREFIX):
                tag = "!!" + tag[len(_TAG_PREFIX):]
            problem = f"the tag {tag} is not allowed (only plain numbers, text, lists and mappings)"
        elif "unhashable key" in problem:
            problem = "a key must be a single value, not a list or a mapping"
        if mark is not None:
            path = _path_at(text, mark)
    elif exc.context and "expected a single document" in exc.context:
        problem = "expected a single YAML document, found more than one (remove the '---' line)"
    message = f"not valid YAML: {problem}"
    if mark is None:
        return UserError(message, source=source)
    return UserError(message, source=source, line=mark.line + 1, column=mark.column + 1,
                     field=format_path(path) if path else None)


def check_depth(text: str, source: str) -> None:
    """Refuse text nested deeper than MAX_DEPTH before the C parser can overflow its stack on it."""
    if len(_NESTING_INDICATOR.findall(text)) <= MAX_DEPTH:
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise UserError(f"not accepted: nested more than {MAX_DEPTH} levels deep", source=source,
                                    line=mark.line + 1, column=mark.column + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the real parse reports the syntax error with its position


def _check_expansion(data: Any, source: str) -> None:
    """Refuse documents whose aliases expand to too many values, or refer to themselves."""

    def children(node: Any) -> Iterable[Any] | None:
        if isinstance(node, dict):
            return node.values()
        return node if isinstance(node, list) else None

    check_expanded_size(data, children, MAX_EXPANDED_NODES, source, "this document")


def check_expanded_size(root: Any, children: Callable[[Any], Iterable[Any] | None], limit: int, source: str,
                        what: str, visit: Callable[[Any], None] | None = None) -> int:
    """The number of values `root` expands to with aliases followed (shared parts counted each time).

    Refuses more than `limit` values and aliases that contain themselves, in time linear in the distinct
    parts; `children(node)` lists a node's parts (None for a leaf) and `visit` may refuse a node.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any) -> int:
        if visit is not None:
            visit(node)
        parts = children(node)
        if parts is None:
            return 1
        ident = id(node)
        if ident in sizes:
            return sizes[ident]
        if ident in active:
            raise UserError("not accepted: an alias refers to the structure that contains it", source=source)
        active.add(ident)
        total = 1 + sum(size(child) for child in parts)
        active.discard(ident)
        if total > limit:
            raise UserError(f"not accepted: aliases expand {what} to more than {limit:,} values", source=source)
        sizes[ident] = total
        return total

    try:
        return size(root)
    except RecursionError:
        raise UserError("not accepted: the YAML is nested too deeply", source=source) from None


def _compose(text: str) -> yaml.Node | None:
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except Exception:  # the text parsed once already; any failure here only costs the position
        return None


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(step)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step]
    return None


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _path_at(text: str, mark: Any) -> list[str | int] | None:
    """The field path of the deepest node (or mapping key) that starts at `mark`, for error messages."""
    root = _compose(text)
    if root is None:
        return None
    where = (mark.line, mark.column)
    found: list[str | int] | None = None
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, list[str | int]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if (node.start_mark.line, node.start_mark.column) == where and (found is None or len(path) > len(found)):
            found = path
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                step = key.value if isinstance(key, yaml.ScalarNode) else "?"
                at_mark = (key.start_mark.line, key.start_mark.column) == where
                if at_mark and (found is None or len(path) + 1 > len(found)):
                    found = [*path, step]
                stack.append((value, [*path, step]))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, [*path, index]) for index, item in enumerate(node.value))
    return found


def locate(text: str, path: FieldPath) -> tuple[int, int] | None:
    """1-based (line, column) of the deepest node along `path` in `text`, or None if unknown.

    Used only when reporting an error, so it may re-parse the text.
    """
    node = _compose(text)
    if node is None:
        return None
    for step in path:
        child = _child(node, step)
        if child is None:
            break
        node = child
    return _position(node)


def locate_key(text: str, path: FieldPath, key: object) -> tuple[int, int] | None:
    """Position of the key `key` itself inside the mapping at `path` (for unknown-key messages).

    A key that is not text (`1:`, `true:`) is matched as the first key not read as text.
    """
    node = _compose(text)
    for step in path:
        node = _child(node, step)
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if not isinstance(k, yaml.ScalarNode):
                continue
            if k.value == key if isinstance(key, str) else k.tag != _TAG_PREFIX + "str":
                return _position(k)
    return None


def top_level_scalars(text: str) -> dict[str, tuple[str | None, int, int]]:
    """For a top-level mapping: key -> (the value's text as written, or None if not a plain scalar, line, column).

    Answer sheets need the digits a student typed (0.5930 is given to 4 decimals), which parsing into a
    float loses. Called only after `parse_yaml` accepted the text.
    """
    node = _compose(text)
    found: dict[str, tuple[str | None, int, int]] = {}
    if not isinstance(node, yaml.MappingNode):
        return found
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            raw = value.value if isinstance(value, yaml.ScalarNode) else None
            found[key.value] = (raw, *_position(value))
    return found
