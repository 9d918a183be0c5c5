"""The saliency suite against captum (and, where it is ours, against plain autograd), the
sanity check of Adebayo et al. (2018), progress, cancel and hook hygiene."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    IntegratedGradients,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)

from cnn_viewer.core.explain.attribution import (
    METHODS,
    attribute,
    baseline_for,
    occlusion_window,
    rank_correlation,
    resize_map,
)
from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.models.data.drawing import center_digit
from cnn_viewer.models.private_copy import private_copy

ATOL = 1e-5
# captum notes that it sets requires_grad and adds ReLU hooks; expected here.
# Small tensors: one torch thread (on a busy 2-core machine two threads make the many tiny
# passes of occlusion and the gradient methods 10-40 times slower).
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.usefixtures("one_thread"),
]


@pytest.fixture(scope="module")
def digit(digits_model, digit_drawer):
    """(copy of the digit CNN, input of a drawn 7, its baseline, the CAM layer)."""
    x = digits_model.preprocess(center_digit(digit_drawer("7", (120, 100), (20, 15, 80))))
    return private_copy(digits_model.module), x, baseline_for(digits_model), digits_model.cam_layer


def layer_of(module, name):
    return dict(module.named_modules())[name]


def max_abs(a: torch.Tensor) -> np.ndarray:
    return a.detach()[0].abs().amax(0).numpy()


def test_gradcam_fast_path_equals_captum_layer_gradcam(digit):
    module, x, _, layer = digit
    for target in (7, 1):
        ours = attribute(module, x, "gradcam", target, layer)
        theirs = LayerGradCam(module, layer_of(module, layer)).attribute(
            x, target=target, relu_attributions=True
        )
        expected = resize_map(theirs.detach()[0, 0].numpy(), (28, 28))
        assert expected.max() > 0
        np.testing.assert_allclose(ours.raw, expected, atol=ATOL)


def test_gradcam_on_resnet18_equals_captum():
    torch.manual_seed(0)
    module = private_copy(torchvision.models.resnet18(weights=None))
    x = torch.randn(1, 3, 64, 64)
    ours = attribute(module, x, "gradcam", 3, "layer3")
    theirs = LayerGradCam(module, module.layer3).attribute(x, target=3, relu_attributions=True)
    expected = resize_map(theirs.detach()[0, 0].numpy(), (64, 64))
    assert expected.max() > 0
    np.testing.assert_allclose(ours.raw, expected, rtol=1e-4, atol=1e-6)


def test_input_gradient_equals_plain_autograd_and_captum(digit):
    module, x, _, _ = digit
    ours = attribute(module, x, "gradient", 7).raw
    xg = x.clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(module(xg)[0, 7], xg)
    np.testing.assert_allclose(ours, grad[0].abs().amax(0).numpy(), atol=ATOL)
    np.testing.assert_allclose(ours, max_abs(Saliency(module).attribute(x, target=7)), atol=ATOL)


def test_guided_backprop_and_deconvnet_equal_captum_on_the_in_place_original(digits_model, digit):
    """Ours run on a copy with in-place ReLUs off; captum here on the shipped module, whose
    ReLUs are in place: the maps agree, and differ from the plain gradient."""
    module, x, _, _ = digit
    original = digits_model.module
    assert any(getattr(m, "inplace", False) for m in original.modules())
    for method, cls in (("guided_backprop", GuidedBackprop), ("deconvnet", Deconvolution)):
        ours = attribute(module, x, method, 7).raw
        theirs = max_abs(cls(original).attribute(x.clone(), target=7))
        np.testing.assert_allclose(ours, theirs, atol=ATOL)
        assert not np.allclose(ours, attribute(module, x, "gradient", 7).raw, atol=1e-3)


def test_guided_gradcam_equals_captum(digit):
    module, x, _, layer = digit
    ours = attribute(module, x, "guided_gradcam", 7, layer).raw
    theirs = GuidedGradCam(module, layer_of(module, layer)).attribute(
        x, target=7, interpolate_mode="bilinear"
    )
    assert ours.max() > 0
    np.testing.assert_allclose(ours, max_abs(theirs), atol=ATOL)


def test_smoothgrad_equals_captum_with_the_same_noise(digit):
    module, x, _, _ = digit
    torch.manual_seed(1)
    ours = attribute(module, x, "smoothgrad", 7).raw
    torch.manual_seed(1)
    theirs = NoiseTunnel(Saliency(module)).attribute(
        x, nt_type="smoothgrad", nt_samples=16, nt_samples_batch_size=8,
        stdevs=0.15 * float(x.max() - x.min()), target=7, abs=True,
    )  # fmt: skip
    np.testing.assert_allclose(ours, max_abs(theirs), atol=ATOL)
    assert not np.allclose(ours, attribute(module, x, "gradient", 7).raw, atol=1e-3)


def test_integrated_gradients_equal_captum_and_add_up_to_the_score_change(digit):
    module, x, base, _ = digit
    result = attribute(module, x, "integrated_gradients", 7, baseline=base)
    theirs = IntegratedGradients(module).attribute(
        x, baselines=base, target=7, n_steps=32, internal_batch_size=8
    )
    np.testing.assert_allclose(result.raw, theirs.detach()[0].sum(0).numpy(), atol=ATOL)
    with torch.no_grad():
        change = float(module(x)[0, 7] - module(base)[0, 7])
    # Completeness: the map sums to f(x) - f(baseline), up to the 32-step Riemann sum.
    assert float(result.raw.sum()) == pytest.approx(change, rel=0.05)


def test_occlusion_equals_captum_and_a_hand_made_occlusion(digit):
    module, x, base, _ = digit
    ours = attribute(module, x, "occlusion", 7, baseline=base).raw
    (wh, ww), stride = occlusion_window((28, 28))
    theirs = Occlusion(module).attribute(
        x,
        sliding_window_shapes=(1, wh, ww),
        strides=(1, *stride),
        baselines=base,
        target=7,
        perturbations_per_eval=64,  # batched: the same windows, fewer passes
    )
    np.testing.assert_allclose(ours, theirs.detach()[0].mean(0).numpy(), atol=ATOL)
    # The corner pixel lies under one window only: its value is that window's score drop.
    occluded = x.clone()
    occluded[..., :wh, :ww] = base[..., :wh, :ww]
    with torch.no_grad():
        drop = float(module(x)[0, 7] - module(occluded)[0, 7])
    assert float(ours[0, 0]) == pytest.approx(drop, abs=1e-4)


def test_sanity_check_randomised_weights_change_the_maps(digits_model, digit):
    """Adebayo et al. (2018): a map that survives randomising the weights explains the
    image, not the model. The trained model's map against itself (run again) correlates
    fully; against the randomised model's it must fall far below."""
    module, x, _, layer = digit
    random_net = private_copy(module)
    torch.manual_seed(0)
    for m in random_net.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    random_net.requires_grad_(False)
    for method in ("gradcam", "gradient"):
        trained = attribute(module, x, method, 7, layer).raw
        same = rank_correlation(trained, attribute(module, x, method, 7, layer).raw)
        randomised = attribute(random_net, x, method, 7, layer).raw
        assert randomised.std() > 0, "a constant map would make the check empty"
        after = rank_correlation(trained, randomised)
        assert same > 0.99, (method, same)
        assert after < 0.5, (method, same, after)


