"""Docs and code stay in step: every command, option, activation, loss and bundled problem is documented."""

from __future__ import annotations

import re

import pytest
import typer

from tests.conftest import BUNDLED, ROOT
from tutor.model.activations import ACTIVATIONS
from tutor.cli.app import app
from tutor.trace.keys import KINDS
from tutor.model.losses import LOSSES
from tutor.problem.loader import LAYER_KEYS, NOTATION_KEYS, TOP_KEYS

COMMANDS_DOC = (ROOT / "docs" / "commands.md").read_text()
FORMAT_DOC = (ROOT / "docs" / "problem-format.md").read_text()
KEYS_DOC = (ROOT / "docs" / "keys.md").read_text()
JSON_DOC = (ROOT / "docs" / "json-output.md").read_text()
README = (ROOT / "README.md").read_text()


def _commands() -> dict:
    """name -> click-style command object (typer may vendor click, so only duck typing here)."""
    return dict(typer.main.get_command(app).commands)


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_a_section_and_help(name):
    assert f"## `backprop-tutor {name}" in COMMANDS_DOC
    assert _commands()[name].help


@pytest.mark.parametrize(("command", "option"), [
    (name, opt) for name, cmd in sorted(_commands().items()) for param in cmd.params
    if param.param_type_name == "option" for opt in param.opts if opt.startswith("--") and opt != "--help"
])
def test_every_option_is_documented_with_help(command, option):
    section = COMMANDS_DOC.split(f"## `backprop-tutor {command}")[1].split("\n## ")[0]
    assert f"`{option}" in section, f"{option} of {command} is not in docs/commands.md"
    param = next(p for p in _commands()[command].params if option in getattr(p, "opts", []))
    assert param.help


def test_global_options_are_documented():
    assert "`--version`" in COMMANDS_DOC and "`--help`" in COMMANDS_DOC


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_is_documented(name):
    assert f"| `{name}` |" in FORMAT_DOC


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_is_documented(name):
    assert f"| `{name}` |" in FORMAT_DOC


@pytest.mark.parametrize("key", TOP_KEYS + LAYER_KEYS + NOTATION_KEYS)
def test_every_file_key_is_documented(key):
    assert f"`{key}`" in FORMAT_DOC


@pytest.mark.parametrize("kind", KINDS)
def test_every_quantity_kind_is_documented(kind):
    assert f"`{kind}`" in KEYS_DOC and f"`{kind}`" in JSON_DOC


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_problem_is_in_the_readme(path):
    assert f"`{path.stem}`" in README


def test_readme_quick_start_has_the_two_commands():
    assert "pip install -e . && backprop-tutor solve problems/mazur-2-2-2.yaml" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && python -m pytest" in ci


def test_readme_links_resolve():
    for target in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (ROOT / target).exists(), target


def test_every_catalogued_mistake_is_documented():
    from tutor.teach.mistakes import CATALOGUE

    text = (ROOT / "docs" / "mistakes.md").read_text()
    for mistake in CATALOGUE:
        assert f"| `{mistake.id}` |" in text
