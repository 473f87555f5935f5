"""Layers by kind: each builds itself from a validated problem layer (`from_spec`)."""

from __future__ import annotations

from typing import Any

from tutor.model.layers.base import Layer
from tutor.model.layers.dense import Dense

#: kind -> layer class.
LAYERS: dict[str, type[Layer]] = {Dense.kind: Dense}


def build_layer(spec: Any) -> Layer:
    """The layer for one validated problem layer (dense unless it names another kind)."""
    return LAYERS[getattr(spec, "kind", "dense")].from_spec(spec)


__all__ = ["LAYERS", "Dense", "Layer", "build_layer"]
