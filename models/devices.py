"""Where the network runs: 'auto', 'cpu', 'cuda' (or 'cuda:N') and 'mps'."""

from __future__ import annotations

import torch

CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' picks a CUDA GPU, else Apple's MPS, else the CPU. Asking for a device
    that is not there raises ValueError saying so and what to use instead."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ValueError(f"device {spec!r}: use one of {', '.join(CHOICES)}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda': no CUDA GPU is available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {spec!r}: only {torch.cuda.device_count()} CUDA GPU(s) here")
    elif device.type == "mps" and not _mps_available():
        raise ValueError("device 'mps': Apple's Metal backend is not available; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {spec!r}: use one of {', '.join(CHOICES)}")
    return device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe(device: torch.device) -> str:
    """A short name for the status bar and benchmark output, e.g. 'cuda (NVIDIA H100)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so timings measure the work, not its queueing."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
