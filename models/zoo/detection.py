"""torchvision's object detectors and semantic segmenters by name, built with their
weights (pretrained, random or a state_dict), as a LoadedModel whose module takes the
1 x 3 x H x W tensor every other model takes and returns one tensor.

``TaskNet`` wraps the torchvision model without renaming anything: its submodules are
the wrapped model's own (``backbone.body.layer1``, ``backbone.fpn.layer_blocks.0``,
...), so layer names and state_dict keys are torchvision's. A detector's forward
returns an N x 6 tensor (x0, y0, x1, y1, score, label) in the input's pixels, sorted by
score as torchvision sorts it; a segmenter's returns the 1 x K x H x W class scores
(``out``) at the input's size.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.zoo.loaded import LoadedModel, freeze
from cnn_viewer.models.zoo.torchvision_weights import build_with_weights

DETECTORS = (
    "ssdlite320_mobilenet_v3_large",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_resnet50_fpn_v2",
    "retinanet_resnet50_fpn",
    "retinanet_resnet50_fpn_v2",
    "fcos_resnet50_fpn",
    "ssd300_vgg16",
)
SEGMENTERS = (
    "lraspp_mobilenet_v3_large",
    "deeplabv3_mobilenet_v3_large",
    "deeplabv3_resnet50",
    "deeplabv3_resnet101",
    "fcn_resnet50",
    "fcn_resnet101",
)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def task_of(name: str) -> str | None:
    """'detect', 'segment' or None (not one of these models)."""
    if name in DETECTORS:
        return "detect"
    if name in SEGMENTERS:
        return "segment"
    return None


class TaskNet(nn.Module):
    """A torchvision detector or segmenter behind a plain tensor-in, tensor-out forward.

    The wrapper shares the wrapped model's submodule table, so ``named_modules`` and
    ``state_dict`` read exactly as the torchvision model's; ``inner`` is the model
    itself (its own ``training`` flag follows ``train``/``eval``).
    """

    inner: Any  # the torchvision model (its attributes are read by name: backbone, head)

    def __init__(self, net: nn.Module, task: str) -> None:
        super().__init__()
        object.__setattr__(self, "inner", net)  # not a child: no "inner." prefix
        self._modules = net._modules
        self.task = task

    def train(self, mode: bool = True) -> TaskNet:
        self.inner.train(mode)
        super().train(mode)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.task == "segment":
            return self.inner(x)["out"]
        out = self.inner(list(x))[0]  # one image: the engine and predict feed batch 1
        return torch.cat(
            [out["boxes"], out["scores"][:, None], out["labels"][:, None].to(out["boxes"])], 1
        )


def build_net(name: str, weights, **kwargs) -> nn.Module:
    from torchvision.models import get_model

    if weights is None:
        kwargs.setdefault("weights_backbone", None)  # random: nothing downloads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_model(name, weights=weights, **kwargs)


def _preprocess(name: str, task: str, input_size: tuple[int, int] | None) -> Preprocess:
    """Stretch the frame to ``input_size`` (default: the model's own working size,
    4:3), in 0..1 for a detector (it normalises inside), ImageNet statistics for a
    segmenter (as its weights' transforms)."""
    if input_size is None:
        short = 320 if "320" in name else 300 if name == "ssd300_vgg16" else 800
        short = 520 if task == "segment" else short
        input_size = (short, short) if name.startswith("ssd") else (short, round(short * 4 / 3))
    if task == "detect":
        return Preprocess(input_size=input_size, channels=3, mean=(0.0,) * 3, std=(1.0,) * 3)
    return Preprocess(input_size=input_size, channels=3, mean=IMAGENET_MEAN, std=IMAGENET_STD)


def load_task_model(
    name: str, weights: str, input_size: tuple[int, int] | None = None
) -> LoadedModel:
    """A detector or segmenter with 'default' / an enum member's pretrained weights
    (downloaded as the classifiers' are; offline: WeightsUnavailable) or 'none'."""
    from torchvision.models import get_model_weights

    task = task_of(name)
    if task is None:
        raise ValueError(
            f"{name!r} is no detector or segmenter: {', '.join(DETECTORS + SEGMENTERS)}"
        )
    enum = get_model_weights(name)
    net, spec, notes = build_with_weights(name, weights, enum, lambda entry: build_net(name, entry))
    source = "the weights' metadata" if weights != "none" else "the default weights' metadata"
    labels = [str(c) for c in spec.meta.get("categories", [])]
    return finish_task_model(
        name, net, task, labels, source, input_size, notes, f"torchvision:{name}"
    )


def finish_task_model(
    name: str,
    net: nn.Module,
    task: str,
    labels: list[str],
    labels_source: str,
    input_size: tuple[int, int] | None,
    notes: list[str],
    source: str,
) -> LoadedModel:
    from cnn_viewer.models.zoo.detection_layers import task_layers

    module = TaskNet(net, task)
    freeze(module)
    count = class_count(module)
    if len(labels) != count:
        labels, labels_source = [str(i) for i in range(count)], f"numbers 0..{count - 1}"
    prep = _preprocess(name, task, input_size)
    shown, cam = task_layers(module)
    return LoadedModel(
        name=name,
        module=module,
        labels=labels,
        preprocess=prep,
        display_layers=shown,
        cam_layer=cam,
        source=source,
        notes=notes,
        labels_source=labels_source,
        task=task,
    )


def class_count(module: TaskNet) -> int:
    """How many classes the model scores (background included), from its head."""
    net = module.inner
    if module.task == "segment":
        last = [m for m in net.classifier.modules() if isinstance(m, nn.Conv2d)]
        if hasattr(net.classifier, "high_classifier"):  # LR-ASPP
            return int(net.classifier.high_classifier.out_channels)
        return int(last[-1].out_channels)
    if hasattr(net, "roi_heads"):
        return int(net.roi_heads.box_predictor.cls_score.out_features)
    head = net.head.classification_head
    return int(getattr(head, "num_classes", None) or head.num_columns)  # SSD: num_columns


# The state_dict entry whose first dimension is (anchors per place) x (class count).
HEAD_KEYS = (
    "roi_heads.box_predictor.cls_score.weight",  # Faster R-CNN
    "head.classification_head.cls_logits.weight",  # RetinaNet, FCOS
    "head.classification_head.module_list.0.1.weight",  # SSDLite
    "head.classification_head.module_list.0.weight",  # SSD300
    "classifier.low_classifier.weight",  # LR-ASPP
    "classifier.4.weight",  # DeepLabV3, FCN
)


def classes_in(net: nn.Module, task: str, tensors: dict[str, torch.Tensor]) -> int | None:
    """The class count ``tensors`` were trained for, read against ``net`` (the same
    architecture with its default count): None when no head entry says."""
    mine = net.state_dict()
    count = class_count(TaskNet(net, task))
    for key in HEAD_KEYS:
        if key in mine and key in tensors and tensors[key].ndim:
            per_class = mine[key].shape[0] // count
            return int(tensors[key].shape[0]) // per_class
    return None
