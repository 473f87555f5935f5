"""Computational graphs: parsing, gates, the backward pass, the published examples and random graphs.

Every number is checked against an independent computation: cs231n's and micrograd's published numbers,
central finite differences of an independent evaluation of the expressions (Python's own arithmetic on the
assignments, run in order), and PyTorch's autograd where it is installed.
"""

from __future__ import annotations

import json
import math
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import BUNDLED_GRAPHS, PROBLEMS
from tutor.errors import ProblemError, UserError
from tutor.model.gates import GATES, gate
from tutor.problem.loader import parse_problem
from tutor.solver import solve
from tutor.teach.expression import evaluate

GRAPHS = PROBLEMS / "graphs"


def graph(lines: list[str], inputs: dict[str, float], extra: str = "") -> str:
    body = "\n".join(f"  - {json.dumps(line)}" for line in lines)
    values = ", ".join(f"{k}: {v!r}" for k, v in inputs.items())
    return f"graph:\n{body}\ninputs: {{{values}}}\n{extra}"


# -- the published examples ------------------------------------------------------------------------------


def test_micrograd_readme_numbers():
    trace = solve(GRAPHS / "micrograd-readme.yaml")
    assert f"{trace.loss:.4f}" == "24.7041"
    assert f"{trace.gradients['a']:.4f}" == "138.8338"
    assert f"{trace.gradients['b']:.4f}" == "645.5773"
    assert trace["dg_da"].value == trace.gradients["a"]


def test_cs231n_add_multiply_circuit():
    trace = solve(GRAPHS / "cs231n-circuit.yaml")
    assert trace["q"].value == 3 and trace["f"].value == -12
    assert (trace["df_dx"].value, trace["df_dy"].value, trace["df_dz"].value) == (-4, -4, 3)
    assert trace["df_dq"].value == -4  # the multiply gate swaps: df/dq = z


def test_cs231n_sigmoid_neuron():
    """cs231n's numbers: f = 0.73, dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59]."""
    trace = solve(GRAPHS / "cs231n-sigmoid.yaml")
    assert round(trace.loss, 2) == 0.73
    grads = {name: round(trace.gradients[name], 2) for name in ("w0", "w1", "w2", "x0", "x1")}
    assert grads == {"w0": -0.2, "w1": -0.39, "w2": 0.2, "x0": 0.39, "x1": -0.59}
    # the sigmoid gate's local gradient (1 - f) f = 0.2 on the whole: the product of its gates' locals
    assert round(trace["df_dg4"].value, 2) == 0.2


# -- an independent evaluation: the assignments run by Python, in order --------------------------------------

FUNCTIONS = {"exp": math.exp, "ln": math.log, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh,
             "sigmoid": lambda x: 1 / (1 + math.exp(-x)), "relu": lambda x: max(x, 0.0), "abs": abs,
             "max": max, "min": min}


def run_python(lines: list[str], inputs: dict[str, float]) -> dict[str, float]:
    """The names' final values, the assignments executed by Python (test-only: the texts are our own)."""
    scope = dict(inputs)
    for line in lines:
        exec(line.replace("^", "**"), dict(FUNCTIONS), scope)
    return scope


def finite_difference(lines: list[str], inputs: dict[str, float], output: str, leaf: str, h: float = 1e-6) -> float:
    up = run_python(lines, {**inputs, leaf: inputs[leaf] + h})[output]
    down = run_python(lines, {**inputs, leaf: inputs[leaf] - h})[output]
    return (up - down) / (2 * h)


UNARY = ("exp", "tanh", "sigmoid", "relu", "abs", "ln", "sqrt", "neg")
BINARY = ("+", "-", "*", "/", "max", "min")


