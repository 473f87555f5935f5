"""The engine's gradients against central finite differences of an independently computed loss.

For every parameter (each weight, each bias parameter: one per neuron, or one for a shared bias) the
derivative of the batch loss (the mean of the samples' losses) is estimated as
(L(p + h) - L(p - h)) / 2h with h = 1e-6 in float64, using the from-scratch forward pass of
`tests/netgen.py`, and compared with `grad_weights` / `grad_biases`. Each sample's `delta` (dL_s/dnet)
and `dloss_dout` (dL_s/dout) are checked the same way, by perturbing that sample's net input or
output and differentiating that sample's own loss.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.netgen import (
    ACTIVATIONS, CONFIGS, DENSE_PROBLEM_FILES, FD_NOISE, KINK_MARGIN, KINKED, LOSSES, PROBLEM_FILES, Reference, central_difference, close,
    grid_spec, output_allowed, outputs_in_range, ref_activation, sample_specs, to_problem,
)
from tutor.engine.step import run_step
from tutor.problem.validated import Problem
from tutor.problem.loader import load_problem

H = 1e-6
#: Gradients agree to a relative error below REL, or an absolute error below ABS for tiny gradients.
#: (The reference differences its loss in extended precision, see netgen.REF_DTYPE; on a platform
#: without it the floor widens to the float64 differences' own rounding error, FD_NOISE per unit loss.)
REL, ABS = 1e-6, 1e-9


def check_problem(problem: Problem) -> None:
    """Every gradient, delta and dL/dout of one step against finite differences; fails with a list."""
    step = run_step(problem)
    ref = Reference(problem)
    failures: list[str] = []

    # The engine's forward values and losses agree with the reference (so the FD below is of the same loss).
    nets, outs = ref.forward()
    for l, ls in enumerate(step.layers):
        np.testing.assert_allclose(ls.net, nets[l], rtol=1e-12, atol=1e-14, err_msg=f"net of layer {l + 1}")
        np.testing.assert_allclose(ls.out, outs[l], rtol=1e-12, atol=1e-14, err_msg=f"out of layer {l + 1}")
    np.testing.assert_allclose(step.sample_losses, ref.sample_losses().astype(float), rtol=1e-12, atol=1e-14)
    assert step.loss == pytest.approx(float(ref.batch_loss()), rel=1e-12, abs=1e-14)

    # d(batch loss)/d(parameter) for every weight and bias parameter.
    floor = max(ABS, FD_NOISE * max(1.0, abs(step.loss)))
    for (what, l, index), array, where in list(ref.parameters()):
        fd = central_difference(ref.batch_loss, array, where, H)
        ls = step.layers[l]
        exact = float((ls.grad_weights if what == "weight" else ls.grad_biases)[index])
        if not close(fd, exact, abs_=floor):
            failures.append(f"d loss/d {what} {index} of layer {l + 1}: engine {exact!r}, finite difference {fd!r}")

    # Per sample: delta = dL_s/dnet and dloss_dout = dL_s/dout (every layer), by perturbing that one value.
    for s in range(problem.samples):
        floor = max(ABS, FD_NOISE * max(1.0, abs(float(step.sample_losses[s]))))
        for l, ls in enumerate(step.layers):
            for j in range(ls.net.shape[1]):
                def by_net(e, l=l, j=j, s=s):
                    return ref.sample_loss(s, net_offset=(l, j, e))

                def by_out(e, l=l, j=j, s=s):
                    return ref.sample_loss(s, out_offset=(l, j, e))

                fd_delta = float((by_net(H) - by_net(-H)) / (2 * H))
                fd_dout = float((by_out(H) - by_out(-H)) / (2 * H))
                if not close(fd_delta, float(ls.delta[s, j]), abs_=floor):
                    failures.append(f"delta of neuron {j + 1}, layer {l + 1}, sample {s + 1}: engine "
                                    f"{ls.delta[s, j]!r}, finite difference {fd_delta!r}")
                if not close(fd_dout, float(ls.dloss_dout[s, j]), abs_=floor):
                    failures.append(f"dL/dout of neuron {j + 1}, layer {l + 1}, sample {s + 1}: engine "
                                    f"{ls.dloss_dout[s, j]!r}, finite difference {fd_dout!r}")
                if ls.dout_dnet is not None:
                    spec = ref.layers[l].activation
                    net = nets[l][s, j]  # the reference's own net, in extended precision
                    fd_local = float((ref_activation(spec, net + H) - ref_activation(spec, net - H)) / (2 * H))
                    if not close(fd_local, float(ls.dout_dnet[s, j]), abs_=max(ABS, FD_NOISE * max(1.0, abs(ls.out[s, j])))):
                        failures.append(f"dout/dnet of neuron {j + 1}, layer {l + 1}, sample {s + 1}: engine "
                                        f"{ls.dout_dnet[s, j]!r}, finite difference {fd_local!r}")
    assert not failures, f"{problem.summary()}:\n" + "\n".join(failures)


# -- the bundled problems ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DENSE_PROBLEM_FILES, ids=lambda p: p.name)
def test_bundled_problem_gradients(path):
    problem = load_problem(path)
    ref = Reference(problem)
    nets, _ = ref.forward()
    for l, (layer, net) in enumerate(zip(ref.layers, nets), start=1):
        if layer.activation["name"] in KINKED and np.any(np.abs(net) < KINK_MARGIN):
            # A finite difference across a kink measures neither side's derivative.
            pytest.skip(f"a net input of layer {l} sits at the kink of {layer.activation['name']} "
                        f"(|net| < {KINK_MARGIN:g}); the engine uses the left derivative there")
    check_problem(problem)


def test_there_are_bundled_problems():
    assert len(PROBLEM_FILES) >= 2


# -- every activation x every loss x several shapes -------------------------------------------------------


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_random_network_gradients(activation, loss, config):
    spec = grid_spec(activation, loss, config)
    problem = to_problem(spec)
    _assert_loaded_as_written(spec, problem)
    names = [layer.activation.name for layer in problem.layers]
    n_layers, samples, batch, shared = CONFIGS[config]
    assert problem.samples == samples and problem.batch == batch and len(problem.layers) == n_layers
    assert [layer.shared_bias for layer in problem.layers] == shared
    if n_layers > 1 or output_allowed(activation, loss):
        assert activation in names  # the cell really exercises its activation
    check_problem(problem)


def _assert_loaded_as_written(spec: dict, problem: Problem) -> None:
    """The reference reads the loaded problem's data; make sure it is the data that was written."""
    for written, layer in zip(spec["layers"], problem.layers):
        act = written["activation"]
        name, params = (act, {}) if isinstance(act, str) else (act["name"], {k: v for k, v in act.items() if k != "name"})
        assert layer.activation.name == name
        assert {k: layer.activation.params[k] for k in params} == params
        np.testing.assert_array_equal(layer.weights, np.array(written["weights"]))
        biases = written["biases"]
        assert layer.shared_bias == (not isinstance(biases, list))
        np.testing.assert_array_equal(layer.biases, np.broadcast_to(biases, layer.biases.shape))
    np.testing.assert_array_equal(problem.inputs, np.atleast_2d(spec["inputs"]))


