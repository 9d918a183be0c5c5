"""Detectors and segmenters build by name, list their layers (backbone stages, pyramid
levels, a segmenter's class map) and load state_dict checkpoints."""

from __future__ import annotations

import json

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
    code = main(["layers", "--model", name, "--weights", "none", "--json"])
    out, _err = capsys.readouterr()
    assert code == 0
    rows = json.loads(out)
    shown = [r for r in rows if r["shown"]]
    model = load_model(name, weights="none")
    assert [r["name"] for r in shown] == [
        r for r in [r["name"] for r in rows] if r in model.display_layers
    ]
    assert set(model.display_layers) == {r["name"] for r in shown}
    assert all(r["shape"] is not None and len(r["shape"]) == 3 for r in shown)  # maps
    assert model.cam_layer in model.display_layers
    names = " ".join(model.display_layers)
    if name in DETECTORS and "ssd" not in name:
        assert "backbone.fpn.layer_blocks.0" in names and "backbone.body." in names
    if name in SEGMENTERS:
        assert model.display_layers[-1] == "classifier"
        assert shown[-1]["shape"][0] == len(model.labels) == 21  # VOC, from the metadata
    else:
        assert len(model.labels) == 91 and model.labels[1] == "person"  # COCO
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