def random_graph(rng: random.Random) -> tuple[list[str], dict[str, float]]:
    """A random program of 3 to 6 assignments over 2 to 4 leaves, reusing values (fan-out) and names (+=)."""
    leaves = {name: round(rng.uniform(-2, 2), 2) or 0.5 for name in "abcd"[:rng.randint(2, 4)]}
    names = list(leaves)
    lines = []

    def term() -> str:
        name = rng.choice(names)
        kind = rng.random()
        if kind < 0.3:
            function = rng.choice(UNARY)
            if function in ("ln", "sqrt"):
                return f"{function}(1 + {name}^2)"
            return f"-{name}" if function == "neg" else f"{function}({name})"
        if kind < 0.4:
            return f"{name}^{rng.choice([2, 3])}"
        return name

    for n in range(rng.randint(3, 6)):
        op = rng.choice(BINARY)
        left, right = term(), term()
        if op == "/":
            expr = f"{left} / (2 + {right}^2)"
        elif op in ("max", "min"):
            expr = f"{op}({left}, {right})"
        else:
            expr = f"{left} {op} {right}"
        if lines and rng.random() < 0.3:
            target = rng.choice([line.split()[0] for line in lines])
            lines.append(f"{target} {rng.choice(['+=', '*=', '-='])} {expr}")
        else:
            target = f"v{n}"
            lines.append(f"{target} = {expr}")
            names.append(target)
    return lines, leaves


def _smooth(trace) -> bool:
    """No kink or tie within the finite difference's reach (relu at 0, abs at 0, max of equals)."""
    values = trace.values
    for node in trace.problem.gates:
        xs = [values[o] if isinstance(o, str) else o for o in node.operands]
        if node.op in ("relu", "abs") and abs(xs[0]) < 1e-3:
            return False
        if node.op in ("max", "min") and abs(xs[0] - xs[1]) < 1e-3:
            return False
    return True


def _random_traces(count: int, seed: int = 7):
    rng = random.Random(seed)
    made = 0
    while made < count:
        lines, leaves = random_graph(rng)
        trace = solve(parse_problem(graph(lines, leaves)))
        if _smooth(trace) and abs(trace.loss) < 1e6:
            made += 1
            yield lines, leaves, trace


@pytest.mark.parametrize("case", range(40))
def test_random_graphs_agree_with_python_and_finite_differences(case):
    lines, leaves, trace = list(_random_traces(1, seed=case))[0]
    final = run_python(lines, leaves)
    output = lines[-1].split()[0]
    assert trace.output == output
    assert trace.loss == pytest.approx(final[output], rel=1e-12, abs=1e-12)
    for name in final:  # every name's latest value
        if name not in leaves:
            assert trace.values[name] == pytest.approx(final[name], rel=1e-12, abs=1e-12)
    for leaf in leaves:
        expected = finite_difference(lines, leaves, output, leaf)
        assert trace.gradients.get(leaf, 0.0) == pytest.approx(expected, rel=1e-5, abs=1e-6), (lines, leaf)


def test_every_intermediate_gradient_agrees_with_a_finite_difference_at_that_node():
    """d o / d n for every gate n: nudge n's value and run the gates after it again."""
    for lines, leaves, trace in _random_traces(15, seed=99):
        problem = trace.problem
        for node in problem.gates:
            if node.name not in trace.gradients:
                continue
            estimate = (_output_with(problem, node.name, +1e-6) - _output_with(problem, node.name, -1e-6)) / 2e-6
            assert trace.gradients[node.name] == pytest.approx(estimate, rel=1e-5, abs=1e-6), (lines, node.name)


def _output_with(problem, name: str, nudge: float) -> float:
    values = dict(problem.inputs)
    for node in problem.gates:
        xs = [values[o] if isinstance(o, str) else o for o in node.operands]
        values[node.name] = gate(node.op).value(xs) + (nudge if node.name == name else 0.0)
    return values[problem.output]


def _not_in_place(line: str) -> str:
    """``c += e`` as ``c = c + (e)``: a tensor updated in place would change its earlier version too."""
    match = re.match(r"\s*(\w+)\s*([-+*/])=(.*)", line)
    line = f"{match[1]} = {match[1]} {match[2]} ({match[3]})" if match else line
    return line.replace("^", "**")


