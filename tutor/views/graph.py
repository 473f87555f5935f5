"""Views of a computational graph's trace: the worked solution gate by gate, derivations, the quiz's card, JSON.

The forward table lists every gate (its operation and inputs, with numbers); the backward pass goes gate by
gate from the output, each table showing the gate's upstream gradient, its local gradients and what it sends
back to each input (upstream * local), and where a value fans out the sum of its contributions; then the
gradient of the output with respect to every input, and the parameters' updates.
"""

from __future__ import annotations

from typing import Any, Iterable

from tutor.problem.graph import gate_count
from tutor.trace.graph import GraphTrace, constant_text
from tutor.views.layout import NBSP, Column, cell
from tutor.views.text import TextView, as_written


class GraphSolution:
    """Writes one graph's trace through a `TextView` (its sink, digits and plain setting)."""

    def __init__(self, view: TextView, trace: GraphTrace) -> None:
        self.view = view
        self.trace = trace
        self.problem = trace.problem

    # -- the worked solution ----------------------------------------------------------------------------

    def solution(self, every: int | None = None) -> None:
        self.header()
        self.statements()
        self.forward()
        self.backward()
        self.gradients()
        self.updates()
        self.summary(every)

    def header(self) -> None:
        view, problem = self.view, self.problem
        view.lines(problem.name + (f"  ({problem.path})" if problem.path else ""), view.style("bold"))
        lines = [line for line in (problem.description, problem.source and f"Source: {problem.source}") if line]
        lines.append(self.given_line())
        if self.trace.shown > 1:
            lines.append(f"Step {self.trace.shown} of the run: the parameters as the earlier steps left them")
        view.lines("\n".join(lines))

    def given_line(self) -> str:
        problem = self.problem
        inputs = ", ".join(f"{name}{NBSP}={NBSP}{self.view.given(value)}" for name, value in problem.inputs.items())
        line = f"Graph of {gate_count(len(problem.gates))}; inputs {inputs}; output {problem.output}"
        if problem.parameters:
            line += (f"; parameters {', '.join(problem.parameters)} (learning rate eta "
                     f"{as_written(problem.learning_rate)})")
        return line

    def statements(self) -> None:
        """Each line as written, and the gates it becomes (generated names g1, g2, ...; earlier versions c_1)."""
        self.view.heading("The expressions, broken into gates")
        self.statement_table()

    def statement_table(self) -> None:
        rows = [[cell(statement.text), cell(*(f"{name} = {self._symbolic(name)}" for name in statement.gates))]
                for statement in self.problem.statements]
        self.view.print_table([Column("as written", wrap=True), Column("gates", wrap=True)], rows)

    def _symbolic(self, name: str) -> str:
        return self.trace[name].symbolic()

    def forward(self) -> None:
        view, trace = self.view, self.trace
        view.heading("Forward pass")
        rows = []
        for node in self.problem.gates:
            q = trace[node.name]
            inputs = ", ".join(dict.fromkeys(o if isinstance(o, str) else constant_text(o) for o in node.operands))
            rows.append([view.quantity_cell(q), view.formula_cell(q), cell(inputs), cell(view.value_text(q))])
        columns = [Column("gate"), Column("operation", wrap=True), Column("inputs", wrap=True),
                   Column("value", justify="right")]
        view.print_table(columns, rows)

    def backward(self) -> None:
        view, trace = self.view, self.trace
        o = trace.output
        view.heading(f"Backward pass, gate by gate from {o} (d{o}/d{o} = 1): upstream * local = what each input "
                     "gets; a value that feeds several gates adds what they send")
        groups: dict[str, list] = {}
        for q in trace.quantities:
            if q.section == "backward":
                groups.setdefault(self._gate_of(q), []).append(q)
        for gate_name, quantities in groups.items():
            node = trace.nodes[gate_name]
            upstream = view.fmt(trace.gradients[gate_name])
            title = (f"Gate {gate_name} = {self._symbolic(gate_name)} ({node.op}): upstream d{o}/d{gate_name} = "
                     f"{upstream}")
            view.quantity_table(quantities, title)

    def _gate_of(self, q) -> str:
        """The gate whose step of the backward pass `q` belongs to."""
        return self.trace.edge(q)[0]

    def gradients(self) -> None:
        view, trace = self.view, self.trace
        o = trace.output
        view.heading(f"Gradients of {o} with respect to the inputs")
        rows = []
        for name, value in self.problem.inputs.items():
            key = trace.grad_key(name)
            shown = view.value_text(trace[key]) if key in trace else f"0 ({o} does not depend on {name})"
            rows.append([cell((f"d{o}/d{name}", view.style("bold")), (key, view.style("dim"))),
                         cell(view.given(value)), cell(shown)])
        view.print_table([Column("gradient"), Column("input's value", "right"), Column("value", "right")], rows)

    def updates(self) -> None:
        view, trace = self.view, self.trace
        quantities = trace.select(("graph_new",))
        if not quantities:
            return
        view.heading(f"Updates (new = old - {as_written(self.problem.learning_rate)} * d{trace.output}/d"
                     "parameter)")
        view.quantity_table(quantities)

    def summary(self, every: int | None = None) -> None:
        view, trace = self.view, self.trace
        view.heading("Summary")
        lines = [f"{trace.output} = {view.value_text(trace[trace.output])}"]
        history = trace.history
        if history is not None and len(history) > trace.shown:
            lines.append(f"{trace.output} after the update: {view.loss_text(history[trace.shown])}")
        view.lines("\n".join(lines))
        if history is not None and len(history) > 2:
            view.history(history, every, value=trace.output)

    # -- chosen derivations ---------------------------------------------------------------------------

    def derivations(self, keys: Iterable[str]) -> None:
        view, trace = self.view, self.trace
        for name in keys:
            key = trace.resolve(name)
            target = trace[key]
            view.heading(f"{target.label}  ({key})" if key != target.label else target.label)
            view.quantity_table(trace.closure([key]))
            node = self._gradient_node(target)
            if node is None:
                continue
            paths = trace.path_sum(node)
            if not paths.expanded:
                view.note(f"{paths.count} paths lead from {trace.output} to {node}: more than can be listed; the "
                          "gate-by-gate form above gives the same sum.")
                continue
            view.path_table(paths)

    def _gradient_node(self, q) -> str | None:
        """The node whose gradient `q` is (or whose gradient an update uses), for its path-sum."""
        if q.kind == "graph_new":
            q = self.trace[q.gradient.key] if q.gradient is not None and q.gradient.key else None
        if q is None or q.kind != "graph_grad":
            return None
        return self.trace.edge(q)[1]

    # -- the quiz's card -------------------------------------------------------------------------------

    def card(self, note: str = "") -> None:
        """What a student computes from: the givens and the gates (their formulas, without numbers)."""
        view = self.view
        self.header()
        self.statement_table()
        view.note(f"Keys: a gate's value by its name; dm_dn the local gradient dm/dn; d{self.trace.output}_dn the "
                  f"gradient of {self.trace.output} with respect to n; d{self.trace.output}_dn_via_m what gate m "
                  "sends back to n, where n feeds several gates.")
        if note:
            view.note(note)


