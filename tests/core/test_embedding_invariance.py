"""Embedding (PCA of the penultimate layer) and the invariance sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnn_viewer.core.sources.examples import draw_digit
from cnn_viewer.core.visualize.embedding import (
    FeatureReader,
    build_embedding,
    pca,
    penultimate_layer,
)
from cnn_viewer.core.visualize.invariance import TRANSFORMS, default_values, sweep, warp
from cnn_viewer.core.visualize.scan_data import DataReader, DataSpec, default_digits_folder
from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.models.data.drawing import center_digit


@pytest.fixture(scope="module")
def digits(digits_model):
    return digits_model


def test_penultimate_is_the_last_linear_input(digits):
    assert penultimate_layer(digits.module) == "fc2"
    reader = FeatureReader(digits)
    image = center_digit(draw_digit(4))
    feats, logits = reader.read(digits.preprocess(image))
    assert feats.shape == (1, 64)
    m = digits.module
    with torch.no_grad():
        x = digits.preprocess(image)
        for name in (
            "conv1",
            "relu1",
            "pool1",
            "conv2",
            "relu2",
            "pool2",
            "conv3",
            "relu3",
        ):
            x = getattr(m, name)(x)
        expected = m.fc1_act(m.fc1(m.flatten(m.pool3(x))))
    np.testing.assert_allclose(feats[0], expected[0].numpy(), rtol=1e-5, atol=1e-5)
    assert logits.argmax() == 4
    assert not m.fc2._forward_pre_hooks


def test_pca_matches_numpy_covariance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)) * np.array([5, 3, 1, 0.5, 0.1])
    mean, axes, explained = pca(x)
    assert np.allclose(mean, x.mean(0), atol=1e-6)
    cov = np.cov((x - x.mean(0)).T)
    w, v = np.linalg.eigh(cov)
    for i in range(2):
        assert abs(abs(axes[i] @ v[:, -1 - i]) - 1) < 1e-5
    assert explained[0] == pytest.approx(w[-1] / w.sum(), rel=1e-5)


def test_digit_embedding_groups_classes(digits):
    folder = default_digits_folder()
    if not folder.is_dir():
        pytest.skip(f"no MNIST data at {folder}")
    emb = build_embedding(digits, DataSpec("digits", str(folder), limit=400))
    assert emb.points.shape == (400, 2) and emb.labelled
    assert list(emb.present) == list(range(10))
    assert emb.distances.shape == (10, 10)
    assert np.allclose(np.diag(emb.distances), 0) and np.allclose(emb.distances, emb.distances.T)
    # a drawn 3 lands nearest the centre of the 3s, and projects like the reference points
    feats = FeatureReader(digits).read_image(center_digit(draw_digit(3)))
    assert emb.nearest(feats)[0][0] == 3
    assert np.allclose(emb.project(feats[None])[0], (feats - emb.mean) @ emb.axes.T)
    # the stored points and centres are those of the reference images' own features
    spec = DataSpec("digits", str(folder), limit=400)
    reader = DataReader(spec)
    x = torch.cat([digits.preprocess(im) for _, _, im in reader])
    ref, _ = FeatureReader(digits).read(x)
    np.testing.assert_allclose(emb.project(ref), emb.points, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(emb.centres[3], ref[reader.labels() == 3].mean(0), rtol=1e-5)


def test_embedding_cancel(digits):
    folder = default_digits_folder()
    if not folder.is_dir():
        pytest.skip(f"no MNIST data at {folder}")
    with pytest.raises(Cancelled):
        build_embedding(digits, DataSpec("digits", str(folder)), batch=10,
                        should_stop=lambda: True)  # fmt: skip


@pytest.mark.parametrize("kind", list(TRANSFORMS))
def test_sweep_at_identity_equals_the_plain_prediction(digits, kind):
    image = center_digit(draw_digit(7))
    result = sweep(digits, image, kind)
    values = default_values(kind, digits.input_size)
    assert np.array_equal(result.values, values)
    i = int(np.argmin(np.abs(values - (1.0 if kind == "scale" else 0.0))))
    with torch.no_grad():
        plain = torch.softmax(digits.module(digits.preprocess(image)), 1)[0].numpy()
    np.testing.assert_allclose(result.probs[i], plain, rtol=1e-5, atol=1e-6)
    assert result.classes[0] == 7 == int(plain.argmax())
    assert np.allclose(result.probs.sum(1), 1, atol=1e-5)


def test_sweep_sees_the_transform(digits):
    image = center_digit(draw_digit(7))
    result = sweep(digits, image, "rotation", [0.0, 180.0])
    assert not np.array_equal(result.images[0], result.images[1])
    assert result.probs[1, 7] < result.probs[0, 7]  # an upside-down 7 is no 7
    shifted = warp(image, "shift_x", 3)
    assert np.array_equal(shifted[:, 3:], image[:, :-3]) and not shifted[:, :3].any()
    with pytest.raises(ValueError, match="choose one of"):
        sweep(digits, image, "shear")
