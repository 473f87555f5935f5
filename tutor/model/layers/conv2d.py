"""A 2-D convolution layer: cross-correlation of each image with F filters, as in the lab notes.

net[f, r, c] = b[f] + sum over channels ch and filter positions (a, b) of
W[f, ch, a, b] * x_padded[ch, r*stride + a, c*stride + b]. The filter is *not* flipped (that would be the
textbook convolution); deep-learning libraries and the notes both slide it as it is.

Backward, for one sample with dL/dnet = D:
- dL/dW[f, ch] = cross-correlation of x_padded[ch] with D[f] (D spread out by the stride);
- dL/db[f] = the sum of D[f];
- dL/dx_padded[ch] = sum over f of the full convolution of D[f] (stride-dilated) with W[f, ch] rotated by
  180 degrees; the padding's border is cut off.
Both are computed here through the windows themselves (each window's gradient is D times the filter),
which is the same arithmetic written without the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tutor.errors import plural
from tutor.model.activations import Activation
from tutor.model.layers.base import Layer
from tutor.model.layers.mistake import INPUT_GRADIENT, WEIGHT_GRADIENT, LayerMistake
from tutor.model.layers.windows import ShapeMismatch, pad, positions, scatter_windows, shape_text, windows


@dataclass(frozen=True)
class ConvCache:
    """What backward needs from forward: the input's windows and the filters used."""

    windows: np.ndarray  # (m, C, Ho, Wo, kh, kw), over the padded input
    weights: np.ndarray  # (F, C, kh, kw)
    padded_hw: tuple[int, int]


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Conv2D(Layer):
    """F filters of shape C x kh x kw, one bias per filter, a stride and zero padding."""

    weights: np.ndarray  # (F, C, kh, kw)
    biases: np.ndarray  # (F,)
    stride: int = 1
    padding: int = 0
    activation: Activation | None = None
    kind: ClassVar[str] = "conv2d"
    takes_images: ClassVar[bool] = True
    mistakes: ClassVar[tuple[LayerMistake, ...]] = ()  # filled in below, once the rules are defined

    @property
    def filters(self) -> int:
        return int(self.weights.shape[0])

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weights.shape[2]), int(self.weights.shape[3])

    @classmethod
    def from_spec(cls, spec: Any) -> "Conv2D":
        """From a validated problem layer (weights, biases, stride, padding, activation)."""
        return cls(spec.weights, spec.biases, spec.stride, spec.padding, spec.activation)

    @classmethod
    def read(cls, reader: Any, entry: dict, path: list, shape: tuple[int, ...]) -> dict:
        """weights (filters), biases (one per filter), stride (1), padding (0), activation (linear)."""
        from tutor.problem import images

        reader.check_keys(entry, path, ("type", "weights", "biases", "stride", "padding", "activation"),
                          ("type", "weights", "biases"))
        weights = images.filters(reader, entry["weights"], [*path, "weights"])
        biases = images.filter_biases(reader, entry["biases"], [*path, "biases"], weights.shape[0])
        return {"params": {"weights": weights, "biases": biases},
                "activation": images.elementwise_activation(reader, entry.get("activation", "linear"),
                                                            [*path, "activation"], cls.kind),
                "stride": images.whole(reader, entry.get("stride", 1), [*path, "stride"], 1),
                "padding": images.whole(reader, entry.get("padding", 0), [*path, "padding"], 0)}

    @staticmethod
    def describe_spec(spec: Any) -> str:
        """``conv2d 2x2 stride 2 relu``: the filter's size, a stride or padding that is not the default."""
        _, _, rows, cols = spec.weights.shape
        extra = "".join(f" {name} {value}" for name, value in (("stride", spec.stride), ("padding", spec.padding))
                        if value != (1 if name == "stride" else 0))
        return f"{Conv2D.kind} {rows}x{cols}{extra} {spec.activation.describe()}"

    def parameters(self) -> dict[str, np.ndarray]:
        """The filters and biases as the problem gives them."""
        return {"weights": self.weights, "biases": self.biases}

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(F, Ho, Wo) for an input image (C, H, W); ShapeMismatch when the filters do not fit it."""
        channels, kh, kw = (int(n) for n in self.weights.shape[1:])
        if len(input_shape) != 3:
            raise ShapeMismatch(f"conv2d needs images (channels x height x width), got inputs of shape "
                                f"{shape_text(input_shape)}")
        if input_shape[0] != channels:
            filters = "1 filter" if self.filters == 1 else f"{self.filters} filters"
            raise ShapeMismatch(f"the input has {plural(input_shape[0], 'channel')} ({shape_text(input_shape)}) "
                                f"but the filters have {channels} ({filters} of {shape_text((channels, kh, kw))})")
        height, width = (n + 2 * self.padding for n in input_shape[1:])
        if kh > height or kw > width:
            raise ShapeMismatch(f"the {kh}x{kw} filter is larger than the padded input ({height}x{width}: "
                                f"{shape_text(input_shape)} with padding {self.padding})")
        return self.filters, positions(height, kh, self.stride), positions(width, kw, self.stride)

    def forward(self, x: np.ndarray, params: dict[str, np.ndarray]) -> tuple[np.ndarray, ConvCache]:
        """net (m, F, Ho, Wo) for images x (m, C, H, W): every window times every filter, plus the bias."""
        weights, biases = params["weights"], params["biases"]
        padded = pad(np.asarray(x, dtype=float), self.padding)
        view = windows(padded, *self.kernel, self.stride)
        net = np.einsum("mchwij,fcij->mfhw", view, weights) + biases[None, :, None, None]
        return net, ConvCache(view, weights, padded.shape[-2:])

    def backward(self, dnet: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dL_s/dx per sample, and the batch-mean gradients of the filters and biases."""
        m = dnet.shape[0]
        dx = self.input_gradient(dnet, cache.weights, cache.padded_hw, self.stride)
        grads = {
            "weights": np.einsum("mfhw,mchwij->fcij", dnet, cache.windows) / m,
            "biases": dnet.sum(axis=(0, 2, 3)) / m,
        }
        return dx, grads

    def input_gradient(self, dnet: np.ndarray, weights: np.ndarray, padded_hw: tuple[int, int],
                       stride: int) -> np.ndarray:
        """dL/dx (m, C, H, W): each window's gradient (dnet times the filter) added back, padding cut off.

        `stride` is a parameter so that the catalogued mistake of ignoring it can reuse this.
        """
        grad_windows = np.einsum("mfhw,fcij->mchwij", dnet, weights)
        dx_padded = scatter_windows(grad_windows, padded_hw, stride)
        p = self.padding
        return dx_padded[:, :, p : dx_padded.shape[2] - p, p : dx_padded.shape[3] - p]


