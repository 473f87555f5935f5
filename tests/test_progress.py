"""The progress database, spaced-repetition review states, and `backprop-tutor progress`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tutor.errors import UserError
from tutor.teach.progress import (HALF_LIFE, SCHEMA_VERSION, AnswerRecord, ProgressStore, default_db_path,
                            recent_error, review_order, review_states)

MAZUR = "problems/mazur-2-2-2.yaml"


def record(position: int, key: str, kind: str, verdict: str, **extra) -> AnswerRecord:
    fields = dict(label=key, answer="1", value=1.0, diagnosis=None, tries=1, hints=0, revealed=False)
    fields.update(extra)
    return AnswerRecord(position, key, kind, verdict=verdict, **fields)


# -- where it lives -----------------------------------------------------------------------------------


def test_default_path_respects_xdg_data_home(tmp_path):
    assert default_db_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "backprop-tutor" / "progress.sqlite3"


def test_default_path_without_xdg_is_under_local_share():
    expected = Path.home() / ".local" / "share" / "backprop-tutor" / "progress.sqlite3"
    assert default_db_path({}) == expected
    assert default_db_path({"XDG_DATA_HOME": "relative/dir"}) == expected  # relative: invalid per the spec


def test_open_creates_folders_and_schema(tmp_path):
    path = tmp_path / "a" / "b" / "progress.sqlite3"
    with ProgressStore.open(path) as store:
        assert store.path == path
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"sessions", "answers"}
    connection.close()


def test_a_newer_schema_is_refused(db):
    connection = sqlite3.connect(db)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(UserError, match="newer backprop-tutor"):
        ProgressStore.open(db)


def test_another_programs_database_is_refused(db):
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE recipes (name TEXT)")
    connection.commit()
    connection.close()
    with pytest.raises(UserError, match="not backprop-tutor's progress database"):
        ProgressStore.open(db)


def test_a_file_that_is_not_a_database_is_refused(db):
    db.write_bytes(b"\x00garbage" * 200)
    with pytest.raises(UserError, match="progress database"):
        ProgressStore.open(db)


def test_open_existing_does_not_create(db):
    assert ProgressStore.open_existing(db) is None
    assert not db.exists()


# -- what it stores ---------------------------------------------------------------------------------


def test_answers_are_saved_at_once_and_updated_in_place(db):
    times = iter(f"2025-01-01T00:00:{n:02d}Z" for n in range(60))
    store = ProgressStore.open(db, clock=lambda: next(times))
    log = store.start_session("Mazur 2-2-2", "0f12680da42ae412", "terminal", 41)
    log.save(record(1, "net1_1", "net", "wrong", answer="0.5", value=0.5))
    # Another connection sees it at once: it was committed.
    other = sqlite3.connect(db)
    assert other.execute("SELECT key, verdict, tries FROM answers").fetchall() == [("net1_1", "wrong", 1)]
    log.save(record(1, "net1_1", "net", "correct", answer="0.3775", value=0.3775, tries=2, hints=1))
    log.save(record(2, "net1_2", "net", "missing", answer=None, value=None, tries=0, revealed=True))
    log.finish("quit")
    assert other.execute("SELECT position, key, answer, verdict, tries, hints, revealed FROM answers ORDER BY id"
                         ).fetchall() == [(1, "net1_1", "0.3775", "correct", 2, 1, 0),
                                          (2, "net1_2", None, "missing", 0, 0, 1)]
    assert other.execute("SELECT problem, problem_hash, mode, questions, stopped, started, finished FROM sessions"
                         ).fetchall() == [("Mazur 2-2-2", "0f12680da42ae412", "terminal", 41, "quit",
                                           "2025-01-01T00:00:00Z", "2025-01-01T00:00:04Z")]
    row = store.answers()[0]
    assert (row["time"], row["problem"], row["problem_hash"], row["kind"]) == (
        "2025-01-01T00:00:02Z", "Mazur 2-2-2", "0f12680da42ae412", "net")
    (summary,) = store.sessions()
    assert (summary.answered, summary.right, summary.stopped) == (2, 1, "quit")
    other.close()
    store.close()


def test_times_are_iso_8601_utc(db):
    with ProgressStore.open(db) as store:
        store.start_session("p", "h", "stdin", 1).save(record(1, "loss", "loss", "correct"))
        time = store.answers()[0]["time"]
    assert len(time) == 20 and time[4] == "-" and time[10] == "T" and time.endswith("Z")


# -- review -------------------------------------------------------------------------------------------


def test_recent_error_weighs_newer_answers_more():
    assert recent_error([]) == 0.5
    assert recent_error([True, True]) == 0.0
    assert recent_error([False, False]) == 1.0
    newest_wrong = recent_error([True, False])
    oldest_wrong = recent_error([False, True])
    weight_old = 0.5 ** (1 / HALF_LIFE)
    assert newest_wrong == pytest.approx(1 / (1 + weight_old))
    assert oldest_wrong == pytest.approx(weight_old / (1 + weight_old))
    assert recent_error([False] * 30 + [True] * 20) == 0.0  # only the last 20 count


def test_leitner_boxes_and_due_sessions():
    sessions = [1, 2, 3, 4, 5]
    history = {
        "net": [(1, True), (2, True), (3, True)],  # right in sessions 1-3: box 3, due after 7 more
        "out": [(4, True), (5, False)],  # wrong last: due at once
        "delta": [(3, False), (4, True)],  # right once since: box 1, due after 1 more session (5 passed)
        "loss": [(4, True), (5, True)],  # box 2, due after 3 more; none passed
        "grad_weight": [(5, True), (5, False)],  # a wrong answer in the last session: box 0
    }
    states = review_states(["net", "out", "delta", "loss", "grad_weight", "new_bias"], history, sessions)
    assert (states["net"].box, states["net"].sessions_since, states["net"].due) == (3, 2, False)
    assert (states["out"].box, states["out"].due) == (0, True)
    assert (states["delta"].box, states["delta"].sessions_since, states["delta"].due) == (1, 1, True)
    assert (states["loss"].box, states["loss"].due) == (2, False)
    assert (states["grad_weight"].box, states["grad_weight"].due) == (0, True)
    assert (states["new_bias"].practised, states["new_bias"].due, states["new_bias"].error) == (False, True, 0.5)
    order = review_order(states, ["net", "out", "loss", "delta", "grad_weight", "new_bias"])
    assert order[:4] == ["out", "grad_weight", "new_bias", "delta"]  # due: errors 1, ~0.53, 0.5, ~0.47


# -- `backprop-tutor progress` --------------------------------------------------------------------------


def test_progress_without_a_database(invoke, db):
    result = invoke("progress", "--db", str(db))
    assert result.exit_code == 0
    assert "No answers saved yet" in result.stdout
    assert not db.exists()
    data = json.loads(invoke("progress", "--db", str(db), "--format", "json").stdout)
    assert (data["answers"], data["sessions"], data["kinds"], data["weakest"]) == (0, [], [], [])


def _quiz(invoke, db, only: str, answers: list[str]) -> None:
    result = invoke("quiz", MAZUR, "--only", only, "--db", str(db), input="".join(a + "\n" for a in answers))
    assert result.exit_code == 0, result.output


def test_progress_after_a_few_quizzes(invoke, db):
    net_o1 = "0.4*0.59327 + 0.45*0.596884 + 0.6"
    # Session 1: two net inputs right, one output wrong twice, one output skipped.
    _quiz(invoke, db, "net_h1,net_h2,out_h1,out_h2", ["0.3775", "0.3925", "0.7", "0.7", "skip"])
    # Session 2: a net input right, dout/dnet wrong the same way twice (the sigmoid mistake), a delta right.
    net = 1.1059059670597702
    _quiz(invoke, db, "net_o1,dout_o1/dnet_o1,delta_o1",
          [net_o1, str(net * (1 - net)), str(net * (1 - net)), "0.741365*0.186816"])
    # Session 3: an output right.
    _quiz(invoke, db, "out_h1", ["1/(1+exp(-0.3775))"])

    data = json.loads(invoke("progress", "--db", str(db), "-f", "json").stdout)
    assert data["answers"] == 8 and data["session_count"] == 3
    assert [s["answered"] for s in data["sessions"]] == [1, 3, 4]  # the latest first
    assert [s["right"] for s in data["sessions"]] == [1, 2, 2]
    assert [s["stopped"] for s in data["sessions"]] == ["end", "end", "end"]
    kinds = {k["kind"]: k for k in data["kinds"]}
    assert list(kinds) == ["net", "out", "dout_dnet", "delta"]  # in the order of KINDS
    assert (kinds["net"]["answered"], kinds["net"]["right"]) == (3, 3)
    assert (kinds["out"]["answered"], kinds["out"]["right"]) == (3, 1)
    assert (kinds["dout_dnet"]["answered"], kinds["dout_dnet"]["right"], kinds["dout_dnet"]["common_mistake"]) == (
        1, 0, "sigmoid_derivative_on_net")
    assert kinds["dout_dnet"]["due"] is True and kinds["net"]["due"] is False
    assert kinds["out"]["box"] == 1  # right in the last session
    assert data["weakest"] == ["dout_dnet", "out"]
    assert data["mistakes"] == [{"id": "sigmoid_derivative_on_net", "count": 1}]

    result = invoke("progress", "--db", str(db))
    assert result.exit_code == 0
    out = result.stdout
    assert "8 answers in 3 sessions" in out
    assert "Recent sessions" in out and out.count("Mazur 2-2-2") == 3
    assert "Accuracy by kind of quantity" in out
    assert "Weakest kinds" in out
    assert "dout_dnet (activation derivatives): 0 of 1 right; often sigmoid_derivative_on_net" in " ".join(out.split())
    assert "out (outputs): 1 of 3 right" in out
    assert "sigmoid_derivative_on_net: 1" in out
    assert "quiz --review" in out

    limited = json.loads(invoke("progress", "--db", str(db), "--sessions", "1", "-f", "json").stdout)
    assert len(limited["sessions"]) == 1 and limited["session_count"] == 3


def test_progress_uses_xdg_data_home_by_default(invoke, tmp_path):
    result = invoke("quiz", MAZUR, "--limit", "1", input="0.3775\n")
    assert result.exit_code == 0
    data = json.loads(invoke("progress", "-f", "json").stdout)
    assert data["db"] == str(tmp_path / "xdg" / "backprop-tutor" / "progress.sqlite3")
    assert data["answers"] == 1


def test_plain_progress_has_no_colour(invoke, db):
    _quiz(invoke, db, "net_h1", ["0.3775"])
    result = invoke("progress", "--db", str(db), "--format", "plain")
    assert "\x1b[" not in result.stdout and "+---" in result.stdout
