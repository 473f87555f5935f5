"""The quiz's and the progress report's terminal side: what is printed, and where answers are read from.

`QuizView` prints the problem, each question and what happened to each answer (the events of
`tutor.teach.quiz`), then the summary; `TerminalReader` prompts on a terminal and `LineReader` reads piped
standard input line by line. `outcome_to_dict` and `report_to_dict` are the `--format json` forms.
Nothing here decides anything about an answer: that is `tutor.teach.quiz` and `tutor.teach.judge`.
"""

from __future__ import annotations

import math
import sys
from typing import IO, Callable

from tutor.errors import plural
from tutor.teach.judge import Tolerance
from tutor.views.layout import NBSP, Column, cell, paragraph, styled_paragraph
from tutor.teach.progress import ProgressReport
from tutor.teach.quiz import (HINT_FORMULA, HINT_NUMBERS, HINT_VALUES, Asked, Event, Help, HintGiven, Invalid, Judged,
                              Question, QuizOutcome, Reply, Revealed, Shown, Skipped, _as_given)
from tutor.views.text import TextView
from tutor.trace.quantity import Term
from tutor.trace.trace import Quantity, Trace

PROMPT = "> "

#: Kinds of quantity in words, for the progress report.
KIND_NAMES = {
    "net": "net inputs", "out": "outputs", "loss": "losses", "dloss_dout": "loss derivatives by output",
    "dout_dnet": "activation derivatives",
    "delta": "deltas", "grad_weight": "weight gradients", "grad_bias": "bias gradients",
    "new_weight": "updated weights", "new_bias": "updated biases",
    "opt_g": "penalised gradients", "opt_v": "velocities and second moments", "opt_d": "Nesterov directions",
    "opt_s": "Adagrad sums", "opt_m": "first moments", "opt_m_hat": "bias-corrected first moments",
    "opt_v_hat": "bias-corrected second moments", "opt_step": "optimizer steps",
    "map_net": "feature-map net inputs", "map_out": "feature-map and pooling outputs",
    "map_dloss_dout": "loss derivatives by feature-map output", "map_dout_dnet": "feature-map activation derivatives",
    "map_delta": "feature-map deltas", "filter_grad": "filter gradients", "filter_bias_grad": "filter bias gradients",
    "dloss_dinput": "input-image gradients", "filter_new": "updated filters", "filter_bias_new": "updated filter biases",
    "graph_value": "gate values", "graph_local": "local gradients", "graph_contribution": "fan-out contributions",
    "graph_grad": "gradients through a graph", "graph_new": "updated graph parameters",
}

STOPPED = {
    "end": "",
    "quit": "Stopped (quit)",
    "eof": "End of input",
    "interrupt": "Interrupted (Ctrl-C)",
    "error": "Ended by an error",  # a session closed after the quiz failed (the progress list shows it)
}

COMMAND_HELP = ("Type a number or an arithmetic expression (0.3*0.1 + 0.2, 1/(1+exp(-0.3775)), tanh(0.5), 2^3; "
                "givens and your own answers by name: {example}), or: hint (the formula, then which of your values "
                "it takes, then with numbers), show (the problem and givens again), skip, reveal (the worked line), "
                "quit.")

#: After a wrong try: what the next hint gives, by the hint level already shown.
NEXT_HINT = {
    0: "Try again, or type hint for the formula (reveal shows the worked line).",
    HINT_FORMULA: "Try again, or type hint for which of your values the formula takes (reveal shows the "
                  "worked line).",
    HINT_VALUES: "Try again, or type hint for the formula with your numbers (reveal shows the worked line).",
}
LAST_TRY = "Try again, or type reveal for the worked line."


