"""ActivationRecorder: recorded outputs equal a hook-free forward, and no hook is ever left."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnn_viewer.core.hooks.recorder import ActivationRecorder, LayerNotFound


def assert_same(actual: torch.Tensor, expected: torch.Tensor, name: str) -> None:
    assert actual.shape == expected.shape, name
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6, msg=lambda m: f"{name}: {m}")


def small_cnn_reference(module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run SmallCNN's children one by one, no hooks, each on its own copy of the input."""
    ref = {}
    h = x
    for name in [*module._block_names, "flatten", "fc1", "fc1_act", "dropout", "fc2"]:
        h = getattr(module, name)(h.clone())  # the clone keeps in-place ReLUs off ref[...]
        ref[name] = h.clone()
    return ref


def basic_block_reference(block, x: torch.Tensor, prefix: str, ref: dict) -> torch.Tensor:
    """torchvision BasicBlock written out with out-of-place ops."""
    out = block.conv1(x)
    ref[prefix + "conv1"] = out
    out = block.bn1(out)
    ref[prefix + "bn1"] = out
    out = F.relu(out)
    out = block.conv2(out)
    ref[prefix + "conv2"] = out
    out = block.bn2(out)
    ref[prefix + "bn2"] = out
    identity = x if block.downsample is None else block.downsample(x)
    if block.downsample is not None:
        ref[prefix + "downsample"] = identity
    out = F.relu(out + identity)
    ref[prefix.rstrip(".")] = out
    return out


def resnet_reference(net, x: torch.Tensor) -> dict[str, torch.Tensor]:
    ref = {}
    h = net.conv1(x)
    ref["conv1"] = h
    h = net.bn1(h)
    ref["bn1"] = h
    h = net.maxpool(F.relu(h))
    ref["maxpool"] = h
    for li in range(1, 5):
        layer = getattr(net, f"layer{li}")
        for bi, block in enumerate(layer):
            h = basic_block_reference(block, h, f"layer{li}.{bi}.", ref)
        ref[f"layer{li}"] = h
    h = net.avgpool(h)
    ref["avgpool"] = h
    ref["fc"] = net.fc(torch.flatten(h, 1))
    return ref


def test_small_cnn_records_equal_a_hook_free_forward(digits_model, hooks_left):
    module = digits_model.module
    torch.manual_seed(0)
    x = torch.randn(2, 1, 28, 28)
    layers = [*module._block_names, "flatten", "fc1", "fc1_act", "fc2"]
    with torch.inference_mode():
        ref = small_cnn_reference(module, x)
        plain = module(x)
        rec = ActivationRecorder(module, layers)
        with rec:
            logits = module(x)
    assert hooks_left(module) == []
    assert sorted(rec.outputs) == sorted(layers)
    for name in layers:
        assert_same(rec.outputs[name], ref[name], name)
    assert_same(logits, plain, "logits (hooks must not change the output)")
    assert_same(logits, ref["fc2"], "logits vs reference")
    # conv1..3 are each followed by nn.ReLU(inplace=True): what was recorded is the conv's own
    # output, negatives included, not what the ReLU later wrote into the same memory.
    for i in (1, 2, 3):
        conv, relu = rec.outputs[f"conv{i}"], rec.outputs[f"relu{i}"]
        assert conv.min() < 0, f"conv{i} lost its negative values"
        assert relu.min() >= 0
        torch.testing.assert_close(relu, conv.clamp_min(0), rtol=0, atol=0)
    assert rec.outputs["fc1"].min() < 0  # fc1_act is in-place too
    assert rec.outputs["conv1"].shape == (2, 8, 28, 28)
    assert rec.outputs["pool3"].shape == (2, 32, 3, 3)


def test_recorder_with_grad_and_cam_cut_records_the_same(digits_model, hooks_left):
    """With the Grad-CAM cut in place the outputs and logits are unchanged."""
    module = digits_model.module
    torch.manual_seed(1)
    x = torch.randn(1, 1, 28, 28)
    layers = digits_model.display_layers
    with torch.inference_mode():
        ref = small_cnn_reference(module, x)
    rec = ActivationRecorder(module, layers, cam_layer=digits_model.cam_layer)
    with rec, torch.enable_grad():
        logits = module(x)
    assert hooks_left(module) == []
    assert rec.cam_activation is not None and rec.cam_activation.requires_grad
    assert rec.cam_activation.is_leaf
    assert_same(rec.cam_activation.detach(), ref[digits_model.cam_layer], "cam activation")
    for name in layers:
        assert not rec.outputs[name].requires_grad, name
        assert_same(rec.outputs[name], ref[name], name)
    assert_same(logits.detach(), ref["fc2"], "logits")
    # Only the part after the cut is in the graph: the parameters are frozen.
    assert logits.requires_grad
    assert all(not p.requires_grad for p in module.parameters())


