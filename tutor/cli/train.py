"""The `train` and `data` commands put together: network, data, training loop, progress, output, files.

`tutor.cli.app` parses the options and calls `run_train` / `run_data`; the loop itself is
`tutor.engine.training`, the data sets `tutor.problem.datasets` and `tutor.problem.csv_data`, the output
`tutor.views.training` and `tutor.views.plots`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tutor.errors import UserError, closest

#: The largest layer `--shape` accepts (a problem file may be bigger).
MAX_UNITS = 10_000


@dataclass(frozen=True)
class TrainCommand:
    """Everything `train` was asked to do."""

    problem: str | None = None
    data: str | None = None
    epochs: int = 1000
    shape: str | None = None
    activation: str | None = None
    output_activation: str | None = None
    loss: str | None = None
    learning_rate: float | None = None
    optimizer: str | None = None  # NAME[:KEY=VALUE,...]
    schedule: str | None = None
    init: str | None = None
    seed: int | None = None
    targets: tuple[str, ...] = ()
    batch_size: int | None = None
    shuffle: bool = True
    validation: float = 0.0
    patience: int | None = None
    log_every: int | None = None
    show_all: bool = False
    plot: str | None = None
    plot_format: str = "png"  # png, svg or pdf
    save: str | None = None
    checkpoint_every: int | None = None
    force: bool = False
    output: str = "text"  # text, plain or json
    clip_norm: float | None = None  # clip the gradients' 2-norm before each step


@dataclass(frozen=True)
class Setup:
    """The network to train, its data, and how it was made (for messages and saved files)."""

    network: object  # tutor.engine.training.Network
    data: object  # tutor.problem.datasets.Dataset
    name: str
    origin: str  # how to make the same network again
    problem: object = None  # the validated problem file it came from, if any (its optimizer, schedule, state)


def run_train(command: TrainCommand) -> int:
    """Train as `command` says and print the results; the exit code."""
    from tutor.engine.training import TrainOptions, split_validation

    _check_options(command)
    seed = command.seed if command.seed is not None else _random_seed()
    setup = _setup(command, seed)
    network, data = setup.network, setup.data
    if command.clip_norm is not None:
        from dataclasses import replace

        from tutor.model.clipping import Clipping

        if command.clip_norm <= 0:
            raise UserError(f"--clip-norm must be positive, got {command.clip_norm:g}")
        network = replace(network, clipping=Clipping(max_norm=command.clip_norm))
        setup = replace(setup, network=network)
    if command.save and not network.dense_only:
        raise UserError("--save writes networks of dense layers; this network has layers of other kinds (train "
                        "it without --save, or solve the problem with --steps N)")
    from tutor.problem.csv_data import check_fits, training_targets

    check_fits(data, network.shape[0], network.outputs)
    targets = training_targets(data, network.outputs)
    _check_target_range(network, targets, data)
    options = TrainOptions(epochs=command.epochs, batch_size=command.batch_size, shuffle=command.shuffle,
                           seed=seed, patience=command.patience)
    if command.validation and data.size < 2:
        raise UserError("--validation needs at least 2 samples")
    train_index, held_index = split_validation(data.size, command.validation, command.shuffle, seed)
    training, held = data.subset(train_index), data.subset(held_index)
    train_targets, held_targets = targets[train_index], targets[held_index]
    paths = _output_paths(command)
    result, rule = _train_with_progress(command, setup, training, train_targets, held, held_targets, options, paths)
    with np.errstate(all="ignore"):  # a diverged network's outputs may overflow: that is said in words
        _finish(command, setup, result, training, train_targets, held, held_targets, options, seed, paths, rule)
    return 130 if result.stopped == "interrupted" else 0


def _random_seed() -> int:
    import secrets

    return secrets.randbelow(1_000_000)


# -- checks and set-up ----------------------------------------------------------------------------------------

def _check_options(command: TrainCommand) -> None:
    if command.epochs < 0:
        raise UserError(f"--epochs must be 0 or more, got {command.epochs}")
    if command.batch_size is not None and command.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {command.batch_size}")
    if not 0.0 <= command.validation < 1.0:
        raise UserError(f"--validation is the fraction of samples held out, from 0 to below 1, got "
                        f"{command.validation:g}")
    if command.patience is not None and not command.validation:
        raise UserError("--patience stops when the validation loss stops improving: give --validation too")
    if command.targets and command.data is None:
        raise UserError("--target names columns of a CSV file: give it with --data FILE.csv")
    if command.checkpoint_every is not None and command.save is None:
        raise UserError("--checkpoint-every needs --save FILE (checkpoints are named after it)")
    if command.plot is not None:
        from tutor.views.plots import require_matplotlib

        require_matplotlib()
    if command.problem is None and command.shape is None:
        raise UserError("give a PROBLEM file, or make a network with --shape (such as --shape 2-4-4-1)")
    if command.problem is not None:
        made = {"--shape": command.shape, "--activation": command.activation,
                "--output-activation": command.output_activation, "--loss": command.loss, "--init": command.init}
        given = [name for name, value in made.items() if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} {'makes' if len(given) == 1 else 'make'} a new network; the "
                            "PROBLEM file already gives one: use one or the other")


def _setup(command: TrainCommand, seed: int) -> Setup:
    """The network (from the problem file, or made with --shape) and the data it learns from."""
    if command.problem is not None:
        from tutor.engine.training import network_from_problem
        from tutor.problem.bundled import find_problem
        from tutor.problem.loader import load_problem

        problem = load_problem(find_problem(command.problem), network_only=command.data is not None)
        from tutor.problem.graph import GraphProblem

        if isinstance(problem, GraphProblem):
            raise UserError("train takes networks (layers:) on rows of data; this problem is a computational graph "
                            "(graph:): use solve --steps N on its parameters", source=problem.path)
        network = network_from_problem(problem)
        if command.learning_rate is not None:  # overrides the file's (its initial rate, with a schedule)
            network = replace(network, learning_rate=_learning_rate(command.learning_rate))
        data = _load_data(command) if command.data is not None else _problem_data(problem)
        return Setup(network, data, problem.name, f"the network of {problem.path or problem.name}", problem)
    network = _made_network(command, seed)
    if command.data is None:
        raise UserError("--shape makes a network: give the data it learns from with --data FILE.csv or a data "
                        "set name (linear, xor-easy, spirals)")
    shape = "-".join(str(n) for n in network.shape)
    return Setup(network, _load_data(command), f"Trained {shape}",
                 f"--shape {shape} --activation {network.activations[0].name} --init {command.init or 'xavier'} "
                 f"--seed {seed}")


def parse_train_shape(text: str) -> tuple[int, ...]:
    """``2-4-4-1``: the inputs, then the neurons of each layer; each 1 to MAX_UNITS."""
    parts = [part.strip() for part in text.strip().split("-")]
    if len(parts) < 2 or any(not part.isdigit() or not part.isascii() for part in parts):
        raise UserError(f"bad shape '{text}': expected whole numbers joined by '-', such as 2-4-4-1 (two inputs, two "
                        "hidden layers of four, one output)")
    shape = tuple(int(part) for part in parts)
    if any(not 1 <= n <= MAX_UNITS for n in shape):
        raise UserError(f"bad shape '{text}': every layer needs 1 to {MAX_UNITS} units")
    return shape


def _made_network(command: TrainCommand, seed: int):
    """A fresh network from --shape, --activation, --output-activation, --loss, --learning-rate, --init."""
    from tutor.engine.training import INIT_SCHEMES, dense_network, initial_weights
    from tutor.model.activations import ACTIVATIONS, hidden_activations, make_activation
    from tutor.model.losses import LOSSES, make_loss

    shape = parse_train_shape(command.shape or "")
    hidden = _choice(command.activation or "sigmoid", hidden_activations(), "--activation")
    loss = _choice(command.loss or "mse", list(LOSSES), "--loss")
    default_output = "softmax" if loss == "cross_entropy" and shape[-1] > 1 else hidden
    output = _choice(command.output_activation or default_output, list(ACTIVATIONS), "--output-activation")
    init = _choice(command.init or "xavier", list(INIT_SCHEMES), "--init")
    rate = _learning_rate(0.1 if command.learning_rate is None else command.learning_rate)
    weights = initial_weights(shape, init, np.random.default_rng(seed))
    activations = [make_activation(hidden)] * (len(shape) - 2) + [make_activation(output)]
    return dense_network(weights, [np.zeros(n) for n in shape[1:]], activations, make_loss(loss), float(rate))


def _learning_rate(rate: float) -> float:
    """--learning-rate, checked: a finite number, 0 or more."""
    if not rate >= 0 or rate == float("inf"):
        raise UserError(f"--learning-rate must be a positive number, got {rate:g}")
    return float(rate)


def _choice(value: str, choices: list[str], option: str) -> str:
    if value not in choices:
        raise UserError(f"{option}: unknown '{value}'{closest(value, choices)} (choose from {', '.join(choices)})")
    return value


def _load_data(command: TrainCommand):
    """--data: a CSV file, or the name of a built-in set."""
    from tutor.problem.csv_data import load_csv
    from tutor.problem.datasets import DATASETS, make_dataset

    name = command.data or ""
    if Path(name).exists() or name not in DATASETS:
        if not Path(name).exists() and not name.lower().endswith(".csv") and "/" not in name:
            raise UserError(f"--data: no such file, and no data set '{name}'{closest(name, list(DATASETS))} "
                            f"(the built-in sets: {', '.join(DATASETS)})")
        return load_csv(name, command.targets)
    if command.targets:
        raise UserError(f"--target names columns of a CSV file; {name} has classes in its label column")
    return make_dataset(name)


def _problem_data(problem):
    """The problem's own samples: its labels are classes; 0/1 targets of one output are classes too."""
    from tutor.problem.datasets import Dataset

    names = tuple(problem.notation.inputs)
    labels = None if problem.labels is None else np.array(problem.labels)
    targets = problem.targets
    if labels is None and targets.shape[1] == 1 and np.all((targets == 0) | (targets == 1)):
        labels = targets[:, 0].astype(int)
    features = problem.inputs.reshape(problem.samples, -1)  # an image's numbers in a row (its shape is the network's)
    return Dataset(features, labels, None if labels is not None else targets, names, problem.path or problem.name)


