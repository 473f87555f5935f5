"""Print pip constraints pinning every dependency in pyproject.toml (the test extra included) to its lower bound.

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


def main() -> int:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = [*project["dependencies"], *project.get("optional-dependencies", {}).get("test", [])]
    print("\n".join(lower_bound(requirement) for requirement in requirements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