def test_resnet18_records_equal_out_of_place_reference(resnet18_model, hooks_left):
    net = resnet18_model.module
    torch.manual_seed(2)
    x = torch.randn(1, 3, 64, 64)
    layers = [
        "conv1",
        "bn1",
        "maxpool",
        "layer1.0.conv1",
        "layer1.0.bn1",
        "layer1.0.bn2",
        "layer1.0",
        "layer2.0.downsample",
        "layer2.0.bn1",
        "layer3",
        "layer4.1.bn2",
        "layer4",
        "avgpool",
        "fc",
    ]
    with torch.inference_mode():
        ref = resnet_reference(net, x)
        rec = ActivationRecorder(net, layers)
        with rec:
            logits = net(x)
    assert hooks_left(net) == []
    for name in layers:
        assert_same(rec.outputs[name], ref[name], name)
    assert_same(logits, ref["fc"], "logits")
    # bn1 (top level and in blocks) is followed by an in-place ReLU; bn2 by `out += identity`.
    assert rec.outputs["bn1"].min() < 0
    assert rec.outputs["layer1.0.bn1"].min() < 0
    assert rec.outputs["layer4.1.bn2"].min() < 0


def test_no_hook_left_after_an_exception_in_the_with_block(digits_model, hooks_left):
    module = digits_model.module
    rec = ActivationRecorder(module, digits_model.display_layers, digits_model.cam_layer)
    with pytest.raises(RuntimeError, match="stop here"):  # noqa: PT012 - the hooks are checked inside the with
        with rec:
            assert hooks_left(module) != []  # the hooks really were there
            module(torch.zeros(1, 1, 28, 28))
            raise RuntimeError("stop here")
    assert hooks_left(module) == []


def test_no_hook_left_after_a_forward_that_raises(digits_model, hooks_left):
    module = digits_model.module
    rec = ActivationRecorder(module, digits_model.display_layers, digits_model.cam_layer)
    with pytest.raises(RuntimeError):
        with rec, torch.inference_mode():
            module(torch.zeros(1, 3, 28, 28))  # three channels into a one-channel conv
    assert hooks_left(module) == []
    with pytest.raises(RuntimeError):
        with rec, torch.inference_mode():
            module(torch.zeros(1, 1, 40, 40))  # conv works, fc1 gets the wrong size
    assert hooks_left(module) == []
    assert "conv1" in rec.outputs and "fc1" not in rec.outputs
    # The same recorder still works afterwards, and starts each run empty.
    with rec, torch.inference_mode():
        module(torch.zeros(1, 1, 28, 28))
    assert hooks_left(module) == []
    assert sorted(rec.outputs) == sorted(digits_model.display_layers)


def test_no_hook_left_on_torchvision_models(resnet18_model, mobilenet_model, hooks_left):
    for loaded in (resnet18_model, mobilenet_model):
        module = loaded.module
        rec = ActivationRecorder(module, loaded.display_layers, loaded.cam_layer)
        with rec, torch.enable_grad():
            module(torch.zeros(1, 3, 64, 64))
        assert set(rec.outputs) == set(loaded.display_layers)
        assert hooks_left(module) == []
        with pytest.raises(RuntimeError):
            with rec:
                module(torch.zeros(1, 5, 64, 64))
        assert hooks_left(module) == []


def test_unknown_layer_is_named(digits_model, hooks_left):
    with pytest.raises(LayerNotFound) as info:
        ActivationRecorder(digits_model.module, ["conv1", "conv9"])
    assert "'conv9'" in str(info.value) and "'conv1'" not in str(info.value)
    with pytest.raises(LayerNotFound, match="nope"):
        ActivationRecorder(digits_model.module, ["conv1"], cam_layer="nope")
    assert hooks_left(digits_model.module) == []
