"""Start-up with remembered settings: what the command line says wins, then what was saved,
then the defaults. Nothing saved can stop the window from opening: a saved model that
fails to load, a file that is gone or a camera that is unplugged falls back and is named
in the status bar.

``--screenshot`` runs neither read nor write settings (a scripted, repeatable picture).
"""

from __future__ import annotations

import sys
from dataclasses import fields, replace

from cnn_viewer.core.options import ModelOptions, ViewerOptions
from cnn_viewer.ui.session.settings import Saved, open_store, read_saved

MODEL_FLAGS = {f.name for f in fields(ModelOptions)} - {"device"}


def _needs_download(options: ModelOptions) -> bool:
    from cnn_viewer.models.zoo.weights_download import cache_path, weights_url

    if options.checkpoint or options.model_file:
        return False
    url = weights_url(options.model, options.weights)
    return url is not None and not cache_path(url).is_file()


class StartUp:
    def __init__(self, options: ViewerOptions) -> None:
        self.options = options
        self.store = None
        self.saved = Saved()
        self.deferred: ModelOptions | None = None  # a saved model to load in the background
        self.model_options = options.model
        if options.screenshot is None:
            store, notes = open_store(reset=options.reset_settings)
            self.store, self.saved = store, read_saved(store, notes)

    @property
    def notes(self) -> list[str]:
        return self.saved.notes

    def _wanted_model(self) -> ModelOptions:
        saved, given = self.saved.model, self.options.explicit
        if saved is None or given & MODEL_FLAGS:
            return self.options.model
        if "device" in given:
            saved = replace(saved, device=self.options.model.device)
        return saved

    def load_model(self):
        """The model to open the window with (GUI thread, before the window exists).
        The command line's model raises as before; a saved one falls back to it."""
        from cnn_viewer.models import CheckpointError
        from cnn_viewer.models.zoo.loaded import WeightsUnavailable

        wanted = self._wanted_model()
        if wanted is not self.options.model:
            if _needs_download(wanted):
                self.deferred = wanted
                self.notes.append(f"loading the saved model {wanted.model} in the background")
            else:
                try:
                    model = wanted.load()
                    self.model_options = wanted
                    return model
                except (
                    CheckpointError,
                    WeightsUnavailable,
                    ValueError,
                    OSError,
                    RuntimeError,
                ) as exc:
                    self.notes.append(
                        f"the saved model {wanted.model} could not be loaded ({exc}); "
                        f"using {self.options.model.model}"
                    )
        return self.options.model.load()

    def source(self) -> str:
        if "source" in self.options.explicit or self.saved.source is None:
            return self.options.source
        return self.saved.source

    def apply(self, window) -> None:
        """Restore the view, layers and layout into the new window; show the notes;
        remember from now on (saved when the window closes)."""
        keep = window.features.session
        if self.store is None:
            return
        saved = self.saved
        keep.store = self.store
        keep.saved_layers = dict(saved.layers)
        keep.recent.set(saved.recent_sources, saved.recent_checkpoints)
        if saved.output_folder:
            from pathlib import Path

            keep.output_folder = Path(saved.output_folder)
        window.state.norm = saved.norm or window.state.norm
        window.state.colormap = saved.colormap or window.state.colormap
        self._restore_layers(window)  # each change above is observed: a new engine
        self._restore_layout(window)
        if self.deferred is not None:
            window.events.engine_changed.connect(self._after_deferred(window))
            window.load_model(self.deferred)
        keep.notes = list(self.notes)
        if self.notes:
            text = "; ".join(self.notes)
            window.statusBar().showMessage(text, 20000)
            print(f"cnn-viewer: {text}", file=sys.stderr)

    def _restore_layers(self, window) -> None:
        keep = window.features.session
        names = keep.saved_layers.get(window.state.model.name)
        if not names:
            return
        known = {n for n, _ in window.state.model.module.named_modules() if n}
        good = [n for n in names if n in known]
        if len(good) < len(names):
            gone = ", ".join(n for n in names if n not in known)
            self.notes.append(f"{window.state.model.name} has no layer {gone}; shown layers reset")
            keep.saved_layers.pop(window.state.model.name, None)
            return
        window.state.layers = tuple(good)

    def _restore_layout(self, window) -> None:
        layout = self.saved.layout
        bad = []
        if "geometry" in layout and not window.restoreGeometry(layout["geometry"]):
            bad.append("window geometry")
        if "state" in layout and not window.restoreState(layout["state"]):
            bad.append("dock and toolbar layout")
        if "splitter" in layout and not window.splitter.restoreState(layout["splitter"]):
            bad.append("panel sizes")
        if bad:
            self.notes.append("reset to defaults: " + ", ".join(bad))

    def _after_deferred(self, window):
        def listener(model) -> None:
            if window.state.model_options is self.deferred:
                window.events.engine_changed.disconnect(listener)
                self._restore_layers(window)

        return listener


def record_problem(options: ViewerOptions) -> str | None:
    """Why ``--record`` cannot work, checked before any window opens; None if it can."""
    if not options.record:
        return None
    if options.screenshot:
        return "use either --record or --screenshot, not both"
    from pathlib import Path

    path = Path(options.record).expanduser()
    if path.suffix.lower() != ".mp4":
        return f"--record {options.record}: give a file name ending in .mp4"
    if not path.parent.is_dir():
        return f"--record {options.record}: the folder {path.parent} does not exist"
    return None


def arm_record(app, window, options: ViewerOptions) -> bool:
    """Record from now until the window closes, or until ``--frames`` results were
    recorded (then quit: exit status 0 when the file was saved, 1 when not)."""
    frames = options.frames if "frames" in options.explicit else None
    keep = window.features.session
    recording = keep.recording
    if not keep.start_recording(options.record, frames):
        print(f"cnn-viewer: error: {window.last_error}", file=sys.stderr)
        return False
    if frames is not None:
        # the pad and still images only send a frame on a change: ask for the next one
        recording.recorded.connect(window.request_frame)
        recording.stopped.connect(lambda outcome: app.exit(0 if outcome.ok else 1))
    return True
