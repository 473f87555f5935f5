"""Layers by kind: each builds itself from a validated problem layer (`from_spec`)."""

from __future__ import annotations

from typing import Any

from tutor.model.layers.avgpool import AvgPool
from tutor.model.layers.base import Layer
from tutor.model.layers.batchnorm import BatchNorm
from tutor.model.layers.conv2d import Conv2D
from tutor.model.layers.dense import Dense
from tutor.model.layers.dropout import Dropout
from tutor.model.layers.flatten import Flatten
from tutor.model.layers.maxpool import MaxPool

#: kind -> layer class; a layer entry without `type` is the first, dense.
LAYERS: dict[str, type[Layer]] = {cls.kind: cls for cls in (Dense, Conv2D, MaxPool, AvgPool, Flatten, BatchNorm, Dropout)}


DEFAULT_KIND = Dense.kind


def build_layer(spec: Any) -> Layer:
    """The layer for one validated problem layer (dense unless it names another kind)."""
    return LAYERS[spec.kind].from_spec(spec)


__all__ = ["DEFAULT_KIND", "LAYERS", "AvgPool", "BatchNorm", "Dropout", "Conv2D", "Dense", "Flatten", "Layer", "MaxPool", "build_layer"]
