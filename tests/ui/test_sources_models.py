"""The window with real sources (a video and images the test writes) and other models."""

import cv2
import numpy as np
import pytest
from PyQt6.QtCore import Qt

from cnn_viewer.core.options import ModelOptions
from cnn_viewer.models import load_model


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    video = folder / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for i in range(30):
        frame = np.full((120, 160, 3), 30, np.uint8)
        cv2.circle(frame, (30 + 3 * i, 60), 20, (0, 200, 255), -1)
        writer.write(frame)
    writer.release()
    images = folder / "images"
    images.mkdir()
    for i, digit in enumerate((3, 7)):
        canvas = np.full((90, 70), 255, np.uint8)  # dark ink on white, odd size
        from cnn_viewer.core.sources.examples import draw_digit

        canvas = 255 - draw_digit(digit, (90, 70))
        cv2.imwrite(str(images / f"digit{i}.png"), canvas)
    (images / "broken.png").write_text("not an image")
    return {"video": video, "images": images}


def wait_result(qtbot, win, predicate, timeout=8000):
    qtbot.waitUntil(
        lambda: win.last_result is not None and bool(predicate(win.last_result)), timeout=timeout
    )
    return win.last_result


def test_video_source_feeds_the_window(qtbot, window, media):
    assert window.set_source(str(media["video"]))
    result = wait_result(qtbot, window, lambda r: r.source != "pad" and r.top)
    assert result.frame_image.shape == (120, 160, 3)
    shown = window.source_panel.frame_view.image.image
    assert shown.shape == (120, 160, 3)
    # The digit CNN stretches the whole frame: the crop outline covers it all.
    rect = window.source_panel.frame_view.crop.rect()
    assert (rect.width(), rect.height()) == (160, 120)
    qtbot.waitUntil(lambda: "clip.avi" in window.status_text.text(), timeout=2000)
    assert window.set_source("pad")
    assert window.source is None


def test_freeze_holds_a_playing_video(qtbot, window, tmp_path):
    """Frozen while a video plays: the worker goes on answering new frames, but the window
    shows none of them (the shown frame and answer stay); unfrozen, they flow again."""
    path = tmp_path / "stream.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (160, 120))
    rng = np.random.default_rng(7)
    for i in range(40):  # every frame different: noise, a moving blob, its number
        frame = rng.integers(0, 80, (120, 160, 3), dtype=np.uint8)
        cv2.circle(frame, (20 + 3 * i, 30 + i), 18, (255, 255, 255), -1)
        cv2.putText(frame, str(i), (100, 100), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 200, 0), 2)
        writer.write(frame)
    writer.release()
    view = window.source_panel.frame_view.image
    assert window.set_source(str(path))
    first = wait_result(qtbot, window, lambda r: r.source != "pad" and r.top)
    playing = wait_result(
        qtbot,
        window,
        lambda r: (
            r.frame_id > first.frame_id and not np.array_equal(r.frame_image, first.frame_image)
        ),
    )
    assert not np.allclose(playing.probs, first.probs)  # new frames, new answers
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.state.frozen
    held, shown, rows = window.last_result, window.shown, list(window.prediction.rows)
    frame = view.image.copy()
    np.testing.assert_array_equal(frame, held.frame_image)
    produced = window.results.version
    qtbot.wait(1000)
    assert window.results.version >= produced + 2  # the worker answered new frames
    assert window.shown == shown and window.last_result is held
    np.testing.assert_array_equal(view.image, frame)
    assert window.prediction.rows == rows
    assert "FROZEN" in window.status_text.text()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.state.frozen
    qtbot.waitUntil(lambda: window.shown >= shown + 3, timeout=8000)
    after = window.last_result
    assert after.frame_id > held.frame_id
    assert not np.array_equal(view.image, frame)
    np.testing.assert_array_equal(view.image, after.frame_image)
    assert window.set_source("pad")


def test_image_folder_steps_with_keys(qtbot, window, media):
    assert window.set_source(str(media["images"]))
    first = wait_result(qtbot, window, lambda r: r.top and r.source != "pad")
    assert first.top[0][1] == "3"
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.source.paths[window.source.index].name == "digit1.png"
    # (a resend of the first image may still arrive first; the 7 must follow)
    wait_result(qtbot, window, lambda r: r.frame_id > first.frame_id and r.top[0][1] == "7")


def test_bad_source_keeps_the_pad(window, tmp_path):
    assert not window.set_source(str(tmp_path / "missing.mp4"))
    assert window.source is None
    assert "missing.mp4" in window.last_error


def test_missing_camera_says_so_and_keeps_running(qtbot, window):
    assert window.set_source("camera:7")
    qtbot.waitUntil(lambda: "unavailable" in window.status_text.text(), timeout=3000)
    assert "no camera" in window.source_panel.frame_view.caption.text()
    window.pad.draw_example(1)  # the window still works; back to the pad
    assert window.set_source("pad")


