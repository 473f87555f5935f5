"""The command line: every command, option and error path, through typer's CliRunner."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import BUNDLED, ROOT

MAZUR = "problems/mazur-2-2-2.yaml"
EX02 = "problems/ex02-3-3-2-2.yaml"
ANSI = re.compile(r"\x1b\[")


def test_help_lists_every_command(invoke):
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("solve", "check", "list"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["solve", "check", "list"])
def test_every_command_has_help(invoke, command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_version(invoke):
    from tutor import __version__

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"backprop-tutor {__version__}"


def test_no_arguments_shows_help(invoke):
    result = invoke()
    assert "Usage" in result.output


def test_solve_text_shows_every_section_without_colour(invoke):
    result = invoke("solve", MAZUR)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for heading in ("Forward pass", "Loss", "Backward pass", "Updates", "Summary"):
        assert heading in out
    assert not ANSI.search(out)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "0.4 -> 0.358916" in out  # w5 old -> new
    assert "E_total before the update: 0.298371" in out


def test_solve_accepts_a_bundled_name_and_a_unique_prefix(invoke):
    by_name = invoke("solve", "mazur-2-2-2", "-f", "json")
    by_prefix = invoke("solve", "mazur", "-f", "json")
    assert by_name.exit_code == by_prefix.exit_code == 0
    assert json.loads(by_name.stdout)["loss"] == json.loads(by_prefix.stdout)["loss"]


def test_solve_json_has_the_documented_fields(invoke):
    result = invoke("solve", MAZUR, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["loss"] == pytest.approx(0.298371109, abs=5e-10)
    assert "history" not in data
    assert len(data["layers"]) == 2
    for layer in data["layers"]:
        for field in ("net", "out", "delta", "grad_weights", "grad_biases", "new_weights", "new_biases"):
            assert field in layer
    assert data["layers"][1]["new_weights"][0][0] == pytest.approx(0.35891648, abs=5e-9)
    assert data["layers"][0]["new_biases"] == 0.35  # a shared bias keeps the file's shape; biases are kept
    kinds = {q["kind"] for q in data["quantities"]}
    assert kinds == {"net", "out", "loss", "dloss_dout", "dout_dnet", "delta", "grad_weight", "grad_bias",
                     "new_weight"}
    by_key = {q["key"]: q for q in data["quantities"]}
    w5 = by_key["dL_dw2_1_1"]
    assert w5["layer"] == 2 and w5["index"] == [1, 1]
    assert w5["value"] == pytest.approx(0.082167041, abs=5e-10)
    assert set(w5["depends_on"]) == {"delta2_1", "out1_1"}
    assert by_key["loss"]["layer"] is None


def test_solve_json_batch_has_one_row_per_sample(invoke):
    data = json.loads(invoke("solve", "problems/fish-2-4-3.yaml", "-f", "json").stdout)
    assert data["problem"]["batch"] is True
    assert len(data["layers"][0]["net"]) == 4 and len(data["layers"][0]["net"][0]) == 4
    assert data["layers"][1]["dout_dnet"] is None  # softmax
    net = next(q for q in data["quantities"] if q["key"] == "net2_3@4")
    assert net["index"] == [4, 3]
    # softmax + cross-entropy: delta = P - Y
    delta = data["layers"][1]["delta"]
    out = data["layers"][1]["out"]
    labels = [0, 1, 2, 1]
    for s, label in enumerate(labels):
        for j in range(3):
            assert delta[s][j] == pytest.approx(out[s][j] - (1.0 if j == label else 0.0), abs=1e-15)


def test_steps_give_a_history_of_n_plus_one_losses(invoke):
    data = json.loads(invoke("solve", MAZUR, "--steps", "3", "-f", "json").stdout)
    history = data["history"]
    assert len(history) == 4
    assert history[0] == pytest.approx(data["loss"])
    assert history[1] == pytest.approx(data["loss_after_update"])
    assert history == sorted(history, reverse=True)  # the loss falls at this learning rate


def test_steps_in_text_show_the_history(invoke):
    result = invoke("solve", MAZUR, "--steps", "10000")
    assert result.exit_code == 0
    assert "Loss over 10000 steps" in result.stdout
    assert "3.51019e-05" in result.stdout  # after 10,000 updates
    assert "3.51085e-05" in result.stdout  # after 9,999: the blog's figure


def test_only_shows_the_chain_and_path_sum(invoke):
    result = invoke("solve", EX02, "--only", "new_w1_1_1", "-f", "plain")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Path-sum: dL/dw_11^1 over 4 paths" in out
    assert out.count("-> w_11^1") == 4  # one line per path, each ending at the weight
    assert "net_1^1" in out and "delta_1^1" in out  # the chain behind it
    assert "Updates" not in out  # only the derivation


def test_only_accepts_display_labels_and_several_keys(invoke):
    result = invoke("solve", MAZUR, "--only", "w5+, dE_total/dw1")
    assert result.exit_code == 0
    assert "w5+  (new_w2_1_1)" in result.stdout
    assert "dE_total/dw1  (dL_dw1_1_1)" in result.stdout


def test_only_in_json_keeps_just_those_quantities(invoke):
    data = json.loads(invoke("solve", MAZUR, "--only", "w5+,loss", "-f", "json").stdout)
    assert [q["key"] for q in data["quantities"]] == ["loss", "new_w2_1_1"]


def test_unknown_key_is_a_clear_error(invoke):
    result = invoke("solve", MAZUR, "--only", "new_w2_1_9")
    assert result.exit_code == 2
    assert "no quantity 'new_w2_1_9'" in result.stderr
    assert "did you mean" in result.stderr
    assert "Traceback" not in result.output


def test_digits_changes_precision(invoke):
    coarse = invoke("solve", MAZUR, "--digits", "3").stdout
    fine = invoke("solve", MAZUR, "--digits", "9").stdout
    assert "0.593" in coarse and "0.593269992" not in coarse
    assert "0.593269992" in fine


@pytest.mark.parametrize("digits", ["0", "18", "x"])
def test_bad_digits_are_usage_errors(invoke, digits):
    result = invoke("solve", MAZUR, "--digits", digits)
    assert result.exit_code == 2


def test_missing_file(invoke):
    result = invoke("solve", "no/such/file.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no/such/file.yaml: no such problem file"


def test_unknown_bundled_name(invoke):
    result = invoke("solve", "nosuchproblem")
    assert result.exit_code == 2
    assert "no bundled problem of that name" in result.stderr


def test_invalid_problem_is_one_line_and_exit_2(invoke, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / EX02).read_text().replace("      - [0.5, 0.1]\n", "      - [0.5]\n"))
    result = invoke("solve", str(bad))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {bad}:")
    assert "layers[2].weights" in lines[0]
    assert "Traceback" not in result.output


def test_output_out_of_range_for_bce_is_an_error(invoke, tmp_path):
    bad = tmp_path / "linear-bce.yaml"
    bad.write_text("inputs: [1.0]\ntargets: [1.0]\nlayers:\n  - weights: [[2.0]]\n    biases: [0.5]\n"
                   "    activation: linear\nloss: bce\nlearning_rate: 0.1\n")
    result = invoke("solve", str(bad))
    assert result.exit_code == 2
    assert "bce needs every output strictly between 0 and 1" in result.stderr


def test_check_reports_every_file(invoke, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs: [1]\n")
    result = invoke("check", MAZUR, str(bad), EX02)
    assert result.exit_code == 2
    shown = " ".join(result.stdout.split())  # each line wrapped to the width
    assert f"{MAZUR}: ok, 2-2-2 sigmoid/sigmoid, half_sse, 1 sample, learning rate 0.5" in shown
    assert f"{EX02}: ok, 3-3-2-2 relu/tanh/sigmoid" in shown
    assert "missing key 'layers'" in result.stderr
    assert "1 of 3 problem files are invalid" in result.stderr


def test_check_all_bundled(invoke):
    result = invoke("check", *[str(p.relative_to(ROOT)) for p in BUNDLED])
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": ok,") == len(BUNDLED)


def test_list_shows_every_bundled_problem(invoke):
    result = invoke("list")
    assert result.exit_code == 0
    for path in BUNDLED:
        assert path.stem in result.stdout


def test_plain_format_is_ascii(invoke):
    result = invoke("solve", "problems/fish-2-4-3.yaml", "-f", "plain")
    assert result.exit_code == 0
    assert result.stdout.isascii()
    assert "Matrix view" in result.stdout and "dZ2.T @ A1 / 4" in result.stdout


def test_user_text_is_not_read_as_markup(invoke, tmp_path):
    problem = tmp_path / "markup.yaml"
    problem.write_text((ROOT / "problems/perceptron-2-1.yaml").read_text()
                       .replace("inputs: [X1, X2]", "inputs: ['x[1]', '[bold]x2[/bold]']"))
    result = invoke("solve", str(problem), "-f", "plain")
    assert result.exit_code == 0, result.output
    assert "x[1]" in result.stdout and "[bold]x2[/bold]" in result.stdout


INVALID_FILES = {
    "not yaml": ("inputs: [1, 2\n", "not valid YAML"),
    "not a mapping": ("- 1\n- 2\n", "expected a problem (a mapping of keys to values)"),
    "unknown key": ("inputs: [1]\ntargets: [1]\nlayers: []\nloss: mse\nlearning_rte: 0.1\n", "did you mean 'learning_rate'"),
    "python tag": ("inputs: !!python/object/apply:os.system ['true']\n", "is not allowed"),
    "negative rate": ((ROOT / MAZUR).read_text().replace("learning_rate: 0.5", "learning_rate: -0.5"),
                      "learning_rate: must not be negative"),
    "softmax hidden": ((ROOT / EX02).read_text().replace("activation: relu", "activation: softmax"),
                       "softmax is only allowed in the output layer"),
    "nan weight": ((ROOT / MAZUR).read_text().replace("[0.15, 0.20]", "[.nan, 0.20]"), "numbers must be finite"),
}


@pytest.mark.parametrize("name", sorted(INVALID_FILES))
def test_invalid_files_exit_2_with_one_line(invoke, tmp_path, name):
    text, message = INVALID_FILES[name]
    path = tmp_path / "problem.yaml"
    path.write_text(text)
    for command in ("solve", "check"):
        result = invoke(command, str(path))
        assert result.exit_code == 2, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], result.stderr
        assert str(path) in errors[0]
        assert "Traceback" not in result.output


def test_wide_layers_are_elided_in_text(invoke, tmp_path):
    width = 30  # 60 net/out rows in layer 1: more than a table shows
    row = "[" + ", ".join(["0.1"] * 2) + "]"
    problem = tmp_path / "wide.yaml"
    problem.write_text(
        "inputs: [0.5, 0.2]\ntargets: [0.3]\nlayers:\n"
        f"  - {{weights: [{', '.join([row] * width)}], biases: 0.1, activation: tanh}}\n"
        f"  - {{weights: [[{', '.join(['0.05'] * width)}]], biases: [0.2], activation: sigmoid}}\n"
        "loss: half_sse\nlearning_rate: 0.1\n")
    result = invoke("solve", str(problem), "-f", "plain")
    assert result.exit_code == 0, result.output
    assert "20 more rows (see --only KEY or --format json)" in result.stdout  # 60 rows, 40 shown
    # the forward table lists the 30 nets, then the 30 outputs: the first and last 20 rows are shown
    assert "| net_20^1 " in result.stdout and "| net_21^1 " not in result.stdout
    assert "| out_11^1 " in result.stdout and "| out_10^1 " not in result.stdout
