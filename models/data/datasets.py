"""Training data for the studio: an MNIST IDX folder, an image folder with one sub-folder
per class, or camera snapshots (the same layout, written by SnapshotStore). Qt-free.

Every image goes through the model's own ``Preprocess.to_network_image``, so training sees
exactly what the viewer will feed the trained network.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from cnn_viewer.models.data.images import InputError, Preprocess, read_image
from cnn_viewer.models.data.mnist import DataError, load_mnist_folder, read_mnist_labels

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


@dataclass
class ImageSet:
    """Images ready to train on. ``images``: N x H x W (gray) or N x H x W x 3 uint8, the
    network's input size; ``labels``: N int64 class indices into ``classes``."""

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    kind: str  # 'mnist' or 'folder'
    source: str
    skipped: list[str] = field(default_factory=list)  # 'path: why' for unreadable files

    def counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=len(self.classes)).tolist()


def detect_kind(folder: str | Path) -> str:
    """'mnist' (IDX files) or 'folder' (class sub-folders); DataError naming what is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise DataError(f"{folder}: cannot list the folder ({exc})") from None
    if any("-idx" in p.name and "-ubyte" in p.name for p in entries):
        return "mnist"
    if any(p.is_dir() and not p.name.startswith(".") for p in entries):
        return "folder"
    raise DataError(
        f"{folder}: holds neither MNIST IDX files (t10k-images-idx3-ubyte[.gz] ...) nor "
        "class sub-folders of images (e.g. cats/*.png and dogs/*.png)"
    )


def count_data(folder: str | Path) -> tuple[int, list[str]]:
    """(images, class names) a training folder holds, found quickly (directory listings and
    MNIST's labels files, no image decoded), so a choice of data can be confirmed at once.
    DataError naming what is wrong."""
    folder = Path(folder)
    if detect_kind(folder) == "mnist":
        labels = read_mnist_labels(folder)
        return len(labels), [str(c) for c in np.unique(labels).tolist()]
    try:
        per_class = {p.name: len(image_files(p)) for p in class_folders(folder)}
    except OSError as exc:
        raise DataError(f"{folder}: cannot list the folder ({exc})") from None
    classes = [name for name, n in per_class.items() if n]
    return sum(per_class.values()), classes


def class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def load_image_folder(
    folder: str | Path,
    prep: Preprocess,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImageSet:
    """Read DIR/<class>/<image> files as network images. Unreadable images are skipped
    and listed in ``skipped``; a class left without images is a DataError."""
    folder = Path(folder)
    classes = class_folders(folder)
    files = [(i, f) for i, c in enumerate(classes) for f in image_files(c)]
    images, labels, skipped = [], [], []
    for n, (label, path) in enumerate(files):
        try:
            images.append(prep.to_network_image(read_image(str(path))))
            labels.append(label)
        except (InputError, cv2.error, OSError) as exc:
            skipped.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
        if on_progress is not None and (n % 50 == 0 or n == len(files) - 1):
            on_progress(n + 1, len(files))
    names = [c.name for c in classes]
    counts = np.bincount(np.asarray(labels, np.int64), minlength=len(names))
    empty = [name for name, c in zip(names, counts, strict=True) if c == 0]
    if empty:
        raise DataError(
            f"{folder}: class {', '.join(repr(e) for e in empty)} has no readable images"
            + (f" ({len(skipped)} unreadable files skipped)" if skipped else "")
            + "; add images to it or remove the folder"
        )
    shape = (0, *prep.input_size) + ((3,) if prep.channels == 3 else ())
    stack = np.stack(images) if images else np.zeros(shape, np.uint8)
    return ImageSet(stack, np.asarray(labels, np.int64), names, "folder", str(folder), skipped)


def load_mnist(folder: str | Path, prep: Preprocess) -> ImageSet:
    """An MNIST IDX folder at the network's input size (28 x 28 gray needs no resizing)."""
    images, labels = load_mnist_folder(folder)
    if tuple(prep.input_size) != (28, 28) or prep.channels != 1:
        images = np.stack([prep.to_network_image(im) for im in images])
    classes = [str(i) for i in range(int(labels.max()) + 1)] if len(labels) else []
    return ImageSet(images, labels.astype(np.int64), classes, "mnist", str(folder))


def load_data(
    folder: str | Path, prep: Preprocess, on_progress: Callable[[int, int], None] | None = None
) -> ImageSet:
    """Detect the kind of ``folder`` and load it; then check it can train a classifier."""
    kind = detect_kind(folder)
    data = (
        load_mnist(folder, prep)
        if kind == "mnist"
        else load_image_folder(folder, prep, on_progress)
    )
    check_classes(data)
    return data


def check_classes(data: ImageSet) -> None:
    if len(data.classes) == 0:
        raise DataError(f"{data.source}: no classes found; make one sub-folder per class")
    if len(data.classes) == 1:
        raise DataError(
            f"{data.source}: only one class ({data.classes[0]!r}); a classifier needs at "
            "least two - add another class folder"
        )


def split_train_val(
    labels: np.ndarray, classes: list[str], val_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split into (train indices, validation indices): each class gives
    round(val_fraction * count) images (at least 1) to validation and keeps at least 1."""
    rng = np.random.default_rng(seed)
    train, val, few = [], [], []
    for c, name in enumerate(classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            few.append(f"{name!r} has {len(idx)}")
            continue
        idx = rng.permutation(idx)
        n_val = min(len(idx) - 1, max(1, round(val_fraction * len(idx))))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    if few:
        raise DataError(
            "too few images for a validation split: class "
            + ", ".join(few)
            + "; each class needs at least 2 (one to train on, one to check with), better 20+"
        )
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


# ---- camera snapshots ------------------------------------------------------------------

_BAD_NAME = re.compile(r"[^\w \-]+")
MAX_SIDE = 320  # snapshots are stored no larger than this (the networks take far less)


class SnapshotStore:
    """Class sub-folders of PNG snapshots under ``root``; every change is on disk at once.

    ``scan()`` never raises: an unreadable root or class folder is skipped and named in
    ``problems``, so a damaged folder cannot keep the app from starting.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.files: dict[str, list[Path]] = {}
        self.problems: list[str] = []

    def scan(self) -> SnapshotStore:
        self.files, self.problems = {}, []
        if not self.root.exists():
            return self
        try:
            folders = class_folders(self.root)
        except OSError as exc:
            self.problems.append(f"{self.root}: cannot be read ({exc}); starting empty")
            return self
        for folder in folders:
            try:
                self.files[folder.name] = image_files(folder)
            except OSError as exc:
                self.problems.append(f"{folder}: cannot be read ({exc}); skipped")
        return self

    @property
    def classes(self) -> list[str]:
        return sorted(self.files)

    def counts(self) -> dict[str, int]:
        return {c: len(self.files[c]) for c in self.classes}

    def add_class(self, name: str) -> str:
        """Create the class folder; returns the cleaned name. ValueError for an empty name."""
        clean = _BAD_NAME.sub("", name).strip()
        if not clean or clean.startswith("."):
            raise ValueError(
                f"class name {name!r}: use letters, digits, spaces, '-' or '_' (e.g. 'mug')"
            )
        (self.root / clean).mkdir(parents=True, exist_ok=True)
        self.files.setdefault(clean, [])
        return clean

    def add(self, name: str, image: np.ndarray) -> Path:
        """Save one RGB (or gray) uint8 frame as the class's next PNG."""
        from cnn_viewer.models.data.images import to_rgb

        rgb = to_rgb(image)
        scale = MAX_SIDE / max(rgb.shape[:2])
        if scale < 1:
            size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        self.add_class(name)
        files = self.files[name]
        number = max((_number(p) for p in files), default=-1) + 1
        path = self.root / name / f"{number:05d}.png"
        if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: could not be written")
        files.append(path)
        return path

    def delete_last(self, name: str) -> Path | None:
        files = self.files.get(name, [])
        if not files:
            return None
        path = max(files, key=_number)
        path.unlink(missing_ok=True)
        files.remove(path)
        return path

    def delete_class(self, name: str) -> None:
        if name in self.files:
            shutil.rmtree(self.root / name, ignore_errors=True)
            del self.files[name]


def _number(path: Path) -> int:
    return int(path.stem) if path.stem.isdigit() else -1
