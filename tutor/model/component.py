"""What activations and losses have in common: a name, a one-line description and checked parameters.

Numpy is imported on first use only (`lazy_numpy`), so that the command-line help, which lists the
registered activations and losses with their descriptions, starts without it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar


class _LazyModule:
    """Stands in for a module until first used, then puts the real module in its user's globals."""

    def __init__(self, name: str, alias: str, namespace: dict[str, Any]) -> None:
        self._name, self._alias, self._namespace = name, alias, namespace

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._name)
        self._namespace[self._alias] = module  # later look-ups find the module itself: no cost per call
        return getattr(module, attribute)


def lazy_numpy(namespace: dict[str, Any]) -> Any:
    """`np` for a module's globals, imported when first used: ``np = lazy_numpy(globals())``."""
    return _LazyModule("numpy", "np", namespace)


@dataclass(frozen=True)
class Parameter:
    """One numeric parameter of an activation or loss, with its default and the values it allows."""

    name: str
    default: float
    allows: str = "any"  # "any", "positive" or "non-negative"

    def problem(self, value: float) -> str | None:
        """Why `value` is not allowed (a message for the loader), or None."""
        if self.allows == "positive" and value <= 0:
            return f"must be positive, got {value:g}"
        if self.allows == "non-negative" and value < 0:
            return f"must not be negative, got {value:g}"
        return None


class Component:
    """An activation or a loss: a registered name, a description for help texts, and its parameters."""

    name: ClassVar[str]
    #: One line for command-line help and docs.
    description: ClassVar[str]
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    #: Catalogued mistakes made with it, each with an `id` (see `tutor.teach.mistakes`).
    mistakes: ClassVar[tuple[Any, ...]] = ()

    def __init__(self, **params: float) -> None:
        unknown = set(params) - {p.name for p in self.parameters}
        if unknown:
            raise TypeError(f"{self.name} does not take {', '.join(sorted(unknown))}")
        self.params: dict[str, float] = {p.name: float(params.get(p.name, p.default)) for p in self.parameters}

    def mistake(self, mistake_id: str) -> Any:
        """This activation's or loss's own version of a catalogued mistake (from its `mistakes`), or None."""
        return next((m for m in self.mistakes if m.id == mistake_id), None)

    def describe(self) -> str:
        """The name with its parameters, e.g. ``leaky_relu(slope=0.1)``."""
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({inner})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.params == self.params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.params.items())))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def choice_list(names: list[str]) -> str:
    """``a, b or c``: names for a help text."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


class Registry(dict):
    """Registered classes by name, in the order they were registered (the order of help texts and docs)."""

    def register(self, cls: type) -> type:
        """Add a class (usable as a decorator); registering it is all a new activation or loss needs."""
        self[cls.name] = cls
        return cls

    def make(self, name: str, **params: float) -> Any:
        """An instance by name; `params` must be among the ones it takes (checked by the loader)."""
        return self[name](**params)

    def described(self) -> str:
        """``a: what a is; b: what b is``: every name with its one-line description, for help texts."""
        return "; ".join(f"{name}: {cls.description}" for name, cls in self.items())

    def help_text(self, names: list[str] | None = None) -> str:
        """``a, b or c``: the names for a command-line help text."""
        return choice_list(list(self) if names is None else names)
