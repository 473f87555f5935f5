"""The `quiz` and `progress` commands put together: problem, questions, reader, view, progress database.

`tutor.cli.app` parses the options and calls `run_quiz` / `run_progress`; the session itself is
`tutor.teach.quiz`, its output `tutor.views.quiz` and the database `tutor.teach.progress`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from tutor.errors import UserError

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


@dataclass(frozen=True)
class QuizOptions:
    problem: str | None = None
    seed: int | None = None
    shape: str | None = None
    activation: str | None = None
    loss: str | None = None
    allow_saturated: bool = False
    focus: str = "all"
    only: str | None = None
    limit: int | None = None
    review: bool = False
    answers: str | None = None
    output: str = "text"  # text, plain or json
    db: str | None = None
    #: None: the problem's `grading:` section, else the judge's default (as for `grade`).
    tolerance_mode: str | None = None
    relative: float | None = None
    absolute: float | None = None
    min_figures: int | None = None
    decimals: int | None = None  # every answer judged to this many decimal places
    step: int | None = None  # step K of the run instead of the first (as `solve --show-step K`)


def load_trace(options: QuizOptions):
    """The trace to quiz on, a note about where the problem came from, and extra JSON fields."""
    from tutor.solver import open_problem

    generator = {"--seed": options.seed, "--shape": options.shape, "--activation": options.activation,
                 "--loss": options.loss, "--allow-saturated": options.allow_saturated or None}
    if options.problem is not None:
        given = [name for name, value in generator.items() if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for generated problems; "
                            "give either a PROBLEM file or these options, not both")
        return open_problem(options.problem, options.step), "", {}
    import secrets

    from tutor.problem.generate import generate_problem, parse_shape
    from tutor.problem.loader import parse_problem

    seed = secrets.randbelow(1_000_000) if options.seed is None else options.seed
    text = generate_problem(seed, parse_shape(options.shape or "2-2-2"), options.activation or "sigmoid",
                            options.loss or "half_sse", allow_saturated=options.allow_saturated)
    problem = parse_problem(text, source=f"<generated, seed {seed}>")
    note = (f"A generated problem: `--seed {seed}` gives it again, and `backprop-tutor new --seed {seed}` "
            "(with the same options) writes it to a file.")
    return open_problem(problem, options.step), note, {"seed": seed, "generated": True}


def run_quiz(options: QuizOptions) -> int:
    """Run a quiz; returns the exit code (0, or 130 after Ctrl-C)."""
    from tutor.teach.grader import problem_title, settings_for
    from tutor.teach.judge import Judge
    from tutor.trace.keys import KINDS, split_keys
    from tutor.views.output import make_sink
    from tutor.teach.progress import PendingSessionLog, ProgressStore, default_db_path
    from tutor.teach.quiz import QuizSession, select_questions, sheet_reader
    from tutor.views.quiz import LineReader, QuizView, TerminalReader, echoing, outcome_to_dict

    trace, note, extra = load_trace(options)
    tolerance = settings_for(trace.problem, mode=options.tolerance_mode, relative=options.relative,
                             absolute=options.absolute, min_figures=options.min_figures,
                             decimals=options.decimals).tolerance
    judge = Judge(trace, tolerance)
    only = split_keys(options.only)
    path = options.db or default_db_path()
    store = ProgressStore.open(path)
    try:
        states = store.review_states(KINDS) if options.review else None
        questions = select_questions(trace, focus=options.focus, only=only, limit=options.limit, review=states)
        if not questions:
            raise UserError("no questions to ask: the problem has no quantities of this --focus among --only")

        json_output = options.output == "json"
        interactive = options.answers is None and _is_terminal(sys.stdin)
        # JSON goes to standard output; the conversation, when there is one, to standard error.
        stream = sys.stderr if json_output else sys.stdout
        show = not json_output or interactive
        view = QuizView(make_sink(stream, plain=options.output == "plain"), plain=options.output != "text",
                        echo=not interactive, conversation=options.answers is None)
        given = {}
        if options.answers is not None:
            from tutor.problem.yaml_safe import read_text
            from tutor.teach.sheets import SHEET_MAX_BYTES, SheetReader, read_sheet

            text = read_text(options.answers, max_bytes=SHEET_MAX_BYTES, what="answer sheet")
            sheet = read_sheet(SheetReader(trace), text, options.answers)
            for problem in sheet.problems:
                print(f"warning: {options.answers}: {problem}", file=sys.stderr)
            given = sheet.answers
            read = echoing(sheet_reader(sheet.answers), view) if show else sheet_reader(sheet.answers)
            mode = "sheet"
        elif interactive:
            read, mode = TerminalReader(stream), "terminal"
        else:
            read, mode = LineReader(sys.stdin, view if show else None), "stdin"

        if show:
            view.problem_card(trace, note)
            if states is not None:
                if not any(state.practised for state in states.values()):
                    view.note("Nothing to review yet: no saved answers, so every kind is asked.")
                else:
                    kinds = ", ".join(dict.fromkeys(q.kind for q in questions))
                    view.note(f"Review: {kinds} (due kinds first, the ones you get wrong most first).")
            view.intro(len(questions), tolerance)
        # the session joins the history with its first saved answer: an empty run (end of input, quit at
        # once, a sheet without a number) saves nothing
        log = PendingSessionLog(store, problem_title(trace), trace.problem.content_hash, mode, len(questions))
        session = QuizSession(judge, questions, view if show else _ignore, log,
                              max_tries=1 if options.answers is not None else 2, given=given)
        try:
            outcome = session.run(read)
            log.finish(outcome.stopped)
        finally:
            log.finish("error")  # a run that failed is closed too, never left in progress
        saved_to = str(path) if log.started else None
        if show:
            if outcome.stopped == "interrupt" and interactive:
                stream.write("\n")
            view.summary(outcome, saved_to=saved_to)
            if saved_to is None:
                view.note("The sheet has no answers: nothing was saved." if mode == "sheet"
                          else "No answers: nothing was saved.")
        if json_output:
            sys.stdout.write(json.dumps(outcome_to_dict(outcome, trace, tolerance, extra)) + "\n")
        return INTERRUPTED if outcome.stopped == "interrupt" else 0
    finally:
        store.close()


def run_progress(db: str | None, output: str, sessions: int) -> None:
    """Print the progress report."""
    from tutor.views.output import make_sink
    from tutor.teach.progress import ProgressReport, ProgressStore, default_db_path
    from tutor.views.quiz import QuizView, report_to_dict

    path = db or default_db_path()
    store = ProgressStore.open_existing(path)
    try:
        report = store.report(sessions) if store is not None else ProgressReport(str(path), 0, 0, [], [], [])
    finally:
        if store is not None:
            store.close()
    if output == "json":
        sys.stdout.write(json.dumps(report_to_dict(report)) + "\n")
        return
    QuizView(make_sink(sys.stdout, plain=output == "plain"), plain=output != "text").progress(report)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _ignore(event: object) -> None:
    pass
