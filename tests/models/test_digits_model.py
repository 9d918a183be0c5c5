"""The shipped digit CNN: the scripting API, and accuracy on MNIST digits it never saw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnn_viewer.models.data.mnist import MNIST_MEAN, MNIST_STD, split_indices
from cnn_viewer.models.zoo.digits import DIGITS_CHECKPOINT


def test_api(digits_model):
    assert digits_model.name == "digits"
    assert not digits_model.module.training
    assert all(not p.requires_grad for p in digits_model.module.parameters())
    assert digits_model.labels == [str(i) for i in range(10)]
    assert all(isinstance(label, str) for label in digits_model.labels)
    assert digits_model.input_size == (28, 28) and digits_model.channels == 1
    assert digits_model.is_digits
    assert digits_model.display_layers == [
        "conv1",
        "relu1",
        "pool1",
        "conv2",
        "relu2",
        "pool2",
        "conv3",
        "relu3",
        "pool3",
        "fc1",
        "fc2",
    ]
    assert digits_model.cam_layer == "relu3"
    assert str(DIGITS_CHECKPOINT) == digits_model.source


@pytest.mark.parametrize(
    "shape", [(37, 53, 3), (41, 29), (5, 301), (28, 28), (101, 77, 1), (64, 48, 4)]
)
def test_preprocess_any_image_to_1x1x28x28(digits_model, shape):
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    x = digits_model.preprocess(image)
    assert isinstance(x, torch.Tensor)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    lo, hi = (0 - MNIST_MEAN) / MNIST_STD, (1 - MNIST_MEAN) / MNIST_STD
    assert float(x.min()) >= lo - 1e-6 and float(x.max()) <= hi + 1e-6
    with torch.inference_mode():
        assert digits_model.module(x).shape == (1, 10)


def test_preprocess_values(digits_model):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    expected = (gray.astype(np.float32) / 255 - MNIST_MEAN) / MNIST_STD
    tensor = digits_model.preprocess.to_tensor(gray)  # the normalisation of a network image
    np.testing.assert_allclose(tensor[0, 0].numpy(), expected, atol=1e-6)
    # The same picture as RGB gives the same tensor (through the digit centring too).
    rgb = np.dstack([gray] * 3)
    torch.testing.assert_close(digits_model.preprocess(rgb), digits_model.preprocess(gray))


def test_predict_top_k(digits_model, digit_drawer):
    from cnn_viewer.models.data.drawing import NoInk, center_digit

    seven = digit_drawer("7", (90, 90), (10, 10, 70))
    top = digits_model.predict(seven, k=3)
    # the model's own preprocess centres the digit: the same answer as centring first
    assert top == digits_model.predict(center_digit(seven), k=3)
    assert len(top) == 3 and top[0][:2] == (7, "7")
    probs = [p for _, _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert len(digits_model.predict(seven, k=50)) == 10
    with pytest.raises(NoInk, match="no ink found"):
        digits_model.predict(np.zeros((28, 28), np.uint8))


def test_accuracy_on_held_out_mnist(digits_model, mnist_data):
    images, labels = mnist_data
    test = split_indices(len(images))["test"]
    assert len(test) == len(images) // 5 and np.all(test % 5 == 4)
    x = torch.cat([digits_model.preprocess.to_tensor(img) for img in images[test]])
    assert x.shape == (len(test), 1, 28, 28)
    with torch.inference_mode():
        pred = torch.cat(
            [digits_model.module(x[i : i + 500]).argmax(1) for i in range(0, len(x), 500)]
        ).numpy()
    accuracy = float((pred == labels[test]).mean())
    assert accuracy >= 0.98, f"held-out accuracy {accuracy:.4f} on {len(test)} MNIST digits"


def test_random_weights_model_has_the_same_shape(digits_model):
    from cnn_viewer.models import load_model

    rand = load_model("digits", weights="none")
    assert rand.labels == digits_model.labels and rand.input_size == (28, 28)
    assert [n for n, _ in rand.module.named_parameters()] == [
        n for n, _ in digits_model.module.named_parameters()
    ]
    assert rand.notes and "random" in rand.notes[0]
