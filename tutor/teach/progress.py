"""What a student has practised: every quiz answer in a small SQLite database, and what to review next.

One row per question answered (time in ISO 8601 UTC, problem name and content hash, key, kind, the
answer as typed, verdict, the ids of the mistakes diagnosed at any of its tries, tries, hints, whether
the worked line was revealed), one row per quiz session. Each change is committed at once, so an
interrupted quiz loses nothing already answered. The schema is versioned with ``PRAGMA user_version``.

The database lives in the user's data directory: ``$XDG_DATA_HOME/backprop-tutor/progress.sqlite3``, or
``~/.local/share/backprop-tutor/progress.sqlite3`` when XDG_DATA_HOME is not set; ``--db PATH`` overrides.

Review (spaced repetition over kinds of quantity, Leitner style): a kind's *box* is the number of
sessions in a row, the latest first, in which every answer of that kind was right; it is *due* again
once ``2**box - 1`` later sessions have passed (so a kind last answered wrong is due at once, one
answered right in the last two sessions after three more). Its *error* is the recency-weighted share
of wrong answers (each older answer counts a little less, halving every `HALF_LIFE` answers). Review
asks the due kinds, the most error-prone first.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from tutor.errors import UserError

SCHEMA_VERSION = 1
APP_DIR = "backprop-tutor"
DB_NAME = "progress.sqlite3"

#: Verdicts that count as right in accuracy and review.
RIGHT = frozenset({"correct", "follow_through"})
#: Answers of a kind looked at for its recent error rate, and how fast older ones fade.
RECENT_ANSWERS = 20
HALF_LIFE = 5.0
#: The error rate assumed for a kind never practised (it is due).
UNPRACTISED_ERROR = 0.5

_SCHEMA = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    problem TEXT NOT NULL,
    problem_hash TEXT NOT NULL,
    mode TEXT NOT NULL,
    questions INTEGER NOT NULL,
    stopped TEXT
);
CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(id),
    position INTEGER NOT NULL,
    time TEXT NOT NULL,
    problem TEXT NOT NULL,
    problem_hash TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    answer TEXT,
    value REAL,
    verdict TEXT NOT NULL,
    diagnosis TEXT,
    tries INTEGER NOT NULL,
    hints INTEGER NOT NULL,
    revealed INTEGER NOT NULL,
    UNIQUE (session, position)
);
CREATE INDEX answers_by_kind ON answers (kind, id);
"""


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/backprop-tutor/progress.sqlite3``, else under ``~/.local/share``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec says a relative XDG_DATA_HOME is invalid and should be ignored.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / APP_DIR / DB_NAME


