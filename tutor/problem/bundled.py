"""The problems that ship with the package, and finding a problem by file path or bundled name."""

from __future__ import annotations

import re
from pathlib import Path

from tutor.errors import UserError

#: What follows a bundled problem's name in its file name: its shape, e.g. ``-2-2-2``.
_SHAPE = re.compile(r"(?:-[0-9]+)+")
_TRAILING_SHAPE = re.compile(r"(?:-[0-9]+)+$")
#: Former names of bundled problems, still accepted.
ALIASES = {"ex02-3-3-2": "ex02-3-3-2-2"}


def bundled_dir() -> Path:
    """Where the bundled problems are: inside the installed package, or `problems/` of a source checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "bundled_problems"
    return installed if installed.is_dir() else package.parent / "problems"


def bundled_problems() -> list[Path]:
    """Every bundled problem file: the networks sorted by name, then the computational graphs (in `graphs/`)."""
    folder = bundled_dir()
    return sorted(folder.glob("*.yaml")) + sorted((folder / "graphs").glob("*.yaml")) if folder.is_dir() else []


def find_problem(name: str) -> Path:
    """A problem file: `name` as a path if it exists, else a bundled problem named by its stem (or a former
    name, see ALIASES), by its name without the shape (``mazur`` for ``mazur-2-2-2``, beside
    ``mazur-adam-2-2-2``; ``mazur-adam`` for that one) or by a unique prefix."""
    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in name or "\\" in name:
        return path
    candidates = bundled_problems()
    name = ALIASES.get(name, name)
    exact = [p for p in candidates if p.stem == name]
    if exact:
        return exact[0]
    prefixed = [p for p in candidates if p.stem.startswith(name)]
    shaped = [p for p in prefixed if _SHAPE.fullmatch(p.stem[len(name):])]
    if len(shaped) == 1:
        return shaped[0]
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:
        names = ", ".join(p.stem for p in prefixed)
        raise UserError(f"'{name}' could mean several bundled problems: {names}", source=name)
    from tutor.errors import closest

    hint = closest(name, _names(candidates))
    raise UserError(f"no such file, and no bundled problem of that name{hint} (see `backprop-tutor list`)",
                    source=name)


def _names(paths: list[Path]) -> list[str]:
    """The names a bundled problem answers to: its stem, then (for a suggestion) its name without the shape."""
    stems = [p.stem for p in paths]
    return list(dict.fromkeys(stems + [_TRAILING_SHAPE.sub("", stem) or stem for stem in stems]))