def duration(seconds: float) -> str:
    """``12s``, ``3m 05s``, ``1h 02m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def sentence(text: str) -> str:
    """`text` ending in one full stop (none after a question or exclamation mark)."""
    text = text.rstrip()
    return text if text.endswith((".", "?", "!")) else text + "."


def worked_line(q: Quantity, fmt: Callable[[float], str], given: Callable[[float], str] | None = None,
                value: str | None = None) -> str:
    """``out_h1 = sigmoid(net_h1) = sigmoid(0.3775) = 0.59327``; `value`: the result as `solve` prints it."""
    parts = [q.label, q.symbolic()]
    numbers = q.substituted(fmt, given)
    if numbers != parts[-1]:
        parts.append(numbers)
    value = value if value is not None else fmt(q.value)
    if value != parts[-1]:
        parts.append(value)
    return " = ".join(parts)


class QuizView(TextView):
    """Prints a quiz as it happens: an event handler (call it with each event) plus the problem and summary."""

    def __init__(self, sink, digits: int = 6, plain: bool = False, echo: bool = False,
                 conversation: bool = True) -> None:
        super().__init__(sink, digits=digits, plain=plain)
        self.echo_answers = echo  # show each answer read (piped input, sheets), so the transcript reads well
        self.conversation = conversation  # False for an answer sheet: no prompts' help, no values to use
        self.trace: Trace | None = None
        self.hint_level = 0  # the highest hint shown for the current question
        # An answer sheet's questions are printed once their answer is read: a run of blank keys as one line.
        self.held: Asked | None = None
        self.blanks: list[Asked] = []
        self.current: Asked | None = None  # the question being asked, printed again after `show`

    # -- before the questions -----------------------------------------------------------------------

    def optimizer_rows(self, trace: Trace) -> list[list]:
        """The update's givens: the step's rate, the optimizer's options and the state the step starts from."""
        problem, labels = trace.problem, trace.labels
        rate = _entry("eta", self.step_rate(problem))
        if problem.schedule.name != "constant":
            rate += (f" (epoch {problem.epoch} of {problem.schedule.describe()}, "
                     f"{_entry('eta0', self.given(problem.learning_rate))})")
        options = ", ".join(_entry(k, v if isinstance(v, str) else self.given(v))
                            for k, v in problem.optimizer.values.items())
        rows = [[cell("learning rate"), cell(rate)],
                [cell("optimizer"), cell(f"{problem.optimizer.name}, {_entry('step t', problem.first_step)}: "
                                         f"{options}")]]
        for l, state in enumerate(problem.optimizer_state or (), start=1):
            for param, values in state.items():
                for name, array in values.items():
                    shared = problem.layers[l - 1].shared_bias
                    entries = ", ".join(_entry(labels.optimizer_quantity(name + '_prev', l, j, i), self.given(value))
                                        for (j, i), value in _parameter_entries(array, param, shared))
                    rows.append([cell(f"layer {l} {name} ({param})"), cell(entries)])
        return rows

    def problem_card(self, trace: Trace, note: str = "") -> None:
        """The problem's given numbers in its own notation: what the student computes from."""
        problem = trace.problem
        self.trace = trace
        self.given_numbers(trace)
        if getattr(trace, "is_graph", False):  # a computational graph: its inputs and gates
            from tutor.views.graph import GraphSolution

            GraphSolution(self, trace).card(note)
            return
        if problem.images:  # input images: grids of the images, filters, weights and targets
            from tutor.views.image import ImageSolution

            ImageSolution(self, trace).card()
            if note:
                self.note(note)
            return
        self.network(problem)
        labels = trace.labels
        rows = []
        for s in range(problem.samples):
            at = f" (sample {s + 1})" if problem.batch else ""
            inputs = ", ".join(f"{labels.input(i)}{NBSP}={NBSP}{self.given(problem.inputs[s, i - 1])}"
                               for i in range(1, problem.shape[0] + 1))
            rows.append([cell("inputs" + at), cell(inputs)])
            n_out = problem.layers[-1].size
            sample = s + 1 if problem.batch else None
            targets = ", ".join(f"{labels.target(j, sample, len(problem.layers))}{NBSP}={NBSP}"
                                f"{self.given(problem.targets[s, j - 1])}" for j in range(1, n_out + 1))
            rows.append([cell("targets" + at), cell(targets)])
        for l, layer in enumerate(problem.layers, start=1):
            if trace.layer_part(l) is not None:  # a layer kind that gives its own numbers (batch norm, dropout)
                rows += [[cell(f"layer {l} {name}"), cell(text.replace(" ", NBSP))]
                         for name, text in trace.layer_part(l).given_rows(self.given)]
                continue
            weights = ", ".join(f"{labels.weight(l, j, i)} = {self.given(layer.weights[j - 1, i - 1])} "
                                f"({_source(labels, l, i)} -> {labels.neuron(l, j)})".replace(" ", NBSP)
                                for j in range(1, layer.size + 1) for i in range(1, layer.fan_in + 1))
            indices = [None] if layer.shared_bias else range(1, layer.size + 1)
            biases = ", ".join(f"{labels.bias(l, j)}{NBSP}={NBSP}{self.given(layer.biases[0 if j is None else j - 1])}"
                               for j in indices)
            rows.append([cell(f"layer {l} weights"), cell(weights)])
            rows.append([cell(f"layer {l} biases"), cell(biases)])
        rows.append([cell("learning rate"), cell(_entry("eta", self.given(problem.learning_rate)))])
        if not problem.plain_descent:
            rows[-1:] = self.optimizer_rows(trace)
        self.print_table([Column("given"), Column("values", wrap=True)], rows)
        if trace.shown > 1:
            earlier = "the first step" if trace.shown == 2 else f"the first {trace.shown - 1} steps"
            self.note(f"Step {trace.shown} of the run: the parameters{'' if problem.plain_descent else ' and optimizer state'} "
                      f"{earlier} left (as `solve --show-step {trace.shown}` shows).")
        if note:
            self.note(note)

    def intro(self, count: int, tolerance: Tolerance) -> None:
        noun = "question" if count == 1 else "questions"
        self.lines(f"\n{count} {noun}, in the order a worked solution computes them; answers are accepted "
                   f"{tolerance.describe()}.")
        if self.conversation:
            self.note(self.command_help())

    def command_help(self) -> str:
        """What can be typed at the prompt, with a product of names in the problem's own notation."""
        example = "w5*out_h1"
        if getattr(self.trace, "is_graph", False):
            from tutor.views.graph import answer_example

            return COMMAND_HELP.format(example=answer_example(self.trace))
        if self.trace is not None and self.trace.problem.images:  # an image: names from the first formula
            first = [p.symbol for p in self.trace.quantities[0].formula if isinstance(p, Term) and p.key is None]
            example = "*".join(first[:2]) or example
        elif self.trace is not None:
            labels, layers = self.trace.labels, len(self.trace.problem.layers)
            below = labels.out(layers - 1, 1) if layers > 1 else labels.input(1)
            example = f"{labels.weight(layers, 1, 1)}*{below}"
        return COMMAND_HELP.format(example=example)

    # -- events ---------------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if isinstance(event, Asked):
            self.asked(event)
            return
        if isinstance(event, Judged) and event.judgement.verdict == "missing" and not self.conversation:
            self.blank()  # a sheet's blank key: one line with the others around it
            return
        self.catch_up()
        if isinstance(event, Invalid):
            self.lines(f"Not a number: {sentence(event.message)} Type a number or an expression (or help).",
                       self.style("yellow"))
        elif isinstance(event, Judged):
            self.judged(event)
        elif isinstance(event, HintGiven):
            self.hint(event)
        elif isinstance(event, Revealed):
            self.lines("Worked line: " + worked_line(event.question.quantity, self.fmt, self.given,
                                                       self.value_text(event.question.quantity)),
                       self.style("cyan"))
            if event.question.quantity.note:
                self.note("(" + event.question.quantity.note + ")")
        elif isinstance(event, Skipped):
            self.lines("Skipped.", self.style("dim"))
        elif isinstance(event, Help):
            self.note(self.command_help())
        elif isinstance(event, Shown) and self.trace is not None:
            self.sink.write([[]])
            self.problem_card(self.trace)
            if self.current is not None and self.current.question.key == event.question.key:
                self.print_asked(self.current)  # the question again, under the card

    def asked(self, event: Asked) -> None:
        if not self.conversation:  # a sheet: printed with its answer, or among the blank keys
            if self.held is not None:
                self.catch_up()
            self.held = event
            return
        self.print_asked(event)

    def blank(self) -> None:
        """The question held back has no answer on the sheet: it joins the run of blank keys."""
        if self.held is not None:
            self.blanks.append(self.held)
            self.held = None

    def catch_up(self) -> None:
        """Print what a sheet's run held back: the blank keys so far as one line, then the question asked."""
        if self.blanks:
            first, last = self.blanks[0], self.blanks[-1]
            numbers = f"{first.number}" if first is last else f"{first.number}-{last.number}"
            labels = ", ".join(event.question.label for event in self.blanks)
            self.sink.write([[], *styled_paragraph([(f"[{numbers}/{last.total}] left blank: {labels}",
                                                     self.style("yellow"))], self.sink.width, indent="  ")])
            self.blanks = []
        if self.held is not None:
            held, self.held = self.held, None
            self.print_asked(held)

    def print_asked(self, event: Asked) -> None:
        q = event.question
        if self.current is not event:
            self.hint_level = 0
        self.current = event
        pieces = [(f"[{event.number}/{event.total}] ", self.style("dim")), (q.description, self.style("bold")),
                  (f" ({q.label})", self.style("cyan")), (f"  [key{NBSP}{q.key}]", self.style("dim"))]
        self.sink.write([[], *styled_paragraph(pieces, self.sink.width, indent="  ")])
        if self.conversation:
            self.values_line(q)

    def values_line(self, q: Question) -> None:
        """The given numbers the question's formula takes, and computed values it rests on that were not asked."""
        parts = []
        if q.givens:
            parts.append("given " + ", ".join(f"{label}{NBSP}={NBSP}{self.given(value)}" for label, value in q.givens))
        if q.upstream and self.trace is not None:
            earlier = ", ".join(f"{self.trace[k].label}{NBSP}={NBSP}{self.fmt(self.trace[k].value)}"
                                for k in q.upstream)
            parts.append("from earlier steps " + earlier)
        if parts:
            self.sink.write(styled_paragraph([("  " + "; ".join(parts), self.style("dim"))], self.sink.width,
                                             indent="    "))

    def echo(self, text: str) -> None:
        self.catch_up()
        if self.echo_answers:
            self.sink.write([[(PROMPT + text, "")]])

    def judged(self, event: Judged) -> None:
        j, q = event.judgement, event.question
        exact = f"{q.label} = {self.fmt(j.expected)}"
        if j.verdict == "correct" and j.answer.value is not None and self.fmt(j.answer.value) != self.fmt(j.expected):
            yours = _as_given(j.answer)  # one line: later answers are judged by what follows from it
            if j.consistent_value is not None:
                self.lines(f"Correct: {yours}, from your values (exact {exact}).", self.style("green"))
            else:
                self.lines(f"Correct: {yours} (exact {exact}); carry on with it.", self.style("green"))
        elif j.verdict == "correct":
            self.lines(f"Correct: {exact}.", self.style("green"))
        elif j.verdict == "follow_through":
            yours = ", ".join(f"{label} = {value}" for label, value in event.follows) or "earlier answers"
            self.lines(f"Accepted: consistent with your {yours} (with the exact values, {exact}).",
                       self.style("green"))
        elif j.verdict == "missing":
            self.lines("No answer given.", self.style("yellow"))
        elif j.verdict == "invalid":
            self.lines(f"Not a number: {sentence(j.answer.error or '')}", self.style("yellow"))
        else:
            tries = "" if event.tries < 2 else f" ({event.tries} tries)"
            self.lines(f"Not quite{tries}.", self.style("red"))
            if j.diagnosis is not None:
                self.lines(f"Looks like: {j.diagnosis.explanation} [{j.diagnosis.id}]", self.style("yellow"))
                if j.note is not None:
                    self.note(sentence(j.note[:1].upper() + j.note[1:]))
            elif j.note is not None:
                self.lines(f"Right as far as it goes, but {j.note}.", self.style("yellow"))
            if not event.final and self.conversation:
                self.note(NEXT_HINT.get(self.hint_level, LAST_TRY))

    def hint(self, event: HintGiven) -> None:
        q = event.question.quantity
        self.hint_level = max(self.hint_level, event.level)
        if event.level == HINT_FORMULA:
            self.lines(f"Hint: {q.label} = {q.symbolic()}", self.style("cyan"))
            if q.note:
                self.note("(" + q.note + ")")
        elif event.level == HINT_VALUES:
            self.lines("Hint: " + uses_text(event.sources), self.style("cyan"))
            self.note("Type hint again for the formula with these numbers.")
        elif event.level == HINT_NUMBERS:
            numbers = event.student.substituted(self.fmt, self.given)
            self.lines(f"Hint: {q.label} = {q.symbolic()} = {numbers}", self.style("cyan"))
        else:
            self.note("No more hints: type reveal for the worked line, or skip.")

    # -- after the questions -------------------------------------------------------------------------

    def summary(self, outcome: QuizOutcome, saved_to: str | None = None) -> None:
        self.catch_up()
        asked = len(outcome.results)
        stop = STOPPED[outcome.stopped]
        if stop:
            self.lines(f"\n{stop} after {asked} of {outcome.planned} questions.", self.style("yellow"))
        self.heading("Summary")
        percent = f" ({100 * outcome.score / outcome.max_score:.0f}%)" if outcome.max_score else ""
        self.lines(f"{outcome.score} of {outcome.max_score} right{percent} in {duration(outcome.seconds)}."
                   f"{help_counts(outcome)}")
        sections = outcome.by_section()
        if sections:
            verdicts = ["correct", "follow_through", "wrong", "missing"]
            if any(counts["invalid"] for counts in sections.values()):
                verdicts.append("invalid")
            columns = [Column("section"), Column("asked", "right")]
            columns += [Column(v.replace("_", "-"), "right") for v in verdicts] + [Column("score", "right")]
            rows = []
            totals = {v: 0 for v in ("asked", "correct", "follow_through", "wrong", "missing", "invalid")}
            for section, counts in sections.items():
                right = counts["correct"] + counts["follow_through"]
                rows.append([cell(section), cell(str(counts["asked"]))] + [cell(str(counts[v])) for v in verdicts]
                            + [cell(f"{right}/{counts['asked']}")])
                for v in totals:
                    totals[v] += counts[v]
            if len(sections) > 1:
                right = totals["correct"] + totals["follow_through"]
                rows.append([cell(("total", self.style("bold"))), cell(str(totals["asked"]))]
                            + [cell(str(totals[v])) for v in verdicts] + [cell(f"{right}/{totals['asked']}")])
            self.print_table(columns, rows)
        missed = outcome.missed()
        if missed:
            self.heading("Missed")
            for r in missed:
                what = r.verdict + (", revealed" if r.revealed else "") + (", skipped" if r.skipped else "")
                given = f", you gave {r.judgement.answer.text}" if r.judgement.answer.text else ""
                self.lines(f"{r.question.label} [{r.question.key}]: {what}{given}; it is "
                           f"{self.value_text(r.question.quantity)}")  # an update with its change showing
        mistakes = outcome.mistakes()
        if mistakes:
            self.heading("Mistakes diagnosed")
            for mistake, results in mistakes:
                where = ", ".join(r.question.label for r in results)
                self.lines(f"{mistake.id} ({where}): {mistake.explanation}")
        if saved_to:  # wrapped at spaces only: the path stays whole, to be copied
            self.sink.write([[], *paragraph(f"Progress saved to {saved_to} (see `backprop-tutor progress`).",
                                            self.sink.width, self.style("dim"))])

    # -- the progress report --------------------------------------------------------------------------

    def progress(self, report: ProgressReport) -> None:
        if not report.answers:
            self.lines(f"No answers saved yet in {report.db}: practise with `backprop-tutor quiz`.")
            return
        self.lines(f"{plural(report.answers, 'answer')} in {plural(report.session_count, 'session')} ({report.db})",
                   self.style("bold"))
        self.heading("Recent sessions")
        rows = []
        for s in report.sessions:
            stopped = "" if s.stopped in (None, "end") else STOPPED.get(s.stopped, s.stopped).lower()
            asked = s.questions if s.mode == "sheet" else s.answered  # a sheet's blank keys count, as in its summary
            rows.append([cell(s.started.replace("T", " ").rstrip("Z")), cell(s.problem), cell(s.mode),
                         cell(f"{s.right}/{asked}"), cell(str(s.hinted)), cell(str(s.retried)),
                         cell(stopped or ("finished" if s.finished else ""))])
        self.print_table([Column("started (UTC)"), Column("problem", wrap=True), Column("mode"),
                          Column("right", "right"), Column("hints", "right"), Column("retried", "right"),
                          Column("ended")], rows)
        self.heading("Accuracy by kind of quantity")
        rows = []
        for k in report.kinds:
            due = "due now" if k.state.due else f"in {plural(2 ** k.state.box - 1 - k.state.sessions_since, 'session')}"
            rows.append([cell(k.kind), cell(KIND_NAMES.get(k.kind, k.kind)), cell(str(k.answered)),
                         cell(f"{100 * k.accuracy:.0f}%"), cell(f"{100 * (1 - k.state.error):.0f}%"), cell(due)])
        self.print_table([Column("kind"), Column("what"), Column("answered", "right"), Column("accuracy", "right"),
                          Column("recently", "right"), Column("review")], rows)
        if report.weakest:
            self.heading("Weakest kinds")
            by_kind = {k.kind: k for k in report.kinds}
            for kind in report.weakest:
                stats = by_kind[kind]
                often = f"; often {stats.common_mistake}" if stats.common_mistake else ""
                self.lines(f"{kind} ({KIND_NAMES.get(kind, kind)}): {stats.right} of {stats.answered} right{often}")
            self.note("Practise them with `backprop-tutor quiz --review`.")
        if report.mistakes:
            self.heading("Mistakes diagnosed")
            for mistake, count in report.mistakes:
                self.lines(f"{mistake}: {count}")