@pytest.mark.parametrize("name, spec", list(sample_specs().items()), ids=list(sample_specs()))
def test_sample_network_gradients(name, spec):
    # labels instead of targets, a batch of one, biases that are not updated, softmax under bce and mse
    problem = to_problem(spec)
    _assert_loaded_as_written(spec, problem)
    check_problem(problem)


def test_default_activation_parameters():
    spec = grid_spec("tanh", "half_sse", "3layer-batch3")
    spec["layers"][0]["activation"] = "leaky_relu"
    spec["layers"][1]["activation"] = "elu"
    problem = to_problem(spec)
    assert problem.layers[0].activation.params == {"slope": 0.01}
    assert problem.layers[1].activation.params == {"alpha": 1.0}
    ref_nets, _ = Reference(problem).forward()
    if all(np.all(np.abs(n) > KINK_MARGIN) for n in ref_nets[:2]):
        check_problem(problem)


def test_grid_covers_every_activation_with_every_loss():
    for loss in LOSSES:
        for activation in ACTIVATIONS:
            used = {layer.activation.name for config in CONFIGS
                    for layer in to_problem(grid_spec(activation, loss, config)).layers}
            assert activation in used, (activation, loss)


def test_shared_bias_gradient_is_the_sum_of_the_layer_deltas():
    problem = to_problem(grid_spec("tanh", "mse", "2layer-batch2-shared"))
    step = run_step(problem)
    for ls in step.layers:
        assert ls.grad_biases.shape == (1,)
        assert ls.grad_biases[0] == pytest.approx(ls.delta.sum() / problem.samples, rel=1e-14)


