"""Assignments: a variant per student from a secret and the roster, each graded against its own student's
numbers; Gradescope's results.json and autograder, Moodle's XML, and the gradebook's long form."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

import html

from hypothesis import given, settings, strategies as st

from tests.conftest import STABLE_ENV
from tests.test_documents import _Collector
from tutor.errors import UserError
from tutor.cli.app import app
from tutor.problem.loader import load_problem
from tutor.solver import solve
from tutor.teach.assign import (file_variant, load_roster, sheet_id, variant_seed, without_id_line)
from tutor.teach.export.gradescope import autograde

ROSTER = "id,name,email\ns1,Ada Lovelace,ada@example.org\ns2,Alan Turing,alan@example.org\n" \
         "s3,Grace Hopper,grace@example.org\n"


def _invoke(runner, *args):
    return runner.invoke(app, list(args), env=STABLE_ENV)


@pytest.fixture
def assignment(runner, tmp_path) -> Path:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    result = _invoke(runner, "assign", "mazur-2-2-2", "--roster", str(roster), "--out", str(tmp_path / "hw"),
                     "--secret", "course-2026")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"wrote 3 variants and assignment.yaml to {tmp_path / 'hw'}\n"
    return tmp_path / "hw"


def _values(sheet: Path) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"^(\w+):\s+(\S+)", sheet.read_text(), re.M) if k != "id"}


def _slipped_sheet(problem: Path, slip: str, by: float) -> str:
    """Every value worked from the student's own numbers after one slip (what a careful student with one
    arithmetic error writes)."""
    trace = solve(load_problem(problem))
    world: dict[str, float] = {}
    for q in trace:
        world[q.key] = q.compute(*[world[d] for d in q.depends_on])
        if q.key == slip:
            world[q.key] += by
    return "".join(f"{key}: {value!r}\n" for key, value in world.items())


def test_every_student_gets_their_own_files(assignment):
    listed = (assignment / "assignment.yaml").read_text(encoding="utf-8")
    assert [m for m in re.findall(r'id: "(\w+)"', listed)] == ["s1", "s2", "s3"]
    problems = set()
    for student in ("s1", "s2", "s3"):
        folder = assignment / student
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["problem.yaml", "sheet.yaml", "handout.md", "handout.html", "key.yaml"])
        text = (folder / "problem.yaml").read_text(encoding="utf-8")
        problems.add(text)
        load_problem(folder / "problem.yaml")  # a valid problem
        assert "# w1: i1->h1" in text  # the file as written: comments and notation kept
        sheet = (folder / "sheet.yaml").read_text(encoding="utf-8")
        assert f"# id: {student}   (keep this line" in sheet and re.search(r"^net1_1:\s+#", sheet, re.M)
        assert "0." not in sheet.split("\n", 3)[3].split("#")[0]  # blank: no values
        handout = (folder / "handout.md").read_text(encoding="utf-8")
        assert "## Your problem" in handout and text.rstrip("\n") in handout
        page = (folder / "handout.html").read_text(encoding="utf-8")
        collector = _Collector()
        collector.feed(page)
        assert collector.open == [] and collector.external == [] and html.escape(text) in page
        key_values = _values(folder / "key.yaml")
        assert key_values == {q.key: q.value for q in solve(load_problem(folder / "problem.yaml"))}
    assert len(problems) == 3  # three different variants


def test_a_variant_keeps_the_structure_and_moves_numbers_to_nice_values():
    source = Path(__file__).resolve().parent.parent / "problems" / "mazur-2-2-2.yaml"
    text = source.read_text(encoding="utf-8")
    variant = file_variant(text, variant_seed("s", "x"), str(source))
    assert file_variant(text, variant_seed("s", "x"), str(source)) == variant  # deterministic
    original, moved = load_problem(source), load_problem_text(variant)
    assert original.shape == moved.shape and original.learning_rate == moved.learning_rate
    assert (original.targets == moved.targets).all()
    for before, after in zip(original.layers, moved.layers):
        assert before.weights.shape == after.weights.shape and (before.weights != after.weights).all()
        assert all(abs(round(w * 20) - w * 20) < 1e-9 for w in after.weights.ravel())  # multiples of 0.05
    image = (source.parent / "cnn-4x4.yaml").read_text(encoding="utf-8")
    moved_image = load_problem_text(file_variant(image, 7, "cnn-4x4.yaml"))
    assert all(float(v).is_integer() for v in moved_image.inputs.ravel())  # an image stays whole numbers


def load_problem_text(text: str):
    from tutor.problem.loader import parse_problem

    return parse_problem(text, source="<variant>")


def test_seeds_depend_on_the_secret_and_the_id():
    assert variant_seed("a", "s1") == variant_seed("a", "s1")
    assert len({variant_seed("a", "s1"), variant_seed("a", "s2"), variant_seed("b", "s1")}) == 3


def test_three_submissions_full_marks_follow_through_and_a_copy(runner, assignment, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s1.yaml").write_text((assignment / "s1" / "key.yaml").read_text())  # right
    (subs / "s2.yaml").write_text(_slipped_sheet(assignment / "s2" / "problem.yaml", "net1_1", 0.1))  # a slip
    copied = (assignment / "s1" / "key.yaml").read_text().replace("# id: s1", "# id: s3")  # s1's answers
    (subs / "mine.yaml").write_text(copied)  # matched by its id: line
    (subs / "nobody.yaml").write_text("net1_1: 0.3\n")
    result = _invoke(runner, "grade", str(assignment), str(subs), "--format", "json")
    assert result.exit_code == 0, result.stderr
    sheets = {s["student"]: s for s in json.loads(result.stdout)}
    assert sheets["s1"]["score"] == sheets["s1"]["max_score"] == 41
    slipped = {r["key"]: r["verdict"] for r in sheets["s2"]["results"]}
    assert slipped["net1_1"] == "wrong" and slipped["out1_1"] == "follow_through"
    assert sheets["s2"]["score"] == 40
    assert sheets["s3"]["score"] <= 4
    assert "nobody.yaml: no student 'nobody' in the assignment" in result.stderr
    assert "mine.yaml: 41 of 41 values are right for s1's variant, 0 for s3's own; graded without " \
           "follow-through credit" in result.stderr


def test_the_long_gradebook(runner, assignment, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s2.yaml").write_text(_slipped_sheet(assignment / "s2" / "problem.yaml", "net1_1", 0.1))
    result = _invoke(runner, "grade", str(assignment), str(subs), "--long")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["student", "key", "given", "expected", "verdict", "diagnosis", "points"]
    assert len(rows) == 42
    first = dict(zip(rows[0], rows[1]))
    assert first["student"] == "s2" and first["key"] == "net1_1" and first["verdict"] == "wrong"
    assert float(first["given"]) - float(first["expected"]) == pytest.approx(0.1)
    out = tmp_path / "grades"
    written = _invoke(runner, "grade", str(assignment), str(subs), "--long", "--out", str(out))
    assert written.exit_code == 0
    assert (out / "gradebook-long.csv").read_text() == result.stdout
    assert (out / "gradebook.csv").exists() and (out / "s2.md").exists()
    plain = _invoke(runner, "grade", "mazur-2-2-2", str(subs / "s2.yaml"), "--long")
    assert plain.exit_code == 0 and plain.stdout.startswith("student,key,given")


def test_results_in_out_are_overwritten_only_with_force(runner, assignment, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s1.yaml").write_text((assignment / "s1" / "key.yaml").read_text())
    (subs / "notes.txt").write_text("not a sheet")
    out = tmp_path / "grades"
    first = _invoke(runner, "grade", str(assignment), str(subs), "--out", str(out), "--long")
    assert first.exit_code == 0
    assert "skipped: notes.txt (not .yaml/.yml)" in first.stderr
    again = _invoke(runner, "grade", str(assignment), str(subs), "--out", str(out), "--long")
    assert again.exit_code == 2 and "add --force to overwrite them" in again.stderr
    forced = _invoke(runner, "grade", str(assignment), str(subs), "--out", str(out), "--long", "--force")
    assert forced.exit_code == 0


def test_an_assignment_is_graded_with_the_command_line_policy(runner, assignment, tmp_path):
    sheet = tmp_path / "s1.yaml"
    truth = {q.key: q.value for q in solve(load_problem(assignment / "s1" / "problem.yaml"))}
    sheet.write_text(f"net1_1: {truth['net1_1']:.2f}\n")
    default = json.loads(_invoke(runner, "grade", str(assignment), str(sheet), "-f", "json").stdout)
    three = json.loads(_invoke(runner, "grade", str(assignment), str(sheet), "-f", "json", "--decimals", "3").stdout)
    verdict = lambda data: next(r["verdict"] for r in data["results"] if r["key"] == "net1_1")
    assert verdict(default) == "correct"
    assert verdict(three) == ("correct" if round(truth["net1_1"], 3) == round(truth["net1_1"], 2) else "wrong")


def test_gradescope_results_json(runner, assignment, tmp_path):
    sheet = tmp_path / "s2.yaml"
    sheet.write_text(_slipped_sheet(assignment / "s2" / "problem.yaml", "out1_1", 0.01))
    result = _invoke(runner, "grade", str(assignment), str(sheet), "--format", "gradescope")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    _check_results_json(data)
    assert data["score"] == 40 and data["max_score"] == 41 and len(data["tests"]) == 41
    wrong = next(t for t in data["tests"] if t["name"] == "out_h1 (out1_1)")
    assert wrong["score"] == 0 and wrong["output"].startswith("**wrong**")
    (tmp_path / "s1.yaml").write_text((assignment / "s1" / "key.yaml").read_text())
    folder = _invoke(runner, "grade", str(assignment), str(tmp_path), "--format", "gradescope")
    assert folder.exit_code == 2 and "--format gradescope writes the results of one sheet" in folder.stderr


def test_gradescope_results_of_a_problem_and_of_an_unreadable_sheet(runner, tmp_path):
    sheet = tmp_path / "alice.yaml"
    sheet.write_text("net1_1: 0.3775\nout1_1: 0.59327\n")
    data = json.loads(_invoke(runner, "grade", "mazur-2-2-2", str(sheet), "-f", "gradescope").stdout)
    _check_results_json(data)
    assert data["score"] == 2 and data["max_score"] == 41
    sheet.write_text("- [unclosed\n")
    broken = _invoke(runner, "grade", "mazur-2-2-2", str(sheet), "-f", "gradescope")
    data = json.loads(broken.stdout)
    _check_results_json(data)
    assert data["score"] == 0 and "not valid YAML" in data["output"]


def _check_results_json(data: dict) -> None:
    """Gradescope's results.json: a number score, and tests with the documented fields and values."""
    assert isinstance(data["score"], float)
    for test in data["tests"]:
        assert set(test) >= {"score", "max_score", "name", "output", "visibility", "output_format"}
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
        assert test["output_format"] in ("text", "html", "simple_format", "md", "ansi")
        assert 0 <= test["score"] <= test["max_score"]
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))


