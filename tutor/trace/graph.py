"""The trace of a computational graph: every gate's value, local gradient, contribution and gradient, named.

Keys (docs/keys.md), for the output o, a gate m and a node n it reads:

    m                  the gate's value (the forward pass)
    dm_dn              d m / d n, the gate's local gradient (not for the output's own gate: there it is the gradient)
    do_dn_via_m        d o / d m * d m / d n, what gate m sends back to n, when n feeds several gates (fan-out)
    do_dn              d o / d n, the gradient: the one product, or the sum of the contributions
    new_p              a parameter p after the gradient-descent update (label p+)

The quantities are the same `Quantity` objects as a network's, so the views, the quiz and the grader read
them alike; `compute` recomputes each from its `depends_on`, for follow-through.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property
from types import MappingProxyType
from typing import Callable, Iterator, Mapping, Sequence

from tutor.engine.graph import GraphStep, operand_values
from tutor.errors import KeyLookupError, ProblemError, closest
from tutor.model.gates import gate
from tutor.problem.graph import GraphProblem, Node
from tutor.trace.quantity import Part, Quantity, Term, upstream_keys

#: Past this many paths from the output to a node the path-sum is not listed.
MAX_PATHS = 256


def constant_text(value: float) -> str:
    """A constant of an expression as written (2, not 2.0), in brackets when negative."""
    integer = float(value).is_integer() and abs(value) < 1e16
    text = str(int(value)) if integer else repr(float(value))  # the shortest that reads back: 0.1, not 0.1000...01
    return f"({text})" if value < 0 else text


class GraphTrace:
    """All quantities of one pass through a graph, in the order a worked solution computes them."""

    #: Views and the teaching code ask this to tell a graph's trace from a network's.
    is_graph = True

    def __init__(self, problem: GraphProblem, step: GraphStep, history: list[float] | None = None, *,
                 shown: int = 1, final: dict[str, float] | None = None) -> None:
        self.problem = problem
        self.step = step
        self.history = history
        self.shown = shown
        self.final = final
        self.output = problem.output
        self.nodes = problem.node
        #: Each backward quantity's key -> (the gate whose step of the backward pass it is, the node it concerns).
        self._edges: dict[str, tuple[str, str]] = {}
        #: The keys of the output gate's products: its local gradients themselves (upstream 1).
        self._at_output: set[str] = set()

    @property
    def loss(self) -> float:
        """The output's value (what `solve --steps` follows, as a network's loss)."""
        return self.step.output

    # -- named data, for views (they read these and the quantities, never the engine's step) --------------

    @cached_property
    def values(self) -> Mapping[str, float]:
        """Every node's value by name: the inputs and every gate."""
        return MappingProxyType(dict(self.step.values))

    @cached_property
    def gradients(self) -> Mapping[str, float]:
        """d output / d node for every node the output depends on (the output's own is 1)."""
        return MappingProxyType(dict(self.step.grad))

    @cached_property
    def updated(self) -> Mapping[str, float]:
        """Each parameter's value after the update."""
        return MappingProxyType(dict(self.step.new))

    def consumers(self, name: str) -> tuple[str, ...]:
        """The gates `name` feeds that the output depends on, in the order computed."""
        return tuple(self.step.consumers.get(name, ()))

    # -- names ------------------------------------------------------------------------------------------

    def value_key(self, name: str) -> str | None:
        """The key of a node's value: its name for a gate, None for a leaf (a given number)."""
        return None if self.nodes[name].is_leaf else name

    def grad_key(self, name: str) -> str:
        return f"d{self.output}_d{name}"

    def local_key(self, gate_name: str, name: str) -> str:
        return f"d{gate_name}_d{name}"

    def contribution_key(self, gate_name: str, name: str) -> str:
        return f"d{self.output}_d{name}_via_{gate_name}"

    def fans_out(self, name: str) -> bool:
        return len(self.step.consumers.get(name, ())) > 1

    def edge_key(self, gate_name: str, name: str) -> str:
        """The quantity holding d gate / d name: the local gradient, or at the output's own gate the quantity
        its local gradient is (the contribution, or the gradient)."""
        if gate_name != self.output:
            return self.local_key(gate_name, name)
        return self.contribution_key(gate_name, name) if self.fans_out(name) else self.grad_key(name)

    def term(self, name: str) -> Term:
        """A node in a formula: a given leaf, or a gate's value quantity."""
        return Term(name, self.step.values[name], self.value_key(name))

    def parts(self, node: Node) -> list[Part]:
        return [self.term(o) if isinstance(o, str) else constant_text(o) for o in node.operands]

    # -- the quantities -------------------------------------------------------------------------------

    @cached_property
    def quantities(self) -> tuple[Quantity, ...]:
        found = [*self._forward(), *self._backward(), *self._updates()]
        keys: dict[str, Quantity] = {}
        for q in found:
            if q.key in keys or q.key in self.problem.inputs:
                node = self.nodes.get(q.key)
                raise ProblemError(f"the name '{q.key}' is both a node of the graph and the key of a gradient; "
                                   "rename that node", source=self.problem.path or self.problem.name,
                                   line=node.line if node else None, field="graph")
            keys[q.key] = q
        return tuple(found)

    @cached_property
    def _by_key(self) -> dict[str, Quantity]:
        return {q.key: q for q in self.quantities}

    def _forward(self) -> Iterator[Quantity]:
        for node in self.problem.gates:
            parts = self.parts(node)
            yield self._quantity(node.name, "graph_value", node.name, gate(node.op).formula(parts),
                                 self._value_rule(node), note=self._note(node))

    def _note(self, node: Node) -> str:
        if node.assigned is None or node.name == node.assigned:
            return ""
        return f"{node.assigned} before it is assigned again"

    def _value_rule(self, node: Node) -> Callable[[dict[str, float]], float]:
        def rule(values: dict[str, float]) -> float:
            return gate(node.op).value(operand_values(node, values))

        return rule

    def _local_rule(self, node: Node, name: str) -> Callable[[dict[str, float]], float]:
        op = gate(node.op)

        def rule(values: dict[str, float]) -> float:
            xs = operand_values(node, values)
            return math.fsum(op.local(xs, values[node.name], p) for p, o in enumerate(node.operands) if o == name)

        return rule

    def _local_parts(self, node: Node, name: str) -> list[Part]:
        """d node / d name in symbols: one rule per position where `name` is an operand, added."""
        op, parts = gate(node.op), self.parts(node)
        out = self.term(node.name)
        pieces: list[Part] = []
        for p, o in enumerate(node.operands):
            if o == name:
                pieces += ([" + "] if pieces else []) + op.local_parts(parts, out, p)
        return pieces

    def _rule_note(self, node: Node, name: str) -> str:
        """The gate's rule for each position `name` has (a * a: both)."""
        rules = gate(node.op).rules
        return "; ".join(dict.fromkeys(rules[p] for p, o in enumerate(node.operands) if o == name))

    def _backward(self) -> Iterator[Quantity]:
        step, o = self.step, self.output
        for node in reversed([self.nodes[n] for n in self.order if not self.nodes[n].is_leaf]):
            upstream = Term(f"d{o}/d{node.name}", step.grad[node.name],
                            None if node.name == o else self.grad_key(node.name))
            for name in dict.fromkeys(node.inputs):
                local = self._local_parts(node, name)
                product_key = self.contribution_key(node.name, name) if self.fans_out(name) else self.grad_key(name)
                self._edges[product_key] = (node.name, name)
                if node.name == o:  # upstream 1: the product is the local gradient itself
                    product, rule = local, self._local_rule(node, name)
                    note = f"d{o}/d{o} = 1: the output gate's local gradient"
                    self._at_output.add(product_key)
                else:
                    local_key = self.local_key(node.name, name)
                    self._edges[local_key] = (node.name, name)
                    yield self._quantity(local_key, "graph_local", f"d{node.name}/d{name}", local,
                                         self._local_rule(node, name), note=self._rule_note(node, name))
                    product = [upstream, " * ", Term(f"d{node.name}/d{name}", step.local[node.name, name], local_key)]
                    rule, note = _product(upstream, local_key), "upstream * local"
                if self.fans_out(name):
                    yield self._quantity(product_key, "graph_contribution", f"d{o}/d{name} via {node.name}", product,
                                         rule, note=note)
                    if step.consumers[name][0] == node.name:
                        self._edges[self.grad_key(name)] = (node.name, name)
                        yield self._sum(name)
                else:
                    yield self._quantity(product_key, "graph_grad", f"d{o}/d{name}", product, rule, note=note)

    def _sum(self, name: str) -> Quantity:
        """d o / d name for a node that fans out: the sum of what each gate it feeds sends back."""
        o = self.output
        terms = [Term(f"d{o}/d{name} via {m}", self.step.contribution[m, name], self.contribution_key(m, name))
                 for m in self.step.consumers[name]]
        parts: list[Part] = []
        for t in terms:
            parts += [" + ", t] if parts else [t]
        keys = [t.key for t in terms]
        return self._quantity(self.grad_key(name), "graph_grad", f"d{o}/d{name}", parts,
                              lambda values: math.fsum(values[k] for k in keys),
                              note=f"{name} feeds {len(terms)} gates: their contributions add")

    def _updates(self) -> Iterator[Quantity]:
        problem, o = self.problem, self.output
        rate = Term("eta", problem.learning_rate)
        for p in problem.parameters:
            old = Term(p, problem.inputs[p])
            known = p in self.step.grad
            gradient = Term(f"d{o}/d{p}", self.step.grad.get(p, 0.0), self.grad_key(p) if known else None)
            key = gradient.key

            def rule(values: dict[str, float], old: float = old.value, key: str | None = key) -> float:
                return old - problem.learning_rate * (values[key] if key is not None else 0.0)

            note = "" if known else f"{o} does not depend on {p}: its gradient is 0"
            q = self._quantity(f"new_{p}", "graph_new", f"{p}+", [old, " - ", rate, " * ", gradient], rule, note=note)
            yield dataclasses.replace(q, parameter=old, gradient=gradient)

    def _quantity(self, key: str, kind: str, label: str, formula: Sequence[Part],
                  rule: Callable[[dict[str, float]], float], note: str = "") -> Quantity:
        """A quantity whose value follows from the keys of the terms in its formula (`rule` on a dict of values)."""
        depends = tuple(dict.fromkeys(t.key for t in formula if isinstance(t, Term) and t.key is not None))
        true = self._known

        def compute(*values: float) -> float:
            try:
                return rule({**true, **dict(zip(depends, values))})
            except (ArithmeticError, ValueError):  # a student's extreme value: no number follows from it
                return math.nan

        value = rule(true)
        return Quantity(key, kind, None, (), value, label, tuple(formula), depends, compute, note)

    @cached_property
    def _known(self) -> dict[str, float]:
        """Every number by key and by node: the values, local gradients, contributions and gradients."""
        step = self.step
        known = dict(step.values)
        known.update({self.local_key(m, n): v for (m, n), v in step.local.items()})
        known.update({self.contribution_key(m, n): v for (m, n), v in step.contribution.items()})
        known.update({self.grad_key(n): v for n, v in step.grad.items() if n != self.output})
        return known

    @cached_property
    def order(self) -> list[str]:
        """The nodes the output depends on, in the order they are computed."""
        from tutor.engine.graph import relevant

        gates = {n.name for n in relevant(self.problem)}
        return [n.name for n in self.problem.nodes if n.name in gates or n.name in self.step.grad]

    # -- the interface views, quiz and grader use (as tutor.trace.trace.Trace) ---------------------------

    def __getitem__(self, key: str) -> Quantity:
        return self._by_key[self.resolve(key)]

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Quantity]:
        return iter(self.quantities)

    def __len__(self) -> int:
        return len(self.quantities)

    def keys(self) -> list[str]:
        return list(self._by_key)

    def select(self, kinds: Sequence[str], layer: int | None = None) -> list[Quantity]:
        return [q for q in self.quantities if q.kind in kinds]

    @cached_property
    def _by_label(self) -> dict[str, str]:
        return {q.label: q.key for q in self.quantities}

    def resolve(self, name: str) -> str:
        """The key for `name`: a key, or a label (``dg/da``, ``w0+``), in any case."""
        name = name.strip()
        if name in self._by_key:
            return name
        if name in self._by_label:
            return self._by_label[name]
        folded = {label.lower(): key for label, key in self._by_label.items()}
        folded.update({key.lower(): key for key in self._by_key})
        compact = name.lower().replace(" ", "")
        for label, key in folded.items():
            if compact in (label, label.replace(" ", "")):
                return key
        if name in self.problem.inputs:
            raise KeyLookupError(f"'{name}' is an input of the graph (a given number), not a quantity to compute; "
                                 f"its gradient is {self.grad_key(name)}")
        hint = closest(name, list(self._by_key) + list(self._by_label))
        raise KeyLookupError(f"this problem has no quantity '{name}'{hint} (see the list of keys in "
                             "`backprop-tutor solve --format json` or docs/keys.md)")

    def closure(self, keys: Sequence[str]) -> list[Quantity]:
        """`keys` and everything they depend on, in solution order."""
        wanted = upstream_keys([self.resolve(k) for k in keys], lambda key: self._by_key[key].depends_on)
        return [q for q in self.quantities if q.key in wanted]

    def records(self) -> Iterator[dict]:
        for q in self.quantities:
            yield {"key": q.key, "kind": q.kind, "layer": None, "index": [], "label": q.label, "value": q.value,
                   "depends_on": list(q.depends_on)}

    # -- words and paths ----------------------------------------------------------------------------------

    def describe(self, q: Quantity) -> str:
        """What `q` is, in words: for quiz questions and the comments of blank answer sheets."""
        o = self.output
        if q.kind == "graph_value":
            return f"value of the gate {q.key} = {q.symbolic()}"
        if q.kind == "graph_new":
            p = q.parameter.symbol if q.parameter is not None else q.label[:-1]
            return f"{p} after the update ({p} - eta * d{o}/d{p})"
        gate_name, name = self.edge(q)
        if q.kind == "graph_local":
            return f"local gradient of the gate {gate_name} = {self[gate_name].symbolic()} with respect to {name}"
        if q.kind == "graph_contribution":
            return f"what the gate {gate_name} sends back to {name}: d{o}/d{gate_name} * d{gate_name}/d{name}"
        leaf = " (an input)" if self.nodes[name].is_leaf else ""
        return f"gradient of the output {o} with respect to {name}{leaf}"

    def edge(self, q: Quantity) -> tuple[str, str]:
        """For a quantity of the backward pass: the gate whose step it belongs to, and the node it concerns (a
        local gradient's or a contribution's input; a gradient's node)."""
        self.quantities  # noqa: B018  (building them records the edges)
        return self._edges[q.key]

    def path_sum(self, name: str):
        """d o / d name as a sum over every path from the output down to `name` of its local gradients."""
        from tutor.trace.pathsum import Path, PathSum

        o = self.output
        paths: list[Path] = []
        count = self.path_count(name)
        reaching = self._reaching(name)

        def walk(node: str, nodes: tuple[str, ...], factors: tuple[Term, ...]) -> None:
            if node == name:
                paths.append(Path(nodes, factors))
                return
            for source in dict.fromkeys(self.nodes[node].inputs):
                if source in reaching:
                    factor = Term(f"d{node}/d{source}", self.step.local[node, source], self.edge_key(node, source))
                    walk(source, (*nodes, source), (*factors, factor))

        if count <= MAX_PATHS:
            walk(o, (o,), ())
        return PathSum(self.grad_key(name), f"d{o}/d{name}", count, tuple(paths), 1)

    def path_count(self, name: str) -> int:
        counts: dict[str, int] = {name: 1}
        for node in self.order:
            if node != name and not self.nodes[node].is_leaf:
                counts[node] = sum(counts.get(s, 0) for s in dict.fromkeys(self.nodes[node].inputs))
        return counts.get(self.output, 0)

    def _reaching(self, name: str) -> set[str]:
        """`name` and the nodes that depend on it (a path leads from them down to it)."""
        found = {name}
        for node in self.problem.gates:
            if found.intersection(node.inputs):
                found.add(node.name)
        return found

    # -- teaching -----------------------------------------------------------------------------------------

    def given_values(self) -> dict[str, float | None]:
        """The given numbers by name: the inputs (and eta, with parameters)."""
        values: dict[str, float | None] = dict(self.problem.inputs)
        if self.problem.parameters:
            values["eta"] = self.problem.learning_rate
        return values

    def gate_mistake_values(self, q: Quantity, world: dict[str, float], mistake_id: str) -> list[float]:
        """What a local gradient (or the output gate's product) is under a gate's own catalogued mistake."""
        edge = self._edge(q)
        if edge is None:
            return []
        gate_name, name = edge
        node = self.nodes[gate_name]
        owned = gate(node.op).mistake(mistake_id)
        if owned is None:
            return []
        values = {**self.step.values, **{k: world[k] for k in world if k in self.nodes}}
        xs = operand_values(node, values)
        found: list[float] = []
        for p, o in enumerate(node.operands):
            if o == name:
                try:
                    found += owned.wrong(xs, values[gate_name], p)
                except (ArithmeticError, ValueError):
                    continue
        return [v for v in found if math.isfinite(v)]

    def _edge(self, q: Quantity) -> tuple[str, str] | None:
        """(gate, input) whose local gradient `q` is (at the output's own gate, the product is one)."""
        return self.edge(q) if q.kind == "graph_local" or q.key in self._at_output else None


