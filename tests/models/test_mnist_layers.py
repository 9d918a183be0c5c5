"""MNIST IDX reading and the fixed split; default layers and the layer table."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from cnn_viewer.models.data.mnist import DataError, load_mnist_folder, read_idx, split_indices
from cnn_viewer.models.zoo.layer_choice import default_layers, last_conv_layer, layer_table


def idx_bytes(array: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 8, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.astype(np.uint8).tobytes()
    )


def write_idx(path, array: np.ndarray, gz: bool) -> None:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    write_idx(path, images, gz)
    np.testing.assert_array_equal(read_idx(path), images)
    labels = np.arange(7, dtype=np.uint8)
    lpath = tmp_path / ("y-idx1-ubyte" + (".gz" if gz else ""))
    write_idx(lpath, labels, gz)
    np.testing.assert_array_equal(read_idx(lpath), labels)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x00\x00\x0d\x01\x00\x00\x00\x02ab", "not an MNIST IDX"),  # float type code
        (b"PK\x03\x04 something else", "not an MNIST IDX"),
        (b"", "not an MNIST IDX"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "header declares"),  # 3 bytes of 5
    ],
)
def test_bad_idx(tmp_path, data, words):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=words) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))[:-20])
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_load_folder_reads_both_splits(tmp_path):
    train = np.full((6, 28, 28), 1, np.uint8)
    test = np.full((4, 28, 28), 2, np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", train, gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(6) % 10, gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", test, gz=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(4, 9), gz=False)
    x, y = load_mnist_folder(tmp_path)
    assert x.shape == (10, 28, 28) and y.shape == (10,)
    assert sorted(np.unique(x[:, 0, 0])) == [1, 2]
    assert sorted(y.tolist()) == sorted([0, 1, 2, 3, 4, 5, 9, 9, 9, 9])


def test_load_folder_faults(tmp_path):
    with pytest.raises(DataError, match="no MNIST IDX files"):
        load_mnist_folder(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        load_mnist_folder(tmp_path / "missing")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 28, 28)), gz=False)
    with pytest.raises(DataError, match="labels file is missing"):
        load_mnist_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5), gz=False)
    with pytest.raises(DataError, match="do not match"):
        load_mnist_folder(tmp_path)


def test_split_is_fixed_disjoint_and_complete():
    s = split_indices(1003)
    all_idx = np.concatenate([s["train"], s["val"], s["test"]])
    assert sorted(all_idx.tolist()) == list(range(1003))
    assert np.all(s["test"] % 5 == 4)
    assert np.all(s["val"] % 10 == 3)
    assert len(s["test"]) == 200 and len(s["val"]) == 100
    assert not set(s["train"]) & (set(s["test"]) | set(s["val"]))
    np.testing.assert_array_equal(split_indices(1003)["test"], s["test"])


# --- layers -------------------------------------------------------------------------------


def test_default_layers_name_blocks_not_norms(resnet18_model, mobilenet_model, digits_model):
    names = default_layers(resnet18_model.module)
    assert names == [
        "conv1",
        "maxpool",
        "layer1.0",
        "layer1.1",
        "layer2.0",
        "layer2.1",
        "layer3.0",
        "layer3.1",
        "layer4.0",
        "layer4.1",
        "avgpool",
        "fc",
    ]
    assert resnet18_model.display_layers == names
    mb = default_layers(mobilenet_model.module)
    assert mb[0] == "features.0" and mb[-1] == "classifier.3"  # Conv2dNormActivation: one block
    modules = dict(mobilenet_model.module.named_modules())
    assert not any(
        isinstance(modules[n], (torch.nn.BatchNorm2d, torch.nn.Hardswish, torch.nn.Dropout))
        for n in mb
    )
    assert default_layers(digits_model.module) == digits_model.display_layers


def test_last_conv_layer(resnet18_model, mobilenet_model, digits_model):
    assert last_conv_layer(resnet18_model.module) == "layer4.1.conv2"
    assert last_conv_layer(mobilenet_model.module) == "features.12.0"
    assert last_conv_layer(digits_model.module) == "relu3"  # SmallCNN names its own
    assert last_conv_layer(torch.nn.Sequential(torch.nn.Linear(3, 2))) is None


def test_layer_table_digits(digits_model, hooks_left):
    rows = layer_table(digits_model.module, (1, 28, 28))
    assert hooks_left(digits_model.module) == []
    table = {r["name"]: (r["type"], r["shape"]) for r in rows}
    assert [r["name"] for r in rows] == [
        "conv1",
        "relu1",
        "pool1",
        "conv2",
        "relu2",
        "pool2",
        "conv3",
        "relu3",
        "pool3",
        "flatten",
        "fc1",
        "fc1_act",
        "dropout",
        "fc2",
    ]
    assert table["conv1"] == ("Conv2d", [8, 28, 28])
    assert table["pool1"] == ("MaxPool2d", [8, 14, 14])
    assert table["conv3"] == ("Conv2d", [32, 7, 7])
    assert table["flatten"] == ("Flatten", [288])
    assert table["fc1"] == ("Linear", [64])
    assert table["fc2"] == ("Linear", [10])


def test_layer_table_resnet(resnet18_model, hooks_left):
    rows = layer_table(resnet18_model.module, (3, 224, 224))
    assert hooks_left(resnet18_model.module) == []
    table = {r["name"]: r["shape"] for r in rows}
    assert table["conv1"] == [64, 112, 112]
    assert table["layer1.0"] == [64, 56, 56]
    assert table["layer4"] == [512, 7, 7]
    assert table["avgpool"] == [512, 1, 1]
    assert table["fc"] == [1000]
    assert len(rows) == len([n for n, _ in resnet18_model.module.named_modules() if n])
