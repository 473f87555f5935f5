"""Print pip constraints pinning every dependency in pyproject.toml (the test extra included) to its lower bound.

The test extra may name the project's own extras (`backprop-tutor[plot]`): their dependencies are pinned too.

    python3 .ci/lower_bounds.py > oldest.txt && pip install -c oldest.txt -e '.[test]'

Installing with these checks that the oldest versions pyproject.toml claims to support really work. A
dependency without a `>=` lower bound is an error: every dependency must state the oldest version it needs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def lower_bound(requirement: str) -> str:
    """`"typer>=0.17,<0.29"` -> `"typer==0.17"`."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        raise SystemExit(f"cannot read the requirement {requirement!r}")
    name, specifiers = match.groups()
    for specifier in specifiers.split(","):
        specifier = specifier.strip()
        if specifier.startswith(">="):
            return f"{name}=={specifier[2:].strip()}"
    raise SystemExit(f"{PYPROJECT.name}: {requirement!r} has no lower bound (>=): state the oldest version it needs")


def extra_requirements(project: dict, extra: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """The requirements of one optional extra, with the project's own extras it names (`name[plot]`) expanded."""
    own = re.compile(rf"\s*{re.escape(project['name'])}\s*\[([^\]]*)\]\s*$", re.IGNORECASE)
    requirements = []
    for requirement in project.get("optional-dependencies", {}).get(extra, []):
        match = own.match(requirement)
        if match is None:
            requirements.append(requirement)
            continue
        for named in (part.strip() for part in match.group(1).split(",")):
            if named not in seen | {extra}:
                requirements += extra_requirements(project, named, seen | {extra})
    return requirements


def main() -> int:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = dict.fromkeys([*project["dependencies"], *extra_requirements(project, "test")])
    print("\n".join(lower_bound(requirement) for requirement in requirements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
