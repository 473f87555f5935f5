"""The `backprop-tutor` command: a thin typer layer over the library.

Every user mistake ends as one line on stderr and exit code 2. The engine and numpy are imported
inside the commands, so `--help` and `--version` start fast. Annotations are real objects here, not
strings (no `from __future__ import annotations`): typer reads every command's annotations at each
start, and evaluating them from strings costs about 10 ms.
"""

import sys
from enum import Enum
from typing import Annotated, Any, Callable, NoReturn, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from tutor import __version__
from tutor.cli.options import (HELP_OPTIONS, OptionValueError, choice_option, command_line_mistake, number_option,
                               whole_number_option)
from tutor.model.activations import ACTIVATIONS, hidden_activations  # light: numpy is imported on first use
from tutor.model.losses import LOSSES


try:  # every error the command-line parser raises derives from typer's public base class...
    from typer import TyperException as _ParserError
except ImportError:  # ...or, in older typer releases (which depend on click), from click's
    from click import ClickException as _ParserError  # type: ignore[assignment]


class _Group(TyperGroup):
    """The command group: a mistake on the command line is one line on stderr (exit code 2), not a box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        words = sys.argv[1:] if args is None else list(args)
        try:
            code = super().main(words or ["--help"], prog_name, complete_var, False, **extra)  # no words: the help
        except OptionValueError as exc:
            _refuse(str(exc))
        except _ParserError:
            _refuse(command_line_mistake(self, words, self.name or "backprop-tutor"))
        except typer.Abort:
            typer.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


class _Command(TyperCommand):
    """A command whose usage line names its arguments plainly: `PROBLEM`, as in its help, not `{PROBLEM}`."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [_unbraced(piece) for piece in super().collect_usage_pieces(ctx)]

    def get_short_help_str(self, limit: int = 45) -> str:
        """The command's line in `--help`: its `short_help` (a short sentence), else its help's first sentence,
        whole (click would cut it at `limit` with "...")."""
        if self.short_help:
            return super().get_short_help_str(limit)
        text = " ".join((self.help or "").split())
        end = text.find(". ")
        return text if end < 0 else text[:end + 1]


def _unbraced(piece: str) -> str:
    """A required argument's metavar without the braces some typer releases put around it."""
    return piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece


def _refuse(message: str) -> NoReturn:
    """End with a command-line mistake: one line on stderr, exit code 2."""
    typer.echo(f"error: {message}", err=True)
    sys.exit(2)


app = typer.Typer(
    name="backprop-tutor",
    cls=_Group,
    rich_markup_mode=None,  # click's plain help: every option's full name, at any width
    help="Step-by-step backpropagation for small neural networks: every net input, activation, "
         "chain-rule factor, delta, gradient and weight update of a problem file, always right.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_OPTIONS},
)


class OutputFormat(str, Enum):
    text = "text"
    plain = "plain"
    json = "json"


class SolveFormat(str, Enum):
    """`solve`'s formats: the terminal's, and the documents a course publishes (tutor/views/document)."""

    text = "text"
    plain = "plain"
    json = "json"
    markdown = "markdown"
    latex = "latex"
    html = "html"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"backprop-tutor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[Optional[bool], typer.Option(
        "--version", help="Show the version and exit.", callback=_version, is_eager=True)] = None,
) -> None:
    """Step-by-step backpropagation for small neural networks."""