def test_broken_checkpoint_keeps_the_model(qtbot, window, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00garbage" * 10)
    with qtbot.waitSignal(window.loader.failed, timeout=10000):
        window.load_model(ModelOptions(checkpoint=str(bad)))
    assert window.state.model.name == "digits"
    assert "broken.safetensors" in window.last_error


def test_offline_weights_offer_random_weights(qtbot, window, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache
    with qtbot.waitSignal(window.loader.failed, timeout=20000) as failed:
        # file:// to a missing file fails like a missing network, without one.
        import cnn_viewer.models.zoo.weights_download as wd

        missing = (tmp_path / "x.pth").as_uri()
        monkeypatch.setattr(wd, "weights_url", lambda n, w: None if w == "none" else missing)
        window.load_model(ModelOptions(model="resnet18"))
    assert failed.args[0] == "offline"
    box = window.offline_box
    # plain words in the window: no errno, no flags; the exact error is in the details
    assert "resnet18" in box.text() and "--" not in box.text() and "Errno" not in box.text()
    assert "[Errno" in box.detailedText() or "x.pth" in box.detailedText()
    buttons = {b.text(): b for b in box.buttons()}
    with qtbot.waitSignal(window.loader.loaded, timeout=30000):
        buttons["Use random weights"].click()
    qtbot.waitUntil(lambda: window.state.model.name == "resnet18", timeout=5000)
    assert window.engine.layers == window.state.model.display_layers


# One architecture per family runs by default: residual (resnet18), mobile inverted
# residual (mobilenet_v3_small), plain conv stack with in-place ReLUs (squeezenet1_1) and
# transformer (vit_b_16). Their bigger relatives run with --run-slow.
SLOW = pytest.mark.slow
ARCHS = [
    "resnet18",
    "mobilenet_v3_small",
    pytest.param("efficientnet_b0", marks=SLOW),  # mobile, like mobilenet_v3_small
    pytest.param("vgg11", marks=SLOW),  # plain conv stack, like squeezenet1_1
    "squeezenet1_1",
    pytest.param("densenet121", marks=SLOW),  # residual/concatenating, like resnet18
    pytest.param("regnet_y_400mf", marks=SLOW),  # residual, like resnet18
    "vit_b_16",
]


@pytest.mark.parametrize("name", ARCHS)
def test_torchvision_architectures_show_every_default_layer(qtbot, window, name):
    model = load_model(name, weights="none")
    make = window._engine_factory()
    engine = make(model)
    window.state.model, window.engine = model, engine
    window.worker.set_engine(engine)
    window.layers_panel.set_layers(engine.layers)
    image = np.random.default_rng(0).integers(0, 255, (180, 240, 3), dtype=np.uint8)
    from cnn_viewer.core.dataflow.frames import Frame

    result = engine.process(Frame(1, 0.0, image, "test"))
    window.render(result)
    assert result.error is None and len(result.top) >= 5
    assert [lv.name for lv in result.layers] == engine.layers == model.display_layers
    for lv in result.layers:
        assert lv.mosaic.dtype == np.uint8 and lv.mosaic.size > 0
        np.testing.assert_array_equal(window.layers_panel.rows[lv.name].view.arrays[0], lv.rgba)
    if model.cam_layer is not None:
        assert result.saliency is not None and result.saliency.shape == model.input_size


def test_mosaics_are_built_only_for_rows_on_screen(qtbot, window):
    model = load_model("resnet18", weights="none")
    window.state.model = model
    # all 67 named modules (observed: a new engine): most rows are below the fold
    window.state.layers = tuple(n for n, _ in model.module.named_modules() if n)
    layers = window.state.layers
    window.pad.draw_example(3)
    panel = window.layers_panel
    qtbot.waitUntil(lambda: 0 < len(panel.visible) < len(layers), timeout=8000)

    def on_screen() -> list[str]:
        return [n for n in layers if n in panel.visible]

    # Rows grow as their mosaics arrive, which changes the rows on screen; each change
    # reaches the worker with the next frame, and the result then has exactly those.
    result = wait_result(qtbot, window, lambda r: [lv.name for lv in r.layers] == on_screen())
    assert 0 < len(result.layers) < len(layers)
    # Scrolling to the end brings the last rows on screen, and their mosaics follow.
    # (rows grow as their mosaics arrive, so keep scrolling to the end as a user would)
    bar = panel.verticalScrollBar()

    def at_end() -> bool:
        bar.setValue(bar.maximum())
        return "fc" in panel.visible

    qtbot.waitUntil(at_end, timeout=8000)
    wait_result(qtbot, window, lambda r: "fc" in {lv.name for lv in r.layers})


def test_an_onnx_file_opens_from_the_checkpoint_dialog(qtbot, window, tmp_path, monkeypatch):
    """Ctrl+Shift+O takes an .onnx file as a whole model (no architecture around it)."""
    import warnings

    import torch
    import torchvision
    from PyQt6.QtWidgets import QFileDialog

    path = tmp_path / "tiny.onnx"
    net = torchvision.models.mobilenet_v3_small(weights=None, num_classes=4).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (torch.zeros(1, 3, 96, 96),), str(path), dynamo=False, opset_version=17
        )
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(window.loader.loaded, timeout=30000):
        window.open_checkpoint_dialog()
    assert window.state.model.name == "tiny.onnx" and len(window.state.model.labels) == 4
    result = wait_result(qtbot, window, lambda r: r.layers and len(r.top) == 4, timeout=20000)
    assert result.error is None
