"""Problem files with images: an input image and conv2d, maxpool, avgpool and flatten layers.

`inputs` is one image, channels first: ``[C][H][W]``, or ``[H][W]`` for one channel. A layer's `type`
is conv2d, maxpool, avgpool, flatten or dense (the default). Shapes are checked layer by layer, and a
layer that cannot take what comes before it is reported with both shapes, located in the file.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tutor.errors import plural
from tutor.model.layers.windows import ShapeMismatch, shape_text
from tutor.problem.validated import ImageLayer

if TYPE_CHECKING:
    from tutor.problem.loader import _Reader

IMAGE_TYPES = ("conv2d", "maxpool", "avgpool", "flatten")
LAYER_TYPES = ("dense", *IMAGE_TYPES)
CONV_KEYS = ("type", "weights", "biases", "stride", "padding", "activation")
POOL_KEYS = ("type", "size", "stride")


def layer_type(entry: Any) -> str:
    """The `type` a layer entry gives (dense when it gives none or is not a mapping)."""
    kind = entry.get("type", "dense") if isinstance(entry, dict) else "dense"
    return kind if isinstance(kind, str) else "dense"


def is_image_problem(reader: "_Reader", data: dict) -> bool:
    """Whether any layer of the file is a conv2d, pooling or flatten layer (every `type` is checked)."""
    from tutor.errors import closest

    layers = data.get("layers")
    if not isinstance(layers, list):
        return False
    for index, entry in enumerate(layers):
        kind = entry.get("type", "dense") if isinstance(entry, dict) else "dense"
        if kind not in LAYER_TYPES:
            hint = closest(kind, LAYER_TYPES) if isinstance(kind, str) else ""
            reader.fail(["layers", index, "type"], f"unknown layer type {_got(kind)}{hint} (choose from "
                                                   f"{', '.join(LAYER_TYPES)})")
    return any(layer_type(entry) in IMAGE_TYPES for entry in layers)


def nested(reader: "_Reader", value: Any, path: list, depth: int, what: str) -> np.ndarray:
    """A rectangular nested list of finite numbers, exactly `depth` levels deep."""
    if depth == 1:
        return reader.vector(value, path, None, what)
    if not isinstance(value, list) or not value or not all(isinstance(v, list) for v in value):
        reader.fail(path, f"expected {what}: a list of lists, {depth} levels deep, got {_got(value)}")
    parts = [nested(reader, v, [*path, n], depth - 1, what) for n, v in enumerate(value)]
    for n, part in enumerate(parts):
        if part.shape != parts[0].shape:
            reader.fail([*path, n], f"expected {shape_text(parts[0].shape)} numbers like the first entry, "
                                    f"got {shape_text(part.shape)} (entries differ in size)")
    return np.stack(parts)


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


def _got(value: Any) -> str:
    from tutor.problem.loader import describe_value

    return describe_value(value)


def read_image(reader: "_Reader", value: Any) -> np.ndarray:
    """`inputs` as one image (1, C, H, W): [H][W] is one channel, [C][H][W] gives the channels."""
    path = ["inputs"]
    depth = _depth(value)
    if depth not in (2, 3):
        reader.fail(path, f"expected one image: rows of numbers [H][W] (one channel) or channels of rows "
                          f"[C][H][W], got {_got(value) if depth < 2 else f'a list nested {depth} levels deep'}")
    image = nested(reader, value, path, depth, "the image's numbers")
    return (image[None] if depth == 2 else image)[None]


def read_layers(reader: "_Reader", value: Any, image: np.ndarray) -> tuple:
    """Every layer, each checked against the shape of what comes before it."""
    layers: list = []
    shape: tuple[int, ...] = tuple(image.shape[1:])
    for index, entry in enumerate(value):
        path = ["layers", index]
        entry = reader.mapping(entry, path, "a layer")
        kind = layer_type(entry)
        if kind == "dense":
            if len(shape) != 1:
                source = f"from layer {index} ({layers[-1].kind})" if layers else "(the input)"
                reader.fail(path, f"layer {index + 1} (dense) follows a {shape_text(shape)} image {source}; a dense "
                                  "layer takes a vector: put a layer of type flatten before it")
            layer = reader.layer(entry, index, shape[0], is_output=index == len(value) - 1)
            shape = (layer.size,)
        else:
            layer = _image_layer(reader, entry, path, kind, shape)
            shape = layer.output_shape
        layers.append(layer)
    return tuple(layers)


def _image_layer(reader: "_Reader", entry: dict, path: list, kind: str, shape: tuple[int, ...]) -> ImageLayer:
    """A conv2d, pooling or flatten layer, with the shape it gives checked against the one it gets."""
    from tutor.model.layers import build_layer

    if kind == "conv2d":
        reader.check_keys(entry, path, CONV_KEYS, ("type", "weights", "biases"))
        weights = _filters(reader, entry["weights"], [*path, "weights"])
        biases = _biases(reader, entry["biases"], [*path, "biases"], weights.shape[0])
        activation = reader.activation(entry.get("activation", "linear"), [*path, "activation"])
        if not activation.elementwise:
            reader.fail([*path, "activation"], f"{activation.name} is not elementwise; a conv2d layer takes "
                                               "an elementwise activation (softmax belongs to a dense output)")
        params = {"stride": _whole(reader, entry.get("stride", 1), [*path, "stride"], 1),
                  "padding": _whole(reader, entry.get("padding", 0), [*path, "padding"], 0)}
        spec = ImageLayer(kind, shape, (), weights=weights, biases=biases, activation=activation, **params)
    elif kind in ("maxpool", "avgpool"):
        reader.check_keys(entry, path, POOL_KEYS, ("type", "size"))
        size = _whole(reader, entry["size"], [*path, "size"], 1)
        stride = _whole(reader, entry.get("stride", size), [*path, "stride"], 1)
        spec = ImageLayer(kind, shape, (), window=size, stride=stride)
    else:
        reader.check_keys(entry, path, ("type",), ("type",))
        spec = ImageLayer(kind, shape, ())
    try:
        output = build_layer(spec).output_shape(shape)
    except ShapeMismatch as exc:
        reader.fail(path, f"layer {path[1] + 1} ({kind}): {exc}")
    return spec.with_output(output)


def _filters(reader: "_Reader", value: Any, path: list) -> np.ndarray:
    """[kh][kw] (one filter over one channel) or [F][C][kh][kw]."""
    depth = _depth(value)
    if depth not in (2, 4):
        reader.fail(path, "expected the filters as [filters][channels][rows][columns], or one filter "
                          f"[rows][columns] for a one-channel input, got lists nested {depth} levels deep")
    filters = nested(reader, value, path, depth, "the filters' numbers")
    return filters[None, None] if depth == 2 else filters


def _biases(reader: "_Reader", value: Any, path: list, filters: int) -> np.ndarray:
    """One bias per filter (a single number for a single filter)."""
    if not isinstance(value, list) and filters == 1:
        return np.array([reader.number(value, path, "a number (the filter's bias)")])
    if not isinstance(value, list):
        reader.fail(path, f"expected {plural(filters, 'number')} (one bias per filter), got {_got(value)}")
    return reader.vector(value, path, filters, "one bias per filter")


def check_plain_descent(reader: "_Reader", data: dict, optimizer_keys: tuple[str, ...]) -> None:
    """Layers on images take plain gradient descent: w - learning_rate * gradient (no optimizer options yet)."""
    for key in optimizer_keys:
        if key in data and not (key == "optimizer" and data[key] == "sgd"):
            reader.fail([], f"'{key}' is not available with conv2d, pooling and flatten layers yet; they take plain "
                            "gradient descent (w - learning_rate * gradient)", key=key)


def check_notation(reader: "_Reader", value: Any) -> None:
    """An image problem's `notation` may only set the loss symbol (its other names are fixed)."""
    if isinstance(value, dict):
        reader.check_keys(value, ["notation"], ("loss",), ())


