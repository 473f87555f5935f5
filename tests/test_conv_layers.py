"""Convolution, pooling and flatten layers against central finite differences and the lab notes' rules.

Each layer is checked on its own with a linear probe loss L_s = sum(G_s * net_s) for a random G (so
dL_s/dnet_s = G_s): dL_s/dx per sample, and the batch-mean gradients of the filters and biases, each
element against (L(p + h) - L(p - h)) / 2h. Chains (conv -> pool -> flatten) are checked the same way.
The notes' 3x3 input with a 2x2 filter is checked against the two published rules, written here
independently with loops: dE/dF = cross-correlation of X with dE/dO, and dE/dX = full convolution of dE/dO
with F rotated by 180 degrees.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.netgen import central_difference
from tutor.model.layers.avgpool import AvgPool
from tutor.model.layers.conv2d import Conv2D
from tutor.model.layers.flatten import Flatten
from tutor.model.layers.maxpool import MaxPool
from tutor.model.layers.windows import ShapeMismatch

H = 1e-6
TOL = dict(rel=1e-6, abs=1e-8)


def probe_losses(layers, x, params, probes):
    """Each sample's probe loss sum(G_s * net_s) after running x through the layers."""
    out = x
    for layer, p in zip(layers, params):
        out, _ = layer.forward(out, p)
    return (probes * out).reshape(len(x), -1).sum(axis=1)


def analytic(layers, x, params, probes):
    """dL_s/dx per sample and each layer's batch-mean gradients, through the layers' backward."""
    caches, out = [], x
    for layer, p in zip(layers, params):
        out, cache = layer.forward(out, p)
        caches.append(cache)
    grad, all_grads = probes, []
    for layer, cache in zip(reversed(layers), reversed(caches)):
        grad, grads = layer.backward(grad, cache)
        all_grads.append(grads)
    return grad, all_grads[::-1]


def check_chain(layers, x, params, seed):
    rng = np.random.default_rng(seed)
    shape = x.shape[1:]
    for layer in layers:
        shape = layer.output_shape(shape)
    probes = rng.normal(size=(len(x), *shape))
    dx, grads = analytic(layers, x, params, probes)
    assert dx.shape == x.shape
    for index in np.ndindex(*x.shape):
        s = index[0]
        fd = central_difference(lambda: probe_losses(layers, x, params, probes)[s], x, index)
        assert dx[index] == pytest.approx(fd, **TOL), f"dL/dx{index}"
    for p, g in zip(params, grads):
        assert set(p) == set(g)
        for name, array in p.items():
            assert g[name].shape == array.shape
            for index in np.ndindex(*array.shape):
                fd = central_difference(lambda: probe_losses(layers, x, params, probes).mean(), array, index)
                assert g[name][index] == pytest.approx(fd, **TOL), f"dL/d{name}{index}"


def random_conv(rng, channels, filters, kernel, stride, padding):
    weights = rng.normal(size=(filters, channels, kernel, kernel))
    biases = rng.normal(size=filters)
    return Conv2D(weights, biases, stride, padding), {"weights": weights, "biases": biases}


CONV_CONFIGS = list(itertools.product((1, 2, 3), (1, 2), (0, 1)))


@pytest.mark.parametrize("channels, stride, padding", CONV_CONFIGS)
def test_conv2d_gradients_match_finite_differences(channels, stride, padding):
    rng = np.random.default_rng(100 * channels + 10 * stride + padding)
    filters, kernel = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    layer, params = random_conv(rng, channels, filters, kernel, stride, padding)
    x = rng.normal(size=(2, channels, 5, 4))
    check_chain([layer], x, [params], seed=channels)


@pytest.mark.parametrize("pool", [MaxPool, AvgPool])
@pytest.mark.parametrize("size, stride", [(2, 2), (2, 1), (3, 2), (1, 1)])
def test_pooling_gradients_match_finite_differences(pool, size, stride):
    rng = np.random.default_rng(size * 10 + stride)
    x = rng.normal(size=(2, 2, 5, 6))
    check_chain([pool(size, stride)], x, [{}], seed=size)


@pytest.mark.parametrize("channels, stride, padding", CONV_CONFIGS)
@pytest.mark.parametrize("pool", [MaxPool, AvgPool])
def test_conv_pool_flatten_chain(channels, stride, padding, pool):
    rng = np.random.default_rng(7 * channels + 3 * stride + padding)
    layer, params = random_conv(rng, channels, 2, 2, stride, padding)
    x = rng.normal(size=(2, channels, 6, 6))
    check_chain([layer, pool(2, 2), Flatten()], x, [params, {}, {}], seed=11)


