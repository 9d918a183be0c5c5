"""Our checkpoint format: self-describing, round-trips, and every fault names the file."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from cnn_viewer.models import CheckpointError, load_model
from cnn_viewer.models.checkpoint import (
    FORMAT,
    META_KEY,
    CheckpointInfo,
    read_checkpoint,
    save_checkpoint,
)
from cnn_viewer.models.zoo.digits import DIGITS_CHECKPOINT
from cnn_viewer.models.zoo.own_checkpoint import build_from_checkpoint
from cnn_viewer.models.zoo.small_cnn import SmallCNN, SmallCNNConfig


def test_shipped_checkpoint_is_self_describing():
    tensors, info = read_checkpoint(DIGITS_CHECKPOINT)
    assert info.arch == "small_cnn"
    config = SmallCNNConfig(**info.config)
    assert config.channels == [8, 16, 32] and config.num_classes == 10
    assert config.in_channels == 1 and config.input_size == (28, 28)
    assert info.labels == [str(i) for i in range(10)]
    assert info.input_size == (28, 28) and info.channels == 1
    assert info.mean == [pytest.approx(0.1307)] and info.std == [pytest.approx(0.3081)]
    assert info.extra["task"] == "digits"
    assert info.extra["test_accuracy"] >= 0.98
    # The config alone rebuilds a network the tensors fit exactly.
    module = SmallCNN(config)
    expected = module.state_dict()
    assert set(tensors) == set(expected)
    assert all(tensors[k].shape == v.shape for k, v in expected.items())
    module.load_state_dict(tensors)


def make_info(config: SmallCNNConfig, labels: list[str]) -> CheckpointInfo:
    return CheckpointInfo(
        arch="small_cnn",
        config=config.to_dict(),
        labels=labels,
        input_size=config.input_size,
        channels=config.in_channels,
        mean=[0.5, 0.4, 0.3],
        std=[0.2, 0.25, 0.3],
        extra={"note": "test"},
    )


@pytest.fixture(scope="module")
def colour_net():
    torch.manual_seed(0)
    config = SmallCNNConfig(
        in_channels=3,
        num_classes=3,
        input_size=(20, 24),
        channels=[4, 6],
        kernel_size=3,
        padding=1,
        activation="tanh",
        pool="avg",
        hidden=12,
    )
    return SmallCNN(config).eval(), make_info(config, ["cat", "dog", "bird"])


def test_save_and_read_round_trip(tmp_path, colour_net):
    net, info = colour_net
    path = tmp_path / "sub" / "net.safetensors"
    save_checkpoint(path, net.state_dict(), info)
    assert path.is_file() and list(path.parent.iterdir()) == [path]  # no .part file left
    tensors, back = read_checkpoint(path)
    assert back == info
    assert set(tensors) == set(net.state_dict())
    for k, v in net.state_dict().items():
        assert torch.equal(tensors[k], v), k
    with safe_open(str(path), "pt") as f:
        assert json.loads(f.metadata()[META_KEY])["format"] == FORMAT


def test_rebuilt_model_computes_the_same(tmp_path, colour_net):
    net, info = colour_net
    path = tmp_path / "net.safetensors"
    save_checkpoint(path, net.state_dict(), info)
    for loaded in (build_from_checkpoint(path), load_model(checkpoint=path)):
        assert loaded.labels == ["cat", "dog", "bird"]
        assert loaded.input_size == (20, 24) and loaded.channels == 3
        assert loaded.preprocess.mean == (0.5, 0.4, 0.3)
        assert not loaded.module.training
        x = torch.randn(2, 3, 20, 24)
        with torch.inference_mode():
            torch.testing.assert_close(loaded.module(x), net(x), rtol=0, atol=0)
        assert loaded.display_layers == [
            "conv1",
            "tanh1",
            "pool1",
            "conv2",
            "tanh2",
            "pool2",
            "fc1",
            "fc2",
        ]


def assert_names_file(exc_info, path) -> None:
    message = str(exc_info.value)
    assert str(path) in message, message


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda good: good[: len(good) // 2], id="truncated"),
        pytest.param(lambda good: good[:20], id="truncated-header"),
        pytest.param(lambda good: bytes(range(256)) * 20, id="random-bytes"),
        pytest.param(lambda good: b"", id="empty"),
        pytest.param(lambda good: b"this is a text file\n" * 10, id="text"),
    ],
)
def test_unreadable_files(tmp_path, content):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content(DIGITS_CHECKPOINT.read_bytes()))
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    assert_names_file(info, path)
    with pytest.raises(CheckpointError) as info:
        build_from_checkpoint(path)
    assert_names_file(info, path)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(CheckpointError, match="no such") as info:
        read_checkpoint(path)
    assert_names_file(info, path)


def test_safetensors_without_our_metadata(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file(SmallCNN().state_dict(), str(path))
    with pytest.raises(CheckpointError, match="without cnn-viewer metadata") as info:
        read_checkpoint(path)
    assert_names_file(info, path)


@pytest.mark.parametrize(
    "meta",
    [
        "{not json",
        json.dumps({"format": FORMAT, "arch": "small_cnn"}),  # labels etc. missing
        json.dumps(["a", "list"]),
        json.dumps(
            {
                "format": FORMAT,
                "arch": "small_cnn",
                "labels": ["0"],
                "input_size": [28],
                "channels": 1,
                "mean": [0],
                "std": [1],
            }
        ),
    ],
)
def test_damaged_metadata(tmp_path, meta):
    path = tmp_path / "damaged.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={META_KEY: meta})
    with pytest.raises(CheckpointError, match="metadata is damaged") as info:
        read_checkpoint(path)
    assert_names_file(info, path)


def test_other_format_version(tmp_path, colour_net):
    net, info = colour_net
    path = tmp_path / "future.safetensors"
    meta = json.loads(info.to_json())
    meta["format"] = "cnn-viewer/99"
    save_file(net.state_dict(), str(path), metadata={META_KEY: json.dumps(meta)})
    with pytest.raises(CheckpointError, match="cnn-viewer/99") as exc:
        read_checkpoint(path)
    assert_names_file(exc, path)


def test_wrong_shape_weights(tmp_path):
    config = SmallCNNConfig(channels=[8, 16], kernel_size=3)
    other = SmallCNN(SmallCNNConfig(channels=[8, 12], kernel_size=3))
    path = tmp_path / "mismatch.safetensors"
    info = CheckpointInfo(
        arch="small_cnn",
        config=config.to_dict(),
        labels=[str(i) for i in range(10)],
        input_size=(28, 28),
        channels=1,
        mean=[0.1],
        std=[0.3],
    )
    save_checkpoint(path, other.state_dict(), info)
    read_checkpoint(path)  # readable: the fault is only seen against the architecture
    with pytest.raises(CheckpointError, match="shape mismatch") as info:
        build_from_checkpoint(path)
    assert_names_file(info, path)
    assert "conv2.weight" in str(info.value)
    with pytest.raises(CheckpointError) as info:
        load_model(checkpoint=path)
    assert_names_file(info, path)


def test_missing_and_unexpected_keys(tmp_path, colour_net):
    net, info = colour_net
    state = dict(net.state_dict())
    state.pop("fc2.bias")
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "keys.safetensors"
    save_checkpoint(path, state, info)
    with pytest.raises(CheckpointError) as exc:
        build_from_checkpoint(path)
    assert_names_file(exc, path)
    assert "fc2.bias" in str(exc.value) and "extra.weight" in str(exc.value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"arch": "transformer"}, "'transformer'"),
        ({"config": {"channels": []}}, "config is invalid"),
        ({"config": {"no_such_option": 1}}, "config is invalid"),
        ({"labels": ["only", "two"]}, "2 class names for 3 outputs"),
        ({"channels": 1}, "1 input channels"),
        ({"input_size": (28, 28)}, "input size"),
        ({"mean": [0.5, 0.5]}, "2 mean values"),
        ({"std": [0.0]}, "must be positive"),
    ],
)
def test_metadata_that_does_not_fit_the_architecture(tmp_path, colour_net, change, words):
    """Caught when loading, not later as an IndexError in predict or a shape error in forward."""
    net, info = colour_net
    bad = CheckpointInfo(**{**info.__dict__, **change})
    path = tmp_path / "inconsistent.safetensors"
    save_checkpoint(path, net.state_dict(), bad)
    with pytest.raises(CheckpointError, match=words) as exc:
        build_from_checkpoint(path)
    assert_names_file(exc, path)
