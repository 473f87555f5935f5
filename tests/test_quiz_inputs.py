"""The quiz takes any input on any problem: fuzzed replies (keys, labels, givens, commands, junk) never
end in a traceback; givens on the card can be typed by label; an answer carrying on with a revealed
value is judged by it; `show` repeats the question; only a session with an answer is saved, and closed."""

from __future__ import annotations

import io
import math
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tutor.problem.bundled import bundled_problems
from tutor.solver import open_problem
from tutor.teach.judge import Judge
from tutor.teach.quiz import QuizSession, select_questions
from tutor.teach.sheets import given_values
from tutor.trace.quantity import Term
from tutor.views.output import PlainSink
from tutor.views.quiz import QuizView

BUNDLED = sorted(path.stem for path in bundled_problems())
COMMANDS = ["hint", "show", "skip", "reveal", "help", "h", "?", "s", "", "   "]
JUNK = ["x(", "()", "1,5", "0,5", "w5 w6", "__import__('os')", "1e999", "nan", "inf", "-", "1/0", "sqrt(-1)",
        "9^9^9", "[1]", "{}", "m(", "(w5)", "x(1,1", "x(9,9)", "w^1(1,1)+", "=", "==", "\x00", "é", "∞", "−0.5"]

_TRACES: dict[str, object] = {}


def _trace(name: str):
    if name not in _TRACES:
        _TRACES[name] = open_problem(name, step=2 if "adam" in name or "momentum" in name else None)
    return _TRACES[name]


def _names(trace) -> list[str]:
    """Keys, labels and givens of the trace, and the givens its formulas take (what a student might type)."""
    names = list(given_values(trace))
    for q in list(trace.quantities)[:60]:
        names += [q.key, q.label]
    return names


def _replies(trace) -> st.SearchStrategy[list[str]]:
    name = st.sampled_from(_names(trace))
    number = st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.integers(-10**6, 10**6).map(str)
    combined = st.tuples(name, st.sampled_from(["*", "+", "-", "/", "^", " * ", ""]), name | number).map("".join)
    reply = st.one_of(name, combined, number, st.sampled_from(COMMANDS + JUNK), st.text(max_size=30))
    return st.lists(reply, max_size=25)


def _run(trace, replies: list[str], focus: str = "all") -> str:
    """A session on `trace` fed `replies` (then end of input), with the text view; what it printed."""
    out = io.StringIO()
    view = QuizView(PlainSink(out, width=60), plain=True, echo=True)
    view.problem_card(trace)
    questions = select_questions(trace, focus=focus)
    feed = iter(replies)
    session = QuizSession(Judge(trace), questions, view)
    outcome = session.run(lambda question: next(feed, None))
    view.summary(outcome)
    return out.getvalue()


