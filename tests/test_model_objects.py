"""Layers, activations and losses as objects: the Layer interface, the registries and what each object owns."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.model.activations import ACTIVATIONS, Activation, hidden_activations, make_activation
from tutor.model.layers import LAYERS, Dense, Layer
from tutor.model.losses import LOSSES, make_loss
from tutor.teach.mistakes import BY_ID, CATALOGUE


def _dense(shared: bool = False) -> Dense:
    rng = np.random.default_rng(3)
    return Dense(rng.normal(size=(3, 4)), rng.normal(size=3), make_activation("tanh"), shared_bias=shared)


def test_dense_is_a_layer_registered_by_kind():
    assert LAYERS["dense"] is Dense and issubclass(Dense, Layer)
    layer = _dense()
    assert layer.output_shape((4,)) == (3,)
    assert set(layer.parameters()) == {"weights", "biases"}


@pytest.mark.parametrize("shared", [False, True])
def test_dense_backward_is_the_mean_gradient_of_each_samples_loss(shared):
    """backward against central differences of L = mean_s sum_j (dnet_s * net_s)_j, a linear probe."""
    layer = _dense(shared)
    rng = np.random.default_rng(5)
    x, probe = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    params = layer.parameters()
    net, cache = layer.forward(x, params)
    np.testing.assert_allclose(net, x @ params["weights"].T + params["biases"])
    dx, grads = layer.backward(probe, cache)

    def mean_loss(p: dict, inputs: np.ndarray) -> float:
        return float(np.sum(layer.forward(inputs, p)[0] * probe) / len(inputs))

    h = 1e-6
    for name, value in params.items():
        assert grads[name].shape == value.shape
        for index in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[index] += h
            down[index] -= h
            numeric = (mean_loss({**params, name: up}, x) - mean_loss({**params, name: down}, x)) / (2 * h)
            assert grads[name][index] == pytest.approx(numeric, rel=1e-7, abs=1e-9)
    # dL_s/dx per sample: each sample's own loss, not divided by m
    np.testing.assert_allclose(dx, probe @ params["weights"])


def test_registries_keep_their_order_and_hidden_layers_exclude_softmax():
    assert list(ACTIVATIONS) == [
        "sigmoid", "tanh", "relu", "leaky_relu", "linear", "elu", "softplus", "swish", "gelu", "softmax"]
    assert list(LOSSES) == ["half_sse", "sse", "mse", "bce", "cross_entropy", "huber"]
    assert "softmax" not in hidden_activations()
    for cls in [*ACTIVATIONS.values(), *LOSSES.values()]:
        assert cls.description and "\n" not in cls.description


def test_the_catalogue_takes_each_owned_mistake_once():
    owners = [m.id for cls in ACTIVATIONS.values() for m in cls.mistakes]
    assert owners.count("relu_derivative_wrong") == 2 and owners.count("product_rule_dropped") == 2
    ids = [m.id for m in CATALOGUE]
    assert len(ids) == len(set(ids)) and set(owners) <= set(BY_ID)
    layer_owned = [m.id for cls in LAYERS.values() for m in getattr(cls, "mistakes", ())]
    assert set(layer_owned) == {"filter_not_rotated", "full_valid_confused", "stride_ignored_backward",
                                "maxpool_gradient_to_all", "batchnorm_unbiased_variance", "batchnorm_eps_omitted",
                                "batchnorm_statistics_paths_dropped", "dropout_scale_forgotten",
                                "dropout_gradient_through_dropped"} and set(layer_owned) <= set(BY_ID)


def test_the_fused_pair_is_a_property_of_the_loss_and_activation():
    ce, softmax, sigmoid = make_loss("cross_entropy"), make_activation("softmax"), make_activation("sigmoid")
    assert ce.fuses_with(softmax) and not ce.fuses_with(sigmoid)
    assert not any(make_loss(name).fuses_with(softmax) for name in LOSSES if name != "cross_entropy")
    assert ce.cancelled_delta(sigmoid) is not None and ce.cancelled_delta(softmax) is None
    assert make_loss("half_sse").cancelled_delta(sigmoid) is None


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if ACTIVATIONS[n].elementwise])
def test_each_derivative_formula_is_written_on_the_value_it_uses(name):
    act: Activation = make_activation(name)
    parts = act.derivative_parts("NET", "OUT")
    used = {p for p in parts if p in ("NET", "OUT")}
    assert used == ({act.derivative_uses.upper()} if act.derivative_uses else set())


def test_parameters_have_defaults_and_checks():
    assert make_activation("leaky_relu").params == {"slope": 0.01}
    assert make_activation("elu", alpha=0.5).describe() == "elu(alpha=0.5)"
    (alpha,) = ACTIVATIONS["elu"].parameters
    assert alpha.problem(0.0) == "must be positive, got 0" and alpha.problem(1.0) is None
    with pytest.raises(TypeError):
        make_activation("relu", slope=1.0)


#: Net inputs away from every kink (0 for the piecewise activations), both signs, small and large.
NETS = np.array([-3.1, -1.2, -0.4, -0.05, 0.07, 0.3, 0.9, 2.6])
#: Parameters other than the defaults, so a parameter that a derivative ignores is caught.
PARAMS = {"leaky_relu": {"slope": 0.2}, "elu": {"alpha": 0.6}, "swish": {"beta": 1.7}}


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if ACTIVATIONS[n].elementwise])
def test_every_elementwise_derivative_against_central_differences(name):
    act = make_activation(name, **PARAMS.get(name, {}))
    h = 1e-6
    numeric = (act.forward(NETS + h) - act.forward(NETS - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(NETS, act.forward(NETS)), numeric, rtol=1e-7, atol=1e-9)
    for net in NETS:  # the worked solution's recomputation from the one value it is written in
        used = {"net": net, "out": float(act.forward(np.float64(net))), "": None}[act.derivative_uses]
        assert act.slope(used) == pytest.approx(float(act.derivative(net, act.forward(net))), rel=1e-12)


def test_gelu_is_the_exact_erf_form():
    import math

    act = make_activation("gelu")
    for x in NETS:
        assert float(act.forward(np.float64(x))) == pytest.approx(x * 0.5 * (1 + math.erf(x / math.sqrt(2))),
                                                                 rel=1e-15)
    assert float(act.forward(np.float64(1.0))) == pytest.approx(0.8413447460685429, rel=1e-15)


def test_softmax_backward_against_central_differences():
    act = make_activation("softmax")
    net, probe = np.array([[0.3, -1.2, 0.8]]), np.array([[0.5, -0.7, 0.2]])
    h = 1e-6
    numeric = []
    for k in range(3):
        step = np.zeros_like(net)
        step[0, k] = h
        numeric.append(float(np.sum(probe * (act.forward(net + step) - act.forward(net - step))) / (2 * h)))
    np.testing.assert_allclose(act.backward(net, act.forward(net), probe)[0], numeric, rtol=1e-7)


@pytest.mark.parametrize("name, params", [(n, {}) for n in LOSSES] + [("huber", {"delta": 0.3})])
def test_every_loss_gradient_against_central_differences(name, params):
    loss = make_loss(name, **params)
    o = np.array([[0.2, 0.55, 0.9], [0.35, 0.6, 0.05]])  # inside (0, 1) for the log losses
    t = np.array([[0.0, 1.0, 0.4], [0.25, 0.5, 0.25]])  # rows add up to 1 for cross_entropy
    h = 1e-7
    numeric = np.zeros_like(o)
    for index in np.ndindex(o.shape):
        up, down = o.copy(), o.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss.value(up, t)[index[0]] - loss.value(down, t)[index[0]]) / (2 * h)
    np.testing.assert_allclose(loss.gradient(o, t), numeric, rtol=1e-6, atol=1e-8)


def test_huber_is_half_sse_within_delta_and_linear_beyond():
    huber, half = make_loss("huber", delta=0.5), make_loss("half_sse")
    o, t = np.array([[0.1, 0.9, -2.0]]), np.array([[0.3, 0.5, 1.0]])
    np.testing.assert_allclose(huber.shares(o, t)[0, :2], half.shares(o, t)[0, :2])
    assert huber.shares(o, t)[0, 2] == pytest.approx(0.5 * (3.0 - 0.25))
    np.testing.assert_allclose(huber.gradient(o, t), [[-0.2, 0.4, -0.5]])
