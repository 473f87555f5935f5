"""Numbers written and shown without float noise: data sets and saved files in their shortest exact form, and
substituted formulas of a saved network at --digits (a program's 17-figure givens rounded, a hand's kept)."""

from __future__ import annotations

import re

import pytest

from tutor.views.text import given_formatter, shortest_digits

NUMBER = re.compile(r"(?<![\w^@.])-?\d+\.\d+(?:e[-+]?\d+)?|(?<![\w^@.])-?\d+e[-+]?\d+")


@pytest.fixture
def saved(invoke, tmp_path):
    """A 2-3-1 network trained on xor-easy with Adam, saved: 17-figure weights and optimizer state."""
    path = tmp_path / "trained.yaml"
    result = invoke("train", "--shape", "2-3-1", "--data", "xor-easy", "--epochs", "30", "--optimizer", "adam",
                    "--learning-rate", "0.1", "--seed", "1", "--save", str(path))
    assert result.exit_code == 0, result.stderr
    return path


def test_a_saved_file_writes_every_number_in_its_shortest_exact_form(saved):
    text = saved.read_text()
    numbers = NUMBER.findall(text)
    assert len(numbers) > 20
    for number in numbers:
        assert repr(float(number)) == number.replace(".0e", "e") or float(number) == int(float(number)), number
    assert "0.30000000000000004" not in text and "0.09999999999999998" not in text
    assert "inputs:\n  - [0.0, 0.0]\n  - [0.0, 1.0]\n  - [0.1, 0.1]\n  - [0.1, 0.9]" in text


@pytest.mark.parametrize("digits", [3, 6])
def test_substituted_formulas_of_a_saved_network_obey_digits(invoke, saved, digits):
    out = invoke("solve", str(saved), "--digits", str(digits), "-f", "plain").stdout
    formulas = [line for line in out.splitlines() if "| = " in line or line.lstrip("| ").startswith("= ")]
    assert formulas
    for line in formulas:
        for number in NUMBER.findall(line.split("= ", 1)[1]):
            assert shortest_digits(float(number)) <= digits, (number, line)
    assert "0.22055969253310245" not in out


def test_full_precision_on_request(invoke, saved):
    out = invoke("solve", str(saved), "--digits", "17", "-f", "plain").stdout
    weights = [float(n) for n in NUMBER.findall(saved.read_text().split("layers:")[1].split("loss:")[0])]
    assert any(repr(w) in out for w in weights if shortest_digits(w) > 10)


def test_given_numbers_as_written_by_hand_are_never_rounded():
    two = given_formatter(2)
    assert [two(v) for v in (0.125, 0.15, 0.1234567891, -2.5)] == ["0.125", "0.15", "0.1234567891", "-2.5"]
    assert two(0.22055969253310245) == "0.22" and given_formatter(17)(0.22055969253310245) == "0.22055969253310245"
