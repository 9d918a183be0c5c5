"""`cnn-viewer visualize`, run in-process through main(argv)."""

from __future__ import annotations

import cv2
import pytest
import torch

from cnn_viewer.cli.commands import main


@pytest.fixture(autouse=True)
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_class_image_is_that_digit(tmp_path, capsys, digits_model):
    out = tmp_path / "two.png"
    assert main(["visualize", "--class", "2", "--steps", "80", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "class 2 on digits: 80 steps" in text and f"wrote {out} (224x224)" in text
    image = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert image.shape == (224, 224)  # 28 x 28 enlarged 8 times, gray
    small = image[::8, ::8]  # nearest-neighbour enlargement: every 8th pixel is the original
    top = digits_model.predict(small, k=1)[0]
    assert top[0] == 2 and top[2] > 0.9


def test_channel_and_unit(tmp_path, capsys):
    out = tmp_path / "c.png"
    args = ["visualize", "--layer", "conv2", "--channel", "3", "--steps", "20", "--seed", "4"]
    assert main([*args, "--zoom", "2", "--out", str(out)]) == 0
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape == (56, 56)
    assert "conv2 channel 3 on digits: 20 steps" in capsys.readouterr().out
    assert main([*args, "--unit", "3,4", "--out", str(out)]) == 0
    assert "conv2 unit 3 at (3, 4)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--class", "12"], "class index must be 0..9"),
        (["--class", "seven"], "not a class name"),
        (["--layer", "conv2"], "add --channel K"),
        (["--layer", "conv9", "--channel", "0"], "no layer named 'conv9'"),
        (["--layer", "conv1", "--channel", "8"], "channels 0..7"),
        (["--layer", "conv2", "--channel", "1", "--unit", "x"], "give the position as Y,X"),
        (["--class", "1", "--channel", "1"], "go with --layer"),
    ],
)
def test_bad_options_say_what_to_do(tmp_path, capsys, extra, message):
    assert main(["visualize", *extra, "--steps", "2", "--out", str(tmp_path / "x.png")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_out_must_be_a_png_in_a_folder(tmp_path, capsys):
    assert main(["visualize", "--class", "1", "--out", str(tmp_path / "x.jpg")]) == 1
    assert "give a .png" in capsys.readouterr().err
    assert main(["visualize", "--class", "1", "--out", str(tmp_path / "no" / "x.png")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["visualize", "--out", str(tmp_path / "x.png")]) == 2  # --class or --layer
