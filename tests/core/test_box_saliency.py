"""Box saliency: Grad-CAM of one box's score and EigenCAM inside the box, for a
detector with seeded random weights; two boxes in different places give different
maps; `explain --box K` writes the same map."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cnn_viewer.cli.commands import main
from cnn_viewer.core.explain.box_saliency import box_saliency
from cnn_viewer.models import load_model
from cnn_viewer.models.zoo.task_outputs import detect, full_size_input
from tests.object_models import DETECTORS, seeded_net, write_scene

NAME = "ssdlite320_mobilenet_v3_large"
CUT = 0.05


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("boxes")
    torch.save(seeded_net(NAME, 3, DETECTORS[NAME]).state_dict(), d / "det.pth")
    rgb = write_scene(d / "scene.png")
    model = load_model(NAME, checkpoint=d / "det.pth")
    found = detect(model, rgb, CUT)
    return d, model, rgb, found


def _apart(found) -> tuple[int, int]:
    """Two boxes that do not overlap: the best and the first one clear of it."""
    a = found[0]["box"]
    for i, d in enumerate(found):
        b = d["box"]
        if b[0] >= a[2] or b[2] <= a[0] or b[1] >= a[3] or b[3] <= a[1]:
            return 0, i
    pytest.fail("no two separate boxes to compare")


def test_two_boxes_give_different_gradcam_maps(setup):
    _d, model, rgb, found = setup
    i, j = _apart(found)
    x = full_size_input(model, rgb)
    a = box_saliency(model, x, i, "gradcam", min_score=CUT)
    b = box_saliency(model, x, j, "gradcam", min_score=CUT)
    assert a.heat.shape == b.heat.shape == rgb.shape[:2]
    assert a.box == found[i] and b.box == found[j]
    assert 0.0 <= a.heat.min() and a.heat.max() == pytest.approx(1.0)
    assert float(np.abs(a.heat - b.heat).mean()) > 0.02


def test_eigencam_stays_inside_its_box(setup):
    _d, model, rgb, found = setup
    i, j = _apart(found)
    x = full_size_input(model, rgb)
    maps = [box_saliency(model, x, k, "eigencam", min_score=CUT) for k in (i, j)]
    for m, k in zip(maps, (i, j), strict=True):
        x0, y0, x1, y1 = (int(round(v)) for v in found[k]["box"])
        outside = m.heat.copy()
        outside[y0:y1, x0:x1] = 0
        assert outside.max() == 0 and m.heat[y0:y1, x0:x1].max() == pytest.approx(1.0)
    assert not np.array_equal(maps[0].heat, maps[1].heat)


def test_explain_box_cli_and_bad_box(setup, capsys):
    d, model, rgb, found = setup
    out = d / "box.npy"
    argv = ["explain", "--model", NAME, "--checkpoint", str(d / "det.pth"), "--method",
            "gradcam", "--min-score", str(CUT), "--out", str(out), "--json"]  # fmt: skip
    assert main([*argv, "--box", "1", str(d / "scene.png")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["box"] == 1 and summary["detection"]["label"] == found[1]["label"]
    want = box_saliency(model, full_size_input(model, rgb), 1, "gradcam", min_score=CUT)
    np.testing.assert_allclose(np.load(out), want.heat, atol=1e-5)
    assert main([*argv, "--box", "9999", str(d / "scene.png")]) != 0
    err = capsys.readouterr().err
    assert "box 9999" in err and "lower --min-score" in err