def test_random_graphs_and_the_published_examples_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    cases = [(lines, leaves) for lines, leaves, _ in _random_traces(30, seed=3)]
    for path in BUNDLED_GRAPHS:
        trace = solve(path)
        cases.append(([s.text for s in trace.problem.statements], dict(trace.problem.inputs)))
    functions = {"exp": torch.exp, "ln": torch.log, "log": torch.log, "sqrt": torch.sqrt, "tanh": torch.tanh,
                 "sigmoid": torch.sigmoid, "relu": torch.relu, "abs": torch.abs, "max": torch.maximum,
                 "min": torch.minimum}
    for lines, leaves in cases:
        trace = solve(parse_problem(graph(lines, leaves)))
        scope = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in leaves.items()}
        tensors = {}
        for line, statement in zip(lines, trace.problem.statements):
            exec(_not_in_place(line), dict(functions), scope)
            tensors[statement.gates[-1]] = scope[line.split()[0]]
            tensors[statement.gates[-1]].retain_grad()
        out = tensors[trace.output]
        out.backward()
        assert trace.loss == pytest.approx(out.item(), rel=1e-12, abs=1e-12)
        for leaf in leaves:
            expected = scope[leaf].grad.item() if scope[leaf].grad is not None else 0.0
            assert trace.gradients.get(leaf, 0.0) == pytest.approx(expected, rel=1e-9, abs=1e-12), (lines, leaf)
        for name, tensor in tensors.items():  # every assigned name, each version
            assert trace.values[name] == pytest.approx(tensor.item(), rel=1e-12, abs=1e-12)
            if name in trace.gradients and tensor.grad is not None:
                assert trace.gradients[name] == pytest.approx(tensor.grad.item(), rel=1e-9, abs=1e-12)


def assert_lines_read_back(trace) -> list[str]:
    """Each quantity's formula with numbers (full precision) evaluates to its value; the texts, for more checks."""
    texts = []
    for q in trace.quantities:
        text = q.substituted(lambda v: repr(float(v)), lambda v: repr(float(v)))
        assert evaluate(text, formulas=True) == pytest.approx(q.value, rel=1e-9, abs=1e-12), (q.key, text)
        texts.append(text)
    return texts


def test_kinks_and_powers_agree_with_pytorch():
    """relu and abs at 0, x^0 at 0 (the constant 1: gradient 0), x^-1, x^0.5, fan-out and a reassignment; the
    worked lines read back as their values."""
    torch = pytest.importorskip("torch")
    lines = ["c = a * z + a", "c += c + 1", "p = z^0 + a^-1 + b^0.5 + relu(z) + abs(z)", "d = c / b + p * a"]
    trace = solve(parse_problem(graph(lines, {"a": 2.0, "b": 3.0, "z": 0.0})))
    a, b, z = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (2.0, 3.0, 0.0))
    c = a * z + a
    c = c + (c + 1)
    p = z ** 0 + a ** -1 + b ** 0.5 + torch.relu(z) + torch.abs(z)
    d = c / b + p * a
    d.backward()
    assert trace.loss == pytest.approx(d.item(), rel=1e-12)
    for name, tensor in (("a", a), ("b", b), ("z", z)):
        assert trace.gradients[name] == pytest.approx(tensor.grad.item(), rel=1e-12, abs=1e-12), name
    assert_lines_read_back(trace)


def test_constants_are_shown_as_written_not_to_17_digits():
    """0.1 is 0.1 (not 0.10000000000000001), and the power rule's n - 1 for n = 1.1 is 0.1; each line still
    reads back as its value."""
    trace = solve(parse_problem(graph(["y = a * 0.1 + a^0.3 + a^1.1"], {"a": 2.0})))
    assert [f"{g} = {trace[g].symbolic()}" for g in trace.problem.statements[0].gates[:2]] == \
        ["g1 = a * 0.1", "g2 = a^0.3"]
    local = [q for q in trace.quantities if q.kind == "graph_local" and q.key.startswith("dg4_")]
    assert [q.symbolic() for q in local] == ["1.1 * a^0.1"]
    assert local[0].value == pytest.approx(1.1 * 2 ** 0.1, rel=1e-15)
    assert not [t for t in assert_lines_read_back(trace) if "0000000" in t or "9999999" in t]


def test_a_tie_sends_max_and_mins_gradient_to_the_first_argument():
    """As docs/problem-format.md says: max(a, b) and min(a, b) with a = b = 2 give d/da = 1, d/db = 0."""
    trace = solve(parse_problem(graph(["y = max(a, b) + 3 * min(b, a)"], {"a": 2.0, "b": 2.0})))
    assert trace.loss == 8.0
    assert (trace.gradients["a"], trace.gradients["b"]) == (1.0, 3.0)


# -- every gate's local gradient rule --------------------------------------------------------------------------

