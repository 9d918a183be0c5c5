"""Settings survive a restart; a corrupt store falls back to defaults and says so; the
command line beats saved values; --record from the command line."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PyQt6.QtWidgets import QApplication

from cnn_viewer.core.options import ModelOptions, ViewerOptions
from cnn_viewer.ui.session.settings import ENV
from cnn_viewer.ui.session.startup import StartUp


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "settings.ini"
    monkeypatch.setenv(ENV, str(path))
    return path


@pytest.fixture
def image(tmp_path):
    from cnn_viewer.core.sources.examples import draw_digit

    path = tmp_path / "four.png"
    cv2.imwrite(str(path), draw_digit(4, (80, 80)))
    return path


def open_window(qtbot, options: ViewerOptions):
    """What run_viewer does, without its event loop."""
    from cnn_viewer.ui.app import make_app
    from cnn_viewer.ui.features import build_window

    make_app()
    start = StartUp(options)
    model = start.load_model()
    win = build_window(model, threads=1, model_options=start.model_options)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    start.apply(win)
    source = start.source()
    if source != "pad":
        win.set_source(source)
    return win, start


def close(win) -> None:
    win.close()
    assert not win.worker.is_alive()


def test_settings_written_by_one_window_are_restored_by_the_next(qtbot, store, image, tmp_path):
    cli = ViewerOptions(model=ModelOptions(weights="none"), explicit=frozenset({"weights"}))
    win, _ = open_window(qtbot, cli)
    assert win.set_source(str(image))
    win.features.session.set_scale("channel", "viridis")
    win.state.layers = ("conv1", "conv2", "fc2")  # observed: a new engine
    win.resize(1100, 760)
    win.splitter.setSizes([330, 430, 330])
    qtbot.wait(50)
    sizes = win.splitter.sizes()
    size = (win.width(), win.height())
    assert size != (1280, 800)  # not the default size
    win.features.session.output_folder = tmp_path / "out"
    close(win)
    assert store.is_file()

    win2, start = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    assert start.notes == []
    assert win2.state.model_options.weights == "none"  # the saved model, not the default one
    assert win2.state.source == str(image)
    assert (win2.state.norm, win2.state.colormap) == ("channel", "viridis")
    assert (
        win2.features.session.controls.norm == "channel"
        and win2.features.session.controls.colormap == "viridis"
    )
    assert win2.state.layers == ("conv1", "conv2", "fc2")
    assert win2.engine.layers == list(win2.state.layers)
    assert win2.splitter.sizes() == sizes
    assert (win2.width(), win2.height()) == size
    assert win2.features.session.recent.sources == [str(image)]
    assert win2.features.session.output_folder == tmp_path / "out"
    qtbot.waitUntil(
        lambda: win2.last_result is not None and bool(win2.last_result.top), timeout=8000
    )
    result = win2.last_result
    assert [lv.name for lv in result.layers] == ["conv1", "conv2", "fc2"]
    assert result.layers[0].value_range is None  # per channel
    close(win2)


def test_the_command_line_beats_saved_settings(qtbot, store, image):
    win, _ = open_window(qtbot, ViewerOptions(model=ModelOptions(weights="none")))
    win.set_source(str(image))
    close(win)
    # the saved model was the default one; --weights none was not given: explicit is empty
    cli = ViewerOptions(
        model=ModelOptions(weights="none"), source="pad", explicit=frozenset({"source", "weights"})
    )
    win2, start = open_window(qtbot, cli)
    assert win2.state.source == "pad" and win2.state.model_options.weights == "none"
    close(win2)


def test_corrupt_settings_fall_back_to_defaults_with_a_message(qtbot, store, image):
    store.write_text(
        "[General]\nversion=1\n[model]\noptions={not json\n"
        "[source]\nspec=/no/such/folder/picture.png\n"
        "[view]\nnorm=banana\ncolormap=42\n"
        '[layers]\nby_model="{\\"digits\\": [\\"conv1\\", \\"nope\\"]}"\n'
        "[window]\ngeometry=not bytes\n"
        "splitter=@ByteArray(garbage)\n"
        "[recent]\nsources=[1, 2]\n"
    )
    win, start = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    assert win.state.source == "pad" and win.state.model.name == "digits"
    assert (win.state.norm, win.state.colormap) == ("layer", "inferno")
    assert win.state.layers is None and win.engine.layers == list(win.state.model.display_layers)
    message = win.statusBar().currentMessage()
    for word in (
        "model",
        "/no/such/folder/picture.png",
        "'banana'",
        "colormap",
        "nope",
        "window geometry",
        "panel sizes",
        "recent files",
    ):
        assert word in message, (word, message)
    assert start.notes == win.features.session.notes
    win.pad.draw_example(2)
    qtbot.waitUntil(lambda: win.last_result is not None and bool(win.last_result.top), timeout=8000)
    close(win)
    # the bad values were replaced: the next start is quiet
    win2, start2 = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    assert start2.notes == []
    close(win2)


def test_an_unreadable_settings_file_and_a_gone_checkpoint(qtbot, store, tmp_path):
    ckpt = tmp_path / "mine.safetensors"
    from cnn_viewer.models.zoo.digits import DIGITS_CHECKPOINT

    ckpt.write_bytes(DIGITS_CHECKPOINT.read_bytes())
    win, _ = open_window(qtbot, ViewerOptions(model=ModelOptions(checkpoint=str(ckpt))))
    close(win)
    ckpt.unlink()  # the saved model's file is gone
    win2, start = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    assert win2.state.model_options.checkpoint is None
    assert any("no longer exists" in n for n in start.notes)
    close(win2)
    store.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)))
    win3, start3 = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    assert win3.state.model.name == "digits" and win3.state.source == "pad"
    assert f"the settings file {store} could not be read" in win3.statusBar().currentMessage()
    assert store.with_name(store.name + ".bad").is_file()
    close(win3)


def test_reset_settings_starts_fresh(qtbot, store, image):
    win, _ = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    win.set_source(str(image))
    win.features.session.set_scale("fixed", "magma")
    close(win)
    win2, start = open_window(
        qtbot, ViewerOptions(model=ModelOptions(), reset_settings=True, explicit={"reset_settings"})
    )
    assert win2.state.source == "pad" and (win2.state.norm, win2.state.colormap) == (
        "layer",
        "inferno",
    )
    assert "settings reset" in win2.statusBar().currentMessage()
    close(win2)


def test_a_saved_camera_that_is_gone_does_not_block(qtbot, store):
    store.write_text("[General]\nversion=1\n[source]\nspec=camera:7\n")
    win, _ = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    assert win.state.source == "camera:7"  # opens; its status says the camera is not there
    qtbot.waitUntil(lambda: win.source.status().state != "starting", timeout=5000)
    close(win)


def test_record_from_the_command_line(store, tmp_path, qapp):
    from cnn_viewer.cli.commands import main

    video = tmp_path / "in.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    for i in range(20):
        frame = np.full((120, 160, 3), 20 + 5 * i, np.uint8)
        writer.write(frame)
    writer.release()
    out = tmp_path / "out.mp4"
    try:
        code = main(["--source", str(video), "--record", str(out), "--frames", "4"])
    finally:
        for w in QApplication.topLevelWidgets():
            if hasattr(w, "keep"):
                w.close()
    assert code == 0
    cap = cv2.VideoCapture(str(out))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)  # the video's own rate
    count = 0
    while cap.read()[0]:
        count += 1
    # 4 results; one that came after the video's next frame is held over the slots between
    # (the file plays in real time), so there may be more frames, never fewer
    assert count >= 4
    assert main(["--record", str(tmp_path / "out.avi")]) == 1
    assert main(["--record", str(out), "--screenshot", str(tmp_path / "x.png")]) == 1


def test_a_model_folder_and_its_preprocessing_are_restored(qtbot, store, tmp_path, monkeypatch):
    """A timm folder opened by a relative path, with --resize/--mean: the next window
    opens it again, from anywhere, with the same preprocessing."""
    timm = pytest.importorskip("timm")
    folder = tmp_path / "tiny"
    timm.models.save_for_hf(
        timm.create_model("resnet10t", pretrained=False, num_classes=3), folder,
        model_config={"label_names": ["a", "b", "c"]}, safe_serialization=True,
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)
    options = ModelOptions(model="tiny", resize=144, crop=(128, 128), mean=(0.5, 0.5, 0.5))
    win, _ = open_window(qtbot, ViewerOptions(model=options))
    prep = win.state.model.preprocess
    close(win)
    monkeypatch.chdir(tmp_path.parent)
    win2, start = open_window(qtbot, ViewerOptions(model=ModelOptions()))
    assert win2.state.model.labels == ["a", "b", "c"], start.notes
    assert win2.state.model.preprocess == prep and prep.resize_short == 144
    assert win2.state.model_options.model == str(folder)
    close(win2)