def test_maxpool_remembers_the_winner_and_routes_only_to_it():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 1.0, 8.0], [0.0, 0.0, 7.0, 7.0], [9.0, 1.0, 7.0, 6.0]]]])
    pool = MaxPool(2, 2)
    out, cache = pool.forward(x, {})
    np.testing.assert_array_equal(out[0, 0], [[5.0, 8.0], [9.0, 7.0]])
    # Winners as (row, column) in the input; a tie (three 7s) goes to the first in reading order.
    np.testing.assert_array_equal(pool.winner_positions(cache)[0, 0],
                                  [[[0, 1], [1, 3]], [[3, 0], [2, 2]]])
    dx, grads = pool.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 3], expected[3, 0], expected[2, 2] = 1.0, 2.0, 3.0, 4.0
    np.testing.assert_array_equal(dx[0, 0], expected)
    assert grads == {}


def test_avgpool_shares_equally():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, cache = AvgPool(2, 2).forward(x, {})
    np.testing.assert_allclose(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    dx, _ = AvgPool(2, 2).backward(np.ones((1, 1, 2, 2)) * 4.0, cache)
    np.testing.assert_allclose(dx, np.ones((1, 1, 4, 4)))


def test_flatten_is_channels_then_rows():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    out, cache = Flatten().forward(x, {})
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out[1], np.arange(12.0, 24.0))
    dx, _ = Flatten().backward(out * 2, cache)
    np.testing.assert_array_equal(dx, x * 2)


# -- the lab notes' example: a 3x3 input X, a 2x2 filter F, outputs O11..O22 --------------------------


X = np.array([[1.0, 2.0, 0.0], [-1.0, 3.0, 1.0], [2.0, 0.0, -2.0]])
F = np.array([[1.0, -1.0], [2.0, 0.5]])
DO = np.array([[0.5, -1.0], [2.0, 1.0]])  # dE/dO, given


def cross_correlation(image, kernel):
    """Valid cross-correlation with loops: out[r, c] = sum_ab image[r + a, c + b] * kernel[a, b]."""
    kh, kw = kernel.shape
    rows, cols = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    return np.array([[sum(image[r + a, c + b] * kernel[a, b] for a in range(kh) for b in range(kw))
                      for c in range(cols)] for r in range(rows)])


def full_convolution_notes(grad, kernel):
    """The notes' Full_Convolution(dE/dO, F rotated 180): dE/dO padded by k-1 zeros, the rotated F slid over it."""
    kh, kw = kernel.shape
    padded = np.zeros((grad.shape[0] + 2 * (kh - 1), grad.shape[1] + 2 * (kw - 1)))
    padded[kh - 1 : kh - 1 + grad.shape[0], kw - 1 : kw - 1 + grad.shape[1]] = grad
    rotated = np.array([[kernel[kh - 1 - a, kw - 1 - b] for b in range(kw)] for a in range(kh)])
    return cross_correlation(padded, rotated)


def test_notes_example_forward_is_cross_correlation():
    net, _ = Conv2D(F[None, None], np.zeros(1)).forward(X[None, None], {"weights": F[None, None], "biases": np.zeros(1)})
    o = net[0, 0]
    # The notes' four sums of products, written out.
    assert o[0, 0] == F[0, 0] * X[0, 0] + F[0, 1] * X[0, 1] + F[1, 0] * X[1, 0] + F[1, 1] * X[1, 1]
    assert o[0, 1] == F[0, 0] * X[0, 1] + F[0, 1] * X[0, 2] + F[1, 0] * X[1, 1] + F[1, 1] * X[1, 2]
    assert o[1, 0] == F[0, 0] * X[1, 0] + F[0, 1] * X[1, 1] + F[1, 0] * X[2, 0] + F[1, 1] * X[2, 1]
    assert o[1, 1] == F[0, 0] * X[1, 1] + F[0, 1] * X[1, 2] + F[1, 0] * X[2, 1] + F[1, 1] * X[2, 2]


def test_notes_example_backward_matches_the_published_rules():
    layer = Conv2D(F[None, None], np.zeros(1))
    params = layer.parameters()
    _, cache = layer.forward(X[None, None], params)
    dx, grads = layer.backward(DO[None, None], cache)
    np.testing.assert_allclose(grads["weights"][0, 0], cross_correlation(X, DO), rtol=0, atol=1e-15)
    np.testing.assert_allclose(dx[0, 0], full_convolution_notes(DO, F), rtol=0, atol=1e-15)
    np.testing.assert_allclose(grads["biases"], [DO.sum()])
    # A few entries by hand: X11 only meets F11 (in O11); X22 meets every filter entry once.
    assert dx[0, 0, 0, 0] == DO[0, 0] * F[0, 0]
    assert dx[0, 0, 1, 1] == pytest.approx(DO[0, 0] * F[1, 1] + DO[0, 1] * F[1, 0] + DO[1, 0] * F[0, 1] + DO[1, 1] * F[0, 0])
    # Not rotating the filter gives a different (wrong) answer for this example.
    assert not np.allclose(dx[0, 0], cross_correlation(
        np.pad(DO, 1), F))


