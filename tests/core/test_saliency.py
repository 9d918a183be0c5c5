"""Fast Grad-CAM (graph cut at the target layer) equals the full-backward reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.engine.engine import Engine
from cnn_viewer.core.explain.saliency import cam_from, fast_gradcam, finish_cam, reference_gradcam
from cnn_viewer.core.hooks.recorder import ActivationRecorder
from cnn_viewer.models.data.drawing import center_digit
from cnn_viewer.models.zoo.layer_choice import last_conv_layer

ATOL = 1e-5
pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: one thread is fastest


def fast_cam(module: nn.Module, x: torch.Tensor, layer: str, target: int | None = None):
    """The live path: forward under the recorder's cut, then fast_gradcam (top-1 by default)."""
    rec = ActivationRecorder(module, [], layer)
    with rec, torch.enable_grad():
        logits = module(x)
    if target is None:
        target = int(logits.argmax())
    return fast_gradcam(logits, rec.cam_activation, target), target


def check_equal(fast: torch.Tensor, ref: torch.Tensor, size_hw: tuple[int, int]) -> None:
    assert fast.shape == ref.shape
    assert float(ref.max()) > 0, "the reference cam is all zero: the comparison would say nothing"
    torch.testing.assert_close(fast, ref, rtol=0, atol=ATOL)
    f_fast, f_ref = finish_cam(fast, size_hw), finish_cam(ref, size_hw)
    assert f_fast.shape == size_hw
    assert float(f_ref.max()) == pytest.approx(1.0) and float(f_ref.min()) >= 0
    np.testing.assert_allclose(f_fast, f_ref, rtol=0, atol=ATOL)


def test_fast_gradcam_equals_reference_on_the_digit_cnn(digits_model, digit_drawer, hooks_left):
    image = center_digit(digit_drawer("7", (120, 100), (20, 15, 80)))
    x = digits_model.preprocess(image)
    layer = digits_model.cam_layer
    assert layer == "relu3"
    fast, top = fast_cam(digits_model.module, x, layer)
    assert top == 7
    ref = reference_gradcam(digits_model.module, x, layer, top)
    assert fast.shape == (7, 7)
    check_equal(fast, ref, (28, 28))
    for other in (1, 4):  # a class that is not the winner works the same way
        fast_o, _ = fast_cam(digits_model.module, x, layer, other)
        ref_o = reference_gradcam(digits_model.module, x, layer, other)
        torch.testing.assert_close(fast_o, ref_o, rtol=0, atol=ATOL)
    assert hooks_left(digits_model.module) == []
    assert all(not p.requires_grad and p.grad is None for p in digits_model.module.parameters())


@pytest.mark.parametrize("target", ["model", "last_conv"])
@pytest.mark.parametrize("fixture", ["resnet18_model", "mobilenet_model"])
def test_fast_gradcam_equals_reference_on_torchvision(fixture, target, request, hooks_left):
    """Both the model's default target (the last block's output) and the raw last conv."""
    loaded = request.getfixturevalue(fixture)
    layer = loaded.cam_layer if target == "model" else last_conv_layer(loaded.module)
    assert layer in dict(loaded.module.named_modules())
    torch.manual_seed(3)
    x = torch.randn(1, 3, 96, 96)
    fast, top = fast_cam(loaded.module, x, layer)
    ref = reference_gradcam(loaded.module, x, layer, top)
    assert fast.shape == (3, 3)
    check_equal(fast, ref, (96, 96))
    assert hooks_left(loaded.module) == []
    assert all(not p.requires_grad and p.grad is None for p in loaded.module.parameters())


def test_cam_on_a_conv_followed_by_inplace_relu(hooks_left):
    """Target layer whose output an in-place ReLU overwrites (as in VGG or SqueezeNet)."""
    torch.manual_seed(4)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(8, 4, 3),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.randn(1, 3, 12, 12)
    layer = last_conv_layer(net)
    assert layer == "4"
    # Hand-written Grad-CAM with no hooks at all: run the two halves separately.
    with torch.enable_grad():
        act = net[:5](x).detach().requires_grad_(True)
        logits = net[5:](act.clone())
        assert act.min() < 0  # the ReLU would have changed it
        (grad,) = torch.autograd.grad(logits[0, 2], act)
    manual = cam_from(act.detach(), grad)
    fast, _ = fast_cam(net, x, layer, 2)
    ref = reference_gradcam(net, x, layer, 2)
    assert hooks_left(net) == []
    torch.testing.assert_close(fast, manual, rtol=0, atol=1e-6)
    check_equal(fast, ref, (12, 12))


def test_finish_cam_scales_to_unit_peak_and_handles_zero():
    cam = torch.tensor([[0.0, 2.0], [1.0, 4.0]])
    out = finish_cam(cam, (2, 2))
    np.testing.assert_allclose(out, (cam / 4).numpy())
    big = finish_cam(cam, (8, 6))
    assert big.shape == (8, 6) and float(big.max()) == pytest.approx(1.0)
    zero = finish_cam(torch.zeros(3, 3), (5, 5))
    assert zero.shape == (5, 5) and not zero.any()
    # Bilinear with half-pixel centres, as torch's interpolate(align_corners=False).
    ref = torch.nn.functional.interpolate(cam[None, None], (8, 6), mode="bilinear")[0, 0]
    np.testing.assert_allclose(big, (ref / ref.max()).numpy(), atol=1e-5)


def test_engine_saliency_equals_reference_for_top1(digits_model, digit_drawer):
    engine = Engine(digits_model, saliency="gradcam", drawing=True)
    image = digit_drawer("7", (200, 160), (40, 30, 130), dark_on_light=True)
    result = engine.process(Frame(1, 0.0, np.dstack([image] * 3), "test"))
    assert result.error is None and not result.empty
    top = result.top[0][0]
    assert top == 7
    x = digits_model.preprocess.to_tensor(result.network_image)
    expected = finish_cam(
        reference_gradcam(digits_model.module, x, digits_model.cam_layer, top),
        digits_model.input_size,
    )
    assert result.saliency.shape == (28, 28) and result.saliency.dtype == np.float32
    assert result.saliency.max() == pytest.approx(1.0)
    np.testing.assert_allclose(result.saliency, expected, rtol=0, atol=ATOL)


def test_engine_saliency_equals_reference_on_resnet18(resnet18_model):
    engine = Engine(resnet18_model, saliency="gradcam", top_k=3)
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (150, 200, 3), dtype=np.uint8)
    result = engine.process(Frame(2, 0.0, image, "test"))
    assert result.error is None
    assert result.network_image.shape == (224, 224, 3)
    top = result.top[0][0]
    x = resnet18_model.preprocess(image)
    with torch.inference_mode():
        assert int(resnet18_model.module(x).argmax()) == top
    expected = finish_cam(
        reference_gradcam(resnet18_model.module, x, resnet18_model.cam_layer, top), (224, 224)
    )
    assert expected.max() == pytest.approx(1.0)
    np.testing.assert_allclose(result.saliency, expected, rtol=0, atol=ATOL)