def answer_example(trace: GraphTrace) -> str:
    """A product of names a student may type, in this graph's own names (upstream * local at some gate)."""
    for q in trace.quantities:
        if q.kind in ("graph_grad", "graph_contribution") and len(q.formula) == 3:
            return q.symbolic().replace(" ", "")
    return f"d{trace.output}/d{next(iter(trace.problem.inputs))}"


# -- JSON ------------------------------------------------------------------------------------------------------


def graph_to_dict(trace: GraphTrace, *, include_history: bool = False, keys: set[str] | None = None) -> dict[str, Any]:
    """A graph's trace as plain data (docs/json-output.md): the output, the gradients, every node, the quantities."""
    from tutor.views.json import JSON_FORMAT_VERSION

    problem, values, gradients = trace.problem, trace.values, trace.gradients
    nodes = [{"name": node.name, "op": "input" if node.is_leaf else node.op,
              "inputs": list(node.operands), "value": values[node.name], "grad": gradients.get(node.name, 0.0),
              **({"assigned": node.assigned, "line": node.line} if not node.is_leaf else {})}
             for node in problem.nodes]
    data: dict[str, Any] = {
        "format": JSON_FORMAT_VERSION,
        "problem": {"name": problem.name, "path": problem.path, "hash": problem.content_hash, "kind": "graph",
                    "inputs": dict(problem.inputs), "output": problem.output, "parameters": list(problem.parameters),
                    "learning_rate": problem.learning_rate},
        "output": {"name": problem.output, "value": trace.loss},
        "gradients": {name: gradients.get(name, 0.0) for name in problem.inputs},
        "nodes": nodes,
    }
    if problem.parameters:
        data["updates"] = dict(trace.updated)
        history = trace.history
        data["output_after_update"] = history[trace.shown] if history is not None and len(history) > trace.shown \
            else None
    if include_history and trace.history is not None:
        data["history"] = list(trace.history)
        data["final"] = dict(trace.final or {})
    data["quantities"] = [r for r in trace.records() if keys is None or r["key"] in keys]
    return data
