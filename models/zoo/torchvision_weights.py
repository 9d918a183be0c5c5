"""torchvision weights by name, for every torchvision model we build (classifiers,
detectors, segmenters): the entry that 'default' / 'none' / a member name means, and
building with it (torch.hub's download line on stderr; offline: WeightsUnavailable)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

from torch import nn

from cnn_viewer.models.zoo.loaded import weights_unavailable
from cnn_viewer.models.zoo.weights_download import cache_path

RANDOM_NOTE = "random weights (--weights none): predictions are meaningless"


def build_with_weights(
    name: str, weights: str, enum, build: Callable[[Any], nn.Module]
) -> tuple[nn.Module, Any, list[str]]:
    """(``build(entry)``, the weights entry, notes). ``weights``: 'none' builds with None
    (random; the entry is then the default one, for its metadata), 'default' or a member
    name of ``enum``. ValueError names the choices for an unknown name."""
    if weights == "none":
        return build(None), enum.DEFAULT, [RANDOM_NOTE]
    try:
        spec = enum.DEFAULT if weights == "default" else enum[weights]
    except KeyError:
        options = ", ".join(["default", "none", *enum.__members__])
        raise ValueError(f"weights {weights!r} for {name}: choose one of {options}") from None
    try:
        # torch.hub writes its 'Downloading: "url" to file' line to stdout; progress
        # belongs on stderr (stdout is for results, e.g. predict --json). Only while a
        # download is due: the redirect is process-wide.
        due = not cache_path(spec.url).is_file()
        with contextlib.redirect_stdout(sys.stderr) if due else contextlib.nullcontext():
            module = build(spec)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise weights_unavailable(name, exc) from None
    return module, spec, []
