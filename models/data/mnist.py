"""Read MNIST IDX files (gzipped or not) and split them reproducibly."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the normalisation every MNIST network here uses

_IMAGE_NAMES = ("t10k-images-idx3-ubyte", "train-images-idx3-ubyte")


class DataError(ValueError):
    """A dataset that cannot be read; the message names the file and the fault."""


def read_idx(path: str | Path) -> np.ndarray:
    """One IDX file (optionally .gz) -> numpy array of its declared shape (uint8 data)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path}: not an MNIST IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(f"{path}: holds {len(data)} bytes, its header declares {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_mnist_folder(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """All images (N x 28 x 28 uint8) and labels (N uint8) from an MNIST folder.

    Reads the training split, the test split, or both when present.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    images, labels = [], []
    for img_stem in _IMAGE_NAMES:
        img_path = _find(folder, img_stem)
        if img_path is None:
            continue
        lbl_path = _find(folder, img_stem.replace("images-idx3", "labels-idx1"))
        if lbl_path is None:
            raise DataError(f"{img_path}: its labels file is missing from {folder}")
        x, y = read_idx(img_path), read_idx(lbl_path)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{img_path}: {x.shape} images do not match {y.shape} labels")
        images.append(x)
        labels.append(y)
    if not images:
        raise DataError(
            f"{folder}: no MNIST IDX files (expected e.g. t10k-images-idx3-ubyte[.gz] "
            "and t10k-labels-idx1-ubyte[.gz])"
        )
    return np.concatenate(images), np.concatenate(labels)


def read_mnist_labels(folder: str | Path) -> np.ndarray:
    """The labels of every split in an MNIST folder (N uint8), without reading the images:
    enough to say how many images and classes it holds."""
    folder = Path(folder)
    found = [_find(folder, stem.replace("images-idx3", "labels-idx1")) for stem in _IMAGE_NAMES]
    labels = [read_idx(path) for path in found if path is not None]
    if not labels:
        raise DataError(f"{folder}: no MNIST labels files (e.g. t10k-labels-idx1-ubyte[.gz])")
    return np.concatenate(labels)


def split_indices(n: int) -> dict[str, np.ndarray]:
    """Fixed, interleaved split: every 5th image (index % 5 == 4) is the held-out test set,
    never used in training or model selection; index % 10 == 3 is validation; the rest train.
    """
    idx = np.arange(n)
    test = idx % 5 == 4
    val = (idx % 10 == 3) & ~test
    return {"train": idx[~test & ~val], "val": idx[val], "test": idx[test]}
