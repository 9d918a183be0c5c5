"""Top images per unit: values match a re-run of the source image, sorted, cached, cancellable."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cnn_viewer.core.hooks.taps import Taps
from cnn_viewer.core.visualize.scan_data import DataReader, DataSpec, default_digits_folder
from cnn_viewer.core.visualize.topimages import cut, receptive_field, scan
from cnn_viewer.models.cancelled import Cancelled

LAYERS = ["conv1", "conv2", "pool2", "fc1"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_VIEWER_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def digits(digits_model):
    return digits_model


def test_the_default_digits_folder_is_the_one_beside_the_repository(monkeypatch):
    monkeypatch.delenv("CNN_VIEWER_MNIST", raising=False)
    assert default_digits_folder() == Path(__file__).resolve().parents[3] / "shared/data/mnist"


@pytest.fixture(scope="module")
def val_spec():
    folder = default_digits_folder()
    if not folder.is_dir():
        pytest.skip(f"no MNIST data at {folder}")
    return DataSpec("digits", str(folder), limit=150)


def rerun(model, layer, image):
    with torch.no_grad():
        return Taps(model.module, [layer]).run(model.preprocess(image))[layer][0]


def check_top(model, top, reader, layers):
    for name in layers:
        lt = top.layers[name]
        assert np.all(np.diff(lt.values, axis=1) <= 0), f"{name}: not sorted best first"
        channels = lt.values.shape[0]
        for c in range(0, channels, max(1, channels // 5)):
            for j in (0, lt.values.shape[1] - 1):
                act = rerun(model, name, reader.image(int(lt.items[c, j])))[c]
                y, x = lt.positions[c, j]
                value = act[y, x] if act.ndim == 2 else act
                assert float(value) == pytest.approx(float(lt.values[c, j]), rel=1e-4, abs=1e-4)
                # the recorded position is the channel's strongest in that image
                assert float(value) == pytest.approx(float(act.max()), rel=1e-4, abs=1e-4)


def test_digit_scan_values_match_a_rerun_and_are_sorted(digits, val_spec):
    top = scan(digits, LAYERS, val_spec, k=9)
    reader = DataReader(val_spec)
    assert set(top.layers) == set(LAYERS)
    assert top.layers["conv2"].values.shape == (16, 9)
    assert top.layers["conv2"].crops.shape == (16, 9, 14, 14)  # conv2's receptive field
    assert top.layers["fc1"].crops.shape == (64, 9, 28, 28)  # a vector sees it all
    check_top(digits, top, reader, LAYERS)
    # each crop is the receptive-field box of the network input at the stored position
    lt = top.layers["conv2"]
    image = digits.preprocess.to_network_image(reader.image(int(lt.items[3, 0])))
    assert np.array_equal(lt.crops[3, 0], cut(image, tuple(lt.boxes[3, 0])))
    assert "label" in top.names[int(lt.items[3, 0])]


def test_second_scan_loads_from_the_cache(digits, val_spec):
    first = scan(digits, ["conv2"], val_spec)
    assert not first.from_cache
    second = scan(digits, ["conv2"], val_spec)
    assert second.from_cache and second.seconds < first.seconds
    a, b = first.layers["conv2"], second.layers["conv2"]
    for f in ("values", "items", "positions", "boxes", "crops"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    # other data or other layers: a different cache entry
    other = scan(digits, ["conv2"], DataSpec("digits", val_spec.path, limit=40))
    assert not other.from_cache and other.cache_file != first.cache_file


def test_folder_and_video_sources(digits, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        img = np.zeros((40, 30), np.uint8)
        cv2.circle(img, (int(rng.integers(5, 25)), int(rng.integers(5, 35))), 6, 255, 3)
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    (folder / "notes.txt").write_text("not an image")
    spec = DataSpec.guess(str(folder))
    assert spec.kind == "folder"
    top = scan(digits, ["conv1", "fc1"], spec, k=9, batch=5)
    check_top(digits, top, DataReader(spec), ["conv1", "fc1"])
    assert top.names[0] == "img0.png"

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 48))
    for i in range(10):
        frame = np.zeros((48, 48, 3), np.uint8)
        cv2.rectangle(frame, (4 + 3 * i, 10), (14 + 3 * i, 30), (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
    vspec = DataSpec.guess(str(video), every=2)
    assert vspec.kind == "video"
    vtop = scan(digits, ["conv2"], vspec, k=4)
    assert vtop.layers["conv2"].values.shape == (16, 4)
    assert vtop.names[1] == "frame 2"
    check_top(digits, vtop, DataReader(vspec), ["conv2"])


def test_a_blank_image_is_skipped_not_the_end_of_the_scan(digits, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(6):
        img = np.zeros((40, 30), np.uint8)
        if i % 2:  # odd ones blank: the digit model finds no ink there
            cv2.circle(img, (10 + i, 12 + 2 * i), 6, 255, 3)
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    top = scan(digits, ["conv1"], DataSpec.guess(str(folder)), k=3)
    items = top.layers["conv1"].items
    assert items.shape == (8, 3)
    assert set(items.flatten().tolist()) <= {1, 3, 5}  # only the images with ink
    assert top.names[1] == "img1.png" and top.names[0] == "" and top.names[2] == ""


def test_fewer_images_than_k(digits, val_spec):
    spec = DataSpec("digits", val_spec.path, limit=5)
    top = scan(digits, ["conv1"], spec, k=9)
    assert top.layers["conv1"].values.shape == (8, 5)


def test_scan_cancel_and_bad_input(digits, val_spec):
    seen = []
    with pytest.raises(Cancelled):
        scan(digits, ["conv1"], val_spec, batch=16, on_progress=lambda *a: seen.append(a),
             should_stop=lambda: len(seen) >= 2)  # fmt: skip
    assert seen[0][:2] == (16, 150)
    with pytest.raises(ValueError, match="no such folder"):
        scan(digits, ["conv1"], DataSpec("folder", "/nonexistent/place"))
    with pytest.raises(ValueError, match="not a folder or a video"):
        DataSpec.guess(__file__)


def test_receptive_field_matches_the_architecture(digits, resnet18_model):
    # 5x5 convs with padding 2, 2x2 max pools: 5, then 5 + 4*2 = 14, pool: 16
    assert receptive_field(digits, "conv1").size == (5, 5)
    assert receptive_field(digits, "conv2").size == (14, 14)
    assert receptive_field(digits, "pool2").size == (16, 16)
    assert receptive_field(digits, "pool2").stride == (4.0, 4.0)
    rf = receptive_field(resnet18_model, "layer2")  # known: 99 pixels, stride 8
    assert rf.size == (99, 99) and rf.stride == (8.0, 8.0)