def _check_target_range(network, targets: np.ndarray, data) -> None:
    """bce and cross_entropy need targets from 0 to 1 (class labels always are)."""
    bounds = network.loss.target_range
    if bounds is not None and ((targets < bounds[0]) | (targets > bounds[1])).any():
        raise UserError(f"{network.loss.name} needs targets from {bounds[0]:g} to {bounds[1]:g}", source=data.source)


# -- training with progress ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutputPaths:
    save: Path | None
    checkpoints: dict[int, Path]


def _output_paths(command: TrainCommand) -> OutputPaths:
    """Where --save and --checkpoint-every write; refused up front if a file exists (unless --force)."""
    if command.save is None:
        return OutputPaths(None, {})
    save = Path(command.save)
    checkpoints = {}
    if command.checkpoint_every:
        for epoch in range(command.checkpoint_every, command.epochs + 1, command.checkpoint_every):
            checkpoints[epoch] = save.with_name(f"{save.stem}-epoch{epoch}{save.suffix or '.yaml'}")
    for path in [save, *checkpoints.values()]:
        if path.exists() and not command.force:
            raise UserError(f"{path} already exists; use --force to overwrite it")
    return OutputPaths(save, checkpoints)


def _log_interval(command: TrainCommand) -> int:
    """--log-every, or a round interval that prints about ten lines."""
    if command.log_every is not None:
        return command.log_every
    target = max(1, command.epochs // 10)
    scale = 10 ** (len(str(target)) - 1)
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= target)


