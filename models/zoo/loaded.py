"""The network ready to run (LoadedModel), and the two steps every built network goes
through: its weights must fit (``load_state``) and it is frozen (``freeze``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnn_viewer.models.checkpoint import CheckpointError
from cnn_viewer.models.data.drawing import as_digits
from cnn_viewer.models.data.images import Preprocess


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are needed but neither cached nor downloadable. ``headline``: the
    first sentence (what and why), without the offline choices."""

    def __init__(self, message: str, headline: str | None = None) -> None:
        super().__init__(message)
        self.headline = headline or message


OFFLINE_CHOICES = (
    "Without a network, use random weights (--weights none), the built-in 'digits' model, "
    "or a local --checkpoint FILE."
)


def weights_unavailable(what: str, reason: object) -> WeightsUnavailable:
    """The one wording for pretrained weights that are not cached and cannot be
    downloaded, e.g. what="resnet18", reason="<urlopen error ...>"."""
    headline = f"pretrained weights for {what} are not cached and cannot be downloaded ({reason})"
    return WeightsUnavailable(f"{headline}. {OFFLINE_CHOICES}", headline)


@dataclass
class LoadedModel:
    """A network ready to run, with what is needed to feed it and read its answer.

    ``module`` is in eval mode with frozen parameters. ``preprocess(image)`` takes an
    RGB or grayscale numpy image of any size and returns a 1xCxHxW float32 tensor.
    """

    name: str
    module: nn.Module
    labels: list[str]
    preprocess: Preprocess
    display_layers: list[str]
    cam_layer: str | None
    is_digits: bool = False
    source: str = ""
    notes: list[str] = field(default_factory=list)
    # where ``labels`` came from, for the "labels: ..." half of the input line, e.g.
    # "the weights' metadata", "--labels names.txt", "ImageNet (1000 outputs)", "numbers"
    labels_source: str = ""
    # 'classify' (logits out), 'detect' or 'segment' (cnn_viewer.models.zoo.detection)
    task: str = "classify"

    def __post_init__(self) -> None:
        # The one digit rule: a digit model's own preprocessing is MNIST centring
        # (DigitPreprocess), however the model was built.
        if self.is_digits:
            self.preprocess = as_digits(self.preprocess)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.preprocess.input_size

    @property
    def channels(self) -> int:
        return self.preprocess.channels

    @property
    def device(self) -> torch.device:
        for p in self.module.parameters():
            return p.device
        return torch.device("cpu")

    def to(self, device: torch.device | str) -> LoadedModel:
        """Move the network to ``device`` (in place); returns self."""
        self.module.to(device)
        return self

    def predict(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """Top-k (index, label, probability) for one image (a classifier's)."""
        if self.task != "classify":
            raise ValueError(
                f"{self.name} is a {self.task} model, not a classifier: use "
                "cnn_viewer.models.zoo.task_outputs.detect() or segment()"
            )
        with torch.inference_mode():
            x = self.preprocess(image).to(self.device)
            probs = torch.softmax(self.module(x).float(), dim=1)[0].cpu()
        top = torch.topk(probs, min(k, probs.numel()))
        pairs = zip(top.values, top.indices, strict=True)
        return [(int(i), self.labels[int(i)], float(p)) for p, i in pairs]


def numbers_source(count: int) -> str:
    """``labels_source`` for classes that have no names, only their indices."""
    return f"numbers 0..{count - 1}, no names (give them with --labels FILE)"


def input_line(model: LoadedModel) -> str:
    """The one line every command prints on stderr (and the window shows): how an image
    becomes the input and where the class names come from, e.g. 'input: short side to 256,
    centre crop 224x224, RGB, mean 0.485,0.456,0.406 std 0.229,0.224,0.225; labels: the
    weights' metadata (1000)'."""
    source = model.labels_source or "the model"
    return f"input: {model.preprocess.describe()}; labels: {source} ({len(model.labels)})"


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no parameter gradients: every built network goes through this."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def load_state(module: nn.Module, tensors: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load ``tensors`` strictly; a mismatch names ``path`` and the keys or shapes that differ."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [
        f"{k}: file {tuple(tensors[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in tensors and tensors[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}")
        if wrong:
            parts.append("shape mismatch " + "; ".join(wrong[:5]))
        raise CheckpointError(f"{path}: weights do not fit the architecture: " + ", ".join(parts))
    module.load_state_dict(tensors)
