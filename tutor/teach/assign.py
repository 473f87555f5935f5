"""Assignments: every student of a roster gets their own variant of a problem, and is graded against it.

`assign` derives each student's variant from a secret and the student's id (a hash of both seeds the
generator, so the same secret and roster give the same variants again), and writes, in ``DIR/<id>/``,
the problem, a blank answer sheet, a handout (Markdown and HTML) and the answer key; ``DIR/assignment.yaml``
lists the students and their folders. From a problem file, a variant keeps the file as written (notation,
comments, what is asked) and moves its weights, biases and (but for a batch's data set) inputs to other nice
numbers nearby.

`grade DIR SHEETS` reads the assignment back and grades each sheet against its own student's variant,
found by the sheet's file name (``<id>.yaml``) or an ``id:`` line in it; a sheet of nobody in the roster
is reported, never graded against someone else's numbers.
"""

from __future__ import annotations

import csv
import math
import hashlib
import io
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Sequence

import numpy as np

from tutor.errors import UserError
from tutor.problem.yaml_safe import compose, load_yaml_file, read_text
from tutor.teach.gradebook import prepare_out, sanitise, write_inside
from tutor.teach.grader import Asked, asked_quantities, template_text
from tutor.trace.trace import Trace, describe

ASSIGNMENT = "assignment.yaml"
ASSIGNMENT_FORMAT = 1
ROSTER_MAX_BYTES = 2_000_000
ROSTER_MAX_STUDENTS = 5000
#: The files of each student's folder.
FILES = ("problem.yaml", "sheet.yaml", "handout.md", "handout.html", "key.yaml")
#: Attempts at a variant whose neurons are all nice (not saturated, dead or at a kink) before giving up.
VARIANT_ATTEMPTS = 30
_SHAPE = re.compile(r"^[0-9]+(?:-[0-9]+)+$")
_ID_LINE = re.compile(r"^[ \t]*#?[ \t]*id[ \t]*:[ \t]*['\"]?([^'\"#()\s]*)['\"]?[ \t]*(?:[#(].*)?$", re.M)
#: The parts of a problem file whose numbers a variant moves.
_MOVED = ("inputs", "weights", "biases")


@dataclass(frozen=True)
class Student:
    """One row of the roster: the id (safe as a folder and file name), name and email."""

    id: str
    name: str
    email: str


@dataclass(frozen=True)
class Assignment:
    """An assignment folder: its students, each with the folder of their variant."""

    folder: Path
    name: str
    students: tuple[Student, ...]

    def problem_path(self, student_id: str) -> Path:
        return self.folder / student_id / "problem.yaml"

    def by_id(self) -> dict[str, Student]:
        return {s.id: s for s in self.students}


# -- the roster ------------------------------------------------------------------------------------------------


def load_roster(path: str | Path) -> list[Student]:
    """Students from a CSV file with a header naming an `id` column (and `name`, `email`; any case, any order).

    Every mistake names the file and line: no id column, an empty or repeated id, a broken row.
    """
    source = str(path)
    text = read_text(path, max_bytes=ROSTER_MAX_BYTES, what="roster")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise UserError("the roster is empty (it needs a header line with id, name, email)", source=source)
        columns = {name.strip().lower(): n for n, name in enumerate(header)}
        if "id" not in columns:
            raise UserError(f"the header has no 'id' column (found: {', '.join(h.strip() for h in header)})",
                            source=source, line=1)
        students: list[Student] = []
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            cell = lambda name: row[columns[name]].strip() if name in columns and columns[name] < len(row) else ""
            raw = cell("id")
            if not raw:
                raise UserError("this row has no id", source=source, line=line, field="id")
            student_id = sanitise(raw)
            if student_id.lower() in seen:
                raise UserError(f"the id '{student_id}' is also on line {seen[student_id.lower()]} (ids are "
                                "folder names: compared ignoring case)", source=source,
                                line=line, field="id")
            seen[student_id.lower()] = line
            students.append(Student(student_id, cell("name"), cell("email")))
            if len(students) > ROSTER_MAX_STUDENTS:
                raise UserError(f"more than {ROSTER_MAX_STUDENTS} students", source=source, line=line)
    except csv.Error as exc:
        raise UserError(f"not a readable CSV row: {exc}", source=source, line=reader.line_num) from None
    if not students:
        raise UserError("the roster lists no students", source=source)
    return students


