"""`backprop-tutor quiz`: scripted answers through CliRunner, and the session engine on its own.

Expected numbers are computed here by plain arithmetic (Mazur's and EX02's forward and backward pass
written out by hand below), never taken from the engine, except where a test is about the quiz's
wiring rather than the numbers.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.optimizer_cases import OPTIMIZER_MISTAKE_CASES, optimizer_problem_text

MAZUR = "problems/mazur-2-2-2.yaml"
EX02 = "problems/ex02-3-3-2-2.yaml"


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# -- Mazur 2-2-2 by hand ----------------------------------------------------------------------------

I1, I2 = 0.05, 0.10
T1, T2 = 0.01, 0.99
W1, W2, W3, W4, B1 = 0.15, 0.20, 0.25, 0.30, 0.35
W5, W6, W7, W8, B2 = 0.40, 0.45, 0.50, 0.55, 0.60
ETA = 0.5

NET_H1 = W1 * I1 + W2 * I2 + B1
NET_H2 = W3 * I1 + W4 * I2 + B1
OUT_H1, OUT_H2 = sig(NET_H1), sig(NET_H2)
NET_O1 = W5 * OUT_H1 + W6 * OUT_H2 + B2
NET_O2 = W7 * OUT_H1 + W8 * OUT_H2 + B2
OUT_O1, OUT_O2 = sig(NET_O1), sig(NET_O2)
E_O1, E_O2 = 0.5 * (T1 - OUT_O1) ** 2, 0.5 * (T2 - OUT_O2) ** 2
DE_DOUT_O1, DE_DOUT_O2 = OUT_O1 - T1, OUT_O2 - T2
DOUT_DNET_O1, DOUT_DNET_O2 = OUT_O1 * (1 - OUT_O1), OUT_O2 * (1 - OUT_O2)
DELTA_O1, DELTA_O2 = DE_DOUT_O1 * DOUT_DNET_O1, DE_DOUT_O2 * DOUT_DNET_O2
G5, G6, G7, G8 = DELTA_O1 * OUT_H1, DELTA_O1 * OUT_H2, DELTA_O2 * OUT_H1, DELTA_O2 * OUT_H2
DE_DOUT_H1 = DELTA_O1 * W5 + DELTA_O2 * W7
DE_DOUT_H2 = DELTA_O1 * W6 + DELTA_O2 * W8
DELTA_H1 = DE_DOUT_H1 * OUT_H1 * (1 - OUT_H1)
DELTA_H2 = DE_DOUT_H2 * OUT_H2 * (1 - OUT_H2)
G1, G2, G3, G4 = DELTA_H1 * I1, DELTA_H1 * I2, DELTA_H2 * I1, DELTA_H2 * I2

#: Every question of Mazur's quiz, in the order of a worked solution, with its value by hand.
MAZUR_SOLUTION = [
    ("net1_1", NET_H1), ("net1_2", NET_H2), ("out1_1", OUT_H1), ("out1_2", OUT_H2),
    ("net2_1", NET_O1), ("net2_2", NET_O2), ("out2_1", OUT_O1), ("out2_2", OUT_O2),
    ("loss_1", E_O1), ("loss_2", E_O2), ("loss", E_O1 + E_O2),
    ("dL_dout2_1", DE_DOUT_O1), ("dout_dnet2_1", DOUT_DNET_O1), ("delta2_1", DELTA_O1),
    ("dL_dout2_2", DE_DOUT_O2), ("dout_dnet2_2", DOUT_DNET_O2), ("delta2_2", DELTA_O2),
    ("dL_dw2_1_1", G5), ("dL_dw2_1_2", G6), ("dL_dw2_2_1", G7), ("dL_dw2_2_2", G8),
    ("dL_db2", DELTA_O1 + DELTA_O2),
    ("dL_dout1_1", DE_DOUT_H1), ("dout_dnet1_1", OUT_H1 * (1 - OUT_H1)), ("delta1_1", DELTA_H1),
    ("dL_dout1_2", DE_DOUT_H2), ("dout_dnet1_2", OUT_H2 * (1 - OUT_H2)), ("delta1_2", DELTA_H2),
    ("dL_dw1_1_1", G1), ("dL_dw1_1_2", G2), ("dL_dw1_2_1", G3), ("dL_dw1_2_2", G4),
    ("dL_db1", DELTA_H1 + DELTA_H2),
    ("new_w2_1_1", W5 - ETA * G5), ("new_w2_1_2", W6 - ETA * G6), ("new_w2_2_1", W7 - ETA * G7),
    ("new_w2_2_2", W8 - ETA * G8),
    ("new_w1_1_1", W1 - ETA * G1), ("new_w1_1_2", W2 - ETA * G2), ("new_w1_2_1", W3 - ETA * G3),
    ("new_w1_2_2", W4 - ETA * G4),
]

# -- EX02 3-3-2-2 by hand (only what the diagnosis tests need) ---------------------------------------

EX02_NET1_1 = 0.1 * 0.3 + 0.2 * 0.5 + 0.2 * 0.8 + 0.2  # relu, positive: out = net
EX02_OUT1 = [EX02_NET1_1, 0.4 * 0.3 + 0.1 * 0.5 + 0.2 * 0.8 + 0.2, 0.2 * 0.3 + 0.3 * 0.5 + 0.1 * 0.8 + 0.1]
EX02_NET2_2 = 0.4 * EX02_OUT1[0] + 0.1 * EX02_OUT1[1] + 0.2 * EX02_OUT1[2] + 0.4  # tanh layer

# -- a square-weight problem for weight_index_swapped ---------------------------------------------------

SQUARE = textwrap.dedent("""\
    format: 1
    name: Square 2-2-1
    inputs: [1.0, 0.5]
    targets: 0.2
    layers:
      - weights:
          - [0.1, 0.8]
          - [0.6, 0.2]
        biases: [0.1, 0.1]
        activation: sigmoid
      - weights: [[0.5, 0.4]]
        biases: [0.2]
        activation: sigmoid
    loss: half_sse
    learning_rate: 0.5
    """)
#: net of neuron 1 with w_ij taken for w_ji: w_11 * x_1 + w_21 * x_2 + b_1
SQUARE_NET1_SWAPPED = 0.1 * 1.0 + 0.6 * 0.5 + 0.1
#: The same network with a swish hidden layer (product_rule_dropped), and its first net input.
SWISH = SQUARE.replace("activation: sigmoid", "activation: swish", 1)
SWISH_NET1 = 0.1 * 1.0 + 0.8 * 0.5 + 0.1
#: A stride-2 convolution (stride_ignored_backward).
STRIDED = textwrap.dedent("""\
    inputs: [[1, 2, 0, 1], [0, 1, 3, 1], [2, 0, 1, 1], [1, 1, 0, 2]]
    layers:
      - {type: conv2d, weights: [[1, 2], [0, -1]], biases: [0], stride: 2}
    targets: [[0, 0], [0, 0]]
    loss: half_sse
    learning_rate: 0.1
    """)
# dL/dout^3 of the tiny CNN's flatten layer (softmax + cross-entropy: delta = out - t, then times the weights).
_CNN_OUT = [math.exp(v) for v in (0.8, 0.4, -0.4)]
_CNN_DELTA = [o / sum(_CNN_OUT) - t for o, t in zip(_CNN_OUT, (0, 1, 0))]
CNN_TO_ALL = sum(d * w for d, w in zip(_CNN_DELTA, (0.1, 0.0, 0.2))) + sum(d * w for d, w in zip(_CNN_DELTA, (0.2, -0.1, 0.0)))
# A sigmoid conv layer: the notes' X and F, bias 0; net^1(1,2) = 0 * 1 + 2 * -1 + 1 * 0 + 0 * 2 = -2.
SIGMOID_CONV = textwrap.dedent("""\
    inputs: [[1, 0, 2], [2, 1, 0], [0, 1, 1]]
    layers:
      - {type: conv2d, weights: [[1, -1], [0, 2]], biases: [0], activation: sigmoid}
    targets: [[1, 0], [0, 1]]
    loss: half_sse
    learning_rate: 0.1
    """)
SIGMOID_CONV_NET12 = 0 * 1 + 2 * -1 + 1 * 0 + 0 * 2
# The tiny CNN's relu conv: net^1(2,3) is the window [[3, 0], [0, 1]] of its image times F = [[1, -1], [0, 1]].
CNN_NET23 = 3 * 1 + 0 * -1 + 0 * 0 + 1 * 1
#: Problems written to a temporary file by the tests that use them.
INLINE = {"SQUARE": SQUARE, "SWISH": SWISH, "STRIDED": STRIDED, "SIGMOID_CONV": SIGMOID_CONV}


def lines(*answers: object) -> str:
    return "".join(f"{a}\n" for a in answers)


def num(value: float | str) -> str:
    """A number as a student would round it: six significant digits (a text stays as written)."""
    return value if isinstance(value, str) else f"{value:.6g}"


def rows(path: Path) -> list[dict]:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute("SELECT * FROM answers ORDER BY id")]
    finally:
        connection.close()


def quiz_json(invoke, *args: str, input: str = "") -> dict:
    result = invoke("quiz", *args, "--format", "json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def flat(text: str) -> str:
    """Output with its line wrapping undone (the tests' output is 80 columns wide)."""
    return " ".join(text.split())


def asked_keys(output: str) -> list[str]:
    return re.findall(r"\[key ([^\]]+)\]", output)


# -- the whole quiz -------------------------------------------------------------------------------


def test_all_correct(invoke, db):
    result = invoke("quiz", MAZUR, "--db", str(db), input=lines(*(num(v) for _, v in MAZUR_SOLUTION)))
    assert result.exit_code == 0, result.output
    assert asked_keys(result.stdout) == [k for k, _ in MAZUR_SOLUTION]
    assert result.stdout.count("Correct:") == 41
    assert "41 of 41 right (100%)" in result.stdout
    assert "Missed" not in result.stdout
    saved = rows(db)
    assert [(r["key"], r["verdict"], r["tries"]) for r in saved] == [(k, "correct", 1) for k, _ in MAZUR_SOLUTION]


def test_all_correct_json(invoke, db):
    data = quiz_json(invoke, MAZUR, "--db", str(db), input=lines(*(num(v) for _, v in MAZUR_SOLUTION)))
    assert data["score"] == data["max_score"] == data["questions"] == 41
    assert data["stopped"] == "end"
    assert [r["key"] for r in data["results"]] == [k for k, _ in MAZUR_SOLUTION]
    for result, (_, value) in zip(data["results"], MAZUR_SOLUTION):
        assert result["verdict"] == "correct"
        assert result["diagnosis"] is None
        assert result["answer"] == pytest.approx(value, rel=1e-5)
    assert set(data["sections"]) == {"forward", "loss", "backward", "updates"}
    assert data["sections"]["forward"]["correct"] == 8
    assert data["problem"]["name"] == "Mazur 2-2-2"


def test_the_summary_is_by_section(invoke, db):
    answers = {k: num(v) for k, v in MAZUR_SOLUTION}
    answers["out1_1"] = "0.7\n0.7"  # wrong twice
    answers["loss_1"] = "skip"
    answers["dL_dw2_1_1"] = "0.1\n0.1"
    result = invoke("quiz", MAZUR, "--db", str(db), input=lines(*answers.values()))
    assert result.exit_code == 0
    summary = result.stdout.split("Summary")[-1]
    assert "38 of 41 right (93%)" in summary
    table = {line.split()[0]: line.split()[1:] for line in summary.splitlines()
             if line.split()[:1] and line.split()[0] in ("forward", "loss", "backward", "updates", "total")}
    # asked, correct, follow-through, wrong, missing, score
    assert table == {
        "forward": ["8", "7", "0", "1", "0", "7/8"],
        "loss": ["3", "2", "0", "0", "1", "2/3"],
        "backward": ["22", "21", "0", "1", "0", "21/22"],
        "updates": ["8", "8", "0", "0", "0", "8/8"],
        "total": ["41", "38", "0", "2", "1", "38/41"],
    }
    missed = summary.split("Missed")[1]
    assert "out_h1 [out1_1]: wrong, you gave 0.7; it is 0.59327" in missed
    assert "E_o1 [loss_1]: missing, skipped; it is 0.274811" in missed
    assert "dE_total/dw5 [dL_dw2_1_1]: wrong, you gave 0.1" in missed
    assert re.search(r"in \d+s\.", summary)


# -- each catalogued mistake, diagnosed at the prompt --------------------------------------------------

NEW_W5 = W5 - ETA * G5
NEW_W7 = W7 - ETA * G7

DIAGNOSES = [
    ("sigmoid_derivative_on_net", MAZUR, "dout_o1/dnet_o1", NET_O1 * (1 - NET_O1)),
    ("tanh_derivative_on_net", EX02, "dout_dnet2_2", 1 - EX02_NET2_2 ** 2),
    ("relu_derivative_wrong", EX02, "dout_dnet1_1", EX02_NET1_1),
    ("loss_factor_dropped", MAZUR, "E_o1", (T1 - OUT_O1) ** 2),
    ("target_output_swapped", MAZUR, "dE_total/dout_o1", T1 - OUT_O1),
    ("update_sign_flipped", MAZUR, "w5+", W5 + ETA * G5),
    ("update_not_applied", MAZUR, "w5+", "0.4000"),  # the weight as it was, to enough digits to show the update
    ("learning_rate_omitted", MAZUR, "w5+", W5 - G5),
    ("updated_weights_in_backward", MAZUR, "dE_total/dout_h1", DELTA_O1 * NEW_W5 + DELTA_O2 * NEW_W7),
    ("single_path_only", MAZUR, "dE_total/dout_h1", DELTA_O1 * W5),
    ("weight_index_swapped", MAZUR, "dE_total/dw6", DELTA_O2 * OUT_H1),  # w6 is h2 -> o1; this is w7's
    ("weight_index_swapped", "SQUARE", "net1_1", SQUARE_NET1_SWAPPED),
    ("product_rule_dropped", "SWISH", "dout_dnet1_1", 1 / (1 + math.exp(-SWISH_NET1))),
    # activation mistakes on a conv layer's dout/dnet, by each mistake's rule on the hand-computed net:
    # relu's slope taken as net itself; sigmoid's derivative taken on net, net * (1 - net).
    ("relu_derivative_wrong", "problems/cnn-4x4.yaml", "dout_dnet1_1_2_3", CNN_NET23),
    ("sigmoid_derivative_on_net", "SIGMOID_CONV", "dout_dnet1_1_1_2", SIGMOID_CONV_NET12 * (1 - SIGMOID_CONV_NET12)),
    # The lab notes' convolution (tests/test_conv_trace.py works it by hand): dE/dO = [[1, -2], [-1, 1]],
    # F = [[1, -1], [0, 2]]. dE/dx(1,1) with F not rotated: 1 * F(2,2); by the valid convolution: dE/dO . rot(F).
    ("filter_not_rotated", "problems/conv-3x3-2x2.yaml", "dL_dx1_1_1_1", 1 * 2),
    ("full_valid_confused", "problems/conv-3x3-2x2.yaml", "dL_dx1_1_1_1", 1 * 2 + -2 * 0 + -1 * -1 + 1 * 1),
    # Stride 2 (STRIDED): dE/dO = O = [[4, 1], [1, 1]]; ignoring the stride pairs O(r,c) with x(r+1, c+2).
    ("stride_ignored_backward", "STRIDED", "dL_dw1_1_1_1_2", 4 * 2 + 1 * 0 + 1 * 1 + 1 * 3),
    # out^1(1,2) of the tiny CNN won no max-pool window; sent to every input it gets both windows' gradients.
    ("maxpool_gradient_to_all", "problems/cnn-4x4.yaml", "dL_dout1_1_1_2", CNN_TO_ALL),
]


@pytest.mark.parametrize(("mistake", "problem", "name", "wrong"), DIAGNOSES,
                         ids=[f"{d[0]}-{d[2]}" for d in DIAGNOSES])
def test_each_mistake_is_diagnosed(invoke, db, tmp_path, mistake, problem, name, wrong):
    if problem in INLINE:
        text, problem = INLINE[problem], str(tmp_path / f"{problem.lower()}.yaml")
        Path(problem).write_text(text)
    result = invoke("quiz", problem, "--only", name, "--db", str(db), input=lines(num(wrong), "reveal"))
    assert result.exit_code == 0, result.output
    assert "Not quite." in result.stdout
    assert "Looks like: " in result.stdout and f"[{mistake}]" in result.stdout
    assert num(wrong) not in result.stdout.split("Looks like:")[1].split("\n")[0]  # no number given away
    assert "Try again" in result.stdout
    assert "Mistakes diagnosed" in result.stdout
    (row,) = rows(db)
    assert (row["verdict"], row["diagnosis"], row["tries"], row["revealed"]) == ("wrong", mistake, 1, 1)

    data = quiz_json(invoke, problem, "--only", name, "--db", str(db), input=lines(num(wrong), num(wrong)))
    (only,) = data["results"]
    assert (only["verdict"], only["diagnosis"], only["tries"]) == ("wrong", mistake, 2)
    assert data["mistakes"][0]["id"] == mistake


def test_every_catalogued_mistake_has_a_prompt_test():
    from tutor.teach.mistakes import CATALOGUE

    assert {m.id for m in CATALOGUE} == {d[0] for d in DIAGNOSES} | set(OPTIMIZER_MISTAKE_CASES)


@pytest.mark.parametrize("mistake", sorted(OPTIMIZER_MISTAKE_CASES))
def test_each_optimizer_mistake_is_diagnosed_at_the_prompt(invoke, db, tmp_path, mistake):
    _, name, wrong = OPTIMIZER_MISTAKE_CASES[mistake]
    problem = tmp_path / "mazur-optimizer.yaml"
    problem.write_text(optimizer_problem_text(mistake))
    result = invoke("quiz", str(problem), "--only", name, "--db", str(db), input=lines(num(wrong), "reveal"))
    assert result.exit_code == 0, result.output
    assert "Looks like: " in result.stdout and f"[{mistake}]" in result.stdout
    (row,) = rows(db)
    assert (row["verdict"], row["diagnosis"]) == ("wrong", mistake)


# -- follow-through, hints, skip, reveal, quit ----------------------------------------------------------


def test_follow_through_names_the_students_value(invoke, db):
    # net_h1 = 0.5 (wrong twice), then out_h1 computed from it: sigmoid(0.5), 5% off the true value.
    result = invoke("quiz", MAZUR, "--only", "net_h1,out_h1", "--db", str(db),
                    input=lines("0.5", "0.5", num(sig(0.5))))
    assert result.exit_code == 0, result.output
    assert "consistent with your net_h1 = 0.5" in result.stdout
    assert [(r["key"], r["verdict"]) for r in rows(db)] == [("net1_1", "wrong"), ("out1_1", "follow_through")]
    data = quiz_json(invoke, MAZUR, "--only", "net_h1,out_h1", "--db", str(db),
                     input=lines("0.5", "0.5", num(sig(0.5))))
    assert data["results"][1]["verdict"] == "follow_through"
    assert data["results"][1]["follows_from"] == ["net1_1"]
    assert data["score"] == 1 and data["max_score"] == 2


def test_the_true_value_is_still_right_after_a_slip(invoke, db):
    data = quiz_json(invoke, MAZUR, "--only", "net_h1,out_h1", "--db", str(db),
                     input=lines("0.5", "0.5", num(OUT_H1)))
    assert [r["verdict"] for r in data["results"]] == ["wrong", "correct"]


def test_second_try_can_be_right(invoke, db):
    data = quiz_json(invoke, MAZUR, "--only", "out_h1", "--db", str(db), input=lines("0.7", num(OUT_H1)))
    (result,) = data["results"]
    assert (result["verdict"], result["tries"]) == ("correct", 2)
    assert rows(db)[0]["tries"] == 2


def test_hint_ladder_formula_then_which_values_then_numbers(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "net_h1,out_h1", "--db", str(db),
                    input=lines("0.378", "hint", "hint", "hint", "hint", "skip"))
    assert result.exit_code == 0
    out = flat(result.stdout)
    assert "Hint: out_h1 = sigmoid(net_h1) " in out
    assert "Hint: use your net_h1 (question 1)." in out  # which value, not yet the number
    assert "Hint: out_h1 = sigmoid(net_h1) = sigmoid(0.378)" in out  # their own net_h1, on request
    assert "No more hints" in out
    saved = rows(db)
    assert (saved[1]["key"], saved[1]["verdict"], saved[1]["hints"]) == ("out1_1", "missing", 4)


def test_hints_after_a_reveal_use_the_revealed_value(invoke, db):
    # net_h1 wrong twice (0.5): its worked line is shown, so later hints use 0.3775, not the known-wrong 0.5.
    result = invoke("quiz", MAZUR, "--only", "net_h1,out_h1", "--db", str(db),
                    input=lines("0.5", "0.5", "hint", "hint", "hint", "skip"))
    out = flat(result.stdout)
    assert "Hint: use the revealed net_h1 (question 1)." in out
    assert "sigmoid(net_h1) = sigmoid(0.3775)" in out
    assert "sigmoid(0.5)" not in out
    result = invoke("quiz", MAZUR, "--only", "net_h1,out_h1", "--db", str(db),
                    input=lines("reveal", "h", "h", "h", "q"))
    assert "sigmoid(net_h1) = sigmoid(0.3775)" in flat(result.stdout)


def test_hint_offers_the_formula_only_until_it_was_shown(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "out_h1", "--db", str(db), input=lines("hint", "0.7", "0.7"))
    out = flat(result.stdout)
    assert "type hint for the formula" not in out  # it was shown before the first wrong try
    assert "type hint for which of your values the formula takes" in out
    result = invoke("quiz", MAZUR, "--only", "out_h1", "--db", str(db), input=lines("0.7", "0.7"))
    assert flat(result.stdout).count("type hint for the formula (reveal") == 1
    result = invoke("quiz", MAZUR, "--only", "out_h1", "--db", str(db),
                    input=lines("hint", "0.7", "hint", "hint", "0.7"))
    out = flat(result.stdout)
    assert "type hint for which of your values" in out and "type hint for the formula" not in out


def test_labels_and_keys_inside_expressions(invoke, db):
    # The student's own values by label or key, and the givens by name: dE/dw5 = delta_o1 * out_h1.
    answers = {k: num(v) for k, v in MAZUR_SOLUTION}
    keys = list(answers)
    upto = keys[:keys.index("dL_dw2_1_1")]
    data = quiz_json(invoke, MAZUR, "--only", ",".join([*upto, "dL_dw2_1_1", "new_w2_1_1"]), "--db", str(db),
                     input=lines(*(answers[k] for k in upto), "delta_o1*out_h1", "w5 - eta*dL_dw2_1_1"))
    last = {r["key"]: r for r in data["results"]}
    assert last["dL_dw2_1_1"]["verdict"] == "correct" and last["dL_dw2_1_1"]["text"] == "delta_o1*out_h1"
    assert last["dL_dw2_1_1"]["answer"] == pytest.approx(float(answers["delta2_1"]) * float(answers["out1_1"]))
    assert last["new_w2_1_1"]["verdict"] == "correct"


def test_a_name_without_a_value_yet_is_a_format_error(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "net_h1", "--db", str(db), input=lines("out_h1*2", "q"))
    assert "'out_h1' has no value to use yet" in flat(result.stdout)
    assert rows(db) == []


def test_hint_with_numbers_uses_true_values_where_nothing_was_answered(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "w5+", "--db", str(db), input=lines("h", "h", "h", "q"))
    assert f"= 0.4 - 0.5 * {G5:.6g}" in flat(result.stdout)
    assert "Hint: w5+ = w5 - eta * dE_total/dw5\n" in result.stdout
    assert "Hint: use the given w5 and eta and the shown dE_total/dw5." in flat(result.stdout)
    assert f"from earlier steps dE_total/dw5 = {G5:.6g}" in flat(result.stdout)


def test_skip_reveal_quit(invoke, db):
    result = invoke("quiz", MAZUR, "--db", str(db), input=lines(num(NET_H1), "skip", "reveal", "quit"))
    assert result.exit_code == 0
    out = result.stdout
    assert "Skipped." in out
    assert "Worked line: out_h1 = sigmoid(net_h1) = sigmoid(0.3775) = 0.59327" in flat(out)
    assert "Stopped (quit) after 3 of 41 questions." in out
    assert "1 of 3 right" in out
    assert [(r["key"], r["verdict"], r["revealed"]) for r in rows(db)] == [
        ("net1_1", "correct", 0), ("net1_2", "missing", 0), ("out1_1", "missing", 1)]
    assert asked_keys(out) == ["net1_1", "net1_2", "out1_1", "out1_2"]  # quit at the fourth


def test_two_wrong_tries_reveal_the_worked_line(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "net_h1", "--db", str(db), input=lines("0.5", "0.6"))
    assert "Not quite (2 tries)." in result.stdout
    assert ("Worked line: net_h1 = w1 * i1 + w2 * i2 + b1 = 0.15 * 0.05 + 0.2 * 0.1 + 0.35 = 0.3775"
            in flat(result.stdout))
    assert rows(db)[0]["answer"] == "0.6"


def test_wrong_then_skip_stays_wrong(invoke, db):
    data = quiz_json(invoke, MAZUR, "--only", "net_h1", "--db", str(db), input=lines("0.5", "skip"))
    assert data["results"][0]["verdict"] == "wrong"


def test_end_of_input_mid_quiz_saves_and_summarises(invoke, db):
    result = invoke("quiz", MAZUR, "--db", str(db), input=lines(num(NET_H1), num(NET_H2), "0.7"))
    assert result.exit_code == 0
    assert "End of input after 3 of 41 questions." in result.stdout
    assert "Summary" in result.stdout and "2 of 3 right" in result.stdout
    assert [(r["key"], r["verdict"]) for r in rows(db)] == [
        ("net1_1", "correct"), ("net1_2", "correct"), ("out1_1", "wrong")]
    connection = sqlite3.connect(db)
    assert connection.execute("SELECT stopped, finished IS NOT NULL FROM sessions").fetchall() == [("eof", 1)]
    connection.close()


def test_end_of_input_json_has_the_results_so_far(invoke, db):
    data = quiz_json(invoke, MAZUR, "--db", str(db), input=lines(num(NET_H1)))
    assert data["stopped"] == "eof"
    assert [r["key"] for r in data["results"]] == ["net1_1"]
    assert (data["score"], data["max_score"], data["questions"]) == (1, 1, 41)


def test_ctrl_c_saves_and_summarises(invoke, db, monkeypatch):
    from tutor.views import quiz as render_quiz

    read = render_quiz.LineReader.__call__
    calls = []

    def interrupted_at_the_fourth(self, question):
        calls.append(question.key)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return read(self, question)

    monkeypatch.setattr(render_quiz.LineReader, "__call__", interrupted_at_the_fourth)
    result = invoke("quiz", MAZUR, "--db", str(db), input=lines(num(NET_H1), num(NET_H2), "0.7", "0.8"))
    assert result.exit_code == 130
    assert "Interrupted (Ctrl-C) after 3 of 41 questions." in result.stdout
    assert "Summary" in result.stdout
    assert [(r["key"], r["verdict"], r["tries"]) for r in rows(db)] == [
        ("net1_1", "correct", 1), ("net1_2", "correct", 1), ("out1_1", "wrong", 1)]


# -- what is typed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["__import__('os')", "os.system", "x", "2^99999", "1e999", "'0.3775'",
                                  "[0.3775]", "0,3775", "0.3775 +"])