@pytest.mark.parametrize("layer, shape, words", [
    (Conv2D(np.zeros((2, 3, 2, 2)), np.zeros(2)), (1, 4, 4), "the input has 1 channel (1x4x4) but the filters have 3 (2 filters of 3x2x2)"),
    (Conv2D(np.zeros((1, 1, 5, 5)), np.zeros(1), padding=1), (1, 2, 2), "larger than the padded input (4x4"),
    (Conv2D(np.zeros((1, 1, 2, 2)), np.zeros(1)), (4,), "got inputs of shape 4"),
    (MaxPool(3, 1), (1, 2, 5), "3x3 window is larger than the input (1x2x5)"),
    (Flatten(), (4,), "its input is already a vector of 4"),
])
def test_bad_shapes_name_both_shapes(layer, shape, words):
    with pytest.raises(ShapeMismatch, match=None) as info:
        layer.output_shape(shape)
    assert words in str(info.value)


def test_output_shapes():
    conv = Conv2D(np.zeros((4, 2, 3, 3)), np.zeros(4), stride=2, padding=1)
    assert conv.output_shape((2, 5, 6)) == (4, 3, 3)
    assert MaxPool(2, 2).output_shape((4, 5, 5)) == (4, 2, 2)
    assert Flatten().output_shape((4, 2, 2)) == (16,)


# -- the catalogued mistakes' wrong rules, against loops written here ----------------------------------


def mistake(layer, mistake_id, target):
    return next(m for m in layer.mistakes if m.id == mistake_id and m.target == target)


def test_filter_not_rotated_is_the_full_convolution_with_the_filter_as_it_is():
    layer = Conv2D(F[None, None], np.zeros(1))
    wrong = mistake(layer, "filter_not_rotated", "input_gradient").wrong(layer, DO[None], X[None])
    np.testing.assert_allclose(wrong[0], cross_correlation(np.pad(DO, 1), F))
    assert not np.allclose(wrong[0], full_convolution_notes(DO, F))


def test_full_valid_confused():
    layer = Conv2D(F[None, None], np.zeros(1))
    rotated = F[::-1, ::-1]
    wrong_dx = mistake(layer, "full_valid_confused", "input_gradient").wrong(layer, DO[None], X[None])[0]
    assert wrong_dx[0, 0] == pytest.approx(cross_correlation(DO, rotated)[0, 0])
    assert np.isnan(wrong_dx[1:, :]).all() and np.isnan(wrong_dx[:, 1:]).all()
    wrong_df = mistake(layer, "full_valid_confused", "weight_gradient").wrong(layer, DO[None], X[None])[0, 0]
    np.testing.assert_allclose(wrong_df, cross_correlation(np.pad(X, 1), DO)[:2, :2])


def test_stride_ignored_backward():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 5))
    w = rng.normal(size=(2, 2))
    layer = Conv2D(w[None, None], np.zeros(1), stride=2)
    d = rng.normal(size=(2, 2))  # output 2x2 at stride 2
    wrong_df = mistake(layer, "stride_ignored_backward", "weight_gradient").wrong(layer, d[None], x[None])[0, 0]
    np.testing.assert_allclose(wrong_df, cross_correlation(x[:3, :3], d))
    wrong_dx = mistake(layer, "stride_ignored_backward", "input_gradient").wrong(layer, d[None], x[None])[0]
    expected = np.zeros((5, 5))
    expected[:3, :3] = full_convolution_notes(d, w)
    np.testing.assert_allclose(wrong_dx, expected)
    unstrided = Conv2D(w[None, None], np.zeros(1))
    assert mistake(unstrided, "stride_ignored_backward", "input_gradient").wrong(unstrided, d[None], x[None]) is None


def test_maxpool_gradient_to_all():
    x = np.arange(16.0).reshape(1, 4, 4)
    pool = MaxPool(2, 2)
    d = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    wrong = mistake(pool, "maxpool_gradient_to_all", "input_gradient").wrong(pool, d, x)
    np.testing.assert_array_equal(wrong[0], np.kron(d[0], np.ones((2, 2))))
