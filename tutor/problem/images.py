"""Problem files with layers of any kind (`type:`, dense by default; tutor.model.layers.LAYERS), and images.

`inputs` is one sample, a batch of rows, one image channels first (``[C][H][W]``, or ``[H][W]`` for one
channel) or a batch of images ``[N][C][H][W]``; images when a layer takes images (conv2d, pooling,
flatten). Each kind reads its own entry (`Layer.read`); shapes are checked layer by layer, and a layer that
cannot take what comes before it is reported with both shapes, located in the file.
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

def layer_types() -> tuple[str, ...]:
    """Every `type:` a layer may have, the default (dense) first."""
    from tutor.model.layers import LAYERS

    return tuple(LAYERS)


def layer_type(entry: Any) -> str:
    """The `type` a layer entry gives (dense when it gives none or is not a mapping)."""
    from tutor.model.layers import DEFAULT_KIND

    kind = entry.get("type", DEFAULT_KIND) if isinstance(entry, dict) else DEFAULT_KIND
    return kind if isinstance(kind, str) else DEFAULT_KIND


def is_image_problem(reader: "_Reader", data: dict) -> bool:
    """Whether the inputs are images: some layer of the file takes images (every `type` is checked)."""
    return any(kind.takes_images for kind in layer_kinds(reader, data))


def is_layered_problem(reader: "_Reader", data: dict) -> bool:
    """Whether any layer is of a kind other than the default (dense)."""
    from tutor.model.layers import DEFAULT_KIND

    return any(kind.kind != DEFAULT_KIND for kind in layer_kinds(reader, data))


def layer_kinds(reader: "_Reader", data: dict) -> list:
    """The layer class of each entry of `layers`; an unknown `type` is reported where it is."""
    from tutor.errors import closest
    from tutor.model.layers import LAYERS

    layers = data.get("layers")
    if not isinstance(layers, list):
        return []
    kinds = []
    for index, entry in enumerate(layers):
        kind = layer_type(entry) if not isinstance(entry, dict) or isinstance(entry.get("type", ""), str) else \
            entry.get("type")
        if not isinstance(kind, str) or kind not in LAYERS:
            types = layer_types()
            hint = closest(kind, types) if isinstance(kind, str) else ""
            reader.fail(["layers", index, "type"], f"unknown layer type {_got(kind)}{hint} (choose from "
                                                   f"{', '.join(types)})")
        kinds.append(LAYERS[kind])
    return kinds


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


def read_image(reader: "_Reader", value: Any) -> tuple[np.ndarray, bool]:
    """`inputs` as images (N, C, H, W): [H][W] is one channel, [C][H][W] one image, [N][C][H][W] a batch."""
    path = ["inputs"]
    depth = _depth(value)
    if depth not in (2, 3, 4):
        reader.fail(path, f"expected one image: rows of numbers [H][W] (one channel) or channels of rows "
                          f"[C][H][W], or a batch of images [N][C][H][W], got "
                          f"{_got(value) if depth < 2 else f'a list nested {depth} levels deep'}")
    image = nested(reader, value, path, depth, "the image's numbers")
    if depth == 4:
        return image, True
    return (image[None] if depth == 2 else image)[None], False


def read_layers(reader: "_Reader", value: Any, inputs: np.ndarray) -> tuple:
    """Every layer, each read by its kind and checked against the shape of what comes before it."""
    from tutor.model.layers import DEFAULT_KIND, LAYERS

    layers: list = []
    shape: tuple[int, ...] = tuple(inputs.shape[1:])
    for index, entry in enumerate(value):
        path = ["layers", index]
        entry = reader.mapping(entry, path, "a layer")
        kind = layer_type(entry)
        if kind == DEFAULT_KIND:
            if len(shape) != 1:
                source = f"from layer {index} ({layers[-1].kind})" if layers else "(the input)"
                reader.fail(path, f"layer {index + 1} ({kind}) follows a {shape_text(shape)} image {source}; a "
                                  f"{kind} layer takes a vector: put a layer of type flatten before it")
            layer = reader.layer(entry, index, shape[0], is_output=index == len(value) - 1)
            shape = (layer.size,)
        else:
            layer = _layer(reader, LAYERS[kind], entry, path, shape, inputs.shape[0])
            shape = layer.output_shape
        layers.append(layer)
    return tuple(layers)


def _layer(reader: "_Reader", cls: Any, entry: dict, path: list, shape: tuple[int, ...], samples: int) -> ImageLayer:
    """A layer of a kind other than dense, read by its kind, with the shape it gives checked against the one it gets."""
    from tutor.model.layers import build_layer

    fields = cls.read(reader, entry, path, shape, samples) if cls.reads_samples else cls.read(reader, entry, path, shape)
    params = dict(fields.pop("params", {}))
    spec = ImageLayer(cls.kind, shape, (), weights=params.pop("weights", None), biases=params.pop("biases", None),
                      extra_params=params, **fields)
    try:
        output = build_layer(spec).output_shape(shape)
    except ShapeMismatch as exc:
        reader.fail(path, f"layer {path[1] + 1} ({cls.kind}): {exc}")
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


def sample_array(reader: "_Reader", value: Any, path: list, shape: tuple[int, ...], samples: int,
                 what: str) -> np.ndarray:
    """(samples, *shape) numbers: one entry per sample shaped like `shape` (one sample: that entry alone)."""
    depth = len(shape) + 1
    given = _depth(value)
    if samples == 1 and given == depth - 1:
        array = nested(reader, value, path, depth - 1, what)[None]
    else:
        array = nested(reader, value, path, depth, what) if given == depth else None
        if array is None or array.shape[0] != samples:
            reader.fail(path, f"expected {what} for each of the {samples} samples, each shaped like the layer's "
                              f"input ({shape_text(shape)}), got {_got(value)}")
    if array.shape[1:] != tuple(shape):
        reader.fail(path, f"expected {what} shaped like the layer's input ({shape_text(shape)}) for each sample, "
                          f"got {shape_text(array.shape[1:])}")
    return array


def elementwise_activation(reader: "_Reader", value: Any, path: list, kind: str) -> Any:
    """An activation for a layer whose outputs are not a distribution: elementwise ones only."""
    activation = reader.activation(value, path)
    if not activation.elementwise:
        reader.fail(path, f"{activation.name} is not elementwise; a {kind} layer takes an elementwise activation "
                          "(softmax belongs to a dense output)")
    return activation


def whole(reader: "_Reader", value: Any, path: list, smallest: int) -> int:
    """A whole number, at least `smallest` (a stride, a window's size, padding)."""
    return _whole(reader, value, path, smallest)


def filters(reader: "_Reader", value: Any, path: list) -> np.ndarray:
    """A conv layer's filters: [kh][kw] (one filter over one channel) or [F][C][kh][kw]."""
    return _filters(reader, value, path)


def filter_biases(reader: "_Reader", value: Any, path: list, count: int) -> np.ndarray:
    """One bias per filter (a single number for a single filter)."""
    return _biases(reader, value, path, count)


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