# -- variants --------------------------------------------------------------------------------------------------


def variant_seed(secret: str, student_id: str) -> int:
    """The generator's seed for one student: a hash of the secret and the id (the same pair, the same seed)."""
    digest = hashlib.sha256(f"{secret}\x00{student_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 1_000_000_000


def shape_variant(shape: str, seed: int, activation: str, loss: str) -> str:
    """A fresh problem of this shape (tutor.problem.generate), for one student's seed."""
    from tutor.problem.generate import generate_problem, parse_shape

    return generate_problem(seed, parse_shape(shape), activation, loss)


def file_variant(text: str, seed: int, source: str) -> str:
    """The problem file with its inputs, weights and biases moved to other nice numbers nearby.

    Everything else stays as written (comments, notation, targets, what is asked); a variant whose neurons
    are saturated, dead or at a kink is drawn again (unless the problem itself has such a neuron, on purpose).
    """
    from tutor.problem.loader import parse_problem

    original = parse_problem(text, source=source)
    spans = _number_spans(text, source, inputs=not getattr(original, "batch", False))
    if not spans:
        raise UserError("has no inputs, weights or biases to vary", source=source)
    strict = not _trouble(original)
    last = ""
    for attempt in range(VARIANT_ATTEMPTS):
        rng = np.random.default_rng([seed, attempt])
        out = text
        for start, end, value, step in sorted(spans, reverse=True):
            out = out[:start] + _nice(value + step * rng.choice((-2, -1, 1, 2)), step) + out[end:]
        problem = parse_problem(out, source=source)
        last = _trouble(problem) if strict else ""
        if not last:
            return out
    raise UserError(f"no variant without saturated, dead or kinked neurons in {VARIANT_ATTEMPTS} attempts "
                    f"(last: {last}); try another --secret", source=source)


def _trouble(problem) -> str:
    """Why a problem is not a nice exercise: a value that cannot be computed, or the first neuron of a dense
    network that is saturated, dead or at a kink (an image problem's maps and a graph's gates are not checked)."""
    from tutor.problem.generate import trace_troubles
    from tutor.solver import solve

    try:
        trace = solve(problem)
    except UserError as exc:  # a graph's function outside its domain (a log of a negative number, ...)
        return exc.message
    if any(not math.isfinite(q.value) for q in trace.quantities):
        return "a value that is not a finite number"
    if getattr(problem, "layers", None) is None or problem.inputs.ndim == 4:  # a graph, or an image network
        return ""
    troubles = trace_troubles(trace)
    return troubles[0] if troubles else ""


def _number_spans(text: str, source: str, inputs: bool = True) -> list[tuple[int, int, float, float]]:
    """(start, end, value, step) of every number under each layer's weights and biases, and the inputs unless
    not `inputs` (a batch's inputs are its data set: XOR stays XOR): the step is 1 for a block of whole
    numbers such as an image or a filter of ones, else 0.05."""
    from tutor.problem.yaml_safe import Mapping, Scalar, Sequence as SequenceNode

    root = compose(text, source=source)
    found: list[tuple[int, int, float, float]] = []
    if not isinstance(root, Mapping):
        return found
    for key, value in root.pairs:
        name = key.text if isinstance(key, Scalar) else None
        if name == "inputs" and inputs:
            found += _block(value, text)
        elif name == "layers" and isinstance(value, SequenceNode):
            for layer in value.items:
                if isinstance(layer, Mapping):
                    found += [span for field, block in layer.pairs
                              if isinstance(field, Scalar) and field.text in _MOVED[1:] for span in _block(block, text)]
    return found


def _block(node, text: str) -> list[tuple[int, int, float, float]]:
    """The plain numbers of a block (a number, a list, a list of lists, a mapping), each with its step."""
    from tutor.problem.yaml_safe import Mapping, Scalar, Sequence as SequenceNode

    scalars: list[tuple[int, int, float]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Scalar) and item.plain:
            try:
                value = float(item.text)
            except ValueError:
                continue
            start = item.mark.index
            if math.isfinite(value) and text[start:start + len(item.text)] == item.text:  # written as read
                scalars.append((start, start + len(item.text), value))
        elif isinstance(item, SequenceNode):
            stack.extend(item.items)
        elif isinstance(item, Mapping):  # a graph's inputs: name -> value
            stack.extend(value for _, value in item.pairs)
    values = [v for _, _, v in scalars]
    whole = all(v.is_integer() for v in values) and any(abs(v) >= 1 for v in values)
    step = 1.0 if whole else 0.05
    return [(start, end, value, step) for start, end, value in scalars]


def _nice(value: float, step: float) -> str:
    """A number on the grid of `step`, written the short way (0.35, -0.1, 2)."""
    if step == 1.0:
        return str(int(round(value)))
    text = f"{round(value / step) * step:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# -- each student's files -------------------------------------------------------------------------------------


def key_text(trace: Trace, asked: Sequence[Asked], student: Student) -> str:
    """The answer key: a filled sheet of the true values (full precision), which grades to full marks."""
    lines = [f"# Answer key for {student.id}: every asked value, at full precision", f"# id: {student.id}"]
    width = max((len(a.key) for a in asked), default=0) + 1
    lines += [f"{(a.key + ':').ljust(width)} {a.quantity.value!r}   # {a.label}" for a in asked]
    return "\n".join(lines) + "\n"


def sheet_text(trace: Trace, asked: Sequence[Asked], student: Student) -> str:
    """The blank sheet (as `template`), with the student's id line so it is matched whatever its file name (a
    comment, so that `grade` and `quiz --answers` read the sheet against the student's problem file alone)."""
    blank = template_text(trace, asked)
    head, _, rest = blank.partition("\n")
    return f"{head}\n# id: {student.id}   (keep this line: it says whose sheet this is)\n{rest}"


def handout_markdown(trace: Trace, asked: Sequence[Asked], student: Student, problem_text: str, title: str) -> str:
    from tutor.views.document.markdown import markdown_text

    who = f"{student.name} ({student.id})" if student.name else student.id
    out = [f"# {markdown_text(title)}", "", f"For **{markdown_text(who)}**: these numbers are yours alone.", "",
           "## Your problem", "", "```yaml", problem_text.rstrip("\n"), "```", "", "## What to compute", "",
           f"Write each value after its key in `sheet.yaml` and hand it in (as `{student.id}.yaml`, or keep its "
           "`id:` line).", ""]
    out += [f"- `{a.key}`: {markdown_text(a.label)}, {markdown_text(describe(trace, a.quantity))}"
            + (f" ({a.points:g} points)" if a.points != 1 else "") for a in asked]
    return "\n".join(out) + "\n"


def handout_html(trace: Trace, asked: Sequence[Asked], student: Student, problem_text: str, title: str) -> str:
    from tutor.views.document.html import STYLE

    who = f"{student.name} ({student.id})" if student.name else student.id
    rows = "".join(f"<tr><td><code>{escape(a.key)}</code></td><td>{escape(a.label)}</td>"
                   f"<td>{escape(describe(trace, a.quantity))}</td></tr>" for a in asked)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{escape(title)}</title>",
        f"<style>{STYLE} pre {{ overflow-x: auto; background: #f6f6f6; padding: 0.5rem; }} "
        "table { border-collapse: collapse; } td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.4rem; }</style>",
        "</head>", "<body>", f"<h1>{escape(title)}</h1>",
        f"<p>For <strong>{escape(who)}</strong>: these numbers are yours alone.</p>",
        "<h2>Your problem</h2>", f"<pre>{escape(problem_text)}</pre>", "<h2>What to compute</h2>",
        f"<p>Write each value after its key in <code>sheet.yaml</code> and hand it in (as "
        f"<code>{escape(student.id)}.yaml</code>, or keep its <code>id:</code> line).</p>",
        f"<div style=\"overflow-x:auto\"><table>{rows}</table></div>", "</body>", "</html>"]) + "\n"