# -- catalogued mistakes: each gets one sample's dnet (F, Ho, Wo) and input (C, H, W) ----------------------


def _one(array: np.ndarray) -> np.ndarray:
    return array[None]


def _padded_hw(layer: Conv2D, x: np.ndarray) -> tuple[int, int]:
    return x.shape[-2] + 2 * layer.padding, x.shape[-1] + 2 * layer.padding


def _filter_not_rotated(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dx as the full convolution of dL/dnet with the filter as it is (not rotated by 180 degrees)."""
    flipped = layer.weights[:, :, ::-1, ::-1]
    if np.array_equal(flipped, layer.weights):
        return None
    return layer.input_gradient(_one(dnet), flipped, _padded_hw(layer, x), layer.stride)[0]


def _input_gradient_valid(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dx as the *valid* convolution of dL/dnet with the rotated filter (no zeros around dL/dnet).

    Only the top-left (Ho - kh + 1) x (Wo - kw + 1) corner of the padded input gets a value; NaN elsewhere.
    """
    kh, kw = layer.kernel
    rows, cols = dnet.shape[1] - kh + 1, dnet.shape[2] - kw + 1
    if rows < 1 or cols < 1:
        return None
    rotated = layer.weights[:, :, ::-1, ::-1]
    view = windows(_one(dnet), kh, kw, 1)[0]  # (F, rows, cols, kh, kw)
    valid = np.einsum("fhwij,fcij->chw", view, rotated)
    out = np.full((x.shape[0], *_padded_hw(layer, x)), np.nan)
    out[:, :rows, :cols] = valid
    p = layer.padding
    return out[:, p : out.shape[1] - p, p : out.shape[2] - p]


def _filter_gradient_full(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dW as the *full* convolution of the input with dL/dnet: read where the filter's entries sit."""
    rows, cols = dnet.shape[1:]
    padded = pad(_one(x), layer.padding)[0]
    around = np.pad(padded, [(0, 0), (rows - 1, rows - 1), (cols - 1, cols - 1)])
    full = np.einsum("chwij,fij->fchw", windows(around[None], rows, cols, 1)[0], dnet)
    kh, kw = layer.kernel
    return full[:, :, :kh, :kw]


def _stride_ignored_input(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dx with dL/dnet not spread out by the stride (as if the stride were 1)."""
    if layer.stride == 1:
        return None
    return layer.input_gradient(_one(dnet), layer.weights, _padded_hw(layer, x), 1)[0]


def _stride_ignored_filter(layer: Conv2D, dnet: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """dL/dW pairing output (r, c) with input window (r, c) at stride 1."""
    if layer.stride == 1:
        return None
    rows, cols = dnet.shape[1:]
    view = windows(pad(_one(x), layer.padding), *layer.kernel, 1)[0, :, :rows, :cols]
    return np.einsum("chwij,fhw->fcij", view, dnet)


FULL_VALID = ("dL/dX needs the full convolution (dL/dO padded with kernel - 1 zeros) and dL/dF the valid "
              "one; the two were swapped")
STRIDE_IGNORED = ("with a stride, output (r, c) comes from the window at (r * stride, c * stride); the "
                  "backward pass paired it with the window at (r, c)")

Conv2D.mistakes = (
    LayerMistake("filter_not_rotated",
                 "dL/dX is the full convolution of dL/dO with the filter rotated by 180 degrees; the filter "
                 "was used as it is", INPUT_GRADIENT, _filter_not_rotated),
    LayerMistake("full_valid_confused",
                 FULL_VALID, INPUT_GRADIENT, _input_gradient_valid),
    LayerMistake("full_valid_confused",
                 FULL_VALID, WEIGHT_GRADIENT, _filter_gradient_full),
    LayerMistake("stride_ignored_backward",
                 STRIDE_IGNORED, INPUT_GRADIENT, _stride_ignored_input),
    LayerMistake("stride_ignored_backward",
                 STRIDE_IGNORED, WEIGHT_GRADIENT, _stride_ignored_filter),
)


def rotated_full_convolution(delta: np.ndarray, weights: np.ndarray, stride: int, padding: int,
                             input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notes' identity for one filter and channel: dL/dX = full convolution of delta with the rotated filter.

    Returns (delta spread out by the stride and surrounded by kernel - 1 zeros, the filter rotated by 180
    degrees, the result with the padding cut off). Sliding the rotated filter over the first, as in the forward
    pass, gives this filter's part of dL/dX for this channel; summed over the filters it is dL/dX.
    """
    kh, kw = weights.shape
    rows, cols = delta.shape
    spread = np.zeros(((rows - 1) * stride + 1, (cols - 1) * stride + 1))
    spread[::stride, ::stride] = delta
    height, width = (n + 2 * padding for n in input_hw)
    extra_rows, extra_cols = height - (spread.shape[0] + kh - 1), width - (spread.shape[1] + kw - 1)
    padded = np.pad(spread, [(kh - 1, kh - 1 + extra_rows), (kw - 1, kw - 1 + extra_cols)])
    rotated = weights[::-1, ::-1]
    view = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw))
    result = np.einsum("hwij,ij->hw", view, rotated)
    return padded, rotated, result[padding:height - padding, padding:width - padding]


# -- the trace: every product of the cross-correlation with its numbers ------------------------------------

import itertools  # noqa: E402

from tutor.trace.layer_trace import LayerTrace, Parameter, channel_grids, summed, with_values  # noqa: E402
from tutor.trace.quantity import Term  # noqa: E402


class Conv2DTrace(LayerTrace):
    """net of every output position (the window times the filter), the filters' and biases' gradients, and
    dL/d(input) as the sum over every output the input number reached."""

    formulas = frozenset({"map_net"})
    dnet_kind = "delta"  # what the layer's backward pass takes: dL/dnet

    def __init__(self, builder, l: int) -> None:
        super().__init__(builder, l)
        self.weights = self.ls.params["weights"]
        self.filters, self.channels = self.weights.shape[:2]

    def weight_label(self, j: tuple[int, ...]) -> str:
        f, ch, a, b = j
        return f"w^{self.l}({a},{b})" if self.filters == self.channels == 1 else f"w^{self.l}[{f},{ch}]({a},{b})"

    def bias_label(self, j: tuple[int, ...]) -> str:
        return f"b^{self.l}" if self.filters == 1 else f"b^{self.l}[{j[0]}]"

    def parameters(self) -> list[Parameter]:
        return [Parameter("weights", "w", "filter_grad", "filter_new", self.weight_label),
                Parameter("biases", "b", "filter_bias_grad", "filter_bias_new", self.bias_label)]

    def forward_entries(self):
        for s in range(self.m):
            for kind in ("map_net", "map_out"):
                yield from ((kind, self.l, p, None, s) for p in self.positions())

    def backward_entries(self):
        for s in range(self.m):
            for p in self.positions():
                yield from ((kind, self.l, p, None, s) for kind in ("map_dloss_dout", "map_dout_dnet", "map_delta"))
        yield from self.gradient_entries()

    def _delta(self, f: int, r: int, c: int, s: int) -> Term:
        return self.standard("delta", (f + 1, r + 1, c + 1), s)

    def _weight(self, f: int, ch: int, a: int, b: int) -> Term:
        return Term(self.weight_label((f + 1, ch + 1, a + 1, b + 1)), float(self.weights[f, ch, a, b]))

    def formula(self, kind: str, j, s: int | None):
        """net = the window of the (padded) input times the filter, plus the bias."""
        spec = self.spec
        f, r, c = (k - 1 for k in j)
        channels, height, width = self.in_shape
        groups, terms, weights, skipped = [], [], [], 0
        for ch, a, b in itertools.product(range(channels), *(range(n) for n in self.weights.shape[2:])):
            row, col = r * spec.stride + a - spec.padding, c * spec.stride + b - spec.padding
            if not (0 <= row < height and 0 <= col < width):
                skipped += 1
                continue
            w, x = self._weight(f, ch, a, b), self.input_term((ch + 1, row + 1, col + 1), s)
            groups.append([w, " * ", x])
            terms.append(x)
            weights.append(w.value)
        bias = Term(self.bias_label((f + 1,)), float(self.ls.params["biases"][f]))
        parts = [*summed(groups, " + "), " + ", bias] if groups else [bias]
        compute, keys = with_values(terms, lambda v: float(np.dot(weights, v)) + bias.value if v else bias.value)
        note = f"{skipped} products with the padding's zeros left out" if skipped else ""
        return parts, compute, note, keys

    def parameter_gradient(self, name: str, j):
        """dL/dw: the sum over the output positions of delta times the input the entry met there; dL/db: the
        sum of the filter's deltas (each the batch mean)."""
        m = self.m
        _, rows, cols = self.out_shape
        if name == "biases":
            deltas = [self._delta(j - 1, r, c, s) for s in range(m) for r in range(rows) for c in range(cols)]
            compute, keys = with_values(deltas, lambda v: sum(v) / m)
            return self._mean(summed([[d] for d in deltas], " + ")), compute, self._mean_note(), keys
        spec = self.spec
        f, ch, a, b = (k - 1 for k in j)
        _, height, width = self.in_shape
        groups, terms = [], []
        for s, r, c in itertools.product(range(m), range(rows), range(cols)):
            row, col = r * spec.stride + a - spec.padding, c * spec.stride + b - spec.padding
            if 0 <= row < height and 0 <= col < width:
                delta, x = self._delta(f, r, c, s), self.input_term((ch + 1, row + 1, col + 1), s)
                groups.append([delta, " * ", x])
                terms += [delta, x]
        if not groups:
            return ["0"], lambda: 0.0, "this filter entry only ever met padding zeros", ()
        compute, keys = with_values(terms, lambda v: sum(v[k] * v[k + 1] for k in range(0, len(v), 2)) / m)
        return self._mean(summed(groups, " + ")), compute, self._mean_note(), keys

    def _mean(self, parts: list) -> list:
        return parts if self.m == 1 else ["(", *parts, f") / {self.m}"]

    def _mean_note(self) -> str:
        return "" if self.m == 1 else "the mean over the batch"

    def input_gradient(self, j, s: int):
        """dL/d(input at j): delta * the filter entry it met, over every output it reached."""
        spec = self.spec
        ch, row, col = (k - 1 for k in j)
        _, kh, kw = self.weights.shape[1:]
        out_rows, out_cols = self.out_shape[1:]
        groups, deltas, weights = [], [], []
        for f, a, b in itertools.product(range(self.filters), range(kh), range(kw)):
            r, rest_r = divmod(row + spec.padding - a, spec.stride)
            c, rest_c = divmod(col + spec.padding - b, spec.stride)
            if rest_r or rest_c or not (0 <= r < out_rows and 0 <= c < out_cols):
                continue
            delta, w = self._delta(f, r, c, s), self._weight(f, ch, a, b)
            groups.append([delta, " * ", w])
            deltas.append(delta)
            weights.append(w.value)
        if not groups:
            return ["0"], lambda: 0.0, "no output window covers this input (the stride steps over it)", ()
        return summed(groups, " + "), lambda *d: float(np.dot(d, weights)), "", tuple(d.key for d in deltas)

    def input_gradient_note(self) -> str:
        return ("each input number collects delta * the filter entry it met, over every output it reached (the "
                "full convolution above)")

    def describe(self, q):
        layer = f"layer {self.l} ({self.spec.kind})"
        index = q.index
        if q.kind in ("filter_grad", "filter_new") or (q.kind.startswith("opt_") and len(index) == 4):
            f, ch, a, b = index
            what = f"row {a}, column {b} of filter {f}" + (f" (input channel {ch})" if self.channels > 1 else "")
        elif q.kind in ("filter_bias_grad", "filter_bias_new") or q.kind.startswith("opt_"):
            what = f"the bias of filter {index[0]}"
        else:
            return None
        if q.kind.endswith("_grad"):
            return f"gradient of the loss with respect to {what}, {layer}"
        if q.kind.endswith("_new"):
            return f"{what} of {layer} after the update"
        rule = self.b.p.optimizer.rule(q.kind[4:])
        return f"{rule.meaning} for {what}, {layer} ({self.b.p.optimizer.name})"

    # -- the image view ----------------------------------------------------------------------------------

    def given_grids(self):
        blocks = [(f"w^{self.l}" if self.filters == self.channels == 1 else f"w^{self.l}[{f + 1},{ch + 1}]",
                   self.weights[f, ch]) for f in range(self.filters) for ch in range(self.channels)]
        return blocks + [(f"b^{self.l}", self.ls.params["biases"][None])]

    def tables(self, section: str):
        title = self.spec.describe() + f" (out = {self.spec.activation.formula})"
        if section == "forward":
            grids = [g for s in range(self.m) for g in channel_grids(f"net^{self.l}", self.ls.net[s], s, self.b.batch)
                     + channel_grids(f"out^{self.l}", self.ls.out[s], s, self.b.batch)]
            return [(("map_net", "map_out"), f"Layer {self.l}: {title}", grids, "")]
        deltas = [g for s in range(self.m) for g in channel_grids(f"delta^{self.l}", self.ls.delta[s], s, self.b.batch)]
        grads = self.ls.grads
        filter_grids = [(f"dL/dw^{self.l}" if self.filters == self.channels == 1 else
                         f"dL/dw^{self.l}[{f + 1},{ch + 1}]", grads["weights"][f, ch])
                        for f in range(self.filters) for ch in range(self.channels)]
        note = ("Each filter gradient is the sum over the output positions of delta times the input the filter "
                "entry met there (the cross-correlation of the input with delta); a bias gradient is the sum of its "
                "filter's deltas." + (" Both are the mean over the batch." if self.m > 1 else ""))
        return [(("map_dloss_dout", "map_dout_dnet", "map_delta"), f"Layer {self.l}: deltas ({title})", deltas, ""),
                (("filter_grad", "filter_bias_grad"), f"Layer {self.l}: filter gradients",
                 filter_grids + [(f"dL/db^{self.l}", grads["biases"][None])], note)]

    def extra_views(self):
        """dL/d(input) as the full convolution of delta with each filter rotated by 180 degrees, with numbers."""
        spec = self.spec
        source = "x" if self.l == 1 else f"out^{self.l - 1}"
        note = (f"dL/d{source} as the notes write it: the full convolution of delta^{self.l} (spread out by the "
                f"stride {spec.stride}, with kernel - 1 zeros around) with the filter rotated by 180 degrees" +
                (f", then {spec.padding} padding row(s) and column(s) cut off" if spec.padding else "") +
                (", summed over the filters" if self.filters > 1 else "") + ":")
        bands = []
        for s in range(self.m):
            at = f"@{s + 1}" if self.b.batch else ""
            for ch in range(self.channels):
                blocks, total = [], 0
                for f in range(self.filters):
                    padded, rotated, result = rotated_full_convolution(
                        self.ls.delta[s, f], self.weights[f, ch], spec.stride, spec.padding, self.in_shape[1:])
                    tag = "" if self.filters == self.channels == 1 else f"[{f + 1},{ch + 1}]"
                    blocks += [(f"delta^{self.l}{'' if self.filters == 1 else f'[{f + 1}]'}{at} full", padded),
                               (f"w^{self.l}{tag} rotated", rotated)]
                    total = total + result
                where = "" if self.channels == 1 else f"[{ch + 1}]"
                blocks.append((f"= dL/d{source}{where}{at}", total))
                bands.append(blocks)
        return [(note, bands)]


Conv2D.tracer = Conv2DTrace
