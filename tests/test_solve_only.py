"""`solve --only K1,K2,...`: the quantities several derivations share shown once, then each derivation's own, then
the answers; the full solution marks what the problem asks; `template` keeps the `ask:` order."""

from __future__ import annotations

import re

import pytest

from tutor.solver import open_problem
from tutor.views.text import shared_quantities

EX02_ASKS = ["new_w1_1_1", "new_w2_2_1", "new_w2_2_2", "new_w3_2_2"]


def shown_keys(out: str, trace) -> list[str]:
    """The key of every quantity row of plain tables, in order (a row's second line holds the key)."""
    keys = []
    for line in out.splitlines():
        match = re.match(r"\| (\S+) +\| ", line)
        if match and _is_key(trace, match[1]):
            keys.append(match[1])
    return keys


def _is_key(trace, name: str) -> bool:
    try:
        return trace.resolve(name) == name
    except Exception:
        return False


def test_each_quantity_is_shown_once_and_every_chain_is_complete(invoke):
    out = invoke("solve", "ex02", "--only", ",".join(EX02_ASKS), "-f", "plain").stdout
    body, answers = out.split("\nAnswers\n")
    trace = open_problem("ex02")
    keys = shown_keys(body, trace)
    assert len(keys) == len(set(keys))  # nothing twice
    assert set(keys) == {q.key for q in trace.closure(EX02_ASKS)}  # every step of every chain, nothing else
    assert len(out.splitlines()) < 200  # was 284, with the forward pass four times
    assert shown_keys(answers, trace) == EX02_ASKS  # the answers, in the order asked
    for key in EX02_ASKS:
        assert f"{trace[key].label}  ({key})" in body


def test_shared_quantities_come_first_in_solution_order():
    trace = open_problem("ex02")
    shared = shared_quantities(trace, EX02_ASKS)
    keys = [q.key for q in shared]
    used_by = {key: {q.key for q in trace.closure([key])} for key in EX02_ASKS}
    assert keys == [q.key for q in trace.closure(EX02_ASKS) if sum(q.key in chain for chain in used_by.values()) > 1]
    assert "delta3_1" in keys and "delta2_2" in keys and not set(keys) & set(EX02_ASKS)


def test_one_key_is_its_whole_chain_as_before(invoke):
    out = invoke("solve", "mazur", "--only", "w5+", "-f", "plain").stdout
    assert "Shared" not in out and "Answers" not in out
    assert out.lstrip().startswith("w5+  (new_w2_1_1)")


def test_a_chosen_quantity_another_uses_is_derived_once(invoke):
    out = invoke("solve", "mazur", "--only", "delta_o1,w5+", "-f", "plain").stdout
    keys = shown_keys(out.split("\nAnswers\n")[0], open_problem("mazur"))
    assert keys.count("delta2_1") == 1 and "With the shared quantities above and the derivations before it." in out


def test_the_full_solution_marks_the_asked_quantities_and_sums_them_up(invoke):
    out = invoke("solve", "ex02", "-f", "plain").stdout
    assert out.count("| (asked)") == 4
    summary = out.split("The quantities the problem asks")[1]
    assert shown_keys(summary, open_problem("ex02")) == EX02_ASKS
    assert "(asked)" not in invoke("solve", "mazur", "-f", "plain").stdout


@pytest.mark.parametrize("only", [None, "new_w3_2_2,new_w1_1_1"])
def test_template_keeps_the_exercises_order(invoke, only):
    out = invoke("template", "ex02", *(["--only", only] if only else [])).stdout
    keys = [line.split(":")[0] for line in out.splitlines() if not line.startswith("#")]
    assert keys == (EX02_ASKS if only is None else ["new_w1_1_1", "new_w3_2_2"])
