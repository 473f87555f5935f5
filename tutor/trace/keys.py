"""Stable, typeable ASCII keys for every quantity of a step, and their parsing.

Layers and neurons count from 1; `{l}` is the layer, `{j}` the neuron, `{i}` the input of the layer:

    net{l}_{j}  out{l}_{j}  loss  loss_{j}  dL_dout{l}_{j}  dout_dnet{l}_{j}  delta{l}_{j}
    dL_dw{l}_{j}_{i}  dL_db{l}_{j}  new_w{l}_{j}_{i}  new_b{l}_{j}

A layer with one shared bias has `dL_db{l}` and `new_b{l}`. In a batch, per-sample quantities carry the
sample after an `@`: `net2_1@3`, `loss@3` (that sample's loss), `loss_2@3`.

An optimizer's intermediate quantities (docs/optimizers.md) are named after the quantity and the
parameter: `m_w{l}_{j}_{i}`, `v_hat_b{l}_{j}`, `step_w{l}_{j}_{i}`, `g_b{l}` (a shared bias).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The intermediate quantities optimizers compute on the way to a new value (see tutor.model.optimizers).
OPTIMIZER_QUANTITIES = ("g", "v", "d", "s", "m", "m_hat", "v_hat", "step")
#: Their kinds: one per quantity, for a weight or a bias alike (a bias's has no input index i).
OPTIMIZER_KINDS = tuple(f"opt_{name}" for name in OPTIMIZER_QUANTITIES)

KINDS = (
    "net", "out", "loss", "dloss_dout", "dout_dnet", "delta", "grad_weight", "grad_bias", *OPTIMIZER_KINDS,
    "new_weight", "new_bias",
    # layers on images (keys in tutor/trace/image_builder.py and the layers' own files)
    "map_net", "map_out", "map_dloss_dout", "map_dout_dnet", "map_delta", "filter_grad", "filter_bias_grad",
    "dloss_dinput", "filter_new", "filter_bias_new",
    # computational graphs (keys in tutor/trace/graph.py)
    "graph_value", "graph_local", "graph_contribution", "graph_grad", "graph_new",
)

#: The kinds of a parameter's new value (w+ = w - ...): judged, and printed, so that the update shows.
UPDATE_KINDS = ("new_weight", "new_bias", "filter_new", "filter_bias_new", "graph_new", "new_param")

SECTIONS = ("forward", "loss", "backward", "updates")

class _Sections(dict):
    """kind -> section; the kinds layers own (`LayerTrace.kinds`) and every optimizer's rules are looked up
    when first asked for."""

    def __missing__(self, kind: str) -> str:
        if kind.startswith("opt_") or kind == "new_param" or kind.startswith("clip"):
            return "updates"
        if kind == "grad_param":
            return "backward"
        from tutor.model.layers import LAYERS

        for cls in LAYERS.values():
            if cls.tracer is not None and kind in cls.tracer.kinds:
                self[kind] = cls.tracer.kinds[kind][1]
                return self[kind]
        raise KeyError(kind)


SECTION_OF_KIND = _Sections({
    "net": "forward", "out": "forward", "loss": "loss", "dloss_dout": "backward", "dout_dnet": "backward",
    "delta": "backward", "grad_weight": "backward", "grad_bias": "backward", "new_weight": "updates",
    "new_bias": "updates", **{kind: "updates" for kind in OPTIMIZER_KINDS},
    "map_net": "forward", "map_out": "forward", "map_dloss_dout": "backward", "map_dout_dnet": "backward",
    "map_delta": "backward", "filter_grad": "backward", "filter_bias_grad": "backward", "dloss_dinput": "backward",
    "filter_new": "updates", "filter_bias_new": "updates",
    "graph_value": "forward", "graph_local": "backward", "graph_contribution": "backward", "graph_grad": "backward",
    "graph_new": "updates",
})

_PREFIX = {
    "net": "net", "out": "out", "dloss_dout": "dL_dout", "dout_dnet": "dout_dnet", "delta": "delta",
    "grad_weight": "dL_dw", "grad_bias": "dL_db", "new_weight": "new_w", "new_bias": "new_b",
}
_KIND_OF_PREFIX = {prefix: kind for kind, prefix in _PREFIX.items()}

#: A well-formed key; compiled (and cached by `re`) on first use: `solve` never parses a key it did not make.
_KEY = (
    r"^(?:(?P<loss>loss)(?:_(?P<lj>[1-9][0-9]*))?"
    r"|(?P<opt>m_hat|v_hat|step|g|v|d|s|m)_(?P<param>w|b)(?P<olayer>[1-9][0-9]*)"
    r"(?:_(?P<oj>[1-9][0-9]*))?(?:_(?P<oi>[1-9][0-9]*))?"
    r"|(?P<prefix>net|out|dL_dout|dout_dnet|delta|dL_dw|dL_db|new_w|new_b)(?P<layer>[1-9][0-9]*)"
    r"(?:_(?P<j>[1-9][0-9]*))?(?:_(?P<i>[1-9][0-9]*))?)"
    r"(?:@(?P<sample>[1-9][0-9]*))?$"
)


@dataclass(frozen=True)
class KeyParts:
    """What a key names: kind, 1-based layer (None for the loss), neuron j, input i, sample s."""

    kind: str
    layer: int | None = None
    j: int | None = None
    i: int | None = None
    sample: int | None = None


def make_key(kind: str, layer: int | None = None, j: int | None = None, i: int | None = None,
             sample: int | None = None) -> str:
    """The key of one quantity; `sample` only for per-sample quantities of a batch."""
    if kind.startswith("clipped_"):  # a gradient after clipping (tutor.trace.clipping)
        return "clip_" + make_key(kind[len("clipped_"):], layer, j, i, sample)
    if kind == "loss":
        key = "loss" if j is None else f"loss_{j}"
    elif kind.startswith("opt_"):
        key = f"{kind[4:]}_{'b' if i is None else 'w'}{layer}"
        if j is not None:
            key += f"_{j}"
        if i is not None:
            key += f"_{i}"
    else:
        key = f"{_PREFIX[kind]}{layer}"
        if j is not None:
            key += f"_{j}"
        if i is not None:
            key += f"_{i}"
    return key if sample is None else f"{key}@{sample}"


def parse_key(key: str) -> KeyParts | None:
    """The parts of a well-formed key, or None. Whether the problem has it is checked by the trace."""
    match = re.match(_KEY, key.strip())
    if not match:
        return None
    sample = int(match["sample"]) if match["sample"] else None
    if match["loss"]:
        return KeyParts("loss", None, int(match["lj"]) if match["lj"] else None, None, sample)
    if match["opt"]:
        j = int(match["oj"]) if match["oj"] else None
        i = int(match["oi"]) if match["oi"] else None
        if sample is not None or (match["param"] == "w") != (i is not None):
            return None  # a weight has an input index i, a bias has none, and neither a sample
        return KeyParts(f"opt_{match['opt']}", int(match["olayer"]), j, i, None)
    kind = _KIND_OF_PREFIX[match["prefix"]]
    j = int(match["j"]) if match["j"] else None
    i = int(match["i"]) if match["i"] else None
    return KeyParts(kind, int(match["layer"]), j, i, sample)


#: A comma that is not inside round or square brackets.
_OUTSIDE_BRACKETS = re.compile(r",(?![^(\[]*[)\]])")


def split_keys(text: str | None) -> list[str]:
    """The names in a ``--only KEY[,KEY...]`` option, stripped; empty entries are dropped.

    A comma inside brackets belongs to the name (``dL/dw^1(2,1)``, a filter entry's label). No option
    (None) gives no names; an option that names nothing (``--only ""``) is a UserError, the same for
    every command.
    """
    names = [name.strip() for name in _OUTSIDE_BRACKETS.split(text or "") if name.strip()]
    if text is not None and not names:
        from tutor.errors import UserError

        raise UserError("--only needs at least one key or label, such as --only net1_1,w5+")
    return names
