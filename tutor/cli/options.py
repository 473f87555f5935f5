"""Typed command-line options and the command line's own mistakes, in our words.

Every option that takes a number or one of a few names is declared with one of the helpers here
(`whole_number_option`, `number_option`, `choice_option`): the value reaches our small validator as
the text the user typed, and a refusal names the option and what it expects, e.g. `--steps expects a
whole number of at least 1, not 'abc'`. A mistake in the shape of the command line (an unknown
option, a missing argument) is diagnosed here from the words themselves and the commands' declared
parameters, so neither what we refuse nor what we say depends on the parser library's wording.

    steps: Annotated[Optional[int], whole_number_option("--steps", minimum=1, help="...")] = None
    rate: Annotated[Optional[float], number_option("--rate", minimum=0, maximum=1, help="...")] = None
    output: Annotated[OutputFormat, choice_option("--format", "-f", choices=OutputFormat, help="...")] = ...
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, Callable, Iterable, Iterator, Sequence

import typer

#: The help options of the program and of every command.
HELP_OPTIONS = ["-h", "--help"]


class OptionValueError(typer.BadParameter):
    """An option's value we refuse; its text is the whole one-line message."""


# --- values -------------------------------------------------------------------------------------------


def _range_text(what: str, minimum: float | None, maximum: float | None) -> str:
    """What a number option accepts, in words: "a whole number from 1 to 17"."""
    if minimum is not None and maximum is not None:
        return f"{what} from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{what} of at least {minimum:g}"
    if maximum is not None:
        return f"{what} of at most {maximum:g}"
    return what


def _parser(name: str, expected: str, convert: Callable[[str], Any]) -> Callable[[object], Any]:
    """Option `name`'s parser: `convert` turns the typed text into the value, or gives None to refuse it."""

    def parse(value: object) -> Any:
        text = str(getattr(value, "value", value))  # the typed text, or a declared default
        result = convert(text)
        if result is None:
            raise OptionValueError(f"{name} expects {expected}, not '{text}'")
        return result

    return parse


def _bounded(name: str, what: str, convert: Callable[[str], float], minimum: float | None,
             maximum: float | None) -> Callable[[object], Any]:
    """Option `name`'s parser for a number `convert` reads (ValueError: not one) within the inclusive bounds."""

    def value_of(text: str) -> float | None:
        try:
            value = convert(text)
        except ValueError:
            return None
        return value if (minimum is None or value >= minimum) and (maximum is None or value <= maximum) else None

    return _parser(name, _range_text(what, minimum, maximum), value_of)


def _finite(text: str) -> float:
    """A finite number, or ValueError (nan and inf are no tolerance, rate or credit)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def whole_number(name: str, minimum: int | None = None, maximum: int | None = None) -> Callable[[object], int]:
    """Option `name`'s parser: a whole number (optionally bounded), or our message."""
    return _bounded(name, "a whole number", int, minimum, maximum)


def number(name: str, minimum: float | None = None, maximum: float | None = None) -> Callable[[object], float]:
    """Option `name`'s parser: a finite number (optionally bounded), or our message."""
    return _bounded(name, "a number", _finite, minimum, maximum)


def choice(name: str, choices: Sequence[str]) -> Callable[[object], str]:
    """Option `name`'s parser: exactly one of `choices`, or our message."""
    return _parser(name, "one of " + ", ".join(choices), lambda text: text if text in choices else None)


# --- declaring options -------------------------------------------------------------------------------


def _long_name(names: Sequence[str]) -> str:
    """The name a message uses for an option: its first long name."""
    return next(name for name in names if name.startswith("--"))


def _number_option(names: Sequence[str], what: str, parser: Callable[..., Any], minimum: float | None,
                   maximum: float | None, help: str, settings: dict[str, Any]) -> Any:
    """A typer option taking a number, its accepted range (if bounded) said at the end of its help."""
    if minimum is not None or maximum is not None:
        expected = _range_text(what, minimum, maximum)
        help = f"{help} {expected[0].upper()}{expected[1:]}."
    return typer.Option(*names, parser=parser(_long_name(names), minimum, maximum), help=help, **settings)


