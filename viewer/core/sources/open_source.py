"""Frame sources by spec: ``open_source("camera:0" | path, slot)``, and image files and
folders stepped through with next/prev. Qt-free.

Every source has ``name``, ``start()``, ``stop(timeout)``, ``status() -> SourceStatus``
and ``resend()``; capture sources (camera, video) also ``pause/resume/step``; image
sources ``next/prev``. The capture thread is in cnn_viewer.core.sources.capture, video files
in cnn_viewer.core.sources.video.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_viewer.core.dataflow.frames import Frame
from cnn_viewer.core.dataflow.slot import LatestSlot
from cnn_viewer.core.sources.capture import CameraSource, CaptureSource, Opener, list_cameras
from cnn_viewer.core.sources.frame_source import STATES, FrameSource, SourceStatus
from cnn_viewer.core.sources.video import VideoFileSource
from cnn_viewer.models.data.images import InputError, read_image, to_rgb

__all__ = [
    "STATES",
    "CameraSource",
    "CaptureSource",
    "FrameSource",
    "ImageSource",
    "SourceSpec",
    "SourceStatus",
    "VideoFileSource",
    "list_cameras",
    "open_source",
    "parse_source_spec",
]

VIDEO_EXTENSIONS = ("mp4", "avi", "mov", "mkv", "webm", "m4v", "mpg", "mpeg", "wmv")
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif")
SPEC_HELP = "use camera, camera:N, or the path of a video, an image or a folder of images"


def _natural_key(path: Path) -> list[object]:
    """Sort key: case-folded name with digit runs compared as numbers (img2 < img10)."""
    parts = re.split(r"(\d+)", path.name.casefold())
    return [int(p) if p.isdigit() else p for p in parts]


def folder_images(folder: str | Path) -> list[Path]:
    """The image files (IMAGE_EXTENSIONS, any case) directly in ``folder``, sorted by name
    (natural order: 2 before 10); hidden files are left out."""
    folder = Path(folder)
    files = [
        p
        for p in folder.iterdir()
        if p.suffix[1:].lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(files, key=_natural_key)


class ImageSource(FrameSource):
    """Image files shown one at a time; ``next``/``prev`` wrap around at the ends.

    The current image is put into the slot on ``start``, on each step and on ``resend``.
    A file that cannot be read is skipped (in the direction of the step) and the status
    message names it; if none can be read the state is "unavailable". Called from one
    thread (the GUI); nothing runs in the background.
    """

    kind = "images"

    def __init__(
        self,
        paths: Sequence[str | Path],
        slot: LatestSlot[Frame],
        *,
        label: str | None = None,
        reader: Callable[[str], np.ndarray] = read_image,
    ) -> None:
        super().__init__(slot)
        self.paths = [Path(p) for p in paths]
        self.label = label  # what an empty source is called, e.g. the folder's name
        self.index = 0
        self._reader = reader
        self._image: np.ndarray | None = None
        self._state = "starting" if self.paths else "unavailable"
        self._message = "" if self.paths else f"no images in {label or 'the list'}"

    @property
    def count(self) -> int:
        return len(self.paths)

    @property
    def name(self) -> str:
        if not self.paths:
            return f"images {self.label or ''}".rstrip()
        return f"image {self.index + 1}/{self.count} {self.paths[self.index].name}"

    def start(self) -> None:
        """Load the current image and put it into the slot."""
        if self.paths:
            self._show(self.index, +1)

    def stop(self, timeout: float = 1.0) -> bool:
        """Nothing runs in the background: always True at once."""
        return True

    def next(self) -> None:
        """Show the next image (after the last: the first)."""
        if self.paths:
            self._show((self.index + 1) % self.count, +1)

    def prev(self) -> None:
        """Show the previous image (before the first: the last)."""
        if self.paths:
            self._show((self.index - 1) % self.count, -1)

    def go_to(self, index: int) -> None:
        """Show image ``index`` (0-based; wraps like next/prev)."""
        if self.paths:
            self._show(index % self.count, +1)

    def resend(self) -> bool:
        if self._image is None:
            return False
        self._deliver(self._image, time.perf_counter())
        return True

    def status(self) -> SourceStatus:
        with self._lock:
            return SourceStatus(self._state, self._message, *self._counters(time.perf_counter()))

    def _load(self, path: Path) -> np.ndarray:
        """HxWx3 RGB uint8 of ``path``; InputError (naming the file) if it cannot be used."""
        try:
            return to_rgb(self._reader(str(path)))
        except InputError as exc:
            raise InputError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: {exc}") from exc

    def _show(self, index: int, direction: int) -> None:
        """Show the first readable image from ``index`` on, stepping by ``direction``."""
        skipped: list[str] = []
        for k in range(self.count):
            i = (index + direction * k) % self.count
            try:
                image = self._load(self.paths[i])
            except InputError as exc:
                skipped.append(str(exc))
                continue
            self.index, self._image = i, image
            with self._lock:
                self._state = "running"
                self._message = f"skipped {'; '.join(skipped)}" if skipped else ""
            self._deliver(image, time.perf_counter())
            return
        self._image = None
        with self._lock:
            self._state = "unavailable"
            self._message = (
                f"none of the {self.count} images could be read; {skipped[-1] if skipped else ''}"
            ).rstrip("; ")


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec: kind "camera" (``index``), "video", "image" or "folder"
    (``path``)."""

    kind: str
    index: int | None = None
    path: Path | None = None


