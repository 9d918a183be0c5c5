"""Embedding view: the penultimate layer (the input of the last Linear) of a reference set,
projected to 2-D with PCA, coloured by class; class-centre distances; new inputs projected
into the same plane. Qt-free; ``build_embedding`` runs in a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnn_viewer.core.visualize.scan_data import DataReader, DataSpec
from cnn_viewer.models.cancelled import stop_if
from cnn_viewer.models.hooks import hooks
from cnn_viewer.models.zoo.loaded import LoadedModel


def penultimate_layer(module: nn.Module) -> str:
    """The name of the last nn.Linear (in definition order): its input is the embedding."""
    names = [n for n, m in module.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError(
            f"{type(module).__name__} has no nn.Linear layer, so no penultimate features to show"
        )
    return names[-1]


class FeatureReader:
    """``read(x)`` -> (features N x D, logits N x classes): one forward pass with a pre-hook
    on the last Linear. Any thread; one call at a time."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model
        self.layer = penultimate_layer(model.module)
        self.linear = dict(model.module.named_modules())[self.layer]

    def read(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        got = []
        keep = (self.linear, lambda _m, inp: got.append(inp[0]))
        with hooks(forward_pre=[keep]), torch.no_grad():
            logits = self.model.module(x.to(self.model.device))
        feats = got[-1].detach().flatten(1).float().cpu().numpy()
        return feats, logits.float().cpu().numpy()

    def read_image(self, net_image: np.ndarray) -> np.ndarray:
        """Features (D) of one uint8 network image (as in Result.network_image)."""
        return self.read(self.model.preprocess.to_tensor(net_image))[0][0]


@dataclass
class Embedding:
    layer: str
    mean: np.ndarray  # D: the reference set's mean feature vector
    axes: np.ndarray  # 2 x D: the first two principal directions
    explained: np.ndarray  # 2: fraction of the variance along each axis
    points: np.ndarray  # N x 2: the reference set in the plane
    classes: np.ndarray  # N int: each point's class (true label, else predicted)
    class_names: list[str]  # names for all the model's classes
    centres: np.ndarray  # K x D: class centres (classes present, in ``present`` order)
    present: np.ndarray  # K int: which classes have points
    distances: np.ndarray  # K x K: Euclidean distance between centres in feature space
    labelled: bool  # True: classes are true labels; False: the model's predictions

    def project(self, features: np.ndarray) -> np.ndarray:
        """N x D (or D) features -> N x 2 (or 2) plane coordinates."""
        return (np.asarray(features, np.float32) - self.mean) @ self.axes.T

    def nearest(self, features: np.ndarray) -> list[tuple[int, float]]:
        """(class, distance) of the class centres, nearest first, for one feature vector."""
        d = np.linalg.norm(self.centres - np.asarray(features, np.float32), axis=1)
        order = np.argsort(d)
        return [(int(self.present[i]), float(d[i])) for i in order]


def pca(features: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean D, axes k x D, explained variance ratio k) by SVD of the centred features."""
    mean = features.mean(axis=0)
    _, s, vt = np.linalg.svd(features - mean, full_matrices=False)
    var = s**2
    total = var.sum() or 1.0
    axes = vt[:k]
    if axes.shape[0] < k:  # fewer samples or dimensions than k: pad with zero axes
        axes = np.vstack([axes, np.zeros((k - axes.shape[0], features.shape[1]), axes.dtype)])
    explained = np.zeros(k)
    explained[: min(k, len(var))] = var[:k] / total
    # a fixed sign per axis (largest loading positive), so rebuilding never mirrors the plot
    signs = np.sign(axes[np.arange(k), np.abs(axes).argmax(axis=1)])
    signs[signs == 0] = 1
    return (
        mean.astype(np.float32),
        (axes * signs[:, None]).astype(np.float32),
        explained,
    )


def embed(features: np.ndarray, classes: np.ndarray, names: list[str], layer: str,
          labelled: bool) -> Embedding:  # fmt: skip
    """An Embedding from N x D features and their classes."""
    if len(features) < 2:
        raise ValueError(f"{len(features)} reference images: an embedding needs at least 2")
    mean, axes, explained = pca(features)
    present = np.unique(classes)
    centres = np.stack([features[classes == c].mean(axis=0) for c in present])
    distances = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2)
    return Embedding(layer, mean, axes, explained, (features - mean) @ axes.T, classes,
                     names, centres.astype(np.float32), present, distances, labelled)  # fmt: skip


def build_embedding(
    model: LoadedModel,
    spec: DataSpec,
    batch: int = 128,
    on_progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Embedding:
    """Read the penultimate features of a reference set and project them. Classes are the
    true labels for the digit data, the model's top-1 prediction otherwise."""
    reader = DataReader(spec)
    feats = FeatureReader(model)
    labels = reader.labels()
    chunks: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    kept: list[int] = []
    pending: list[tuple[int, np.ndarray]] = []
    total = len(reader)

    def run() -> None:
        x = torch.cat([model.preprocess(im) for _, im in pending])
        f, logits = feats.read(x)
        chunks.append(f)
        preds.append(logits.argmax(axis=1))
        kept.extend(i for i, _ in pending)
        pending.clear()

    for i, _, image in reader:
        stop_if(should_stop, f"stopped after {i} of {total} images")
        pending.append((i, image))
        if len(pending) == batch:
            run()
            if on_progress is not None:
                on_progress(i + 1, total, f"reading features {i + 1} / {total}")
    if pending:
        run()
    if not chunks:
        raise ValueError(f"{spec.describe()}: no image could be read")
    features = np.concatenate(chunks)
    classes = labels[kept] if labels is not None else np.concatenate(preds)
    # the digit data's labels are digits, whatever classes the model has
    names = model.labels if labels is None else [str(d) for d in range(10)]
    return embed(
        features,
        classes.astype(np.int64),
        names,
        feats.layer,
        labels is not None,
    )