def test_the_gradescope_autograder(runner, assignment, tmp_path):
    target = tmp_path / "autograder.zip"
    result = _invoke(runner, "export", "gradescope", str(assignment), "-o", str(target))
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert {"setup.sh", "run_autograder", "run_autograder.py", "assignment/assignment.yaml",
                "assignment/s1/problem.yaml"} <= set(names)
        assert not any(name.endswith("key.yaml") for name in names)  # the keys stay with the instructor
        assert archive.getinfo("run_autograder").external_attr >> 16 & 0o111
        assert "pip install --quiet backprop-tutor==" in archive.read("setup.sh").decode()
        archive.extractall(tmp_path / "source")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "answers.yaml").write_text((assignment / "s2" / "key.yaml").read_text())
    metadata = tmp_path / "submission_metadata.json"
    metadata.write_text(json.dumps({"id": 1, "users": [{"email": "alan@example.org", "id": 99,
                                                        "name": "Alan Turing"}]}))
    data = json.loads(autograde(tmp_path / "source" / "assignment", metadata, submission))
    _check_results_json(data)
    assert data["score"] == 41
    results = tmp_path / "results.json"  # the zip's own entry point, as run_autograder calls it
    run = subprocess.run([sys.executable, "run_autograder.py", str(metadata), str(submission), str(results)],
                         cwd=tmp_path / "source", capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(results.read_text()) == data
    metadata.write_text(json.dumps({"users": [{"email": "eve@example.org", "name": "Eve"}]}))
    refused = json.loads(autograde(tmp_path / "source" / "assignment", metadata, submission))
    assert refused["score"] == 0 and "could not be matched" in refused["output"]


def test_moodle_xml(runner, assignment, tmp_path):
    target = tmp_path / "quiz.xml"
    result = _invoke(runner, "export", "moodle", str(assignment), "-o", str(target))
    assert result.exit_code == 0, result.stderr
    root = ET.parse(target).getroot()
    assert root.tag == "quiz"
    categories = root.findall("question[@type='category']")
    assert [c.find("category/text").text.rsplit("/", 1)[-1] for c in categories] == ["s1", "s2", "s3"]
    questions = root.findall("question[@type='numerical']")
    assert len(questions) == 3 * 41
    keys = {}
    for q in questions:
        assert q.find("name/text").text and q.find("questiontext").get("format") == "html"
        assert q.find("questiontext/text").text
        answers = q.findall("answer")
        assert answers[0].get("fraction") == "100"
        assert all(a.get("fraction") == "0" for a in answers[1:])
        for a in answers:
            float(a.find("text").text), float(a.find("tolerance").text)
            assert a.find("feedback/text") is not None
        right, width = float(answers[0].find("text").text), float(answers[0].find("tolerance").text)
        for a in answers[1:]:  # no mistake's range reaches the right answer
            value, tol = float(a.find("text").text), float(a.find("tolerance").text)
            assert abs(value - right) > width + tol - 1e-12
        keys[q.find("idnumber").text] = (right, len(answers))
    s1 = {q.key: q.value for q in solve(load_problem(assignment / "s1" / "problem.yaml"))}
    assert keys["s1-net1_1"][0] == pytest.approx(s1["net1_1"], rel=1e-11)
    assert any(n > 1 for _, n in keys.values())  # catalogued mistakes are offered with their feedback


def test_roster_mistakes_are_located(runner, tmp_path):
    roster = tmp_path / "roster.csv"
    cases = {"name,email\nAda,a@x\n": "roster.csv:1: the header has no 'id' column (found: name, email)",
             "id,name\ns1,Ada\n,Bob\n": "roster.csv:3: id: this row has no id",
             "id,name\ns1,Ada\nS1,Bob\n": "roster.csv:3: id: the id 'S1' is also on line 2 (ids are "
                                                "folder names: compared ignoring case)",
             "id,name\n": "roster.csv: the roster lists no students"}
    for text, message in cases.items():
        roster.write_text(text, encoding="utf-8")
        result = _invoke(runner, "assign", "2-2-2", "--roster", str(roster), "--out", str(tmp_path / "o"))
        assert result.exit_code == 2 and result.stderr.endswith(message + "\n"), result.stderr
    assert [s.id for s in load_roster(_write(tmp_path, "ID,Name\nst 1,A\n"))] == ["st_1"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_assign_from_a_shape_and_its_secret(runner, tmp_path):
    roster = _write(tmp_path, ROSTER)
    first = _invoke(runner, "assign", "2-3-1", "--roster", str(roster), "--out", str(tmp_path / "a"))
    assert first.exit_code == 0 and first.stderr.startswith("secret: ")
    secret = first.stderr.split()[1]
    again = _invoke(runner, "assign", "2-3-1", "--roster", str(roster), "--out", str(tmp_path / "b"), "--secret",
                    secret)
    assert again.exit_code == 0 and again.stderr == ""
    for student in ("s1", "s2", "s3"):
        assert (tmp_path / "a" / student / "problem.yaml").read_text() == \
               (tmp_path / "b" / student / "problem.yaml").read_text()
    full = _invoke(runner, "assign", "2-3-1", "--roster", str(roster), "--out", str(tmp_path / "a"))
    assert full.exit_code == 2 and "is not empty; use --force" in full.stderr


def test_id_lines():
    assert sheet_id("# sheet\nid: s7\nnet1_1: 0.3\n") == "s7"
    assert sheet_id("id: 's8'  # me\n") == "s8"
    assert sheet_id("# id: s9   (keep this line: it says whose sheet this is)\n") == "s9"
    assert sheet_id("net1_1: 0.3\n") is None
    assert without_id_line("a: 1\nid: s7\n") == "a: 1\n# id: s7\n"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("id,name\nemail\"'s1 ;\r\t#x\u00e9")), max_size=80))
