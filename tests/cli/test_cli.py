"""The command line, run in-process through main(argv) and once as a real process."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cnn_viewer.cli.commands import main
from cnn_viewer.models import load_model
from cnn_viewer.models.checkpoint import read_checkpoint
from cnn_viewer.models.data.drawing import center_digit

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def images(tmp_path_factory, digit_drawer):
    """Real image files, good and bad, written with OpenCV."""
    d = tmp_path_factory.mktemp("images")
    files = {}
    # A clearly drawn "1": one thick vertical line, black on white, like a pen on paper.
    one = np.full((200, 160), 255, np.uint8)
    cv2.line(one, (80, 30), (80, 170), 0, 14)
    files["one"] = d / "one.png"
    cv2.imwrite(str(files["one"]), one)
    files["seven"] = d / "seven.png"
    cv2.imwrite(str(files["seven"]), digit_drawer("7", (240, 300), (90, 40, 160)))
    files["blank"] = d / "blank.png"
    cv2.imwrite(str(files["blank"]), np.full((50, 50), 255, np.uint8))
    files["text"] = d / "notes.png"
    files["text"].write_text("this is not a picture\n")
    files["empty"] = d / "empty.png"
    files["empty"].write_bytes(b"")
    files["tiny"] = d / "tiny.png"
    cv2.imwrite(str(files["tiny"]), np.full((1, 1), 200, np.uint8))
    # 16-bit gray and RGBA files are fine inputs: a "1" in each.
    deep = np.zeros((120, 100), np.uint16)
    cv2.line(deep, (50, 15), (50, 105), 65535, 9)
    files["deep"] = d / "deep16.png"
    cv2.imwrite(str(files["deep"]), deep)
    rgba = np.zeros((120, 100, 4), np.uint8)  # transparent background: white after compositing
    cv2.line(rgba, (50, 15), (50, 105), (0, 0, 0, 255), 9)
    files["rgba"] = d / "rgba.png"
    cv2.imwrite(str(files["rgba"]), rgba)
    for f in files.values():
        assert f.exists()
    return {k: str(v) for k, v in files.items()}


def run_json(capsys, argv: list[str]) -> tuple[int, object, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def check_schema(row: dict) -> None:
    if "error" in row:
        assert set(row) == {"file", "error"}
        assert isinstance(row["error"], str) and row["file"] in row["error"]
    else:
        assert set(row) == {"file", "top", "input", "labels_source"}
        assert row["input"] and row["labels_source"]
        for t in row["top"]:
            assert set(t) == {"index", "label", "prob"}
            assert isinstance(t["index"], int) and isinstance(t["label"], str)
            assert 0.0 <= t["prob"] <= 1.0
        probs = [t["prob"] for t in row["top"]]
        assert probs == sorted(probs, reverse=True)


def test_predict_a_drawn_one(capsys, images):
    code, rows, err = run_json(capsys, ["predict", "--json", images["one"]])
    # stderr: only the one line saying how the image became the input (stdout stays JSON)
    assert code == 0 and err.count("\n") == 1 and err.startswith("input: digit centred")
    assert "; labels: the checkpoint's metadata (10)" in err
    assert isinstance(rows, list) and len(rows) == 1
    check_schema(rows[0])
    assert rows[0]["file"] == images["one"]
    assert len(rows[0]["top"]) == 5
    assert rows[0]["top"][0]["label"] == "1" and rows[0]["top"][0]["index"] == 1
    assert rows[0]["top"][0]["prob"] > 0.9


def test_predict_several_and_top(capsys, images):
    code, rows, _ = run_json(
        capsys, ["predict", "--as-drawing", "--json", "--top", "3", images["one"], images["seven"]]
    )
    assert code == 0
    assert [r["file"] for r in rows] == [images["one"], images["seven"]]
    assert [r["top"][0]["label"] for r in rows] == ["1", "7"]
    assert all(len(r["top"]) == 3 for r in rows)


def test_predict_mnist_digit_file(capsys, tmp_path, mnist_data):
    """An MNIST image (already centred) keeps its answer through the digit centring."""
    from cnn_viewer.models.data.mnist import split_indices

    images, labels = mnist_data
    test = split_indices(len(images))["test"][:5]
    paths = []
    for i in test:
        p = tmp_path / f"mnist_{i}.png"
        cv2.imwrite(str(p), images[i])
        paths.append(str(p))
    code, rows, _ = run_json(capsys, ["predict", "--json", *paths])
    assert code == 0
    assert [int(r["top"][0]["label"]) for r in rows] == [int(labels[i]) for i in test]


def test_bad_inputs_are_reported_and_the_run_goes_on(capsys, images):
    order = ["text", "one", "empty", "tiny", "deep", "blank", "rgba"]
    code, rows, err = run_json(
        capsys, ["predict", "--as-drawing", "--json", *[images[k] for k in order]]
    )
    assert code == 1
    assert [r["file"] for r in rows] == [images[k] for k in order]
    for r in rows:
        check_schema(r)
    by = dict(zip(order, rows, strict=True))
    assert "not an image" in by["text"]["error"]
    assert "empty" in by["empty"]["error"]
    assert "1x1" in by["tiny"]["error"]
    assert "no ink" in by["blank"]["error"]
    for ok in ("one", "deep", "rgba"):
        assert "top" in by[ok] and by[ok]["top"][0]["label"] == "1", ok
    assert "Traceback" not in err


def test_bad_inputs_without_as_drawing(capsys, images):
    code, rows, err = run_json(
        capsys, ["predict", "--json", images["tiny"], images["deep"], images["rgba"]]
    )
    assert code == 1
    assert "1x1" in rows[0]["error"]
    assert "top" in rows[1] and "top" in rows[2]
    assert "Traceback" not in err


def test_text_output(capsys, images):
    code = main(["predict", "--as-drawing", "--top", "2", images["one"], images["text"]])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == images["one"]
    # "100.00%  1": the class name, without repeating it as "(class 1)"
    assert len(lines) == 3 and lines[1].split()[-1] == "1" and "class" not in lines[1]
    assert f"{images['text']}: error:" in err and "not an image" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["predict"],  # no images
        ["predict", "--top", "0", "x.png"],
        ["predict", "--top", "many", "x.png"],
        ["layers", "--bogus"],
        ["train", "digits"],  # --data and --out missing
        ["train", "cats", "--data", "d", "--out", "o"],
    ],
)
def test_wrong_usage_exits_2(capsys, argv):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "usage:" in err and "Traceback" not in err


def test_help_exits_0(capsys):
    assert main(["predict", "--help"]) == 0
    assert "--as-drawing" in capsys.readouterr().out  # still accepted (a no-op alias)


def test_top_level_help_names_view_and_the_window_options(capsys):
    from cnn_viewer.cli.view import MAIN_VIEW_OPTIONS

    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "cnn-viewer [view] [OPTIONS]" in top and "cnn-viewer view --help" in top
    assert main(["view", "--help"]) == 0
    full = capsys.readouterr().out
    assert full.startswith("usage: cnn-viewer view ")  # not the top-level usage
    listed = top.split("the window's main options", 1)[1]
    for name in ("--model", "--source", "--screenshot", "--wait", "--record", "--draw"):
        assert name in MAIN_VIEW_OPTIONS
    for name in MAIN_VIEW_OPTIONS:
        assert f"\n  {name} " in listed, name  # each with its help text ...
        assert f"\n  {name} " in full, name  # ... and the same option under `view`
    # the same words as `view --help` (both come from the one add_view_options)
    assert "a PATH to an image, a folder or a video" in " ".join(listed.split())
    assert "\n  --model-file " not in listed and "\n  --model-file " in full  # rest: view --help


def test_model_that_cannot_load(capsys, images, tmp_path):
    assert main(["predict", "--model", "no_such_net", images["one"]]) == 1
    err = capsys.readouterr().err
    assert "no_such_net" in err and "Traceback" not in err
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 100)
    assert main(["predict", "--checkpoint", str(broken), images["one"]]) == 1
    err = capsys.readouterr().err
    assert str(broken) in err and "Traceback" not in err


# --- layers -------------------------------------------------------------------------------


def test_layers_digits(capsys):
    code, rows, _ = run_json(capsys, ["layers", "--json"])
    assert code == 0
    table = {r["name"]: r for r in rows}
    assert [r["name"] for r in rows][:3] == ["conv1", "relu1", "pool1"]
    assert table["conv1"]["shape"] == [8, 28, 28] and table["conv1"]["type"] == "Conv2d"
    assert table["conv2"]["shape"] == [16, 14, 14]
    assert table["conv3"]["shape"] == [32, 7, 7]
    assert table["fc1"]["shape"] == [64]
    assert table["fc2"]["shape"] == [10] and table["fc2"]["type"] == "Linear"
    assert table["conv1"]["shown"] and not table["dropout"]["shown"]
    assert all(set(r) == {"name", "type", "shape", "shown"} for r in rows)

    assert main(["layers"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("digits: input 1 x 28 x 28")
    conv1 = next(line for line in out if " conv1 " in line)
    assert conv1.startswith("*") and "Conv2d" in conv1 and conv1.endswith("8 x 28 x 28")


def test_layers_resnet18_random_weights(capsys):
    code, rows, _ = run_json(
        capsys, ["layers", "--model", "resnet18", "--weights", "none", "--json"]
    )
    assert code == 0
    table = {r["name"]: r for r in rows}
    assert table["conv1"]["shape"] == [64, 112, 112]
    assert table["layer4"]["shape"] == [512, 7, 7]
    assert table["fc"]["shape"] == [1000]
    assert table["layer1.0"]["shown"] and not table["bn1"]["shown"]


# --- train --------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 8, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.astype(np.uint8).tobytes()
    )


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory, digit_drawer):
    """300 digits (1, 7, 0 drawn at varied places and sizes) as MNIST IDX files."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for i in range(300):
        digit = "170"[i % 3]
        size = int(rng.integers(30, 90))
        x, y = int(rng.integers(5, 60)), int(rng.integers(5, 40))
        img = center_digit(
            digit_drawer(digit, (140, 140), (x, y, size), thickness=float(rng.uniform(0.1, 0.2)))
        )
        images.append(img)
        labels.append(int(digit))
    d = tmp_path_factory.mktemp("mnist")
    # Images gzipped, labels plain: the reader takes either.
    (d / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.stack(images))))
    (d / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.array(labels)))
    return d


