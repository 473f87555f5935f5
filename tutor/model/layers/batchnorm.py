"""Batch normalization in training mode, as PyTorch's BatchNorm1d (rows of features) and BatchNorm2d (images).

Per feature j (per channel after a conv layer), over the m numbers of the batch (samples, and every
position of an image):

    mu = sum(x) / m                        var = sum((x - mu)^2) / m      (biased, as in training)
    x_hat = (x - mu) / sqrt(var + eps)     y = gamma * x_hat + beta       (then the layer's activation)

Backward, with dy = dL/dy:

    dgamma = sum(dy * x_hat)   dbeta = sum(dy)   dx_hat = dy * gamma
    dvar = sum(dx_hat * (x - mu)) * (-1/2) * (var + eps)^(-3/2)
    dmu = -sum(dx_hat) / sqrt(var + eps) + dvar * sum(-2 * (x - mu)) / m
    dx = dx_hat / sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
       = gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat))   (the compact form)

The engine's gradients flow as each sample's share scaled to the batch (dL_s/d.. summed over the samples'
losses, m_samples * dL/d..); batch norm is linear in dy, so the rules above hold as they are, and the
parameters' gradients are divided by the number of samples like every other layer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.model.activations import Activation
from tutor.model.layers.base import Layer
from tutor.model.layers.windows import ShapeMismatch, shape_text

EPS = 1e-5


@dataclass(frozen=True)
class BatchNormCache:
    """What backward (and the trace) needs from forward."""

    x: np.ndarray  # the layer's input (m, n) or (m, C, H, W)
    mu: np.ndarray  # (n,) or (C,)
    var: np.ndarray  # biased
    x_hat: np.ndarray  # like x
    inv_std: np.ndarray  # 1 / sqrt(var + eps)
    gamma: np.ndarray
    axes: tuple[int, ...]  # the axes each feature's statistics run over
    count: int  # how many numbers each feature's statistics take (samples x positions)


def feature_shape(x: np.ndarray) -> tuple[int, ...]:
    """How a per-feature array broadcasts against x: (1, n) for rows, (1, C, 1, 1) for images."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def statistics_axes(x: np.ndarray) -> tuple[int, ...]:
    """The axes of the batch's numbers for one feature: the samples, and an image's positions."""
    return (0,) if x.ndim == 2 else (0, *range(2, x.ndim))


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class BatchNorm(Layer):
    """gamma and beta per feature (per channel), eps, and the activation applied after y."""

    gamma: np.ndarray
    beta: np.ndarray
    eps: float = EPS
    activation: Activation | None = None
    kind: ClassVar[str] = "batchnorm"
    #: A parameter's symbol in keys and labels: new_gamma2_1, dL/dgamma^2_1.
    symbols: ClassVar[dict[str, str]] = {"gamma": "gamma", "beta": "beta"}

    @classmethod
    def from_spec(cls, spec: Any) -> "BatchNorm":
        return cls(spec.params["gamma"], spec.params["beta"], spec.settings["eps"], spec.activation)

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...]) -> dict:
        """gamma, beta (one per feature, or per channel of an image), eps (default 1e-5) and activation."""
        reader.check_keys(entry, path, ("type", "gamma", "beta", "eps", "activation"), ("type", "gamma", "beta"))
        features = shape[0]
        what = f"one per {'channel' if len(shape) == 3 else 'feature'} ({features})"
        params = {name: reader.vector(entry[name], [*path, name], features, what) for name in ("gamma", "beta")}
        eps = reader.number(entry.get("eps", EPS), [*path, "eps"], "a positive number (eps)")
        if eps <= 0:
            reader.fail([*path, "eps"], f"must be positive, got {eps:g}")
        from tutor.problem.images import elementwise_activation

        activation = elementwise_activation(reader, entry.get("activation", "linear"), [*path, "activation"], cls.kind)
        return {"params": params, "settings": {"eps": eps}, "activation": activation}

    @staticmethod
    def describe_spec(spec: Any) -> str:
        eps = spec.settings["eps"]
        return "batchnorm" + (f" eps {eps:g}" if eps != EPS else "") + f" {spec.activation.describe()}"

    def parameters(self) -> dict[str, np.ndarray]:
        return {"gamma": self.gamma, "beta": self.beta}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) not in (1, 3):
            raise ShapeMismatch(f"batchnorm takes rows of features or images, got {shape_text(input_shape)}")
        if input_shape[0] != self.gamma.size:
            unit = "channel" if len(input_shape) == 3 else "feature"
            raise ShapeMismatch(f"gamma and beta have {self.gamma.size} entries but the input has "
                                f"{input_shape[0]} {unit}s ({shape_text(input_shape)})")
        return tuple(input_shape)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, BatchNormCache]:
        """y = gamma * x_hat + beta with the batch's own mean and biased variance."""
        x = np.asarray(x, dtype=float)
        axes, shape = statistics_axes(x), feature_shape(x)
        gamma, beta = params["gamma"], params["beta"]
        mu = x.mean(axis=axes)
        var = x.var(axis=axes)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mu.reshape(shape)) * inv_std.reshape(shape)
        y = gamma.reshape(shape) * x_hat + beta.reshape(shape)
        count = x.size // x.shape[1]
        return y, BatchNormCache(x, mu, var, x_hat, inv_std, gamma, axes, count)

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dx by the chain rule through x_hat, var and mu; dgamma and dbeta as batch means."""
        parts = backward_parts(dnet, cache)
        samples = dnet.shape[0]
        return parts["dx"], {"gamma": parts["dgamma"] / samples, "beta": parts["dbeta"] / samples}


def backward_parts(dy: np.ndarray, cache: BatchNormCache) -> dict[str, np.ndarray]:
    """Every intermediate of the backward pass: dgamma, dbeta (sums), dx_hat, dvar, dmu and dx."""
    shape, axes, m = feature_shape(dy), cache.axes, cache.count
    centred = cache.x - cache.mu.reshape(shape)
    dx_hat = dy * cache.gamma.reshape(shape)
    dvar = (dx_hat * centred).sum(axis=axes) * -0.5 * cache.inv_std ** 3
    dmu = -dx_hat.sum(axis=axes) * cache.inv_std + dvar * (-2.0 * centred).sum(axis=axes) / m
    dx = dx_hat * cache.inv_std.reshape(shape) + dvar.reshape(shape) * 2.0 * centred / m + dmu.reshape(shape) / m
    return {"dgamma": (dy * cache.x_hat).sum(axis=axes), "dbeta": dy.sum(axis=axes), "dx_hat": dx_hat,
            "dvar": dvar, "dmu": dmu, "dx": dx}


def compact_dx(dy: np.ndarray, cache: BatchNormCache) -> np.ndarray:
    """dx = gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat))."""
    shape, axes, m = feature_shape(dy), cache.axes, cache.count
    scale = (cache.gamma * cache.inv_std / m).reshape(shape)
    return scale * (m * dy - dy.sum(axis=axes).reshape(shape)
                    - cache.x_hat * (dy * cache.x_hat).sum(axis=axes).reshape(shape))


# -- the trace: every intermediate with numbers ------------------------------------------------------------

from tutor.trace.layer_trace import LayerTrace, Parameter, summed as joined, with_values  # noqa: E402
from tutor.trace.quantity import Term  # noqa: E402


class BatchNormTrace(LayerTrace):
    """mu, var, x_hat and y per feature forward; dgamma, dbeta, dx_hat, dvar, dmu and dx backward.

    Per-feature quantities (mu, var, dvar, dmu, and gamma's and beta's) are indexed by the feature (the
    channel of an image); x_hat and dx_hat like the layer's input, per sample."""

    kinds = {
        "bn_mu": ("mu", "forward", "the batch's mean mu"),
        "bn_var": ("var", "forward", "the batch's variance var (biased: divided by m)"),
        "bn_xhat": ("x_hat", "forward", "the normalised input x_hat"),
        "bn_dxhat": ("dL_dx_hat", "backward", "the derivative of the loss with respect to x_hat"),
        "bn_dvar": ("dL_dvar", "backward", "the derivative of the loss with respect to var"),
        "bn_dmu": ("dL_dmu", "backward", "the derivative of the loss with respect to mu"),
    }
    formulas = frozenset({"net", "map_net"})

    def parameters(self) -> list[Parameter]:
        return [Parameter(name, name, "grad_param", "new_param", lambda j, name=name: f"{name}^{self.l}_{j[0]}")
                for name in BatchNorm.symbols]

    @property
    def cache(self) -> BatchNormCache:
        return self.ls.cache

    @property
    def eps(self) -> Term:
        return Term("eps", float(self.spec.settings["eps"]))

    @property
    def count(self) -> int:
        """m: how many numbers each feature's statistics take (samples x positions)."""
        return self.cache.count

    def features(self) -> range:
        return range(1, self.in_shape[0] + 1)

    def members(self, c: int) -> list[tuple[int, object]]:
        """(sample, index) of every number of feature c in the batch."""
        if not self.images_out:
            return [(s, c) for s in range(self.m)]
        return [(s, (c, r + 1, w + 1)) for s in range(self.m) for r in range(self.in_shape[1])
                for w in range(self.in_shape[2])]

    def forward_entries(self):
        yield from (("bn_mu", self.l, c, None, None) for c in self.features())
        yield from (("bn_var", self.l, c, None, None) for c in self.features())
        for s in range(self.m):
            for kind in ("bn_xhat", self.std("net"), self.std("out")):
                yield from ((kind, self.l, j, None, s) for j in self.positions())

    def backward_entries(self):
        for s in range(self.m):
            for j in self.positions():
                yield from ((self.std(kind), self.l, j, None, s) for kind in ("dloss_dout", "dout_dnet", "delta"))
        yield from self.gradient_entries()
        for s in range(self.m):
            yield from (("bn_dxhat", self.l, j, None, s) for j in self.positions())
        yield from (("bn_dvar", self.l, c, None, None) for c in self.features())
        yield from (("bn_dmu", self.l, c, None, None) for c in self.features())

    def own_label(self, kind: str, j, s: int | None) -> str:
        name = {"bn_mu": "mu", "bn_var": "var", "bn_xhat": "x_hat", "bn_dxhat": "x_hat", "bn_dvar": "var",
                "bn_dmu": "mu"}[kind]
        where = f"({','.join(map(str, j))})" if isinstance(j, tuple) else f"_{j}"
        text = f"{name}^{self.l}{where}" + (self.b.labels._s(s) if kind in ("bn_xhat", "bn_dxhat") else "")
        return f"d{self.b.labels.loss}/d{text}" if kind.startswith("bn_d") else text

    def values(self, kind: str) -> np.ndarray:
        cache = self.cache
        if kind in ("bn_mu", "bn_var", "bn_xhat"):
            return {"bn_mu": cache.mu, "bn_var": cache.var, "bn_xhat": cache.x_hat}[kind]
        return backward_parts(self.ls.delta, cache)[{"bn_dxhat": "dx_hat", "bn_dvar": "dvar", "bn_dmu": "dmu"}[kind]]

    @staticmethod
    def feature(j) -> int:
        return j[0] if isinstance(j, tuple) else j

    def _gamma(self, c: int) -> Term:
        return Term(f"gamma^{self.l}_{c}", float(self.ls.params["gamma"][c - 1]))

    # -- formulas ----------------------------------------------------------------------------------------

    def formula(self, kind: str, j, s: int | None):
        m, eps = self.count, self.eps
        c = self.feature(j)
        members = self.members(c)
        if kind == "bn_mu":
            xs = [self.input_term(k, t) for t, k in members]
            compute, keys = with_values(xs, lambda v: sum(v) / m)
            return ["(", *joined([[x] for x in xs], " + "), f") / {m}"], compute, "", keys
        mu, var = self.own("bn_mu", c), self.own("bn_var", c)
        if kind == "bn_var":
            xs = [self.input_term(k, t) for t, k in members]
            compute, keys = with_values([*xs, mu], lambda v: sum((x - v[-1]) ** 2 for x in v[:-1]) / m)
            squares = [["(", x, " - ", mu, ")^2"] for x in xs]
            return ["(", *joined(squares, " + "), f") / {m}"], compute, "biased: divided by m, as in training", keys
        if kind == "bn_xhat":
            x = self.input_term(j, s)
            compute, keys = with_values([x, mu, var], lambda v: (v[0] - v[1]) / np.sqrt(v[2] + eps.value))
            return ["(", x, " - ", mu, ") / sqrt(", var, " + ", eps, ")"], compute, "", keys
        if kind in ("net", "map_net"):
            gamma = self._gamma(c)
            beta = Term(f"beta^{self.l}_{c}", float(self.ls.params["beta"][c - 1]))
            x_hat = self.own("bn_xhat", j, s)
            return [gamma, " * ", x_hat, " + ", beta], lambda v: gamma.value * v + beta.value, "", (x_hat.key,)
        if kind == "bn_dxhat":
            delta, gamma = self.standard("delta", j, s), self._gamma(c)
            return [delta, " * ", gamma], lambda d: d * gamma.value, "", (delta.key,)
        dxhats = [self.own("bn_dxhat", k, t) for t, k in members]
        xs = [self.input_term(k, t) for t, k in members]
        n = len(members)
        if kind == "bn_dvar":
            compute, keys = with_values([*dxhats, *xs, mu, var], lambda v: sum(
                d * (x - v[-2]) for d, x in zip(v[:n], v[n:2 * n])) * -0.5 * (v[-1] + eps.value) ** -1.5)
            products = [[d, " * (", x, " - ", mu, ")"] for d, x in zip(dxhats, xs)]
            return ["(", *joined(products, " + "), ") * (-1/2) * (", var, " + ", eps, ")^(-3/2)"], compute, "", keys
        if kind == "bn_dmu":
            dvar = self.own("bn_dvar", c)
            compute, keys = with_values([*dxhats, *xs, mu, var, dvar], lambda v: -sum(v[:n]) / np.sqrt(
                v[-2] + eps.value) + v[-1] * sum(-2 * (x - v[-3]) for x in v[n:2 * n]) / m)
            parts = ["-(", *joined([[d] for d in dxhats], " + "), ") / sqrt(", var, " + ", eps, ") + ", dvar,
                     " * (", *joined([["-2 * (", x, " - ", mu, ")"] for x in xs], " + "), f") / {m}"]
            return parts, compute, "the second term is 0 (the deviations from the mean add up to 0)", keys
        raise KeyError(kind)

    def parameter_gradient(self, name: str, j):
        """dL/dgamma = sum(dy * x_hat), dL/dbeta = sum(dy) over the feature's numbers, as a batch mean."""
        c, samples = self.feature(j), self.m
        members = self.members(c)
        deltas = [self.standard("delta", k, t) for t, k in members]
        if name == "beta":
            compute, keys = with_values(deltas, lambda v: sum(v) / samples)
            groups = [[d] for d in deltas]
        else:
            x_hats = [self.own("bn_xhat", k, t) for t, k in members]
            n = len(members)
            compute, keys = with_values([*deltas, *x_hats], lambda v: sum(a * b for a, b in zip(v[:n], v[n:])) / samples)
            groups = [[d, " * ", x] for d, x in zip(deltas, x_hats)]
        parts = joined(groups, " + ") if samples == 1 else ["(", *joined(groups, " + "), f") / {samples}"]
        return parts, compute, "" if samples == 1 else "the mean over the batch", keys

    def input_gradient(self, j, s: int):
        """dx = dx_hat / sqrt(var + eps) + dvar * 2 (x - mu) / m + dmu / m; the compact form in the note."""
        m, eps, c = self.count, self.eps, self.feature(j)
        dxhat, var, dvar, dmu = self.own("bn_dxhat", j, s), self.own("bn_var", c), self.own("bn_dvar", c), \
            self.own("bn_dmu", c)
        x, mu = self.input_term(j, s), self.own("bn_mu", c)
        compute, keys = with_values([dxhat, var, dvar, x, mu, dmu], lambda v: v[0] / np.sqrt(v[1] + eps.value)
                                    + v[2] * 2 * (v[3] - v[4]) / m + v[5] / m)
        parts = [dxhat, " / sqrt(", var, " + ", eps, ") + ", dvar, " * 2 * (", x, " - ", mu, f") / {m} + ", dmu,
                 f" / {m}"]
        return parts, compute, self._compact_note(j, s), keys

    def _compact_note(self, j, s: int) -> str:
        """The compact form with its numbers: gamma / (m * sqrt(var + eps)) * (m dy - sum dy - x_hat sum dy x_hat)."""
        from tutor.trace.quantity import operand

        cache, delta = self.cache, self.ls.delta
        c = self.feature(j) - 1
        at = (s, *self.zero_based(j))
        dy, x_hat = np.moveaxis(delta, 1, 0)[c], np.moveaxis(cache.x_hat, 1, 0)[c]
        g, v, m, eps = float(cache.gamma[c]), float(cache.var[c]), self.count, self.eps.value
        value = float(compact_dx(delta, cache)[at])
        f = "{:.6g}".format
        return (f"compact: gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - x_hat * sum(dy * x_hat)) = "
                f"{f(g)} / ({m} * sqrt({f(v)} + {f(eps)})) * ({m} * {operand(f(float(delta[at])))} - "
                f"{operand(f(float(dy.sum())))} - {operand(f(float(cache.x_hat[at])))} * "
                f"{operand(f(float((dy * x_hat).sum())))}) = {f(value)}")

    def settings_rows(self, fmt):
        return [("eps", f"eps = {fmt(self.eps.value)}")]

    def input_gradient_note(self) -> str:
        return "dx = dx_hat / sqrt(var + eps) + dvar * 2 (x - mu) / m + dmu / m (the compact form beside it)"