# -- hypothesis: small random shapes and values ----------------------------------------------------------

# Hidden activations, with default parameters and unusual ones too (a flat leaky_relu, a steep elu).
HIDDEN_CHOICES = [spec for name, spec in ACTIVATIONS.items() if name != "softmax"] + [
    "leaky_relu", "elu", {"name": "leaky_relu", "slope": 0.0}, {"name": "elu", "alpha": 2.5},
]
# Values as a course writes them (two decimals). Arbitrary floats such as 1e-9 next to 1.4 make gradients
# that a central difference with h = 1e-6 cannot resolve in float64 (the perturbation is rounded away
# inside the forward pass), which would test the finite difference rather than the engine.
VALUES = st.integers(-150, 150).map(lambda k: k / 100)
UNIT = st.integers(0, 100).map(lambda k: k / 100)


@st.composite
def small_problems(draw):
    loss = draw(st.sampled_from(LOSSES))
    n_layers = draw(st.integers(1, 3))
    hidden = [draw(st.sampled_from(HIDDEN_CHOICES)) for _ in range(n_layers - 1)]
    output = draw(st.sampled_from([a for a in ACTIVATIONS if output_allowed(a, loss)]))
    sizes = [draw(st.integers(1, 3)) for _ in range(n_layers + 1)]
    if output == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    batch = draw(st.booleans())
    samples = draw(st.integers(1, 3)) if batch else 1
    layers = []
    for l in range(n_layers):
        shared = draw(st.booleans())
        weights = [[draw(VALUES) for _ in range(sizes[l])] for _ in range(sizes[l + 1])]
        biases = draw(VALUES) if shared else [draw(VALUES) for _ in range(sizes[l + 1])]
        activation = hidden[l] if l < n_layers - 1 else ACTIVATIONS[output]
        layers.append({"weights": weights, "biases": biases, "activation": activation})
    inputs = [[draw(VALUES) for _ in range(sizes[0])] for _ in range(samples)]
    n_out = sizes[-1]
    if loss == "cross_entropy" and output == "softmax":
        rows = []
        for _ in range(samples):
            raw = [draw(UNIT) for _ in range(n_out)]
            total = sum(raw)
            assume(total > 0.1)
            row = [v / total for v in raw[:-1]]
            row.append(max(0.0, 1.0 - sum(row)))
            rows.append(row)
        targets = rows
    elif loss in ("bce", "cross_entropy"):
        targets = [[draw(UNIT) for _ in range(n_out)] for _ in range(samples)]
    else:
        targets = [[draw(VALUES) for _ in range(n_out)] for _ in range(samples)]
    spec = {
        "inputs": inputs if batch else inputs[0], "targets": targets if batch else targets[0], "layers": layers,
        "loss": loss, "learning_rate": draw(st.integers(0, 200).map(lambda k: k / 100)), "update_biases": draw(st.booleans()),
    }
    return spec


def _away_from_trouble(problem: Problem) -> bool:
    ref = Reference(problem)
    nets, outs = ref.forward()
    for layer, net in zip(ref.layers, nets):
        if layer.activation["name"] in KINKED and np.any(np.abs(net) < KINK_MARGIN):
            return False
    return outputs_in_range(problem.loss.name, outs[-1], ref.targets)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(small_problems())
def test_hypothesis_gradients(spec):
    problem = to_problem(spec)
    assume(_away_from_trouble(problem))
    check_problem(problem)
