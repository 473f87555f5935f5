"""Grading through the command line: one sheet, a folder, the gradebook, feedback files, JSON and safety."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROBLEMS, ROOT
from tests.test_grader import BLOG, SLIP, mazur_by_hand, sheet, slipped_chain
from tutor.teach.gradebook import csv_cell, markdown_text, progress_bar, sanitise, student_ids, write_inside

MAZUR = str(PROBLEMS / "mazur-2-2-2.yaml")
MAZUR_TEXT = (PROBLEMS / "mazur-2-2-2.yaml").read_text()


@pytest.fixture
def submissions(tmp_path: Path) -> Path:
    """A class of five: exact, a slip carried on, a bad file in the middle, a formula name, a mistake."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "alice.yaml").write_text(sheet(mazur_by_hand()))
    (folder / "bob.yaml").write_text(sheet(slipped_chain()))
    (folder / "carol.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00 not a sheet")
    (folder / "=cmd().yaml").write_text("net_h1: '=1+1'\nout_h1: 0.593\n")
    (folder / "dave.yml").write_text(f"w5+: {0.40 + 0.5 * 0.082167041!r}\n")  # the update's sign flipped
    (folder / "notes.txt").write_text("not a sheet")
    (folder / "sub").mkdir()
    (folder / "sub" / "eve.yaml").write_text("net_h1: 0.3775\n")  # not recursive
    return folder


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


# -- one sheet ----------------------------------------------------------------------------------------------


def test_grade_one_sheet_prints_a_table_diagnoses_and_the_score(invoke, tmp_path):
    path = tmp_path / "bob.yaml"
    path.write_text(sheet(slipped_chain()) + "foo: 1\n")
    result = invoke("grade", MAZUR, str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"{path}\nMazur 2-2-2: tolerance to the precision given (at least 2 significant")
    assert "quantity" in out and "expected" in out and "verdict" in out
    assert "net_h1 net1_1 3.775 0.3775 wrong 0" in " ".join(out.split())
    assert "out_h1 (out1_1), follow_through: consistent with your net_h1 = 3.775" in out
    assert "line 6: unknown key 'foo', not graded" in out
    assert out.rstrip().endswith("score: 4 / 41")
    assert max(len(line) for line in out.splitlines()[1:]) <= 80
    path.write_text(f"w5+: {0.40 + 0.5 * 0.082167041!r}\n")
    out = invoke("grade", MAZUR, str(path)).stdout
    assert "w5+ (new_w2_1_1), wrong: update_sign_flipped: the update added the gradient" in out