def test_rank_correlation():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert rank_correlation(a, a**3) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert rank_correlation(a, np.array([1.0, 1.0, 2.0, 2.0])) == pytest.approx(0.894427, abs=1e-5)


def test_progress_cancel_and_no_hooks_left(digit, hooks_left):
    module, x, base, layer = digit
    for method in METHODS:
        seen = []
        result = attribute(module, x, method, 7, layer, baseline=base, progress=seen.append)
        assert result.raw.shape == (28, 28) and result.seconds > 0 and result.passes >= 1
        assert seen == sorted(seen) and seen[-1] == 1.0
        assert hooks_left(module) == [], method
    stop = threading.Event()

    def cancel_midway(fraction):
        if fraction > 0.2:
            stop.set()

    with pytest.raises(Cancelled):
        attribute(module, x, "occlusion", 7, baseline=base, progress=cancel_midway, cancel=stop)
    assert hooks_left(module) == []


def test_bad_method_and_missing_layer_say_what_to_do(digit):
    module, x, _, _ = digit
    with pytest.raises(ValueError, match="choose one of"):
        attribute(module, x, "lime", 7)
    with pytest.raises(ValueError, match="needs a layer"):
        attribute(module, x, "gradcam", 7)


def test_maps_point_at_the_ink(digit):
    """On a drawn 7 every method puts more weight near the strokes than away from them:
    at least twice as much, except the raw-gradient family (gradient, SmoothGrad,
    deconvnet), whose maps are known to be noisy (Smilkov et al., 2017): 1.2 times."""
    module, x, base, layer = digit
    ink = F.max_pool2d((x > x.min() + 0.5).float(), 5, 1, 2)[0, 0].numpy() > 0
    for method in METHODS:
        shown = attribute(module, x, method, 7, layer, baseline=base).display()
        factor = 1.2 if method in ("gradient", "smoothgrad", "deconvnet") else 2.0
        assert shown[ink].mean() > factor * shown[~ink].mean(), method
