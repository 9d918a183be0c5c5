"""Options shared by the window and the command-line tools (plain data, Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class ModelOptions:
    """Which network to load: a registry name, weights choice, a checkpoint, the user's model
    file, and overrides where the checkpoint is silent. ``load()`` calls models.load_model
    (see there for what each field accepts); it raises CheckpointError / ValueError /
    WeightsUnavailable for expected failures."""

    model: str = "digits"
    weights: str = "default"  # 'default' (trained/pretrained), 'none' (random) or an enum name
    checkpoint: str | None = None
    model_file: str | None = None  # 'path/net.py:ClassName'
    labels: str | None = None  # text file, one class name per line
    input_size: tuple[int, int] | None = None  # (height, width)
    channels: int | None = None  # 1 or 3
    # laid over the model's own preprocessing: resize N (short side) or (H, W) (stretch),
    # then the centre crop (H, W) (= the input size); mean / std per channel
    resize: int | tuple[int, int] | None = None
    crop: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    trust_checkpoint: bool = False  # allow TorchScript / pickled models (they can run code)
    device: str = "auto"  # 'auto' (a GPU when there is one), 'cpu', 'cuda[:N]' or 'mps'

    def load(self):
        from cnn_viewer.models import load_model
        from cnn_viewer.models.devices import resolve_device

        device = resolve_device(self.device)  # a bad device is refused before loading
        given = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "device"}
        return load_model(given.pop("model"), **given).to(device)


@dataclass
class ViewerOptions:
    model: ModelOptions
    source: str = "pad"
    top_k: int = 5
    saliency: str = "gradcam"
    screenshot: str | None = None  # save the window as PNG after `frames` results, then exit
    frames: int = 1
    wait: float = 20.0  # seconds without a new result before --screenshot gives up
    threads: int | None = None
    record: str | None = None  # record the window to this MP4 until it closes (or `frames`)
    reset_settings: bool = False  # start with defaults, forgetting what was saved
    # the rows to show (named modules, forward order as given); None: the model's default
    # or the saved choice. Checked against the model before the window opens.
    layers: tuple[str, ...] | None = None
    explicit: frozenset[str] = frozenset()  # options the command line set (they beat saved ones)
