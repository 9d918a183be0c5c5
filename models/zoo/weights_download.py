"""Fetch pretrained torchvision weights into torch's own cache, with progress and cancel.

torchvision looks in ``<torch.hub.get_dir()>/checkpoints/<file name>`` before it
downloads; fetching the file there first lets the window and the terminal show
progress, cancel cleanly, and turn "no network" into a plain message.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import torch

from cnn_viewer.models.cancelled import stop_if
from cnn_viewer.models.zoo.loaded import WeightsUnavailable, weights_unavailable

CHUNK = 1 << 16
HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")


def cache_path(url: str) -> Path:
    """Where torch.hub keeps (and torchvision looks for) the file at ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def weights_url(name: str, weights: str) -> str | None:
    """The download URL of a torchvision model's weights, or None (digits, random, unknown)."""
    if weights == "none" or name == "digits":
        return None
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(name)
        spec = enum.DEFAULT if weights == "default" else enum[weights]
    except (ValueError, KeyError):
        return None  # load_model reports the unknown name or weights in its own words
    return spec.url


def fetch(
    url: str,
    dest: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    timeout: float = 20.0,
) -> Path:
    """Download ``url`` to ``dest`` (default: the torch.hub cache) unless it is there.

    ``on_progress(done_bytes, total_bytes)`` (total 0 when unknown) is called from the
    calling thread. The file appears under its final name only when complete and, for
    torchvision's ``name-<sha256 prefix>.pth`` names, when the hash matches.
    Raises WeightsUnavailable (no network, HTTP error, bad hash) or Cancelled.
    """
    dest = dest or cache_path(url)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while True:
                stop_if(should_cancel, f"download of {dest.name} cancelled")
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, total)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        raise weights_unavailable(dest.name, getattr(exc, "reason", exc)) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    match = HASH_PREFIX.search(dest.name)
    if match and not digest.hexdigest().startswith(match.group(1)):
        part.unlink(missing_ok=True)
        raise WeightsUnavailable(f"download of {dest.name} is corrupt (hash mismatch); try again")
    part.replace(dest)
    return dest


def prefetch(name: str, weights: str, **kwargs) -> Path | None:
    """Make sure the pretrained weights ``load_model(name, weights)`` needs are cached."""
    url = weights_url(name, weights)
    return None if url is None else fetch(url, **kwargs)