# -- the command -------------------------------------------------------------------------------------------------


def make_assignment(problem_or_shape: str, roster: str | Path, out: str | Path, secret: str, *,
                    activation: str = "sigmoid", loss: str = "half_sse", force: bool = False) -> Assignment:
    """Write every student's variant and files into `out`, and `out/assignment.yaml`; returns the assignment."""
    from tutor.problem.bundled import find_problem
    from tutor.problem.loader import parse_problem
    from tutor.solver import solve

    students = load_roster(roster)
    is_shape = bool(_SHAPE.match(problem_or_shape)) and not Path(problem_or_shape).exists()
    if is_shape:
        base_text, base_source = None, problem_or_shape
    else:
        path = find_problem(problem_or_shape)
        base_text, base_source = read_text(path, what="problem file"), str(path)
        parse_problem(base_text, source=base_source)  # a mistake in the file is reported once, located
    folder = Path(out)
    if folder.exists() and any(folder.iterdir()) and not force:
        raise UserError("the folder exists and is not empty; use --force to write over it", source=str(folder))
    folder = prepare_out(folder)
    title = ""
    listing = [f"format: {ASSIGNMENT_FORMAT}", f"problem: {_yaml_string(base_source)}", "students:"]
    for student in students:
        seed = variant_seed(secret, student.id)
        text = (shape_variant(problem_or_shape, seed, activation, loss) if base_text is None
                else file_variant(base_text, seed, base_source))
        trace = solve(parse_problem(text, source=f"{student.id}/problem.yaml"))
        asked = asked_quantities(trace)
        title = f"Assignment: {trace.problem.name}" if base_text is not None else "Assignment: practice " + \
            problem_or_shape
        mine = prepare_out(folder / student.id)
        write_inside(mine, "problem.yaml", text)
        write_inside(mine, "sheet.yaml", sheet_text(trace, asked, student))
        write_inside(mine, "handout.md", handout_markdown(trace, asked, student, text, title))
        write_inside(mine, "handout.html", handout_html(trace, asked, student, text, title))
        write_inside(mine, "key.yaml", key_text(trace, asked, student))
        listing += [f"  - id: {_yaml_string(student.id)}", f"    name: {_yaml_string(student.name)}",
                    f"    email: {_yaml_string(student.email)}", f"    folder: {_yaml_string(student.id)}",
                    f"    seed: {seed}"]
    write_inside(folder, ASSIGNMENT, f"name: {_yaml_string(title)}\n" + "\n".join(listing) + "\n")
    return Assignment(folder, title, tuple(students))


