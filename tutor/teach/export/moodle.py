"""Moodle XML (https://docs.moodle.org/en/Moodle_XML_format): a numerical question per asked value of each
student's variant, in a category per student, with the catalogued mistakes' values as extra 0% answers that
say what went wrong.

Moodle accepts an answer within a fixed tolerance, where our judge reads the precision a student wrote. The
tolerance written is the judge's own in its loose modes (relative, absolute, either) and its decimals policy
(half a unit in the last decimal place); in its precision mode
it is half a unit in the last of the `min_figures` significant figures the judge requires, so an answer
Moodle accepts is one the judge accepts at that precision (an update judged by its change: of the change).
A mistake's answer is left out when it lies within the right answer's tolerance (Moodle takes the first
answer that matches, and the right one is first).
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape

from tutor.teach.grader import Asked, Grader

UPDATE_KINDS = ("new_weight", "new_bias", "filter_new", "filter_bias_new")


def tolerance(grader: Grader, asked: Asked) -> float:
    """The tolerance Moodle should accept around the right value of `asked` (see the module docstring)."""
    t = grader.settings.tolerance
    q = asked.quantity
    value = abs(q.value)
    if t.decimals is not None:  # the decimals policy: right when it rounds to the true value's decimals
        return 0.5 * 10.0 ** -t.decimals
    if t.mode == "relative":
        return t.relative * value
    if t.mode == "absolute":
        return t.absolute
    if t.mode == "either":
        return max(t.relative * value, t.absolute)
    scale = abs(q.value - q.parameter.value) if q.kind in UPDATE_KINDS and q.parameter is not None else value
    if scale == 0 or not math.isfinite(scale):
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(scale)) - t.min_figures + 1)


def mistake_answers(grader: Grader, asked: Asked, right_tolerance: float) -> list[tuple[float, str]]:
    """(value, explanation) of each catalogued mistake that gives another value for `asked`."""
    true = {q.key: q.value for q in grader.trace.quantities}
    q = asked.quantity
    found: list[tuple[float, str]] = []
    for mistake in grader.judge.mistakes:  # the judge's own catalogue (a network's, or a graph's gates')
        for value in mistake.candidates(grader.trace, q, true):
            if not math.isfinite(value) or abs(value - q.value) <= right_tolerance:
                continue
            if all(abs(value - other) > 1e-12 for other, _ in found):
                found.append((value, f"{mistake.explanation} ({mistake.id})"))
    return found


def _text(value: str) -> str:
    return f"<text>{escape(value)}</text>"


def _number(value: float) -> str:
    """A number for Moodle: 12 significant digits (Moodle stores answers as decimals)."""
    return f"{float(value):.12g}"


def question_xml(grader: Grader, asked: Asked, student_id: str, points: str) -> str:
    from tutor.trace.trace import describe

    q = asked.quantity
    right = tolerance(grader, asked)
    html = (f"<p>{escape(grader.trace.problem.name)}, your variant ({escape(student_id)}): compute "
            f"<strong>{escape(q.label)}</strong>, the {escape(describe(grader.trace, q))} "
            f"(key <code>{escape(q.key)}</code>).</p>")
    answers = [f'    <answer fraction="100" format="moodle_auto_format">{_text(_number(q.value))}'
               f"<tolerance>{_number(right)}</tolerance>"
               f'<feedback format="html">{_text("Right.")}</feedback></answer>']
    for value, why in mistake_answers(grader, asked, right):
        width = min(right, (abs(value - q.value) - right) / 2)  # its range never reaches the right one's
        answers.append(f'    <answer fraction="0" format="moodle_auto_format">{_text(_number(value))}'
                       f"<tolerance>{_number(width)}</tolerance>"
                       f'<feedback format="html">{_text(why)}</feedback></answer>')
    return "\n".join([
        '  <question type="numerical">',
        f"    <name>{_text(f'{student_id}: {q.label} ({q.key})')}</name>",
        f'    <questiontext format="html">{_text(html)}</questiontext>',
        f'    <generalfeedback format="html">{_text("")}</generalfeedback>',
        f"    <defaultgrade>{points}</defaultgrade>",
        "    <penalty>0.3333333</penalty>",
        "    <hidden>0</hidden>",
        f"    <idnumber>{escape(student_id)}-{escape(q.key)}</idnumber>",
        *answers,
        "    <unitgradingtype>0</unitgradingtype>",
        "    <unitpenalty>0.1000000</unitpenalty>",
        "    <showunits>3</showunits>",
        "    <unitsleft>0</unitsleft>",
        "  </question>"])


def moodle_xml(assignment_folder: str | Path) -> str:
    """The whole quiz file: a category per student (under the assignment's), then their questions."""
    from tutor.teach.assign import load_assignment
    from tutor.teach.batch import student_grader
    from tutor.teach.grader import _points_text

    assignment = load_assignment(assignment_folder)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    for student in assignment.students:
        grader = student_grader(assignment, student.id)
        category = f"$course$/top/{assignment.name.replace('/', '-')}/{student.id}"  # "/" nests categories
        out += ['  <question type="category">', f"    <category>{_text(category)}</category>",
                f'    <info format="html">{_text(f"The variant of {student.name or student.id}")}</info>',
                "  </question>"]
        out += [question_xml(grader, asked, student.id, _points_text(asked.points)) for asked in grader.asked]
    out.append("</quiz>")
    return "\n".join(out) + "\n"
