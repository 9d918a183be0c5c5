"""A head that reads the input's size (bs = x.size(0) ... view(bs, -1)) is traced for
one input shape, equals the eager model, and is traced anew for a new shape."""

from __future__ import annotations

import torch
from torch import nn

from cnn_viewer.core.engine.traced import SHAPES_KEPT, trace_network
from cnn_viewer.core.explain.saliency import reference_gradcam
from cnn_viewer.models.zoo.loaded import freeze


class SizeHead(nn.Module):
    def __init__(self, shape_style: bool = False) -> None:
        super().__init__()
        self.shape_style = shape_style
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        bs = x.shape[0] if self.shape_style else x.size(0)
        y = self.pool(torch.relu(self.conv2(torch.relu(self.conv1(x)))))
        return self.fc(y.view(bs, -1))


def _assert_equal_to_eager(net, model, x):
    got = net.run(x)
    torch.testing.assert_close(got.logits, model(x), rtol=1e-4, atol=1e-5)
    for target in range(4):
        ref = reference_gradcam(model, x, "conv2", target)
        torch.testing.assert_close(net.cam(x, got.outputs["conv2"], target), ref,
                                   rtol=1e-4, atol=1e-6)  # fmt: skip


def test_a_size_reading_head_is_traced_and_retraced_per_shape():
    torch.manual_seed(0)
    for style in (False, True):
        model = freeze(SizeHead(style).eval())
        x = torch.randn(1, 3, 16, 16)
        net = trace_network(model, x, ["conv1", "conv2"], "conv2", model.fc)
        assert net.last_weight is model.fc.weight
        _assert_equal_to_eager(net, model, torch.randn(1, 3, 16, 16))
        assert net.shapes == [(1, 3, 16, 16)]
        _assert_equal_to_eager(net, model, torch.randn(1, 3, 24, 20))  # a new frame size
        assert net.shapes == [(1, 3, 16, 16), (1, 3, 24, 20)]
        for size in (8, 12, 28):
            net.run(torch.randn(1, 3, size, size))
        assert len(net.shapes) == SHAPES_KEPT and net.shapes[-1] == (1, 3, 28, 28)
