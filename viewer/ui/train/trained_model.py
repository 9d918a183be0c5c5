"""The Train panel's result actions: save the trained network as a cnn-viewer checkpoint
and switch the viewer to it. GUI thread only."""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6.QtWidgets import QFileDialog

from cnn_viewer.ui.train.data import snapshots_root


def trained_folder() -> Path:
    """Where trained networks are offered to go: beside the snapshots, in the app's data
    folder (not the working folder)."""
    return snapshots_root().parent / "trained"


class TrainedModelActions:
    """TrainPanel's Save… and Use this model, as a mixin: it uses the finished run's
    ``prepared``, ``outcome`` and ``settings``, sets ``saved_path`` and asks the panel's
    ``window`` to load the checkpoint."""

    def save_to(self, path: str | Path) -> bool:
        from cnn_viewer.models.training.studio_run import save

        try:
            save(path, self.prepared, self.outcome, self.settings)
        except (OSError, ValueError) as exc:
            self._status(f"could not save: {exc}")
            return False
        self.saved_path = Path(path)
        self._status(f"saved {path}")
        return True

    def save_dialog(self) -> None:
        if self.outcome is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the trained network", "trained.safetensors", "Checkpoint (*.safetensors)"
        )
        if path:
            self.save_to(path if path.endswith(".safetensors") else path + ".safetensors")

    def use_model(self) -> None:
        """Save (if not yet saved: the user chooses where, a dated name in the app's
        trained/ folder offered) and load the checkpoint into the viewer."""
        from cnn_viewer.core.options import ModelOptions

        if self.outcome is None:
            return
        if self.saved_path is None:
            default = trained_folder() / time.strftime("trained-%Y%m%d-%H%M%S.safetensors")
            default.parent.mkdir(parents=True, exist_ok=True)
            path, _ = QFileDialog.getSaveFileName(
                self, "Save the trained network, then use it", str(default),
                "Checkpoint (*.safetensors)",
            )  # fmt: skip
            if not path:
                self._status("not switched: the network is used from a saved file; choose one")
                return
            if not self.save_to(path if path.endswith(".safetensors") else path + ".safetensors"):
                return
        self._status(f"saved in {self.saved_path}; loading it into the viewer")
        self.window.load_model(
            ModelOptions(
                model="digits",
                checkpoint=str(self.saved_path),
                device=self.window.state.model_options.device,
            )
        )
