"""The README's and docs' examples run: every command they show succeeds, and every output they show is
what the command prints now (a shown output that drifts from the real one fails here).

Two forms of shown output are checked: a block that starts with ``$ COMMAND`` (the lines after it), and a
block right after an ``<!-- output of: COMMAND -->`` comment. Either may leave out parts with a line
`` ...``; every part in between must appear in the real output, in order. Commands run at 80 columns
without colour, from a folder holding the example files they name (alice.yaml, submissions/, ...).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, STABLE_ENV

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!-- output of: (?P<comment>.+?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


def _blocks() -> list[tuple[str, str, str, str]]:
    """(document, language, body, command whose output the body shows or "") for every fenced block."""
    found = []
    for doc in DOCS:
        for match in FENCE.finditer(doc.read_text()):
            found.append((doc.name, match["lang"], match["body"], match["comment"] or ""))
    return found


def _commands() -> list[tuple[str, str]]:
    """Every `backprop-tutor` command line of the docs' sh blocks: (document, command)."""
    out = []
    for doc, lang, body, _ in _blocks():
        if lang != "sh":
            continue
        for line in body.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if "backprop-tutor" in line and not line.startswith("pip ") and "python -m" not in line:
                out.append((doc, line))
    return out


def _shown_outputs() -> list[tuple[str, str, list[str]]]:
    """(document, command, shown lines) for every block that shows a command's output."""
    out = []
    for doc, _, body, comment in _blocks():
        lines = body.rstrip("\n").split("\n")
        if comment:
            out.append((doc, comment, lines))
        elif lines and lines[0].startswith("$ backprop-tutor"):
            out.append((doc, lines[0][2:], lines[1:]))
    return out


ROSTER = "id,name,email\ns1,Ada Lovelace,ada@example.org\ns2,Alan Turing,alan@example.org\n" \
         "s3,Grace Hopper,grace@example.org\n"


def _assignment(folder: Path) -> None:
    """The instructors' examples' files: an assignment `hw` of the roster, and sheets of it in `hw-sheets`:
    s1 hands in the key, s2 the key with one slip, s3 the key of s1."""
    from tutor.teach.assign import make_assignment

    make_assignment("mazur-2-2-2", folder / "roster.csv", folder / "hw", "course-2026")
    sheets = folder / "hw-sheets"
    sheets.mkdir()
    key = {s: (folder / "hw" / s / "key.yaml").read_text() for s in ("s1", "s2")}
    (sheets / "s1.yaml").write_text(key["s1"])
    (sheets / "s2.yaml").write_text(re.sub(r"(?m)^out2_1: .*$", "out2_1: 0.5", key["s2"]))
    (sheets / "s3.yaml").write_text(key["s1"].replace("# id: s1", "# id: s3"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """A folder with the files the examples name: the bundled problems, sheets and a class's submissions."""
    shutil.copytree(ROOT / "problems", tmp_path / "problems")
    shutil.copy(ROOT / "problems" / "mazur-2-2-2.yaml", tmp_path / "my-homework.yaml")
    sheet = "net1_1: 0.3775\nout_h1: 1/(1+exp(-0.3775))\ndE_total/dw5: 0.082167\n"
    for name in ("alice.yaml", "sheet.yaml"):
        (tmp_path / name).write_text(sheet)
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "alice.yaml").write_text("new_w1_1_1: 0.1\n")
    (tmp_path / "submissions" / "bob.yaml").write_text("new_w1_1_1: 0.2\nnew_w3_2_2: 0.5\n")
    (tmp_path / "roster.csv").write_text(ROSTER)
    if " hw" in request.node.name and "--out hw" not in request.node.name:  # only the examples that use it
        _assignment(tmp_path)
    monkeypatch.chdir(tmp_path)
    for key, value in STABLE_ENV.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def _run(runner, command: str):
    """Run one shell-style example line in-process: ``[printf '...' |] backprop-tutor ARGS``."""
    from tutor.cli.app import app

    given = None
    if "|" in command:
        feed, command = (part.strip() for part in command.split("|", 1))
        given = shlex.split(feed)[1].encode().decode("unicode_escape")
    args = shlex.split(command)
    assert args[0] == "backprop-tutor", command
    return runner.invoke(app, args[1:], input=given, env=STABLE_ENV)


def test_the_docs_have_examples():
    assert len(_commands()) >= 20
    assert len(_shown_outputs()) >= 2


@pytest.mark.parametrize(("doc", "command"), _commands(), ids=[f"{d}: {c}" for d, c in _commands()])
def test_every_example_command_runs(runner, workdir, doc, command):
    result = _run(runner, command)
    assert result.exit_code == 0, f"{doc}: `{command}` failed:\n{result.output}"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("doc", "command", "shown"), _shown_outputs(),
                         ids=[f"{d}: {c}" for d, c, _ in _shown_outputs()])
def test_every_shown_output_is_the_real_one(runner, workdir, doc, command, shown):
    result = _run(runner, command)
    assert result.exit_code == 0, result.output
    real = result.stdout.split("\n")
    parts, part = [], []
    for line in shown:
        if line.strip() == "...":
            parts.append(part)
            part = []
        else:
            part.append(line)
    parts.append(part)
    same = _same_within_training_noise if command.startswith("backprop-tutor train") else str.__eq__
    start = 0
    for part in filter(None, parts):
        found = next((n for n in range(start, len(real) - len(part) + 1)
                      if all(same(a, b) for a, b in zip(part, real[n:n + len(part)]))), None)
        assert found is not None, (f"{doc}: the output shown for `{command}` is not what it prints now:\n"
                                   + "\n".join(part) + "\n--- real output ---\n" + result.stdout)
        start = found + len(part)


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _same_within_training_noise(shown: str, real: str) -> bool:
    """The same words, and numbers within 1%: thousands of training epochs amplify the last-bit differences
    between numpy releases (their exp and sums), so a long run's losses agree to a few figures, not all."""
    if NUMBER.sub("#", shown) != NUMBER.sub("#", real):
        return False
    pairs = zip(NUMBER.findall(shown), NUMBER.findall(real))
    return all(abs(float(a) - float(b)) <= 0.01 * max(abs(float(a)), abs(float(b))) for a, b in pairs)


def test_same_within_training_noise():
    assert _same_within_training_noise("epoch 7000 loss: 0.01004355746", "epoch 7000 loss: 0.01003628843")
    assert not _same_within_training_noise("epoch 7000 loss: 0.0100", "epoch 7000 loss: 0.0110")
    assert not _same_within_training_noise("accuracy: 100.00%", "accuracy: 95.24% ")


def test_readme_python_example_runs(workdir, capsys):
    block = next(body for doc, lang, body, _ in _blocks() if doc == "README.md" and lang == "python")
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out
    assert "dE_total/dw5 = delta_o1 * out_h1 = " in printed