def test_a_roster_is_read_or_refused_with_a_message(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_text(text, encoding="utf-8")
    try:
        students = load_roster(path)
    except UserError as exc:
        assert str(exc).startswith(str(path))
        return
    assert students and len({s.id.lower() for s in students}) == len(students)
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", s.id) for s in students)


def test_a_graph_assignment(runner, tmp_path):
    from tests.conftest import BUNDLED_GRAPHS

    roster = _write(tmp_path, ROSTER)
    graph = next(p for p in BUNDLED_GRAPHS if p.stem == "cs231n-sigmoid")
    made = _invoke(runner, "assign", str(graph), "--roster", str(roster), "--out", str(tmp_path / "g"), "--secret", "k")
    assert made.exit_code == 0, made.stderr
    variants = {(tmp_path / "g" / s / "problem.yaml").read_text() for s in ("s1", "s2", "s3")}
    assert len(variants) == 3 and all("graph:" in v for v in variants)  # the gates kept, the inputs moved
    graded = _invoke(runner, "grade", str(tmp_path / "g"), str(tmp_path / "g" / "s2" / "key.yaml"), "-f", "json")
    data = json.loads(graded.stdout)
    assert data["score"] == data["max_score"] > 0
    target = tmp_path / "quiz.xml"
    assert _invoke(runner, "export", "moodle", str(tmp_path / "g"), "-o", str(target)).exit_code == 0
    root = ET.parse(target).getroot()
    assert len(root.findall("question[@type='numerical']")) == 3 * data["max_score"]