SAMPLES = {"ln": (0.3, 2.5), "sqrt": (0.3, 2.5), "div": ((-2.0, 0.7), (1.5, -1.3)), "pow": ((1.3, 3.0), (0.8, -1.5)),
           "max": ((0.3, -0.2), (-1.0, 0.5)), "min": ((0.3, -0.2), (-1.0, 0.5))}


@pytest.mark.parametrize("name", list(GATES))
def test_every_local_gradient_agrees_with_a_finite_difference(name):
    g = gate(name)
    samples = SAMPLES.get(name) or ((0.7,), (-1.2,)) if g.arity == 1 else SAMPLES.get(name) or ((0.7, -1.3), (-1.1, 2.0))
    if name in ("ln", "sqrt"):
        samples = ((0.3,), (2.5,))
    for xs in samples:
        xs = list(xs)
        out = g.value(xs)
        positions = [0] if name == "pow" else range(len(xs))
        for p in positions:
            h = 1e-6
            up, down = list(xs), list(xs)
            up[p] += h
            down[p] -= h
            estimate = (g.value(up) - g.value(down)) / (2 * h)
            assert g.local(xs, out, p) == pytest.approx(estimate, rel=1e-6, abs=1e-8), (name, xs, p)


def test_every_displayed_formula_evaluates_to_its_value():
    """Each quantity's formula with numbers (full precision) reads back as its value, for every bundled graph
    and random ones: the worked solution's lines are true."""
    traces = [solve(p) for p in BUNDLED_GRAPHS] + [t for _, _, t in _random_traces(15, seed=5)]
    full = lambda v: repr(float(v))  # noqa: E731
    for trace in traces:
        for q in trace.quantities:
            text = q.substituted(full, full)
            assert evaluate(text, formulas=True) == pytest.approx(q.value, rel=1e-9, abs=1e-12), (q.key, text)


def test_compute_follows_the_inputs_given():
    """`compute` recomputes a quantity from other values of what it depends on (follow-through)."""
    trace = solve(GRAPHS / "cs231n-sigmoid.yaml")
    q = trace["dg6_dg5"]  # exp's local gradient: its own output
    assert q.depends_on == ("g6",) and q.compute(0.5) == 0.5
    product = trace["df_dg5"]
    assert product.depends_on == ("df_dg6", "dg6_dg5") and product.compute(2.0, 3.0) == 6.0


# -- parsing, names and versions ----------------------------------------------------------------------------


def test_gates_get_generated_names_and_reassigned_names_versions():
    trace = solve(GRAPHS / "micrograd-readme.yaml")
    nodes = trace.problem.node
    assert [s.gates[-1] for s in trace.problem.statements] == ["c_1", "d_1", "c_2", "c", "d_2", "d", "e", "f",
                                                               "g_1", "g"]
    assert nodes["c"].operands == ("c_2", "t6") and nodes["c_2"].operands == ("c_1", "t3")
    assert nodes["t3"].operands == ("c_1", 1.0)  # c += c + 1: the c on the right is the earlier c
    assert all(name.startswith("t") for s in trace.problem.statements for name in s.gates[:-1])  # g is taken


def test_precedence_follows_the_answers_language():
    trace = solve(parse_problem(graph(["y = -x^2 + 2^3^2 / 64 - x*-1"], {"x": 3.0})))
    assert trace.loss == -9 + 8 + 3


@pytest.mark.parametrize(("lines", "message", "column"), [
    (["c = a + q"], "unknown name 'q'", 18),
    (["c = a + b", "d = c ^ a"], "the exponent must be a constant number", 31),
    (["c = ln(a)"], "ln of a number <= 0 is undefined (here ln(-4)) at the given values", 14),
    (["c = sqrt(a)"], "sqrt of a negative number is undefined", 14),
    (["c = b / (a + 4)"], "division by zero at the given values", 16),
    (["c = d + 1", "d = a"], "'d' is used before it is assigned", 14),
    (["c = c + 1"], "'c' is used in its own first assignment: a cycle", 14),
    (["c = a +* b"], "expected a number, a name or '(', got '*'", 17),
    (["c = foo(a)"], "'foo' is not a known function", 14),
    (["c = (a + b"], "expected ')', got the end of the expression", 20),
    (["a = b"], "'a' is an input", 10),
    (["c += a"], "'c +=' updates c, which has no value yet", 10),
    (["c = 2 * 3"], "'c' is a constant", 10),
    (["c = a ! b"], "unexpected character '!'", 16),
    (["c = exp(-250 * a)"], "exp overflows at the given values", 14),  # e^1000 (a = -4): said once
])
def test_mistakes_in_expressions_are_located(lines, message, column):
    text = f"graph: {json.dumps(lines)}\ninputs: {{a: -4, b: 2}}\n"
    with pytest.raises(ProblemError) as caught:
        parse_problem(text, source="hw.yaml")
    error = caught.value
    assert message in error.message
    index = 1 if len(lines) > 1 and "d = c ^ a" in lines else 0
    assert str(error).startswith(f"hw.yaml:1:{column}: graph[{index}]: ")