def utc_now() -> str:
    """The time now, ISO 8601 in UTC to the second: ``2025-01-31T14:05:09Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class AnswerRecord:
    """One question of a session as it stands: saved again whenever it changes (a second try, a reveal)."""

    position: int  # 1-based question number within the session
    key: str
    kind: str
    label: str
    answer: str | None  # as typed (or as written in the sheet)
    value: float | None
    verdict: str
    diagnosis: str | None  # the ids of the mistakes diagnosed at any try, separated by spaces
    tries: int
    hints: int
    revealed: bool


class ProgressStore:
    """The progress database. Use `open` (creates it) or `open_existing` (read-only use; None if absent)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, clock: Callable[[], str] = utc_now) -> None:
        self.connection = connection
        self.path = path
        self.clock = clock

    # -- opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, clock: Callable[[], str] = utc_now) -> "ProgressStore":
        """Open (creating the file, its folder and the schema as needed) a progress database."""
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder for the progress database: {exc.strerror or exc}",
                            source=str(path)) from None
        store = cls(_connect(path), path, clock)
        store._migrate()
        return store

    @classmethod
    def open_existing(cls, path: str | Path) -> "ProgressStore | None":
        """Open a database that exists, without creating anything; None when there is no file."""
        path = Path(path).expanduser()
        if not path.exists():
            return None
        store = cls(_connect(path), path)
        store._check_version(allow_empty=True)
        return store

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "ProgressStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_version(self, allow_empty: bool = False) -> int:
        version = self._query_one("PRAGMA user_version")[0]
        if version > SCHEMA_VERSION:
            raise UserError(f"this progress database was written by a newer backprop-tutor (schema {version}; "
                            f"this version reads {SCHEMA_VERSION})", source=str(self.path))
        if version == 0 and not allow_empty and self._query_one(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'")[0]:
            raise UserError("this file is an SQLite database, but not backprop-tutor's progress database",
                            source=str(self.path))
        return version

    def _migrate(self) -> None:
        if self._check_version() == 0:
            with self._write():
                self.connection.executescript(
                    "BEGIN;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    # -- writing ----------------------------------------------------------------------------------

    def start_session(self, problem: str, problem_hash: str, mode: str, questions: int) -> "SessionLog":
        """Record the start of a quiz session; its answers are saved through the returned log."""
        with self._write():
            cursor = self.connection.execute(
                "INSERT INTO sessions (started, problem, problem_hash, mode, questions) VALUES (?, ?, ?, ?, ?)",
                (self.clock(), problem, problem_hash, mode, questions))
            self.connection.commit()
        return SessionLog(self, int(cursor.lastrowid), problem, problem_hash)

    def _save_answer(self, session: int, problem: str, problem_hash: str, record: AnswerRecord) -> None:
        with self._write():
            self.connection.execute(
                """INSERT INTO answers (session, position, time, problem, problem_hash, key, kind, label, answer,
                                        value, verdict, diagnosis, tries, hints, revealed)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (session, position) DO UPDATE SET
                       time = excluded.time, answer = excluded.answer, value = excluded.value,
                       verdict = excluded.verdict, diagnosis = excluded.diagnosis, tries = excluded.tries,
                       hints = excluded.hints, revealed = excluded.revealed""",
                (session, record.position, self.clock(), problem, problem_hash, record.key, record.kind,
                 record.label, record.answer, record.value, record.verdict, record.diagnosis, record.tries,
                 record.hints, int(record.revealed)))
            self.connection.commit()

    def _finish_session(self, session: int, stopped: str) -> None:
        with self._write():
            self.connection.execute("UPDATE sessions SET finished = ?, stopped = ? WHERE id = ?",
                                    (self.clock(), stopped, session))
            self.connection.commit()

    def _write(self) -> "_Guard":
        return _Guard(self.path)

    # -- reading ----------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with _Guard(self.path):
            return self.connection.execute(sql, params).fetchall()

    def _query_one(self, sql: str, params: Sequence = ()) -> tuple:
        rows = self._query(sql, params)
        return rows[0] if rows else ()

    def _has_tables(self) -> bool:
        return self._query_one("SELECT count(*) FROM sqlite_master WHERE name = 'answers'")[0] > 0

    def answers(self, session: int | None = None) -> list[dict]:
        """Saved answers as dicts (every column), oldest first; only one session's with `session`."""
        if not self._has_tables():
            return []
        where, params = ("WHERE session = ?", (session,)) if session is not None else ("", ())
        cursor = self.connection.execute(f"SELECT * FROM answers {where} ORDER BY id", params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def sessions(self, limit: int | None = None) -> list["SessionSummary"]:
        """The most recent sessions first, each with its counts."""
        if not self._has_tables():
            return []
        rows = self._query(
            """SELECT s.id, s.started, s.finished, s.problem, s.problem_hash, s.mode, s.questions, s.stopped,
                      count(a.id), coalesce(sum(a.verdict IN ('correct', 'follow_through')), 0),
                      coalesce(sum(a.hints > 0), 0), coalesce(sum(a.tries > 1), 0)
               FROM sessions s LEFT JOIN answers a ON a.session = s.id
               GROUP BY s.id ORDER BY s.id DESC""" + (" LIMIT ?" if limit is not None else ""),
            (limit,) if limit is not None else ())
        return [SessionSummary(*row) for row in rows]

    def kind_history(self) -> dict[str, list[tuple[int, bool]]]:
        """For each kind, its answers oldest first as (session id, right)."""
        history: dict[str, list[tuple[int, bool]]] = {}
        if not self._has_tables():
            return history
        for kind, session, verdict in self._query("SELECT kind, session, verdict FROM answers ORDER BY id"):
            history.setdefault(kind, []).append((session, verdict in RIGHT))
        return history

    def diagnoses(self) -> dict[str, dict[str, int]]:
        """For each kind, how often each mistake was diagnosed (a question's column lists every try's)."""
        found: dict[str, dict[str, int]] = {}
        if not self._has_tables():
            return found
        for kind, diagnoses, count in self._query(
                "SELECT kind, diagnosis, count(*) FROM answers WHERE diagnosis IS NOT NULL GROUP BY kind, diagnosis"):
            counts = found.setdefault(kind, {})
            for diagnosis in diagnoses.split():
                counts[diagnosis] = counts.get(diagnosis, 0) + count
        return found

    def session_ids(self) -> list[int]:
        if not self._has_tables():
            return []
        return [row[0] for row in self._query("SELECT id FROM sessions ORDER BY id")]

    def review_states(self, kinds: Iterable[str]) -> dict[str, "ReviewState"]:
        """The review state of each of `kinds` (see the module docstring)."""
        return review_states(kinds, self.kind_history(), self.session_ids())

    def report(self, recent_sessions: int = 10, kinds: Sequence[str] | None = None) -> "ProgressReport":
        """History, accuracy per kind and the weakest kinds, for `backprop-tutor progress`."""
        from tutor.trace.keys import KINDS

        history = self.kind_history()
        order = list(kinds or KINDS)
        order += [k for k in history if k not in order]
        states = review_states(order, history, self.session_ids())
        diagnoses = self.diagnoses()
        stats = []
        for kind in order:
            answers = history.get(kind, [])
            if not answers:
                continue
            common = sorted(diagnoses.get(kind, {}).items(), key=lambda item: (-item[1], item[0]))
            stats.append(KindStats(kind, len(answers), sum(right for _, right in answers), states[kind],
                                   common[0][0] if common else None))
        weakest = sorted((s for s in stats if s.right < s.answered),
                         key=lambda s: (-s.state.error, s.accuracy, order.index(s.kind)))[:3]
        mistakes: dict[str, int] = {}
        for per_kind in diagnoses.values():
            for mistake, count in per_kind.items():
                mistakes[mistake] = mistakes.get(mistake, 0) + count
        total = self._query_one("SELECT count(*) FROM answers")[0] if self._has_tables() else 0
        return ProgressReport(str(self.path), total, len(self.session_ids()), self.sessions(recent_sessions), stats,
                              [s.kind for s in weakest],
                              sorted(mistakes.items(), key=lambda item: (-item[1], item[0])))


class SessionLog:
    """Saves one session's answers as they happen (each change committed at once)."""

    def __init__(self, store: ProgressStore, session: int, problem: str, problem_hash: str) -> None:
        self.store = store
        self.session = session
        self.problem = problem
        self.problem_hash = problem_hash

    def save(self, record: AnswerRecord) -> None:
        self.store._save_answer(self.session, self.problem, self.problem_hash, record)

    def finish(self, stopped: str) -> None:
        self.store._finish_session(self.session, stopped)


class PendingSessionLog:
    """A session recorded only once it has an answer to save: a run that ends before any (end of input at
    the first question, quit at once) leaves nothing in the history."""

    def __init__(self, store: ProgressStore, problem: str, problem_hash: str, mode: str, questions: int) -> None:
        self.store = store
        self._start = (problem, problem_hash, mode, questions)
        self.log: SessionLog | None = None
        self.finished = False

    @property
    def started(self) -> bool:
        """Whether the session is in the database (it has saved an answer)."""
        return self.log is not None

    def save(self, record: AnswerRecord) -> None:
        if self.log is None:
            self.log = self.store.start_session(*self._start)
        self.log.save(record)

    def finish(self, stopped: str) -> None:
        """Close the session (once), if it was ever started."""
        if self.log is not None and not self.finished:
            self.log.finish(stopped)
        self.finished = True


@dataclass(frozen=True)
class SessionSummary:
    id: int
    started: str
    finished: str | None
    problem: str
    problem_hash: str
    mode: str
    questions: int
    stopped: str | None
    answered: int
    right: int
    hinted: int = 0  # answers given after a hint
    retried: int = 0  # answers that took a second try


@dataclass(frozen=True)
class ReviewState:
    """Where a kind stands for review."""

    kind: str
    answered: int
    error: float  # recency-weighted share of wrong answers (UNPRACTISED_ERROR when never answered)
    box: int  # sessions in a row, the latest first, with every answer of this kind right
    sessions_since: int  # sessions started after the one of its last answer
    due: bool

    @property
    def practised(self) -> bool:
        return self.answered > 0


@dataclass(frozen=True)
class KindStats:
    kind: str
    answered: int
    right: int
    state: ReviewState
    common_mistake: str | None

    @property
    def accuracy(self) -> float:
        return self.right / self.answered if self.answered else 0.0


@dataclass
class ProgressReport:
    db: str
    answers: int
    session_count: int
    sessions: list[SessionSummary]
    kinds: list[KindStats]
    weakest: list[str]
    mistakes: list[tuple[str, int]] = field(default_factory=list)


def recent_error(rights: Sequence[bool]) -> float:
    """The recency-weighted share of wrong answers among the last RECENT_ANSWERS (oldest first in `rights`)."""
    recent = list(rights)[-RECENT_ANSWERS:]
    if not recent:
        return UNPRACTISED_ERROR
    weights = [0.5 ** (age / HALF_LIFE) for age in range(len(recent))]  # age 0: the newest
    wrong = sum(w for w, right in zip(weights, reversed(recent)) if not right)
    return wrong / sum(weights)


def review_states(kinds: Iterable[str], history: Mapping[str, Sequence[tuple[int, bool]]],
                  sessions: Sequence[int]) -> dict[str, ReviewState]:
    """Each kind's review state from its answers (session id, right), oldest first, and all session ids."""
    order = {session: n for n, session in enumerate(sorted(sessions))}
    states: dict[str, ReviewState] = {}
    for kind in kinds:
        answers = list(history.get(kind, []))
        if not answers:
            states[kind] = ReviewState(kind, 0, UNPRACTISED_ERROR, 0, 0, True)
            continue
        box = 0  # sessions in a row, the latest first, in which every answer of this kind was right
        by_session: dict[int, bool] = {}
        for session, right in answers:
            by_session[session] = by_session.get(session, True) and right
        for right in reversed(list(by_session.values())):
            if not right:
                break
            box += 1
        last = answers[-1][0]
        since = len(order) - 1 - order[last] if last in order else 0
        due = since >= 2 ** box - 1
        states[kind] = ReviewState(kind, len(answers), recent_error([r for _, r in answers]), box, since, due)
    return states


def review_order(states: Mapping[str, ReviewState], solution_order: Sequence[str]) -> list[str]:
    """Kinds to review, most urgent first: due kinds before the others, then by error, then solution order."""
    position = {kind: n for n, kind in enumerate(solution_order)}
    return sorted(states, key=lambda k: (not states[k].due, -states[k].error, position.get(k, len(position))))


def _connect(path: Path) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(str(path), timeout=5.0)
        connection.execute("PRAGMA user_version").fetchone()  # fails here if the file is not a database
    except sqlite3.Error as exc:
        raise UserError(f"cannot open the progress database: {exc}", source=str(path)) from None
    return connection


class _Guard:
    """Turns SQLite errors into one-line user errors naming the database."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is not None and isinstance(exc, sqlite3.Error):
            raise UserError(f"progress database error: {exc}", source=str(self.path)) from None
        return False