def parse_source_spec(spec: str) -> SourceSpec:
    """Check a spec without opening anything. "camera" is index 0; "camera:N" index N;
    anything else is a path (use ./camera for a file of that name). ValueError says why."""
    text = spec.strip()
    if not text:
        raise ValueError(f"empty source; {SPEC_HELP}")
    low = text.lower()
    if low == "camera":
        return SourceSpec("camera", index=0)
    if low.startswith("camera:"):
        value = text.split(":", 1)[1].strip()
        if not value.isdigit():
            raise ValueError(f"{text} is not a camera index; use camera:0")
        return SourceSpec("camera", index=int(value))
    path = Path(text).expanduser()
    if path.is_dir():
        return SourceSpec("folder", path=path)
    if not path.exists():
        raise ValueError(f"no such file: {text}")
    if not path.is_file():
        raise ValueError(f"{text} is not a file or folder")
    ext = path.suffix[1:].lower()
    if ext in VIDEO_EXTENSIONS:
        return SourceSpec("video", path=path)
    if ext in IMAGE_EXTENSIONS:
        return SourceSpec("image", path=path)
    raise ValueError(
        f"{text} is not a video ({', '.join(VIDEO_EXTENSIONS)}) or image "
        f"({', '.join(IMAGE_EXTENSIONS)}) file"
    )


def open_source(
    spec: str, slot: LatestSlot[Frame], *, opener: Opener | None = None, loop: bool = True
) -> FrameSource:
    """The source for ``spec`` ("camera", "camera:N" or a path), not yet started.

    A camera that is not there does not raise: its status says "unavailable" and it keeps
    looking. Raises ValueError (plain message) for a bad spec, a missing file, a video
    OpenCV cannot open, or a folder without images. ``opener`` replaces cv2.VideoCapture
    for camera and video; ``loop``: a video starts again at its end.
    """
    parsed = parse_source_spec(spec)
    if parsed.kind == "camera":
        assert parsed.index is not None
        return CameraSource(parsed.index, slot, opener=opener)
    assert parsed.path is not None
    if parsed.kind == "video":
        return VideoFileSource(parsed.path, slot, opener=opener, loop=loop)
    if parsed.kind == "image":
        return ImageSource([parsed.path], slot)
    images = folder_images(parsed.path)
    if not images:
        raise ValueError(
            f"no images in folder {parsed.path} (looked for {', '.join(IMAGE_EXTENSIONS)})"
        )
    return ImageSource(images, slot, label=parsed.path.name)