def _train_with_progress(command, setup, training, targets, held, held_targets, options, paths):
    """The training loop, with the lab's log lines, a progress bar on a terminal, and checkpoints."""
    from tutor.engine.training import train

    rule = _update_rule(command, setup.problem)
    every = _log_interval(command)
    text = command.output != "json"
    bar = _progress_bar(command) if text else None
    validation = (held.features, held_targets) if held.size else None

    def on_epoch(done: int, loss: float, moment) -> None:
        epoch = done - 1
        if text and every and epoch % every == 0:
            _echo(bar, f"epoch {epoch} loss: {loss:.10g}")
        if bar is not None:
            bar.advance(done, loss)
        checkpoint = paths.checkpoints.get(done)
        if checkpoint is not None:
            _save(checkpoint, setup, moment(), training, targets, options, done, rule)

    try:
        result = train(setup.network, training.features, targets, options, optimizer=rule.optimizer,
                       schedule=rule.schedule, validation=validation,
                       on_epoch=on_epoch if text or paths.checkpoints else None, first_step=rule.first_step,
                       initial_state=rule.state, first_epoch=rule.first_epoch)
        return result, rule
    finally:
        if bar is not None:
            bar.close()


@dataclass(frozen=True)
class UpdateRule:
    """The optimizer and schedule, and where they start: step `first_step` from `state`, at the schedule's
    epoch `first_epoch` (a problem's `optimizer_state.epoch`, else first_step - 1 as `solve` counts)."""

    optimizer: object
    schedule: object
    first_step: int = 1
    state: list | None = None
    first_epoch: int = 0


