"""Random networks of every layer kind, one sample or a batch, under sgd, momentum, Adam and RMSprop, with and
without gradient clipping, against PyTorch autograd and torch.optim: the loss, every layer's output, input
gradient and parameter gradients, and the updated parameters. (The same networks are checked without
PyTorch by central finite differences in tests/test_layer_kinds.py.)"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tests.layer_nets import random_network
from tutor.engine.step import run_step
from tutor.model.clipping import Clipping
from tutor.model.optimizers import make_optimizer
from tutor.problem.loader import parse_problem

OPTIMIZERS = [
    ("sgd", {}, "SGD", {}),
    ("momentum", {"momentum": 0.9}, "SGD", {"momentum": 0.9}),
    ("adam", {}, "Adam", {}),
    ("rmsprop", {"alpha": 0.9}, "RMSprop", {"alpha": 0.9}),
]
CLIPPINGS = [None, Clipping(max_norm=0.05), Clipping(max_value=0.01)]


def _torch_forward(torch, problem, tensors):
    """Every layer's input and output as torch tensors (each keeping its gradient), and the batch loss."""
    F = torch.nn.functional
    x = torch.tensor(problem.inputs, requires_grad=True)
    seen, out = [], x
    for spec, p in zip(problem.layers, tensors):
        inp = out
        inp.retain_grad()
        if spec.kind == "dense":
            net = inp @ p["weights"].T + p["biases"]
        elif spec.kind == "conv2d":
            net = F.conv2d(inp, p["weights"], p["biases"], stride=spec.stride, padding=spec.padding)
        elif spec.kind == "maxpool":
            net = F.max_pool2d(inp, spec.window, spec.stride)
        elif spec.kind == "avgpool":
            net = F.avg_pool2d(inp, spec.window, spec.stride)
        elif spec.kind == "flatten":
            net = inp.reshape(inp.shape[0], -1)
        elif spec.kind == "batchnorm":
            net = F.batch_norm(inp, None, None, p["gamma"], p["beta"], training=True, eps=spec.settings["eps"])
        elif spec.kind == "dropout":
            net = inp * torch.tensor(spec.settings["mask"]) / (1 - spec.settings["p"])
        act = spec.activation.name if spec.activation is not None else "linear"
        out = {"linear": lambda v: v, "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
               "softmax": lambda v: torch.softmax(v, dim=1)}[act](net)
        out.retain_grad()
        seen.append((inp, out))
    targets = torch.tensor(problem.targets)
    loss = -(targets * torch.log(out)).sum(dim=1).mean()
    return seen, loss


@pytest.mark.parametrize("clipping", CLIPPINGS, ids=["no-clip", "clip-norm", "clip-value"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("images,samples", [(False, 1), (False, 3), (True, 1), (True, 2)])
def test_random_networks_agree_with_pytorch(images, samples, optimizer, clipping):
    torch = pytest.importorskip("torch")
    name, options, cls, kwargs = optimizer
    for seed in range(4):
        data = random_network(seed + 10 * samples + 100 * images, images=images, samples=samples)
        problem = parse_problem(json.dumps(data))
        problem = dataclasses.replace(problem, optimizer=make_optimizer({"name": name, **options}),
                                      clipping=clipping)
        step = run_step(problem)
        tensors = [{k: torch.tensor(v, requires_grad=True) for k, v in spec.params.items()}
                   for spec in problem.layers]
        seen, loss = _torch_forward(torch, problem, tensors)
        loss.backward()
        assert step.loss == pytest.approx(loss.item(), rel=1e-10, abs=1e-12)
        m = problem.samples
        for ls, (inp, out), p in zip(step.layers, seen, tensors):
            np.testing.assert_allclose(ls.out, out.detach().numpy(), rtol=1e-9, atol=1e-12)
            # the engine's gradients are each sample's share scaled to the batch: m * dL/dx
            np.testing.assert_allclose(ls.dloss_dinput, m * inp.grad.numpy(), rtol=1e-7, atol=1e-10)
            for pname, tensor in p.items():
                np.testing.assert_allclose(ls.grads[pname], tensor.grad.numpy(), rtol=1e-7, atol=1e-10)
        params = [t for p in tensors for t in p.values()]
        if clipping is not None and clipping.max_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, clipping.max_norm)
            assert step.clipped.norm == pytest.approx(norm.item(), rel=1e-9)
        elif clipping is not None:
            torch.nn.utils.clip_grad_value_(params, clipping.max_value)
        torch.optim.__dict__[cls](params, lr=problem.learning_rate, **kwargs).step()
        for ls, p in zip(step.layers, tensors):
            for pname, tensor in p.items():
                np.testing.assert_allclose(ls.new_params[pname], tensor.detach().numpy(), rtol=1e-7, atol=1e-10)
