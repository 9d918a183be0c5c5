"""The Train dock: training runs in its thread while the window stays live; pause, resume
and cancel from the buttons; results, exports, Use this model; camera-snapshot recording."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import torch
from PyQt6.QtCore import Qt

from tests.shapes_data import SHAPES, write_shapes


@pytest.fixture(autouse=True)
def snapshots_env(tmp_path, monkeypatch, offline):
    """(offline: the default network never downloads pretrained weights here)"""
    monkeypatch.setenv("CNN_VIEWER_SNAPSHOTS", str(tmp_path / "app" / "snapshots"))
    before = torch.get_num_threads()
    yield tmp_path / "app" / "snapshots"
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return write_shapes(tmp_path_factory.mktemp("shapes"), per_class=30, size=32)


def open_panel(window, qtbot):
    window.actions_by_name["train"].trigger()
    assert window.docks["train"].isVisible()
    return window.features.train


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_steps(qtbot, panel, more_than: int, timeout: int = 20000) -> None:
    qtbot.waitUntil(
        lambda: panel.last_progress is not None and panel.last_progress.step > more_than,
        timeout=timeout,
    )


def test_pause_resume_cancel_while_training_runs_in_its_thread(
    window, qtbot, shapes, monkeypatch, tmp_path
):
    panel = open_panel(window, qtbot)
    panel.data.set_kind("folder")
    panel.data.path_edit.setText(str(shapes))
    panel.epochs.setValue(300)  # far more than the test waits for
    panel.batch.setValue(8)
    panel.snapshot_every.setValue(3)
    click(qtbot, panel.start_button)
    assert panel.worker.running and not panel.start_button.isEnabled()
    wait_steps(qtbot, panel, 3)
    click(qtbot, panel.pause_button)
    assert panel.worker.control.paused and panel.pause_button.text() == "Resume"
    qtbot.wait(300)  # a step under way may still report
    held = panel.last_progress.step
    started = time.monotonic()
    qtbot.wait(500)
    assert panel.last_progress.step == held and panel.worker.running
    assert time.monotonic() - started < 2  # the window kept handling events
    click(qtbot, panel.pause_button)
    assert not panel.worker.control.paused and panel.pause_button.text() == "Pause"
    wait_steps(qtbot, panel, held + 3)
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: panel.outcome is not None, timeout=20000)
    assert not panel.worker.running
    outcome = panel.outcome
    assert outcome.status == "cancelled" and "cancelled" in panel.status_label.text()
    assert outcome.steps >= held + 3
    assert panel.save_button.isEnabled() and panel.use_button.isEnabled()
    assert panel.start_button.isEnabled() and not panel.pause_button.isEnabled()
    # Live internals: the first layers' filters and the probe's maps are on screen.
    assert {"conv1 filters", "conv2 filters", "relu1 on the probe"} <= set(panel.views)
    assert panel.views["conv1 filters"].array is not None
    # The timeline holds every snapshot (0, 3, 6, ... and the kept weights), scrubbable.
    steps = [v.step for v in panel.timeline]
    assert steps[:3] == [0, 3, 6] and steps[-1] == outcome.steps
    assert panel.slider.maximum() == len(steps) - 1
    panel.slider.setValue(0)
    assert panel.slider_label.text().startswith("step 0, epoch 0")
    first = panel.views["conv1 filters"].array.copy()
    panel.slider.setValue(panel.slider.maximum())
    assert "(live)" in panel.slider_label.text()
    assert not np.array_equal(first, panel.views["conv1 filters"].array)
    # The filters are drawn large: every filter pixel at least 2 screen pixels, tiles 12+
    assert panel.views["conv1 filters"].drawn_scale() >= 2
    # A cancelled run's weights are usable: the viewer switches to them, saved where the
    # user says (the dialog offers a dated name in the app's trained/ folder).
    from PyQt6.QtWidgets import QFileDialog

    from cnn_viewer.ui.train.trained_model import trained_folder

    asked = []
    chosen = tmp_path / "mine.safetensors"

    def answer(_parent, _title, default, _filter):
        asked.append(default)
        return str(chosen), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    click(qtbot, panel.use_button)
    assert asked and asked[0].startswith(str(trained_folder()))
    assert str(chosen) in panel.status_label.text()
    qtbot.waitUntil(lambda: window.state.model.labels == list(SHAPES), timeout=20000)
    assert panel.saved_path == chosen and chosen.is_file()
    assert window.state.model.input_size == (32, 32)


def test_a_finished_run_shows_results_and_exports(window, qtbot, shapes, tmp_path):
    panel = open_panel(window, qtbot)
    panel.data.set_kind("folder")
    panel.data.path_edit.setText(str(shapes))
    panel.epochs.setValue(3)
    panel.start()
    qtbot.waitUntil(lambda: panel.outcome is not None, timeout=30000)
    assert panel.outcome.status == "finished"
    table = panel.confusion
    assert table.rowCount() == 3 and table.columnCount() == 4
    total = sum(int(table.item(r, c).text()) for r in range(3) for c in range(3))
    assert total == 18  # 20% of 30 per class held out
    assert table.item(0, 3).text().endswith("%")
    assert len(panel.curves.data["val_acc"][0]) == 3  # one validation point per epoch
    # training accuracy (un-augmented images, each epoch's end) is plotted beside it
    xs, ys = panel.curves.lines["train_epoch_acc"].getData()
    assert list(xs) == panel.curves.data["val_acc"][0]
    assert list(ys) == [h["train_accuracy"] for h in panel.outcome.history]
    assert panel.export(tmp_path / "t.mp4") and (tmp_path / "t.mp4").stat().st_size > 0
    assert panel.export(tmp_path / "t.png") and cv2.imread(str(tmp_path / "t.png")) is not None
    assert panel.save_to(tmp_path / "m.safetensors")
    from cnn_viewer.models import load_model

    assert load_model(checkpoint=tmp_path / "m.safetensors").labels == list(SHAPES)


def test_record_snapshots_from_the_pad_and_bad_data_messages(window, qtbot, snapshots_env):
    panel = open_panel(window, qtbot)
    data = panel.data
    data.set_kind("snapshots")
    assert data.store.classes == []
    click(qtbot, panel.start_button)
    assert "no snapshot classes yet" in panel.status_label.text()
    data.class_name.setText("one")
    data.add_class()
    window.pad.draw_example(1)
    qtbot.mousePress(data.record_button, Qt.MouseButton.LeftButton)
    qtbot.wait(400)  # several timer ticks: the still pad is saved once
    qtbot.mouseRelease(data.record_button, Qt.MouseButton.LeftButton)
    window.pad.draw_example(7)
    qtbot.mousePress(data.record_button, Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(data.record_button, Qt.MouseButton.LeftButton)
    assert data.store.counts() == {"one": 2}
    assert sorted(p.name for p in (snapshots_env / "one").iterdir()) == ["00000.png", "00001.png"]
    assert data.class_list.item(0).text() == "one  (2)"
    click(qtbot, data.delete_last_button)
    assert data.store.counts() == {"one": 1}
    click(qtbot, panel.start_button)  # one class cannot train: said in plain words
    qtbot.waitUntil(lambda: not panel.worker.running, timeout=10000)
    qtbot.waitUntil(lambda: "only one class" in panel.status_label.text(), timeout=5000)
    data.class_name.setText("two")
    data.add_class()
    click(qtbot, panel.start_button)  # an empty class
    qtbot.waitUntil(
        lambda: "'two' has no readable images" in panel.status_label.text(), timeout=10000
    )
    click(qtbot, data.delete_class_button)
    assert "again" in panel.status_label.text() and "two" in data.store.classes
    click(qtbot, data.delete_class_button)
    assert data.store.classes == ["one"] and not (snapshots_env / "two").exists()


def test_a_damaged_snapshot_folder_does_not_block_start_up(window, qtbot, snapshots_env):
    snapshots_env.parent.mkdir(parents=True)
    snapshots_env.write_text("a file where the folder should be")
    panel = open_panel(window, qtbot)
    panel.data.set_kind("snapshots")
    assert panel.data.store.classes == []
    assert "starting empty" in panel.status_label.text()


def test_closing_the_window_cancels_and_joins_training(window, qtbot, shapes):
    panel = open_panel(window, qtbot)
    panel.data.set_kind("folder")
    panel.data.path_edit.setText(str(shapes))
    panel.epochs.setValue(300)
    panel.start()
    wait_steps(qtbot, panel, 2)
    thread = panel.worker.thread
    window.close()
    assert not thread.is_alive()
    assert panel.worker.control.cancelled


def test_network_options_map_to_the_architecture(window, qtbot):
    panel = open_panel(window, qtbot)
    assert panel.arch_box.currentData() == "auto" and not panel.blocks.isEnabled()
    assert panel.arch_options().arch == "auto"  # the recipe's choice, by default
    panel.arch_box.setCurrentIndex(panel.arch_box.findData("small"))
    panel.blocks.setValue(3)
    panel.first_channels.setValue(4)
    panel.kernel.setValue(3)
    panel.padding.setValue(0)
    panel.activation.setCurrentText("gelu")
    panel.pool.setCurrentText("avg")
    panel.gray.setChecked(True)
    a = panel.arch_options()
    assert (a.arch, a.channels, a.kernel_size, a.padding) == ("small", [4, 8, 16], 3, 0)
    assert (a.activation, a.pool, a.in_channels, a.input_size) == ("gelu", "avg", 1, None)
    panel.arch_box.setCurrentIndex(panel.arch_box.findData("resnet18"))
    assert not panel.blocks.isEnabled() and panel.freeze.isEnabled()
    panel.freeze.setChecked(False)
    a = panel.arch_options()
    assert (a.arch, a.input_size, a.in_channels, a.freeze) == ("resnet18", (128, 128), None, False)


def test_record_snapshots_from_a_playing_video(window, qtbot, tmp_path, snapshots_env):
    video = tmp_path / "moving.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 20, (96, 96))
    for i in range(200):
        frame = np.zeros((96, 96, 3), np.uint8)
        cv2.circle(frame, (10 + (i * 3) % 76, 48), 9, (0, 200, 255), -1)
        writer.write(frame)
    writer.release()
    assert window.set_source(str(video))
    qtbot.waitUntil(lambda: window.last_result is not None and window.source is not None)
    panel = open_panel(window, qtbot)
    panel.data.set_kind("snapshots")
    panel.data.class_name.setText("ball")
    panel.data.add_class()
    qtbot.mousePress(panel.data.record_button, Qt.MouseButton.LeftButton)
    qtbot.wait(800)
    qtbot.mouseRelease(panel.data.record_button, Qt.MouseButton.LeftButton)
    saved = sorted((snapshots_env / "ball").iterdir())
    assert len(saved) >= 3 and panel.data.store.counts() == {"ball": len(saved)}
    first = cv2.imread(str(saved[0]))
    assert first.ndim == 3 and not np.array_equal(first, cv2.imread(str(saved[-1])))


def test_choosing_data_says_what_it_holds(window, qtbot, shapes, tmp_path):
    panel = open_panel(window, qtbot)
    panel.data.set_kind("folder")
    panel.data.set_folder(shapes)
    k = len(SHAPES)
    assert panel.data.found_label.text().startswith(f"found {30 * k} images in {k} classes")
    panel.data.set_folder(tmp_path / "nowhere")
    assert "no such folder" in panel.data.found_label.text()


def test_confusion_matrix_of_ten_classes_fits_the_dock(window, qtbot):
    window.resize(1280, 800)
    panel = open_panel(window, qtbot)
    classes = [str(i) for i in range(10)]
    confusion = np.eye(10, dtype=np.int64) * 90 + 1
    panel.confusion.show_result(classes, confusion, [0.9] * 10)
    qtbot.wait(50)
    table = panel.confusion
    assert table.columnCount() == 11
    header = table.horizontalHeader()
    assert header.length() <= table.viewport().width()  # no column cut off
    for c in range(11):
        text = table.horizontalHeaderItem(c).text()
        assert header.fontMetrics().horizontalAdvance(text) <= table.columnWidth(c), text


def test_the_curves_hint_when_training_runs_ahead_of_validation(window, qtbot):
    from cnn_viewer.models.training.studio import StepProgress

    curves = open_panel(window, qtbot).curves
    pairs = [(0.6, 0.58), (0.7, 0.66), (0.95, 0.6), (1.0, 0.6), (1.0, 0.62)]
    for epoch, (train, val) in enumerate(pairs, start=1):
        curves.add(StepProgress(epoch, 5, 10 * epoch, 50, 0.1, 1.0, 1.0, 1.0, val, train))
        if epoch == 2:
            assert curves.hint_label.text() == ""  # they move together: nothing to say
    curves.redraw()
    text = curves.hint_label.text()
    assert "over-fitting" in text and "more images" in text and "augmentation" in text
    assert "smaller network" in text
    assert list(curves.lines["train_epoch_acc"].getData()[1]) == [t for t, _ in pairs]
    curves.clear()
    assert curves.hint_label.text() == ""