def test_something_not_arithmetic_is_a_format_error_and_asked_again(invoke, db, text):
    result = invoke("quiz", MAZUR, "--only", "net_h1", "--db", str(db), input=lines(text, num(NET_H1)))
    assert result.exit_code == 0
    out = result.stdout
    assert out.count("Not a number: ") == 1
    message = out.split("Not a number: ")[1].split("\n")[0]
    assert len(message) > 20
    assert "Not quite" not in out
    assert "Correct: net_h1 = 0.3775." in out
    assert out.index(f"> {text}\n") < out.index(f"> {num(NET_H1)}\n")  # asked again: the next line answers
    (row,) = rows(db)
    assert (row["verdict"], row["tries"], row["answer"]) == ("correct", 1, num(NET_H1))


def test_expressions_are_answers(invoke, db):
    data = quiz_json(invoke, MAZUR, "--only", "net_h1,out_h1", "--db", str(db),
                     input=lines("0.15*0.05 + 0.2*0.1 + 0.35", "1/(1+exp(-0.3775))"))
    assert [r["verdict"] for r in data["results"]] == ["correct", "correct"]
    assert data["results"][1]["text"] == "1/(1+exp(-0.3775))"


def test_blank_lines_and_help_ask_again(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "net_h1", "--db", str(db), input=lines("", "help", num(NET_H1)))
    assert "hint (the formula" in flat(result.stdout)
    assert [r["verdict"] for r in rows(db)] == ["correct"]