def test_train_writes_a_loadable_checkpoint(capsys, tmp_path, tiny_mnist, images):
    out = tmp_path / "tiny.safetensors"
    code = main(["train", "digits", "--data", str(tiny_mnist), "--out", str(out), "--epochs", "1"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert f"wrote {out}" in stdout and "held-out test accuracy" in stdout
    _, info = read_checkpoint(out)
    assert info.arch == "small_cnn" and info.labels == [str(i) for i in range(10)]
    assert info.extra["epochs"] == 1
    assert info.extra["train_images"] == 210 and info.extra["val_images"] == 30
    assert info.extra["test_images"] == 60
    loaded = load_model(checkpoint=out)
    assert loaded.input_size == (28, 28) and len(loaded.labels) == 10
    # The new checkpoint drives the CLI like the shipped one.
    code, rows, _ = run_json(
        capsys, ["predict", "--checkpoint", str(out), "--as-drawing", "--json", images["one"]]
    )
    assert code == 0 and len(rows[0]["top"]) == 5


def test_train_without_data(capsys, tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "readme.txt").write_text("no digits here")
    out = tmp_path / "never.safetensors"
    assert main(["train", "digits", "--data", str(empty), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no MNIST IDX files" in err and str(empty) in err
    assert "Traceback" not in err and not out.exists()
    assert main(["train", "digits", "--data", str(tmp_path / "missing"), "--out", str(out)]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_train_refuses_too_little_data_and_a_folder_as_output(capsys, tmp_path):
    d = tmp_path / "three"
    d.mkdir()
    (d / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((3, 28, 28))))
    (d / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3)))
    assert (
        main(
            [
                "train",
                "digits",
                "--data",
                str(d),
                "--out",
                str(tmp_path / "o.safetensors"),
                "--epochs",
                "1",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "too few" in err and "Traceback" not in err
    assert main(["train", "digits", "--data", str(d), "--out", str(tmp_path), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err


# --- a real process -----------------------------------------------------------------------


def test_main_py_entry_point(images):
    proc = subprocess.run(
        [
            sys.executable,
            "main.py",
            "predict",
            "--as-drawing",
            "--json",
            images["one"],
            images["empty"],
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows[0]["top"][0]["label"] == "1"
    assert set(rows[1]) == {"file", "error"}
    assert "Traceback" not in proc.stderr