def whole_number_option(*names: str, help: str, minimum: int | None = None, maximum: int | None = None,
                        metavar: str = "N", **settings: Any) -> Any:
    """A typer option taking a whole number, such as `--steps N`, read by `whole_number`."""
    return _number_option(names, "a whole number", whole_number, minimum, maximum, help,
                          {"metavar": metavar, **settings})


def number_option(*names: str, help: str, minimum: float | None = None, maximum: float | None = None,
                  metavar: str = "X", **settings: Any) -> Any:
    """A typer option taking a number, such as `--relative X`, read by `number`."""
    return _number_option(names, "a number", number, minimum, maximum, help, {"metavar": metavar, **settings})


def choice_option(*names: str, choices: type[Enum], help: str, **settings: Any) -> Any:
    """A typer option taking one of an Enum's values, such as `--format text|plain|json`, read by `choice`."""
    values = [str(member.value) for member in choices]
    return typer.Option(*names, parser=choice(_long_name(names), values), metavar="|".join(values), help=help,
                        **settings)


# --- the shape of the command line ---------------------------------------------------------------------


def command_line_mistake(group: Any, words: Sequence[str], program: str) -> str:
    """What is wrong with a command line the parser refused, in one line; `group` is the program's commands."""
    from tutor.errors import closest

    leading = 0
    while leading < len(words) and words[leading].startswith("-"):
        leading += 1
    mistake = _words_mistake(group.params, words[:leading], program)
    if mistake or leading == len(words):
        return mistake or f"Missing command (see `{program} --help`)"
    name = words[leading]
    command = group.commands.get(name)
    if command is None:
        return f"No such command '{name}'{closest(name, sorted(group.commands))} (see `{program} --help`)"
    path = f"{program} {name}"
    return (_words_mistake(command.params, words[leading + 1:], path)
            or f"The command line is not valid (see `{path} --help`)")


def _takes_value(params: Iterable[Any]) -> dict[str, bool]:
    """Each option name of these parameters -> whether it takes a value (the help options take none)."""
    known = {name: False for name in HELP_OPTIONS}
    for param in params:
        for name in [*param.opts, *getattr(param, "secondary_opts", [])]:
            if name.startswith("-"):
                known[name] = not getattr(param, "is_flag", False)
    return known


def _words_mistake(params: Sequence[Any], words: Sequence[str], path: str) -> str:
    """The first unknown option, missing option value, value given to a flag, missing or extra argument, or ""."""
    from tutor.errors import closest

    known = _takes_value(params)
    see = f" (see `{path} --help`)"
    arguments: list[str] = []
    stream: Iterator[str] = iter(words)
    for word in stream:
        if word == "--":
            arguments.extend(stream)
        elif word == "-" or not word.startswith("-"):
            arguments.append(word)
        else:
            name, equals, _ = word.partition("=") if word.startswith("--") else (word[:2], "", "")
            if name not in known:
                return f"No such option '{name}'{closest(name, sorted(known))}{see}"
            if equals and not known[name]:
                return f"Option '{name}' takes no value{see}"
            if known[name] and word == name and next(stream, None) is None:
                return f"Option '{name}' needs a value{see}"
    return _arguments_mistake(params, arguments, see)


def _arguments_mistake(params: Sequence[Any], given: list[str], see: str) -> str:
    """A missing or an extra argument, or ""."""
    left = list(given)
    for param in params:
        if param.opts[0].startswith("-"):
            continue  # an option
        taken = left if param.nargs == -1 else left[:1]
        if not taken and param.required:
            return f"Missing argument '{_argument_name(param)}'{see}"
        left = left[len(taken):]
    return f"Unexpected extra argument '{left[0]}'{see}" if left else ""


def _argument_name(param: Any) -> str:
    """An argument's name as the usage line shows it: PROBLEM."""
    return (param.metavar or param.name or "").strip("[]. ").upper()