def _yaml_string(text: str) -> str:
    """A YAML scalar that reads back as exactly this string (double-quoted, escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def is_assignment(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / ASSIGNMENT).is_file()


def load_assignment(folder: str | Path) -> Assignment:
    """An assignment folder, read back safely; each listed student's folder must hold problem.yaml."""
    folder = Path(folder)
    source = str(folder / ASSIGNMENT)
    data, _ = load_yaml_file(folder / ASSIGNMENT, what="assignment file")
    if not isinstance(data, dict) or not isinstance(data.get("students"), list):
        raise UserError("not an assignment file (it needs a list of students)", source=source)
    students = []
    for n, row in enumerate(data["students"]):
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or sanitise(row["id"]) != row["id"]:
            raise UserError("each student needs an id (letters, digits, . _ -)", source=source,
                            field=f"students[{n}]")
        student = Student(row["id"], str(row.get("name") or ""), str(row.get("email") or ""))
        if not (folder / student.id / "problem.yaml").is_file():
            raise UserError(f"no problem.yaml for student '{student.id}'", source=str(folder / student.id))
        students.append(student)
    return Assignment(folder, str(data.get("name") or folder.name), tuple(students))


def sheet_id(text: str) -> str | None:
    """The student id an `id:` line of a sheet gives (`id: s123`, also as a comment), or None."""
    found = _ID_LINE.search(text)
    return sanitise(found[1].strip()) if found and found[1].strip() else None


def without_id_line(text: str) -> str:
    """The sheet with its id line made a comment (the same lines, so every message's line number holds)."""
    return _ID_LINE.sub(lambda m: m[0] if m[0].lstrip().startswith("#") else "# " + m[0], text, count=1)