def _update_rule(command: TrainCommand, problem) -> UpdateRule:
    """--optimizer and --schedule, else the problem file's; a problem's starting step and state too."""
    optimizer, schedule = _optimizer_and_schedule(command, problem)
    return UpdateRule(optimizer, schedule, *_starting_step(command, problem))


def _optimizer_and_schedule(command: TrainCommand, problem):
    """--optimizer and --schedule, else the problem file's, else plain SGD at a constant rate."""
    from tutor.model.optimizers import make_optimizer
    from tutor.model.options import SpecError
    from tutor.model.schedules import make_schedule

    try:
        optimizer = make_optimizer(parse_spec(command.optimizer, "--optimizer")) \
            if command.optimizer is not None or problem is None else problem.optimizer
        schedule = make_schedule(parse_spec(command.schedule, "--schedule")) \
            if command.schedule is not None or problem is None else problem.schedule
    except SpecError as exc:
        option = "--optimizer" if (exc.field or "").startswith("optimizer") else "--schedule"
        raise UserError(f"{option}: {exc.message}") from None
    return optimizer, schedule


def _starting_step(command: TrainCommand, problem) -> tuple[int, list | None, int]:
    """The optimizer's first step number and state, and the schedule's first epoch: the problem file's (a saved
    checkpoint goes on where it stopped), unless --optimizer starts a new optimizer."""
    if problem is None or command.optimizer is not None:
        return 1, None, 0
    state = None if problem.optimizer_state is None else [dict(layer) for layer in problem.optimizer_state]
    return problem.first_step, state, problem.epoch


def parse_spec(text: str | None, option: str) -> dict | None:
    """``adam:beta1=0.95,eps=1e-7`` -> ``{"name": "adam", "beta1": 0.95, "eps": 1e-07}``; numbers where they read."""
    if text is None:
        return None
    name, _, rest = text.partition(":")
    spec: dict = {"name": name.strip()}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise UserError(f"{option}: expected NAME:KEY=VALUE,..., such as adam:beta1=0.9, got '{text}'")
        spec[key.strip()] = _spec_value(value.strip())
    return spec


