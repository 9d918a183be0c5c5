"""`cnn-viewer train --data DIR` on tiny generated folders (image folder and MNIST IDX)."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cnn_viewer.cli.commands import main
from cnn_viewer.models import load_model
from cnn_viewer.models.checkpoint import read_checkpoint
from tests.shapes_data import write_shapes

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_shapes(tmp_path_factory):
    return write_shapes(tmp_path_factory.mktemp("shapes"), per_class=12, size=28)


def test_train_an_image_folder(capsys, tmp_path, tiny_shapes):
    out = tmp_path / "shapes.safetensors"
    strip = tmp_path / "timeline.png"
    argv = ["train", "--data", str(tiny_shapes), "--out", str(out), "--epochs", "2",
            "--conv-channels", "4,8", "--kernel", "5", "--activation", "tanh", "--pool", "avg",
            "--input-size", "28", "--timeline", str(strip)]  # fmt: skip
    assert main(argv) == 0
    stdout, err = capsys.readouterr()
    assert "folder, 3 classes (circle 12, square 12, triangle 12)" in stdout
    assert "training 30, validation 6 images" in stdout
    assert "finished 2 epochs" in stdout and "validation accuracy" in stdout
    table = stdout.split("confusion matrix")[1].splitlines()[1:5]
    assert table[0].split() == ["true", "accuracy", "circle", "square", "triangle"]
    assert [row.split()[0] for row in table[1:]] == ["circle", "square", "triangle"]
    assert sum(int(v) for row in table[1:] for v in row.split()[2:]) == 6
    assert "recipe: small CNN from scratch (2 conv blocks: 4,8 filters), input 28x28" in stdout
    assert f"wrote {out}" in stdout and f"wrote {strip}" in stdout
    assert "training" in err  # the progress bar
    _, info = read_checkpoint(out)
    assert info.config["channels"] == [4, 8] and info.config["activation"] == "tanh"
    assert info.config["pool"] == "avg" and info.config["kernel_size"] == 5
    assert info.extra["val_images"] == 6 and info.extra["epochs"] == 2
    assert cv2.imread(str(strip)) is not None
    model = load_model(checkpoint=out)
    assert model.labels == ["circle", "square", "triangle"] and model.input_size == (28, 28)
    image = str(tiny_shapes / "circle" / "000.png")
    assert main(["predict", "--checkpoint", str(out), "--top", "2", image]) == 0
    assert "(class " in capsys.readouterr().out
    assert main(["layers", "--checkpoint", str(out)]) == 0
    assert "conv2" in capsys.readouterr().out


def test_same_seed_same_checkpoint(capsys, tmp_path, tiny_shapes):
    paths = [tmp_path / f"{i}.safetensors" for i in range(3)]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        argv = ["train", "--data", str(tiny_shapes), "--out", str(path), "--epochs", "1",
                "--conv-channels", "4", "--seed", str(seed), "--augment"]  # fmt: skip
        assert main(argv) == 0
    capsys.readouterr()
    a, b, c = (load_file(str(p)) for p in paths)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def _idx(array: np.ndarray) -> bytes:
    head = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(np.uint8).tobytes()


def test_train_an_mnist_folder_is_detected(capsys, tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 10
    images = rng.integers(0, 255, (60, 28, 28))
    d = tmp_path / "mnist"
    d.mkdir()
    (d / "t10k-images-idx3-ubyte").write_bytes(_idx(images))
    (d / "t10k-labels-idx1-ubyte").write_bytes(_idx(labels))
    out = tmp_path / "m.safetensors"
    argv = ["train", "--data", str(d), "--out", str(out), "--epochs", "1", "--blocks", "2"]
    assert main(argv) == 0
    assert "mnist, 10 classes" in capsys.readouterr().out
    _, info = read_checkpoint(out)
    assert info.extra["task"] == "digits" and info.channels == 1
    assert info.config["channels"] == [8, 16]
    assert load_model(checkpoint=out).is_digits


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        ("one_class", [], "only one class ('circle')"),
        ("few", [], "too few images for a validation split"),
        ("flat", [], "neither MNIST IDX files"),
        ("shapes", ["--arch", "no_such_net"], "--arch 'no_such_net': use 'small' or"),
        ("shapes", ["--blocks", "3", "--conv-channels", "4,8"], "--blocks 3 but"),
        ("shapes", ["--conv-channels", "4,4,4,4,4,4"], "does not fit a 32x32 input"),
        ("shapes", ["--timeline", "t.gif"], "use a .mp4 (video) or .png"),
    ],
)
def test_bad_data_and_options_get_plain_messages(capsys, tmp_path, make, argv, message):
    d = tmp_path / make
    if make == "flat":
        d.mkdir()
        (d / "x.png").write_bytes(b"")
    else:
        write_shapes(d, {"few": 1}.get(make, 3), size=28)
    if make == "one_class":
        for name in ("square", "triangle"):
            for f in (d / name).iterdir():
                f.unlink()
            (d / name).rmdir()
    out = tmp_path / "o.safetensors"
    argv = ["train", "--data", str(d), "--out", str(out), "--epochs", "1", *argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_train_digits_refuses_studio_options(capsys, tmp_path):
    argv = ["train", "digits", "--data", str(tmp_path), "--out", str(tmp_path / "o.safetensors"),
            "--arch", "resnet18", "--kernel", "3"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--arch, --kernel: not for 'train digits'" in err


def test_the_default_recipe_offline_says_it_trains_from_scratch(capsys, tmp_path, offline):
    d = write_shapes(tmp_path / "shapes", per_class=8, size=48)
    out = tmp_path / "o.safetensors"
    assert main(["train", "--data", str(d), "--out", str(out), "--epochs", "2"]) == 0
    stdout = capsys.readouterr().out
    lines = [line for line in stdout.splitlines() if "mobilenet_v3_small" in line]
    assert len(lines) == 1 and lines[0].startswith("pretrained weights for mobilenet_v3_small")
    assert lines[0].endswith("training a small CNN from scratch instead")
    recipe = next(line for line in stdout.splitlines() if line.startswith("recipe: "))
    assert "4 conv blocks with BatchNorm" in recipe and "input 48x48" in recipe
    assert "augmentation: shifts, turns, scaling, colour;" in recipe and "up to 2 epochs" in recipe
    assert "stopping after 25 without a better validation" in recipe
    assert "training accuracy" in stdout  # per epoch, beside validation
    _, info = read_checkpoint(out)
    assert info.config["batchnorm"] and info.config["global_pool"] and info.input_size == (48, 48)


def test_bench_train_prints_held_out_accuracy_and_seconds(capsys, offline):
    argv = ["bench", "--train", "--sets", "stripes", "--per-class", "8", "--epochs", "1"]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    line = next(x for x in stdout.splitlines() if x.startswith("stripes"))
    assert "4 classes, 24 images to train on, 8 held out: held-out accuracy" in line
    assert line.endswith(" s") and "recipe: small CNN from scratch" in stdout
    assert main(["bench", "--train", "--sets", "no_such"]) == 2
    assert "name generated sets from shapes, letters, stripes" in capsys.readouterr().err