def test_tolerance_options(invoke, db):
    default = quiz_json(invoke, MAZUR, "--only", "net_h1", "--db", str(db), input=lines("0.38"))
    assert default["results"][0]["verdict"] == "correct"  # net_h1 = 0.3775 is 0.38 to two decimals
    strict = quiz_json(invoke, MAZUR, "--only", "net_h1", "--db", str(db), "--tolerance-mode", "absolute",
                       "--absolute", "0.0001", input=lines("0.38", "0.38"))
    assert strict["results"][0]["verdict"] == "wrong"
    # out_h1 = 0.59327: 0.597 is 0.6% off (within 1%) but wrong to its three decimals; 0.6 is right to its
    # one decimal, but one significant figure is too few.
    default = quiz_json(invoke, MAZUR, "--only", "out_h1", "--db", str(db), input=lines("0.597", "0.593"))
    assert [(r["verdict"], r["tries"]) for r in default["results"]] == [("correct", 2)]
    assert default["tolerance"]["mode"] == "precision"
    few = quiz_json(invoke, MAZUR, "--only", "out_h1", "--db", str(db), input=lines("0.6", "0.6"))
    assert [(r["verdict"], r["tries"]) for r in few["results"]] == [("wrong", 2)]
    either = quiz_json(invoke, MAZUR, "--only", "out_h1", "--db", str(db), "--tolerance-mode", "either",
                       input=lines("0.597"))
    assert [(r["verdict"], r["tries"]) for r in either["results"]] == [("correct", 1)]
    assert either["tolerance"] == {"mode": "either", "relative": 0.01, "absolute": 0.0005, "min_figures": 2,
                                   "decimals": None}


