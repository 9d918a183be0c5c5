"""ONNX files: the graph converted to a torch module by onnx2torch, so hooks, Grad-CAM and
the inspector work on it as on any model; its input size from the graph's input."""

from __future__ import annotations

from pathlib import Path

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.loading.model_files import IMAGENET_MEAN, IMAGENET_STD
from cnn_viewer.models.zoo.classifier import finish_classifier
from cnn_viewer.models.zoo.loaded import LoadedModel


def _onnx():
    try:
        import onnx
        import onnx2torch
    except ImportError:
        raise ValueError(
            "ONNX files need the onnx and onnx2torch packages: pip install onnx onnx2torch"
        ) from None
    return onnx, onnx2torch


def inline_initializer_identities(graph) -> int:
    """Replace each Identity of a stored weight by a copy of that weight under the
    Identity's output name (torch's exporter writes one for every shared weight;
    onnx2torch expects the weights of a Conv as stored tensors). Returns how many."""
    import onnx

    stored = {t.name: t for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    keep, inlined = [], 0
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in stored and node.output[0] not in outputs:
            copy = onnx.TensorProto()
            copy.CopyFrom(stored[node.input[0]])
            copy.name = node.output[0]
            graph.initializer.append(copy)
            inlined += 1
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    return inlined


def _input_shape(model, path: Path) -> tuple[int, int | None, int | None]:
    """(channels, height, width) of the graph's first real input (None: not fixed)."""
    stored = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in stored]
    if len(inputs) != 1:
        raise ValueError(
            f"{path}: the graph takes {len(inputs)} inputs; cnn-viewer feeds one image tensor"
        )
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ValueError(
            f"{path}: the graph's input has {len(dims)} dimensions; an image model takes "
            "4 (batch x channels x height x width)"
        )
    sizes = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    channels = sizes[1] or 3
    return channels, sizes[2], sizes[3]


def load_onnx(path: Path, input_size: tuple[int, int] | None) -> LoadedModel:
    """An .onnx file as a torch module. Preprocessing: the graph's input size (or
    --input-size), stretched, ImageNet mean/std (an ONNX file does not say how it was
    trained; --resize/--crop/--mean/--std say it)."""
    onnx, onnx2torch = _onnx()
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file
        raise ValueError(
            f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc})"
        ) from None
    channels, h, w = _input_shape(model, path)
    if input_size is None and (h is None or w is None):
        raise ValueError(
            f"{path}: the graph's input size is not fixed; give it with --input-size HxW"
        )
    size = input_size or (int(h), int(w))  # type: ignore[arg-type]  # both set here
    inline_initializer_identities(model.graph)
    try:
        module = onnx2torch.convert(model)
    except NotImplementedError as exc:  # an operator (or opset) onnx2torch lacks
        raise ValueError(
            f"{path}: onnx2torch cannot convert this graph: {exc}. Re-export with another "
            "opset (e.g. torch.onnx.export(..., opset_version=17)) or without that operator"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the converter's own failures
        raise ValueError(
            f"{path}: onnx2torch could not convert it ({type(exc).__name__}: {str(exc)[:300]})"
        ) from None
    gray = channels == 1
    prep = Preprocess(
        input_size=size,
        channels=channels,
        mean=(0.5,) if gray else IMAGENET_MEAN,
        std=(0.5,) if gray else IMAGENET_STD,
    )
    note = (
        f"ONNX: input {channels} x {size[0]}x{size[1]} stretched, "
        f"{'mean/std 0.5' if gray else 'ImageNet mean/std'} assumed (the file does not say; "
        "--resize/--crop/--mean/--std set them)"
    )
    return finish_classifier(
        module,
        name=path.name,
        source=f"ONNX file {path}",
        prep=prep,
        names=None,
        names_source="",
        notes=[note],
    )