def test_plain_format_frames_the_table(invoke, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("net_h1: 0.3775\n")
    out = invoke("grade", MAZUR, str(path), "-f", "plain", "--digits", "3").stdout
    assert "+----" in out and "| net_h1" in out and "0.378" in out


def test_json_for_one_sheet(invoke, tmp_path):
    path = tmp_path / "bob.yaml"
    path.write_text(sheet(slipped_chain()) + "net_h2: abc\n")
    result = invoke("grade", MAZUR, str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"results", "score", "max_score"}
    assert (data["score"], data["max_score"], data["student"]) == (4, 41, "bob")
    rows = {r["key"]: r for r in data["results"]}
    assert len(rows) == 41 and [r["key"] for r in data["results"]][:3] == ["net1_1", "net1_2", "out1_1"]
    for row in data["results"]:
        assert set(row) >= {"key", "given", "expected", "verdict", "diagnosis", "points"}
    assert rows["net1_1"]["given"] == SLIP and rows["net1_1"]["verdict"] == "wrong"
    assert rows["net1_1"]["expected"] == pytest.approx(0.15 * 0.05 + 0.20 * 0.10 + 0.35)
    assert rows["out1_1"]["verdict"] == "follow_through" and rows["out1_1"]["follows_from"] == ["net1_1"]
    assert rows["net1_2"]["verdict"] == "invalid" and rows["net1_2"]["given"] is None
    assert "not a number" in rows["net1_2"]["message"]
    assert rows["loss"]["verdict"] == "missing" and rows["loss"]["diagnosis"] is None
    assert data["problems"] and data["error"] is None


def test_json_diagnosis_is_the_mistake_id(invoke, tmp_path):
    path = tmp_path / "dave.yaml"
    path.write_text(f"w5+: {0.40 - 0.082167041!r}\n")  # the learning rate left out
    data = json.loads(invoke("grade", MAZUR, str(path), "-f", "json").stdout)
    (row,) = [r for r in data["results"] if r["verdict"] != "missing"]
    assert (row["key"], row["verdict"], row["diagnosis"], row["points"]) == \
        ("new_w2_1_1", "wrong", "learning_rate_omitted", 0)


def test_options_override_the_tolerance_and_credit(invoke, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("out_h1: 0.5931\n")  # within 1%, but 0.593269992 is 0.5933 at 4 decimals: off by two

    def verdict(*options: str) -> str:
        data = json.loads(invoke("grade", MAZUR, str(path), "-f", "json", *options).stdout)
        return {r["key"]: r["verdict"] for r in data["results"]}["out1_1"]

    assert verdict() == "wrong"
    assert verdict("--tolerance-mode", "either") == "correct"
    assert verdict("--tolerance-mode", "absolute", "--absolute", "0.00005") == "wrong"
    assert verdict("--tolerance-mode", "relative", "--relative", "0.0005") == "correct"  # 0.03% off
    path.write_text("out_h1: 0.59\n")
    assert verdict() == "correct" and verdict("--min-figures", "3") == "wrong"
    half = tmp_path / "b.yaml"
    half.write_text(sheet(slipped_chain()))
    assert json.loads(invoke("grade", MAZUR, str(half), "-f", "json", "--follow-through-credit", "0.5").stdout)[
        "score"] == 2


def test_a_hostile_sheet_on_the_command_line(invoke, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f'net_h1: !!python/object/apply:os.system ["touch {marker}"]\n')
    result = invoke("grade", MAZUR, str(path), "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert "!!python/object/apply:os.system is not allowed" in data["error"]
    assert {r["verdict"] for r in data["results"]} == {"invalid"} and data["score"] == 0
    assert not marker.exists()


# -- a folder ----------------------------------------------------------------------------------------------------


def test_a_folder_with_a_bad_file_in_the_middle(invoke, submissions, tmp_path):
    out = tmp_path / "results"
    result = invoke("grade", MAZUR, str(submissions), "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if not line.startswith(" ")]  # not a continuation
    assert [line.split()[0] for line in lines[:5]] == ["_cmd_", "alice", "bob", "carol", "dave"]
    assert "alice      41 / 41" in result.stdout
    assert "carol       0 / 41  (invalid sheet: line 1: not UTF-8 text" in result.stdout
    assert "students: 5 (1 invalid sheet)" in result.stdout
    assert "most common mistakes:\n  update_sign_flipped (1 answer, 1 student)\n" in result.stdout
    assert f"warning: {submissions / 'carol.yaml'}: line 1: not UTF-8 text" in " ".join(result.stderr.split())
    assert "wrote gradebook.csv and 5 feedback files" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["_cmd_.md", "alice.md", "bob.md", "carol.md", "dave.md",
                                                    "gradebook.csv"]


def test_the_gradebook_has_a_row_per_student_and_a_column_per_key(invoke, submissions, tmp_path):
    out = tmp_path / "results"
    invoke("grade", MAZUR, str(submissions), "--out", str(out))
    rows = read_csv(out / "gradebook.csv")
    from tutor.solver import solve

    assert rows[0] == ["student", *solve(MAZUR).keys(), "total", "max", "status"]
    by_student = {row[0]: row for row in rows[1:]}
    assert list(by_student) == ["_cmd_", "alice", "bob", "carol", "dave"]
    assert by_student["alice"][-3:] == ["41", "41", "ok"] and set(by_student["alice"][1:-3]) == {"1"}
    assert by_student["bob"][-3:] == ["4", "41", "ok"]
    assert by_student["carol"][-3:] == ["0", "41", "unreadable"]
    header = rows[0]
    assert by_student["_cmd_"][header.index("net1_1")] == "0"  # '=1+1' is invalid, not a formula
    assert by_student["_cmd_"][header.index("out1_1")] == "1"
    text = (out / "gradebook.csv").read_text()
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert "=cmd" not in text


def test_feedback_files_hide_the_answers_unless_revealed(invoke, submissions, tmp_path):
    out = tmp_path / "results"
    invoke("grade", MAZUR, str(submissions), "--out", str(out))
    bob = (out / "bob.md").read_text()
    assert bob.startswith("# Feedback: bob\n")
    assert "- score: **4 / 41**" in bob
    assert "| `net1_1` | net\\_h1 | 3.775 | wrong | 0 / 1 |" in bob
    assert "follow-through: consistent with your net\\_h1 = 3.775" in bob
    assert "0.3775" not in bob  # the expected net_h1
    assert "expected" not in bob
    carol = (out / "carol.md").read_text()
    assert "could not be read" in carol and "not UTF-8 text" in carol
    dave = (out / "dave.md").read_text()
    assert "update\\_sign\\_flipped: the update added the gradient" in dave
    invoke("grade", MAZUR, str(submissions), "--out", str(out), "--reveal", "--force")
    assert "| key | quantity | given | expected | verdict | points |" in (out / "bob.md").read_text()
    assert "| `net1_1` | net\\_h1 | 3.775 | 0.3775 | wrong | 0 / 1 |" in (out / "bob.md").read_text()


def test_json_for_a_folder_is_one_object_per_student(invoke, submissions):
    result = invoke("grade", MAZUR, str(submissions), "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [d["student"] for d in data] == ["_cmd_", "alice", "bob", "carol", "dave"]
    assert [d["score"] for d in data] == [1, 41, 4, 0, 0]
    assert all(d["max_score"] == 41 and len(d["results"]) == 41 for d in data)
    assert data[3]["error"].startswith("line 1: not UTF-8 text")
    assert Path(data[0]["source"]).name == "=cmd().yaml"


def test_regrading_gives_byte_identical_files(invoke, submissions, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    invoke("grade", MAZUR, str(submissions), "--out", str(first))
    invoke("grade", MAZUR, str(submissions), "--out", str(second))
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    refused = invoke("grade", MAZUR, str(submissions), "--out", str(first))  # over the old results
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr == (f"error: {first}: already holds results (gradebook.csv and 5 other files); add "
                              "--force to overwrite them\n")
    again = invoke("grade", MAZUR, str(submissions), "--out", str(first), "--force")
    assert again.exit_code == 0
    assert (first / "bob.md").read_bytes() == (second / "bob.md").read_bytes()


def test_regrading_after_the_problem_changes(invoke, submissions, tmp_path):
    changed = tmp_path / "mazur-strict.yaml"
    changed.write_text(MAZUR_TEXT + "grading: {follow_through_credit: 0.5}\n")
    out = tmp_path / "results"
    invoke("grade", str(changed), str(submissions), "--out", str(out))
    assert read_csv(out / "gradebook.csv")[3][-3:-1] == ["2", "41"]  # bob: 4 follow-throughs at half credit
    assert "follow-through credit 0.5" in (out / "bob.md").read_text()


# -- names and files --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stem", "expected"), [
    ("alice", "alice"),
    ("../x", "_x"),
    ("..evil", "evil"),
    ("-rf", "rf"),
    ("=cmd()", "_cmd_"),
    ("Zoë Müller", "Zoe_Muller"),
    ("a/b\\c", "a_b_c"),
    ("", "student"),
    ("...", "student"),
    ("CON", "_CON"),
    ("x" * 100, "x" * 64),
    ("tab\there\nnewline", "tab_here_newline"),
])
def test_student_ids_are_sanitised(stem, expected):
    assert sanitise(stem) == expected


def test_student_ids_are_unique_ignoring_case():
    assert student_ids(["a b", "a_b", "A_B", "a?b"]) == ["a_b", "a_b-2", "A_B-3", "a_b-4"]
    assert student_ids(["x" * 80, "x" * 70]) == ["x" * 64, "x" * 62 + "-2"]


def test_csv_cells_cannot_start_a_formula():
    for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert csv_cell(text) == "'" + text
    assert csv_cell("alice") == "alice" and csv_cell("") == ""


def test_markdown_text_is_escaped():
    assert markdown_text("a|b_c*d<e>[f](g)") == "a\\|b\\_c\\*d\\<e\\>\\[f\\](g)"
    assert markdown_text("line\nbreak\x1b[31m") == "line\\\\nbreak\\\\x1b\\[31m"


def test_write_inside_replaces_links_and_refuses_paths(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (folder / "alice.md").symlink_to(outside)
    os.link(outside, folder / "bob.md")
    write_inside(folder, "alice.md", "new")
    write_inside(folder, "bob.md", "new")
    assert outside.read_text() == "keep me"
    assert not (folder / "alice.md").is_symlink() and (folder / "alice.md").read_text() == "new"
    for name in ["../x.md", "a/b.md", ".hidden", "", "..", "x\x00.md"]:
        with pytest.raises(Exception):
            write_inside(folder, name, "no")
    assert sorted(p.name for p in folder.iterdir()) == ["alice.md", "bob.md"]


def test_nothing_is_written_outside_out(invoke, submissions, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "gradebook.csv").symlink_to(victim)
    (out / "alice.md").symlink_to(victim)
    before = {p for p in tmp_path.rglob("*")}
    result = invoke("grade", MAZUR, str(submissions), "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert not (out / "alice.md").is_symlink()
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(out in p.parents for p in created), created


def test_out_may_not_be_a_file(invoke, submissions, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = invoke("grade", MAZUR, str(submissions), "--out", str(target))
    assert result.exit_code == 2 and "not a folder" in result.stderr


def test_the_progress_bar_only_runs_when_asked():
    ticks = []
    with progress_bar(3, False) as advance:
        advance()
        ticks.append(1)
    stream = io.StringIO()
    with progress_bar(3, True, stream) as advance:
        for _ in range(3):
            advance()
    assert ticks == [1]


# -- template -----------------------------------------------------------------------------------------------------


def test_template_prints_every_asked_key(invoke):
    result = invoke("template", "mazur")
    assert result.exit_code == 0
    assert "new_w2_1_1:     # w5+ : w5 after the update (h1 -> o1)" in result.stdout
    assert result.stdout.count("\n") == 41 + 3


def test_template_only_and_output_file(invoke, tmp_path):
    path = tmp_path / "blank.yaml"
    result = invoke("template", MAZUR, "--only", "w5+,net_h1", "-o", str(path))
    assert result.exit_code == 0 and f"wrote {path} (2 keys)" in result.stdout
    assert [line.split(":")[0] for line in path.read_text().splitlines() if line[0] != "#"] == ["net1_1",
                                                                                            "new_w2_1_1"]
    again = invoke("template", MAZUR, "-o", str(path))
    assert again.exit_code == 2 and "already exists; use --force" in again.stderr
    assert invoke("template", MAZUR, "-o", str(path), "--force").exit_code == 0
    graded = invoke("grade", MAZUR, str(path), "-f", "json")
    assert {r["verdict"] for r in json.loads(graded.stdout)["results"]} == {"missing"}


def test_template_follows_the_problems_ask(invoke, tmp_path):
    problem = tmp_path / "hw.yaml"
    problem.write_text(MAZUR_TEXT + "ask: {w5+: 2, 'dE/dw1': 1}\n")
    out = invoke("template", str(problem)).stdout
    # in the order the ask: section lists them, not solution order
    assert [line.split(":")[0] for line in out.splitlines() if line[0] != "#"] == ["new_w2_1_1", "dL_dw1_1_1"]
    assert "[2 points]" in out


# -- exit codes and messages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["grade", MAZUR, "no-such-sheet.yaml"], "no-such-sheet.yaml: no such answer sheet or folder"),
    (["grade", "no-such-problem.yaml", "x.yaml"], "no-such-problem.yaml: no such problem file"),
    (["template", MAZUR, "--only", "w9+"], "this problem has no quantity 'w9+'"),
    (["template", MAZUR, "--only", ","], "--only needs at least one key"),
])
def test_user_mistakes_exit_with_code_2(invoke, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("option", [["--follow-through-credit", "2"], ["--relative", "-1"], ["--absolute", "x"],
                                    ["--tolerance-mode", "loose"], ["--digits", "0"], ["--relative", "nan"]])
def test_bad_option_values_exit_with_code_2(invoke, tmp_path, option):
    path = tmp_path / "a.yaml"
    path.write_text("net_h1: 0.3775\n")
    assert invoke("grade", MAZUR, str(path), *option).exit_code == 2


def test_an_unknown_name_in_ask_exits_with_code_2_naming_the_line(invoke, tmp_path):
    problem = tmp_path / "hw.yaml"
    problem.write_text(MAZUR_TEXT + "ask: [w5+, w9+]\n")
    sheet_path = tmp_path / "a.yaml"
    sheet_path.write_text("w5+: 0.35891648\n")
    line = MAZUR_TEXT.count("\n") + 1
    for args in (["grade", str(problem), str(sheet_path)], ["template", str(problem)]):
        result = invoke(*args)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"error: {problem}:{line}:12: ask[1]: this problem has no quantity 'w9+'")


def test_an_invalid_grading_section_exits_with_code_2(invoke, tmp_path):
    problem = tmp_path / "hw.yaml"
    problem.write_text(MAZUR_TEXT + "grading: {tolerance: {mode: loose}}\n")
    result = invoke("grade", str(problem), str(tmp_path))
    assert result.exit_code == 2 and "grading.tolerance.mode: unknown tolerance mode" in result.stderr


def test_an_empty_folder_exits_with_code_2(invoke, tmp_path):
    result = invoke("grade", MAZUR, str(tmp_path))
    assert result.exit_code == 2 and "no answer sheets (*.yaml, *.yml) in this folder" in result.stderr


def test_a_garbage_sheet_is_graded_not_an_error(invoke, tmp_path):
    path = tmp_path / "garbage.yaml"
    path.write_text("{{{{ not yaml at all\n")
    result = invoke("grade", MAZUR, str(path))
    assert result.exit_code == 0
    assert "the whole sheet is invalid: line 2: not valid YAML" in result.stdout
    assert "score: 0 / 41" in result.stdout


def test_blog_labels_on_the_command_line(invoke, tmp_path):
    path = tmp_path / "blog.yaml"
    path.write_text("".join(f"{label}: {value}\n" for label, value in BLOG.items()))
    data = json.loads(invoke("grade", MAZUR, str(path), "-f", "json").stdout)
    assert {r["verdict"] for r in data["results"] if r["given"] is not None} == {"correct"}
    assert data["score"] == 16


def test_grade_help_imports_no_numpy():
    probe = ("import sys\nfrom tutor.cli.app import app\ntry:\n    app(['grade', '--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('numpy', 'yaml', 'tutor.engine.step', 'tutor.teach.grader') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_expected_update_shows_its_change_beside_the_old_weight(invoke, tmp_path):
    """EX02's w_31^1 = 0.2 changes by -0.01 * 2.66199e-05: its expected value reads 0.1999997 (as `solve` prints
    it), never 0.2 beside a student's wrong 0.2000, in the table and in a revealed feedback file."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ann.yaml").write_text("w_31^1+: 0.2000\n")
    table = invoke("grade", "ex02-3-3-2-2", str(folder / "ann.yaml"), "--format", "plain").stdout
    (row,) = [line for line in table.splitlines() if line.startswith("|") and "new_w1_3_1" in line]
    assert row.split("|")[3:5] == [" 0.2000 ", " 0.1999997 "]
    result = invoke("grade", "ex02-3-3-2-2", str(folder), "--out", str(tmp_path / "out"), "--reveal")
    assert result.exit_code == 0, result.output
    assert "| 0.2000 | 0.1999997 | wrong |" in (tmp_path / "out" / "ann.md").read_text()
