"""Optimizers with explicit state and one `step`: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, nadam.

`make_optimizer({"name": "adam", "beta1": 0.9})` builds one, checking its options (defaults as PyTorch's);
every optimizer also takes `weight_decay` (L2; decoupled for adamw) and `l1`. See docs/optimizers.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Mapping

from tutor.model.options import split_spec

if TYPE_CHECKING:
    from tutor.model.optimizers.base import Optimizer

#: name -> (module, class); modules are imported when first used (they need numpy).
OPTIMIZERS: dict[str, tuple[str, str]] = {
    "sgd": ("sgd", "SGD"),
    "momentum": ("momentum", "Momentum"),
    "nesterov": ("nesterov", "Nesterov"),
    "adagrad": ("adagrad", "Adagrad"),
    "rmsprop": ("rmsprop", "RMSprop"),
    "adam": ("adam", "Adam"),
    "adamw": ("adamw", "AdamW"),
    "nadam": ("nadam", "NAdam"),
}


def optimizer_class(name: str) -> type["Optimizer"]:
    """The class of a registered optimizer."""
    module, cls = OPTIMIZERS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make_optimizer(spec: Mapping[str, Any] | str | None) -> "Optimizer":
    """The optimizer a spec names (``{"name": "adam", "beta1": 0.9}`` or ``"adam"``); None is plain sgd.

    A bad spec raises `tutor.model.options.SpecError` naming the key at fault.
    """
    name, options = split_spec("optimizer", spec if spec is not None else "sgd", list(OPTIMIZERS))
    return optimizer_class(name)(**options)
