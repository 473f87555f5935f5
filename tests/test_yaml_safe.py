"""Safe YAML reading: plain data only, bounded size, depth and expansion, and located errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tutor.errors import UserError
from tutor.problem.yaml_safe import (
    MAX_DEPTH,
    format_path,
    load_yaml_file,
    locate,
    locate_key,
    parse_yaml,
    read_text,
)

ROOT = Path(__file__).resolve().parent.parent


def refused(text: str, **kwargs) -> UserError:
    with pytest.raises(UserError) as info:
        parse_yaml(text, source="y.yaml", **kwargs)
    assert info.value.source == "y.yaml"
    return info.value


def where(e: UserError) -> tuple[int | None, int | None, str | None]:
    return e.line, e.column, e.field


# -- plain data -------------------------------------------------------------------------------------


def test_plain_data():
    assert parse_yaml("a: [1, 2.5, x, true, null]\nb: {c: 'd'}\n") == {"a": [1, 2.5, "x", True, None], "b": {"c": "d"}}


@pytest.mark.parametrize("written, value", [
    ("1e-3", 1e-3), ("1E5", 1e5), ("-2.5e+2", -250.0), ("+1e2", 100.0), ("1.5e3", 1500.0), ("1.e2", 100.0),
    ("0.25", 0.25), ("1_000.5", 1000.5), (".5", 0.5), ("-.inf", float("-inf")),
])
def test_floats(written, value):
    got = parse_yaml(f"x: {written}")["x"]
    assert type(got) is float and got == value


def test_nan():
    got = parse_yaml("x: .nan")["x"]
    assert got != got


@pytest.mark.parametrize("written, value", [("12", 12), ("-3", -3), ("0x1F", 31), ("1_000", 1000)])
def test_ints(written, value):
    got = parse_yaml(f"x: {written}")["x"]
    assert type(got) is int and got == value


@pytest.mark.parametrize("written", ["e5", "1e", "1.2.3", "1e5x", "inf", "nan", "0.1.", "2001-02-03", "2001-02-30", "=",
                                     "<<"])
def test_text_that_is_not_a_number_stays_text(written):
    assert parse_yaml(f"x: {written}") == {"x": written}


def test_reading_1e_minus_3_as_a_number_does_not_change_other_loaders():
    assert yaml.safe_load("x: 1e-3") == {"x": "1e-3"}
    assert parse_yaml("x: 1e-3") == {"x": 1e-3}


def test_merge_keys():
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n"
    assert parse_yaml(text)["d"] == {"x": 1, "y": 3}
    # a mapping merged elsewhere is merged as it reads, its own merges applied
    text = "a:\n  b: &m {<<: {k: 1}, k: 2}\nc: {<<: *m}\n"
    assert parse_yaml(text) == {"a": {"b": {"k": 2}}, "c": {"k": 2}}
    # of a list of merged mappings, earlier ones win; the mapping's own keys win over all
    text = "p: &p {k: 1, a: 1}\nq: &q {k: 2, b: 2}\nr: {<<: [*p, *q], a: 0}\n"
    assert parse_yaml(text)["r"] == {"k": 1, "a": 0, "b": 2}


@pytest.mark.parametrize("text, message, position", [
    ("a: &a {x: 1, <<: *a}\n", "not accepted: an alias refers to the structure that contains it", (1, 18)),
    ("a: {<<: 1}\n", "not valid YAML: a merge key (<<) takes a mapping or a list of mappings", (1, 9)),
    ("a: {<<: [{x: 1}, 2]}\n", "not valid YAML: a merge key (<<) takes a mapping or a list of mappings", (1, 9)),
    ("a: {<<: {x: 1}, <<: {y: 1}}\n", "duplicate key '<<' (each key may appear once)", (1, 17)),
])
def test_merge_keys_refused(text, message, position):
    e = refused(text)
    assert e.message == message and (e.line, e.column) == position


def merge_key_bomb() -> str:
    keys = ", ".join(f"k{i}: {i}" for i in range(10))
    text = f"a0: &a0 {{{keys}}}\n"
    for level in range(1, 10):
        text += f"a{level}: &a{level} {{<<: [{', '.join([f'*a{level - 1}'] * 10)}]}}\n"
    return text


def test_merge_key_bomb_is_refused_quickly():
    """Each level merges ten copies of the one before: the keys merged grow tenfold a level."""
    start = time.perf_counter()
    e = refused(merge_key_bomb())
    assert time.perf_counter() - start < 2.0
    assert e.message == "not accepted: merge keys (<<) expand this document to more than 100,000 keys"
    assert (e.line, e.column, e.field) == (5, 5, "a4")


# -- refused documents ------------------------------------------------------------------------------


def test_syntax_error_is_located():
    e = refused("a: [1, 2\nb: 3\n")
    assert e.message.startswith("not valid YAML: ") and e.line is not None and e.column is not None


def test_multiple_documents():
    e = refused("a: 1\n---\nb: 2\n")
    assert e.message == "not valid YAML: expected a single YAML document, found more than one (remove the '---' line)"
    assert (e.line, e.column) == (2, 1)


def test_duplicate_keys_name_the_field():
    e = refused("a:\n  - x: 1\n  - {y: 1, y: 2}\n")
    assert e.message == "duplicate key 'y' (each key may appear once)"
    assert where(e) == (3, 12, "a[1].y")
    assert str(e) == "y.yaml:3:12: a[1].y: duplicate key 'y' (each key may appear once)"


def test_duplicate_keys_that_read_the_same():
    e = refused("1: a\n1.0: b\n")
    assert e.message == "duplicate key 1.0 (each key may appear once)" and (e.line, e.column) == (2, 1)


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system",
    "!!python/object/new:os.system",
    "!!python/object/apply:subprocess.call",
])
def test_python_tags_are_refused_without_running_anything(tmp_path, tag):
    marker = tmp_path / "created"
    text = f"ok: 1\nrun: {tag} ['touch {marker}']\n"
    e = refused(text)
    assert e.message == f"not valid YAML: the tag {tag} is not allowed (only plain numbers, text, lists and mappings)"
    assert where(e) == (2, 6, "run")
    assert not marker.exists()


def test_python_name_tag_is_refused():
    e = refused("x: !!python/name:os.system ''\n")
    assert "the tag !!python/name:os.system is not allowed" in e.message and where(e) == (1, 4, "x")


def test_local_tag_is_refused():
    e = refused("x: !thing 1\n")
    assert e.message.startswith("not valid YAML: the tag !thing is not allowed") and where(e) == (1, 4, "x")


@pytest.mark.parametrize("text, message", [
    ("x: !!bool maybe\n", "not valid YAML: cannot read 'maybe' as true or false"),
    ("x: !!float ''\n", "not valid YAML: cannot read '' as a number"),
    ("x: !!float abc\n", "not valid YAML: cannot read 'abc' as a number"),
    ("x: !!int 1.5\n", "not valid YAML: cannot read '1.5' as a whole number"),
    ("x: !!null 0\n", "not valid YAML: cannot read '0' as nothing (null)"),
])
def test_explicit_standard_tags_with_bad_values(text, message):
    e = refused(text)
    assert e.message == message and where(e) == (1, 4, "x")


def test_integer_with_too_many_digits():
    e = refused("x: [1, " + "7" * 5000 + "]\n")
    assert e.message.startswith("not valid YAML: the number '777") and e.message.endswith("has too many digits")
    assert where(e) == (1, 8, "x[1]")


def test_unhashable_key():
    e = refused("? [a, b]\n: 1\n")
    assert e.message == "not valid YAML: a key must be a single value, not a list or a mapping"
    assert (e.line, e.column) == (1, 3)


def test_control_character():
    e = refused("a: 1\nb: x\x01y\n")
    assert e.message == "not valid YAML: control characters are not allowed (found #x0001)"
    assert (e.line, e.column) == (2, 5)


def test_nul_character():
    e = refused("a: 1\nb: x\x00\n")
    assert e.message == "not a YAML text file (it contains NUL characters)" and (e.line, e.column) == (2, 5)


def test_unpaired_surrogate():
    e = refused("a: \ud800\n")
    assert e.message == "not valid text (it contains an unpaired surrogate character)" and (e.line, e.column) == (1, 4)


def test_text_over_the_size_limit():
    assert refused("a: 12345\n", max_bytes=5).message == "text is larger than the limit of 5 bytes"


def billion_laughs(mapping: bool = False) -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        if mapping:
            lines.append(f"{name}: &{name} {{" + ", ".join(f"k{i}: *{prev}" for i in range(9)) + "}")
        else:
            lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("mapping", [False, True])
def test_billion_laughs_is_refused_quickly(mapping):
    start = time.perf_counter()
    e = refused(billion_laughs(mapping))
    assert time.perf_counter() - start < 2.0  # generous: it takes milliseconds; expanding would take hours
    assert e.message == "not accepted: aliases expand this document to more than 5,000,000 values"


def test_aliases_that_expand_a_little_are_fine():
    data = parse_yaml("row: &r [1, 2, 3]\nrows: [*r, *r, *r]\n")
    assert data["rows"] == [[1, 2, 3]] * 3


@pytest.mark.parametrize("text", ["a: &a [1, *a]\n", "a: &a {b: *a}\n", "a: &a [[[*a]]]\n", "&a [*a]"])
def test_recursive_aliases(text):
    assert refused(text).message == "not accepted: an alias refers to the structure that contains it"


def test_deep_nesting_does_not_crash_the_interpreter():
    """libyaml's composer recurses in C and segfaults on very deep nesting; run it in a fresh process."""
    code = (
        "from tutor.problem.loader import parse_problem\n"
        "from tutor.errors import ProblemError\n"
        "for text in ('[' * 100000, '{a: ' * 100000, '- ' * 100000):\n"
        "    try:\n"
        "        parse_problem(text)\n"
        "    except ProblemError as e:\n"
        "        print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("not accepted: nested more than 1000 levels deep") == 3


def test_many_indicators_at_a_shallow_depth_are_fine():
    text = "rows:\n" + "".join(f"  - [{i}, {i + 1}]\n" for i in range(3000))
    assert len(parse_yaml(text)["rows"]) == 3000


# -- reading files ----------------------------------------------------------------------------------


def test_read_text_errors(tmp_path):
    with pytest.raises(UserError) as info:
        read_text(tmp_path / "missing.yaml", what="answer sheet")
    assert str(info.value) == f"{tmp_path / 'missing.yaml'}: no such answer sheet"
    with pytest.raises(UserError) as info:
        read_text(tmp_path)
    assert info.value.message == "is a directory, not a file"
    big = tmp_path / "big.yaml"
    big.write_text("x" * 50)
    with pytest.raises(UserError) as info:
        read_text(big, max_bytes=10)
    assert info.value.message == "file is 50 bytes; the limit is 10"
    assert read_text(big, max_bytes=50) == "x" * 50


def test_read_text_path_with_a_nul_character():
    with pytest.raises(UserError) as info:
        read_text("bad\x00name.yaml")
    assert info.value.message.startswith("cannot read the file")


def test_read_text_refuses_non_utf8_with_its_position(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes("a: 1\nbé: \xff\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(UserError) as info:
        read_text(path)
    e = info.value
    assert e.message == "not UTF-8 text (byte 11, 0xff, cannot be decoded)"
    assert (e.line, e.column) == (2, 5)


def test_read_text_strips_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_text(path) == "a: 1\n"
    path.write_bytes(b"\xef\xbb\xbfa: \xff\n")
    with pytest.raises(UserError) as info:
        read_text(path)
    assert (info.value.line, info.value.column) == (1, 4)
    assert info.value.message == "not UTF-8 text (byte 7, 0xff, cannot be decoded)"


def test_load_yaml_file(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: [1, 2]\n")
    assert load_yaml_file(path) == ({"a": [1, 2]}, "a: [1, 2]\n")
    path.write_text("a: 1\na: 2\n")
    with pytest.raises(UserError) as info:
        load_yaml_file(path)
    assert str(info.value) == f"{path}:2:1: a: duplicate key 'a' (each key may appear once)"


# -- locating fields --------------------------------------------------------------------------------

TEXT = """\
inputs: [1, 2]
layers:
  - weights:
      - [0.1, 0.2]
      - [0.3, 0.4]
    biases: 0
"""


def test_locate():
    assert locate(TEXT, []) == (1, 1)
    assert locate(TEXT, ["inputs"]) == (1, 9)
    assert locate(TEXT, ["inputs", 1]) == (1, 13)
    assert locate(TEXT, ["layers", 0, "weights", 1]) == (5, 9)
    assert locate(TEXT, ["layers", 0, "weights", 1, 1]) == (5, 15)
    assert locate(TEXT, ["layers", 0, "biases"]) == (6, 13)
    # a path that goes further than the file stops at the deepest node that exists
    assert locate(TEXT, ["layers", 0, "missing"]) == (3, 5)
    assert locate(TEXT, ["layers", 7]) == (3, 3)
    assert locate("", ["a"]) is None


def test_locate_key():
    assert locate_key(TEXT, ["layers", 0], "biases") == (6, 5)
    assert locate_key(TEXT, [], "layers") == (2, 1)
    assert locate_key(TEXT, [], "nothing") is None
    assert locate_key("a: 1\n2: b\n", [], 2) == (2, 1)


def test_format_path():
    assert format_path(["layers", 1, "weights"]) == "layers[1].weights"
    assert format_path(["targets", 0, 1]) == "targets[0][1]"
    assert format_path([]) == ""


# -- our own scalar rules, the same on every PyYAML version --------------------------------------------------------


@pytest.mark.parametrize("written, value", [
    ("yes", True), ("No", False), ("ON", True), ("off", False), ("True", True),  # YAML 1.1 words, as always read
    ("~", None), ("", None), ("NULL", None),
    ("010", 10), ("-007", -7), ("0o17", 15), ("0b101", 5), ("0x_1F", 31),  # a leading 0 is not octal
    ("1:30", "1:30"), ("yEs", "yEs"), ("y", "y"), ("0x", "0x"), ("1__0", 10), ("+.5", 0.5), ("1_0e1_0", "1_0e1_0"),
])
def test_scalar_rules(written, value):
    got = parse_yaml(f"x: {written}")["x"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text, value", [
    ("x: !!str 12", "12"), ("x: !!int '12'", 12), ("x: !!float 1", 1.0), ("x: !!bool 'yes'", True),
    ("x: !!null ''", None), ("x: ! 12", "12"), ("x: '12'", "12"), ("x: !!seq [1]", [1]), ("x: !!map {a: 1}", {"a": 1}),
])
def test_explicit_standard_tags(text, value):
    got = parse_yaml(text)["x"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("tag", ["!!timestamp 2001-01-01", "!!binary aGk=", "!!set {a}", "!!omap [a: 1]", "!!value ="])
def test_other_yaml_tags_are_refused(tag):
    e = refused(f"x: {tag}\n")
    assert e.message == f"not valid YAML: the tag {tag.split()[0]} is not allowed (only plain numbers, text, lists " \
                        "and mappings)"
    assert where(e) == (1, 4, "x")


def test_undefined_alias():
    e = refused("a: 1\nb: *nothing\n")
    assert e.message == "not valid YAML: the alias *nothing has no anchor &nothing before it"
    assert where(e) == (2, 4, "b")


# -- the same answer from libyaml and from PyYAML's pure-Python parser ----------------------------------------------


@pytest.fixture(params=["libyaml", "pure-python"])
def parser(request, monkeypatch):
    """Run a test with libyaml's parser first (as installed), and with PyYAML's pure-Python parser only."""
    if request.param == "pure-python":
        import tutor.problem.yaml_safe as module

        monkeypatch.setattr(module, "_parsers", lambda: [yaml.SafeLoader])
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    return request.param


HOSTILE = {  # text -> (message, line, column, field)
    "deep flow list": ("[" * 5000 + "]" * 5000, "not accepted: nested more than 1000 levels deep", 1, 1001, None),
    "deep flow mapping": ("{a: " * 5000, "not accepted: nested more than 1000 levels deep", 1, 4001, None),
    "deep block list": ("- " * 5000 + "x\n", "not accepted: nested more than 1000 levels deep", 1, 2001, None),
    "deep block mapping": ("".join(" " * i + "k:\n" for i in range(1200)),
                           "not accepted: nested more than 1000 levels deep", 1001, 1001, None),
    "alias bomb": (billion_laughs(), "not accepted: aliases expand this document to more than 5,000,000 values",
                   7, 36, "g[7]"),
    "merge-key bomb": (merge_key_bomb(), "not accepted: merge keys (<<) expand this document to more than 100,000 "
                                         "keys", 5, 5, "a4"),
    "python object": ("ok: 1\nrun: !!python/object/apply:os.system ['true']\n",
                      "not valid YAML: the tag !!python/object/apply:os.system is not allowed (only plain numbers, "
                      "text, lists and mappings)", 2, 6, "run"),
    "python object in a list": ("a: [1, !!python/object:os.system {}]\n",
                                "not valid YAML: the tag !!python/object:os.system is not allowed (only plain "
                                "numbers, text, lists and mappings)", 1, 8, "a[1]"),
    "local tag": ("a: !thing 1\n", "not valid YAML: the tag !thing is not allowed (only plain numbers, text, lists "
                                   "and mappings)", 1, 4, "a"),
    "duplicate key": ("a:\n  b: 1\n  b: 2\n", "duplicate key 'b' (each key may appear once)", 3, 3, "a.b"),
    "recursive alias": ("a: &a [1, *a]\n", "not accepted: an alias refers to the structure that contains it", 1, 11,
                        "a[1]"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_get_our_message_from_either_parser(parser, name):
    text, message, line, column, field = HOSTILE[name]
    start = time.perf_counter()
    e = refused(text)
    assert time.perf_counter() - start < 10.0  # hostile nesting costs the pure-Python parser about 3 s
    assert (e.message, e.line, e.column, e.field) == (message, line, column, field)


@pytest.mark.parametrize("text", [
    "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1),
    "- " * MAX_DEPTH + "x\n",  # libyaml 0.2.5 alone refuses this: the pure-Python parser reads it
    "".join(" " * i + "k:\n" for i in range(MAX_DEPTH)),
    "[{a: " * (MAX_DEPTH // 2) + "1" + "}]" * (MAX_DEPTH // 2),
])
def test_nesting_up_to_the_limit_is_read_by_either_parser(parser, text):
    data = parse_yaml(text)
    depth = 0
    while isinstance(data, (list, dict)):
        data = data[0] if isinstance(data, list) else data[next(iter(data))]
        depth += 1
    assert depth == MAX_DEPTH - text.startswith("[" * 2) and data in (1, "x", None)


@pytest.mark.parametrize("text", [
    "a: [1, 2\nb: 3\n", "a: b: c\n", "a: 'unclosed\n", "[1, 2\n", "a:\n  - 1\n - 2\n", "{a: 1\n",
])
def test_syntax_errors_are_located_the_same_by_either_parser(parser, text):
    e = refused(text)
    assert e.message.startswith("not valid YAML: ") and e.line is not None and e.column is not None
    assert "exceeded" not in e.message


def test_both_parsers_read_every_bundled_problem_alike(monkeypatch):
    import tutor.problem.yaml_safe as module

    texts = [path.read_text() for path in sorted((ROOT / "problems").glob("*.yaml"))]
    fast = [parse_yaml(text) for text in texts]
    monkeypatch.setattr(module, "_parsers", lambda: [yaml.SafeLoader])
    assert [parse_yaml(text) for text in texts] == fast


# -- the command line: one line naming the place, exit 2 ------------------------------------------------------------

CLI_HOSTILE = ["deep flow mapping", "deep block list", "alias bomb", "merge-key bomb", "python object",
               "duplicate key"]


@pytest.mark.parametrize("command", ["check", "solve", "grade"])
@pytest.mark.parametrize("name", CLI_HOSTILE)
def test_hostile_problem_files_exit_2_with_one_line(invoke, tmp_path, command, name):
    text, message, line, column, field = HOSTILE[name]
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text("net_h1: 0.3775\n")
    result = invoke(command, str(path), *([str(sheet)] if command == "grade" else []))
    assert result.exit_code == 2, result.output
    where = f"{path}:{line}:{column}: " + (f"{field}: " if field else "")
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [f"error: {where}{message}"]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["check", "solve", "grade"])
def test_a_huge_problem_file_is_refused_before_reading(invoke, tmp_path, command):
    path = tmp_path / "huge.yaml"
    path.write_text("# padding\n" * 1_700_000)  # 17 MB
    result = invoke(command, str(path), *([str(path)] if command == "grade" else []))
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {path}: problem file is 17,000,000 bytes; the limit is 16,777,216"]


SHEET_BOMBS = {  # a sheet may expand to 100,000 values: the alias bomb is refused sooner, and stops the merge bomb
    "alias bomb": "line 6: not accepted: aliases expand this sheet to more than 100,000 values",
    "merge-key bomb": "line 5: not accepted: aliases expand this sheet to more than 100,000 values",
}


@pytest.mark.parametrize("name", [name for name in CLI_HOSTILE if name != "duplicate key"])
def test_hostile_answer_sheets_are_invalid_with_the_same_message(invoke, tmp_path, name):
    """A sheet that cannot be read is graded invalid as a whole (see docs/grading.md), with the loader's reason.

    (A duplicate key in a sheet is reported for that key only, and the rest is graded.)
    """
    text, message, line, column, field = HOSTILE[name]
    sheet = tmp_path / "hostile.yaml"
    sheet.write_text(text)
    result = invoke("grade", "problems/mazur-2-2-2.yaml", str(sheet), "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["error"] == SHEET_BOMBS.get(name, f"line {line}: {message}")
    assert {row["verdict"] for row in data["results"]} == {"invalid"}


def test_the_documented_value_rules_hold():
    """Every example in docs/problem-format.md's table of values reads as the table says."""
    doc = (ROOT / "docs" / "problem-format.md").read_text()
    table = doc[doc.index("| written | read as |"):doc.index("Quoted values")]
    kinds = {"a number": float, "a whole number": int, "infinity": float, "true or false": bool,
             "nothing": type(None), "text": str}
    checked = 0
    for row in [line for line in table.splitlines()[2:] if line.startswith("|")]:
        written, read_as = row.strip("|").split("|")
        kind = next(kinds[name] for name in sorted(kinds, key=len, reverse=True) if read_as.strip().startswith(name))
        for example in re.findall(r"`([^`]*)`", written):
            example = "" if example == "nothing" else example
            assert type(parse_yaml(f"x: {example}")["x"]) is kind, example
            checked += 1
    assert checked >= 25
