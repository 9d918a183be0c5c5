"""Default layers are the blocks a person would name, for torchvision, timm and a user's
model with padding wrappers; --layers names are checked against the model."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from cnn_viewer.models.zoo.layer_choice import check_layer_names, shown_and_cam, survey

PASS_THROUGH = (nn.Identity, nn.Dropout, nn.Flatten, nn.ZeroPad2d, nn.ConstantPad2d)


def assert_block_rows(module: nn.Module, rows: list[str], shape) -> None:
    modules = dict(module.named_modules())
    assert 10 <= len(rows) <= 30, rows
    assert not [n for n in rows if isinstance(modules[n], PASS_THROUGH)]
    assert not [n for n in rows if "padding" in n]
    seen = survey(module, shape)
    assert seen is not None
    orders = [seen[n].order for n in rows]
    assert orders == sorted(orders)  # forward order
    free = [n for n in rows if next(modules[n].parameters(), None) is None]
    assert not [n for n in free if seen[n].passthrough]  # Identity-like, whatever the class


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "vgg11"])
def test_torchvision_default_layers_are_blocks(name):
    module = torchvision.models.get_model(name, weights=None).eval()
    rows, cam = shown_and_cam(module, (3, 96, 96))
    assert_block_rows(module, rows, (3, 96, 96))
    assert cam in rows


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv3_small_100", "efficientnet_lite0"])
def test_timm_default_layers_are_blocks(name):
    timm = pytest.importorskip("timm")
    module = timm.create_model(name, pretrained=False).eval()
    rows, _ = shown_and_cam(module, (3, 96, 96))
    assert_block_rows(module, rows, (3, 96, 96))
    if name == "resnet18":  # zero-initialised last BN: blocks with weights stay rows
        assert [r for r in rows if r.startswith("layer")] == [
            f"layer{i}.{j}" for i in range(1, 5) for j in range(2)
        ]


class PassOn(nn.Module):
    """A package's own Identity (not nn.Identity)."""

    def forward(self, x):
        return x


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class SamePadConv(nn.Conv2d):
    """Like efficientnet-lite-pytorch's Conv2dStaticSamePadding: a padding child."""

    def __init__(self, cin, cout, k, stride=1):
        super().__init__(cin, cout, k, stride=stride, bias=False)
        p = max(k - stride, 0)
        self.static_padding = nn.ZeroPad2d((p // 2, p - p // 2) * 2) if p else PassOn()

    def forward(self, x):
        return super().forward(self.static_padding(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self._expand = SamePadConv(c, 2 * c, 1)
        self._bn0 = nn.BatchNorm2d(2 * c)
        self._depthwise = SamePadConv(2 * c, c, 3)
        self._swish = Swish()

    def forward(self, x):
        return x + self._depthwise(self._swish(self._bn0(self._expand(x))))


class PaddedNet(nn.Module):
    def __init__(self, blocks=12):
        super().__init__()
        self._conv_stem = SamePadConv(3, 8, 3, 2)
        self._blocks = nn.ModuleList(Block(8) for _ in range(blocks))
        self._conv_head = SamePadConv(8, 16, 1)
        self._pool = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(16, 5)
        self._swish = Swish()

    def forward(self, x):
        bs = x.size(0)
        x = self._swish(self._conv_stem(x))
        for block in self._blocks:
            x = block(x)
        x = self._pool(self._swish(self._conv_head(x))).view(bs, -1)
        return self._fc(self._dropout(x))


def test_padding_wrappers_give_block_rows():
    module = PaddedNet().eval()
    rows, cam = shown_and_cam(module, (3, 32, 32))
    blocks = [f"_blocks.{i}" for i in range(12)]
    assert rows == ["_conv_stem", *blocks, "_conv_head", "_pool", "_fc"]
    assert cam == "_conv_head"
    assert_block_rows(module, rows, (3, 32, 32))


def test_layer_names_are_checked_with_close_names():
    module = PaddedNet(2)
    assert check_layer_names(module, ["_blocks.1", "_fc"]) == ["_blocks.1", "_fc"]
    with pytest.raises(ValueError, match=r"'_block\.1' \(close names: _blocks\.1") as err:
        check_layer_names(module, ["_block.1", "_fc"])
    assert "cnn-viewer layers" in str(err.value)
    with pytest.raises(ValueError, match="'zzz' \\(no close name\\)"):
        check_layer_names(module, ["zzz"])