# -- choosing questions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("focus", "first", "count"), [
    ("forward", "net1_1", 8), ("loss", "loss_1", 3), ("backward", "dL_dout2_1", 22), ("updates", "new_w2_1_1", 8)])
def test_focus(invoke, db, focus, first, count):
    result = invoke("quiz", MAZUR, "--focus", focus, "--db", str(db), input=lines("skip"))
    assert asked_keys(result.stdout)[:1] == [first]
    assert f"{count} questions" in result.stdout


def test_only_takes_keys_and_labels_in_solution_order(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "w5+,net_h1,dE_total/dw5", "--db", str(db),
                    input=lines("skip", "skip", "skip"))
    assert asked_keys(result.stdout) == ["net1_1", "dL_dw2_1_1", "new_w2_1_1"]


def test_unknown_only_key_is_an_error(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "out_h9", "--db", str(db))
    assert result.exit_code == 2
    assert "no quantity 'out_h9'" in result.stderr and "did you mean" in result.stderr


def test_focus_and_only_with_nothing_in_common_is_an_error(invoke, db):
    result = invoke("quiz", MAZUR, "--only", "net_h1", "--focus", "updates", "--db", str(db))
    assert result.exit_code == 2
    assert "no questions" in result.stderr


def test_limit(invoke, db):
    result = invoke("quiz", MAZUR, "--limit", "2", "--db", str(db), input=lines(num(NET_H1), num(NET_H2)))
    assert asked_keys(result.stdout) == ["net1_1", "net1_2"]
    assert "2 of 2 right" in result.stdout
    assert "End of input" not in result.stdout