def test_a_block_of_lines_is_located_line_by_line():
    text = "inputs: {a: 1}\ngraph: |\n  b = a + 1\n  c = b * zz\n"
    with pytest.raises(ProblemError) as caught:
        parse_problem(text, source="hw.yaml")
    assert str(caught.value).startswith("hw.yaml:4:11: graph[1]: unknown name 'zz'")


@pytest.mark.parametrize(("extra", "message"), [
    ("output: z\n", "output: 'z' is not a name of the graph (the output is one of: c)"),
    ("parameters: [q]\nlearning_rate: 0.1\n", "parameters[0]: 'q' is not one of the inputs"),
    ("parameters: [a]\n", "missing key 'learning_rate'"),
    ("layers: []\n", "either graph: (a computational graph) or layers: (a network)"),
    ("loss: mse\n", "unknown key"),
])
def test_mistakes_in_the_other_keys_are_located(extra, message):
    with pytest.raises(ProblemError, match=re.escape(message)):
        parse_problem(graph(["c = a + b"], {"a": 1.0, "b": 2.0}, extra), source="hw.yaml")


def test_the_cli_reports_a_mistake_in_one_line_with_exit_code_2(invoke, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("inputs: {a: -4, b: 2}\ngraph:\n  - c = a * b\n  - d = ln(c)\n")
    result = invoke("solve", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}:4:9: graph[1]: ln of a number <= 0 is undefined (here ln(-8)) at the " \
                            "given values\n"


# -- solve: the worked solution, --only, JSON, --steps -----------------------------------------------------


def test_the_worked_solution_shows_fan_out_sums(invoke):
    result = invoke("solve", "problems/graphs/cs231n-circuit.yaml", "--format", "plain")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "| q    | x + y      | x, y   |     3 |" in out
    assert "Gate f = q * z (mul): upstream df/df = 1" in out
    assert "= 3  " in out.split("Gate f")[1]  # df/dz = q = 3


def test_only_shows_a_path_sum_equal_to_the_gradient(invoke):
    result = invoke("solve", "micrograd", "--only", "dg/db", "--format", "plain")
    assert result.exit_code == 0, result.output
    trace = solve(GRAPHS / "micrograd-readme.yaml")
    paths = trace.path_sum("b")
    assert paths.count == len(paths.paths) == trace.path_count("b")
    assert paths.total == pytest.approx(645.5772594752187, rel=1e-12)
    assert f"Path-sum: dg/db over {paths.count} paths" in result.stdout
    assert "645.577" in result.stdout.split("sum")[-1]


def test_json_has_output_gradients_nodes_and_quantities(invoke):
    data = json.loads(invoke("solve", "micrograd", "--format", "json").stdout)
    assert data["output"] == {"name": "g", "value": pytest.approx(24.70408163265306)}
    assert data["gradients"] == {"a": pytest.approx(138.83381924198252), "b": pytest.approx(645.5772594752187)}
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["c"]["op"] == "add" and nodes["c"]["inputs"] == ["c_2", "t6"] and nodes["c"]["assigned"] == "c"
    assert nodes["c_1"]["assigned"] == "c" and nodes["t2"]["inputs"] == ["b", 3.0]
    assert nodes["a"] == {"name": "a", "op": "input", "inputs": [], "value": -4.0, "grad": pytest.approx(138.8338, 1e-6)}
    assert nodes["g"]["grad"] == 1.0
    keys = {q["key"]: q for q in data["quantities"]}
    assert keys["dg_df"]["kind"] == "graph_grad" and keys["dg_df"]["depends_on"] == ["dg_df_via_g_1", "dg_df_via_t15"]
    assert keys["df_de"]["label"] == "df/de" and keys["df_de"]["value"] == -14.0


def test_steps_run_gradient_descent_on_the_parameters(invoke):
    result = invoke("solve", "cs231n-sigmoid", "--steps", "3", "--format", "json")
    data = json.loads(result.stdout)
    w = {"w0": 2.0, "w1": -3.0, "w2": -3.0}
    history = []
    for _ in range(3):  # by hand: the neuron's gradient with respect to its weights, and w - 0.5 g
        z = w["w0"] * -1 + w["w1"] * -2 + w["w2"]
        f = 1 / (1 + math.exp(-z))
        history.append(f)
        g = f * (1 - f)
        w = {"w0": w["w0"] - 0.5 * g * -1, "w1": w["w1"] - 0.5 * g * -2, "w2": w["w2"] - 0.5 * g}
    history.append(1 / (1 + math.exp(-(w["w0"] * -1 + w["w1"] * -2 + w["w2"]))))
    assert data["history"] == pytest.approx(history, rel=1e-12)
    assert data["final"] == pytest.approx(w, rel=1e-12)
    assert invoke("solve", "cs231n-sigmoid", "--steps", "3", "--show-step", "2").exit_code == 0


def test_steps_need_parameters(invoke):
    result = invoke("solve", "cs231n-circuit", "--steps", "2")
    assert result.exit_code == 2 and "--steps needs parameters" in result.stderr


def test_new_graph_is_seeded_and_solvable(invoke, tmp_path):
    first = invoke("new", "--graph", "--seed", "11").stdout
    assert first == invoke("new", "--graph", "--seed", "11").stdout
    assert first != invoke("new", "--graph", "--seed", "12").stdout
    for seed in range(20):
        text = invoke("new", "--graph", "--seed", str(seed)).stdout
        trace = solve(parse_problem(text))
        assert set(trace.problem.inputs) <= set(trace.gradients)  # every leaf matters
        assert any(len(c) > 1 for c in trace.step.consumers.values())  # a fan-out to add up
        assert all(abs(v) <= 50 for v in trace.values.values())
        assert all(abs(g) <= 100 for g in trace.gradients.values())  # as docs/commands.md says
    assert "--shape is for networks" in invoke("new", "--graph", "--shape", "2-3").stderr


def test_check_and_list_know_graphs(invoke):
    result = invoke("check", "cs231n-sigmoid")
    assert " ".join(result.stdout.split()) == ("cs231n-sigmoid: ok, graph of 8 gates on w0, x0, w1, x1, w2; output f; "
                                               "parameters w0, w1, w2, learning rate 0.5")  # wrapped to the width
    assert "micrograd-readme      25-gate-graph" in invoke("list").stdout


def test_a_one_gate_graph_is_one_gate(invoke, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(graph(["y = 2 * x"], {"x": 1.5}))
    assert " ".join(invoke("check", str(path)).stdout.split()) == f"{path}: ok, graph of 1 gate on x; output y"
    assert "Graph of 1 gate; inputs x = 1.5; output y" in invoke("solve", str(path), "--format", "plain").stdout


def test_empty_inputs_are_called_empty():
    with pytest.raises(ProblemError, match="got an empty mapping"):
        parse_problem("graph: [y = 2 * x]\ninputs: {}\n", source="hw.yaml")


def test_unknown_keys_suggest_the_closest(invoke):
    result = invoke("solve", "cs231n-circuit", "--only", "df_dw")
    assert result.exit_code == 2 and "no quantity 'df_dw'" in result.stderr
    assert "is an input of the graph" in invoke("solve", "cs231n-circuit", "--only", "x").stderr


# -- what lives where -----------------------------------------------------------------------------------

GRAPH_MODULES = ("problem/graph.py", "problem/generate_graph.py", "engine/graph.py", "trace/graph.py",
                 "views/graph.py")
#: Gates the parser itself builds from syntax: unary minus, ^, max/min of several, y = x, and log for ln.
SYNTAX = {"neg", "pow", "max", "min", "copy", "ln"}


@pytest.mark.parametrize("module", GRAPH_MODULES)
def test_a_gate_is_known_only_by_its_own_file(module):
    """What a gate computes, its local gradient and its mistakes live in tutor/model/gates/NAME.py only."""
    text = (PROBLEMS.parent / "tutor" / module).read_text()
    for name in set(GATES) - SYNTAX:
        assert f'"{name}"' not in text, f"{module} names the gate {name}"


def test_every_graph_key_and_mistake_is_documented():
    from tutor.problem.graph import GRAPH_KEYS
    from tutor.teach.mistakes import GRAPH_CATALOGUE

    docs = PROBLEMS.parent / "docs"
    formats = (docs / "problem-format.md").read_text()
    assert all(f"`{key}`" in formats for key in GRAPH_KEYS)
    mistakes = (docs / "mistakes.md").read_text()
    assert all(f"| `{m.id}` |" in mistakes for m in GRAPH_CATALOGUE)
    gates = (docs / "json-output.md").read_text()
    assert all(f"`{name}`" in gates for name in GATES)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abxy +-*/^().,=01239e_\tlnexpmaxsqrtrelu", max_size=40))
def test_any_text_is_a_problem_error_or_a_graph(text):
    try:
        trace = solve(parse_problem(graph([text], {"a": 1.5, "b": -0.5}), source="fuzz.yaml"))
    except ProblemError as error:
        assert str(error).startswith("fuzz.yaml")
    except UserError as error:  # a value too large to work with: still a message, never a traceback
        assert "too large" in str(error) or "overflow" in str(error)
    else:
        assert all(math.isfinite(q.value) for q in trace.quantities)


def test_train_refuses_a_graph(invoke):
    for extra in ([], ["--data", "xor-easy"]):
        result = invoke("train", "cs231n-sigmoid", "--epochs", "2", *extra)
        assert result.exit_code == 2 and "computational graph" in result.stderr and "Traceback" not in result.output


def test_a_name_assigned_later_is_never_the_constant_e():
    with pytest.raises(ProblemError, match="'e' is used before it is assigned"):
        parse_problem(graph(["c = e * a", "e = a + 1"], {"a": 1.0}))
    assert solve(parse_problem(graph(["c = e * a"], {"a": 1.0}))).loss == math.e


@pytest.mark.parametrize("text", ["y = " + "(" * 60 + "a" + ")" * 60, "y = " + "exp(" * 50 + "a" + ")" * 50,
                                  "y = " + "- " * 190 + "a", "y = " + " + ".join(["a"] * 99)])
def test_deep_or_long_expressions_are_refused_or_solved_never_a_crash(text):
    try:
        trace = solve(parse_problem(graph([text], {"a": 0.01})))
    except ProblemError as error:
        assert "nested too deeply" in error.message or "too large" in error.message
    else:
        assert trace.quantities and math.isfinite(trace.loss)


@pytest.mark.parametrize(("line4", "after"), [("d = c * e2", ["e2 = a - 1"]), ("d = c * zz", []), ("d = c ^ b", []),
                                              ("d = ln(a * b)", [])])
def test_the_format_docs_messages_are_true(line4, after):
    doc = (PROBLEMS.parent / "docs" / "problem-format.md").read_text()
    text = "inputs: {a: -4, b: 2}\ngraph:\n  - c = a + b\n" + "".join(f"  - {line}\n" for line in [line4, *after])
    with pytest.raises(ProblemError) as caught:
        parse_problem(text, source="hw.yaml")
    assert f"\n{caught.value}\n" in doc


def test_a_name_that_clashes_with_a_key_is_refused_before_any_output(invoke, tmp_path):
    path = tmp_path / "clash.yaml"
    path.write_text('inputs: {x: 1}\ngraph: ["q = x * 2", "dq_dx = q + 1"]\n')
    result = invoke("solve", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"error: {path}:2: graph: the name 'dq_dx' is both a node of the graph and the key of a "
                             "gradient; rename that node\n")


def test_the_json_docs_nodes_are_the_circuits_own(invoke):
    """docs/json-output.md's example nodes are `solve cs231n-circuit --format json`'s, line numbers included."""
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "json-output.md").read_text()
    data = json.loads(invoke("solve", "cs231n-circuit", "--format", "json").stdout)
    for node in data["nodes"]:
        if node["op"] != "input":
            assert "    " + json.dumps(node) in doc, node