@pytest.mark.filterwarnings("error")  # not even a warning: a student's overflow is theirs, judged
@pytest.mark.parametrize("problem", BUNDLED)
@pytest.mark.parametrize("focus", ["all", "updates"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_reply_on_any_bundled_problem_is_handled(problem, focus, data):
    trace = _trace(problem)
    replies = data.draw(_replies(trace))
    text = _run(trace, replies, focus)
    assert "Summary" in text


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("problem", BUNDLED)
def test_every_name_is_a_reply_the_quiz_handles(problem):
    trace = _trace(problem)
    names = _names(trace)
    names = names[:: max(1, len(names) // 40)]  # every kind of name, not every one of a big problem's
    text = _run(trace, [*names, *(f"{a}*{b}" for a, b in zip(names[::3], names[1::3])), *JUNK])
    assert "Summary" in text and "Traceback" not in text


def _card_givens(trace) -> dict[str, float]:
    """Every given the questions show (``given ...``): the terms without a key in their formulas."""
    found: dict[str, float] = {}
    for q in trace.quantities:
        for part in q.formula:
            if isinstance(part, Term) and part.key is None:
                found.setdefault(part.symbol, part.value)
    return found


@pytest.mark.parametrize("problem", BUNDLED)
def test_every_given_on_the_card_is_typed_by_its_label(problem):
    from tutor.teach.expression import evaluate

    trace = _trace(problem)
    names = given_values(trace)
    for symbol, value in _card_givens(trace).items():
        if "(" in symbol and not symbol.endswith(")") or " " in symbol:
            continue  # a computed piece (floor(t / 2), sign(w5)), not a name
        assert evaluate(f"{symbol}*1", names) == pytest.approx(value, rel=1e-12, abs=1e-300), symbol


# -- through the command line ---------------------------------------------------------------------------


def _lines(*answers: str) -> str:
    return "".join(f"{a}\n" for a in answers)


def _sessions(db) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT id, finished, stopped FROM sessions ORDER BY id").fetchall()
    finally:
        connection.close()


@pytest.mark.parametrize("problem", ["conv-3x3-2x2", "cnn-4x4"])
def test_names_on_image_problems_are_answers_or_format_errors(invoke, db, problem):
    result = invoke("quiz", problem, "--limit", "1", "--db", str(db),
                    input=_lines("w_11^1*x_1", "x_1", "x(1,1)*w^1(1,1)"))
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "'w_11' is not a number or a known function" in " ".join(result.stdout.split())
    assert [row[2] for row in _sessions(db)] == ["eof"]


def test_the_image_example_in_the_help_uses_the_cards_names(invoke, db):
    result = invoke("quiz", "conv-3x3-2x2", "--limit", "1", "--db", str(db), input="")
    assert "by name: w^1(1,1)*x(1,1))" in " ".join(result.stdout.split())


def test_a_conv_answer_from_its_givens_by_label(invoke, db):
    # net^1(1,1) = 1*1 + (-1)*0 + 0*2 + 2*1 + 1 = 4
    result = invoke("quiz", "conv-3x3-2x2", "--limit", "1", "--db", str(db),
                    input=_lines("w^1(1,1)*x(1,1) + w^1(1,2)*x(1,2) + w^1(2,1)*x(2,1) + w^1(2,2)*x(2,2) + b^1"))
    assert "Correct: net^1(1,1) = 4." in result.stdout


ADAM_W5 = {  # Adam's second step for w5 (see tests/test_optimizer_mistakes.py for the numbers)
    "m(w5)": "beta1*m_prev(w5) + (1 - beta1)*dE_total/dw5",
    "v(w5)": "beta2*v_prev(w5) + (1 - beta2)*dE_total/dw5^2",
    "m_hat(w5)": "m(w5)/(1 - beta1^t)",
    "v_hat(w5)": "v(w5)/(1 - beta2^t)",
    "step(w5)": "eta*m_hat(w5)/(sqrt(v_hat(w5)) + eps)",
    "w5+": "w5 - step(w5)",
}


def test_optimizer_givens_by_label(invoke, db):
    result = invoke("quiz", "mazur-adam-2-2-2", "--step", "2", "--only", ",".join(ADAM_W5), "--db", str(db),
                    input=_lines(*ADAM_W5.values()))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("Correct: ") == len(ADAM_W5), result.stdout


def test_the_step_number_rate_and_schedule_givens_by_label(invoke, db):
    # the decay problem's step: g = dE/dw5 + 0.01 w5, eta = 0.5 / (1 + 0.5 * 2) = 0.25
    result = invoke("quiz", "mazur-decay-2-2-2", "--only", "g(w5),w5+", "--db", str(db),
                    input=_lines("dE_total/dw5 + weight_decay*w5", "w5 - eta*g(w5)"))
    assert result.stdout.count("Correct: ") == 2, result.stdout


MAZUR = str(ROOT / "problems" / "mazur-2-2-2.yaml")
ONLY = "dE_total/dout_h1,dout_h1/dnet_h1,delta_h1"


def _mazur_hidden():
    """dE_total/dout_h1, dout_h1/dnet_h1 and delta_h1 of Mazur's step, by hand."""
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    h1, h2 = sig(0.15 * 0.05 + 0.2 * 0.1 + 0.35), sig(0.25 * 0.05 + 0.3 * 0.1 + 0.35)
    o1, o2 = sig(0.4 * h1 + 0.45 * h2 + 0.6), sig(0.5 * h1 + 0.55 * h2 + 0.6)
    d1, d2 = (o1 - 0.01) * o1 * (1 - o1), (o2 - 0.99) * o2 * (1 - o2)
    dout = d1 * 0.4 + d2 * 0.5
    return dout, h1 * (1 - h1), dout * h1 * (1 - h1)


@pytest.mark.parametrize("reveal", [("0.5", "0.5"), ("reveal",), ("0.5", "reveal")],
                         ids=["two-wrong-tries", "reveal", "wrong-then-reveal"])
@pytest.mark.parametrize("answer", ["names", "numbers"])
def test_an_answer_carrying_on_with_a_revealed_value_is_right(invoke, db, reveal, answer):
    dout, slope, delta = _mazur_hidden()
    assert f"{dout:.6g}" == "0.0363503" and f"{slope:.6g}" == "0.241301" and f"{delta:.6g}" == "0.00877135"
    # by name, or with the numbers the hint shows: the student's own dE_total/dout_h1, the revealed slope
    text = "dE_total/dout_h1 * dout_h1/dnet_h1" if answer == "names" else "0.0363503*0.241301"
    result = invoke("quiz", MAZUR, "--only", ONLY, "--db", str(db), input=_lines("0.0363503", *reveal, text))
    assert result.exit_code == 0, result.output
    after = result.stdout.split("(delta_h1)")[-1]
    assert "Correct" in after and "Not quite" not in after, result.stdout


def test_the_students_own_value_still_follows_through_after_a_reveal(invoke, db):
    dout, _, _ = _mazur_hidden()
    result = invoke("quiz", MAZUR, "--only", ONLY, "--db", str(db),
                    input=_lines("0.0363503", "0.5", "0.5", f"{0.0363503 * 0.5!r}"))
    assert "Accepted: consistent with your dout_h1/dnet_h1 = 0.5" in " ".join(result.stdout.split())


def test_show_prints_the_card_then_the_question_again(invoke, db):
    result = invoke("quiz", MAZUR, "--limit", "1", "--db", str(db), input=_lines("show", "0.3775"))
    after = result.stdout.split("> show")[1]
    assert "learning rate" in after and after.index("[1/1] net input of h1") > after.index("learning rate")
    assert "Correct: net_h1 = 0.3775." in after


def test_an_empty_run_saves_nothing(invoke, db):
    for replies in ("", _lines("quit"), _lines("hint", "show")):
        result = invoke("quiz", MAZUR, "--db", str(db), input=replies)
        assert result.exit_code == 0, result.output
        assert "No answers: nothing was saved." in result.stdout
    assert not db.exists() or _sessions(db) == []


def test_a_session_that_fails_is_closed(invoke, db, monkeypatch):
    from tutor.teach import quiz

    real = quiz.QuizSession._judge
    calls = []

    def failing(self, question, answer):
        calls.append(question.key)
        if len(calls) > 1:
            raise RuntimeError("a failure inside the quiz")
        return real(self, question, answer)

    monkeypatch.setattr(quiz.QuizSession, "_judge", failing)
    result = invoke("quiz", MAZUR, "--db", str(db), input=_lines("0.3775", "0.3925"))
    assert isinstance(result.exception, RuntimeError)
    ((_, finished, stopped),) = _sessions(db)
    assert finished is not None and stopped == "error"
    monkeypatch.undo()
    listed = invoke("progress", "--db", str(db))
    assert listed.exit_code == 0 and "ended by an error" in listed.stdout


# -- the card and the carry-on note at 60 and 80 columns ---------------------------------------------------


@pytest.mark.parametrize("width", [60, 80])
def test_the_optimizer_card_keeps_each_name_beside_its_value(width):
    trace = _trace("mazur-adam-2-2-2")
    out = io.StringIO()
    QuizView(PlainSink(out, width=width), plain=True).problem_card(trace)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    for entry in ("m_prev(w7) = -0.00226025", "v_prev(w5) = 6.75142e-06", "beta2 = 0.999", "eps = 1e-08",
                  "step t = 2", "eta = 0.1"):
        assert entry in text, (entry, text)


@pytest.mark.parametrize("width", [60, 80])
def test_the_carry_on_note_takes_one_line(width):
    from tutor.teach.judge import Answer, Judgement
    from tutor.teach.quiz import Judged

    trace = _trace("mazur-2-2-2")
    (question,) = select_questions(trace, only=["out_h1"])
    out = io.StringIO()
    view = QuizView(PlainSink(out, width=width), plain=True)
    view(Judged(question, Judgement("out1_1", "correct", 0.59327, Answer("out1_1", 0.5933, "0.5933", 4)), 1, True))
    view(Judged(question, Judgement("out1_1", "correct", 0.59327, Answer("out1_1", 0.6, "0.6", 1), (), 0.6), 1,
                True))
    assert out.getvalue().strip().splitlines() == ["Correct: 0.5933 (exact out_h1 = 0.59327); carry on with it.",
                                                   "Correct: 0.6, from your values (exact out_h1 = 0.59327)."]


@pytest.mark.parametrize("width", [60, 80])
def test_on_a_terminal_the_optimizer_card_and_image_names(tmp_path, width):
    pytest.importorskip("pexpect")
    from tests.test_quiz_terminal import _session

    out = _session(tmp_path, width, ["quiz", "mazur-adam-2-2-2", "--step", "2", "--only", "m(w7),w7+", "--db",
                                     "p.sqlite3"], ("show", "beta1*m_prev(w7) + (1 - beta1)*dE_total/dw7", "quit"))
    lines = out.split("\n")
    assert not [line for line in lines if len(line) > width]
    assert out.count("m_prev(w7) = -0.00226025") == 4  # the card and the question, each again after show
    assert "Correct: m(w7) = " in out
    out = _session(tmp_path, width, ["quiz", "conv-3x3-2x2", "--db", "p.sqlite3"], ("w_11^1*x_1", "x_1", "quit"))
    assert "Traceback" not in out and out.count("is not a number or a known function") == 2
