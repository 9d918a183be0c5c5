"""The guided walk's numbers equal torch's own, stage by stage, on real networks: the
digit CNN (every stage) and torchvision resnet18 / mobilenet_v3_small with weights=None
(at 64 x 64, to keep the tests quick)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnn_viewer.core.explain.inspect import network_map
from cnn_viewer.core.explain.walk import SOFTMAX, explain, record, stages
from cnn_viewer.models import load_model
from cnn_viewer.models.private_copy import private_copy


def outputs_by_call(module: nn.Module, x: torch.Tensor) -> dict[int, list[np.ndarray]]:
    """Every output of every leaf module for ``x``, by our own plain forward hooks, keyed
    by id(module), in call order (a module called twice, like resnet's relu, has two)."""
    seen: dict[int, list[np.ndarray]] = {}
    handles = []

    def keep(m, _args, out) -> None:
        seen.setdefault(id(m), []).append(out.detach()[0].float().clone().numpy())

    for name, m in module.named_modules():
        if name and not list(m.children()):
            handles.append(m.register_forward_hook(keep))
    try:
        with torch.no_grad():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return seen


def reference(module: nn.Module, x: torch.Tensor):
    """(the copy, every leaf output by call, probabilities) from an untouched copy."""
    twin = private_copy(module)
    by_call = outputs_by_call(twin, x)
    with torch.no_grad():
        probs = torch.softmax(twin(x)[0].float(), 0).numpy()
    return twin, by_call, probs


def expected_output(all_stages, i, module_of, by_call) -> np.ndarray:
    st = all_stages[i]
    nth = sum(1 for s in all_stages[:i] if s.module is st.module)
    return by_call[id(module_of[st.name])][nth]


def check_stage(step, want: np.ndarray, probs: np.ndarray) -> str:
    """Assert that what the walk shows for one stage equals torch's output; the kind."""
    kind, pos = step.stage.kind, step.position
    tol = dict(rtol=1e-4, atol=1e-4)
    if kind == "softmax":
        j = pos[0]
        assert j == int(np.argmax(probs))  # the walk explains the top class
        np.testing.assert_allclose(step.softmax.probs[j], probs[j], **tol)
        np.testing.assert_allclose(step.softmax.probs, probs, **tol)
        return kind
    assert pos == tuple(np.unravel_index(int(np.argmax(want)), want.shape))  # the largest
    np.testing.assert_allclose(step.torch_value, want[pos], **tol)
    if kind == "conv":
        a = step.conv
        # patch x kernel, summed over the patch and the input channels, plus the bias
        shown = float((a.patch * a.kernel).sum(dtype=np.float64)) + a.bias
        np.testing.assert_allclose(shown, want[pos], **tol)
        np.testing.assert_allclose(a.pre_activation, want[pos], **tol)
        np.testing.assert_allclose(step.channel_sums.sum(), want[pos] - a.bias, **tol)
    elif kind in ("pool", "adaptive_pool"):
        shown = step.window.max() if step.reduce == "max" else step.window.mean()
        np.testing.assert_allclose(shown, want[pos], **tol)
    elif kind == "linear":
        p = step.parts
        np.testing.assert_allclose(p.total, want[pos], **tol)
        listed = sum(t.product for t in p.top)
        np.testing.assert_allclose(listed + step.rest + p.bias, want[pos], **tol)
    elif kind == "relu":
        np.testing.assert_allclose(max(step.before, 0.0), want[pos], **tol)
        if step.most_negative is not None:
            where, value = step.most_negative
            assert value < 0 and want[where] == 0  # a negative that became 0
    elif kind == "batchnorm":
        mean, var, eps, gamma, beta = step.norm
        shown = (step.before - mean) / np.sqrt(var + eps) * gamma + beta
        np.testing.assert_allclose(shown, want[pos], **tol)
    elif kind == "flatten":
        np.testing.assert_allclose(step.before, want[pos], **tol)
    return kind


def walk_all(model, x: torch.Tensor, only=None) -> list[str]:
    twin, by_call, probs = reference(model.module, x)
    walker = private_copy(model.module)
    net_map = network_map(model, walker)
    all_stages = stages(net_map)
    module_of = dict(twin.named_modules())
    done = []
    for i, st in enumerate(all_stages):
        if only is not None and not only(i, st):
            continue
        step = explain(record(net_map, st, x), net_map)
        if st.index == SOFTMAX:
            want = probs
        else:
            want = expected_output(all_stages, i, module_of, by_call)
        check_stage(step, want, probs)
        done.append(step)
    return done


def kinds_of(steps) -> list[str]:
    return [s.stage.kind for s in steps]


def test_every_stage_of_the_digit_cnn_equals_torch():
    model = load_model("digits")
    torch.manual_seed(0)
    x = torch.rand(1, 1, 28, 28) * 3 - 0.5
    steps = walk_all(model, x)
    assert not any(s.combined for s in steps)  # nothing happens between its modules
    conv1, pool1 = steps[0], steps[2]
    k, pad = model.module.conv1.kernel_size[0], model.module.conv1.padding[0]
    _c, y, x0 = conv1.position
    assert conv1.box == (max(0, y - pad), max(0, x0 - pad), min(28, y - pad + k),
                         min(28, x0 - pad + k))  # fmt: skip # the input pixels under its kernel
    _c, py, px = pool1.position  # its 2x2 window of conv1 values, each with its own field
    assert pool1.box == (max(0, 2 * py - pad), max(0, 2 * px - pad),
                         min(28, 2 * py - pad + k + 1), min(28, 2 * px - pad + k + 1))  # fmt: skip
    assert steps[-1].box is None and steps[10].box is None  # softmax, fc1: the whole input
    assert kinds_of(steps) == [
        "conv", "relu", "pool", "conv", "relu", "pool", "conv", "relu", "pool",
        "flatten", "linear", "relu", "passthrough", "linear", "softmax",
    ]  # fmt: skip


def test_the_stages_follow_the_input():
    """Two inputs, two sets of numbers: nothing is cached between passes."""
    model = load_model("digits")
    net_map = network_map(model, private_copy(model.module))
    conv = stages(net_map)[0]
    torch.manual_seed(1)
    a, b = torch.rand(1, 1, 28, 28), torch.rand(1, 1, 28, 28) * 2
    first = explain(record(net_map, conv, a), net_map)
    second = explain(record(net_map, conv, b), net_map)
    assert first.torch_value != second.torch_value
    twin, by_call, _ = reference(model.module, b)
    want = by_call[id(dict(twin.named_modules())["conv1"])][0]
    np.testing.assert_allclose(second.conv.pre_activation, want.max(), rtol=1e-4, atol=1e-4)


def test_resnet18_stages_equal_torch():
    model = load_model("resnet18", weights="none", input_size=(64, 64))
    torch.manual_seed(2)
    x = torch.randn(1, 3, *model.input_size)
    # the stem, a downsampling block (its relu is called twice: the second call), the head
    wanted = ("conv1", "bn1", "relu", "maxpool", "layer2.0.downsample.0", "layer2.0.relu",
              "avgpool", "fc", "softmax")  # fmt: skip
    steps = walk_all(model, x, only=lambda _i, st: st.name in wanted)
    relus = [s for s in steps if s.stage.name == "layer2.0.relu"]
    # its first call reads bn1's output as it is; the second, bn2's plus the block's input
    assert [s.combined for s in relus] == [False, True]
    downsample = next(s for s in steps if s.stage.name == "layer2.0.downsample.0")
    assert downsample.stage.branch and downsample.stage.source == "layer1.1.relu"
    assert set(kinds_of(steps)) == {"conv", "batchnorm", "relu", "pool", "adaptive_pool", "linear",
                          "softmax"}  # fmt: skip


@pytest.mark.parametrize("name", ["mobilenet_v3_small"])
def test_mobilenet_depthwise_and_squeeze_stages_equal_torch(name):
    model = load_model(name, weights="none", input_size=(64, 64))
    torch.manual_seed(3)
    x = torch.randn(1, 3, *model.input_size)

    def grouped(_i, st) -> bool:  # early depthwise convs and squeeze-excite parts, the head
        early = st.index < 14 and (
            (isinstance(st.module, nn.Conv2d) and st.module.groups > 1)
            or st.kind in ("adaptive_pool", "activation")
        )
        return early or st.kind in ("linear", "softmax")

    kinds = kinds_of(walk_all(model, x, only=grouped))
    assert "conv" in kinds and "adaptive_pool" in kinds and kinds[-1] == "softmax"