def _spec_value(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


class _ProgressBar:
    """A rich progress bar on standard error with the current loss; redrawn a few times a second."""

    def __init__(self, epochs: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(),
                                 console=Console(file=sys.stderr), transient=True)
        self.task = self.progress.add_task("train", total=epochs, loss="...")
        self.stride = max(1, epochs // 500)
        self.progress.start()

    def advance(self, done: int, loss: float) -> None:
        if done % self.stride == 0:
            self.progress.update(self.task, completed=done, loss=f"{loss:.6g}")

    def print(self, line: str) -> None:
        self.progress.console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()


def _progress_bar(command: TrainCommand) -> _ProgressBar | None:
    from tutor.views.output import wants_colour

    if command.epochs < 2 or not wants_colour(sys.stderr, command.output == "plain"):
        return None
    return _ProgressBar(command.epochs)


def _echo(bar: _ProgressBar | None, line: str) -> None:
    if bar is not None and sys.stdout.isatty():
        bar.print(line)
    else:
        sys.stdout.write(line + "\n")


# -- results ------------------------------------------------------------------------------------------------

def _finish(command, setup, result, training, targets, held, held_targets, options, seed, paths, rule) -> None:
    from tutor.engine.training import accuracy, mean_loss, predict

    network = result.network
    outputs = predict(network, training.features)
    train_accuracy = accuracy(outputs, training.labels) if training.labels is not None else None
    validation = None
    if held.size:
        held_outputs = predict(network, held.features)
        validation = {"samples": held.size, "loss": _finite([mean_loss(network, held.features, held_targets)])[0],
                      "accuracy": accuracy(held_outputs, held.labels) if held.labels is not None else None,
                      "history": _finite(result.validation_history)}
    if paths.save is not None:
        from tutor.engine.training import Moment

        _save(paths.save, setup, Moment(network, result.optimizer_state, result.next_step), training, targets,
              options, result.epochs_run, rule)
    written = []
    if command.plot is not None:
        from tutor.views.plots import write_plots

        written = write_plots(command.plot, result.history, result.validation_history, training.features,
                              training.labels, outputs, lambda x: predict(network, x), training.feature_names,
                              command.plot_format)
    if command.output == "json":
        from tutor.views.training import final_parameters

        document = {"epochs": result.epochs_run, "steps": result.steps, "stopped": result.stopped, "seed": seed,
                    "history": _finite(result.history), "final": final_parameters(network),
                    "accuracy": train_accuracy, "samples": training.size}
        if validation is not None:
            document["validation"] = validation
        if written:
            document["plots"] = [str(p) for p in written]
        sys.stdout.write(json.dumps(document) + "\n")
        return
    _print_text(command, result, training, targets, outputs, train_accuracy, validation, seed, paths, written)


def _finite(values) -> list[float | None]:
    """Numbers for JSON: a loss that overflowed (inf or nan, not valid JSON) is null."""
    return [float(v) if np.isfinite(v) else None for v in values]


def _print_text(command, result, training, targets, outputs, train_accuracy, validation, seed, paths, written):
    from tutor.views.output import make_sink
    from tutor.views.plots import terminal_curve
    from tutor.views.training import log_line, predictions_table, summary_lines

    plain = command.output == "plain"
    sink = make_sink(sys.stdout, plain=plain)
    lines = [log_line(result.epochs_run, float(result.history[-1]))]
    if len(result.history) > 1:
        curve = terminal_curve(result.history, result.validation_history, width=min(sink.width, 80),
                               colour=not plain and sys.stdout.isatty() and sink.unicode)
        lines += [""] + (curve.splitlines() if sink.unicode else [])
    lines += [""] + summary_lines(epochs=result.epochs_run, stopped=result.stopped, history=result.history,
                                  accuracy=train_accuracy, samples=training.size, validation=validation, seed=seed)
    from tutor.views.layout import paragraph, styled_paragraph

    sink.write([styled for line in lines for styled in paragraph(line, sink.width)] + [[("", "")]])
    sink.write(predictions_table(training.features, training.feature_names, outputs, targets, training.labels,
                                 sink.width, show_all=command.show_all, plain=plain or not sink.unicode))
    notes = []
    if paths.save is not None:
        notes.append(f"wrote {paths.save} (open it with `backprop-tutor solve {paths.save}`)")
    if paths.checkpoints:
        notes.append(f"wrote {len([e for e in paths.checkpoints if e <= result.epochs_run])} checkpoints beside it")
    if written:
        folder = written[0].parent
        notes.append(f"wrote into {folder}{'/' if str(folder) != '/' else ''}: " + ", ".join(p.name for p in written))
    if notes:  # wrapped at spaces only: a path stays whole, to be copied
        sink.write([[("", "")]] + [line for note in notes
                                   for line in styled_paragraph([(note, "")], sink.width, indent="    ")])


def _save(path: Path, setup, moment, training, targets, options, epochs_done: int, rule: UpdateRule) -> None:
    """The network after `epochs_done` epochs as a problem file whose step is the next step of training."""
    from tutor.engine.training import first_batch
    from tutor.problem.trained import trained_problem_text

    network = moment.network
    batch = first_batch(training.size, epochs_done, options)
    use_labels = training.labels is not None and network.outputs > 1
    text = trained_problem_text(
        network, training.features[batch], targets=None if use_labels else targets[batch],
        labels=training.labels[batch] if use_labels else None,
        learning_rate=setup.network.learning_rate, optimizer=rule.optimizer, schedule=rule.schedule,
        epoch=rule.first_epoch + epochs_done, optimizer_state=moment.optimizer_state, step=moment.next_step,
        name=f"{setup.name} after {epochs_done} epochs",
        description=f"{'-'.join(str(n) for n in network.shape)} network after {epochs_done} epochs of training on "
                    f"{Path(training.source).name}; its step is the first step of epoch {epochs_done + 1}",
        source=f"backprop-tutor train, {setup.origin}",
    )
    from tutor.cli.app import _write_or_print

    _write_or_print(text, str(path), force=True)
