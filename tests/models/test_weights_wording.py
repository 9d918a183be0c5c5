"""Pretrained weights that cannot be had read the same wherever they fail, and torch's
download line goes to stderr (stdout carries results only, e.g. predict --json)."""

from __future__ import annotations

import urllib.error

import pytest
import torch
import torchvision

from cnn_viewer.models.zoo.loaded import OFFLINE_CHOICES, WeightsUnavailable
from cnn_viewer.models.zoo.torchvision_zoo import load_torchvision
from cnn_viewer.models.zoo.weights_download import fetch

WORDING = "are not cached and cannot be downloaded"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


def test_our_download_and_torchvision_s_say_the_same(empty_cache, monkeypatch):
    # file:// to a missing file fails like a missing network, without one.
    with pytest.raises(WeightsUnavailable) as ours:
        fetch((empty_cache / "squeezenet1_1-b8a52dc0.pth").as_uri())

    def no_network(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("no network here")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(WeightsUnavailable) as theirs:
        load_torchvision("squeezenet1_1", "default")
    for exc, what in ((ours.value, "squeezenet1_1-b8a52dc0.pth"), (theirs.value, "squeezenet1_1")):
        message = str(exc)
        assert message.startswith(f"pretrained weights for {what} {WORDING} (")
        assert message.endswith(OFFLINE_CHOICES)
        assert exc.headline == message.split(". Without a network")[0]
    assert "no network here" in str(theirs.value)


def test_torch_s_downloading_line_goes_to_stderr(empty_cache, monkeypatch, capfd):
    def local_copy(url, dst, hash_prefix=None, progress=True):
        # the network's part, done locally: a real state_dict of the same architecture
        torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", local_copy)
    model = load_torchvision("squeezenet1_1", "default")
    assert len(model.labels) == 1000 and model.labels[0] == "tench"
    out, err = capfd.readouterr()
    assert "Downloading" not in out
    assert 'Downloading: "https://download.pytorch.org/models/squeezenet1_1' in err
    load_torchvision("squeezenet1_1", "default")  # now cached: no download, no line
    out, err = capfd.readouterr()
    assert "Downloading" not in out + err