def _whole(reader: "_Reader", value: Any, path: list, smallest: int) -> int:
    if type(value) is not int or value < smallest:
        what = "a positive whole number" if smallest else "a whole number, 0 or more"
        reader.fail(path, f"expected {what}, got {_got(value)}")
    return value


def read_image_targets(reader: "_Reader", value: Any, output_shape: tuple[int, ...]) -> np.ndarray:
    """Targets for an image output: in the output's shape (channels first; [rows][columns] for one
    channel) or as one flat list in that order; returned as (1, outputs)."""
    path = ["targets"]
    count = math.prod(output_shape)
    depth = _depth(value)
    shapes = {len(output_shape): output_shape, 1: (count,)}
    if output_shape[0] == 1:
        shapes[2] = output_shape[1:]
    if depth not in shapes:
        reader.fail(path, f"expected targets shaped like the output ({shape_text(output_shape)}), or "
                          f"{plural(count, 'number')} in a flat list, got {_got(value)}")
    targets = nested(reader, value, path, depth, "target values")
    if targets.shape != shapes[depth]:
        reader.fail(path, f"expected {shape_text(shapes[depth])} targets (one per output of the last layer, "
                          f"whose output is {shape_text(output_shape)}), got {shape_text(targets.shape)}")
    return targets.reshape(1, count)
