"""`predict --json` for detectors and segmenters equals the torchvision model's own call
on the same image and weights (random, seeded, saved as a state_dict checkpoint)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cnn_viewer.cli.commands import main
from tests.object_models import DETECTORS, SEGMENTERS, seeded_net, write_scene


def _predict(capsys, argv):
    code = main(argv)
    out, _err = capsys.readouterr()
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize("name", list(DETECTORS))
def test_predict_detections_equal_torchvision(name, tmp_path, capsys):
    net = seeded_net(name, 3, DETECTORS[name])
    ckpt = tmp_path / "det.pth"
    torch.save(net.state_dict(), ckpt)
    rgb = write_scene(tmp_path / "scene.png")
    cut = 0.05
    rows = _predict(
        capsys,
        ["predict", "--json", "--model", name, "--checkpoint", str(ckpt),
         "--min-score", str(cut), str(tmp_path / "scene.png")],
    )  # fmt: skip
    got = rows[0]["detections"]
    with torch.inference_mode():
        x = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
        ref = net([x])[0]
    keep = ref["scores"] >= cut
    order = torch.argsort(ref["scores"][keep], descending=True, stable=True)
    boxes, scores = ref["boxes"][keep][order], ref["scores"][keep][order]
    labels = ref["labels"][keep][order]
    assert len(got) == len(scores) > 3  # the sharpened head finds something to compare
    assert [d["index"] for d in got] == labels.tolist()
    assert [d["score"] for d in got] == sorted((d["score"] for d in got), reverse=True)
    np.testing.assert_allclose([d["score"] for d in got], scores.numpy(), atol=1e-5)
    np.testing.assert_allclose([d["box"] for d in got], boxes.numpy(), atol=1.0)
    h, w = rgb.shape[:2]
    assert all(
        0 <= d["box"][0] <= d["box"][2] <= w and 0 <= d["box"][1] <= d["box"][3] <= h for d in got
    )
    # COCO names from the weights' metadata, the cut applied
    assert all(d["label"] not in ("", str(d["index"])) for d in got)


@pytest.mark.parametrize("name", list(SEGMENTERS))
def test_predict_segments_equal_torchvision(name, tmp_path, capsys):
    net = seeded_net(name, 5, SEGMENTERS[name])
    ckpt = tmp_path / "seg.pth"
    torch.save(net.state_dict(), ckpt)
    rgb = write_scene(tmp_path / "scene.png", (160, 200))
    rows = _predict(
        capsys,
        [
            "predict",
            "--json",
            "--model",
            name,
            "--checkpoint",
            str(ckpt),
            str(tmp_path / "scene.png"),
        ],
    )
    got = {s["index"]: s["fraction"] for s in rows[0]["segments"]}
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    with torch.inference_mode():
        x = (torch.from_numpy(rgb).permute(2, 0, 1).float() / 255 - mean) / std
        winners = net(x[None])["out"][0].argmax(0)
    counts = torch.bincount(winners.flatten(), minlength=21)
    want = {i: c / winners.numel() for i, c in enumerate(counts.tolist()) if c}
    assert len(want) >= 2  # more than one class, or the test would say little
    assert got.keys() == want.keys()
    for i, share in want.items():
        assert got[i] == pytest.approx(share, abs=1e-6)
    assert abs(sum(got.values()) - 1.0) < 1e-5
    labels = {s["index"]: s["label"] for s in rows[0]["segments"]}
    assert labels.get(0, "__background__") == "__background__"  # VOC names from the metadata


def test_min_score_out_of_range_is_a_usage_error(tmp_path, capsys):
    write_scene(tmp_path / "scene.png")
    argv = ["predict", "--model", "ssdlite320_mobilenet_v3_large", "--weights", "none"]
    code = main([*argv, "--min-score", "2", str(tmp_path / "scene.png")])
    assert code == 2
    assert "from 0 to 1" in capsys.readouterr().err
