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
    assert list(ACTIVATIONS) == ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "elu", "softplus", "softmax"]
    assert list(LOSSES) == ["half_sse", "sse", "mse", "bce", "cross_entropy"]
    assert "softmax" not in hidden_activations()
    for cls in [*ACTIVATIONS.values(), *LOSSES.values()]:
        assert cls.description and "\n" not in cls.description


def test_catalogue_ids_and_order_are_stable():
    assert [m.id for m in CATALOGUE] == [
        "sigmoid_derivative_on_net", "tanh_derivative_on_net", "relu_derivative_wrong", "loss_factor_dropped",
        "target_output_swapped", "filter_not_rotated", "full_valid_confused", "stride_ignored_backward",
        "maxpool_gradient_to_all", "update_sign_flipped", "learning_rate_omitted", "updated_weights_in_backward",
        "single_path_only", "weight_index_swapped",
    ]
    assert BY_ID["relu_derivative_wrong"].explanation.startswith("ReLU's derivative")


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
