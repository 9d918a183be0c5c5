"""`predict --json` for detectors and segmenters equals the torchvision model's own call
on the same image and weights (random, seeded, saved as a state_dict checkpoint)."""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pytest
import torch

from cnn_viewer.cli.commands import main


def _scene(path, size=(200, 240)) -> np.ndarray:
    """A small real picture file: shapes on a gradient (BGR on disk), returned as RGB."""
    h, w = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = np.linspace(40, 200, w, dtype=np.uint8)[None, :, None]
    cv2.rectangle(img, (20, 30), (90, 120), (0, 0, 230), -1)
    cv2.circle(img, (170, 140), 40, (20, 220, 30), -1)
    cv2.imwrite(str(path), img)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _net(name: str, seed: int, sharpen: dict[str, float]):
    """A torchvision model with seeded random weights; the named head weights scaled up
    and biases replaced by seeded noise of that size, so that random scores spread out
    (otherwise every class scores about the same)."""
    from torchvision.models import get_model

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = get_model(name, weights=None, weights_backbone=None).eval()
    state = net.state_dict()
    gen = torch.Generator().manual_seed(seed)
    for key, factor in sharpen.items():
        if key.endswith(".bias"):
            state[key] = factor * torch.randn(state[key].shape, generator=gen)
        else:
            state[key] = state[key] * factor
    net.load_state_dict(state)
    return net


def _predict(capsys, argv):
    code = main(argv)
    out, _err = capsys.readouterr()
    assert code == 0, out
    return json.loads(out)


DETECTORS = {
    "ssdlite320_mobilenet_v3_large": {
        f"head.classification_head.module_list.{i}.1.{part}": factor
        for i in range(6)
        for part, factor in (("weight", 300.0), ("bias", 2.0))
    },
    "fasterrcnn_mobilenet_v3_large_320_fpn": {
        "roi_heads.box_predictor.cls_score.weight": 200.0,
        "roi_heads.box_predictor.cls_score.bias": 3.0,
        "rpn.head.cls_logits.bias": 2.0,
    },
}


@pytest.mark.parametrize("name", list(DETECTORS))
def test_predict_detections_equal_torchvision(name, tmp_path, capsys):
    net = _net(name, 3, DETECTORS[name])
    ckpt = tmp_path / "det.pth"
    torch.save(net.state_dict(), ckpt)
    rgb = _scene(tmp_path / "scene.png")
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
    higher = _predict(
        capsys,
        ["predict", "--json", "--model", name, "--checkpoint", str(ckpt),
         "--min-score", "0.5", str(tmp_path / "scene.png")],
    )[0]["detections"]  # fmt: skip
    assert higher == [d for d in got if d["score"] >= 0.5]


# Random init leaves a segmenter's features near 1e-10: scale the class maps up to match.
SEGMENTERS = {
    "lraspp_mobilenet_v3_large": {
        "classifier.low_classifier.weight": 1e9,
        "classifier.low_classifier.bias": 0.0,
        "classifier.high_classifier.weight": 1e9,
        "classifier.high_classifier.bias": 0.0,
    },
    "deeplabv3_mobilenet_v3_large": {"classifier.4.weight": 1e9, "classifier.4.bias": 0.0},
}


@pytest.mark.parametrize("name", list(SEGMENTERS))
def test_predict_segments_equal_torchvision(name, tmp_path, capsys):
    net = _net(name, 5, SEGMENTERS[name])
    ckpt = tmp_path / "seg.pth"
    torch.save(net.state_dict(), ckpt)
    rgb = _scene(tmp_path / "scene.png", (160, 200))
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
    _scene(tmp_path / "scene.png")
    argv = ["predict", "--model", "ssdlite320_mobilenet_v3_large", "--weights", "none"]
    code = main([*argv, "--min-score", "2", str(tmp_path / "scene.png")])
    assert code == 2
    assert "from 0 to 1" in capsys.readouterr().err
