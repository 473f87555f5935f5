"""Random small CNNs read from problem files: every gradient of one step against central finite differences:
the filters, biases and dense weights, dL/dx of the image, and dL/dout and dL/dnet of every hidden layer.

The loss is recomputed by a from-scratch forward pass written here with loops (cross-correlation with zero
padding and a stride, max and average pooling, flatten, dense), so the check does not lean on the layers'
own forward passes. Covered: 1 to 3 channels and filters, stride 1 and 2, padding 0 and 1, max and average
pooling, every elementwise activation on the conv layer, an image output (half_sse) and a dense softmax
output (cross_entropy).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import yaml

from tests.netgen import central_difference
from tutor.engine.step import run_step
from tutor.model.activations import ACTIVATIONS
from tutor.problem.loader import parse_problem

H = 1e-6
ELEMENTWISE = [name for name, cls in ACTIVATIONS.items() if cls.elementwise]


def conv_loops(x, w, b, stride, padding):
    """net[f, r, c] = b[f] + sum x_padded[ch, r*stride + a, c*stride + bb] * w[f, ch, a, bb], with loops."""
    channels, height, width = x.shape
    padded = np.zeros((channels, height + 2 * padding, width + 2 * padding))
    padded[:, padding:padding + height, padding:padding + width] = x
    filters, _, kh, kw = w.shape
    rows = (padded.shape[1] - kh) // stride + 1
    cols = (padded.shape[2] - kw) // stride + 1
    out = np.zeros((filters, rows, cols))
    for f, r, c in itertools.product(range(filters), range(rows), range(cols)):
        total = b[f]
        for ch, a, bb in itertools.product(range(channels), range(kh), range(kw)):
            total += padded[ch, r * stride + a, c * stride + bb] * w[f, ch, a, bb]
        out[f, r, c] = total
    return out


def pool_loops(x, size, stride, reduce):
    channels, height, width = x.shape
    rows, cols = (height - size) // stride + 1, (width - size) // stride + 1
    out = np.zeros((channels, rows, cols))
    for ch, r, c in itertools.product(range(channels), range(rows), range(cols)):
        out[ch, r, c] = reduce(x[ch, r * stride:r * stride + size, c * stride:c * stride + size])
    return out


def reference_loss(problem, image, params, nudge=None):
    """The sample's loss from scratch, for the given image and parameters (one dict per layer).

    `nudge` = (layer, "net" or "out", index, h) adds h to one net input or output of one layer (0-based).
    """
    def nudged(array, l, what):
        if nudge is None or nudge[:2] != (l, what):
            return array
        array = np.array(array, dtype=float)
        array[nudge[2]] += nudge[3]
        return array

    out = image
    for l, (spec, p) in enumerate(zip(problem.layers, params)):
        kind = getattr(spec, "kind", "dense")
        if kind == "conv2d":
            net = conv_loops(out, p["weights"], p["biases"], spec.stride, spec.padding)
        elif kind in ("maxpool", "avgpool"):
            net = pool_loops(out, spec.window, spec.stride, np.max if kind == "maxpool" else np.mean)
        elif kind == "flatten":
            net = out.reshape(-1)
        else:
            net = p["weights"] @ out + p["biases"]
        net = nudged(net, l, "net")
        out = nudged(net if spec.activation is None else spec.activation.forward(net), l, "out")
    return float(problem.loss.value(out.reshape(1, -1), problem.targets)[0])


def tied_in_a_max(problem, l, image, index) -> bool:
    """Whether image[index] (layer l's input) ties for the largest number of one of layer l's max-pool windows."""
    spec = problem.layers[l]
    if getattr(spec, "kind", "") != "maxpool":
        return False
    ch, row, col = index
    for r in range(0, image.shape[1] - spec.window + 1, spec.stride):
        for c in range(0, image.shape[2] - spec.window + 1, spec.stride):
            window = image[ch, r:r + spec.window, c:c + spec.window]
            inside = r <= row < r + spec.window and c <= col < c + spec.window
            if inside and image[index] == window.max() and np.count_nonzero(window == window.max()) > 1:
                return True
    return False


def random_problem(rng, channels, stride, padding, pool, activation, dense_output):
    filters = int(rng.integers(1, 4))
    kernel = int(rng.integers(1, 4))
    size = 6
    weights = np.round(rng.uniform(-1, 1, size=(filters, channels, kernel, kernel)), 2)
    layers = [{"type": "conv2d", "weights": weights.tolist(), "biases": np.round(rng.uniform(-0.5, 0.5, filters), 2).tolist(),
               "stride": stride, "padding": padding, "activation": activation}]
    conv_side = (size + 2 * padding - kernel) // stride + 1
    shape = (filters, conv_side, conv_side)
    if pool and conv_side >= 2:
        layers.append({"type": pool, "size": 2, "stride": int(rng.integers(1, 3))})
        side = (conv_side - 2) // layers[-1]["stride"] + 1
        shape = (filters, side, side)
    problem = {"inputs": np.round(rng.uniform(-1, 1, size=(channels, size, size)), 2).tolist(), "layers": layers,
               "learning_rate": 0.1}
    if dense_output:
        n = math.prod(shape)
        layers.append({"type": "flatten"})
        layers.append({"weights": np.round(rng.uniform(-1, 1, size=(3, n)), 2).tolist(), "biases": [0.1, 0, -0.1],
                       "activation": "softmax"})
        problem.update(labels=[int(rng.integers(0, 3))], loss="cross_entropy")
    else:
        problem.update(targets=np.round(rng.uniform(-1, 1, size=math.prod(shape)), 2).tolist(), loss="half_sse")
    return parse_problem(yaml.safe_dump(problem))


CASES = list(itertools.product((1, 2, 3), (1, 2), (0, 1), (None, "maxpool", "avgpool")))


@pytest.mark.parametrize("channels, stride, padding, pool", CASES)
def test_every_gradient_of_a_random_cnn(channels, stride, padding, pool):
    seed = CASES.index((channels, stride, padding, pool))
    rng = np.random.default_rng(seed)
    activation = ELEMENTWISE[seed % len(ELEMENTWISE)]
    problem = random_problem(rng, channels, stride, padding, pool, activation, dense_output=seed % 2 == 0)
    step = run_step(problem)
    image = problem.inputs[0].copy()
    params = [{"weights": ls.weights.copy(), "biases": ls.biases.copy()} for ls in step.layers]
    loss = lambda: reference_loss(problem, image, params)  # noqa: E731
    assert step.loss == pytest.approx(loss(), rel=1e-12, abs=1e-12)
    for ls, p in zip(step.layers, params):
        if not ls.weights.size:
            continue
        for name, grad in (("weights", ls.grad_weights), ("biases", ls.grad_biases)):
            for index in np.ndindex(*p[name].shape):
                assert grad[index] == pytest.approx(central_difference(loss, p[name], index), rel=1e-5, abs=1e-7), \
                    f"dL/d{name}{index}"
    for l, ls in enumerate(step.layers[:-1]):  # dL/dout and dL/dnet of every hidden layer, by nudging one value
        for index in np.ndindex(*ls.out.shape[1:]):
            if tied_in_a_max(problem, l + 1, ls.out[0], index):
                continue  # a max between equal numbers has no derivative: nudging up and down differ
            for what, array in (("out", ls.dloss_dout), ("net", ls.delta)):
                up = reference_loss(problem, image, params, (l, what, index, H))
                down = reference_loss(problem, image, params, (l, what, index, -H))
                assert array[(0, *index)] == pytest.approx((up - down) / (2 * H), rel=1e-5, abs=1e-7), \
                    f"dL/d{what} {index} of layer {l + 1}"
    for index in np.ndindex(*image.shape):
        expected = central_difference(loss, image, index)
        assert step.layers[0].dloss_dinput[(0, *index)] == pytest.approx(expected, rel=1e-5, abs=1e-7), f"dL/dx{index}"


@pytest.mark.parametrize("channels, stride, padding, pool", CASES[::3])
def test_every_trace_formula_recomputes_the_checked_value(channels, stride, padding, pool):
    """Each quantity's own sum (its formula) recomputes, from its dependencies, the value checked above, and
    its displayed formula with the numbers substituted evaluates to it."""
    from tutor.teach.expression import MAX_LENGTH, evaluate
    from tutor.trace.trace import Trace

    seed = CASES.index((channels, stride, padding, pool))
    rng = np.random.default_rng(seed)
    activation = ELEMENTWISE[seed % len(ELEMENTWISE)]
    problem = random_problem(rng, channels, stride, padding, pool, activation, dense_output=seed % 2 == 0)
    trace = Trace(problem, run_step(problem))
    values = {q.key: q.value for q in trace.quantities}
    for q in trace.quantities:
        assert q.compute(*(values[k] for k in q.depends_on)) == pytest.approx(q.value, rel=1e-9, abs=1e-12), q.key
    shown = [(q, q.substituted(repr)) for q in trace.quantities]
    # The evaluator reads no more than an answer's length, and an elided long sum cannot be read back.
    readable = [(q, text) for q, text in shown if len(text) <= MAX_LENGTH and "more terms) ..." not in text]
    assert len(readable) > len(shown) // 2
    for q, text in readable:
        assert evaluate(text, formulas=True) == pytest.approx(q.value, rel=1e-9, abs=1e-12), (q.key, text)
    image = trace.step.layers[0].dloss_dinput[0]
    for index in np.ndindex(*image.shape):
        assert values["dL_dx1_" + "_".join(str(k + 1) for k in index)] == image[index]