def _run(action: Callable[[], None]) -> None:
    """Run a command body; a user mistake becomes one message on stderr and exit code 2."""
    from tutor.errors import UserError

    try:
        action()
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def _write_or_print(text: str, output: str | None, force: bool) -> bool:
    """Write `text` to `output` (never over an existing file unless `force`), or print it; True if written."""
    from tutor.errors import UserError

    if output is None:
        typer.echo(text, nl=False)
        return False
    try:
        with open(output, "w" if force else "x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise UserError(f"{output} already exists; use --force to overwrite it") from None
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    return True


#: Step K of a run instead of the first: `solve --show-step K`, and `--step K` of the commands that judge answers.
STEP_HELP = ("step K of the run instead of the first, with the parameters and optimizer state the earlier steps "
             "left")


def step_option(name: str, help_text: str) -> Any:
    """The option that opens the problem at step K (`tutor.solver.open_problem`)."""
    return Annotated[Optional[int], whole_number_option(name, minimum=1, metavar="K", help=help_text)]


ShowStepOption = step_option("--show-step", f"Show {STEP_HELP}, in full (K is at most --steps; alone it runs K "
                                            "steps).")
StepOption = step_option("--step", f"Use the quantities of {STEP_HELP} (as `solve --show-step K`).")


@app.command(cls=_Command, short_help="Show one step of PROBLEM, number by number.")
def solve(
    problem: Annotated[str, typer.Argument(
        metavar="PROBLEM",
        help="A problem file (YAML), or the name of a bundled problem such as mazur-2-2-2 (see `list`).",
        show_default=False)],
    only: Annotated[Optional[str], typer.Option(
        "--only", metavar="KEY[,KEY...]",
        help="Show only the derivation of these quantities (keys such as new_w1_1_1, or the problem's own "
             "labels such as w5+), each with its full chain and, for a weight, its path-sum.")] = None,
    digits: Annotated[int, whole_number_option(
        "--digits", metavar="N", minimum=1, maximum=17,
        help="Significant digits shown (JSON is always full precision).")] = 6,
    output: Annotated[SolveFormat, choice_option(
        "--format", "-f", help="text: tables (coloured on a terminal); plain: ASCII tables, no colour; "
                               "json: the whole trace for programs; markdown, latex, html: the worked solution "
                               "as a document to publish (label = formula = numbers = value, by section).",
        choices=SolveFormat)] = SolveFormat.text,
    output_file: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the output to FILE instead of standard output.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite FILE if it exists.")] = False,
    steps: Annotated[Optional[int], whole_number_option(
        "--steps", metavar="N", minimum=1, help="Run this many gradient-descent steps: the loss history, and the full "
                               "trace of the first step.")] = None,
    show_step: ShowStepOption = None,
    every: Annotated[Optional[int], whole_number_option(
        "--every", metavar="K", minimum=1, help="With --steps: show the loss after every K-th update (and the "
                                            "last), instead of the first and last few.")] = None,
) -> None:
    """Compute and show every number of one forward and backward pass of PROBLEM."""

    def action() -> None:
        from tutor.errors import UserError
        from tutor.solver import open_problem
        from tutor.trace.keys import split_keys

        if every is not None and steps is None:
            raise UserError("--every needs --steps: the loss history is only computed over several steps")
        keys = split_keys(only)
        trace = open_problem(problem, show_step, steps)
        for key in keys:
            trace.resolve(key)  # report a wrong key before printing anything
        if output in (SolveFormat.markdown, SolveFormat.latex, SolveFormat.html):
            from tutor.views.document import render

            if _write_or_print(render(trace, output.value, keys, digits), output_file, force):
                typer.echo(f"wrote {output_file}")
            return
        if output is SolveFormat.json:
            from tutor.views.json import trace_to_dict, write_trace_json

            history = steps is not None or show_step is not None
            if keys:
                import json

                wanted = {trace.resolve(k) for k in keys}
                typer.echo(json.dumps(trace_to_dict(trace, include_history=history, keys=wanted)))
            else:
                write_trace_json(trace, sys.stdout, include_history=history)
            return
        from tutor.views.output import make_sink
        from tutor.views.text import TextView

        plain = output is SolveFormat.plain
        view = TextView(make_sink(sys.stdout, plain=plain), digits=digits, plain=plain)
        if keys:
            view.derivations(trace, keys)
            view.loss_history(trace, every)
        else:
            view.solution(trace, every)

    documents = (SolveFormat.markdown, SolveFormat.latex, SolveFormat.html)
    _run(action if output_file is None or output in documents else lambda: _write_captured(action, output_file, force))


def _write_captured(show: Callable[[], None], output_file: str, force: bool) -> None:
    """What `show` prints to standard output, written to `output_file` instead."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        show()
    if _write_or_print(buffer.getvalue(), output_file, force):
        typer.echo(f"wrote {output_file}")


class GradeFormat(str, Enum):
    text = "text"
    plain = "plain"
    json = "json"
    gradescope = "gradescope"


class PictureFormat(str, Enum):
    svg = "svg"
    png = "png"


@app.command(cls=_Command, short_help="Draw PROBLEM as an SVG or PNG picture.")
def draw(
    problem: Annotated[str, typer.Argument(
        metavar="PROBLEM", help="A problem file (YAML), or the name of a bundled problem.", show_default=False)],
    output_file: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the picture to FILE (needed for png; svg goes to standard "
                                               "output without it).")] = None,
    picture: Annotated[PictureFormat, choice_option(
        "--format", "-f", help="svg: written directly, no dependency; png: drawn by matplotlib.",
        choices=PictureFormat)] = PictureFormat.svg,
    backward: Annotated[bool, typer.Option(
        "--backward", help="Also show each neuron's delta and each weight's gradient (a graph: the gradient "
                           "along each wire).")] = False,
    sample: Annotated[int, whole_number_option(
        "--sample", metavar="S", minimum=1, help="For a batch: the sample whose values are shown.")] = 1,
    digits: Annotated[int, whole_number_option(
        "--digits", metavar="N", minimum=1, maximum=17, help="Significant digits of computed values.")] = 4,
    show_step: ShowStepOption = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Draw PROBLEM: a network's neurons with their net inputs and outputs and its weights on their edges, or a
    graph's circuit with the value on each wire (SVG or PNG)."""

    def action() -> None:
        from tutor.errors import UserError
        from tutor.solver import open_problem
        from tutor.views.svg import draw_scene, to_png, to_svg

        scene = draw_scene(open_problem(problem, show_step), backward, sample, digits)
        if picture is PictureFormat.svg:
            if _write_or_print(to_svg(scene), output_file, force):
                typer.echo(f"wrote {output_file}")
            return
        if output_file is None:
            raise UserError("--format png needs --output FILE (a picture is not written to a terminal)")
        try:
            import matplotlib  # noqa: F401  (the plot extra)
        except ImportError:
            raise UserError("--format png needs matplotlib (pip install 'backprop-tutor[plot]'); --format svg "
                            "needs nothing") from None
        _write_bytes(to_png(scene), output_file, force)
        typer.echo(f"wrote {output_file}")

    _run(action)


@app.command(cls=_Command, short_help="Validate problem files.")
def check(
    problems: Annotated[list[str], typer.Argument(
        metavar="PROBLEM...", help="Problem files (or bundled problem names) to validate.", show_default=False)],
) -> None:
    """Validate problem files and print each network's shape; exit code 2 if any is invalid."""

    def action() -> None:
        from tutor.problem.bundled import find_problem
        from tutor.errors import UserError
        from tutor.problem.loader import load_problem
        from tutor.solver import check as check_problem
        from tutor.views.layout import wrapped
        from tutor.views.output import output_width

        failed = 0
        for name in problems:
            try:
                problem_ = load_problem(find_problem(name))
                check_problem(problem_)
                for line in wrapped(f"{name}: ok, {problem_.summary()}", output_width(sys.stdout)):
                    typer.echo(line)
            except UserError as exc:
                failed += 1
                typer.echo(f"error: {exc}", err=True)
        if failed:
            typer.echo(f"{failed} of {len(problems)} problem files are invalid", err=True)
            raise typer.Exit(2)

    _run(action)


@app.command(cls=_Command, short_help="List the bundled problems.", name="list")
def list_problems() -> None:
    """List the bundled problems, each with a one-line description."""

    def action() -> None:
        from tutor.problem.bundled import bundled_problems
        from tutor.problem.loader import load_problem
        from tutor.views.layout import listing
        from tutor.views.output import output_width

        paths = bundled_problems()
        rows = [(path.stem, problem.shape_text, problem.description or problem.name)
                for path, problem in ((path, load_problem(path)) for path in paths)]
        for line in listing(rows, output_width(sys.stdout)):
            typer.echo(line)

    _run(action)


# --- `new`: generated practice problems (tutor/problem/generate.py) ---------------------------------------
@app.command(cls=_Command, short_help="Write a fresh practice problem.",
             epilog=f"Activations: {ACTIVATIONS.described()}.\n\nLosses: {LOSSES.described()}.")
def new(
    seed: Annotated[Optional[int], whole_number_option(
        "--seed", metavar="N", help="Seed of the random numbers: the same seed and options always give the same "
                                    "problem (default: a random seed, recorded in the file).")] = None,
    shape: Annotated[str, typer.Option(
        "--shape", metavar="N-N[-N...]", help="Inputs, then the neurons of each layer up to the outputs: 2 to 6 "
                                              "numbers, each 1 to 10.")] = "2-2-2",
    activation: Annotated[str, typer.Option(
        "--activation", metavar="NAME",
        help=f"Activation of the hidden layers: {ACTIVATIONS.help_text(hidden_activations())}."
    )] = "sigmoid",
    loss: Annotated[str, typer.Option(
        "--loss", metavar="NAME", help=f"{LOSSES.help_text()}.")] = "half_sse",
    output_activation: Annotated[Optional[str], typer.Option(
        "--output-activation", metavar="NAME", help="Activation of the output layer (default: sigmoid; softmax "
                                                    "with a class label for cross_entropy).")] = None,
    learning_rate: Annotated[Optional[float], number_option(
        "--learning-rate", metavar="X",
        help="The learning rate (default: 0.1, 0.25 or 0.5, chosen by the seed).")] = None,
    allow_saturated: Annotated[bool, typer.Option(
        "--allow-saturated", help="Skip the checks that no sigmoid or tanh neuron is saturated and no ReLU is "
                                  "dead or at its kink.")] = False,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the problem to FILE instead of standard output.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite FILE if it exists.")] = False,
    graph: Annotated[bool, typer.Option(
        "--graph", help="A computational graph instead of a network: a short expression of gates (a nonlinearity "
                        "and a value used twice) to backpropagate through by hand.")] = False,
) -> None:
    """Write a fresh practice problem with nice numbers, to a file or to standard output.

    Instructors can give every student their own variant (say --seed STUDENT_NUMBER) and regenerate it later.
    """

    def action() -> None:
        import secrets

        from tutor.problem.generate import generate_problem, parse_shape

        used_seed = secrets.randbelow(1_000_000) if seed is None else seed
        if graph:
            from tutor.errors import UserError
            from tutor.problem.generate_graph import generate_graph

            network = [name for name, given in (("--shape", shape != "2-2-2"), ("--activation", activation != "sigmoid"),
                                                ("--loss", loss != "half_sse"),
                                                ("--output-activation", output_activation is not None),
                                                ("--learning-rate", learning_rate is not None),
                                                ("--allow-saturated", allow_saturated)) if given]
            if network:
                raise UserError(f"{', '.join(network)} {'is' if len(network) == 1 else 'are'} for networks; --graph "
                                "makes a computational graph")
            text = generate_graph(used_seed)
        else:
            text = generate_problem(used_seed, parse_shape(shape), activation, loss, output_activation,
                                    learning_rate, allow_saturated)
        if _write_or_print(text, output, force):
            typer.echo(f"wrote {output} (seed {used_seed})")

    _run(action)


# --- `grade` and `template`: grading answer sheets (tutor/teach/grader.py, tutor/teach/gradebook.py) ---------------
class ToleranceMode(str, Enum):
    """The modes of `tutor.problem.validated.TOLERANCE_MODES` (spelled out: numpy stays out of start-up)."""

    precision = "precision"
    either = "either"
    relative = "relative"
    absolute = "absolute"


#: How answers are judged: the same options for `grade` and `quiz` (None: the problem's grading section).
ToleranceModeOption = Annotated[Optional[ToleranceMode], choice_option(
    "--tolerance-mode", help="precision: at the precision the answer is written; either: within --relative or "
                             "--absolute; relative or absolute: only that one. Default: the problem's grading "
                             "section, else precision.", show_default=False, choices=ToleranceMode)]
RelativeOption = Annotated[Optional[float], number_option(
    "--relative", metavar="X", minimum=0, help="Relative tolerance, 0.01 is 1% (default: the problem's, else 0.01).")]
AbsoluteOption = Annotated[Optional[float], number_option(
    "--absolute", metavar="X", minimum=0, help="Absolute tolerance (default: the problem's, else 0.0005).")]
MinFiguresOption = Annotated[Optional[int], whole_number_option(
    "--min-figures", metavar="N", minimum=1, maximum=15,
    help="Fewest significant figures an answer needs (default: the problem's, else 2).")]
DecimalsOption = Annotated[Optional[int], whole_number_option(
    "--decimals", metavar="N", minimum=0, maximum=15,
    help="Judge every answer to N decimal places (right when the true value rounds to it; no minimum of "
         "figures), instead of at the precision written (default: the problem's grading section).")]


@app.command(cls=_Command, short_help="Grade answer sheets against the engine.")
def grade(
    problem: Annotated[str, typer.Argument(
        metavar="PROBLEM", help="The problem file (or bundled problem name) the sheets answer.",
        show_default=False)],
    sheets: Annotated[str, typer.Argument(
        metavar="SHEET_OR_FOLDER", help="An answer sheet (YAML: key or label -> number), or a folder of them: "
                                        "every *.yaml and *.yml file in it, one per student.", show_default=False)],
    out: Annotated[Optional[str], typer.Option(
        "--out", metavar="DIR", help="Write gradebook.csv and one Markdown feedback file per student into DIR "
                                     "(created if needed; nothing is written outside it).")] = None,
    output: Annotated[GradeFormat, choice_option(
        "--format", "-f", help="text: a table per sheet (coloured on a terminal), or a line per student for a "
                               "folder; plain: no colour; json: results for programs; gradescope: one sheet's "
                               "results.json for Gradescope's autograder.",
        choices=GradeFormat)] = GradeFormat.text,
    digits: Annotated[int, whole_number_option(
        "--digits", metavar="N", minimum=1, maximum=17,
        help="Significant digits shown (JSON is always full precision).")] = 6,
    tolerance_mode: ToleranceModeOption = None,
    relative: RelativeOption = None,
    absolute: AbsoluteOption = None,
    min_figures: MinFiguresOption = None,
    decimals: DecimalsOption = None,
    score_work: Annotated[Optional[bool], typer.Option(
        "--score-work", help="Values written but not asked earn points too (default: the problem's grading "
                             "section; else they are judged and shown, without points).",
        show_default=False)] = None,
    follow_through_credit: Annotated[Optional[float], number_option(
        "--follow-through-credit", metavar="X", minimum=0, maximum=1,
        help="Share of a key's points a follow-through earns (default: the problem's, else 1).")] = None,
    only: Annotated[Optional[str], typer.Option(
        "--only", metavar="KEY[,KEY...]", help="Grade only these of the asked quantities (keys or labels); the "
                                               "sheet's other values still count for follow-through.")] = None,
    reveal: Annotated[bool, typer.Option(
        "--reveal", help="Show the expected values in the students' feedback files.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite the results already in --out DIR.")] = False,
    step: StepOption = None,
    long: Annotated[bool, typer.Option(
        "--long", help="The gradebook's long form: a CSV row per student and key (student, key, given, expected, "
                       "verdict, diagnosis, points), printed, or with --out written as gradebook-long.csv.")] = False,
) -> None:
    """Grade an answer sheet, or a folder of them, against the engine: verdicts, diagnoses and points.

    PROBLEM may be an assignment folder (from `assign`): each sheet is then graded against its own student's
    variant, found by the sheet's id: line or its file name (<id>.yaml).
    """

    def action() -> None:
        from tutor.teach.assign import is_assignment

        if is_assignment(problem) or long or output is GradeFormat.gradescope:
            from tutor.teach.batch import Judging, grade_assignment, grade_problem, report

            judging = Judging(tolerance_mode.value if tolerance_mode else None, relative, absolute,
                              follow_through_credit, min_figures, only, step, decimals, score_work)
            graded = (grade_assignment(problem, sheets, judging) if is_assignment(problem)
                      else grade_problem(problem, sheets, judging))
            report(graded, out=out, output=output.value, digits=digits, reveal=reveal, long=long, force=force)
            return
        from tutor.teach.gradebook import grade_command

        grade_command(problem, sheets, out=out, output=output.value, digits=digits,
                      mode=tolerance_mode.value if tolerance_mode else None, relative=relative, absolute=absolute,
                      follow_through_credit=follow_through_credit, reveal=reveal, min_figures=min_figures,
                      only=only, step=step, decimals=decimals, score_work=score_work, force=force)

    _run(action)


@app.command(cls=_Command, short_help="Write a blank answer sheet for PROBLEM.")
def template(
    problem: Annotated[str, typer.Argument(
        metavar="PROBLEM", help="The problem file (or bundled problem name).", show_default=False)],
    only: Annotated[Optional[str], typer.Option(
        "--only", metavar="KEY[,KEY...]", help="Only these of the asked quantities (keys or labels).")] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the sheet to FILE instead of standard output.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite FILE if it exists.")] = False,
    step: StepOption = None,
) -> None:
    """Write a blank answer sheet for PROBLEM: each asked key, with its label and what it is."""

    def action() -> None:
        from tutor.teach.grader import asked_quantities, in_ask_order, select, template_text
        from tutor.trace.keys import split_keys
        from tutor.solver import open_problem

        trace = open_problem(problem, step)
        asked = in_ask_order(trace, asked_quantities(trace))
        if only is not None:
            asked = select(asked, trace, split_keys(only))
        text = template_text(trace, asked)
        if _write_or_print(text, output, force):
            typer.echo(f"wrote {output} ({len(asked)} keys)")

    _run(action)


# --- `assign` and `export`: per-student variants and learning-management systems (tutor/teach/assign.py) ----
@app.command(cls=_Command, short_help="Give each student of a roster a variant.")
def assign(
    problem: Annotated[str, typer.Argument(
        metavar="PROBLEM_OR_SHAPE", help="A problem file (or bundled name), whose numbers each variant moves, or a "
                                         "shape such as 2-2-2 for freshly generated problems.",
        show_default=False)],
    roster: Annotated[Optional[str], typer.Option(
        "--roster", metavar="CSV", help="The students (needed): a CSV file with a header naming id, name and email "
                                        "columns.", show_default=False)] = None,
    out: Annotated[Optional[str], typer.Option(
        "--out", metavar="DIR", help="The assignment folder (needed): DIR/<id>/ for each student, and "
                                     "DIR/assignment.yaml.", show_default=False)] = None,
    secret: Annotated[Optional[str], typer.Option(
        "--secret", metavar="S", help="The secret each variant's numbers derive from, with the student's id (the "
                                      "same secret gives the same variants; default: a random one, shown once)."
    )] = None,
    activation: Annotated[str, typer.Option(
        "--activation", metavar="NAME", help="For a shape: the hidden layers' activation.")] = "sigmoid",
    loss: Annotated[str, typer.Option("--loss", metavar="NAME", help="For a shape: the loss.")] = "half_sse",
    force: Annotated[bool, typer.Option("--force", help="Write into DIR even if it is not empty.")] = False,
) -> None:
    """Give every student of a roster their own variant: problem, blank sheet, handout and answer key."""

    def action() -> None:
        import secrets as random_secrets

        from tutor.errors import UserError
        from tutor.teach.assign import make_assignment

        for name, value in (("--roster CSV", roster), ("--out DIR", out)):
            if value is None:
                raise UserError(f"assign needs {name} (see `backprop-tutor assign --help`)")
        used = secret if secret is not None else random_secrets.token_hex(8)
        assignment = make_assignment(problem, roster, out, used, activation=activation, loss=loss, force=force)
        n = len(assignment.students)
        typer.echo(f"wrote {n} variant{'s' if n != 1 else ''} and assignment.yaml to {out}")
        if secret is None:
            typer.echo(f"secret: {used} (give it as --secret to make the same variants again)", err=True)

    _run(action)


EXPORT_TARGETS = ("gradescope", "moodle")


@app.command(cls=_Command, short_help="Hand an assignment to Gradescope or Moodle.")
def export(
    target: Annotated[str, typer.Argument(
        metavar="SYSTEM", help="gradescope: the autograder zip (setup.sh, run_autograder and every variant), which "
                               "grades each submission against its student's own variant; moodle: Moodle XML, a "
                               "numerical question per asked value of each variant, with the catalogued mistakes as "
                               "0% answers and their feedback.", show_default=False)],
    assignment: Annotated[str, typer.Argument(metavar="ASSIGNMENT", help="An assignment folder (from `assign`).",
                                              show_default=False)],
    output_file: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Where to write it (default: autograder.zip, or quiz.xml).")] = None,
    requirement: Annotated[str, typer.Option(
        "--requirement", metavar="SPEC", help="gradescope: what setup.sh installs with pip.")] =
        f"backprop-tutor=={__version__}",
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Hand an assignment to a learning-management system: Gradescope's autograder or Moodle's questions."""

    def action() -> None:
        from pathlib import Path

        from tutor.errors import UserError
        from tutor.teach.assign import load_assignment

        if target not in EXPORT_TARGETS:
            raise UserError(f"export writes for {' or '.join(EXPORT_TARGETS)}, not '{target}'")
        load_assignment(assignment)  # a broken folder is reported before anything is written
        if target == "gradescope":
            from tutor.teach.export.gradescope import autograder_zip

            where = output_file or "autograder.zip"
            _write_bytes(autograder_zip(Path(assignment), requirement), where, force)
        else:
            from tutor.teach.export.moodle import moodle_xml

            where = output_file or "quiz.xml"
            _write_or_print(moodle_xml(assignment), where, force)
        typer.echo(f"wrote {where}")

    _run(action)


def _write_bytes(data: bytes, output: str, force: bool) -> None:
    """Write `data` to `output`, never over an existing file unless `force`."""
    from tutor.errors import UserError

    try:
        with open(output, "wb" if force else "xb") as file:
            file.write(data)
    except FileExistsError:
        raise UserError(f"{output} already exists; use --force to overwrite it") from None
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None


# --- `quiz` and `progress`: practice with feedback, and saved progress (tutor/teach/quiz.py) --------------
class Focus(str, Enum):
    all = "all"
    forward = "forward"
    loss = "loss"
    backward = "backward"
    updates = "updates"


@app.command(cls=_Command, short_help="Practise a problem step by step.")
def quiz(
    problem: Annotated[Optional[str], typer.Argument(
        metavar="[PROBLEM]", show_default=False,
        help="A problem file (YAML) or bundled problem name; without it, a fresh practice problem is "
             "generated.")] = None,
    seed: Annotated[Optional[int], whole_number_option(
        "--seed", metavar="N", minimum=0,
        help="Generated problem: seed of its random numbers (the same seed gives the same problem; default: a "
             "random seed, shown).")] = None,
    shape: Annotated[Optional[str], typer.Option(
        "--shape", metavar="N-N[-N...]", help="Generated problem: inputs, then the neurons of each layer "
                                              "(default 2-2-2).")] = None,
    activation: Annotated[Optional[str], typer.Option(
        "--activation", metavar="NAME",
        help="Generated problem: the hidden layers' activation (default sigmoid).")] = None,
    loss: Annotated[Optional[str], typer.Option(
        "--loss", metavar="NAME", help="Generated problem: the loss (default half_sse).")] = None,
    allow_saturated: Annotated[bool, typer.Option(
        "--allow-saturated", help="Generated problem: allow saturated sigmoid or tanh neurons and dead or kinked "
                                  "ReLUs.")] = False,
    focus: Annotated[Focus, choice_option(
        "--focus", help="Ask only one section's quantities.", choices=Focus)] = Focus.all,
    only: Annotated[Optional[str], typer.Option(
        "--only", metavar="KEY[,KEY...]", help="Ask only these quantities (keys or the problem's labels).")] = None,
    limit: Annotated[Optional[int], whole_number_option(
        "--limit", metavar="N", minimum=1, help="Ask at most N questions (the first N in order).")] = None,
    review: Annotated[bool, typer.Option(
        "--review", help="Ask the kinds of quantity you get wrong most, due ones first (spaced repetition over "
                         "your saved progress).")] = False,
    answers: Annotated[Optional[str], typer.Option(
        "--answers", metavar="SHEET.yaml", help="Check a whole answer sheet (key: number), question by question, "
                                                "instead of asking.")] = None,
    output: Annotated[OutputFormat, choice_option(
        "--format", "-f", help="text (coloured on a terminal), plain (no colour), or json: results, score and "
                               "max_score.", choices=OutputFormat)] = OutputFormat.text,
    db: Annotated[Optional[str], typer.Option(
        "--db", metavar="PATH", help="The progress database (default: progress.sqlite3 in "
                                     "$XDG_DATA_HOME/backprop-tutor).")] = None,
    tolerance_mode: ToleranceModeOption = None,
    relative: RelativeOption = None,
    absolute: AbsoluteOption = None,
    min_figures: MinFiguresOption = None,
    decimals: DecimalsOption = None,
    step: StepOption = None,
) -> None:
    """Practise a problem step by step: each intermediate value in solution order, checked, explained and saved.

    At the prompt type a number or an expression (0.3*0.1 + 0.2, 1/(1+exp(-0.3775)), delta_o1*out_h1), or hint,
    show, skip, reveal, quit.
    Piped standard input gives one answer per line.
    """

    def action() -> None:
        from tutor.cli.quiz import QuizOptions, run_quiz

        code = run_quiz(QuizOptions(
            problem=problem, seed=seed, shape=shape, activation=activation, loss=loss,
            allow_saturated=allow_saturated, focus=focus.value,
            only=only, limit=limit, review=review, answers=answers, output=output.value, db=db,
            tolerance_mode=tolerance_mode.value if tolerance_mode else None, relative=relative, absolute=absolute,
            min_figures=min_figures, decimals=decimals, step=step))
        if code:
            raise typer.Exit(code)

    _run(action)


@app.command(cls=_Command, short_help="Show your quiz history and weakest kinds.")
def progress(
    db: Annotated[Optional[str], typer.Option(
        "--db", metavar="PATH", help="The progress database (default: progress.sqlite3 in "
                                     "$XDG_DATA_HOME/backprop-tutor).")] = None,
    output: Annotated[OutputFormat, choice_option(
        "--format", "-f", help="text (coloured on a terminal), plain (no colour) or json.",
        choices=OutputFormat)] = OutputFormat.text,
    sessions: Annotated[int, whole_number_option(
        "--sessions", metavar="N", minimum=1, help="How many recent sessions to list.")] = 10,
) -> None:
    """Show your quiz history, accuracy per kind of quantity and the weakest kinds."""

    def action() -> None:
        from tutor.cli.quiz import run_progress

        run_progress(db, output.value, sessions)

    _run(action)


# --- `train` and `data`: learning from data over many epochs (tutor/cli/train.py) --------------------------
class PlotFormat(str, Enum):
    """The formats of `tutor.views.plots.PLOT_FORMATS` (spelled out: matplotlib stays out of start-up)."""

    png = "png"
    svg = "svg"
    pdf = "pdf"


@app.command(cls=_Command, short_help="Train a network on data over many epochs.")
def train(
    problem: Annotated[Optional[str], typer.Argument(
        metavar="[PROBLEM]", show_default=False,
        help="A problem file (or bundled problem name) giving the network, loss and learning rate; its inputs "
             "and targets are the data unless --data is given. Without it, make a network with --shape.")] = None,
    data: Annotated[Optional[str], typer.Option(
        "--data", metavar="CSV|NAME", help="The training data: a CSV file (a header, the feature columns, "
                                                "then `label`), or a built-in set: linear, xor-easy, spirals.")] = None,
    epochs: Annotated[int, whole_number_option(
        "--epochs", metavar="N", minimum=0, help="Passes over the training set.")] = 1000,
    shape: Annotated[Optional[str], typer.Option(
        "--shape", metavar="N-N[-N...]", help="Make a network: inputs, then the neurons of each layer (2-4-4-1).")] = None,
    activation: Annotated[Optional[str], typer.Option(
        "--activation", metavar="NAME", help="With --shape: the activation of every layer (default sigmoid).")] = None,
    output_activation: Annotated[Optional[str], typer.Option(
        "--output-activation", metavar="NAME", help="With --shape: the output layer's activation (default: as --activation; "
                                    "softmax for cross_entropy with several outputs).")] = None,
    loss: Annotated[Optional[str], typer.Option(
        "--loss", metavar="NAME", help="With --shape: half_sse, sse, mse (default), bce or cross_entropy.")] = None,
    learning_rate: Annotated[Optional[float], number_option(
        "--learning-rate", metavar="ETA", help="The learning rate (with a schedule, its initial rate): with --shape "
                                                "0.1 by default; with PROBLEM, instead of the file's.")] = None,
    optimizer: Annotated[Optional[str], typer.Option(
        "--optimizer", metavar="SPEC",
        help="NAME[:KEY=VALUE,...]: sgd (default, or the problem file's), momentum, nesterov, adagrad, rmsprop, "
             "adam, adamw or nadam, with options such as "
             "adam:beta1=0.9,eps=1e-8 or momentum:momentum=0.9,form=classical.")] = None,
    schedule: Annotated[Optional[str], typer.Option(
        "--schedule", metavar="SPEC",
        help="NAME[:KEY=VALUE,...], the learning rate per epoch: constant (default, or the problem file's), "
             "inverse_time:decay=D, "
             "step:step_size=S,gamma=G or "
             "exponential:gamma=G.")] = None,
    init: Annotated[Optional[str], typer.Option(
        "--init", metavar="NAME", help="With --shape: xavier (default), he, uniform or normal.")] = None,
    seed: Annotated[Optional[int], whole_number_option(
        "--seed", metavar="N", minimum=0, help="Seed of the initial weights, the shuffling and the validation split (default: a "
                              "random seed, shown).")] = None,
    target: Annotated[Optional[list[str]], typer.Option(
        "--target", metavar="COLUMN", help="A CSV column to learn as a regression target (repeat for several); "
                                           "the label column is then not used.")] = None,
    batch_size: Annotated[Optional[int], whole_number_option(
        "--batch-size", metavar="B", minimum=1, help="Samples per step (default: the whole training set).")] = None,
    shuffle: Annotated[bool, typer.Option(
        "--shuffle/--no-shuffle", help="Shuffle the samples every epoch (with --seed), or take batches in file "
                                       "order.")] = True,
    validation: Annotated[float, number_option(
        "--validation", metavar="FRACTION", help="Hold out this fraction of the samples to measure the "
                                                 "validation loss.")] = 0.0,
    patience: Annotated[Optional[int], whole_number_option(
        "--patience", metavar="P", minimum=1, help="Stop after this many epochs in a row without a better validation loss.")] = None,
    clip_norm: Annotated[Optional[float], number_option(
        "--clip-norm", metavar="X", minimum=0.0, help="Clip the gradients' 2-norm (all parameters together) to X "
                                                      "before each step, as PyTorch's clip_grad_norm_.")] = None,
    log_every: Annotated[Optional[int], whole_number_option(
        "--log-every", metavar="K", minimum=0, help="Print `epoch E loss: L` every this many epochs (default: about ten lines; "
                                   "0: none).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Show every sample's prediction, not the first 10.")] = False,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", metavar="DIR", help="Write learning_curve.png, and for two features comparison.png and "
                                      "decision_boundary.png, into DIR (needs the plot extra: pip install "
                                      "'backprop-tutor[plot]').")] = None,
    plot_format: Annotated[PlotFormat, choice_option(
        "--plot-format", help="The figures' format: png (150 dpi), or svg or pdf (vector files for a report).",
        choices=PlotFormat)] = PlotFormat.png,
    save: Annotated[Optional[str], typer.Option(
        "--save", metavar="FILE.yaml", help="Write the trained network as a problem file (open it with solve or "
                                            "quiz: its step is the next step of training).")] = None,
    checkpoint_every: Annotated[Optional[int], whole_number_option(
        "--checkpoint-every", metavar="K", minimum=1, help="Also save every K epochs, as FILE-epochK.yaml.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    output: Annotated[OutputFormat, choice_option(
        "--format", "-f", help="text (coloured on a terminal), plain (no colour), or json: history, final, "
                               "accuracy.", choices=OutputFormat)] = OutputFormat.text,
) -> None:
    """Train a network on data over many epochs: loss as it goes, learning curve, accuracy, predictions, plots."""

    def action() -> None:
        from tutor.cli.train import TrainCommand, run_train

        code = run_train(TrainCommand(
            problem=problem, data=data, epochs=epochs, shape=shape, activation=activation,
            output_activation=output_activation, loss=loss, learning_rate=learning_rate, optimizer=optimizer,
            schedule=schedule, init=init, seed=seed,
            targets=tuple(target or ()), batch_size=batch_size, shuffle=shuffle, validation=validation,
            patience=patience, log_every=log_every, show_all=show_all, plot=plot, plot_format=plot_format.value,
            save=save, checkpoint_every=checkpoint_every, force=force, output=output.value,
            clip_norm=clip_norm))
        if code:
            raise typer.Exit(code)

    _run(action)


@app.command(cls=_Command, short_help="Write a course data set as CSV.")
def data(
    name: Annotated[str, typer.Argument(
        help="linear, xor-easy (the lab's two sets) or spirals (three classes).", show_default=False)],
    n: Annotated[Optional[int], whole_number_option(
        "--n", metavar="N", minimum=1, help="Points (linear: 100 by default; spirals: per class, 100 by default).")] = None,
    seed: Annotated[Optional[int], whole_number_option(
        "--seed", metavar="N", minimum=0, help="Seed of the random points (default 0).")] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE.csv", help="Write to FILE.csv instead of standard output.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE.csv if it exists.")] = False,
) -> None:
    """Write one of the course's data sets as CSV (header x1,x2,label) for `train --data`."""

    def action() -> None:
        from tutor.problem.datasets import make_dataset, to_csv

        text = to_csv(make_dataset(name, n, seed))
        if _write_or_print(text, output, force):
            typer.echo(f"wrote {output} ({text.count(chr(10)) - 1} rows)")

    _run(action)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
