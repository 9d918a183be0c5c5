"""Studio data: kind detection, image folders with bad files, splits, camera snapshots."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from cnn_viewer.models.data.datasets import (
    SnapshotStore,
    detect_kind,
    load_data,
    load_image_folder,
    split_train_val,
)
from cnn_viewer.models.data.images import Preprocess
from cnn_viewer.models.data.mnist import DataError
from tests.shapes_data import write_shapes

PREP = Preprocess((32, 32), 3, (0.5,) * 3, (0.25,) * 3)


def test_detect_kind(tmp_path, mnist_dir):
    assert detect_kind(mnist_dir) == "mnist"
    assert detect_kind(write_shapes(tmp_path / "shapes", 2)) == "folder"
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match="neither MNIST IDX files .* nor class sub-folders"):
        detect_kind(flat)
    with pytest.raises(DataError, match="no such folder"):
        detect_kind(tmp_path / "missing")


def test_unreadable_images_are_skipped_and_counted(tmp_path):
    root = write_shapes(tmp_path / "d", 3)
    (root / "circle" / "broken.png").write_bytes(b"not a png at all")
    (root / "square" / "empty.jpg").write_bytes(b"")
    (root / "square" / "notes.txt").write_text("ignored: not an image name")
    gray = np.full((50, 40), 200, np.uint8)  # another size and gray: resized, made RGB
    cv2.imwrite(str(root / "triangle" / "gray.png"), gray)
    data = load_image_folder(root, PREP)
    assert data.classes == ["circle", "square", "triangle"]
    assert data.images.shape == (10, 32, 32, 3) and data.images.dtype == np.uint8
    assert data.counts() == [3, 3, 4]
    assert len(data.skipped) == 2
    assert any("broken.png" in s for s in data.skipped)
    assert any("empty.jpg" in s and "empty" in s for s in data.skipped)


def test_class_problems_have_plain_messages(tmp_path):
    root = write_shapes(tmp_path / "d", 3)
    (root / "empty_class").mkdir()
    with pytest.raises(DataError, match="class 'empty_class' has no readable images"):
        load_data(root, PREP)
    bad = root / "empty_class" / "x.png"
    bad.write_bytes(b"junk")
    with pytest.raises(DataError, match=r"has no readable images \(1 unreadable files skipped\)"):
        load_data(root, PREP)
    one = write_shapes(tmp_path / "one", 3)
    for name in ("square", "triangle"):
        for f in (one / name).iterdir():
            f.unlink()
        (one / name).rmdir()
    with pytest.raises(DataError, match=r"only one class \('circle'\).*at least two"):
        load_data(one, PREP)


def test_split_is_stratified_seeded_and_refuses_too_few():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 2)
    train, val = split_train_val(labels, ["a", "b", "c"], 0.2, seed=1)
    assert np.bincount(labels[val]).tolist() == [2, 1, 1]
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(17))
    again = split_train_val(labels, ["a", "b", "c"], 0.2, seed=1)
    assert np.array_equal(again[1], val)
    with pytest.raises(DataError, match="too few images for a validation split: class 'c' has 1"):
        split_train_val(np.array([0, 0, 0, 1]), ["a", "c"])


def test_snapshot_store_keeps_frames_on_disk(tmp_path):
    store = SnapshotStore(tmp_path / "snaps").scan()
    assert store.classes == [] and store.problems == []  # no folder yet: empty, nothing made
    assert not (tmp_path / "snaps").exists()
    assert store.add_class("my mug!") == "my mug"
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)
    for _ in range(3):
        store.add("my mug", frame)
    store.add("pen", frame[:100, :100])
    assert store.counts() == {"my mug": 3, "pen": 1}
    saved = cv2.imread(str(tmp_path / "snaps" / "my mug" / "00002.png"))
    assert saved.shape == (240, 320, 3)  # stored no larger than 320 px
    assert store.delete_last("my mug").name == "00002.png"
    again = SnapshotStore(tmp_path / "snaps").scan()  # what a restarted app finds
    assert again.counts() == {"my mug": 2, "pen": 1}
    again.delete_class("pen")
    assert again.classes == ["my mug"] and not (tmp_path / "snaps" / "pen").exists()
    with pytest.raises(ValueError, match="class name"):
        again.add_class("../..")


def test_a_damaged_snapshot_folder_starts_empty(tmp_path):
    root = tmp_path / "snaps"
    root.write_text("a file where the folder should be")
    store = SnapshotStore(root).scan()
    assert store.classes == [] and "starting empty" in store.problems[0]
    if os.geteuid() == 0:
        return  # root reads any folder: the permission case cannot be made here
    ok = tmp_path / "ok"
    (ok / "locked").mkdir(parents=True)
    (ok / "fine").mkdir()
    os.chmod(ok / "locked", 0)
    try:
        store = SnapshotStore(ok).scan()
        assert store.classes == ["fine"] and "locked" in store.problems[0]
    finally:
        os.chmod(ok / "locked", 0o755)


def test_count_data_says_what_a_folder_holds_without_loading_it(tmp_path):
    from cnn_viewer.models.data.datasets import count_data

    shapes = write_shapes(tmp_path / "shapes", 3)
    n, classes = count_data(shapes)
    assert n == sum(1 for _ in shapes.rglob("*.png")) and classes == sorted(classes)
    assert len(classes) == len([p for p in shapes.iterdir() if p.is_dir()])
    (shapes / "empty").mkdir()  # a class folder without images is no class
    assert count_data(shapes) == (n, classes)
    # MNIST: the labels files alone (a real IDX file written here, 3 classes in 7 labels)
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    labels = bytes([0, 0, 8, 1]) + (7).to_bytes(4, "big") + bytes([0, 1, 1, 5, 5, 5, 0])
    (mnist / "t10k-labels-idx1-ubyte").write_bytes(labels)
    (mnist / "t10k-images-idx3-ubyte").write_bytes(b"")  # never read
    assert count_data(mnist) == (7, ["0", "1", "5"])
    with pytest.raises(DataError, match="no such folder"):
        count_data(tmp_path / "nowhere")
