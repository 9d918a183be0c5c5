"""The model options of the command line (--checkpoint, --model-file, --labels,
--input-size, --channels, --trust-checkpoint), run in-process through main(argv)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cnn_viewer.cli.args import model_options
from cnn_viewer.cli.commands import build_parser, main
from cnn_viewer.models.data.images import read_image
from cnn_viewer.models.zoo.torchvision_zoo import torchvision_preprocess

NET_PY = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(24, 4)

    def forward(self, x):
        return self.fc(self.pool(self.act(self.conv1(x))).flatten(1))
"""


class Opener:
    """Unpickling this creates ``target``."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("model_options")
    g = torch.Generator().manual_seed(11)
    ref = torchvision.models.resnet18(num_classes=3).eval()
    with torch.no_grad():
        ref.fc.weight.copy_(torch.randn(ref.fc.weight.shape, generator=g) * 0.2)
    torch.save({"state_dict": ref.state_dict()}, d / "ft.pth")
    (d / "labels.txt").write_text("apple\nbanana\ncherry\n")
    (d / "labels4.txt").write_text("a\nb\nc\nd\n")
    image = np.random.default_rng(2).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    cv2.imwrite(str(d / "photo.png"), image)
    prep = torchvision_preprocess(torchvision.models.ResNet18_Weights.DEFAULT)
    with torch.inference_mode():
        logits = ref(prep(read_image(str(d / "photo.png"))))[0]
    (d / "net.py").write_text(NET_PY)
    torch.manual_seed(12)
    net = nn.Module()  # the same keys and shapes as Net, built here without importing net.py
    net.conv1, net.fc = nn.Conv2d(3, 6, 3, padding=1), nn.Linear(24, 4)
    torch.save(net.state_dict(), d / "w.pth")
    return {
        "dir": d,
        "ft": d / "ft.pth",
        "labels": d / "labels.txt",
        "labels4": d / "labels4.txt",
        "photo": d / "photo.png",
        "net": d / "net.py",
        "w": d / "w.pth",
        "top": ["apple", "banana", "cherry"][int(logits.argmax())],
    }


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_failure(code: int, err: str, *needles: str) -> None:
    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnn-viewer: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_predict_state_dict_with_labels(capsys, work):
    code, out, err = run(
        capsys,
        [
            "predict",
            "--model",
            "resnet18",
            "--checkpoint",
            work["ft"],
            "--labels",
            work["labels"],
            "--json",
            work["photo"],
        ],
    )
    assert code == 0, err
    rows = json.loads(out)
    top = rows[0]["top"]
    assert sorted(t["label"] for t in top) == ["apple", "banana", "cherry"]
    assert top[0]["label"] == work["top"]  # the saved model's own answer
    assert abs(sum(t["prob"] for t in top) - 1.0) < 1e-4


def test_refused_checkpoint_is_one_line(capsys, work, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    target = tmp_path / "created"
    torch.save({"model": Opener(target)}, tmp_path / "evil.pth")
    code, out, err = run(
        capsys,
        ["predict", "--model", "resnet18", "--checkpoint", tmp_path / "evil.pth", work["photo"]],
    )
    assert_clean_failure(code, err, str(tmp_path / "evil.pth"), "--trust-checkpoint")
    assert out == "" and not target.exists()


def test_bad_files_and_labels_fail_cleanly(capsys, work, tmp_path):
    half = tmp_path / "half.pth"
    half.write_bytes(work["ft"].read_bytes()[:5000])
    code, _, err = run(
        capsys, ["predict", "--model", "resnet18", "--checkpoint", half, work["photo"]]
    )
    assert_clean_failure(code, err, str(half))
    code, _, err = run(
        capsys, ["layers", "--model", "mobilenet_v3_small", "--checkpoint", work["ft"]]
    )
    assert_clean_failure(code, err, str(work["ft"]), "missing keys")
    code, _, err = run(
        capsys,
        [
            "predict",
            "--model",
            "resnet18",
            "--checkpoint",
            work["ft"],
            "--labels",
            work["labels4"],
            work["photo"],
        ],
    )
    assert_clean_failure(code, err, str(work["labels4"]), "4 class names", "3 outputs")
    code, _, err = run(capsys, ["layers", "--model-file", f"{work['net']}:Missing"])
    assert_clean_failure(code, err, "net.py", "Missing")


def test_layers_with_model_file(capsys, work):
    code, out, err = run(
        capsys,
        ["layers", "--model-file", f"{work['net']}:Net", "--checkpoint", work["w"], "--json"],
    )
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["conv1"]["shape"] == [6, 224, 224] and rows["conv1"]["shown"]
    assert rows["fc"]["shape"] == [4]
    code, out, err = run(
        capsys,
        [
            "layers",
            "--model-file",
            f"{work['net']}:Net",
            "--checkpoint",
            work["w"],
            "--input-size",
            "32x48",
        ],
    )
    assert code == 0, err
    assert "input 3 x 32 x 48" in out and "conv1" in out


def test_torchscript_needs_trust_then_lists_its_layers(capsys, tmp_path):
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    ).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(net), str(tmp_path / "ts.pt"))
    code, _, err = run(capsys, ["layers", "--checkpoint", tmp_path / "ts.pt"])
    assert_clean_failure(code, err, "TorchScript", "--trust-checkpoint")
    code, out, err = run(
        capsys, ["layers", "--checkpoint", tmp_path / "ts.pt", "--trust-checkpoint", "--json"]
    )
    assert code == 0, err
    assert [(r["name"], r["type"]) for r in json.loads(out)][:2] == [("0", "Conv2d"), ("1", "ReLU")]


def test_option_parsing():
    parser = build_parser()
    args = parser.parse_args(
        [
            "predict",
            "--model",
            "resnet18",
            "--checkpoint",
            "ft.pth",
            "--model-file",
            "net.py:Net",
            "--labels",
            "l.txt",
            "--input-size",
            "224x192",
            "--channels",
            "1",
            "--trust-checkpoint",
            "img.png",
        ]
    )
    opts = model_options(args)
    assert (opts.model, opts.checkpoint, opts.model_file, opts.labels) == (
        "resnet18",
        "ft.pth",
        "net.py:Net",
        "l.txt",
    )
    assert opts.input_size == (224, 192) and opts.channels == 1 and opts.trust_checkpoint
    for sub in (["layers"], ["view"], ["predict", "img.png"]):
        a = parser.parse_args([*sub[:1], "--input-size", "96", *sub[1:]])
        assert model_options(a).input_size == (96, 96) and not a.trust_checkpoint
    defaults = model_options(parser.parse_args(["layers"]))
    assert (defaults.model_file, defaults.labels, defaults.input_size, defaults.channels) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("bad", [["--input-size", "big"], ["--channels", "2"]])
def test_bad_option_values_are_usage_errors(capsys, bad):
    assert main(["layers", *bad]) == 2
    assert "usage" in capsys.readouterr().err


def test_model_options_load_passes_everything_through(work):
    parser = build_parser()
    args = parser.parse_args(
        [
            "layers",
            "--model",
            "resnet18",
            "--checkpoint",
            str(work["ft"]),
            "--labels",
            str(work["labels"]),
            "--input-size",
            "128",
        ]
    )
    from cnn_viewer.core.options import ModelOptions

    options = model_options(args)
    assert options == ModelOptions(
        model="resnet18",
        weights="default",
        checkpoint=str(work["ft"]),
        labels=str(work["labels"]),
        input_size=(128, 128),
        channels=None,
        trust_checkpoint=False,
        device="auto",
    )
    loaded = options.load()
    assert loaded.name == "resnet18" and str(work["ft"]) in loaded.source
    assert loaded.labels == ["apple", "banana", "cherry"] and loaded.input_size == (128, 128)
    saved = torch.load(work["ft"], weights_only=True)["state_dict"]
    assert loaded.module.fc.out_features == 3
    torch.testing.assert_close(loaded.module.fc.weight, saved["fc.weight"], rtol=0, atol=0)