def test_questions_name_the_quantity_in_words_label_and_key(invoke, db):
    keys = ",".join(k for k, _ in MAZUR_SOLUTION)
    result = invoke("quiz", MAZUR, "--only", keys, "--db", str(db), input=lines(*["skip"] * 41))
    out = result.stdout
    for line in ("[1/41] net input of h1 (net_h1)  [key net1_1]",
                 "[3/41] output of h1 (out_h1)  [key out1_1]",
                 "[9/41] o1's share of the loss (E_o1)  [key loss_1]",
                 "[11/41] the total loss (E_total)  [key loss]",
                 "derivative of the loss with respect to the output of o1 (dE_total/dout_o1)  [key dL_dout2_1]",
                 "derivative of o1's activation, dout/dnet (dout_o1/dnet_o1)  [key dout_dnet2_1]",
                 "delta of o1, the loss's derivative with respect to its net input (delta_o1)",
                 "gradient of the loss with respect to w5 (h1 -> o1) (dE_total/dw5)  [key dL_dw2_1_1]",
                 "gradient of the loss with respect to b2 (dE_total/db2)  [key dL_db2]",
                 "w1 after the update (i1 -> h1) (w1+)  [key new_w1_1_1]"):
        assert flat(line) in flat(out), line


def test_default_notation_says_neuron(invoke, db):
    result = invoke("quiz", EX02, "--limit", "1", "--db", str(db), input=lines("skip"))
    assert "net input of neuron 1^1 (net_1^1)" in result.stdout


