"""The training studio's Qt-free loop on a generated shapes dataset (circles, squares,
triangles drawn with OpenCV): accuracy, checkpoint round trip, timeline, control."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
import torch

from cnn_viewer.models import load_model
from cnn_viewer.models.cancelled import Cancelled
from cnn_viewer.models.checkpoint import read_checkpoint
from cnn_viewer.models.training.digits import train_digits
from cnn_viewer.models.training.filter_images import export_strip, export_video, filter_grid, strip
from cnn_viewer.models.training.studio import TrainControl, TrainSettings, train_studio
from cnn_viewer.models.training.studio_run import prepare, run, save
from cnn_viewer.models.zoo.studio_models import ArchOptions, build, head_name
from tests.shapes_data import SHAPES, write_shapes


def _idx(array: np.ndarray) -> bytes:
    head = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return head + array.astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def random_mnist(tmp_path_factory):
    """100 random 28x28 'digits' with labels 0..9, as MNIST IDX files."""
    rng = np.random.default_rng(0)
    d = tmp_path_factory.mktemp("mnist")
    (d / "t10k-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (100, 28, 28))))
    (d / "t10k-labels-idx1-ubyte").write_bytes(_idx(np.arange(100) % 10))
    return d


@pytest.fixture(scope="module")
def shapes_dir(tmp_path_factory):
    return write_shapes(tmp_path_factory.mktemp("shapes"), per_class=100, size=32)


@pytest.fixture(scope="module")
def trained(shapes_dir, one_thread):
    prepared = prepare(shapes_dir, ArchOptions(channels=[8, 16], kernel_size=5), seed=0)
    initial = prepared.built.module.conv1.weight.detach().clone()
    settings = TrainSettings(epochs=10, batch_size=16, lr=5e-3, snapshot_every=10)
    snaps = []
    outcome = run(prepared, settings, on_snapshot=snaps.append)
    return prepared, settings, outcome, initial, snaps


def test_shapes_reach_high_validation_accuracy(trained):
    prepared, _, outcome, _, _ = trained
    assert prepared.classes == list(SHAPES)
    assert len(prepared.train_y) == 240 and len(prepared.val_y) == 60
    assert np.bincount(prepared.val_y.numpy()).tolist() == [20, 20, 20]  # stratified
    assert outcome.status == "finished"
    assert outcome.val_accuracy >= 0.85, outcome.message
    assert len(outcome.history) == 10
    assert outcome.confusion.shape == (3, 3) and outcome.confusion.sum() == 60
    assert np.trace(outcome.confusion) / 60 == pytest.approx(outcome.val_accuracy)
    assert all(a >= 0.6 for a in outcome.per_class_accuracy)


def test_checkpoint_reloads_and_predicts_the_same(trained, shapes_dir, tmp_path):
    prepared, settings, outcome, _, _ = trained
    path = tmp_path / "shapes.safetensors"
    save(path, prepared, outcome, settings)
    loaded = load_model(checkpoint=path)
    assert loaded.labels == list(SHAPES) and loaded.input_size == (32, 32)
    assert loaded.channels == 3
    module = prepared.built.module.eval()
    files = [shapes_dir / s / f"{i:03d}.png" for s in SHAPES for i in (0, 7, 50)]
    for f in files:
        rgb = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
        with torch.inference_mode():
            ours = torch.softmax(module(prepared.built.prep(rgb)), 1)[0]
        top = loaded.predict(rgb, k=3)
        assert top[0][0] == int(ours.argmax())
        assert top[0][2] == pytest.approx(float(ours.max()), abs=1e-5)
    right = sum(loaded.predict(cv2.imread(str(f))[:, :, ::-1].copy(), 1)[0][1] == f.parent.name
                for f in files)  # fmt: skip
    assert right >= 7


def test_filters_change_and_the_timeline_holds_its_snapshots(trained):
    prepared, _, outcome, initial, snaps = trained
    final = prepared.built.module.conv1.weight.detach()
    assert (final - initial).abs().max() > 0.05
    steps = [s.step for s in outcome.timeline]
    total = 10 * 15  # 240 images / 16 per batch, 10 epochs
    assert steps == list(range(0, total + 1, 10))
    assert [s.step for s in snaps] == steps  # every snapshot was also reported live
    first, last = outcome.timeline[0], outcome.timeline[-1]
    assert set(first.filters) == {"conv1", "conv2"} and set(first.maps) == {"relu1", "relu2"}
    assert first.filters["conv1"].shape == (8, 3, 5, 5)
    assert first.maps["relu1"].shape == (8, 32, 32)
    np.testing.assert_allclose(first.filters["conv1"], initial.numpy())
    assert not np.allclose(first.filters["conv1"], last.filters["conv1"])
    assert outcome.timeline[5].epoch == 4  # step 50 is in epoch 4 (15 steps an epoch)


def test_timeline_exports(trained, tmp_path):
    _, _, outcome, _, _ = trained
    video = tmp_path / "timeline.mp4"
    n = export_video(outcome.timeline, "conv1", video)
    assert n == len(outcome.timeline)
    cap = cv2.VideoCapture(str(video))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    assert frames == n
    png = tmp_path / "strip.png"
    export_strip(outcome.timeline, "conv1", png, count=5)
    image = cv2.imread(str(png))
    assert image.shape == strip(outcome.timeline, "conv1", 5).shape[:2] + (3,)
    grid = filter_grid(outcome.timeline[-1].filters["conv2"])  # 16 filters x 8 inputs
    assert grid.shape == (8 * 16 + 1, 16 * 16 + 1, 3)  # 5x5 tiles drawn 3x: 15 px + gap
    assert filter_grid(outcome.timeline[-1].filters["conv1"]).shape == (2 * 16 + 1, 4 * 16 + 1, 3)


def test_same_seed_same_weights(shapes_dir, one_thread):
    def once():
        p = prepare(shapes_dir, ArchOptions(channels=[4]), seed=3)
        run(p, TrainSettings(epochs=1, batch_size=64, augment=True))
        return p.built.module.state_dict()

    a, b = once(), once()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_pause_resume_and_cancel_keep_usable_weights(shapes_dir, tmp_path, one_thread):
    prepared = prepare(shapes_dir, ArchOptions(channels=[8]), seed=1)
    control = TrainControl()
    steps: list[int] = []
    first = threading.Event()

    def progress(p):
        steps.append(p.step)
        first.set()

    settings = TrainSettings(epochs=200, batch_size=8)
    box = {}
    worker = threading.Thread(
        target=lambda: box.update(o=run(prepared, settings, control, progress))
    )
    worker.start()
    assert first.wait(30)
    control.pause()
    time.sleep(0.3)
    held = len(steps)
    time.sleep(0.4)
    assert len(steps) == held and control.paused  # nothing moves while paused
    control.resume()
    deadline = time.monotonic() + 10
    while len(steps) < held + 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(steps) >= held + 5
    control.cancel()
    worker.join(10)
    assert not worker.is_alive()
    outcome = box["o"]
    assert outcome.status == "cancelled" and "cancelled in epoch" in outcome.message
    assert outcome.steps == steps[-1] < 200 * 30
    assert outcome.timeline[-1].step == outcome.steps  # the kept weights are in the timeline
    np.testing.assert_allclose(
        outcome.timeline[-1].filters["conv1"], prepared.built.module.conv1.weight.detach().numpy()
    )
    path = tmp_path / "cancelled.safetensors"
    save(path, prepared, outcome, settings)
    loaded = load_model(checkpoint=path)
    assert all(torch.isfinite(p).all() for p in loaded.module.parameters())
    assert len(loaded.predict(np.zeros((32, 32, 3), np.uint8))) == 3


def test_a_diverging_run_keeps_the_weights_from_before(one_thread):
    torch.manual_seed(0)
    built = build(ArchOptions(channels=[4]), 2, "folder")
    before = {k: v.clone() for k, v in built.module.state_dict().items()}
    x, y = torch.rand(8, 3, 32, 32), torch.tensor([0, 1] * 4)
    outcome = train_studio(
        built.module, x, y, x, y,
        normalize=lambda t: t * float("nan"), num_classes=2, settings=TrainSettings(epochs=2),
    )  # fmt: skip
    assert outcome.status == "diverged" and "lower learning rate" in outcome.message
    assert outcome.steps == 0
    assert all(torch.equal(before[k], v) for k, v in built.module.state_dict().items())


def test_finetune_trains_only_the_head_and_reloads(tmp_path, one_thread):
    data = write_shapes(tmp_path / "two", per_class=6, size=32)
    for extra in ("triangle",):
        import shutil

        shutil.rmtree(data / extra)
    options = ArchOptions(arch="resnet18", input_size=(32, 32), pretrained=False)
    prepared = prepare(data, options, seed=0)
    module = prepared.built.module
    assert head_name(module, 2) == "fc"
    assert [n for n, p in module.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert any("random backbone" in n for n in prepared.built.notes)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    settings = TrainSettings(epochs=2, batch_size=4)
    outcome = run(prepared, settings)
    after = module.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"fc.weight", "fc.bias"}  # BatchNorm statistics untouched too
    path = tmp_path / "ft.safetensors"
    save(path, prepared, outcome, settings)
    loaded = load_model(checkpoint=path)
    assert loaded.labels == ["circle", "square"] and loaded.input_size == (32, 32)
    image = cv2.imread(str(data / "circle" / "000.png"))[:, :, ::-1].copy()
    with torch.inference_mode():
        ours = torch.softmax(module.eval()(prepared.built.prep(image)), 1)[0]
    assert loaded.predict(image, 2)[0][2] == pytest.approx(float(ours.max()), abs=1e-5)


def test_the_digits_recipe_runs_on_the_one_loop(random_mnist, tmp_path, one_thread):
    out = tmp_path / "digits.safetensors"
    seen = []
    metrics = train_digits(random_mnist, out, epochs=2, seed=0, on_progress=seen.append)
    # 70 training images in batches of 64: 2 steps an epoch, then one report with validation
    assert [(p.epoch, p.epoch_step, p.steps_per_epoch) for p in seen] == [
        (1, 1, 2), (1, 2, 2), (1, 2, 2), (2, 1, 2), (2, 2, 2), (2, 2, 2),
    ]  # fmt: skip
    assert [p.val_accuracy is None for p in seen] == [True, True, False] * 2
    assert metrics["train_images"] == 70 and metrics["val_images"] == 10
    assert metrics["test_images"] == 20 and metrics["best_epoch"] in (1, 2)
    _, info = read_checkpoint(out)
    assert info.extra == {"task": "digits", **metrics}
    again = tmp_path / "again.safetensors"
    assert train_digits(random_mnist, again, epochs=2, seed=0) == metrics
    a, b = read_checkpoint(out)[0], read_checkpoint(again)[0]
    assert all(torch.equal(a[k], b[k]) for k in a)  # same seed, same weights


def test_cancelling_the_digits_recipe_writes_nothing(random_mnist, tmp_path, one_thread):
    out = tmp_path / "never.safetensors"
    seen = []
    with pytest.raises(Cancelled, match="cancelled in epoch 1 after 1 of 4 steps"):
        train_digits(
            random_mnist, out, epochs=2, on_progress=seen.append, should_stop=lambda: bool(seen)
        )
    assert len(seen) == 1 and not out.exists()