def _product(upstream: Term, local_key: str) -> Callable[[dict[str, float]], float]:
    key = upstream.key

    def rule(values: dict[str, float]) -> float:
        return (values[key] if key is not None else upstream.value) * values[local_key]

    return rule


# -- the catalogue's graph mistakes (tutor.teach.mistakes takes them from here) ------------------------------


def _fanout_not_added(trace: GraphTrace, q: Quantity, world) -> list[float]:
    if q.kind != "graph_grad" or not all(trace[k].kind == "graph_contribution" for k in q.depends_on):
        return []
    return [world[k] for k in q.depends_on]


def _upstream_omitted(trace: GraphTrace, q: Quantity, world) -> list[float]:
    """The product upstream * local written as the local gradient alone."""
    if q.kind not in ("graph_grad", "graph_contribution") or len(q.depends_on) != 2:
        return []
    local = q.depends_on[1]
    return [world[local]] if trace[local].kind == "graph_local" else []


def _update(sign: float, rate: bool) -> Callable[[GraphTrace, Quantity, Mapping[str, float]], list[float]]:
    """A parameter's update p + sign * (eta, or 1) * gradient, on the world's gradient."""

    def rule(trace: GraphTrace, q: Quantity, world) -> list[float]:
        if q.kind != "graph_new" or q.parameter is None or q.gradient is None or q.gradient.key is None:
            return []
        step = world[q.gradient.key] * (trace.problem.learning_rate if rate else 1.0)
        return [q.parameter.value + sign * step]

    return rule


def _not_applied(trace: GraphTrace, q: Quantity, world) -> list[float]:
    """A parameter left as it was: p+ = p."""
    return [q.parameter.value] if q.kind == "graph_new" and q.parameter is not None else []


#: (id, explanation, rule) of the mistakes every graph can show, whatever its gates; an empty explanation is
#: the networks' mistake of that id (the same wrong rule).
GRAPH_MISTAKES = (
    ("fanout_not_added",
     "a value used by several gates (fan-out) gets a gradient from each of them, and they add: "
     "d o/d x = the sum of the contributions, not one of them", _fanout_not_added),
    ("upstream_gradient_omitted",
     "a gate sends back upstream * local gradient (the chain rule); the local gradient alone leaves out "
     "d o/d gate", _upstream_omitted),
    ("update_sign_flipped", "", _update(+1.0, rate=True)),
    ("learning_rate_omitted", "", _update(-1.0, rate=False)),
    ("update_not_applied", "", _not_applied),
)
