"""User checkpoints: every accepted form loads and predicts like the model that was saved;
hostile, broken and mismatched files give CheckpointError naming the file and the fault.

Real parts only: torchvision resnet18 / mobilenet_v3_small built with weights=None, the
SmallCNN, and a small model in a .py file each test writes.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import time
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from cnn_viewer.models import CheckpointError, load_model
from cnn_viewer.models.checkpoint import save_checkpoint
from cnn_viewer.models.data.preprocess_options import parse_input_size
from cnn_viewer.models.loading.checkpoint_files import open_checkpoint, unsafe_globals
from cnn_viewer.models.loading.model_files import ModelFileError
from cnn_viewer.models.zoo.digits import digits_info
from cnn_viewer.models.zoo.layer_choice import default_layers
from cnn_viewer.models.zoo.small_cnn import SmallCNN, SmallCNNConfig

NET_PY = '''
import torch
from torch import nn


class Net(nn.Module):
    """1 x 28 x 28 -> 5 classes; the linear layer fixes the input size."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 14 * 14, 5)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv1(x))).flatten(1))
'''


class TinyNet(nn.Module):
    """A whole model to pickle (module level, so pickle can find the class)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


class Payload:
    """Unpickling this creates ``target``: what a hostile checkpoint would do."""

    def __init__(self, target: Path, how: str) -> None:
        self.target, self.how = str(target), how

    def __reduce__(self):
        if self.how == "open":
            return (open, (self.target, "w"))
        return (os.system, (f"touch {shlex.quote(self.target)}",))


def spread(model: nn.Module, seed: int) -> nn.Module:
    """Give BatchNorm statistics and linear layers spread-out values: at torchvision's init
    mobilenet_v3_small outputs ~1e-10 for every class, which no comparison could tell apart."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features**0.5)
    return model.eval()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (120, 150, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def resnet3() -> nn.Module:
    return spread(torchvision.models.resnet18(num_classes=3), 3)


@pytest.fixture(scope="module")
def mobilenet4() -> nn.Module:
    return spread(torchvision.models.mobilenet_v3_small(num_classes=4), 4)


@pytest.fixture(scope="module")
def files(tmp_path_factory, resnet3) -> dict[str, Path]:
    """A few files several tests share (written once)."""
    d = tmp_path_factory.mktemp("shared")
    torch.save(resnet3.state_dict(), d / "resnet3.pth")
    (d / "labels3.txt").write_text("cat\n\n dog \nbird\n\n")
    (d / "labels2.txt").write_text("cat\ndog\n")
    return {
        "resnet3": d / "resnet3.pth",
        "labels3": d / "labels3.txt",
        "labels2": d / "labels2.txt",
    }


def write_net(folder: Path) -> tuple[Path, type[nn.Module]]:
    """Write NET_PY to folder/net.py and import it independently of the code under test."""
    path = folder / "net.py"
    path.write_text(NET_PY)
    spec = importlib.util.spec_from_file_location(f"ref_net_{abs(hash(str(path)))}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return path, mod.Net


def assert_same_predictions(loaded, reference: nn.Module, image: np.ndarray) -> None:
    x = loaded.preprocess(image)
    with torch.inference_mode():
        expected = reference.eval()(x)
        assert expected.std() > 1e-3  # outputs that differ between classes
        torch.testing.assert_close(loaded.module(x), expected)
    top = [i for i, _label, _p in loaded.predict(image, k=expected.shape[1])]
    assert top == expected[0].argsort(descending=True).tolist()


def cut_in_half(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


# ---- each accepted form loads and predicts like the saved model ---------------------------


def test_own_checkpoint_loads(tmp_path, image):
    torch.manual_seed(0)
    config = SmallCNNConfig(in_channels=1, num_classes=10, input_size=(28, 28), channels=[4, 8])
    ref = SmallCNN(config).eval()
    path = tmp_path / "own.safetensors"
    save_checkpoint(path, ref.state_dict(), digits_info(config))
    loaded = load_model(checkpoint=path)
    assert loaded.labels == [str(i) for i in range(10)]
    assert_same_predictions(loaded, ref, image)


def test_state_dict_for_registered_architecture(files, resnet3, image):
    loaded = load_model("resnet18", checkpoint=files["resnet3"])
    assert loaded.module.fc.out_features == 3  # class count read from the weights
    assert loaded.labels == ["0", "1", "2"]
    assert loaded.input_size == (224, 224) and loaded.channels == 3
    assert loaded.cam_layer == "layer4.1"  # the last block's output, as in Grad-CAM
    assert loaded.display_layers == default_layers(resnet3) and "layer4.1" in loaded.display_layers
    assert_same_predictions(loaded, resnet3, image)


@pytest.mark.parametrize(
    ("key", "prefix"),
    [
        ("state_dict", "module."),  # DataParallel / DDP
        ("model", ""),
        ("model_state_dict", "_orig_mod."),  # torch.compile
        ("net", "module."),
        ("state_dict", "model."),  # PyTorch Lightning: the LightningModule's attribute name
    ],
)
def test_wrapped_state_dict_with_prefixes(tmp_path, mobilenet4, image, key, prefix):
    weights = {f"{prefix}{k}": v for k, v in mobilenet4.state_dict().items()}
    path = tmp_path / "wrapped.pt"
    torch.save(
        {
            key: weights,
            "epoch": 7,
            "optimizer": {"lr": 0.1},
            "classes": ["ant", "bee", "cow", "dog"],
        },
        path,
    )
    loaded = load_model("mobilenet_v3_small", checkpoint=path)
    assert loaded.labels == ["ant", "bee", "cow", "dog"]  # class names from the checkpoint
    assert_same_predictions(loaded, mobilenet4, image)


def test_harmless_python_values_are_not_refused(tmp_path):
    """A set, tuple, bytes or OrderedDict beside the weights is fine for weights_only;
    the static scan must not call it code (protocol 2 writes __builtin__.set)."""
    path = tmp_path / "extras.pth"
    torch.save(
        {
            "state_dict": OrderedDict(w=torch.ones(2)),
            "tags": {"a", "b"},
            "hp": (1, 2.0, None, True),
            "raw": b"x",
        },
        path,
    )
    assert unsafe_globals(path) == set()
    opened = open_checkpoint(path)
    assert opened.kind == "state_dict" and list(opened.state_dict) == ["w"]


def test_plain_safetensors_and_legacy_format(tmp_path, mobilenet4, image):
    st = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in mobilenet4.state_dict().items()}, str(st))
    legacy = tmp_path / "legacy.pth"
    torch.save(mobilenet4.state_dict(), legacy, _use_new_zipfile_serialization=False)
    for path in (st, legacy):
        assert_same_predictions(
            load_model("mobilenet_v3_small", checkpoint=path), mobilenet4, image
        )


def test_model_file_with_state_dict(tmp_path, image):
    net_py, Net = write_net(tmp_path)
    torch.manual_seed(5)
    ref = Net()
    torch.save(ref.state_dict(), tmp_path / "w.pth")
    loaded = load_model(model_file=f"{net_py}:Net", checkpoint=tmp_path / "w.pth")
    assert loaded.input_size == (28, 28)  # found by trying sizes: only 28x28 fits fc
    assert loaded.channels == 1 and len(loaded.labels) == 5
    assert loaded.display_layers == ["conv1", "pool", "fc"] and loaded.cam_layer == "pool"
    assert_same_predictions(loaded, ref, image)
    # without CLASS: the file's only nn.Module subclass
    assert load_model(model_file=str(net_py), checkpoint=tmp_path / "w.pth").name == "Net"


def test_digits_state_dict(tmp_path, digits_model, image):
    path = tmp_path / "digits_sd.pth"
    torch.save(digits_model.module.state_dict(), path)
    loaded = load_model("digits", checkpoint=path)
    assert loaded.is_digits and loaded.input_size == (28, 28)
    assert loaded.display_layers == digits_model.display_layers
    assert_same_predictions(loaded, digits_model.module, image)


def test_one_channel_torchvision_from_weights(tmp_path, image):
    ref = torchvision.models.resnet18(num_classes=2)
    ref.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    spread(ref, 6)
    torch.save(ref.state_dict(), tmp_path / "gray.pth")
    loaded = load_model(
        "resnet18", checkpoint=tmp_path / "gray.pth", channels=1, input_size=(96, 128)
    )
    assert loaded.channels == 1 and loaded.preprocess(image).shape == (1, 1, 96, 128)
    assert loaded.preprocess.resize_short == round(128 * 256 / 224)
    assert_same_predictions(loaded, ref, image)
    with pytest.raises(ValueError, match="takes 1-channel"):
        load_model("resnet18", checkpoint=tmp_path / "gray.pth", channels=3)


# ---- code-running files --------------------------------------------------------------------


@pytest.mark.parametrize("how", ["open", "system"])
@pytest.mark.parametrize("force_env", [False, True])
def test_hostile_pickle_is_refused(tmp_path, monkeypatch, how, force_env):
    if force_env:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    target = tmp_path / "created-by-pickle"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "x": Payload(target, how)}, path)
    with pytest.raises(CheckpointError) as err:
        load_model("resnet18", checkpoint=path)
    assert not target.exists()
    message = str(err.value)
    assert str(path) in message and "refused" in message and "--trust-checkpoint" in message
    assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") == ("1" if force_env else None)


def test_weights_only_load_holds_without_the_static_scan(tmp_path, monkeypatch):
    """Second line of defence: torch.load(weights_only=True) itself, with the env var set."""
    import cnn_viewer.models.loading.checkpoint_files as uc

    monkeypatch.setattr(uc, "unsafe_globals", lambda path: set())
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    target = tmp_path / "created"
    path = tmp_path / "evil.pth"
    torch.save(Payload(target, "open"), path)
    seen = []
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.append((os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"), kwargs["weights_only"]))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    with pytest.raises(CheckpointError, match="refused"):
        load_model("resnet18", checkpoint=path)
    assert not target.exists()
    assert seen == [(None, True)]  # the variable is cleared for the call, weights_only passed
    assert os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] == "1"  # and restored after


def test_the_env_var_is_real_in_this_torch(tmp_path, monkeypatch):
    """Without weights_only, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 makes torch.load run the
    pickle (so the tests above guard against something real)."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    target = tmp_path / "created"
    torch.save(Payload(target, "open"), tmp_path / "evil.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        handle = torch.load(tmp_path / "evil.pth")
    handle.close()
    assert target.exists()


def test_whole_pickled_model_needs_trust(tmp_path, image):
    torch.manual_seed(7)
    ref = TinyNet().eval()
    path = tmp_path / "whole.pt"
    torch.save(ref, path)
    with pytest.raises(CheckpointError, match="refused.*--trust-checkpoint"):
        load_model(checkpoint=path)
    loaded = load_model(checkpoint=path, trust_checkpoint=True)
    assert isinstance(loaded.module, TinyNet) and loaded.labels == ["0", "1", "2"]
    assert_same_predictions(loaded, ref, image)


def test_torchscript_needs_trust(tmp_path, image):
    torch.manual_seed(8)
    ref = TinyNet().eval()
    path = tmp_path / "scripted.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(ref), str(path))
    with pytest.raises(CheckpointError, match="TorchScript") as err:
        load_model(checkpoint=path)
    assert "--trust-checkpoint" in str(err.value) and str(path) in str(err.value)
    loaded = load_model(checkpoint=path, trust_checkpoint=True)
    assert loaded.display_layers == [] and loaded.cam_layer is None
    assert_same_predictions(loaded, ref, image)


# ---- broken and mismatched files -----------------------------------------------------------


def _refused(path, *args, **kwargs) -> str:
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        load_model(*args, checkpoint=path, **kwargs)
    assert time.perf_counter() - start < 5.0
    assert str(path) in str(err.value)
    return str(err.value)


def test_truncated_files(tmp_path, files, mobilenet4):
    assert "truncated" in _refused(cut_in_half(files["resnet3"], tmp_path / "half.pth"), "resnet18")
    legacy = tmp_path / "legacy.pth"
    torch.save(mobilenet4.state_dict(), legacy, _use_new_zipfile_serialization=False)
    _refused(cut_in_half(legacy, tmp_path / "half_legacy.pth"), "mobilenet_v3_small")
    plain = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in mobilenet4.state_dict().items()}, str(plain))
    assert "safetensors" in _refused(
        cut_in_half(plain, tmp_path / "half.safetensors"), "mobilenet_v3_small"
    )
    own = tmp_path / "own.safetensors"
    config = SmallCNNConfig()
    save_checkpoint(own, SmallCNN(config).state_dict(), digits_info(config))
    assert "truncated" in _refused(cut_in_half(own, tmp_path / "own_half.safetensors"))


def test_random_bytes_empty_and_missing(tmp_path):
    noise = tmp_path / "noise.pth"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000_000, np.uint8).tobytes())
    assert "not a readable PyTorch checkpoint" in _refused(noise, "resnet18")
    zipped = tmp_path / "noise_zip.pth"
    zipped.write_bytes(b"PK\x03\x04" + noise.read_bytes()[:1000])
    _refused(zipped, "resnet18")
    (tmp_path / "empty.pth").write_bytes(b"")
    assert "empty" in _refused(tmp_path / "empty.pth", "resnet18")
    assert "no such" in _refused(tmp_path / "missing.pth", "resnet18")
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "meta.pth")
    assert "without weights" in _refused(tmp_path / "meta.pth", "resnet18")


def test_wrong_architecture(files):
    message = _refused(files["resnet3"], "mobilenet_v3_small")
    assert "mobilenet_v3_small" in message and "missing keys" in message
    assert "unexpected keys" in message and "bn1." in message
    assert message.count("features.") <= 5  # lists are capped


def test_wrong_shapes(tmp_path, resnet3):
    weights = dict(resnet3.state_dict())
    weights["layer1.0.conv1.weight"] = torch.zeros(64, 64, 5, 5)
    torch.save(weights, tmp_path / "bad_shape.pth")
    message = _refused(tmp_path / "bad_shape.pth", "resnet18")
    assert "layer1.0.conv1.weight: file (64, 64, 5, 5) vs model (64, 64, 3, 3)" in message


def test_model_file_wrong_shapes_and_bad_files(tmp_path):
    net_py, _ = write_net(tmp_path)
    torch.save(
        {
            "conv1.weight": torch.zeros(4, 1, 5, 5),
            "conv1.bias": torch.zeros(4),
            "fc.weight": torch.zeros(5, 784),
            "fc.bias": torch.zeros(5),
        },
        tmp_path / "w.pth",
    )
    message = _refused(tmp_path / "w.pth", model_file=f"{net_py}:Net")
    assert "conv1.weight: file (4, 1, 5, 5) vs model (4, 1, 3, 3)" in message
    with pytest.raises(ModelFileError, match="has no 'Nope' .nn.Module classes defined: Net;"):
        load_model(model_file=f"{net_py}:Nope")
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nraise RuntimeError('boom')\n")
    with pytest.raises(ModelFileError, match=r"broken.py: importing it failed.*boom \(line 2\)"):
        load_model(model_file=f"{broken}:Net")
    needs_args = tmp_path / "needs_args.py"
    needs_args.write_text(
        "from torch import nn\nclass Net(nn.Module):\n"
        "    def __init__(self, width):\n        super().__init__()\n"
    )
    with pytest.raises(ModelFileError, match="no arguments"):
        load_model(model_file=f"{needs_args}:Net")


# ---- labels, class count, overrides --------------------------------------------------------


def test_labels_file(files):
    loaded = load_model("resnet18", checkpoint=files["resnet3"], labels=files["labels3"])
    assert loaded.labels == ["cat", "dog", "bird"]  # blank lines ignored, names stripped
    with pytest.raises(ValueError) as err:
        load_model("resnet18", checkpoint=files["resnet3"], labels=files["labels2"])
    assert str(files["labels2"]) in str(err.value)
    assert "2 class names" in str(err.value) and "3 outputs" in str(err.value)


def test_checkpoint_labels_must_match_the_weights(tmp_path, mobilenet4):
    torch.save({"model": mobilenet4.state_dict(), "labels": ["a", "b"]}, tmp_path / "m.pth")
    message = _refused(tmp_path / "m.pth", "mobilenet_v3_small")
    assert "2 class names" in message and "4 outputs" in message


def test_torchvision_overrides_without_checkpoint():
    loaded = load_model("mobilenet_v3_small", weights="none", input_size="160x160")
    assert loaded.input_size == (160, 160)
    assert loaded.preprocess.resize_short == round(160 * 256 / 224)
    with pytest.raises(ValueError, match="3-channel"):
        load_model("mobilenet_v3_small", weights="none", channels=1)
    with pytest.raises(ValueError, match="channels 2"):
        load_model("mobilenet_v3_small", weights="none", channels=2)
    with pytest.raises(ValueError, match="shipped digits weights"):
        load_model("digits", input_size=32)
    digits32 = load_model("digits", weights="none", input_size=32)
    assert digits32.input_size == (32, 32) and digits32.is_digits


def test_parse_input_size():
    assert parse_input_size("224x192") == (224, 192)
    assert parse_input_size("224") == (224, 224) == parse_input_size(224)
    assert parse_input_size((32, 48)) == (32, 48)
    for bad in ("abc", "1x2x3", "0x10", "224x"):
        with pytest.raises(ValueError, match="input size"):
            parse_input_size(bad)


def test_env_var_left_set_does_not_break_normal_loads(files, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    assert len(load_model("resnet18", checkpoint=files["resnet3"]).labels) == 3


def test_no_class_found_lists_the_classes_the_file_imports(tmp_path):
    """A user project with its own models/ package: net.py only imports its network."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "backbone.py").write_text(
        "from torch import nn\n\n\nclass Backbone(nn.Sequential):\n"
        "    def __init__(self):\n        super().__init__(nn.Conv2d(3, 4, 3), nn.Flatten())\n"
    )
    net_py = tmp_path / "net.py"
    net_py.write_text("from torch import nn\nfrom models.backbone import Backbone\n")
    with pytest.raises(ModelFileError) as info:
        load_model("x", model_file=str(net_py))
    message = str(info.value)
    assert "defined: none; imported: Backbone (from models.backbone)" in message
    assert "Sequential" not in message  # torch's own classes are not the user's
    model = load_model("x", model_file=f"{net_py}:Backbone", input_size=8)
    assert type(model.module).__name__ == "Backbone"
