"""Detectors and segmenters build by name, list their layers (backbone stages, pyramid
levels, a segmenter's class map) and load state_dict checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cnn_viewer.cli.commands import main
from cnn_viewer.models import CheckpointError, load_model
from cnn_viewer.models.zoo.detection import DETECTORS, SEGMENTERS

SMALL = ["ssdlite320_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn",
         "lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large"]  # fmt: skip
BIG = ["fasterrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn_v2", "fcos_resnet50_fpn",
       "fcn_resnet50"]  # fmt: skip


def _check_layers(name: str, capsys) -> list[dict]:
    """`cnn-viewer layers --json`: every module, the default rows marked, all of them maps
    (C x H x W): backbone stages, pyramid levels, a segmenter's class map."""
    code = main(["layers", "--model", name, "--weights", "none", "--json"])
    out, _err = capsys.readouterr()
    assert code == 0
    rows = json.loads(out)
    shown = [r for r in rows if r["shown"]]
    assert all(r["shape"] is not None and len(r["shape"]) == 3 for r in shown)  # maps
    names = [r["name"] for r in shown]
    assert all(n.startswith(("backbone.", "classifier")) for n in names)
    if name in DETECTORS and "ssd" not in name:
        assert "backbone.fpn.layer_blocks.0" in names and any("backbone.body." in n for n in names)
        assert all(r["shape"][0] == 256 for r in shown if ".fpn." in r["name"])  # FPN width
    if name in SEGMENTERS:
        assert names[-1] == "classifier" and shown[-1]["shape"][0] == 21  # VOC's classes
    sizes = [r["shape"][1] * r["shape"][2] for r in shown if r["name"].startswith("backbone.b")]
    assert sizes == sorted(sizes, reverse=True)  # stages in order, each coarser or equal
    return shown


@pytest.mark.parametrize("name", SMALL)
def test_layers_listed(name, capsys):
    shown = _check_layers(name, capsys)
    assert len(shown) >= 4


@pytest.mark.slow
@pytest.mark.parametrize("name", BIG)
def test_big_models_build_and_list_layers(name, capsys):
    shown = _check_layers(name, capsys)
    if "resnet" in name:
        assert any(r["name"].endswith("layer4") for r in shown)


def test_names_from_the_weights_metadata():
    det = load_model("fasterrcnn_mobilenet_v3_large_320_fpn", weights="none")
    assert len(det.labels) == 91 and det.labels[1] == "person" and det.task == "detect"
    assert det.cam_layer in det.display_layers
    with pytest.raises(ValueError, match="not a classifier"):
        det.predict(np.zeros((32, 32, 3), np.uint8))


def test_state_dict_with_other_class_count(tmp_path):
    from torchvision.models import get_model

    torch.manual_seed(0)
    net = get_model("lraspp_mobilenet_v3_large", weights=None, weights_backbone=None,
                    num_classes=4)  # fmt: skip
    path = tmp_path / "four.pth"
    torch.save({"state_dict": net.state_dict()}, path)
    labels = tmp_path / "names.txt"
    labels.write_text("sky\nroad\ncar\ntree\n")
    model = load_model("lraspp_mobilenet_v3_large", checkpoint=path, labels=labels)
    assert model.labels == ["sky", "road", "car", "tree"] and model.task == "segment"
    got = model.module.state_dict()
    assert all(torch.equal(got[k], v) for k, v in net.state_dict().items())
    bad = {k: v for k, v in net.state_dict().items() if "high_classifier" not in k}
    torch.save(bad, tmp_path / "cut.pth")
    with pytest.raises(CheckpointError, match="cut.pth.*missing keys"):
        load_model("lraspp_mobilenet_v3_large", checkpoint=tmp_path / "cut.pth")


def test_offline_pretrained_gives_the_plain_message(monkeypatch, tmp_path):
    import torch.hub

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))

    def offline(*_a, **_k):
        raise OSError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(Exception, match="--weights none.*--checkpoint FILE"):
        load_model("ssdlite320_mobilenet_v3_large")
