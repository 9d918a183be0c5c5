"""The default training recipe (issue 17): what it picks for MNIST and image folders, the
pretrained network when its weights are cached and the from-scratch fallback (said in one
line) when they are not, augmentation that never mirrors unless asked, patience, and the
best epoch kept."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from cnn_viewer.models.training.augment import augment_images
from cnn_viewer.models.training.recipe import (
    SCRATCH_CHANNELS,
    TRANSFER_ARCH,
    TRANSFER_SIDE,
    Overrides,
    choose_network,
    choose_settings,
    input_side,
)
from cnn_viewer.models.training.studio import WARMUP, TrainSettings, train_studio
from cnn_viewer.models.training.studio_run import prepare
from cnn_viewer.models.zoo.studio_models import ArchOptions
from tests.shapes_data import write_shapes

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def shapes96(tmp_path_factory):
    return write_shapes(tmp_path_factory.mktemp("shapes96"), per_class=5, size=96)


@pytest.mark.parametrize(("size", "side"), [(28, 32), (50, 48), (96, 64), (300, 64)])
def test_the_input_size_comes_from_the_images(tmp_path, size, side):
    write_shapes(tmp_path, per_class=2, size=size)
    assert input_side(tmp_path) == side


def test_recipe_choices_for_mnist_and_image_folders(shapes96):
    arch, notes = choose_network(ArchOptions(arch="auto"), "mnist", shapes96)
    assert (arch.arch, arch.input_size, arch.batchnorm, notes) == ("small", None, False, [])
    mnist = choose_settings("small_cnn", "mnist", Overrides())
    assert (mnist.epochs, mnist.augment, mnist.patience, mnist.max_seconds) == (10, False, 0, None)
    arch, notes = choose_network(ArchOptions(arch="auto"), "folder", shapes96, transfer=False)
    assert (arch.arch, arch.channels, arch.kernel_size) == ("small", SCRATCH_CHANNELS, 3)
    assert arch.batchnorm and arch.global_pool and arch.input_size == (64, 64)
    images = choose_settings("small_cnn", "folder", Overrides())
    assert images.augment and not images.flips and images.patience > 0
    assert images.epochs > 10 and images.max_seconds is not None
    chosen = choose_settings("small_cnn", "folder", Overrides(epochs=3, augment=False, flips=True))
    assert (chosen.epochs, chosen.augment, chosen.flips) == (3, False, True)
    # an explicit small CNN keeps its options and gets its size from the images
    arch, notes = choose_network(ArchOptions(arch="small", channels=[4]), "folder", shapes96)
    assert arch.channels == [4] and arch.input_size == (64, 64) and "from the images" in notes[0]


def test_offline_the_recipe_trains_from_scratch_and_says_so(offline, shapes96):
    prepared = prepare(shapes96, ArchOptions(arch="auto"))
    assert prepared.built.arch == "small_cnn" and prepared.built.config["batchnorm"]
    assert len(prepared.notes) == 1
    note = prepared.notes[0]
    assert note.startswith(f"pretrained weights for {TRANSFER_ARCH}")
    assert "are not cached and cannot be downloaded" in note
    assert note.endswith("training a small CNN from scratch instead")
    assert not list(offline.rglob("*.pth"))
    line = prepared.describe(prepared.settings(Overrides()))
    assert "small CNN from scratch (4 conv blocks with BatchNorm" in line
    assert "input 64x64" in line and "mirroring" not in line and "one-cycle" in line


def test_cached_pretrained_weights_are_fine_tuned(offline, shapes96):
    """The cached branch, for real: a state dict of the right architecture (random
    weights) written where torchvision and our fetch look, under the file name they expect.
    Neither checks a cached file's hash (torchvision's own load_state_dict_from_url checks
    only downloads, and only with check_hash=True), so it is used as it is; the proxy
    would make any download fail."""
    from torchvision.models import get_model, get_model_weights

    from cnn_viewer.models.zoo.weights_download import cache_path

    torch.manual_seed(3)
    state = get_model(TRANSFER_ARCH, weights=None).state_dict()
    path = cache_path(get_model_weights(TRANSFER_ARCH).DEFAULT.url)
    assert str(path).startswith(str(offline)) and path.name == "mobilenet_v3_small-047dcff4.pth"
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    prepared = prepare(shapes96, ArchOptions(arch="auto"))
    built = prepared.built
    assert prepared.notes == [] and built.arch == "torchvision"
    assert built.config["name"] == TRANSFER_ARCH and built.prep.input_size == (TRANSFER_SIDE,) * 2
    own = built.module.state_dict()
    assert torch.equal(own["features.0.0.weight"], state["features.0.0.weight"])
    trainable = [n for n, p in built.module.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.3.weight", "classifier.3.bias"]
    settings = prepared.settings(Overrides())
    assert settings.augment and not settings.flips and settings.patience > 0
    assert "mobilenet_v3_small fine-tuned (its head trains)" in prepared.describe(settings)


def _asymmetric(n: int) -> torch.Tensor:
    """n copies of a 3 x 32 x 32 image: a bright bar on the left, dark elsewhere ('b')."""
    x = torch.full((n, 3, 32, 32), 0.1)
    x[:, :, 4:28, 4:12] = 0.9
    return x


def _mirrored(x: torch.Tensor) -> torch.Tensor:
    """Per image: is the bright side on the right?"""
    w = x.shape[3]
    return x[..., : w // 2].mean(dim=(1, 2, 3)) < x[..., w // 2 :].mean(dim=(1, 2, 3))


def test_augmentation_mirrors_only_when_asked():
    gen = torch.Generator().manual_seed(0)
    x = _asymmetric(64)
    plain = augment_images(flips=False)(x, gen)
    assert plain.shape == x.shape and not torch.equal(plain, x)  # it does change them
    assert not _mirrored(plain).any()  # a letter stays itself
    flipped = _mirrored(augment_images(flips=True)(x, gen))
    assert 10 < int(flipped.sum()) < 54  # about half
    # and the recipe for image folders (letters among them) leaves mirroring off
    assert not choose_settings("small_cnn", "folder", Overrides()).flips
    assert not choose_settings("torchvision", "folder", Overrides()).flips


def _separable(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, 1, 4, 4, generator=g) * 0.2 + y.view(-1, 1, 1, 1) * 0.6
    return x, y


def test_patience_stops_a_run_that_no_longer_improves():
    x, y = _separable(16, 0)
    vx, vy = _separable(8, 1)
    torch.manual_seed(0)
    module = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    settings = TrainSettings(epochs=20, batch_size=8, lr=1e-12, patience=2, snapshot_every=0)
    out = train_studio(
        module, x, y, vx, vy, normalize=lambda t: t, num_classes=2, settings=settings,
        filter_layers=[],
    )  # fmt: skip
    warm = math.ceil(WARMUP * settings.epochs)
    assert len(out.history) == warm + 2 < settings.epochs  # no change after the warm-up
    assert f"stopped at epoch {warm + 2}: no better validation for 2 epochs" in out.message
    assert out.best_epoch == 1


def test_the_best_validation_epoch_is_kept(tmp_path):
    folder = write_shapes(tmp_path, per_class=10, size=32)
    prepared = prepare(folder, ArchOptions(arch="auto"), transfer=False)
    settings = prepared.settings(Overrides(epochs=6, patience=0, snapshot_every=0))
    kept = []

    def on_progress(p) -> None:
        if p.val_accuracy is not None:
            kept.append({k: v.clone() for k, v in prepared.built.module.state_dict().items()})

    from cnn_viewer.models.training.studio_run import run

    out = run(prepared, settings, on_progress=on_progress)
    assert len(out.history) == 6
    accs = [h["val_accuracy"] for h in out.history]
    best = out.best_epoch
    assert accs[best - 1] == max(accs) and out.val_accuracy == max(accs)
    ties = [h["val_loss"] for h in out.history if h["val_accuracy"] == max(accs)]
    assert out.history[best - 1]["val_loss"] == min(ties)
    final = prepared.built.module.state_dict()
    assert all(torch.equal(final[k], kept[best - 1][k]) for k in final)
    assert all(0 <= h["train_accuracy"] <= 1 for h in out.history)


def test_synthetic_sets_are_varied(tmp_path):
    from cnn_viewer.models.data.synthetic_sets import SETS, write_set

    for name in SETS:
        root = write_set(tmp_path, name, per_class=4, held_out=0.25)
        files = sorted((root / "train").rglob("*.png"))
        assert len(files) == 4 * 3 and len(list((root / "test").rglob("*.png"))) == 4
        images = np.stack([cv2.imread(str(f)) for f in files]).astype(np.float32)
        # backgrounds and colours differ from image to image, and within each
        assert images.mean(axis=(1, 2)).std(axis=0).mean() > 5
        assert images.std(axis=(1, 2)).mean() > 10
