"""A state_dict for a torchvision detector or segmenter (``--model
ssdlite320_mobilenet_v3_large --checkpoint FILE``): built with random weights and the
class count its head's weights say, then loaded strictly."""

from __future__ import annotations

from pathlib import Path

import torch

from cnn_viewer.models.checkpoint import CheckpointError
from cnn_viewer.models.loading.model_files import fit_keys, read_labels
from cnn_viewer.models.zoo.detection import (
    TaskNet,
    build_net,
    class_count,
    classes_in,
    finish_task_model,
    task_of,
)
from cnn_viewer.models.zoo.loaded import LoadedModel, load_state


def task_from_state(
    name: str,
    tensors: dict[str, torch.Tensor],
    path: str,
    labels_file: Path | None,
    input_size: tuple[int, int] | None,
) -> LoadedModel:
    """A state_dict (torchvision's keys, bare or with ``module.`` prefixes) for a
    detector or segmenter: the class count is read from the head's weights; names from
    ``labels_file``, else the weights' metadata where the count fits, else numbers."""
    from torchvision.models import get_model_weights

    task = task_of(name)
    assert task is not None
    kwargs: dict = {}
    if task == "segment" and any("aux_classifier." in k for k in tensors):
        kwargs["aux_loss"] = True
    net = build_net(name, None, **kwargs)
    tensors = fit_keys(set(net.state_dict()), tensors)
    count = classes_in(net, task, tensors)
    if count is not None and count != class_count(TaskNet(net, task)):
        kwargs["num_classes"] = count
        try:
            net = build_net(name, None, **kwargs)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: cannot build {name} with {kwargs} ({exc})") from None
    load_state(net, tensors, path)
    if labels_file is not None:
        names, where = read_labels(labels_file, count), f"--labels {labels_file.name}"
    else:
        meta = get_model_weights(name).DEFAULT.meta.get("categories", [])
        names, where = [str(c) for c in meta], "the architecture's categories"
    return finish_task_model(name, net, task, names, where, input_size, [], f"{name} + {path}")
