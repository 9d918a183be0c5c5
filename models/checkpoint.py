"""Our self-describing checkpoint: one safetensors file.

The tensors are the state_dict; the safetensors metadata holds one JSON entry,
``cnn_viewer``, with the architecture name and config, class names, input size,
channels and normalisation. Opening it never runs code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

FORMAT = "cnn-viewer/1"
META_KEY = "cnn_viewer"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the problem."""


@dataclass
class CheckpointInfo:
    arch: str
    config: dict
    labels: list[str]
    input_size: tuple[int, int]
    channels: int
    mean: list[float]
    std: list[float]
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "arch": self.arch,
                "config": self.config,
                "labels": self.labels,
                "input_size": list(self.input_size),
                "channels": self.channels,
                "mean": self.mean,
                "std": self.std,
                "extra": self.extra,
            }
        )


def save_checkpoint(
    path: str | Path, state_dict: dict[str, torch.Tensor], info: CheckpointInfo
) -> None:
    """Write ``state_dict`` and ``info`` to ``path`` (a .safetensors file)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    save_file(tensors, str(tmp), metadata={META_KEY: info.to_json()})
    tmp.replace(path)  # never leave a half-written checkpoint under the real name


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], CheckpointInfo]:
    """Read one of our checkpoints. Raises CheckpointError naming the file and the fault."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: not a readable cnn-viewer checkpoint (safetensors said: {exc}); "
            "the file may be truncated or of another format"
        ) from None
    raw = meta.get(META_KEY)
    if raw is None:
        raise CheckpointError(
            f"{path}: a safetensors file without cnn-viewer metadata; "
            "load it as a state_dict with --model NAME instead"
        )
    try:
        d = json.loads(raw)
        info = CheckpointInfo(
            arch=str(d["arch"]),
            config=dict(d.get("config", {})),
            labels=[str(x) for x in d["labels"]],
            input_size=(int(d["input_size"][0]), int(d["input_size"][1])),
            channels=int(d["channels"]),
            mean=[float(x) for x in d["mean"]],
            std=[float(x) for x in d["std"]],
            extra=dict(d.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"{path}: cnn-viewer metadata is damaged ({exc!r})") from None
    if d.get("format") != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {d.get('format')!r}, expected {FORMAT!r}")
    return tensors, info