def test_the_problem_is_shown_first(invoke, db):
    result = invoke("quiz", MAZUR, "--limit", "1", "--db", str(db))
    out = result.stdout
    assert out.index("w5 = 0.4") < out.index("[1/1]")
    assert "i1 = 0.05, i2 = 0.1" in out and "t_o1 = 0.01, t_o2 = 0.99" in out and "eta = 0.5" in out


# -- generated problems ---------------------------------------------------------------------------------


def test_generated_problem_same_seed_same_problem(invoke, db):
    import yaml

    first = quiz_json(invoke, "--seed", "7", "--shape", "2-2-2", "--db", str(db), input="")
    second = quiz_json(invoke, "--seed", "7", "--db", str(db), input="")
    other = quiz_json(invoke, "--seed", "8", "--db", str(db), input="")
    assert first["problem"]["hash"] == second["problem"]["hash"] != other["problem"]["hash"]
    assert first["problem"]["seed"] == 7 and first["problem"]["path"] is None
    # 2-2-2, a bias per neuron, biases updated: forward, loss, backward (per layer: dL/dout, dout/dnet
    # and delta for 2 neurons, 4 weight and 2 bias gradients), updates (per layer: 4 weights, 2 biases).
    assert first["questions"] == 8 + 3 + 2 * (6 + 4 + 2) + 2 * (4 + 2)

    from tutor.problem.generate import generate_problem

    problem = yaml.safe_load(generate_problem(7, (2, 2, 2)))
    w, b, x = problem["layers"][0]["weights"][0], problem["layers"][0]["biases"][0], problem["inputs"]
    net = w[0] * x[0] + w[1] * x[1] + b
    result = invoke("quiz", "--seed", "7", "--limit", "1", "--db", str(db), input=lines(num(net)))
    assert "Correct" in result.stdout
    assert "--seed 7" in result.stdout  # how to get the same problem again
    assert rows(db)[-1]["problem_hash"] == first["problem"]["hash"]


