"""Image sets to scan (top images, embeddings): a folder of images, a video, or the
validation split of the digit data. Qt-free; iterated in a worker thread."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cnn_viewer.core.sources.open_source import VIDEO_EXTENSIONS, folder_images
from cnn_viewer.models.data.images import InputError, read_image
from cnn_viewer.models.data.mnist import load_mnist_folder, split_indices
from cnn_viewer.resources import RESOURCES

KINDS = ("digits", "folder", "video")


def default_digits_folder() -> Path:
    """$CNN_VIEWER_MNIST, else shared/data/mnist beside the repository."""
    env = os.environ.get("CNN_VIEWER_MNIST")
    return Path(env) if env else RESOURCES.parents[1] / "shared" / "data" / "mnist"


@dataclass
class DataSpec:
    """``kind``: 'digits' (MNIST validation images in folder ``path``), 'folder' (image files
    in ``path``) or 'video' (frames of the file ``path``, every ``every``-th).
    ``limit``: at most this many images (None: all)."""

    kind: str
    path: str
    limit: int | None = None
    every: int = 1

    @classmethod
    def guess(cls, path: str, limit: int | None = None, every: int = 1) -> DataSpec:
        """'digits' for a folder of MNIST IDX files, 'folder' for other folders, else video."""
        p = Path(path)
        if p.is_dir():
            idx = any(f.name.startswith(("t10k-", "train-")) for f in p.iterdir())
            return cls("digits" if idx else "folder", str(p), limit, every)
        if p.suffix[1:].lower() in VIDEO_EXTENSIONS:
            return cls("video", str(p), limit, every)
        raise ValueError(
            f"{path}: not a folder or a video file ({', '.join(VIDEO_EXTENSIONS)}); give a folder "
            "of images, a folder of MNIST IDX files, or a video"
        )

    def describe(self) -> str:
        what = {
            "digits": "validation digits in",
            "folder": "images in",
            "video": "frames of",
        }
        return f"{what.get(self.kind, self.kind)} {self.path}"

    def check(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"data kind {self.kind!r}: choose one of {KINDS}")
        p = Path(self.path)
        if self.kind == "video" and not p.is_file():
            raise ValueError(f"{self.path}: no such video file")
        if self.kind != "video" and not p.is_dir():
            raise ValueError(f"{self.path}: no such folder")
        if self.every < 1 or (self.limit is not None and self.limit < 1):
            raise ValueError("every and limit must be positive whole numbers")

    def listing(self) -> str:
        """What identifies this data for a cache key: names, sizes and times of its files."""
        p = Path(self.path)
        files = [p] if p.is_file() else sorted(f for f in p.iterdir() if f.is_file())
        stats = [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
        return "|".join([self.kind, str(p.resolve()), str(self.limit), str(self.every), *stats])


class DataReader:
    """Iterates (index, name, image) over a DataSpec; ``len`` is the count (a video's is the
    frame count the file declares, so it may be off by a little)."""

    def __init__(self, spec: DataSpec) -> None:
        spec.check()
        self.spec = spec
        self._digits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._files: list[Path] = []
        if spec.kind == "digits":
            images, labels = load_mnist_folder(spec.path)
            val = split_indices(len(images))["val"][: spec.limit]
            self._digits = (images, labels, val)
            self.count = len(val)
        elif spec.kind == "folder":
            self._files = folder_images(spec.path)[: spec.limit]
            if not self._files:
                raise ValueError(f"{spec.path}: no image files in this folder")
            self.count = len(self._files)
        else:
            cap = cv2.VideoCapture(spec.path)
            frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
            cap.release()
            if frames <= 0:
                raise ValueError(f"{spec.path}: OpenCV cannot read frames from this video")
            count = (frames + spec.every - 1) // spec.every
            self.count = min(count, spec.limit) if spec.limit else count

    def __len__(self) -> int:
        return self.count

    def labels(self) -> np.ndarray | None:
        """True classes (digits only), in iteration order."""
        if self._digits is None:
            return None
        _, labels, val = self._digits
        return labels[val].astype(np.int64)

    def __iter__(self) -> Iterator[tuple[int, str, np.ndarray]]:
        if self._digits is not None:
            images, labels, val = self._digits
            for i, j in enumerate(val):
                yield i, f"validation #{int(j)} (label {int(labels[j])})", images[j]
        elif self._files:
            for i, f in enumerate(self._files):
                try:
                    yield i, f.name, read_image(str(f))
                except InputError:
                    continue  # unreadable: skipped, its index stays unused
        else:
            yield from self._frames()

    def _frames(self) -> Iterator[tuple[int, str, np.ndarray]]:
        cap = cv2.VideoCapture(self.spec.path)
        try:
            n = frame = 0
            while n < self.count:
                ok, bgr = cap.read()
                if not ok:
                    break
                if frame % self.spec.every == 0:
                    yield n, f"frame {frame}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    n += 1
                frame += 1
        finally:
            cap.release()

    def image(self, index: int) -> np.ndarray:
        """One image by its index (a video is read up to it)."""
        if self._digits is not None:
            images, _, val = self._digits
            return images[val[index]]
        if self._files:
            return read_image(str(self._files[index]))
        for i, _, image in self._frames():
            if i == index:
                return image
        raise IndexError(f"frame index {index} is past the end of {self.spec.path}")
