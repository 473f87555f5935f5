"""Named, checked options of an optimizer or a schedule, read from a spec such as ``{name: adam, beta1: 0.9}``.

A bad spec raises `SpecError` naming the offending key, so that the problem loader can point at its
line in the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from tutor.errors import UserError, closest


class SpecError(UserError):
    """A bad optimizer or schedule spec; `key` is the entry at fault (None for the spec as a whole).

    `unknown` says the key itself is wrong (not its value), so a located message points at the key.
    """

    key: str | None = None
    unknown: bool = False


def spec_error(what: str, key: str | None, message: str, *, unknown: bool = False) -> SpecError:
    """A `SpecError` about `key` of the `what` spec (``optimizer``, ``schedule``)."""
    error = SpecError(message, field=what if key is None else f"{what}.{key}")
    error.key, error.unknown = key, unknown
    return error


@dataclass(frozen=True)
class Option:
    """One option: its default (None when it must be given) and the values it allows."""

    name: str
    default: float | str | None
    meaning: str
    low: float | None = None  # smallest allowed value (inclusive)
    above: float | None = None  # values must be larger than this
    below: float | None = None  # values must be smaller than this
    up_to: float | None = None  # largest allowed value (inclusive)
    choices: tuple[str, ...] = ()  # a text option: the allowed words
    whole: bool = False  # a whole number (a count of epochs)

    def read(self, what: str, value: Any) -> float | str:
        """The checked value, or a `SpecError` saying what is allowed."""
        if self.choices:
            if not isinstance(value, str) or value not in self.choices:
                hint = closest(value, self.choices) if isinstance(value, str) else ""
                raise spec_error(what, self.name, f"expected one of {', '.join(self.choices)}, got "
                                                  f"{_shown(value)}{hint}")
            return value
        if type(value) not in (int, float) or not math.isfinite(value):
            raise spec_error(what, self.name, f"expected a number, got {_shown(value)}")
        if self.whole and (value != int(value) or value < 1):
            raise spec_error(what, self.name, f"expected a whole number of at least 1, got {_shown(value)}")
        if self.low is not None and value < self.low:
            raise spec_error(what, self.name, f"must be at least {self.low:g}, got {value:g}")
        if self.above is not None and value <= self.above:
            raise spec_error(what, self.name, f"must be more than {self.above:g}, got {value:g}")
        if self.below is not None and value >= self.below:
            raise spec_error(what, self.name, f"must be less than {self.below:g}, got {value:g}")
        if self.up_to is not None and value > self.up_to:
            raise spec_error(what, self.name, f"must be at most {self.up_to:g}, got {value:g}")
        return int(value) if self.whole else float(value)


def read_options(what: str, name: str, options: Sequence[Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option's value: the given one (checked) or its default; unknown and missing ones are errors."""
    allowed = [option.name for option in options]
    for key in given:
        if key not in allowed:
            takes = ", ".join(allowed) or "no options"
            raise spec_error(what, str(key), f"{name} does not take '{key}'{closest(key, allowed)} (it takes {takes})",
                             unknown=True)
    values: dict[str, Any] = {}
    for option in options:
        if option.name in given:
            values[option.name] = option.read(what, given[option.name])
        elif option.default is None:
            raise spec_error(what, None, f"{name} needs '{option.name}' ({option.meaning})")
        else:
            values[option.name] = option.default
    return values


def split_spec(what: str, spec: Mapping[str, Any] | str, names: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The name and the other entries of a spec (a mapping with `name`, or just the name)."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise spec_error(what, None, f"expected a name or a mapping with 'name', got {_shown(spec)}")
    if "name" not in spec:
        raise spec_error(what, None, f"missing key 'name' (one of {', '.join(names)})")
    name = spec["name"]
    if not isinstance(name, str) or name not in names:
        hint = closest(name, names) if isinstance(name, str) else ""
        raise spec_error(what, "name", f"unknown {what} {_shown(name)}{hint} (choose from {', '.join(names)})")
    return name, {k: v for k, v in spec.items() if k != "name"}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{value}'"
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."