def test_generated_problem_options(invoke, db):
    data = quiz_json(invoke, "--seed", "3", "--shape", "3-2-1", "--activation", "tanh", "--loss", "mse",
                     "--db", str(db), input="")
    assert data["problem"]["name"].startswith("Practice 3-2-1")
    # 3-2-1: forward 2 + 2 + 1 + 1; loss share and loss; backward: output (3 + 2 weights + 1 bias), hidden
    # (2 * 3 + 6 weights + 2 biases); updates: 2 + 1 and 6 + 2.
    assert data["questions"] == 6 + 2 + (3 + 2 + 1) + (6 + 6 + 2) + (2 + 1) + (6 + 2)
    relu = quiz_json(invoke, "--seed", "3", "--activation", "relu", "--allow-saturated", "--db", str(db), input="")
    assert relu["problem"]["generated"] is True


def test_generator_options_with_a_problem_file_are_an_error(invoke, db):
    result = invoke("quiz", MAZUR, "--seed", "7", "--db", str(db))
    assert result.exit_code == 2
    assert "--seed is for generated problems" in result.stderr


# -- answer sheets ----------------------------------------------------------------------------------


def test_answer_sheet(invoke, db, tmp_path):
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text(f"net_h1: 0.5\nnet1_2: {num(NET_H2)}\nout_h1: {num(sig(0.5))}\nout1_2: abc\nbogus: 1\n")
    data = quiz_json(invoke, MAZUR, "--answers", str(sheet), "--db", str(db))
    by_key = {r["key"]: r for r in data["results"]}
    assert len(data["results"]) == 41 and data["max_score"] == 41
    assert by_key["net1_1"]["verdict"] == "wrong"
    assert by_key["net1_2"]["verdict"] == "correct"
    assert by_key["out1_1"]["verdict"] == "follow_through"  # from the sheet's own net_h1
    assert by_key["out1_2"]["verdict"] == "invalid" and by_key["out1_2"]["error"]
    assert by_key["net2_1"]["verdict"] == "missing" and by_key["net2_1"]["answer"] is None
    assert data["score"] == 2
    assert all(r["tries"] <= 1 for r in data["results"])
    # The sheet's answers are saved; what it leaves out is not.
    assert [r["key"] for r in rows(db)] == ["net1_1", "net1_2", "out1_1", "out1_2"]


def test_answer_sheet_diagnosis(invoke, db, tmp_path):
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text(f"dE_total/dw6: {num(DELTA_O2 * OUT_H1)}\nw5+: {num(W5 + ETA * G5)}\n")
    data = quiz_json(invoke, MAZUR, "--answers", str(sheet), "--only", "dE_total/dw6,w5+", "--db", str(db))
    assert [(r["key"], r["verdict"], r["diagnosis"]) for r in data["results"]] == [
        ("dL_dw2_1_2", "wrong", "weight_index_swapped"), ("new_w2_1_1", "wrong", "update_sign_flipped")]


def test_answer_sheet_text_shows_every_miss_worked(invoke, db, tmp_path):
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text("net_h1: 0.5\nbogus: 1\n")
    result = invoke("quiz", MAZUR, "--answers", str(sheet), "--focus", "forward", "--db", str(db))
    assert result.exit_code == 0
    assert "> 0.5" in result.stdout
    assert "Worked line: net_h1 =" in result.stdout
    assert "[2-8/8] left blank: net_h2, out_h1, out_h2, net_o1, net_o2, out_o1, out_o2" in result.stdout
    assert "No answer given." not in result.stdout
    assert "warning:" in result.stderr and "bogus" in result.stderr


# -- JSON shape ---------------------------------------------------------------------------------------


def test_json_result_fields(invoke, db):
    data = quiz_json(invoke, MAZUR, "--only", "out_h1", "--db", str(db), input=lines("0.7", "0.7"))
    assert set(data) >= {"problem", "results", "score", "max_score", "questions", "stopped", "seconds",
                         "tolerance", "sections", "mistakes"}
    (result,) = data["results"]
    assert set(result) >= {"key", "answer", "verdict", "diagnosis"}
    assert result["answer"] == 0.7 and result["verdict"] == "wrong" and result["diagnosis"] is None
    assert result["expected"] == pytest.approx(OUT_H1)


def test_json_prints_nothing_else(invoke, db):
    result = invoke("quiz", MAZUR, "--db", str(db), "-f", "json", input=lines(num(NET_H1), "0.1", "0.1"))
    json.loads(result.stdout)  # the whole of standard output is one JSON document
    assert result.stderr == ""


# -- the default database -----------------------------------------------------------------------------


def test_default_database_is_under_xdg_data_home(invoke, tmp_path):
    result = invoke("quiz", MAZUR, "--limit", "1", input=lines(num(NET_H1)))
    assert result.exit_code == 0
    path = tmp_path / "xdg" / "backprop-tutor" / "progress.sqlite3"
    assert [r["key"] for r in rows(path)] == ["net1_1"]
    assert f"Progress saved to {path} " in flat(result.stdout)


def test_unusable_database_is_a_user_error(invoke, tmp_path):
    bad = tmp_path / "not-a-db.sqlite3"
    bad.write_text("this is not a database\n" * 100)
    result = invoke("quiz", MAZUR, "--db", str(bad), input="")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "progress database" in result.stderr


# -- review -------------------------------------------------------------------------------------------


