"""`cnn-viewer explain` writes the map as .npy (raw, input resolution) or a .png overlay."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cnn_viewer.cli.commands import main
from cnn_viewer.core.explain.attribution import attribute, baseline_for
from cnn_viewer.models import load_model
from cnn_viewer.models.data.drawing import center_digit
from cnn_viewer.models.private_copy import private_copy


@pytest.fixture(scope="module")
def seven(tmp_path_factory, digit_drawer):
    path = tmp_path_factory.mktemp("explain") / "seven.png"
    cv2.imwrite(str(path), digit_drawer("7", (240, 300), (90, 40, 160)))
    return path


def test_npy_is_the_raw_map_at_input_resolution(seven, tmp_path, capsys):
    out = tmp_path / "ig.npy"
    rc = main(["explain", "--method", "integrated_gradients", "--target", "3",
               "--out", str(out), str(seven)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    saved = np.load(out)
    model = load_model("digits")
    x = model.preprocess(center_digit(cv2.imread(str(seven), cv2.IMREAD_GRAYSCALE)))
    expected = attribute(private_copy(model.module), x, "integrated_gradients", 3,
                         baseline=baseline_for(model)).raw  # fmt: skip
    assert saved.shape == (28, 28) and saved.dtype == np.float32
    np.testing.assert_allclose(saved, expected, atol=1e-5)
    printed = capsys.readouterr().out
    assert "class 3 '3'" in printed and " ms" in printed


def test_png_is_an_overlay_on_the_network_input(seven, tmp_path, capsys):
    out = tmp_path / "cam.png"
    assert main(["explain", "--method", "gradcam", "--out", str(out), str(seven)]) == 0
    image = cv2.imread(str(out))
    assert image.shape == (28, 28, 3)
    assert (
        main(["explain", "--method", "gradcam", "--out", str(tmp_path / "c.npy"), str(seven)]) == 0
    )
    cam = np.load(tmp_path / "c.npy")
    plain = center_digit(cv2.imread(str(seven), cv2.IMREAD_GRAYSCALE))
    bgr = image.astype(int)
    # Where the map is zero the input shows as it is (grey); where high, the heat colours.
    zero, high = cam == 0, cam > 0.5 * cam.max()
    assert zero.any() and high.any()
    for c in range(3):
        np.testing.assert_array_equal(bgr[zero][:, c], plain[zero])
    assert ((bgr.max(axis=2) - bgr.min(axis=2))[high] > 60).all()
    assert "Grad-CAM for class 7 '7'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "gradcam", "--target", "cat"], "not a class name"),
        (["--method", "gradcam", "--target", "12"], "must be 0..9"),
        (["--method", "gradcam", "--layer", "nope"], "no layer named 'nope'"),
        (["--method", "occlusion", "--out-suffix", ".txt"], "end the name in .npy"),
    ],
)
def test_bad_options_say_what_to_do(seven, tmp_path, capsys, args, message):
    suffix = ".npy"
    if "--out-suffix" in args:
        i = args.index("--out-suffix")
        suffix = args[i + 1]
        args = args[:i] + args[i + 2 :]
    rc = main(["explain", *args, "--out", str(tmp_path / f"map{suffix}"), str(seven)])
    assert rc == 1
    assert message in capsys.readouterr().err


def test_unknown_method_is_a_usage_error(seven, tmp_path, capsys):
    assert main(["explain", "--method", "lime", "--out", str(tmp_path / "m.npy"), str(seven)]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_picture_over_the_pixel_limit_is_refused_by_name(tmp_path, capsys):
    from tests.huge_image import write_blank_png

    huge = write_blank_png(tmp_path / "huge.png")
    rc = main(["explain", "--method", "gradcam", "--out", str(tmp_path / "m.npy"), str(huge)])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert f"{huge}: 30000x30000 is 900 megapixels, over the limit of 90 megapixels" in err
    assert "Traceback" not in err and not (tmp_path / "m.npy").exists()