BatchNorm.tracer = BatchNormTrace


# -- catalogued mistakes -----------------------------------------------------------------------------------

from tutor.model.layers.mistake import TraceMistake  # noqa: E402
from tutor.trace.layer_trace import sample_and_index  # noqa: E402


def _unbiased_variance(part: BatchNormTrace, q: Any, world: Any, role: str) -> list[float]:
    """var divided by m - 1 (the sample variance) instead of m."""
    if role != "own" or q.kind != "bn_var" or part.count < 2:
        return []
    xs = [part.at(world, part.input_term(k, t)) for t, k in part.members(q.j)]
    mu = part.at(world, part.own("bn_mu", q.j))
    return [sum((x - mu) ** 2 for x in xs) / (part.count - 1)]


def _eps_omitted(part: BatchNormTrace, q: Any, world: Any, role: str) -> list[float]:
    """x_hat = (x - mu) / sqrt(var), without eps."""
    if role != "own" or q.kind != "bn_xhat":
        return []
    s, j = sample_and_index(q)
    c = part.feature(j)
    x, mu, var = (part.at(world, t) for t in (part.input_term(j, s), part.own("bn_mu", c), part.own("bn_var", c)))
    return [float((x - mu) / np.sqrt(var))] if var > 0 else []


def _paths_dropped(part: BatchNormTrace, q: Any, world: Any, role: str) -> list[float]:
    """dx = dx_hat / sqrt(var + eps) alone: mu and var treated as constants."""
    if role != "input":
        return []
    s, j = sample_and_index(q)
    dxhat, var = part.at(world, part.own("bn_dxhat", j, s)), part.at(world, part.own("bn_var", part.feature(j)))
    return [float(dxhat / np.sqrt(var + part.eps.value))]


BatchNorm.mistakes = (
    TraceMistake("batchnorm_unbiased_variance",
                 "batch norm's training variance is the biased one, sum((x - mu)^2) / m; it was divided by m - 1",
                 _unbiased_variance),
    TraceMistake("batchnorm_eps_omitted",
                 "x_hat = (x - mu) / sqrt(var + eps); eps was left out", _eps_omitted),
    TraceMistake("batchnorm_statistics_paths_dropped",
                 "dx also flows through the batch's mean and variance (dvar and dmu terms); they were treated as "
                 "constants, leaving dx = dx_hat / sqrt(var + eps)", _paths_dropped),
)