def test_review_asks_what_was_wrong_first(invoke, db):
    # First session: net inputs right, outputs wrong, the loss right.
    first = invoke("quiz", MAZUR, "--only", "net_h1,out_h1,E_o1", "--db", str(db),
                   input=lines(num(NET_H1), "0.7", "0.7", num(E_O1)))
    assert first.exit_code == 0
    result = invoke("quiz", MAZUR, "--review", "--focus", "forward", "--db", str(db), input=lines(*["skip"] * 8))
    # Only outputs are due (net was right last session): every output, in solution order.
    assert asked_keys(result.stdout) == ["out1_1", "out1_2", "out2_1", "out2_2"]
    assert "Review: out" in result.stdout
    # Over the whole problem: outputs first (error 1), then kinds never practised (0.5).
    result = invoke("quiz", MAZUR, "--review", "--limit", "6", "--db", str(db), input=lines(*["skip"] * 6))
    keys = asked_keys(result.stdout)
    assert keys[:4] == ["out1_1", "out1_2", "out2_1", "out2_2"]
    assert keys[4:] == ["dL_dout2_1", "dout_dnet2_1"]  # then unpractised kinds, in solution order


def test_review_without_history_asks_everything_in_order(invoke, db):
    result = invoke("quiz", MAZUR, "--review", "--limit", "3", "--db", str(db), input=lines("skip", "skip", "skip"))
    assert "Nothing to review yet" in result.stdout
    assert asked_keys(result.stdout) == ["net1_1", "net1_2", "out1_1"]


# -- the session engine on its own -----------------------------------------------------------------


@pytest.fixture(scope="module")
def mazur_trace():
    from tutor.solver import solve

    return solve(ROOT / MAZUR)


class ListLog:
    def __init__(self):
        self.saved = []

    def save(self, record):
        self.saved.append(record)


def run_session(trace, keys, replies, log=None, **kwargs):
    from tutor.teach.judge import Judge
    from tutor.teach.quiz import QuizSession, Recorder, select_questions

    questions = select_questions(trace, only=keys)
    events = Recorder()
    queue = list(replies)

    def read(question):
        if not queue:
            return None
        reply = queue.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    outcome = QuizSession(Judge(trace), questions, events, log, **kwargs).run(read)
    return outcome, events.events


def test_session_events(mazur_trace):
    from tutor.teach.quiz import Asked, HintGiven, Invalid, Judged, Revealed

    outcome, events = run_session(mazur_trace, ["net_h1", "out_h1"],
                                  ["nope", "0.5", "0.5", "hint", "hint", num(sig(0.5))])
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Asked", "Invalid", "Judged", "Judged", "Revealed", "Asked", "HintGiven", "HintGiven", "Judged"]
    assert isinstance(events[1], Invalid) and "nope" in events[1].message
    assert events[2].final is False and events[3].final is True and events[4].automatic
    hint = events[7]
    assert isinstance(hint, HintGiven) and hint.level == 2
    assert hint.sources == (("net_h1", "revealed", 1),)
    assert hint.student.substituted(lambda v: f"{v:g}") == "sigmoid(0.3775)"  # the revealed value
    assert isinstance(events[-1], Judged) and events[-1].follows == (("net_h1", "0.5"),)
    assert [r.verdict for r in outcome.results] == ["wrong", "follow_through"]
    assert (outcome.score, outcome.max_score, outcome.stopped) == (1, 2, "end")
    assert isinstance(events[0], Asked) and isinstance(events[4], Revealed)


def test_session_saves_every_change(mazur_trace):
    log = ListLog()
    run_session(mazur_trace, ["net_h1"], ["0.5", "hint", num(NET_H1)], log)
    assert [(r.verdict, r.tries, r.hints) for r in log.saved] == [("wrong", 1, 0), ("wrong", 1, 1), ("correct", 2, 1)]
    assert {r.position for r in log.saved} == {1}


def test_session_keyboard_interrupt_keeps_what_was_answered(mazur_trace):
    log = ListLog()
    outcome, _ = run_session(mazur_trace, ["net_h1", "net_h2", "out_h1"],
                             [num(NET_H1), "0.1", KeyboardInterrupt()], log)
    assert outcome.stopped == "interrupt"
    assert [(r.key, r.verdict) for r in log.saved] == [("net1_1", "correct"), ("net1_2", "wrong")]
    assert [r.verdict for r in outcome.results] == ["correct", "wrong"]


def test_interrupt_during_saving_is_held_until_the_answer_is_saved(mazur_trace):
    import os
    import signal

    class InterruptedLog(ListLog):
        def save(self, record):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives while the answer is being saved
            super().save(record)

    log = InterruptedLog()
    outcome, _ = run_session(mazur_trace, ["net_h1", "net_h2"], [num(NET_H1), num(NET_H2)], log)
    assert outcome.stopped == "interrupt"
    assert [r.key for r in log.saved] == ["net1_1"]  # saved in full, then the interrupt took effect
    assert [r.key for r in outcome.results] == ["net1_1"]


def test_select_questions_review_order(mazur_trace):
    from tutor.teach.progress import ReviewState
    from tutor.teach.quiz import select_questions

    def state(kind, error, due=True):
        return ReviewState(kind, 3, error, 0 if due else 2, 0, due)

    review = {"net": state("net", 0.2), "out": state("out", 0.9), "loss": state("loss", 0.0, due=False),
              "dloss_dout": state("dloss_dout", 0.5), "dout_dnet": state("dout_dnet", 0.5)}
    keys = [q.key for q in select_questions(mazur_trace, focus="all", review=review)]
    assert keys[:4] == ["out1_1", "out1_2", "out2_1", "out2_2"]
    assert keys[4:8] == ["dL_dout2_1", "dout_dnet2_1", "dL_dout2_2", "dout_dnet2_2"]  # both 0.5: solution order
    assert "loss" not in keys  # not due
    assert [k for k in keys if k.startswith("net")] == ["net1_1", "net1_2", "net2_1", "net2_2"]


# -- start-up -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["quiz", "progress"])
def test_help_imports_no_numpy(command):
    from tests.test_startup import _heavy_modules_after

    assert _heavy_modules_after(command, "--help") == ""


def test_python_dash_m_runs_the_quiz(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "tutor", "quiz", MAZUR, "--only", "net_h1", "--db",
                             str(tmp_path / "p.sqlite3"), "-f", "json"], input="0.3775\n", capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["verdict"] == "correct"