def uses_text(sources) -> str:
    """Which values a formula takes and where each comes from: "use your net_h1 (question 1) and the given w5"."""
    groups: dict[str, list[str]] = {}
    for label, source, number in sources:
        where = "" if number is None or source == "given" else \
            f" (question {number}, not answered: what follows from your other values)" if source == "computed" \
            else f" (question {number})"
        groups.setdefault(source, []).append(label + where)
    words = {"yours": "your", "revealed": "the revealed", "computed": "", "shown": "the shown", "given": "the given"}
    parts = [f"{words[source]} {_and(items)}".strip() for source, items in groups.items()]
    if set(groups) == {"given"}:
        return f"it takes only given numbers: {_and(groups['given'])} (type show to see them all)."
    return f"use {_and(parts)}."


def help_counts(outcome: QuizOutcome) -> str:
    """`` Help: 2 answers after hints, 1 at a second try.`` (nothing when no answer needed either)."""
    hinted = sum(1 for r in outcome.results if r.hints)
    retried = sum(1 for r in outcome.results if r.tries > 1)
    parts = [f"{plural(hinted, 'answer')} after hints" if hinted else "",
             f"{hinted and retried or plural(retried, 'answer')} at a second try" if retried else ""]
    parts = [p for p in parts if p]
    return f" Help: {', '.join(parts)}." if parts else ""


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _source(labels, layer: int, i: int) -> str:
    """Where a weight's connection starts: an input, or a neuron of the layer below."""
    return labels.input(i) if layer == 1 else labels.neuron(layer - 1, i)


# -- reading answers ---------------------------------------------------------------------------------


class TerminalReader:
    """Prompts on a terminal (with line editing where readline exists); None at end of input (Ctrl-D)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:  # pragma: no cover - not on every platform
            pass

    def __call__(self, question: Question) -> Reply:
        self.stream.flush()
        try:
            if self.stream is sys.stdout:
                return input(PROMPT)
            self.stream.write(PROMPT)  # input() would prompt on standard output
            self.stream.flush()
            return input()
        except EOFError:
            return None


class LineReader:
    """Reads one answer per line from a stream that is not a terminal; None at end of input."""

    def __init__(self, stream: IO[str], view: QuizView | None = None) -> None:
        self.stream = stream
        self.view = view

    def __call__(self, question: Question) -> Reply:
        line = self.stream.readline()
        if not line:
            return None
        text = line.rstrip("\r\n")
        if self.view is not None:
            self.view.echo(text)
        return text


def echoing(read: Callable[[Question], Reply], view: QuizView) -> Callable[[Question], Reply]:
    """`read`, showing each answer it gives (for answer sheets)."""

    def wrapped(question: Question) -> Reply:
        reply = read(question)
        if reply is not None and not isinstance(reply, str):
            if reply.text is not None:  # a blank key is listed with the others left blank
                view.echo(reply.text)
        return reply

    return wrapped


# -- JSON ------------------------------------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def outcome_to_dict(outcome: QuizOutcome, trace: Trace, tolerance: Tolerance, extra: dict | None = None) -> dict:
    """The `--format json` output of a quiz: results, score and max_score, and how the quiz went."""
    problem = trace.problem
    results = []
    for r in outcome.results:
        j = r.judgement
        results.append({
            "key": r.question.key,
            "label": r.question.label,
            "kind": r.question.kind,
            "section": r.question.section,
            "answer": _number(j.answer.value),
            "text": j.answer.text,
            "verdict": j.verdict,
            "diagnosis": j.diagnosis.id if j.diagnosis else None,
            "diagnoses": [m.id for m in r.diagnoses],
            "note": j.note,
            "expected": j.expected,
            "follows_from": list(j.follows_from),
            "error": j.answer.error,
            "tries": r.tries,
            "hints": r.hints,
            "revealed": r.revealed,
        })
    return {
        "problem": {"name": problem.name, "path": problem.path, "hash": problem.content_hash, **(extra or {})},
        "results": results,
        "score": outcome.score,
        "max_score": outcome.max_score,
        "questions": outcome.planned,
        "stopped": outcome.stopped,
        "seconds": round(outcome.seconds, 3),
        "tolerance": {"mode": tolerance.mode, "relative": tolerance.relative, "absolute": tolerance.absolute,
                      "min_figures": tolerance.min_figures, "decimals": tolerance.decimals},
        "sections": outcome.by_section(),
        "mistakes": [{"id": m.id, "explanation": m.explanation, "keys": [r.question.key for r in rs]}
                     for m, rs in outcome.mistakes()],
    }


def report_to_dict(report: ProgressReport) -> dict:
    """The `progress --format json` output."""
    return {
        "db": report.db,
        "answers": report.answers,
        "session_count": report.session_count,
        "sessions": [{"id": s.id, "started": s.started, "finished": s.finished, "problem": s.problem,
                      "problem_hash": s.problem_hash, "mode": s.mode, "questions": s.questions,
                      "answered": s.answered, "right": s.right, "hinted": s.hinted, "retried": s.retried,
                      "stopped": s.stopped} for s in report.sessions],
        "kinds": [{"kind": k.kind, "answered": k.answered, "right": k.right, "accuracy": k.accuracy,
                   "recent_error": k.state.error, "box": k.state.box, "due": k.state.due,
                   "common_mistake": k.common_mistake} for k in report.kinds],
        "weakest": report.weakest,
        "mistakes": [{"id": m, "count": n} for m, n in report.mistakes],
    }


def _entry(name: str, value: object) -> str:
    """``name = value`` that a wrapped line never splits (a name stays beside its value)."""
    return f"{name} = {value}".replace(" ", NBSP)


def _parameter_entries(array, param: str, shared: bool):
    """((j, i), value) for each entry of a parameter's array: i is None for a bias, j too for a shared one."""
    if param == "weights":
        return [((j, i), v) for j, row in enumerate(array.tolist(), start=1) for i, v in enumerate(row, start=1)]
    return [((None if shared else j, None), v) for j, v in enumerate(array.tolist(), start=1)]
